// brisk — X-Forwarded-For behind trusted proxies (see forwarded.hpp).
#include "http/forwarded.hpp"

#include <arpa/inet.h>

#include "http/chars.hpp"

namespace brisk::http {
namespace {

constexpr std::string_view kXff = "x-forwarded-for";

using proxy::parse_ip;

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

bool parse_forwarded_element(std::string_view text, proxy::Address& out) noexcept {
    proxy::Address a;
    if (text.starts_with('[')) {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos || !parse_ip(text.substr(1, close - 1), AF_INET6, a)) return false;
        std::string_view rest = text.substr(close + 1);
        if (!rest.empty() && (!rest.starts_with(':') || !parse_port(rest.substr(1), a.port))) return false;
    } else if (std::size_t colon = text.find(':'); colon != std::string_view::npos && text.rfind(':') == colon) {
        // One colon: IPv4 with a port.
        if (!parse_ip(text.substr(0, colon), AF_INET, a) || !parse_port(text.substr(colon + 1), a.port)) return false;
    } else if (!parse_ip(text, colon == std::string_view::npos ? AF_INET : AF_INET6, a)) {
        return false;
    }
    out = a;
    return true;
}

bool forwarded_client(const std::vector<Cidr>& trusted, const Request& req, proxy::Address& client) noexcept {
    bool found = false;
    for (std::size_t h = req.header_count; h-- > 0;) {
        if (!iequals(req.headers[h].name, kXff)) continue;
        std::string_view list = req.headers[h].value;
        while (!list.empty()) {
            std::size_t comma = list.rfind(',');
            std::string_view element = trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
            list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
            if (element.empty()) continue;  // "a, , b": empty list elements do not count (RFC 9110 5.6.1)
            proxy::Address a;
            if (!parse_forwarded_element(element, a)) return found;
            client = a;
            found = true;
            if (!cidr_list_contains(trusted, a.ip, a.ip_len)) return true;
        }
    }
    return found;
}

}  // namespace brisk::http
