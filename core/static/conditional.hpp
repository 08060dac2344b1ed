// brisk — validators and conditional requests (RFC 9110 8.8, 13): HTTP
// dates, entity-tag lists, and the order preconditions are evaluated in.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/request.hpp"

namespace brisk::files {

/** Length of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). */
inline constexpr std::size_t kHttpDateLen = 29;

/** Writes `t` (seconds since the epoch, UTC) as an IMF-fixdate; no NUL. */
void format_http_date(std::int64_t t, char* out) noexcept;

/**
 * Parses an HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime
 * forms recipients must accept. False for anything else.
 */
bool parse_http_date(std::string_view text, std::int64_t& out) noexcept;

/**
 * True when the field value `list` ("*" or a comma-separated list of
 * entity-tags) matches `etag` (a strong tag with quotes, or empty: no tag).
 * weak: the weak comparison of If-None-Match (W/ ignored); else the strong
 * comparison of If-Match (a W/ tag never matches). "*" matches any tag, and
 * also no tag when `exists`.
 */
bool etag_list_matches(std::string_view list, std::string_view etag, bool weak, bool exists = true) noexcept;

/** The fields of a request that static files look at, gathered in one pass. */
struct FileRequestFields {
    std::string_view if_match, if_none_match, if_modified_since, if_unmodified_since, if_range;
    std::string_view range, accept_encoding;
    bool has_range = false, has_accept_encoding = false;

    explicit FileRequestFields(const http::Request& req) noexcept;
};

enum class Precondition : std::uint8_t {
    proceed,       // answer normally
    not_modified,  // 304 (GET/HEAD)
    failed,        // 412
};

/**
 * RFC 9110 13.2.2, steps 1-4: If-Match, else If-Unmodified-Since (412 when
 * false); then If-None-Match, else If-Modified-Since (304 when false). Dates
 * that do not parse are ignored. `etag` is empty when ETags are off.
 */
Precondition evaluate_preconditions(const FileRequestFields& f, std::string_view etag, std::int64_t mtime) noexcept;

/**
 * If-Range (RFC 9110 13.1.5): true when the Range field applies — the value
 * is the current strong ETag, or a date equal to Last-Modified.
 */
bool if_range_holds(std::string_view value, std::string_view etag, std::int64_t mtime) noexcept;

}  // namespace brisk::files
