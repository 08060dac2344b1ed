// brisk — the PROXY protocol header (versions 1 and 2) a load balancer
// sends before the client's bytes, naming the client's address.
//
// parse() is a pure function over what has arrived so far: it says whether
// more bytes are needed, the header is complete (how long it is and the
// addresses it carries), or the bytes cannot begin a valid header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace brisk::http::proxy {

/** Longest version 1 header, "PROXY ... \r\n" included (the protocol's own limit). */
inline constexpr std::size_t kMaxV1 = 107;
/** Fixed part of a version 2 header: signature, version/command, family, length. */
inline constexpr std::size_t kV2Fixed = 16;
/** Longest version 2 header brisk accepts, TLVs included. */
inline constexpr std::size_t kMaxV2 = 4096;

/** An IPv4 or IPv6 address and port; `ip_len` 0 when there is none. */
struct Address {
    std::uint8_t ip[16] = {};
    std::uint8_t ip_len = 0;  // 4 or 16
    std::uint16_t port = 0;
};

/** Numeric IPv4 (AF_INET) or IPv6 (AF_INET6) text into `out.ip`; false if it is not one. */
bool parse_ip(std::string_view text, int family, Address& out) noexcept;

struct Result {
    enum class Kind : std::uint8_t {
        need_more,  // a prefix of a valid header: read more
        done,       // a complete header of `consumed` bytes
        invalid,    // cannot be a valid header: close the connection
    };
    Kind kind = Kind::need_more;
    /** done: the header's length; the client's bytes follow it. */
    std::size_t consumed = 0;
    /** done: 1 or 2. */
    std::uint8_t version = 0;
    /**
     * done: whether the header names the client (PROXY over TCP4/TCP6 or
     * AF_INET/AF_INET6). False for LOCAL, UNKNOWN, AF_UNSPEC and AF_UNIX:
     * the socket's own peer stands.
     */
    bool has_addresses = false;
    Address source;       // the client
    Address destination;  // the address the client connected to
    /** invalid: a short reason, for a debug line. */
    const char* reason = "";
};

/**
 * Parses the header at the start of `data[0, len)`. Never reads past `len`;
 * bytes after the header are left alone.
 */
Result parse(const char* data, std::size_t len) noexcept;

}  // namespace brisk::http::proxy
