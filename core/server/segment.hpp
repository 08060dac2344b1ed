// brisk — one piece of a response body that is not (yet) in the output
// buffer's bytes: a run of a buffer, memory lent by its owner, or a file.
// Replies (server/reply.hpp) are built of them and hand them to the
// connection's output (server/output.hpp); both give them back the same way.
#pragma once

#include <unistd.h>

#include <cstdint>

namespace brisk {

struct Segment {
    enum class Kind : std::uint8_t {
        bytes,  // a run of the owner's buffer: `pos` is its offset there
        ref,    // memory lent: `pos` is its address; release(arg) gives it back
        file,   // `len` bytes of `fd` from offset `pos`; closed once sent, or release(arg) if only borrowed
    };
    Kind kind = Kind::bytes;
    int fd = -1;
    std::uint64_t pos = 0;
    std::uint64_t len = 0;
    void (*release)(void*) = nullptr;
    void* arg = nullptr;

    /**
     * Gives the segment back: a reference released, a file closed (or its
     * release called). Once only: afterwards the segment is plain bytes.
     */
    void drop() noexcept {
        if (kind != Kind::bytes && release)
            release(arg);
        else if (kind == Kind::file && fd >= 0)
            ::close(fd);
        kind = Kind::bytes;
    }
    /** After a copy of it went to its next owner: drop() gives back nothing; kind and length stay (counted). */
    void hand_on() noexcept {
        release = nullptr;
        fd = -1;
    }
};

}  // namespace brisk
