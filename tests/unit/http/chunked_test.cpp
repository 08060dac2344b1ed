#include "http/chunked.hpp"

#include <catch2/catch.hpp>

#include <string>

using brisk::http::ChunkedDecoder;
using Kind = ChunkedDecoder::Result::Kind;

namespace {

struct Outcome {
    Kind kind;
    std::uint16_t status;
    std::string body;
    std::string rest;  // bytes after the message
};

// Feeds `wire` in pieces of `step` bytes, as reads would deliver it.
Outcome decode(const std::string& wire, std::size_t step, std::uint64_t max_body = 1 << 20) {
    ChunkedDecoder d;
    d.reset(max_body);
    std::string buf;
    std::size_t fed = 0;
    for (;;) {
        std::size_t n = std::min(step, wire.size() - fed);
        buf.append(wire, fed, n);
        fed += n;
        std::size_t len = buf.size();
        ChunkedDecoder::Result r = d.decode(buf.data(), len);
        buf.resize(len);
        if (r.kind == Kind::error) return {r.kind, r.status, {}, {}};
        if (r.kind == Kind::done) {
            auto body = static_cast<std::size_t>(d.decoded());
            return {r.kind, 0, buf.substr(0, body), buf.substr(body) + wire.substr(fed)};
        }
        if (fed == wire.size()) return {r.kind, 0, buf, {}};
    }
}

}  // namespace

TEST_CASE("chunked bodies decode in place, whatever the read boundaries", "[chunked]") {
    std::string wire = "5\r\nhello\r\n6;name=value;x=\"q\"\r\n world\r\n0\r\nTrailer: yes\r\nX: 2\r\n\r\nGET /next";
    for (std::size_t step : {1, 2, 3, 7, 64, 4096}) {
        INFO("step " << step);
        Outcome o = decode(wire, step);
        REQUIRE(o.kind == Kind::done);
        CHECK(o.body == "hello world");
        CHECK(o.rest == "GET /next");
    }
}

TEST_CASE("hex sizes in either case and BWS before extensions", "[chunked]") {
    std::string big(0x1A, 'z');
    Outcome o = decode("1a \t;ext\r\n" + big + "\r\n0\r\n\r\n", 5);
    REQUIRE(o.kind == Kind::done);
    CHECK(o.body == big);
    CHECK(decode("0\r\n\r\n", 1).body.empty());
    CHECK(decode("000\r\n\r\n", 100).kind == Kind::done);
}

TEST_CASE("an unfinished body asks for more", "[chunked]") {
    CHECK(decode("5\r\nhel", 100).kind == Kind::need_more);
    CHECK(decode("5\r\nhello\r\n0\r\n", 100).kind == Kind::need_more);
    CHECK(decode("5\r\nhello\r\n0\r\nX: 1\r\n", 100).kind == Kind::need_more);
}

TEST_CASE("framing errors are 400", "[chunked]") {
    for (const char* bad : {
             "zz\r\n",                    // not hex
             "\r\n",                      // no size
             "5\nhello\r\n0\r\n\r\n",     // bare LF after the size
             "5\r\nhelloX\r\n",           // data longer than its size
             "5\r\nhello\n0\r\n\r\n",     // bare LF after the data
             "5 x\r\n",                   // junk after whitespace
             "5;a\x01\r\n",               // CTL in an extension
             "0\r\n Folded: x\r\n\r\n",   // obs-fold in the trailers
             "0\r\nBad Name: x\r\n\r\n",  // space in a trailer name
             "0\r\nX: a\x7f\r\n\r\n",     // DEL in a trailer value
             "0\r\n\n",                   // bare LF ends the trailers
             "-1\r\n",                    // sign
         }) {
        INFO(bad);
        Outcome o = decode(bad, 3);
        CHECK(o.kind == Kind::error);
        CHECK(o.status == 400);
    }
}

TEST_CASE("overflowing sizes are 400, sizes over the limit 413", "[chunked]") {
    Outcome o = decode("ffffffffffffffffff\r\n", 4);
    CHECK(o.kind == Kind::error);
    CHECK(o.status == 400);
    o = decode("10000000000000000\r\n", 4);  // 2^64: one digit too many
    CHECK(o.status == 400);
    o = decode("11\r\n", 100, 16);  // 17 bytes, limit 16
    CHECK(o.kind == Kind::error);
    CHECK(o.status == 413);
    o = decode("8\r\n12345678\r\n9\r\n", 100, 16);  // the sum goes over
    CHECK(o.status == 413);
    CHECK(decode("8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 100, 16).kind == Kind::done);
}

TEST_CASE("long size lines and trailer sections are bounded", "[chunked]") {
    std::string ext(ChunkedDecoder::kMaxLine + 1, 'e');
    Outcome o = decode("1;" + ext + "\r\n", 512);
    CHECK(o.kind == Kind::error);
    std::string trailers;
    while (trailers.size() <= ChunkedDecoder::kMaxTrailers) trailers += "X: 0123456789\r\n";
    o = decode("0\r\n" + trailers + "\r\n", 512);
    CHECK(o.kind == Kind::error);
    CHECK(o.status == 400);
}
