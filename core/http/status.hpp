// brisk — status codes: reason phrases and pre-rendered status lines.
#pragma once

#include <cstdint>
#include <string_view>

namespace brisk::http {

/** The registered reason phrase of `status` ("Not Found"), or empty for a code without one. */
std::string_view reason_phrase(std::uint16_t status) noexcept;

namespace detail {
std::string_view status_line_of(std::uint16_t status) noexcept;
}

/** "HTTP/1.1 404 Not Found\r\n" for 100 <= status <= 999 (else 500's); built once, never freed. */
inline std::string_view status_line(std::uint16_t status) noexcept {
    if (status == 200) return "HTTP/1.1 200 OK\r\n";  // most answers: no table lookup
    return detail::status_line_of(status);
}

}  // namespace brisk::http
