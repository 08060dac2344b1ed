#include "brisk/units.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using namespace std::chrono_literals;
using brisk::Duration;

namespace {

Duration duration_ok(const std::string& text) {
    Duration d{-1};
    std::string error;
    INFO("input: " << text);
    REQUIRE(brisk::parse_duration(text, d, error));
    CHECK(error.empty());
    return d;
}

std::string duration_error(const std::string& text) {
    Duration d{12345};
    std::string error;
    INFO("input: " << text);
    REQUIRE_FALSE(brisk::parse_duration(text, d, error));
    CHECK(d == Duration{12345});  // untouched on failure
    return error;
}

std::uint64_t size_ok(const std::string& text) {
    std::uint64_t n = 777;
    std::string error;
    INFO("input: " << text);
    REQUIRE(brisk::parse_size(text, n, error));
    return n;
}

std::string size_error(const std::string& text) {
    std::uint64_t n = 777;
    std::string error;
    INFO("input: " << text);
    REQUIRE_FALSE(brisk::parse_size(text, n, error));
    CHECK(n == 777);
    return error;
}

}  // namespace

TEST_CASE("durations in every unit", "[units][duration]") {
    CHECK(duration_ok("500ms") == 500ms);
    CHECK(duration_ok("10s") == 10s);
    CHECK(duration_ok("2m") == 2min);
    CHECK(duration_ok("1h") == 1h);
    CHECK(duration_ok("1ms") == 1ms);
    CHECK(duration_ok("0s") == 0ms);
    CHECK(duration_ok("0ms") == 0ms);
}

TEST_CASE("zero without a unit means no limit", "[units][duration]") { CHECK(duration_ok("0") == Duration::zero()); }

TEST_CASE("durations combine units from largest to smallest", "[units][duration]") {
    CHECK(duration_ok("1m30s") == 90s);
    CHECK(duration_ok("1h30m") == 90min);
    CHECK(duration_ok("1h2m3s4ms") == 1h + 2min + 3s + 4ms);
    CHECK(duration_ok("1s500ms") == 1500ms);
    CHECK_THAT(duration_error("30s1m"), Catch::Contains("largest to smallest"));
    CHECK_THAT(duration_error("1s2s"), Catch::Contains("largest to smallest"));
}

TEST_CASE("a bare number other than 0 needs a unit", "[units][duration]") {
    auto error = duration_error("10");
    CHECK_THAT(error, Catch::StartsWith("bad duration \"10\": missing unit"));
    CHECK_THAT(error, Catch::Contains("\"10s\""));
    CHECK_THAT(duration_error("1m30"), Catch::Contains("missing unit"));
}

TEST_CASE("duration junk is refused with the input in the message", "[units][duration]") {
    CHECK_THAT(duration_error(""), Catch::StartsWith("bad duration \"\": empty"));
    CHECK_THAT(duration_error("-5s"), Catch::Contains("negative"));
    CHECK_THAT(duration_error("+5s"), Catch::Contains("expected a number"));
    CHECK_THAT(duration_error("10x"), Catch::Contains("unknown unit \"x\""));
    CHECK_THAT(duration_error("10us"), Catch::Contains("unknown unit \"us\""));
    CHECK_THAT(duration_error("10d"), Catch::Contains("unknown unit \"d\""));
    CHECK_THAT(duration_error("10S"), Catch::Contains("unknown unit \"S\""));
    CHECK_THAT(duration_error("1.5s"), Catch::Contains("fractions"));
    CHECK_THAT(duration_error("10 s"), Catch::Contains("unexpected space"));
    CHECK_THAT(duration_error(" 10s"), Catch::Contains("unexpected space"));
    CHECK_THAT(duration_error("10s "), Catch::Contains("unexpected space"));
    CHECK_THAT(duration_error("s"), Catch::Contains("expected a number"));
    CHECK_THAT(duration_error("ten seconds"), Catch::StartsWith("bad duration \"ten seconds\""));
}

TEST_CASE("durations past the maximum are refused, including overflow", "[units][duration]") {
    CHECK(duration_ok("8760h") == brisk::max_duration);
    CHECK(duration_ok("8759h59m59s999ms") == brisk::max_duration - 1ms);
    CHECK_THAT(duration_error("8760h1ms"), Catch::Contains("maximum 8760h"));
    CHECK_THAT(duration_error("8761h"), Catch::Contains("maximum"));
    CHECK_THAT(duration_error("99999999999999999999ms"), Catch::Contains("maximum"));
    CHECK_THAT(duration_error("18446744073709551615h"), Catch::Contains("maximum"));
    CHECK_THAT(duration_error("5124095576030431h"), Catch::Contains("maximum"));  // h * 3600000 wraps uint64
}

