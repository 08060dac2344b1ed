#include "http/date_cache.hpp"

#include <catch2/catch.hpp>

#include "http/status.hpp"

TEST_CASE("Date lines are IMF-fixdate", "[date]") {
    brisk::http::DateCache d;
    CHECK(d.line(784111777) == "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n");
    CHECK(d.line(0) == "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n");
    CHECK(d.line(1795737600) == "Date: Fri, 27 Nov 2026 00:00:00 GMT\r\n");
    CHECK(d.line(1795737600 + 86399) == "Date: Fri, 27 Nov 2026 23:59:59 GMT\r\n");
}

TEST_CASE("status lines carry the reason phrase", "[status]") {
    CHECK(brisk::http::status_line(200) == "HTTP/1.1 200 OK\r\n");
    CHECK(brisk::http::status_line(413) == "HTTP/1.1 413 Content Too Large\r\n");
    CHECK(brisk::http::status_line(431) == "HTTP/1.1 431 Request Header Fields Too Large\r\n");
    CHECK(brisk::http::status_line(299) == "HTTP/1.1 299 \r\n");
    CHECK(brisk::http::status_line(418) == "HTTP/1.1 418 I'm a teapot\r\n");
    CHECK(brisk::http::status_line(511) == "HTTP/1.1 511 Network Authentication Required\r\n");
    CHECK(brisk::http::status_line(42) == "HTTP/1.1 500 Internal Server Error\r\n");
}
