// brisk — address ranges of trusted proxies (see brisk/config.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>
#include <string_view>

#include "brisk/config.hpp"

namespace brisk {
namespace {

// ::ffff:a.b.c.d, how a dual-stack socket shows an IPv4 client.
bool is_v4_mapped(const std::uint8_t* ip) noexcept {
    static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::memcmp(ip, prefix, sizeof prefix) == 0;
}

}  // namespace

bool parse_cidr(std::string_view text, Cidr& out, std::string& error) {
    auto fail = [&](const std::string& reason) {
        error = "bad trusted proxy \"" + std::string(text) + "\": " + reason;
        return false;
    };
    Cidr result;
    result.text = std::string(text);
    if (text == "unix") {  // peers of unix sockets (a proxy on the same host)
        result.ip_len = 0;
        result.prefix = 0;
        out = std::move(result);
        return true;
    }
    std::size_t slash = text.find('/');
    std::string host(text.substr(0, slash));
    if (host.empty()) return fail("expected an address, a range or unix, as in 10.0.0.0/8 or fd00::/8");
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (inet_pton(AF_INET, host.c_str(), result.ip) == 1) {
        result.ip_len = 4;
    } else if (inet_pton(AF_INET6, host.c_str(), result.ip) == 1) {
        result.ip_len = 16;
    } else {
        return fail("\"" + host + "\" is not a numeric IPv4 or IPv6 address (or unix)");
    }
    const unsigned max_bits = result.ip_len * 8u;
    unsigned bits = max_bits;
    if (slash != std::string_view::npos) {
        std::string_view p = text.substr(slash + 1);
        if (p.empty() || p.size() > 3)
            return fail("the prefix length after '/' must be a number from 0 to " + std::to_string(max_bits));
        bits = 0;
        for (char c : p) {
            if (c < '0' || c > '9')
                return fail("the prefix length after '/' must be a number from 0 to " + std::to_string(max_bits));
            bits = bits * 10 + static_cast<unsigned>(c - '0');
        }
        if (bits > max_bits)
            return fail("the prefix length of an IPv" + std::string(result.ip_len == 4 ? "4" : "6") +
                        " range is at most " + std::to_string(max_bits));
    }
    result.prefix = static_cast<std::uint8_t>(bits);
    // Host bits must be zero: "10.0.0.1/8" is more likely a typo than a range.
    for (unsigned i = bits; i < max_bits; ++i) {
        if (result.ip[i / 8] & (0x80u >> (i % 8))) {
            Cidr network = result;
            for (unsigned j = bits; j < max_bits; ++j)
                network.ip[j / 8] &= static_cast<std::uint8_t>(~(0x80u >> (j % 8)));
            char buf[INET6_ADDRSTRLEN] = {};
            inet_ntop(result.ip_len == 4 ? AF_INET : AF_INET6, network.ip, buf, sizeof buf);
            return fail("bits are set past the prefix length; the range is " + std::string(buf) + "/" +
                        std::to_string(bits));
        }
    }
    out = std::move(result);
    return true;
}

bool cidr_contains(const Cidr& range, const std::uint8_t* ip, std::size_t ip_len) noexcept {
    if (range.ip_len == 0 || ip_len == 0) return range.ip_len == ip_len;  // "unix" and unix peers
    if (ip_len == 16 && range.ip_len == 4 && is_v4_mapped(ip)) {
        ip += 12;
        ip_len = 4;
    }
    if (ip_len != range.ip_len) return false;
    const unsigned full = range.prefix / 8u, rest = range.prefix % 8u;
    if (std::memcmp(ip, range.ip, full) != 0) return false;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
    return (ip[full] & mask) == range.ip[full];
}

bool cidr_list_contains(const std::vector<Cidr>& ranges, const std::uint8_t* ip, std::size_t ip_len) noexcept {
    for (const Cidr& r : ranges)
        if (cidr_contains(r, ip, ip_len)) return true;
    return false;
}

}  // namespace brisk
