// brisk — the answer a handler builds. Simple handlers set one complete
// http::Response; plugins build it call by call (status, headers, body
// pieces by copy, by reference or from a file, or a chunked stream). The
// host renders the head — status line, Server, Date, framing — afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/response.hpp"
#include "server/buffer.hpp"
#include "server/segment.hpp"

namespace brisk {

/** Per-request bump allocator; its first block is kept across requests. */
class Arena {
public:
    Arena() = default;
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    ~Arena();

    /** 16-byte aligned; nullptr only if memory is exhausted. */
    void* alloc(std::size_t n) noexcept;
    /** Frees everything but the first block. */
    void reset() noexcept;
    bool used() const noexcept { return used_ != 0 || blocks_.size() > 1; }

private:
    static constexpr std::size_t kBlock = 4096;
    struct Block {
        char* data;
        std::size_t size;
    };
    std::vector<Block> blocks_;
    std::size_t used_ = 0;  // in the last block
};

struct Reply {
    // stream: chunks written during the handler, all sent once it returns;
    // live: the head of a stream whose body follows over time (plugin ABI 1.1).
    enum class Kind : std::uint8_t { none, simple, built, stream, live };
    Kind kind = Kind::none;
    http::Response simple;       // Kind::simple
    std::uint16_t status = 200;  // built and stream
    std::string reason;          // a plugin's own reason phrase (empty: the registered one)
    Buffer headers;              // "Name: value\r\n" lines
    std::size_t headers_len = 0;
    Buffer body;  // copied body bytes
    std::size_t body_len = 0;
    std::vector<Segment> pieces;  // the body in order; bytes: offsets in `body`
    Arena arena;
    void* slot = nullptr;  // a plugin's per-request state
    // Set by a handler that suspends the request (Outcome::suspended): its
    // handle (server/suspend.hpp) and how long it may wait (0: no limit).
    std::uint64_t later = 0;
    std::int64_t later_timeout_ms = 0;

    std::uint64_t body_size() const noexcept {
        std::uint64_t n = 0;
        for (const Segment& p : pieces) n += p.len;
        return n;
    }
    /** Back to empty; references not handed to the output are released, files closed. */
    void reset() noexcept {
        if (kind == Kind::simple || (kind == Kind::none && pieces.empty() && !used_arena_or_slot())) {
            kind = Kind::none;  // the common case: a fixed response, nothing to free
            return;
        }
        reset_slow();
    }

private:
    bool used_arena_or_slot() const noexcept { return slot != nullptr || headers_len != 0 || arena.used(); }
    void reset_slow() noexcept;
};

}  // namespace brisk
