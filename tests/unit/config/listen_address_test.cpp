#include "brisk/config.hpp"

#include <catch2/catch.hpp>

#include <string>

using brisk::ListenAddress;
using Kind = brisk::ListenAddress::Kind;

namespace {

ListenAddress parse_ok(const std::string& text) {
    ListenAddress a;
    std::string error;
    INFO("input: " << text);
    REQUIRE(brisk::parse_listen_address(text, a, error));
    CHECK(a.text == text);
    return a;
}

std::string parse_error(const std::string& text) {
    ListenAddress a;
    a.host = "untouched";
    std::string error;
    INFO("input: " << text);
    REQUIRE_FALSE(brisk::parse_listen_address(text, a, error));
    CHECK(a.host == "untouched");
    CHECK_THAT(error, Catch::StartsWith("bad listen address \"" + text + "\": "));
    CHECK(error.find('\n') == std::string::npos);
    return error;
}

}  // namespace

TEST_CASE("IPv4 host:port", "[listen]") {
    auto a = parse_ok("127.0.0.1:8080");
    CHECK(a.kind == Kind::tcp4);
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8080);
    CHECK(a.path.empty());

    auto any = parse_ok("0.0.0.0:80");
    CHECK(any.kind == Kind::tcp4);
    CHECK(any.host == "0.0.0.0");
    CHECK(any.port == 80);
}

TEST_CASE(":port means every IPv4 address", "[listen]") {
    auto a = parse_ok(":9000");
    CHECK(a.kind == Kind::tcp4);
    CHECK(a.host == "0.0.0.0");
    CHECK(a.port == 9000);
}

TEST_CASE("localhost is 127.0.0.1", "[listen]") {
    auto a = parse_ok("localhost:8080");
    CHECK(a.kind == Kind::tcp4);
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8080);
}

TEST_CASE("ports from 0 to 65535", "[listen]") {
    CHECK(parse_ok("127.0.0.1:0").port == 0);
    CHECK(parse_ok("127.0.0.1:65535").port == 65535);
    CHECK(parse_ok("127.0.0.1:00080").port == 80);
    CHECK_THAT(parse_error("127.0.0.1:65536"), Catch::Contains("0 to 65535"));
    CHECK_THAT(parse_error("127.0.0.1:99999"), Catch::Contains("0 to 65535"));
    CHECK_THAT(parse_error("127.0.0.1:123456"), Catch::Contains("0 to 65535"));
    CHECK_THAT(parse_error("127.0.0.1:-1"), Catch::Contains("0 to 65535"));
    CHECK_THAT(parse_error("127.0.0.1:+80"), Catch::Contains("0 to 65535"));
    CHECK_THAT(parse_error("127.0.0.1:http"), Catch::Contains("0 to 65535"));
    CHECK_THAT(parse_error("127.0.0.1: 80"), Catch::Contains("0 to 65535"));
    CHECK_THAT(parse_error("127.0.0.1:"), Catch::Contains("missing port"));
}

TEST_CASE("bracketed IPv6", "[listen]") {
    auto a = parse_ok("[::1]:8080");
    CHECK(a.kind == Kind::tcp6);
    CHECK(a.host == "::1");
    CHECK(a.port == 8080);

    auto any = parse_ok("[::]:443");
    CHECK(any.kind == Kind::tcp6);
    CHECK(any.host == "::");
    CHECK(any.port == 443);

    // The host is canonical, so equal addresses compare equal.
    CHECK(parse_ok("[0:0:0:0:0:0:0:1]:1").host == "::1");
    CHECK(parse_ok("[2001:DB8::A]:1").host == "2001:db8::a");
    CHECK(parse_ok("[::ffff:127.0.0.1]:1").host == "::ffff:127.0.0.1");
}

TEST_CASE("IPv6 errors", "[listen]") {
    CHECK_THAT(parse_error("::1:8080"), Catch::Contains("brackets"));
    CHECK_THAT(parse_error("[::1]8080"), Catch::Contains("\":port\""));
    CHECK_THAT(parse_error("[::1]"), Catch::Contains("\":port\""));
    CHECK_THAT(parse_error("[::1:8080"), Catch::Contains("']'"));
    CHECK_THAT(parse_error("[]:80"), Catch::Contains("empty"));
    CHECK_THAT(parse_error("[127.0.0.1]:80"), Catch::Contains("not a numeric IPv6 address"));
    CHECK_THAT(parse_error("[fe80::1%eth0]:80"), Catch::Contains("not a numeric IPv6 address"));
    CHECK_THAT(parse_error("[::1]:99999"), Catch::Contains("0 to 65535"));
}

TEST_CASE("unix sockets", "[listen]") {
    auto a = parse_ok("unix:/run/brisk.sock");
    CHECK(a.kind == Kind::unix_path);
    CHECK(a.path == "/run/brisk.sock");
    CHECK(a.host.empty());
    CHECK(a.port == 0);

    CHECK(parse_ok("unix:relative.sock").path == "relative.sock");
    CHECK(parse_ok("unix:/" + std::string(106, 'x')).path.size() == 107);
    CHECK_THAT(parse_error("unix:/" + std::string(107, 'x')), Catch::Contains("longer than 107 bytes"));
    CHECK_THAT(parse_error("unix:"), Catch::Contains("missing socket path"));
}

