#include "settings.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using brisk::cli::Options;

namespace {

const brisk::cli::Setting& setting(std::string_view key) {
    const auto* s = brisk::cli::find_setting_by_key(key);
    REQUIRE(s != nullptr);
    return *s;
}

brisk::RouteConfig route(std::string path, std::string body, std::string origin, bool prefix = false) {
    brisk::RouteConfig r;
    r.path = std::move(path);
    r.body = std::move(body);
    r.origin = std::move(origin);
    r.prefix = prefix;
    return r;
}

}  // namespace

TEST_CASE("every TOML key is the flag name with '_' for '-'", "[settings]") {
    for (const auto& s : brisk::cli::settings()) {
        std::string key = brisk::cli::toml_key(s);
        INFO(s.name);
        CHECK(key.find('-') == std::string::npos);
        CHECK(key.size() == s.name.size());
        CHECK(brisk::cli::find_setting_by_key(key) == &s);
        // Each setting can be applied: flags by set_flag, the rest by apply, and shows a default.
        CHECK((s.kind == brisk::cli::ValueKind::flag) == (s.set_flag != nullptr));
        CHECK((s.kind == brisk::cli::ValueKind::flag) == (s.apply == nullptr));
        CHECK((s.kind == brisk::cli::ValueKind::flag) == (s.default_text == nullptr));
    }
    CHECK(brisk::cli::find_setting_by_key("read-timeout") == nullptr);
    CHECK(&setting("read_timeout") != &setting("write_timeout"));
    CHECK(brisk::cli::find_setting_by_key("route") == nullptr);
    CHECK(brisk::cli::find_setting_by_key("config") == nullptr);
}

TEST_CASE("apply functions validate and store", "[settings]") {
    Options o;
    std::string error;
    CHECK(setting("read_timeout").apply(o, "15s", "x", error));
    CHECK(o.server.read_timeout == 15s);
    CHECK_FALSE(setting("read_timeout").apply(o, "15", "x", error));
    CHECK(o.server.read_timeout == 15s);
    CHECK_THAT(error, Catch::Contains("missing unit"));

    CHECK(setting("max_header_size").apply(o, "256", "x", error));
    CHECK(o.server.max_header_size == 256);
    CHECK(setting("max_header_size").apply(o, "1MiB", "x", error));
    CHECK(o.server.max_header_size == 1u << 20);
    CHECK_FALSE(setting("max_header_size").apply(o, "255", "x", error));
    CHECK_FALSE(setting("max_header_size").apply(o, "1025KiB", "x", error));
    CHECK(o.server.max_header_size == 1u << 20);

    CHECK(setting("loops").apply(o, "1024", "x", error));
    CHECK_FALSE(setting("loops").apply(o, "1025", "x", error));
    CHECK_FALSE(setting("concurrency").apply(o, "0", "x", error));
    CHECK(setting("max_requests_per_conn").apply(o, "18446744073709551615", "x", error));
    CHECK_FALSE(setting("max_requests_per_conn").apply(o, "18446744073709551616", "x", error));
    CHECK_THAT(error, Catch::Contains("too large"));

    CHECK(setting("error_log").apply(o, "/tmp/x.log", "x", error));
    CHECK(o.error_log == "/tmp/x.log");
    CHECK(setting("error_log").apply(o, "stderr", "x", error));
    CHECK(o.error_log.empty());

    for (auto level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
        CHECK(setting("log_level").apply(o, level, "x", error));
        CHECK(o.log_level == level);
    }
    CHECK_FALSE(setting("log_level").apply(o, "warning", "x", error));

    setting("no_date_header").set_flag(o, true);
    CHECK(o.server.no_date_header);
    setting("no_date_header").set_flag(o, false);
    CHECK_FALSE(o.server.no_date_header);
}

