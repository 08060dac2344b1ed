// brisk — a connection's pending output: the responses of a pipelined batch,
// sent with one send/writev, plus bodies that are not copied (a plugin's
// memory, a file sent with sendfile).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <sys/uio.h>
#include <unistd.h>
#include <string_view>
#include <vector>

#include "server/buffer.hpp"
#include "server/segment.hpp"

namespace brisk {

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

    /**
     * Queues a reference or a file segment (see server/segment.hpp); the
     * output owns it from now on and gives it back once sent or dropped.
     */
    void push(const Segment& s) {
        close_range();
        segs_.push_back(s);
    }

    bool empty() const noexcept { return segs_.empty() ? sent == len : false; }
    /** Everything queued has been sent (reset() makes it empty again). */
    bool finished() const noexcept { return segs_.empty() ? sent == len : head == segs_.size(); }
    /** The next bytes to send are a file's (sendfile), not memory. */
    bool at_file() const noexcept { return head < segs_.size() && segs_[head].kind == Segment::Kind::file; }

    /**
     * Describes the run of memory that leaves next, up to the next file, in
     * at most `max` iovecs; returns how many it filled.
     */
    std::size_t gather(iovec* iov, std::size_t max) {
        if (segs_.empty()) {
            iov[0] = iovec{buf.data() + sent, len - sent};
            return 1;
        }
        close_range();
        std::size_t cnt = 0;
        for (std::size_t i = head; i < segs_.size() && cnt < max; ++i) {
            const Segment& s = segs_[i];
            if (s.kind == Segment::Kind::file) break;
            char* base = s.kind == Segment::Kind::bytes ? buf.data() + s.pos : reinterpret_cast<char*>(s.pos);
            const std::uint64_t skip = i == head ? head_done : 0;
            iov[cnt++] = iovec{base + skip, static_cast<std::size_t>(s.len - skip)};
        }
        return cnt;
    }

    /** Bytes of the run of memory that leaves next (what gather() describes, uncapped). */
    std::uint64_t run_bytes() {
        if (segs_.empty()) return len - sent;
        close_range();
        std::uint64_t n = 0;
        for (std::size_t i = head; i < segs_.size() && segs_[i].kind != Segment::Kind::file; ++i)
            n += segs_[i].len - (i == head ? head_done : 0);
        return n;
    }

    /** Marks `n` more bytes sent: what is done is released (a reference) or closed (a file). */
    void consume(std::uint64_t n) noexcept {
        if (segs_.empty()) {
            sent += static_cast<std::size_t>(n);
            return;
        }
        while (n > 0) {
            Segment& s = segs_[head];
            const std::uint64_t rest = s.len - head_done;
            if (n < rest) {
                head_done += n;
                break;
            }
            n -= rest;
            s.drop();
            ++head;
            head_done = 0;
        }
        skip_empty();
    }

    /** Steps over empty segments (releasing them), so that what is next has bytes. */
    void skip_empty() noexcept {
        while (head < segs_.size() && segs_[head].len == 0) segs_[head++].drop();
    }
    /** Bytes in buf not sent yet: what an early flush of a long pipeline looks at. */
    std::size_t buffered() const noexcept { return len - sent; }
    bool has_segments() const noexcept { return !segs_.empty(); }

    /**
     * With segments: ends the open run of buffered bytes, so that the whole
     * output is the segment list, and returns it with the index and bytes of
     * the first segment not fully sent.
     */
    std::vector<Segment>& segments() {
        close_range();
        return segs_;
    }
    std::size_t head = 0;         // first segment not fully sent
    std::uint64_t head_done = 0;  // bytes of it already sent

    /** Forgets everything, releasing references and closing files not sent. */
    void reset() noexcept {
        for (std::size_t i = head; i < segs_.size(); ++i) segs_[i].drop();
        segs_.clear();
        len = sent = mark_ = head = 0;
        head_done = 0;
    }

private:
    void close_range() {
        if (len > mark_) segs_.push_back(Segment{Segment::Kind::bytes, -1, mark_, len - mark_, nullptr, nullptr});
        mark_ = len;
    }
    std::vector<Segment> segs_;
    std::size_t mark_ = 0;  // start of the run of bytes not yet in segs_
};

}  // namespace brisk
