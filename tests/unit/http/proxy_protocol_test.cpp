#include "http/proxy_protocol.hpp"

#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <iterator>
#include <memory>
#include <string>

using brisk::http::proxy::Address;
using brisk::http::proxy::kMaxV1;
using brisk::http::proxy::kMaxV2;
using brisk::http::proxy::parse;
using brisk::http::proxy::Result;
using Kind = Result::Kind;

namespace {

Result run(const std::string& s) { return parse(s.data(), s.size()); }

// Feeds `wire` one byte more at a time: every proper prefix must ask for
// more (or, past the point where it is known to be bad, be invalid).
Result feed(const std::string& wire) {
    for (std::size_t n = 0; n < wire.size(); ++n) {
        Result r = parse(wire.data(), n);
        if (r.kind == Kind::invalid) return r;
        INFO("prefix of " << n << " bytes");
        REQUIRE(r.kind == Kind::need_more);
    }
    return parse(wire.data(), wire.size());
}

std::string text(const Address& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.ip_len == 0) return "";
    inet_ntop(a.ip_len == 4 ? AF_INET : AF_INET6, a.ip, buf, sizeof buf);
    return buf;
}

const std::string kSig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string be16(std::size_t v) { return std::string{static_cast<char>(v >> 8 & 0xff), static_cast<char>(v & 0xff)}; }

// A version 2 header: version/command byte, family/transport byte, payload.
std::string v2(unsigned char ver_cmd, unsigned char fam, const std::string& payload) {
    return kSig + std::string{static_cast<char>(ver_cmd), static_cast<char>(fam)} + be16(payload.size()) + payload;
}

std::string inet_block(const char* src, const char* dst, std::uint16_t sp, std::uint16_t dp) {
    unsigned char a[4], b[4];
    inet_pton(AF_INET, src, a);
    inet_pton(AF_INET, dst, b);
    return std::string(reinterpret_cast<char*>(a), 4) + std::string(reinterpret_cast<char*>(b), 4) + be16(sp) +
           be16(dp);
}

std::string inet6_block(const char* src, const char* dst, std::uint16_t sp, std::uint16_t dp) {
    unsigned char a[16], b[16];
    inet_pton(AF_INET6, src, a);
    inet_pton(AF_INET6, dst, b);
    return std::string(reinterpret_cast<char*>(a), 16) + std::string(reinterpret_cast<char*>(b), 16) + be16(sp) +
           be16(dp);
}

}  // namespace

// ---------------------------------------------------------------- version 1

TEST_CASE("v1 TCP4 gives the client's address and port, byte by byte", "[proxy]") {
    std::string hdr = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n";
    Result r = feed(hdr);
    REQUIRE(r.kind == Kind::done);
    CHECK(r.version == 1);
    CHECK(r.consumed == hdr.size());
    CHECK(r.has_addresses);
    CHECK(text(r.source) == "192.0.2.1");
    CHECK(r.source.port == 56324);
    CHECK(text(r.destination) == "198.51.100.2");
    CHECK(r.destination.port == 443);
    // What follows the header is the client's and is left alone.
    Result with_body = run(hdr + "GET / HTTP/1.1\r\n");
    REQUIRE(with_body.kind == Kind::done);
    CHECK(with_body.consumed == hdr.size());
}

TEST_CASE("v1 TCP6 and the extreme ports", "[proxy]") {
    Result r = feed("PROXY TCP6 2001:db8::1 ::1 0 65535\r\n");
    REQUIRE(r.kind == Kind::done);
    CHECK(text(r.source) == "2001:db8::1");
    CHECK(r.source.ip_len == 16);
    CHECK(r.source.port == 0);
    CHECK(r.destination.port == 65535);
    Result mapped = run("PROXY TCP6 ::ffff:192.0.2.9 ::1 1 2\r\n");
    REQUIRE(mapped.kind == Kind::done);
    CHECK(text(mapped.source) == "::ffff:192.0.2.9");
}