TEST_CASE("durations format so they parse back", "[units][duration]") {
    CHECK(brisk::format_duration(0ms) == "0");
    CHECK(brisk::format_duration(250ms) == "250ms");
    CHECK(brisk::format_duration(10s) == "10s");
    CHECK(brisk::format_duration(60s) == "60s");
    CHECK(brisk::format_duration(90s) == "90s");
    CHECK(brisk::format_duration(5min) == "5m");
    CHECK(brisk::format_duration(10min) == "10m");
    CHECK(brisk::format_duration(450s) == "7m30s");
    CHECK(brisk::format_duration(61001ms) == "1m1s1ms");
    CHECK(brisk::format_duration(1h) == "1h");
    CHECK(brisk::format_duration(90min) == "90m");
    CHECK(brisk::format_duration(1h + 1ms) == "1h1ms");
    CHECK(brisk::format_duration(brisk::max_duration) == "8760h");
    for (Duration d : {0ms, 1ms, 999ms, 1000ms, 61001ms, Duration(450s), Duration(4min),
                       Duration(1h + 59min + 59s + 999ms), brisk::max_duration}) {
        INFO(d.count() << "ms");
        CHECK(duration_ok(brisk::format_duration(d)) == d);
    }
}

TEST_CASE("sizes in plain bytes", "[units][size]") {
    CHECK(size_ok("0") == 0);
    CHECK(size_ok("1024") == 1024);
    CHECK(size_ok("1") == 1);
    CHECK(size_ok("512B") == 512);
    CHECK(size_ok("18446744073709551615") == UINT64_MAX);
}

TEST_CASE("sizes in IEC units are binary", "[units][size]") {
    CHECK(size_ok("8KiB") == 8 * 1024);
    CHECK(size_ok("4MiB") == 4u << 20);
    CHECK(size_ok("1GiB") == 1u << 30);
    CHECK(size_ok("2TiB") == std::uint64_t{2} << 40);
    CHECK(size_ok("0KiB") == 0);
}

TEST_CASE("nginx-style single-letter sizes are binary, either case", "[units][size]") {
    CHECK(size_ok("8k") == 8192);
    CHECK(size_ok("8K") == 8192);
    CHECK(size_ok("4m") == 4u << 20);
    CHECK(size_ok("4M") == 4u << 20);
    CHECK(size_ok("1g") == 1u << 30);
    CHECK(size_ok("1G") == 1u << 30);
    CHECK(size_ok("1t") == std::uint64_t{1} << 40);
}

TEST_CASE("size junk, negatives and overflow are refused", "[units][size]") {
    CHECK_THAT(size_error(""), Catch::StartsWith("bad size \"\": empty"));
    CHECK_THAT(size_error("-1"), Catch::Contains("negative"));
    CHECK_THAT(size_error("-4MiB"), Catch::Contains("negative"));
    CHECK_THAT(size_error("MiB"), Catch::Contains("expected a number"));
    CHECK_THAT(size_error("4x"), Catch::Contains("unknown unit \"x\""));
    CHECK_THAT(size_error("4kib"), Catch::Contains("unknown unit \"kib\""));
    CHECK_THAT(size_error("4 MiB"), Catch::Contains("unexpected space"));
    CHECK_THAT(size_error("1.5MiB"), Catch::Contains("fractions"));
    CHECK_THAT(size_error("0x10"), Catch::Contains("unexpected '1'"));
    CHECK_THAT(size_error("18446744073709551616"), Catch::Contains("too large"));
    CHECK_THAT(size_error("16777216TiB"), Catch::Contains("too large"));
    CHECK_THAT(size_error("17179869184GiB"), Catch::Contains("too large"));
    CHECK(size_ok("16777215TiB") == std::uint64_t{16777215} << 40);
}

TEST_CASE("decimal size units are refused as ambiguous, with the fix", "[units][size]") {
    auto error = size_error("4MB");
    CHECK_THAT(error, Catch::Contains("ambiguous unit \"MB\""));
    CHECK_THAT(error, Catch::Contains("\"MiB\""));
    CHECK_THAT(error, Catch::Contains("\"m\""));
    CHECK_THAT(size_error("8kB"), Catch::Contains("\"KiB\""));
    CHECK_THAT(size_error("1gb"), Catch::Contains("ambiguous"));
}

TEST_CASE("sizes format with the largest exact unit", "[units][size]") {
    CHECK(brisk::format_size(0) == "0");
    CHECK(brisk::format_size(1000) == "1000");
    CHECK(brisk::format_size(1024) == "1KiB");
    CHECK(brisk::format_size(16u << 10) == "16KiB");
    CHECK(brisk::format_size(4u << 20) == "4MiB");
    CHECK(brisk::format_size(1u << 30) == "1GiB");
    CHECK(brisk::format_size(std::uint64_t{3} << 40) == "3TiB");
    CHECK(brisk::format_size((1u << 20) + 1024) == "1025KiB");
    for (std::uint64_t n : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{1536}, std::uint64_t{4} << 20, UINT64_MAX,
                            UINT64_MAX - 1023}) {
        INFO(n);
        CHECK(size_ok(brisk::format_size(n)) == n);
    }
}
