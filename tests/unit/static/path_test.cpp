#include "static/path.hpp"

#include <catch2/catch.hpp>

#include <string>

using brisk::files::encode_path;
using brisk::files::normalize_path;
using brisk::files::NormalizedPath;
using Status = NormalizedPath::Status;

namespace {

struct Result {
    Status status;
    std::string path;
    bool dir;
    bool hidden;
};

Result norm(std::string_view raw, std::size_t cap = 4096) {
    std::string buf(cap, '\0');
    NormalizedPath n = normalize_path(raw, buf.data(), cap);
    return {n.status, n.status == Status::ok ? buf.substr(0, n.len) : std::string(), n.dir, n.hidden};
}

std::string ok(std::string_view raw) {
    Result r = norm(raw);
    REQUIRE(r.status == Status::ok);
    return r.path;
}

}  // namespace

TEST_CASE("plain paths pass unchanged", "[static][path]") {
    CHECK(ok("/") == "/");
    CHECK(ok("") == "/");
    CHECK(ok("/a") == "/a");
    CHECK(ok("/a/b.txt") == "/a/b.txt");
    CHECK(ok("/a/b/") == "/a/b/");
    CHECK(norm("/a/b/").dir);
    CHECK_FALSE(norm("/a/b").dir);
    CHECK(norm("/").dir);
}

TEST_CASE("dot segments are removed and never climb above the root", "[static][path]") {
    CHECK(ok("/a/./b") == "/a/b");
    CHECK(ok("/a/../b") == "/b");
    CHECK(ok("/..") == "/");
    CHECK(ok("/../../../etc/passwd") == "/etc/passwd");
    CHECK(ok("/a/b/../../../../etc/passwd") == "/etc/passwd");
    CHECK(ok("/a/..") == "/");
    CHECK(ok("/a/b/..") == "/a/");
    CHECK(ok("/a/.") == "/a/");
    CHECK(norm("/a/..").dir);
    CHECK(norm("/a/.").dir);
    CHECK(ok("/a//b///c") == "/a/b/c");
    CHECK(ok("//") == "/");
    CHECK(ok("/./././") == "/");
    CHECK(ok("/a/...") == "/a/...");  // three dots are a name
}

TEST_CASE("percent-decoding happens once", "[static][path]") {
    CHECK(ok("/a%20b") == "/a b");
    CHECK(ok("/%41%62") == "/Ab");
    CHECK(ok("/%2e%2e/%2E%2E/etc/passwd") == "/etc/passwd");  // encoded dots are dots: still clamped
    CHECK(ok("/a/%2e%2e/b") == "/b");
    CHECK(ok("/a/%2e/b") == "/a/b");
    // Double encoding stays literal: "%252e%252e" is the name "%2e%2e".
    CHECK(ok("/%252e%252e/%252e%252e/etc") == "/%2e%2e/%2e%2e/etc");
    CHECK(ok("/%25") == "/%");
    // Overlong UTF-8 for '.' and '/' are bytes of a name, not dots or slashes.
    CHECK(ok("/%c0%ae%c0%ae/%c0%afetc") ==
          "/\xc0\xae\xc0\xae/\xc0\xaf"
          "etc");
    CHECK(ok("/caf%C3%A9") == "/caf\xc3\xa9");
}

TEST_CASE("encoded slashes and backslashes never separate segments", "[static][path]") {
    CHECK(norm("/..%2f..%2fetc%2fpasswd").status == Status::not_found);
    CHECK(norm("/a%2Fb").status == Status::not_found);
    CHECK(norm("/..%5c..%5cetc").status == Status::not_found);
    CHECK(norm("/..\\..\\etc").status == Status::not_found);
    CHECK(norm("/a\\b").status == Status::not_found);
    // Refused even when a later ".." would drop the name.
    CHECK(norm("/%2f/..").status == Status::not_found);
}

TEST_CASE("NUL and malformed escapes are 400", "[static][path]") {
    CHECK(norm("/a%00b").status == Status::bad_request);
    CHECK(norm("/a%00").status == Status::bad_request);
    CHECK(norm("/%").status == Status::bad_request);
    CHECK(norm("/%4").status == Status::bad_request);
    CHECK(norm("/%4/").status == Status::bad_request);
    CHECK(norm("/%zz").status == Status::bad_request);
    CHECK(norm("/%g0").status == Status::bad_request);
    CHECK(norm(std::string_view("/a\0b", 4)).status == Status::bad_request);
}

TEST_CASE("dotfiles are flagged after normalisation", "[static][path]") {
    CHECK(norm("/.env").hidden);
    CHECK(norm("/a/.git/config").hidden);
    CHECK(norm("/%2egit/config").hidden);
    CHECK(norm("/.well-known/x").hidden);
    CHECK_FALSE(norm("/a/b.c").hidden);
    CHECK_FALSE(norm("/a/.git/..").hidden);  // the dot-directory is gone
    CHECK_FALSE(norm("/./a").hidden);
    CHECK_FALSE(norm("/a/../b").hidden);
}

TEST_CASE("a result longer than the buffer or a name over 255 bytes is 404", "[static][path]") {
    CHECK(norm("/abcdef", 4).status == Status::not_found);
    CHECK(norm("/" + std::string(256, 'x')).status == Status::not_found);
    CHECK(norm("/" + std::string(255, 'x')).status == Status::ok);
    // A NUL past the end of the buffer is still found.
    CHECK(norm("/abcdefgh%00", 4).status == Status::bad_request);
}

TEST_CASE("encode_path escapes what a URL cannot hold", "[static][path]") {
    std::string out;
    encode_path("/a b/c%d/\"<x>\"?#\r\n\xc3\xa9", out);
    CHECK(out == "/a%20b/c%25d/%22%3Cx%3E%22%3F%23%0D%0A%C3%A9");
    out.clear();
    encode_path("/-._~!$&'()*+,;=:@", out);
    CHECK(out == "/-._~!$&'()*+,;=:@");
}
