// brisk — the example plugins (examples/c-plugin in C, examples/cpp-plugin in
// C++), loaded from their .so files and driven through the fake host.
#include <brisk/plugin_testing.hpp>

#include <catch2/catch.hpp>

#include <string>

using brisk::testing::FakeConfig;
using brisk::testing::FakeHost;
using brisk::testing::FakeRequest;

TEST_CASE("greet (C): greeting, name and visitor count", "[plugins][examples]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_GREET_SO);
    INFO(host.error());
    REQUIRE(d != nullptr);
    CHECK(std::string(d->name) == "greet");
    CHECK(d->loop_init == nullptr);

    auto greet = host.create(d);
    REQUIRE(greet);
    auto first = greet.handle(FakeRequest("GET", "/hello?name=Ada%20L"));
    CHECK(first.result == BRISK_DONE);
    CHECK(first.misuse.empty());
    CHECK(first.body == "Hello, Ada L! You are visitor 1.\n");
    CHECK(first.header("content-type") == std::optional<std::string>("text/plain; charset=utf-8"));
    CHECK(greet.handle(FakeRequest("GET", "/hello")).body == "Hello, world! You are visitor 2.\n");
    CHECK(greet.handle(FakeRequest("POST", "/hello")).result == BRISK_DECLINE);

    const auto too_long = greet.handle(FakeRequest("GET", "/hello?name=" + std::string(65, 'n')));
    CHECK(too_long.status == 400);

    auto hi = host.create(d, FakeConfig().string("greeting", "Hi"));
    REQUIRE(hi);
    CHECK(hi.handle(FakeRequest("GET", "/?name=Bo")).body == "Hi, Bo! You are visitor 1.\n");
}

TEST_CASE("greet (C): bad config values fail with their place", "[plugins][examples]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_GREET_SO);
    REQUIRE(d != nullptr);
    auto wrong_type = host.create(d, FakeConfig("b.toml").boolean("greeting", true));
    CHECK_FALSE(wrong_type);
    CHECK(wrong_type.error() == "b.toml:2:1: greeting: must be a string");
    auto empty = host.create(d, FakeConfig("b.toml").string("greeting", ""));
    CHECK_FALSE(empty);
    CHECK(empty.error() == "b.toml:2:1: greeting: must be 1 to 64 bytes");
}

TEST_CASE("upper (C++): query, body, limits, methods", "[plugins][examples]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_UPPER_SO);
    INFO(host.error());
    REQUIRE(d != nullptr);
    CHECK(d->loop_init != nullptr);

    auto upper = host.create(d, FakeConfig().integer("max_bytes", 8));
    REQUIRE(upper);
    CHECK(upper.loop_init(0) == 0);
    CHECK(upper.handle(FakeRequest("GET", "/upper?text=hi%20you")).body == "HI YOU");
    CHECK(upper.handle(FakeRequest("POST", "/upper", {}, "abc-d")).body == "ABC-D");
    CHECK(upper.handle(FakeRequest("POST", "/upper", {}, "123456789")).status == 413);
    const auto put = upper.handle(FakeRequest("PUT", "/upper"));
    CHECK(put.status == 405);
    CHECK(put.header("Allow") == std::optional<std::string>("GET, POST"));
    upper.loop_fini(0);

    auto bad = host.create(d, FakeConfig("u.toml").integer("max_bytes", 0));
    CHECK_FALSE(bad);
    CHECK(bad.error() == "u.toml:2:1: max_bytes: must be 1 to 16777216");
    auto wrong = host.create(d, FakeConfig("u.toml").string("max_bytes", "big"));
    CHECK_FALSE(wrong);
    CHECK(wrong.error() == "u.toml:2:1: max_bytes: expected an integer, found a string");
}
