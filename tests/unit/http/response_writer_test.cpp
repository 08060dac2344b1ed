#include "http/response_writer.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace brisk::http;

namespace {

const CommonLines kCommon{"Server: brisk\r\n", "Date: Thu, 03 Dec 2026 06:00:00 GMT\r\n"};

std::string head(std::uint16_t status, std::string_view headers, Framing f, std::uint64_t length, bool keep,
                 Answering a, const CommonLines& common = kCommon) {
    std::string out(head_bound(common, headers.size()), '\0');
    char* end = write_head(out.data(), status, common, headers, f, length, keep, a);
    REQUIRE(static_cast<std::size_t>(end - out.data()) <= out.size());
    out.resize(static_cast<std::size_t>(end - out.data()));
    return out;
}

}  // namespace

TEST_CASE("framing: no body for 1xx, 204 and 304; length, or chunked and close-delimited streams",
          "[response_writer]") {
    CHECK(framing_for(204, false, 1) == Framing::none);
    CHECK(framing_for(304, true, 1) == Framing::none);
    CHECK(framing_for(101, false, 1) == Framing::none);
    CHECK(framing_for(200, false, 0) == Framing::length);
    CHECK(framing_for(200, true, 1) == Framing::chunked);
    CHECK(framing_for(200, true, 0) == Framing::close);
    CHECK_FALSE(sends_body(Framing::length, Answering{true, 1}));
    CHECK(sends_body(Framing::length, Answering{false, 1}));
    CHECK_FALSE(sends_body(Framing::none, Answering{false, 1}));
    CHECK_FALSE(keeps_alive(Framing::close, true));
    CHECK(keeps_alive(Framing::chunked, true));
    CHECK_FALSE(keeps_alive(Framing::length, false));
}

TEST_CASE("a head in order: status line, Server, Date, handler lines, framing, Connection", "[response_writer]") {
    CHECK(head(200, "Content-Type: text/plain\r\n", Framing::length, 13, true, Answering{}) ==
          "HTTP/1.1 200 OK\r\nServer: brisk\r\nDate: Thu, 03 Dec 2026 06:00:00 GMT\r\n"
          "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\n");
    CHECK(head(404, "", Framing::length, 0, false, Answering{}, CommonLines{}) ==
          "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    CHECK(head(200, "", Framing::chunked, 0, true, Answering{}, CommonLines{}) ==
          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    CHECK(head(304, "ETag: \"x\"\r\n", Framing::none, 99, true, Answering{}, CommonLines{}) ==
          "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
}

TEST_CASE("Connection: close when closing, keep-alive only for HTTP/1.0 kept open", "[response_writer]") {
    const Answering v10{false, 0};
    CHECK(head(200, "", Framing::length, 1, true, v10, CommonLines{}) ==
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n");
    CHECK(head(200, "", Framing::length, 1, false, v10, CommonLines{}) ==
          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n");
    // An HTTP/1.0 stream ends with the connection, whatever was asked.
    CHECK(head(200, "", Framing::close, 0, true, v10, CommonLines{}) == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
}

TEST_CASE("the longest status line and a 20-digit length fit the bound", "[response_writer]") {
    for (std::uint16_t status = 100; status < 1000; ++status) {
        const std::string h = head(status, "X: y\r\n", Framing::length, UINT64_MAX, false, Answering{0, 0});
        CHECK(h.find("Content-Length: 18446744073709551615\r\nConnection: close\r\n\r\n") != std::string::npos);
    }
}

TEST_CASE("a prerendered head gets Date and Connection", "[response_writer]") {
    const std::string_view pre = "HTTP/1.1 200 OK\r\nServer: brisk\r\nContent-Length: 5\r\n";
    std::string out(pre.size() + 64 + kHeadSlack, '\0');
    char* end = write_prerendered_head(out.data(), pre, "Date: d\r\n", false, Answering{});
    out.resize(static_cast<std::size_t>(end - out.data()));
    CHECK(out == "HTTP/1.1 200 OK\r\nServer: brisk\r\nContent-Length: 5\r\nDate: d\r\nConnection: close\r\n\r\n");
}

TEST_CASE("chunk size lines in lower-case hex", "[response_writer]") {
    char line[kChunkLineMax];
    auto text = [&](std::uint64_t n) { return std::string(line, write_chunk_line(line, n)); };
    CHECK(text(1) == "1\r\n");
    CHECK(text(255) == "ff\r\n");
    CHECK(text(0x1a2b) == "1a2b\r\n");
    CHECK(text(UINT64_MAX) == "ffffffffffffffff\r\n");
}

TEST_CASE("lengths in decimal, at every digit count", "[response_writer]") {
    char buf[24];
    auto text = [&](std::uint64_t v) { return std::string(buf, detail::put_uint(buf, v)); };
    std::uint64_t v = 1;
    for (int digits = 1; digits < 20; ++digits, v *= 10) {
        CHECK(text(v - 1) == std::to_string(v - 1));
        CHECK(text(v) == std::to_string(v));
        CHECK(text(v + 7) == std::to_string(v + 7));
    }
    CHECK(text(0) == "0");
    CHECK(text(1024) == "1024");
    CHECK(text(UINT64_MAX) == "18446744073709551615");
}
