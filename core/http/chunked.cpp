// brisk — chunked decoder: one switch over the states of a chunk's framing;
// data runs are moved with memmove, never byte by byte.
#include "http/chunked.hpp"

#include "http/chars.hpp"

#include <cstring>

namespace brisk::http {

void ChunkedDecoder::reset(std::uint64_t max_body) noexcept {
    state_ = State::size_start;
    max_body_ = max_body;
    out_ = chunk_ = 0;
    line_ = trailers_ = 0;
}

ChunkedDecoder::Result ChunkedDecoder::decode(char* buf, std::size_t& len) noexcept {
    std::size_t r = static_cast<std::size_t>(out_);  // raw read position
    const auto bad = [&](std::uint16_t status) {
        len = r;  // nothing after this point is used
        return Result{Result::error, status};
    };
    while (r < len && state_ != State::done) {
        if (state_ == State::data) {
            std::size_t n = len - r;
            if (n > chunk_) n = static_cast<std::size_t>(chunk_);
            std::memmove(buf + out_, buf + r, n);
            out_ += n;
            r += n;
            chunk_ -= n;
            if (chunk_ == 0) state_ = State::data_cr;
            continue;
        }
        char c = buf[r++];
        switch (state_) {
        case State::size_start:
            if (hex_value(c) < 0) return bad(400);
            chunk_ = static_cast<unsigned>(hex_value(c));
            line_ = 1;
            state_ = State::size;
            break;
        case State::size:
            if (int h = hex_value(c); h >= 0) {
                if (chunk_ > (UINT64_MAX >> 4)) return bad(400);  // overflow
                chunk_ = chunk_ << 4 | static_cast<unsigned>(h);
            } else if (c == ';') {
                state_ = State::ext;
            } else if (c == ' ' || c == '\t') {
                state_ = State::size_ws;
            } else if (c == '\r') {
                state_ = State::size_lf;
            } else {
                return bad(400);
            }
            if (++line_ > kMaxLine) return bad(400);
            break;
        case State::size_ws:
            if (c == ';')
                state_ = State::ext;
            else if (c == '\r')
                state_ = State::size_lf;
            else if (c != ' ' && c != '\t')
                return bad(400);
            if (++line_ > kMaxLine) return bad(400);
            break;
        case State::ext:
            if (c == '\r')
                state_ = State::size_lf;
            else if (!is_field_char(c))
                return bad(400);
            if (++line_ > kMaxLine) return bad(400);
            break;
        case State::size_lf:
            if (c != '\n') return bad(400);
            if (chunk_ == 0) {
                state_ = State::trailer_start;
            } else {
                if (chunk_ > max_body_ - out_) return bad(413);
                state_ = State::data;
            }
            break;
        case State::data_cr:
            if (c != '\r') return bad(400);
            state_ = State::data_lf;
            break;
        case State::data_lf:
            if (c != '\n') return bad(400);
            state_ = State::size_start;
            break;
        case State::trailer_start:
            if (c == '\r')
                state_ = State::final_lf;
            else if (is_tchar(c))
                state_ = State::trailer_name;
            else
                return bad(400);  // obs-fold, bare LF, junk
            break;
        case State::trailer_name:
            if (c == ':')
                state_ = State::trailer_value;
            else if (!is_tchar(c))
                return bad(400);
            break;
        case State::trailer_value:
            if (c == '\r')
                state_ = State::trailer_lf;
            else if (!is_field_char(c))
                return bad(400);
            break;
        case State::trailer_lf:
            if (c != '\n') return bad(400);
            state_ = State::trailer_start;
            break;
        case State::final_lf:
            if (c != '\n') return bad(400);
            state_ = State::done;
            break;
        case State::data:
        case State::done:
            break;
        }
        if (state_ >= State::trailer_start && ++trailers_ > kMaxTrailers) return bad(400);
    }
    // Cut the consumed framing out: what follows moves down to the decoded data.
    std::size_t tail = len - r;
    if (r != out_) std::memmove(buf + out_, buf + r, tail);
    len = static_cast<std::size_t>(out_) + tail;
    return Result{state_ == State::done ? Result::done : Result::need_more};
}

}  // namespace brisk::http
