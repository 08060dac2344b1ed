// brisk — the client address behind trusted proxies, from X-Forwarded-For.
#pragma once

#include <vector>

#include "brisk/config.hpp"
#include "http/proxy_protocol.hpp"
#include "http/request.hpp"

namespace brisk::http {

/**
 * For a request whose peer is a trusted proxy: walks the X-Forwarded-For
 * fields from the right (the last field first) and stores in `client` the
 * first address outside `trusted` (or, when every one is trusted, the
 * left-most). An element that is not an address ends the walk there. The
 * port is 0 (or the element's, written "198.51.100.7:4711" or
 * "[2001:db8::7]:4711"). Returns false, leaving `client` alone, when the
 * request names no address.
 */
bool forwarded_client(const std::vector<Cidr>& trusted, const Request& req, proxy::Address& client) noexcept;

/** One X-Forwarded-For element, trimmed: "192.0.2.1", "2001:db8::1", with or without port and brackets. */
bool parse_forwarded_element(std::string_view text, proxy::Address& out) noexcept;

}  // namespace brisk::http