TEST_CASE("v1 UNKNOWN keeps the socket's peer, whatever follows it", "[proxy]") {
    for (std::string h : {"PROXY UNKNOWN\r\n", "PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", "PROXY UNKNOWN ?? x\r\n"}) {
        INFO(h);
        Result r = feed(h);
        REQUIRE(r.kind == Kind::done);
        CHECK_FALSE(r.has_addresses);
        CHECK(r.consumed == h.size());
    }
}

TEST_CASE("v1 at its longest is accepted, one byte longer is not", "[proxy]") {
    // The longest header the protocol allows: TCP6 with full-length addresses.
    std::string longest =
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "65535 65535\r\n";
    REQUIRE(longest.size() == 104);
    CHECK(feed(longest).kind == Kind::done);
    std::string unknown = "PROXY UNKNOWN " + std::string(kMaxV1 - 16, 'x') + "\r\n";
    REQUIRE(unknown.size() == kMaxV1);
    CHECK(feed(unknown).kind == Kind::done);
    std::string too_long = "PROXY UNKNOWN " + std::string(kMaxV1 - 15, 'x') + "\r\n";
    Result r = feed(too_long);
    CHECK(r.kind == Kind::invalid);
    // Without a line end, 107 bytes are as far as it waits.
    std::string endless = "PROXY UNKNOWN " + std::string(200, 'x');
    CHECK(run(endless.substr(0, kMaxV1 - 1)).kind == Kind::need_more);
    CHECK(run(endless.substr(0, kMaxV1)).kind == Kind::invalid);
}

TEST_CASE("v1 malformed shapes are invalid", "[proxy]") {
    const char* bad[] = {
        "GET / HTTP/1.1\r\n",                  // not a PROXY header at all
        "PROXX TCP4 1.2.3.4 5.6.7.8 1 2\r\n",  // wrong word
        "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",  // case matters
        "PROXY\r\n",                           // nothing after the word
        "PROXY \r\n",                          // empty protocol
        "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",  // unknown protocol
        "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",      // bare LF
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",  // CR inside
        "PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n",   // CR not followed by LF
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",      // missing port
        "PROXY TCP4 1.2.3.4 5.6.7.8\r\n",        // missing ports
        "PROXY TCP4\r\n",                        // missing everything
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",  // extra field
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",   // trailing space
        "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",   // double space
        "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",
        "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",  // bad IPv4
        "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.x 1 2\r\n",  // bad destination
        "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",      // IPv6 under TCP4
        "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",      // IPv4 under TCP6
        "PROXY TCP6 ::1 ::g 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",  // port out of range
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",      // leading zero
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n",      // sign
        "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n",  // too many digits
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 2a\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\t2\r\n",  // control byte
        "PROXY UNKNOWN \x80\r\n",               // non-ASCII byte
        "\r\n\r\n\r",                           // neither version
        "\x00",
    };
    for (const char* h : bad) {
        std::string s = h[0] ? std::string(h) : std::string(1, '\0');
        INFO(s);
        Result r = feed(s);
        CHECK(r.kind == Kind::invalid);
        CHECK(r.reason[0] != '\0');
    }
}

TEST_CASE("v1 prefixes wait; a wrong first bytes fail at once", "[proxy]") {
    CHECK(run("").kind == Kind::need_more);
    CHECK(run("P").kind == Kind::need_more);
    CHECK(run("PROXY").kind == Kind::need_more);
    CHECK(run("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r").kind == Kind::need_more);
    CHECK(run("PRI * HTTP/2.0").kind == Kind::invalid);
    CHECK(run("PROXZ").kind == Kind::invalid);
    CHECK(run("G").kind == Kind::invalid);
}

// ---------------------------------------------------------------- version 2

