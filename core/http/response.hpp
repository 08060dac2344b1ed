// brisk — what a handler answers. The host adds the status line, Server,
// Date, Content-Length and Connection: framing is never a handler's job.
#pragma once

#include <cstdint>
#include <string_view>

namespace brisk::http {

struct Response {
    std::uint16_t status = 200;
    /** Pre-formatted header lines, each ending in CRLF ("Content-Type: text/plain\r\n"). */
    std::string_view headers;
    /**
     * The body. It must stay valid until the handler's caller has copied it
     * into the connection's output, i.e. until the handler returns.
     */
    std::string_view body;
    /**
     * Optional fast path for answers known in advance: the status line,
     * Server, `headers` and Content-Length of `body`, rendered once. The host
     * then adds only Date and Connection. Lives as long as `body`.
     */
    std::string_view prerendered;
};

/** No body, and no Content-Length, for 1xx, 204 and 304 (RFC 9110 8.6). */
constexpr bool status_has_body(std::uint16_t status) noexcept {
    return status >= 200 && status != 204 && status != 304;
}

}  // namespace brisk::http
