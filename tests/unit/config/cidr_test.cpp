#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include <string>

#include "brisk/config.hpp"

using brisk::Cidr;

namespace {

bool contains(const std::string& range, const char* ip) {
    Cidr c;
    std::string error;
    REQUIRE(brisk::parse_cidr(range, c, error));
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip, buf) == 1) return brisk::cidr_contains(c, buf, 4);
    REQUIRE(inet_pton(AF_INET6, ip, buf) == 1);
    return brisk::cidr_contains(c, buf, 16);
}

std::string error_of(const char* text) {
    Cidr c;
    std::string error;
    CHECK_FALSE(brisk::parse_cidr(text, c, error));
    return error;
}

}  // namespace

TEST_CASE("CIDR ranges parse and match", "[cidr]") {
    CHECK(contains("10.0.0.0/8", "10.255.1.2"));
    CHECK_FALSE(contains("10.0.0.0/8", "11.0.0.1"));
    CHECK(contains("192.168.1.0/25", "192.168.1.127"));
    CHECK_FALSE(contains("192.168.1.0/25", "192.168.1.128"));
    CHECK(contains("0.0.0.0/0", "203.0.113.9"));
    CHECK(contains("127.0.0.1", "127.0.0.1"));
    CHECK_FALSE(contains("127.0.0.1", "127.0.0.2"));
    CHECK(contains("fd00::/8", "fd12:3456::1"));
    CHECK_FALSE(contains("fd00::/8", "fe80::1"));
    CHECK(contains("::1", "::1"));
    CHECK(contains("[2001:db8::]/32", "2001:db8:ffff::1"));
    CHECK(contains("::/0", "2001:db8::1"));
    // IPv4 clients of a dual-stack socket match IPv4 ranges, not IPv6 ones.
    CHECK(contains("127.0.0.0/8", "::ffff:127.0.0.1"));
    CHECK_FALSE(contains("::1/128", "127.0.0.1"));
    CHECK_FALSE(contains("10.0.0.0/8", "::1"));
}

TEST_CASE("bad CIDR ranges have clear messages", "[cidr]") {
    CHECK(error_of("") == "bad trusted proxy \"\": expected an address, a range or unix, as in 10.0.0.0/8 or fd00::/8");
    CHECK(error_of("proxy.example") ==
          "bad trusted proxy \"proxy.example\": \"proxy.example\" is not a numeric IPv4 or IPv6 address (or unix)");
    CHECK(error_of("10.0.0.0/33") ==
          "bad trusted proxy \"10.0.0.0/33\": the prefix length of an IPv4 range is at most 32");
    CHECK(error_of("::/129") == "bad trusted proxy \"::/129\": the prefix length of an IPv6 range is at most 128");
    CHECK(error_of("10.0.0.0/") ==
          "bad trusted proxy \"10.0.0.0/\": the prefix length after '/' must be a number from 0 to 32");
    CHECK(error_of("10.0.0.0/x") ==
          "bad trusted proxy \"10.0.0.0/x\": the prefix length after '/' must be a number from 0 to 32");
    CHECK(error_of("10.0.0.1/8") ==
          "bad trusted proxy \"10.0.0.1/8\": bits are set past the prefix length; the range is 10.0.0.0/8");
    CHECK(error_of("2001:db8::1/32") ==
          "bad trusted proxy \"2001:db8::1/32\": bits are set past the prefix length; the range is 2001:db8::/32");
}

TEST_CASE("unix trusts the peers of unix sockets, and only them", "[cidr]") {
    Cidr u;
    std::string error;
    REQUIRE(brisk::parse_cidr("unix", u, error));
    CHECK(u.ip_len == 0);
    CHECK(brisk::cidr_contains(u, nullptr, 0));
    unsigned char v4[4] = {127, 0, 0, 1};
    CHECK_FALSE(brisk::cidr_contains(u, v4, 4));
    Cidr any;
    REQUIRE(brisk::parse_cidr("0.0.0.0/0", any, error));
    CHECK_FALSE(brisk::cidr_contains(any, nullptr, 0));
    CHECK(error_of("unix/8") ==
          "bad trusted proxy \"unix/8\": \"unix\" is not a numeric IPv4 or IPv6 address (or unix)");
}
