// brisk — workers: the heavy state a connection needs only while it is busy
// (read and write buffers, the parsed request, the body decoder). A
// connection binds a worker when bytes arrive and releases it once it is idle
// with nothing buffered, so an idle keep-alive connection holds none.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "http/chunked.hpp"
#include "http/proxy_protocol.hpp"
#include "http/request.hpp"
#include "server/buffer.hpp"
#include "server/output.hpp"
#include "server/reply.hpp"
#include "server/shared.hpp"

namespace brisk {

/** Pieces of output one sendmsg takes. */
inline constexpr std::size_t kMaxIov = 64;

struct Worker {
    // body_stream: a handler reads the body as it arrives (plugin ABI 1.1);
    // the head stays at `start`, each piece goes into the room after it.
    enum class Stage : std::uint8_t { head, body_length, body_chunked, body_stream };

    // Read side: unprocessed bytes are in.data()[start, end).
    Buffer in;
    std::size_t start = 0;
    std::size_t end = 0;
    std::size_t scanned = 0;  // bytes of the current head already searched for its end
    Stage stage = Stage::head;
    bool continue_sent = false;
    bool reparse = false;  // the buffer moved since the head was parsed: its views are stale
    std::size_t head_len = 0;
    // Input that arrived while a handler on the blocking pool reads the
    // request in `in` (io_uring receives it regardless): kept apart, so that
    // `in` neither moves nor changes under the handler, and appended once it
    // returns.
    std::string held;
    // The handle of the request while it is suspended (server/suspend.hpp), else 0.
    std::uint64_t later = 0;
    // body_stream: raw bytes of a Content-Length body not handed on yet, and
    // where the piece the plugin asked for goes (null: none asked for).
    std::uint64_t body_left = 0;
    void (*body_cb)(void*, const void*, std::uint64_t, std::int32_t) = nullptr;
    void* body_arg = nullptr;
    // Where routing goes on after the body, when the handler that was to read it declined.
    std::size_t resume_cursor = 0;
    http::ChunkedDecoder chunked;
    http::Request req;
    // The request's client per a trusted proxy's X-Forwarded-For; ip_len 0: the connection's peer.
    http::proxy::Address forwarded;

    // Answer side: what the handler builds, then the bytes and segments to send.
    Reply reply;
    std::size_t route_cursor = 0;    // where the router goes on after a decline
    std::string_view raw;            // the request being answered, as it is in `in`
    std::int64_t first_byte_us = 0;  // when its first byte was seen; kept only while observing
    OutBuffer out;
    // io_uring: the vector of a sendmsg in flight, which must outlive the call.
    std::array<iovec, kMaxIov> iov{};
    msghdr msg{};

    std::int64_t released_ms = 0;  // when it went back to the pool

    bool has_input() const noexcept { return end > start; }

    /** Appends `n` received bytes to the input. */
    void take_input(const char* data, std::size_t n, bool timed) {
        std::memcpy(input_space(n, timed), data, n);
        end += n;
    }

    /**
     * How many bytes the next read should make room for: a body of known
     * length is read whole at once, anything else in kMinRead steps.
     */
    std::size_t read_want() const noexcept {
        if (stage == Stage::body_stream) return kBodyPiece;
        if (stage != Stage::body_length) return kMinRead;
        const std::uint64_t need = head_len + req.content_length - (end - start);
        return need > kMinRead ? static_cast<std::size_t>(need) : kMinRead;
    }

    /**
     * Makes room for at least `want` more input bytes at in.data() + end and
     * returns where they go. `timed`: bytes that start a request start its
     * duration (first_byte_us).
     */
    char* input_space(std::size_t want, bool timed) {
        // Sanitizer builds keep answered requests poisoned as long as the
        // buffer has room after them, so that a view a plugin kept still
        // faults on the next request; other builds start over at the front.
        if (start == end) {
            if (!kPoisonsRequests) start = end = 0;
            if (timed) [[unlikely]]
                first_byte_us = mono_us();
        }
        if (in.capacity() - end < want) make_room(want);
        unpoison(in.data() + end, in.capacity() - end);
        return in.data() + end;
    }

    /** Free space wanted in the read buffer before a read. */
    static constexpr std::size_t kMinRead = 2048;
    /** Room for a piece of a body read as it arrives. */
    static constexpr std::size_t kBodyPiece = 32 * 1024;

private:
    void make_room(std::size_t want);
};

/** Per-loop pool: LIFO, so the most recently used (cache-hot) worker goes out first. */
class WorkerPool {
public:
    static constexpr std::size_t kInitialIn = 4096;
    static constexpr std::size_t kInitialOut = 4096;
    /** Buffers that grew past this are cut back when their worker is released. */
    static constexpr std::size_t kKeepBuffer = 64 * 1024;

    WorkerPool() = default;
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    ~WorkerPool();

    Worker* acquire();
    void release(Worker* w, std::int64_t now_ms);
    /** Frees workers idle for longer than `max_idle_ms` (0: none); returns how many. */
    std::size_t reap(std::int64_t now_ms, std::int64_t max_idle_ms);

    std::size_t idle() const noexcept { return free_.size(); }
    std::size_t total() const noexcept { return total_; }

private:
    std::vector<Worker*> free_;  // bottom = least recently released
    std::size_t total_ = 0;
};

}  // namespace brisk
