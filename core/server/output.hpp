// brisk — a connection's pending output: the responses of a pipelined batch,
// sent with one send/writev, plus bodies that are not copied (a plugin's
// memory, a file sent with sendfile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <unistd.h>
#include <string_view>
#include <vector>

#include "server/buffer.hpp"

namespace brisk {

/** A body sent by reference: memory released by a callback, or a file. */
struct OutSegment {
    enum class Kind : std::uint8_t { bytes, ref, file };
    Kind kind = Kind::bytes;
    int fd = -1;            // file
    std::uint64_t pos = 0;  // bytes: offset in the buffer; ref: the address; file: the file offset
    std::uint64_t len = 0;
    void (*release)(void*) = nullptr;  // ref
    void* arg = nullptr;
};

class OutBuffer {
public:
    Buffer buf;
    std::size_t len = 0;   // bytes filled in buf
    std::size_t sent = 0;  // fast path (no segments): bytes of buf already sent

    void append(std::string_view s) {
        buf.reserve(len + s.size());
        std::memcpy(buf.data() + len, s.data(), s.size());
        len += s.size();
    }

    /** Queues memory owned by someone else; `release(arg)` once sent or dropped. */
    void push_ref(const void* data, std::uint64_t n, void (*release)(void*), void* arg) {
        close_range();
        segs_.push_back(OutSegment{OutSegment::Kind::ref, -1, reinterpret_cast<std::uintptr_t>(data), n, release, arg});
    }

    /**
     * Queues `n` bytes of `fd` from `offset`. Once sent or dropped, the fd is
     * closed — or, with `release`, release(arg) is called instead (a cached
     * descriptor the output only borrows).
     */
    void push_file(int fd, std::uint64_t offset, std::uint64_t n, void (*release)(void*) = nullptr,
                   void* arg = nullptr) {
        close_range();
        segs_.push_back(OutSegment{OutSegment::Kind::file, fd, offset, n, release, arg});
    }

    bool empty() const noexcept { return segs_.empty() ? sent == len : false; }
    /** Bytes in buf not sent yet: what an early flush of a long pipeline looks at. */
    std::size_t buffered() const noexcept { return len - sent; }
    bool has_segments() const noexcept { return !segs_.empty(); }

    /**
     * With segments: ends the open run of buffered bytes, so that the whole
     * output is the segment list, and returns it with the index and bytes of
     * the first segment not fully sent.
     */
    std::vector<OutSegment>& segments() {
        close_range();
        return segs_;
    }
    std::size_t head = 0;         // first segment not fully sent
    std::uint64_t head_done = 0;  // bytes of it already sent

    /** Forgets everything, releasing references and closing files not sent. */
    void reset() noexcept {
        for (std::size_t i = head; i < segs_.size(); ++i) drop(segs_[i]);
        segs_.clear();
        len = sent = mark_ = head = 0;
        head_done = 0;
    }

    /** Gives a segment back: releases a reference, closes a file. */
    static void drop(OutSegment& s) noexcept {
        if (s.kind != OutSegment::Kind::bytes && s.release)
            s.release(s.arg);
        else if (s.kind == OutSegment::Kind::file && s.fd >= 0)
            ::close(s.fd);
        s.kind = OutSegment::Kind::bytes;  // dropped once only
    }

private:
    void close_range() {
        if (len > mark_) segs_.push_back(OutSegment{OutSegment::Kind::bytes, -1, mark_, len - mark_, nullptr, nullptr});
        mark_ = len;
    }
    std::vector<OutSegment> segs_;
    std::size_t mark_ = 0;  // start of the run of bytes not yet in segs_
};

}  // namespace brisk