TEST_CASE("respond values become routes with their origin", "[settings]") {
    Options o;
    std::string error;
    REQUIRE(setting("respond").apply(o, "/a=b=c", "--respond", error));
    REQUIRE(setting("respond").apply(o, "/empty=", "f.toml:3:1", error));
    REQUIRE(o.server.routes.size() == 2);
    CHECK(o.server.routes[0].path == "/a");
    CHECK(o.server.routes[0].body == "b=c");
    CHECK(o.server.routes[0].status == 200);
    CHECK(o.server.routes[0].content_type == "text/plain; charset=utf-8");
    CHECK(o.server.routes[0].origin == "--respond");
    CHECK(o.server.routes[1].body.empty());
    CHECK(o.server.routes[1].origin == "f.toml:3:1");
    CHECK_FALSE(setting("respond").apply(o, "a=b", "--respond", error));
    CHECK_THAT(error, Catch::Contains("must start with '/'"));
    CHECK_FALSE(setting("respond").apply(o, "/a", "--respond", error));
    CHECK_THAT(error, Catch::Contains("PATH=TEXT"));
    CHECK(o.server.routes.size() == 2);
}

TEST_CASE("route paths and header values", "[settings]") {
    std::string error;
    CHECK(brisk::cli::check_route_path("/", error));
    CHECK(brisk::cli::check_route_path("/a/b%20c/", error));
    CHECK_FALSE(brisk::cli::check_route_path("", error));
    CHECK_FALSE(brisk::cli::check_route_path("a", error));
    CHECK_FALSE(brisk::cli::check_route_path("/a b", error));
    CHECK_FALSE(brisk::cli::check_route_path("/a\tb", error));
    CHECK_FALSE(brisk::cli::check_route_path("/caf\xc3\xa9", error));
    CHECK_FALSE(brisk::cli::check_route_path("/a#b", error));

    CHECK(brisk::cli::is_header_value("brisk"));
    CHECK(brisk::cli::is_header_value("brisk/0.1 (linux)"));
    CHECK_FALSE(brisk::cli::is_header_value(""));
    CHECK_FALSE(brisk::cli::is_header_value(" brisk"));
    CHECK_FALSE(brisk::cli::is_header_value("brisk "));
    CHECK_FALSE(brisk::cli::is_header_value("a\r\nX-Injected: 1"));
    CHECK_FALSE(brisk::cli::is_header_value("a\tb"));
    CHECK_FALSE(brisk::cli::is_header_value("caf\xc3\xa9"));
}

TEST_CASE("finalize fills the derived defaults", "[settings]") {
    Options o;
    CHECK(o.server.loops == 0);
    o.server.read_timeout = 7s;
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    CHECK(o.server.loops == brisk::cli::usable_cores());
    CHECK(o.server.idle_timeout == 7s);
    REQUIRE(o.server.listen.size() == 1);
    CHECK(o.server.listen[0].host == "127.0.0.1");
    CHECK(o.server.listen[0].port == 8080);

    Options given;
    given.server.loops = 3;
    given.server.idle_timeout = 0ms;
    given.idle_timeout_given = true;
    brisk::cli::finalize(given, errors);
    CHECK(given.server.loops == 3);
    CHECK(given.server.idle_timeout == 0ms);
}

TEST_CASE("finalize puts --respond routes first and drops file routes they shadow", "[settings]") {
    Options o;
    o.server.routes = {route("/a", "file a", "f:1:1"), route("/b", "file b", "f:4:1"),
                       route("/b", "prefix b", "f:7:1", true), route("/b", "flag b", "--respond")};
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    const auto& r = o.server.routes;
    REQUIRE(r.size() == 3);
    CHECK(r[0].body == "flag b");
    CHECK(r[1].body == "file a");
    CHECK(r[2].body == "prefix b");
    CHECK(r[2].prefix);
}

TEST_CASE("finalize reports duplicate routes and addresses", "[settings]") {
    Options o;
    o.server.routes = {route("/a", "1", "f:1:1", true), route("/a", "2", "f:5:1", true)};
    std::string ignored;
    brisk::ListenAddress a, b;
    REQUIRE(brisk::parse_listen_address("[::1]:80", a, ignored));
    REQUIRE(brisk::parse_listen_address("[0::1]:80", b, ignored));
    o.server.listen = {a, b};
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0] == "listen addresses \"[::1]:80\" and \"[0::1]:80\" are the same");
    CHECK(errors[1] == "f:5:1: duplicate route for prefix \"/a\" (first at f:1:1)");
}

TEST_CASE("usable cores is at least one", "[settings]") {
    CHECK(brisk::cli::usable_cores() >= 1);
}
