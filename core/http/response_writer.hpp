// brisk — the HTTP/1.1 response head, written in one place for every answer
// (fixed responses, replies built by plugins and static files, streams,
// brisk's own errors): the status line, Server and Date, the handler's
// lines, the framing and the Connection rule.
//
// Rules:
// - 1xx, 204 and 304 have no body and no framing line (RFC 9110 8.6);
// - a body of known length gets Content-Length; a stream is chunked for
//   HTTP/1.1, and for HTTP/1.0 (no chunked coding) ends with the connection;
// - a HEAD request gets the head a GET would, without the body;
// - `Connection: close` when the connection closes after this answer;
//   `Connection: keep-alive` when an HTTP/1.0 connection stays open;
//   nothing otherwise.
//
// Pure functions over a char pointer: the caller reserves room
// (head_bound()) and advances its buffer; nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "http/response.hpp"
#include "http/status.hpp"

namespace brisk::http {

/** How the body of an answer is delimited on the wire. */
enum class Framing : std::uint8_t {
    none,     // no body: 1xx, 204, 304
    length,   // Content-Length
    chunked,  // Transfer-Encoding: chunked (HTTP/1.1 streams)
    close,    // the end of the connection (HTTP/1.0 streams)
};

/** The request an answer is for, as far as its head depends on it. */
struct Answering {
    bool head = false;               // a HEAD request: no body bytes follow the head
    std::uint8_t version_minor = 1;  // HTTP/1.x
    bool secure = false;             // over TLS: Strict-Transport-Security, when set, goes with Date
};

constexpr Framing framing_for(std::uint16_t status, bool stream, std::uint8_t version_minor) noexcept {
    if (!status_has_body(status)) return Framing::none;
    if (!stream) return Framing::length;
    return version_minor == 1 ? Framing::chunked : Framing::close;
}

/** Whether body bytes follow the head. */
constexpr bool sends_body(Framing f, Answering a) noexcept { return f != Framing::none && !a.head; }

/** Whether the connection may stay open after an answer framed so. */
constexpr bool keeps_alive(Framing f, bool keep_alive) noexcept { return keep_alive && f != Framing::close; }

/** The lines every answer of a server carries, each ending in CRLF (either may be empty). */
struct CommonLines {
    std::string_view server;  // "Server: brisk\r\n"
    std::string_view date;    // "Date: ...\r\n"
};

/** Room write_head() needs besides the status line, the common lines and `headers`. */
/** The longest reason phrase a handler may set: its status line stays within head_bound()'s 64. */
inline constexpr std::size_t kMaxReason = 48;
inline constexpr std::size_t kHeadSlack = 96;  // framing (up to 38), Connection (24), CRLF, spare

/** Room for a whole head of `headers_len` bytes of handler lines. */
constexpr std::size_t head_bound(const CommonLines& common, std::size_t headers_len) noexcept {
    return 64 /* the longest status line, 46 */ + common.server.size() + common.date.size() + headers_len + kHeadSlack;
}

namespace detail {
inline char* put(char* p, std::string_view s) noexcept {
    if (!s.empty()) std::memcpy(p, s.data(), s.size());  // an empty view may have no data
    return p + s.size();
}
/** Decimal digits, written from the last one back, two at a time. */
inline char* put_uint(char* p, std::uint64_t v) noexcept {
    static constexpr char kPairs[] =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
        "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
        "8081828384858687888990919293949596979899";
    int n = 1;
    for (std::uint64_t t = v; t >= 10; t /= 10) ++n;
    char* end = p + n;
    char* q = end;
    while (v >= 100) {
        const unsigned pair = static_cast<unsigned>(v % 100) * 2;
        v /= 100;
        *--q = kPairs[pair + 1];
        *--q = kPairs[pair];
    }
    if (v >= 10) {
        *--q = kPairs[v * 2 + 1];
        *--q = kPairs[v * 2];
    } else {
        *--q = static_cast<char>('0' + v);
    }
    return end;
}
/** The Connection line (if any) and the blank line that end every head. */
inline char* end_head(char* p, bool keep_alive, Answering a) noexcept {
    if (!keep_alive)
        p = put(p, "Connection: close\r\n");
    else if (a.version_minor == 0)
        p = put(p, "Connection: keep-alive\r\n");
    return put(p, "\r\n");
}

/** The framing line, the Connection line and the blank line. */
inline char* end_head(char* p, Framing f, std::uint64_t length, bool keep_alive, Answering a) noexcept {
    if (f == Framing::length) {
        p = put(p, "Content-Length: ");
        p = put_uint(p, length);
        p = put(p, "\r\n");
    } else if (f == Framing::chunked) {
        p = put(p, "Transfer-Encoding: chunked\r\n");
    }
    return end_head(p, keeps_alive(f, keep_alive), a);
}
}  // namespace detail

/**
 * Writes a whole head at `p`: status line, the common lines, `headers`
 * (handler lines ending in CRLF), framing, Connection, the blank line.
 * `length` is the body's for Framing::length. Returns the end.
 */
inline char* write_head(char* p, std::uint16_t status, const CommonLines& common, std::string_view headers, Framing f,
                        std::uint64_t length, bool keep_alive, Answering a, std::string_view reason = {}) noexcept {
    if (reason.empty()) [[likely]] {
        p = detail::put(p, status_line(status));
    } else {
        // A handler's own phrase (checked, at most kMaxReason bytes): "HTTP/1.1 " code SP phrase CRLF.
        p = detail::put(p, status_line(status).substr(0, 13));
        p = detail::put(p, reason);
        p = detail::put(p, "\r\n");
    }
    p = detail::put(p, common.server);
    p = detail::put(p, common.date);
    p = detail::put(p, headers);
    return detail::end_head(p, f, length, keep_alive, a);
}

/**
 * A head rendered in advance (Response::prerendered: status line, Server,
 * headers and Content-Length) completed with Date, Connection and the blank
 * line. Room: the prerendered bytes plus `date` plus kHeadSlack.
 */
inline char* write_prerendered_head(char* p, std::string_view prerendered, std::string_view date, bool keep_alive,
                                    Answering a) noexcept {
    p = detail::put(p, prerendered);
    p = detail::put(p, date);
    return detail::end_head(p, keep_alive, a);
}

/** Room a chunk's size line needs. */
inline constexpr std::size_t kChunkLineMax = 18;  // 16 hex digits and CRLF

/** The size line before a chunk of `n` > 0 bytes ("1a2b\r\n"). */
inline char* write_chunk_line(char* p, std::uint64_t n) noexcept {
    char tmp[16];
    int k = 0;
    do {
        tmp[k++] = "0123456789abcdef"[n & 15];
        n >>= 4;
    } while (n);
    while (k) *p++ = tmp[--k];
    return detail::put(p, "\r\n");
}

/** After a chunk's bytes. */
inline constexpr std::string_view kChunkEnd = "\r\n";
/** The last chunk of a chunked body, with no trailers. */
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace brisk::http