TEST_CASE("v2 PROXY over AF_INET, byte by byte", "[proxy]") {
    std::string hdr = v2(0x21, 0x11, inet_block("203.0.113.7", "10.0.0.1", 40000, 8080));
    Result r = feed(hdr);
    REQUIRE(r.kind == Kind::done);
    CHECK(r.version == 2);
    CHECK(r.consumed == 28);
    CHECK(r.has_addresses);
    CHECK(text(r.source) == "203.0.113.7");
    CHECK(r.source.port == 40000);
    CHECK(text(r.destination) == "10.0.0.1");
    CHECK(r.destination.port == 8080);
    Result with_body = run(hdr + "GET / HTTP/1.1\r\n\r\n");
    REQUIRE(with_body.kind == Kind::done);
    CHECK(with_body.consumed == 28);
}

TEST_CASE("v2 PROXY over AF_INET6 with the unspecified transport", "[proxy]") {
    Result r = feed(v2(0x21, 0x20, inet6_block("2001:db8::42", "::1", 1, 2)));
    REQUIRE(r.kind == Kind::done);
    CHECK(r.has_addresses);
    CHECK(text(r.source) == "2001:db8::42");
    CHECK(r.source.ip_len == 16);
    CHECK(r.source.port == 1);
    CHECK(r.destination.port == 2);
}

TEST_CASE("v2 TLVs after the addresses are skipped", "[proxy]") {
    std::string tlvs = std::string("\x01", 1) + be16(2) + "h2"        // ALPN
                       + std::string("\x04", 1) + be16(0)             // NOOP, empty
                       + std::string("\x05", 1) + be16(5) + "uniq!";  // UNIQUE_ID
    std::string hdr = v2(0x21, 0x11, inet_block("192.0.2.3", "192.0.2.4", 5, 6) + tlvs);
    Result r = feed(hdr);
    REQUIRE(r.kind == Kind::done);
    CHECK(r.consumed == hdr.size());
    CHECK(text(r.source) == "192.0.2.3");
}

TEST_CASE("v2 LOCAL, AF_UNSPEC and AF_UNIX keep the socket's peer", "[proxy]") {
    Result local = feed(v2(0x20, 0x00, ""));
    REQUIRE(local.kind == Kind::done);
    CHECK_FALSE(local.has_addresses);
    CHECK(local.consumed == 16);
    // LOCAL ignores whatever family and bytes come with it.
    Result local_inet = feed(v2(0x20, 0x11, inet_block("1.2.3.4", "5.6.7.8", 1, 2)));
    REQUIRE(local_inet.kind == Kind::done);
    CHECK_FALSE(local_inet.has_addresses);
    CHECK(local_inet.consumed == 28);
    Result unspec = feed(v2(0x21, 0x00, std::string(7, 'x')));
    REQUIRE(unspec.kind == Kind::done);
    CHECK_FALSE(unspec.has_addresses);
    CHECK(unspec.consumed == 23);
    Result unix_stream = feed(v2(0x21, 0x31, std::string(216, '\0')));
    REQUIRE(unix_stream.kind == Kind::done);
    CHECK_FALSE(unix_stream.has_addresses);
    CHECK(unix_stream.consumed == 232);
}

TEST_CASE("v2 length is bounded", "[proxy]") {
    std::string fits = v2(0x21, 0x11,
                          inet_block("1.2.3.4", "5.6.7.8", 1, 2) + std::string("\x04", 1) + be16(kMaxV2 - 16 - 12 - 3) +
                              std::string(kMaxV2 - 16 - 12 - 3, 'p'));
    REQUIRE(fits.size() == kMaxV2);
    CHECK(run(fits).kind == Kind::done);
    // Refused as soon as the length field is in, without waiting for the bytes.
    std::string over = kSig + "\x21\x11" + be16(kMaxV2 - 16 + 1);
    Result r = run(over);
    CHECK(r.kind == Kind::invalid);
    CHECK(run(kSig + "\x21\x11" + be16(0xffff)).kind == Kind::invalid);
}

