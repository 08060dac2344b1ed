// brisk — the request-head parser: pure, no I/O, no allocation.
//
// Strict RFC 9112 syntax: a request that a lenient peer could frame
// differently is refused, because a proxy in front of brisk and brisk itself
// must never disagree about where one request ends and the next begins.
#pragma once

#include <cstddef>
#include <cstdint>

#include "http/request.hpp"

namespace brisk::http {

struct HeadResult {
    enum Kind : std::uint8_t { complete, incomplete, error };
    Kind kind;
    /** complete: bytes of the head, through the empty line. */
    std::size_t length = 0;
    /** error: the status to answer (400, 414, 417, 431, 501, 505). */
    std::uint16_t status = 0;
};

/**
 * Finds the end of a request head in buf[0, len), starting the search at
 * `from` (bytes before it were searched already: the caller passes the
 * previous length so a slowly arriving head is not rescanned). Returns the
 * offset just past the terminating empty line, or 0 if it is not there yet.
 * Only CRLF CRLF ends a head; check_partial_head() refuses a bare LF at once.
 */
std::size_t find_head_end(const char* buf, std::size_t len, std::size_t from) noexcept;

/**
 * Parses the complete request head buf[0, head_len), where head_len is what
 * find_head_end() returned: it ends with CR LF CR LF (anything else is a
 * 400). A request line longer than `max_head` is a 414, a longer head a 431.
 * On `complete`, `req` holds views into buf.
 */
HeadResult parse_head(const char* buf, std::size_t head_len, std::size_t max_head, Request& req) noexcept;

/**
 * Judges buf[0, len) in which find_head_end() found no end yet: `incomplete`,
 * or an error as soon as one is certain (a byte that cannot start a request:
 * 400; a request line longer than `max_head`: 414; a head longer: 431).
 */
HeadResult check_partial_head(const char* buf, std::size_t len, std::size_t max_head) noexcept;

}  // namespace brisk::http
