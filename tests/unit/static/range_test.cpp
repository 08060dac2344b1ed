#include "static/range.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using brisk::files::parse_range;
using brisk::files::RangeSet;
using Kind = RangeSet::Kind;

namespace {

std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges(std::string_view v, std::uint64_t size) {
    RangeSet s = parse_range(v, size);
    REQUIRE(s.kind == Kind::satisfiable);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::size_t i = 0; i < s.count; ++i) out.emplace_back(s.ranges[i].first, s.ranges[i].last);
    return out;
}

using V = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

}  // namespace

TEST_CASE("single, open-ended and suffix ranges", "[static][range]") {
    CHECK(ranges("bytes=0-99", 1000) == V{{0, 99}});
    CHECK(ranges("bytes=100-", 1000) == V{{100, 999}});
    CHECK(ranges("bytes=-100", 1000) == V{{900, 999}});
    CHECK(ranges("bytes=999-999", 1000) == V{{999, 999}});
    CHECK(ranges("bytes=0-0", 1) == V{{0, 0}});
}

TEST_CASE("last positions and suffixes past the end are clamped", "[static][range]") {
    CHECK(ranges("bytes=500-5000", 1000) == V{{500, 999}});
    CHECK(ranges("bytes=-5000", 1000) == V{{0, 999}});
    CHECK(ranges("bytes=0-99999999999999999999999", 10) == V{{0, 9}});  // saturates, no overflow
}

TEST_CASE("unsatisfiable ranges", "[static][range]") {
    CHECK(parse_range("bytes=1000-", 1000).kind == Kind::unsatisfiable);
    CHECK(parse_range("bytes=1000-2000", 1000).kind == Kind::unsatisfiable);
    CHECK(parse_range("bytes=-0", 1000).kind == Kind::unsatisfiable);
    CHECK(parse_range("bytes=0-", 0).kind == Kind::unsatisfiable);
    CHECK(parse_range("bytes=-5", 0).kind == Kind::unsatisfiable);
    CHECK(parse_range("bytes=99999999999999999999999-", 10).kind == Kind::unsatisfiable);
    // One satisfiable range is enough; the others are dropped.
    CHECK(ranges("bytes=2000-3000, 0-1", 1000) == V{{0, 1}});
}

TEST_CASE("syntax errors and other units make the field ignored", "[static][range]") {
    for (std::string_view v :
         {"", "bytes", "bytes=", "bytes=abc", "bytes=5-1", "bytes=1-2-3", "bytes=--5", "items=0-1", "bytes 0-1",
          "bytes=0-1;x", "bytes=0-1,x", "bytes=+1-2", "bytes=1 -2", "bytes=-", "bytes=,"}) {
        INFO(v);
        CHECK(parse_range(v, 1000).kind == Kind::ignore);
    }
}

TEST_CASE("the unit is case-insensitive; whitespace around commas is allowed", "[static][range]") {
    CHECK(ranges("Bytes=0-1", 10) == V{{0, 1}});
    CHECK(ranges("BYTES = 0-1", 10) == V{{0, 1}});
    CHECK(ranges("bytes=0-1 ,\t4-5 , ,", 10) == V{{0, 1}, {4, 5}});
}

TEST_CASE("multiple ranges keep their order unless they overlap", "[static][range]") {
    CHECK(ranges("bytes=50-59,0-9,-5", 100) == V{{50, 59}, {0, 9}, {95, 99}});
    // Overlapping or adjacent ones are merged, sorted.
    CHECK(ranges("bytes=0-10,5-20", 100) == V{{0, 20}});
    CHECK(ranges("bytes=20-29,0-9,10-19", 100) == V{{0, 29}});
    CHECK(ranges("bytes=0-0,0-0,0-0", 100) == V{{0, 0}});
    CHECK(ranges("bytes=-10,80-", 100) == V{{80, 99}});
    CHECK(ranges("bytes=0-1,3-4", 100) == V{{0, 1}, {3, 4}});
}

TEST_CASE("more than kMaxRanges ranges are ignored", "[static][range]") {
    std::string v = "bytes=";
    for (std::size_t i = 0; i < brisk::files::kMaxRanges; ++i)
        v += std::to_string(i * 10) + "-" + std::to_string(i * 10) + ",";
    CHECK(parse_range(v, 10000).kind == Kind::satisfiable);
    CHECK(parse_range(v, 10000).count == brisk::files::kMaxRanges);
    v += "9000-9001";
    CHECK(parse_range(v, 10000).kind == Kind::ignore);
}
