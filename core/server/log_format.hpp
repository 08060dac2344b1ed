// brisk — access log formats: the built-in ones (common, combined, json)
// and templates of $variables, compiled once at start-up into a list of
// pieces, then rendered per request into a loop's line buffer.
#pragma once

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"

namespace brisk::alog {

enum class Var : std::uint8_t {
    literal,
    remote_addr,
    remote_port,
    time_local,
    time_iso8601,
    msec,
    request,
    method,
    path,
    query,
    protocol,
    status,
    body_bytes_sent,
    bytes_sent,
    request_length,
    request_time,
    request_time_us,
    host,
    connection,
    connection_requests,
    route,
    loop,
    scheme,           // http or https
    ssl_protocol,     // TLSv1.3; empty without TLS
    ssl_cipher,       // TLS_AES_128_GCM_SHA256
    ssl_server_name,  // the SNI name
    header,           // $http_NAME: `text` is the field name, lower-case, with '-' for '_'
};

struct Piece {
    Var var = Var::literal;
    std::string text;  // literal: the text; header: the field name
};

struct Format {
    std::vector<Piece> pieces;
    /** Values escaped for JSON strings ("" when missing) rather than nginx-style (\xHH, "-"). */
    bool json = false;
};

/** Every variable name a template may use, for messages and documentation ($http_NAME aside). */
std::span<const std::string_view> variable_names();

/**
 * Compiles a format: "common", "combined", "json", or a template. In a
 * template, $name or ${name} is a variable, $$ a dollar sign; a template
 * that starts with "escape=json " escapes values for JSON strings.
 * Returns false with a one-line reason.
 */
bool compile(std::string_view spec, Format& out, std::string& error);

/** What one line is about. Views live until render() returns. */
struct Record {
    const std::uint8_t* ip = nullptr;  // 4 or 16 bytes; null for unix sockets
    std::uint8_t ip_len = 0;
    std::uint16_t port = 0;
    std::uint64_t connection = 0;
    std::uint32_t connection_requests = 0;
    unsigned loop = 0;
    /** The parsed request; null when its head did not parse (then `raw_line`). */
    const http::Request* req = nullptr;
    /** What arrived of the request line when the head did not parse; may be empty. */
    std::string_view raw_line;
    std::uint16_t status = 0;
    std::uint64_t body_bytes = 0;
    std::uint64_t bytes = 0;
    std::uint64_t request_length = 0;
    std::uint64_t duration_us = 0;
    std::string_view route;  // empty: no route answered
    std::time_t now_s = 0;   // wall clock, whole seconds
    bool tls = false;        // the connection speaks TLS
    std::string_view ssl_protocol, ssl_cipher, ssl_server_name;
};

/** Renders lines; keeps the local-time strings of the current second. Not thread-safe: one per loop. */
class Renderer {
public:
    /** Appends one line, with its '\n', to `out`. */
    void render(const Format& format, const Record& record, std::string& out);

private:
    void refresh(std::time_t now_s);
    std::time_t cached_s_ = -1;
    char local_[40] = {};  // 10/Oct/2000:13:55:36 +0000
    char iso_[40] = {};    // 2000-10-10T13:55:36+00:00
    std::size_t local_len_ = 0;
    std::size_t iso_len_ = 0;
};

/** The request line of a parsed request, as the client sent it. */
std::string_view request_line(const http::Request& req) noexcept;

}  // namespace brisk::alog
