// brisk — the character classes of HTTP (RFC 9110 5.6.2, 5.5), shared by the
// parser, the chunked decoder and the plugin host.
#pragma once

#include <cstdint>
#include <string_view>

namespace brisk::http {

/** tchar: the bytes of a token (method, field name, coding). */
constexpr bool is_tchar(char ch) noexcept {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
        return true;
    default:
        return false;
    }
}

/** A byte of a field value (or chunk extension): anything but a CTL other than HTAB, or DEL. */
constexpr bool is_field_char(char ch) noexcept {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/** The value of a hex digit, or -1. */
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/** OWS: optional whitespace, SP or HTAB. */
/** RFC 3986 unreserved and sub-delims characters: a reg-name's, and a path segment's but ':' and '@'. */
constexpr bool is_unreserved_or_sub_delim(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

/** A port: 1 to 5 decimal digits, at most 65535. */
constexpr bool parse_port(std::string_view text, std::uint16_t& out) noexcept {
    if (text.empty() || text.size() > 5) return false;
    unsigned v = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 65535) return false;
    out = static_cast<std::uint16_t>(v);
    return true;
}

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

/** `s` without leading and trailing OWS. */
constexpr std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

constexpr bool is_field_value(std::string_view s) noexcept {
    for (char c : s)
        if (!is_field_char(c)) return false;
    return true;
}

}  // namespace brisk::http
