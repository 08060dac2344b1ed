// brisk — PROXY protocol header parsing (see proxy_protocol.hpp).
#include "http/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <string_view>

#include "http/chars.hpp"

namespace brisk::http::proxy {
namespace {

using Kind = Result::Kind;

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr unsigned char kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

// Sizes of the address blocks of version 2, by family.
constexpr std::size_t kV2Inet = 12;   // 2 x 4 bytes + 2 ports
constexpr std::size_t kV2Inet6 = 36;  // 2 x 16 bytes + 2 ports
constexpr std::size_t kV2Unix = 216;  // 2 x 108 bytes of path

Result need_more() noexcept { return Result{}; }

Result invalid(const char* reason) noexcept {
    Result r;
    r.kind = Kind::invalid;
    r.reason = reason;
    return r;
}

// --- version 1: "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n"

// Decimal 0 to 65535, without a sign or leading zeros.
bool v1_port(std::string_view text, std::uint16_t& out) noexcept {
    return !(text.size() > 1 && text[0] == '0') && parse_port(text, out);
}

// The next field up to a single space (or the end); false when it is empty.
bool next_field(std::string_view& rest, std::string_view& field) noexcept {
    std::size_t sp = rest.find(' ');
    field = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
    return !field.empty();
}

Result parse_v1(const char* data, std::size_t len) noexcept {
    const std::size_t seen = len < kMaxV1 ? len : kMaxV1;
    const std::size_t prefix = seen < kV1Prefix.size() ? seen : kV1Prefix.size();
    if (std::memcmp(data, kV1Prefix.data(), prefix) != 0) return invalid("not a PROXY header");
    const auto* lf = static_cast<const char*>(std::memchr(data, '\n', seen));
    if (!lf) {
        if (seen == kMaxV1) return invalid("version 1 header longer than 107 bytes");
        if (std::memchr(data, '\r', seen > 0 ? seen - 1 : 0)) return invalid("CR not followed by LF");
        return need_more();
    }
    const std::size_t line_end = static_cast<std::size_t>(lf - data);  // index of '\n'
    if (line_end < kV1Prefix.size() + 1 || data[line_end - 1] != '\r') return invalid("line does not end in CRLF");
    std::string_view line(data, line_end - 1);
    if (line.find('\r') != std::string_view::npos) return invalid("CR inside the line");
    for (char c : line)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)
            return invalid("control or non-ASCII byte in the line");

    Result r;
    r.kind = Kind::done;
    r.version = 1;
    r.consumed = line_end + 1;
    std::string_view rest = line.substr(kV1Prefix.size());
    std::string_view proto;
    if (!next_field(rest, proto)) return invalid("missing protocol");
    if (proto == "UNKNOWN") return r;  // whatever follows is ignored
    int family;
    if (proto == "TCP4")
        family = AF_INET;
    else if (proto == "TCP6")
        family = AF_INET6;
    else
        return invalid("protocol is not TCP4, TCP6 or UNKNOWN");
    std::string_view src, dst, sport, dport;
    if (!next_field(rest, src) || !next_field(rest, dst) || !next_field(rest, sport) || !next_field(rest, dport))
        return invalid("missing or empty field");
    if (!rest.empty() || line.back() == ' ') return invalid("extra field or trailing space");
    if (!parse_ip(src, family, r.source)) return invalid("bad source address");
    if (!parse_ip(dst, family, r.destination)) return invalid("bad destination address");
    if (!v1_port(sport, r.source.port)) return invalid("bad source port");
    if (!v1_port(dport, r.destination.port)) return invalid("bad destination port");
    r.has_addresses = true;
    return r;
}

// --- version 2: the binary header

std::uint16_t be16(const unsigned char* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

Result parse_v2(const unsigned char* p, std::size_t len) noexcept {
    const std::size_t sig = len < sizeof kV2Signature ? len : sizeof kV2Signature;
    if (std::memcmp(p, kV2Signature, sig) != 0) return invalid("not a PROXY header");
    if (len < kV2Fixed) {
        if (len > 12 && (p[12] >> 4) != 2) return invalid("version 2 header of another version");
        return need_more();
    }
    const unsigned version = p[12] >> 4, command = p[12] & 0x0F;
    const unsigned family = p[13] >> 4, transport = p[13] & 0x0F;
    const std::size_t body = be16(p + 14);
    if (version != 2) return invalid("version 2 header of another version");
    if (command > 1) return invalid("unknown command");
    if (kV2Fixed + body > kMaxV2) return invalid("version 2 header too long");
    if (len < kV2Fixed + body) return need_more();

    Result r;
    r.kind = Kind::done;
    r.version = 2;
    r.consumed = kV2Fixed + body;
    if (command == 0) return r;  // LOCAL: the proxy's own connection (a health check)

    if (family > 3) return invalid("unknown address family");
    if (transport > 2) return invalid("unknown transport");
    if (transport == 2) return invalid("datagram transport on a stream");
    std::size_t block = 0;
    const unsigned char* a = p + kV2Fixed;
    switch (family) {
    case 0:  // AF_UNSPEC: nothing known
        return r;
    case 1:
        block = kV2Inet;
        if (body < block) return invalid("address block too short");
        std::memcpy(r.source.ip, a, 4);
        std::memcpy(r.destination.ip, a + 4, 4);
        r.source.ip_len = r.destination.ip_len = 4;
        r.source.port = be16(a + 8);
        r.destination.port = be16(a + 10);
        r.has_addresses = true;
        break;
    case 2:
        block = kV2Inet6;
        if (body < block) return invalid("address block too short");
        std::memcpy(r.source.ip, a, 16);
        std::memcpy(r.destination.ip, a + 16, 16);
        r.source.ip_len = r.destination.ip_len = 16;
        r.source.port = be16(a + 32);
        r.destination.port = be16(a + 34);
        r.has_addresses = true;
        break;
    default:  // AF_UNIX: paths, no address brisk can use
        block = kV2Unix;
        if (body < block) return invalid("address block too short");
        break;
    }
    // TLVs: type, 16-bit length, value; skipped, but they must fit exactly.
    std::size_t at = block;
    while (at < body) {
        if (body - at < 3) return invalid("truncated TLV");
        const std::size_t tlv = be16(a + at + 1);
        if (body - at - 3 < tlv) return invalid("TLV longer than the header");
        at += 3 + tlv;
    }
    return r;
}

}  // namespace

bool parse_ip(std::string_view text, int family, Address& out) noexcept {
    char buf[INET6_ADDRSTRLEN];
    if (text.empty() || text.size() >= sizeof buf) return false;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    if (inet_pton(family, buf, out.ip) != 1) return false;
    out.ip_len = family == AF_INET ? 4 : 16;
    return true;
}

Result parse(const char* data, std::size_t len) noexcept {
    if (len == 0) return need_more();
    if (data[0] == 'P') return parse_v1(data, len);
    if (data[0] == '\r') return parse_v2(reinterpret_cast<const unsigned char*>(data), len);
    return invalid("not a PROXY header");
}

}  // namespace brisk::http::proxy