TEST_CASE("hostnames and junk are refused", "[listen]") {
    CHECK(parse_error("foo") == "bad listen address \"foo\": expected host:port, [v6]:port or unix:/path");
    CHECK(parse_error("") == "bad listen address \"\": expected host:port, [v6]:port or unix:/path");
    CHECK(parse_error("8080") == "bad listen address \"8080\": expected host:port, [v6]:port or unix:/path");
    CHECK_THAT(parse_error("example.com:80"), Catch::Contains("numeric IPv4"));
    CHECK_THAT(parse_error("127.1:80"), Catch::Contains("numeric IPv4"));
    CHECK_THAT(parse_error("256.0.0.1:80"), Catch::Contains("numeric IPv4"));
    CHECK_THAT(parse_error(" 127.0.0.1:80"), Catch::Contains("numeric IPv4"));
    CHECK_THAT(parse_error("LOCALHOST:80"), Catch::Contains("numeric IPv4"));
}

TEST_CASE(",proxy marks a listener whose connections start with a PROXY header", "[listen]") {
    auto a = parse_ok("127.0.0.1:8080,proxy");
    CHECK(a.kind == Kind::tcp4);
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8080);
    CHECK(a.proxy);
    CHECK_FALSE(parse_ok("127.0.0.1:8080").proxy);
    auto v6 = parse_ok("[::1]:8443,proxy");
    CHECK(v6.kind == Kind::tcp6);
    CHECK(v6.proxy);
    auto u = parse_ok("unix:/run/brisk.sock,proxy");
    CHECK(u.kind == Kind::unix_path);
    CHECK(u.path == "/run/brisk.sock");
    CHECK(u.proxy);
    // A comma is part of a unix socket's path unless ",proxy" ends it.
    auto comma = parse_ok("unix:/tmp/a,b");
    CHECK(comma.path == "/tmp/a,b");
    CHECK_FALSE(comma.proxy);

    CHECK(parse_error("127.0.0.1:8080,proxi") ==
          "bad listen address \"127.0.0.1:8080,proxi\": unknown option \"proxi\" after the address (the options are "
          "\"proxy\", \"tls\" and \"redirect\")");
    CHECK(parse_error("127.0.0.1:8080,proxy,proxy") ==
          "bad listen address \"127.0.0.1:8080,proxy,proxy\": \"proxy\" is given twice");
    CHECK(parse_error("127.0.0.1:x,proxy") ==
          "bad listen address \"127.0.0.1:x,proxy\": port must be a number from 0 to 65535");
    CHECK(parse_error(",proxy") == "bad listen address \",proxy\": expected host:port, [v6]:port or unix:/path");
}

TEST_CASE(",tls marks an HTTPS listener, alone or with ,proxy in either order", "[listen]") {
    auto a = parse_ok("127.0.0.1:8443,tls");
    CHECK(a.port == 8443);
    CHECK(a.tls);
    CHECK_FALSE(a.proxy);
    CHECK(a.text == "127.0.0.1:8443,tls");
    CHECK_FALSE(parse_ok("127.0.0.1:8443").tls);
    for (const char* both : {"[::1]:443,tls,proxy", "[::1]:443,proxy,tls"}) {
        auto b = parse_ok(both);
        CHECK(b.kind == Kind::tcp6);
        CHECK(b.tls);
        CHECK(b.proxy);
        CHECK(b.text == both);
    }
    CHECK(parse_ok("unix:/run/brisk.sock,tls").tls);
    CHECK(parse_error("127.0.0.1:8443,tls,tls") ==
          "bad listen address \"127.0.0.1:8443,tls,tls\": \"tls\" is given twice");
    CHECK(parse_error("127.0.0.1:8443,proxy,tls,proxy") ==
          "bad listen address \"127.0.0.1:8443,proxy,tls,proxy\": \"proxy\" is given twice");
    CHECK(parse_error("127.0.0.1:8443,ssl") ==
          "bad listen address \"127.0.0.1:8443,ssl\": unknown option \"ssl\" after the address (the options are "
          "\"proxy\", \"tls\" and \"redirect\")");
}

TEST_CASE(",redirect marks a plain listener whose requests go to https; not with ,tls", "[listen]") {
    auto a = parse_ok("127.0.0.1:8080,redirect");
    CHECK(a.redirect);
    CHECK_FALSE(a.tls);
    CHECK(a.text == "127.0.0.1:8080,redirect");
    CHECK_FALSE(parse_ok("127.0.0.1:8080").redirect);
    auto b = parse_ok("[::1]:80,redirect,proxy");
    CHECK((b.redirect && b.proxy && b.port == 80));
    CHECK(parse_error("127.0.0.1:8080,redirect,tls") ==
          "bad listen address \"127.0.0.1:8080,redirect,tls\": \"redirect\" (to https) is for a plain listener, not "
          "a \"tls\" one");
    CHECK(parse_error("127.0.0.1:8080,tls,redirect") ==
          "bad listen address \"127.0.0.1:8080,tls,redirect\": \"redirect\" (to https) is for a plain listener, not "
          "a \"tls\" one");
    CHECK(parse_error("127.0.0.1:8080,redirect,redirect") ==
          "bad listen address \"127.0.0.1:8080,redirect,redirect\": \"redirect\" is given twice");
}