TEST_CASE("v2 malformed shapes are invalid", "[proxy]") {
    std::string inet = inet_block("1.2.3.4", "5.6.7.8", 1, 2);
    std::string wrong_sig = kSig;
    wrong_sig[11] = 'X';
    std::string cases[] = {
        wrong_sig + "\x21\x11" + be16(12) + inet,  // signature
        v2(0x11, 0x11, inet),                      // version 1 in a binary header
        v2(0x31, 0x11, inet),                      // version 3
        v2(0x22, 0x11, inet),                      // command 2
        v2(0x2F, 0x11, inet),                      // command 15
        v2(0x21, 0x41, inet),                      // family 4
        v2(0x21, 0x13, inet),                      // transport 3
        v2(0x21, 0x12, inet),                      // datagram
        v2(0x21, 0x11, inet.substr(0, 11)),        // address block too short
        v2(0x21, 0x21, inet6_block("::1", "::2", 1, 2).substr(0, 35)),
        v2(0x21, 0x31, std::string(215, '\0')),
        v2(0x21, 0x11, inet + "\x01"),  // TLV header cut short
        v2(0x21, 0x11, inet + std::string("\x01\x00", 2)),
        v2(0x21, 0x11, inet + std::string("\x01\x00\x05", 3) + "abcd"),  // TLV past the end
    };
    for (const std::string& h : cases) {
        INFO(h.size() << " bytes");
        Result r = feed(h);
        CHECK(r.kind == Kind::invalid);
        CHECK(r.reason[0] != '\0');
    }
}

TEST_CASE("v2 prefixes wait; a wrong signature fails at the first wrong byte", "[proxy]") {
    CHECK(run(kSig.substr(0, 1)).kind == Kind::need_more);
    CHECK(run(kSig).kind == Kind::need_more);
    CHECK(run(kSig + "\x21").kind == Kind::need_more);
    CHECK(run(kSig + "\x21\x11" + be16(12) + "abc").kind == Kind::need_more);
    CHECK(run(kSig + "\x11").kind == Kind::invalid);  // another version, known at byte 13
    CHECK(run("\r\n\r\nX").kind == Kind::invalid);
    CHECK(run("\rX").kind == Kind::invalid);
}

TEST_CASE("mutated headers: a verdict on every prefix, never past the input", "[proxy]") {
    const std::string seeds[] = {
        "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n",
        "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n",
        "PROXY UNKNOWN\r\n",
        v2(0x21, 0x11, inet_block("203.0.113.7", "10.0.0.1", 40000, 8080) + std::string("\x01\x00\x02h2", 5)),
        v2(0x21, 0x21, inet6_block("2001:db8::42", "::1", 1, 2)),
        v2(0x20, 0x00, ""),
    };
    std::uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1103515245u + 12345u;
        return seed >> 16;
    };
    for (int round = 0; round < 3000; ++round) {
        std::string s = seeds[next() % std::size(seeds)];
        for (unsigned k = next() % 3 + 1; k > 0; --k) {
            std::size_t at = next() % s.size();
            switch (next() % 3) {
            case 0:
                s[at] = static_cast<char>(next());
                break;
            case 1:
                s.erase(at, 1);
                break;
            default:
                s.insert(at, 1, static_cast<char>(next()));
                break;
            }
        }
        // Exactly as long as the input: a heap copy, so a read past it shows under sanitizers and valgrind.
        for (std::size_t n = 0; n <= s.size(); ++n) {
            std::unique_ptr<char[]> copy(new char[n ? n : 1]);
            std::memcpy(copy.get(), s.data(), n);
            Result r = parse(copy.get(), n);
            if (r.kind == Kind::done) {
                REQUIRE(r.consumed <= n);
                REQUIRE(r.consumed > 0);
                // More bytes after a complete header change nothing.
                Result again = parse(s.data(), s.size());
                REQUIRE(again.kind == Kind::done);
                REQUIRE(again.consumed == r.consumed);
                break;
            }
            if (r.kind == Kind::invalid) {
                // Once invalid, longer input stays invalid.
                REQUIRE(parse(s.data(), s.size()).kind == Kind::invalid);
                break;
            }
        }
    }
}
