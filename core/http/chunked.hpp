// brisk — incremental, in-place decoder of the chunked transfer coding
// (RFC 9112 section 7.1).
#pragma once

#include <cstddef>
#include <cstdint>

namespace brisk::http {

class ChunkedDecoder {
public:
    struct Result {
        enum Kind : std::uint8_t { done, need_more, error };
        Kind kind;
        /** error: 400 (bad syntax, overflowing size) or 413 (over the body limit). */
        std::uint16_t status = 0;
    };

    /** Starts a new body of at most `max_body` decoded bytes. */
    void reset(std::uint64_t max_body) noexcept;

    /**
     * Decodes what has arrived. buf[0, len) is the body region: on entry,
     * the bytes decoded by earlier calls (decoded() of them) and then raw
     * bytes not yet consumed. Decoded data is moved down in place and the
     * consumed chunk framing is cut out, so `len` shrinks; the buffer never
     * holds more than the decoded body plus one partial framing line.
     * On `done`, buf[0, decoded()) is the body and buf[decoded(), len) the
     * bytes that followed the message (a pipelined request).
     */
    Result decode(char* buf, std::size_t& len) noexcept;

    std::uint64_t decoded() const noexcept { return out_; }
    /**
     * The caller took the first `n` decoded bytes out of the body region and
     * moved the rest down by `n` (a body read piece by piece): they count
     * against the limit still, not as bytes in the buffer.
     */
    void take(std::uint64_t n) noexcept {
        out_ -= n;
        max_body_ -= n;
    }

    /** Longest chunk-size line (with extensions) and trailer section accepted. */
    static constexpr std::size_t kMaxLine = 4096;
    static constexpr std::size_t kMaxTrailers = 16384;

private:
    enum class State : std::uint8_t {
        size_start,
        size,
        size_ws,
        ext,
        size_lf,
        data,
        data_cr,
        data_lf,
        trailer_start,
        trailer_name,
        trailer_value,
        trailer_lf,
        final_lf,
        done,
    };
    State state_ = State::size_start;
    std::uint64_t max_body_ = 0;
    std::uint64_t out_ = 0;
    std::uint64_t chunk_ = 0;   // size being read, then bytes of data left
    std::size_t line_ = 0;      // bytes of the current size line
    std::size_t trailers_ = 0;  // bytes of the trailer section
};

}  // namespace brisk::http
