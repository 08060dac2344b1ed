#include "static/conditional.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace brisk::files;

namespace {

constexpr std::int64_t kT = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

std::string fmt(std::int64_t t) {
    char buf[kHttpDateLen];
    format_http_date(t, buf);
    return std::string(buf, kHttpDateLen);
}

// A request with the given header fields (names and values point into `store`).
struct Req {
    std::vector<std::pair<std::string, std::string>> store;
    brisk::http::Request req;
    explicit Req(std::vector<std::pair<std::string, std::string>> fields) : store(std::move(fields)) {
        for (auto& [k, v] : store) req.headers[req.header_count++] = brisk::http::Header{k, v};
    }
};

Precondition eval(std::vector<std::pair<std::string, std::string>> fields, std::string_view etag = "\"abc\"",
                  std::int64_t mtime = kT) {
    Req r(std::move(fields));
    return evaluate_preconditions(FileRequestFields(r.req), etag, mtime);
}

}  // namespace

TEST_CASE("HTTP dates: format and the three parse forms", "[static][conditional]") {
    CHECK(fmt(kT) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(fmt(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(fmt(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(fmt(4102444799) == "Thu, 31 Dec 2099 23:59:59 GMT");
    std::int64_t t = 0;
    CHECK((parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", t) && t == kT));
    CHECK((parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", t) && t == kT));
    CHECK((parse_http_date("Sun Nov  6 08:49:37 1994", t) && t == kT));
    CHECK((parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT ", t) && t == kT));
    for (std::int64_t x : {std::int64_t{0}, kT, std::int64_t{1700000000}, std::int64_t{951782400}}) {
        CHECK((parse_http_date(fmt(x), t) && t == x));
    }
    for (std::string_view bad : {"", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Xyz 1994 08:49:37 GMT",
                                 "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "1994-11-06",
                                 "Sun, 06 Nov 1994 08:49 GMT"}) {
        INFO(bad);
        CHECK_FALSE(parse_http_date(bad, t));
    }
}

TEST_CASE("entity-tag lists", "[static][conditional]") {
    CHECK(etag_list_matches("\"abc\"", "\"abc\"", true));
    CHECK(etag_list_matches("\"x\", \"abc\"", "\"abc\"", true));
    CHECK(etag_list_matches("W/\"abc\"", "\"abc\"", true));
    CHECK_FALSE(etag_list_matches("W/\"abc\"", "\"abc\"", false));  // strong comparison
    CHECK(etag_list_matches("\"abc\"", "\"abc\"", false));
    CHECK(etag_list_matches("*", "\"abc\"", false));
    CHECK(etag_list_matches("*", "", false));  // exists, without a tag
    CHECK_FALSE(etag_list_matches("*", "", false, false));
    CHECK_FALSE(etag_list_matches("\"abcd\"", "\"abc\"", true));
    CHECK_FALSE(etag_list_matches("abc", "\"abc\"", true));  // malformed
    CHECK_FALSE(etag_list_matches("\"abc\"", "", true));     // no tag: nothing matches
    CHECK(etag_list_matches("\"a,b\", \"abc\"", "\"abc\"", true));
}

TEST_CASE("precondition order (RFC 9110 13.2.2)", "[static][conditional]") {
    const std::string before = fmt(kT - 10), same = fmt(kT), after = fmt(kT + 10);
    CHECK(eval({}) == Precondition::proceed);
    CHECK(eval({{"If-None-Match", "\"abc\""}}) == Precondition::not_modified);
    CHECK(eval({{"If-None-Match", "W/\"abc\""}}) == Precondition::not_modified);
    CHECK(eval({{"If-None-Match", "\"other\""}}) == Precondition::proceed);
    CHECK(eval({{"If-None-Match", "*"}}) == Precondition::not_modified);
    CHECK(eval({{"If-Modified-Since", same}}) == Precondition::not_modified);
    CHECK(eval({{"If-Modified-Since", after}}) == Precondition::not_modified);
    CHECK(eval({{"If-Modified-Since", before}}) == Precondition::proceed);
    CHECK(eval({{"If-Modified-Since", "garbage"}}) == Precondition::proceed);
    // If-None-Match wins over If-Modified-Since.
    CHECK(eval({{"If-None-Match", "\"other\""}, {"If-Modified-Since", after}}) == Precondition::proceed);
    CHECK(eval({{"if-none-match", "\"abc\""}, {"if-modified-since", before}}) == Precondition::not_modified);

    CHECK(eval({{"If-Match", "\"abc\""}}) == Precondition::proceed);
    CHECK(eval({{"If-Match", "\"other\""}}) == Precondition::failed);
    CHECK(eval({{"If-Match", "W/\"abc\""}}) == Precondition::failed);
    CHECK(eval({{"If-Match", "*"}}) == Precondition::proceed);
    CHECK(eval({{"If-Unmodified-Since", same}}) == Precondition::proceed);
    CHECK(eval({{"If-Unmodified-Since", before}}) == Precondition::failed);
    CHECK(eval({{"If-Unmodified-Since", "garbage"}}) == Precondition::proceed);
    // If-Match wins over If-Unmodified-Since; 412 before 304.
    CHECK(eval({{"If-Match", "\"abc\""}, {"If-Unmodified-Since", before}}) == Precondition::proceed);
    CHECK(eval({{"If-Match", "\"x\""}, {"If-None-Match", "\"abc\""}}) == Precondition::failed);
    // ETags off: only "*" matches.
    CHECK(eval({{"If-None-Match", "\"abc\""}}, "") == Precondition::proceed);
    CHECK(eval({{"If-Match", "\"abc\""}}, "") == Precondition::failed);
}

TEST_CASE("If-Range", "[static][conditional]") {
    CHECK(if_range_holds("\"abc\"", "\"abc\"", kT));
    CHECK_FALSE(if_range_holds("\"abd\"", "\"abc\"", kT));
    CHECK_FALSE(if_range_holds("W/\"abc\"", "\"abc\"", kT));
    CHECK(if_range_holds(fmt(kT), "\"abc\"", kT));
    CHECK_FALSE(if_range_holds(fmt(kT + 1), "\"abc\"", kT));
    CHECK_FALSE(if_range_holds(fmt(kT - 1), "\"abc\"", kT));
    CHECK_FALSE(if_range_holds("garbage", "\"abc\"", kT));
    CHECK_FALSE(if_range_holds("\"abc\"", "", kT));
}
