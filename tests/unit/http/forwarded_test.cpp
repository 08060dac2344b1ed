#include "http/forwarded.hpp"

#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using brisk::Cidr;
using brisk::http::forwarded_client;
using brisk::http::parse_forwarded_element;
using brisk::http::Request;
using brisk::http::proxy::Address;

namespace {

std::vector<Cidr> ranges(std::initializer_list<const char*> list) {
    std::vector<Cidr> out;
    for (const char* t : list) {
        Cidr c;
        std::string error;
        REQUIRE(brisk::parse_cidr(t, c, error));
        out.push_back(c);
    }
    return out;
}

std::string text(const Address& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (a.ip_len == 0) return "-";
    inet_ntop(a.ip_len == 4 ? AF_INET : AF_INET6, a.ip, buf, sizeof buf);
    return buf;
}

// The client found behind the given fields ("-" when none).
std::string client(const std::vector<Cidr>& trusted, std::vector<std::pair<std::string, std::string>> fields) {
    Request req;
    for (std::size_t i = 0; i < fields.size(); ++i) req.headers[i] = {fields[i].first, fields[i].second};
    req.header_count = static_cast<std::uint16_t>(fields.size());
    Address a;
    if (!forwarded_client(trusted, req, a)) return "-";
    return text(a);
}

}  // namespace

TEST_CASE("the right-most untrusted X-Forwarded-For address is the client", "[forwarded]") {
    auto trusted = ranges({"10.0.0.0/8", "fd00::/8"});
    CHECK(client(trusted, {{"X-Forwarded-For", "203.0.113.7"}}) == "203.0.113.7");
    CHECK(client(trusted, {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7, 10.0.0.2"}}) == "203.0.113.7");
    CHECK(client(trusted, {{"x-forwarded-for", "198.51.100.1,203.0.113.7,10.0.0.2,10.1.1.1"}}) == "203.0.113.7");
    // A spoofed left part does not matter.
    CHECK(client(trusted, {{"X-Forwarded-For", "1.1.1.1, 203.0.113.7"}}) == "203.0.113.7");
    // Several fields are one list, in order.
    CHECK(client(trusted, {{"X-Forwarded-For", "198.51.100.1"}, {"Host", "x"}, {"X-Forwarded-For", "10.0.0.3"}}) ==
          "198.51.100.1");
    CHECK(client(trusted, {{"X-Forwarded-For", "2001:db8::5, fd00::1"}}) == "2001:db8::5");
    // Every address trusted: the left-most.
    CHECK(client(trusted, {{"X-Forwarded-For", "10.0.0.9, 10.0.0.8"}}) == "10.0.0.9");
    // Empty elements are skipped.
    CHECK(client(trusted, {{"X-Forwarded-For", " 203.0.113.7 , ,10.0.0.1,"}}) == "203.0.113.7");
}

TEST_CASE("without a usable X-Forwarded-For the peer stands", "[forwarded]") {
    auto trusted = ranges({"10.0.0.0/8"});
    CHECK(client(trusted, {}) == "-");
    CHECK(client(trusted, {{"X-Real-IP", "203.0.113.7"}}) == "-");
    CHECK(client(trusted, {{"X-Forwarded-For", ""}}) == "-");
    CHECK(client(trusted, {{"X-Forwarded-For", "unknown"}}) == "-");
    // A bad element ends the walk: what was found right of it stands.
    CHECK(client(trusted, {{"X-Forwarded-For", "203.0.113.7, garbage, 10.0.0.4"}}) == "10.0.0.4");
    CHECK(client(trusted, {{"X-Forwarded-For", "203.0.113.7, garbage"}}) == "-");
}

TEST_CASE("X-Forwarded-For elements with ports and brackets", "[forwarded]") {
    Address a;
    REQUIRE(parse_forwarded_element("192.0.2.1:4711", a));
    CHECK(text(a) == "192.0.2.1");
    CHECK(a.port == 4711);
    REQUIRE(parse_forwarded_element("[2001:db8::1]:80", a));
    CHECK(text(a) == "2001:db8::1");
    CHECK(a.port == 80);
    REQUIRE(parse_forwarded_element("[2001:db8::2]", a));
    CHECK(a.port == 0);
    REQUIRE(parse_forwarded_element("2001:db8::3", a));
    CHECK(text(a) == "2001:db8::3");
    for (const char* bad : {"", "x", "1.2.3", "1.2.3.4:", "1.2.3.4:70000", "1.2.3.4:x", "[::1", "[::1]x", "[1.2.3.4]",
                            "[::1]:", "::g", "_"}) {
        INFO(bad);
        CHECK_FALSE(parse_forwarded_element(bad, a));
    }
}
