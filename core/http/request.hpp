// brisk — a parsed request: views into the connection's read buffer.
//
// Every std::string_view here points into the worker's read buffer and lives
// until the handler returns and the response is written; the buffer is never
// moved or reused while a request that points into it is being handled.
// Copy what must be kept longer.
#pragma once

#include <cstdint>
#include <string_view>

namespace brisk::http {

enum class Method : std::uint8_t { get, head, post, put, delete_, options, trace, patch, connect };

enum class BodyKind : std::uint8_t { none, length, chunked };

struct Header {
    std::string_view name;
    std::string_view value;
};

/** Header fields past this count get a 431, like an oversized header section. */
inline constexpr std::size_t kMaxHeaders = 100;

struct Request {
    Method method = Method::get;
    std::uint8_t version_minor = 1;  // HTTP/1.<minor>; 1.x with x > 1 reads as 1.1
    BodyKind body_kind = BodyKind::none;
    bool keep_alive = true;        // after Connection: and the version's default
    bool expect_continue = false;  // Expect: 100-continue on HTTP/1.1
    bool has_host = false;
    std::uint16_t header_count = 0;

    std::string_view method_text;
    std::string_view target;           // as sent
    std::string_view path;             // without the query; for absolute-form, the path part
    std::string_view query;            // after '?', without it; empty if none
    std::string_view host;             // Host field, or the authority of an absolute-form target
    std::uint64_t content_length = 0;  // valid when body_kind == length
    /** The decoded body once it is complete (Content-Length or chunked). */
    std::string_view body;

    Header headers[kMaxHeaders];

    /** Case-insensitive lookup of the first field named `name`; empty view if absent. */
    std::string_view header(std::string_view name) const noexcept;
};

/** Lower-cases ASCII letters only. */
constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; }

/** Case-insensitive ASCII comparison. */
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

}  // namespace brisk::http
