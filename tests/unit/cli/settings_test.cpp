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
        // One exception: --trusted-proxy CIDR, repeated, is the list `trusted_proxies`.
        CHECK(key.size() == (s.name == "trusted-proxy" ? std::string_view("trusted_proxies").size() : s.name.size()));
        if (s.name == "trusted-proxy") CHECK(key == "trusted_proxies");
        CHECK(brisk::cli::find_setting_by_key(key) == &s);
        // Each setting is typed (a field its kind can hold) or parses its own text, never both.
        using brisk::cli::ValueKind;
        const bool typed = !std::holds_alternative<std::monostate>(s.target);
        CHECK(typed == (s.parse == nullptr));
        if (s.kind == ValueKind::flag) CHECK(std::holds_alternative<brisk::cli::Field<bool>>(s.target));
        if (s.kind == ValueKind::duration) CHECK(std::holds_alternative<brisk::cli::Field<brisk::Duration>>(s.target));
        if (s.kind == ValueKind::count || s.kind == ValueKind::size) {
            CHECK((std::holds_alternative<brisk::cli::Field<std::uint32_t>>(s.target) ||
                   std::holds_alternative<brisk::cli::Field<std::uint64_t>>(s.target)));
            CHECK(s.min <= s.max);
            if (std::holds_alternative<brisk::cli::Field<std::uint32_t>>(s.target)) CHECK(s.max <= UINT32_MAX);
        }
        if (s.kind == ValueKind::text || s.kind == ValueKind::text_list) CHECK_FALSE(typed);
        // Every setting with a value shows a default in --help (some show none: "").
        if (s.kind != ValueKind::flag) CHECK_NOTHROW(s.default_text(brisk::cli::Options{}));
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

TEST_CASE("usable cores is at least one", "[settings]") { CHECK(brisk::cli::usable_cores() >= 1); }

namespace {

brisk::PluginInstanceConfig instance(std::string name, std::string origin = "f:1:1") {
    brisk::PluginInstanceConfig p;
    p.name = std::move(name);
    p.file = "lib" + p.name + ".so";
    p.origin = std::move(origin);
    return p;
}

brisk::RouteConfig plugin_route(std::string prefix, std::string plugin, std::string origin,
                                std::vector<std::string> methods = {}, std::string host = {}) {
    brisk::RouteConfig r;
    r.kind = brisk::RouteKind::plugin;
    r.path = std::move(prefix);
    r.prefix = true;
    r.plugin = std::move(plugin);
    r.origin = std::move(origin);
    r.methods = std::move(methods);
    r.host = std::move(host);
    return r;
}

}  // namespace

TEST_CASE("plugin instance names", "[settings][plugin]") {
    using brisk::cli::plugin_instance_name;
    const std::vector<brisk::PluginInstanceConfig> none;
    CHECK(plugin_instance_name("./build/plugins/libhello.so", none) == "hello");
    CHECK(plugin_instance_name("hello.so", none) == "hello");
    CHECK(plugin_instance_name("/usr/lib/libauth-jwt.so.1.2", none) == "auth-jwt");
    CHECK(plugin_instance_name("plugins/libhello", none) == "hello");
    CHECK(plugin_instance_name("lib.so", none) == "lib");
    CHECK(plugin_instance_name("my.plugin.so", none) == "my_plugin");
    CHECK(plugin_instance_name("./.so", none) == "plugin");

    std::vector<brisk::PluginInstanceConfig> taken{instance("hello")};
    CHECK(plugin_instance_name("libhello.so", taken) == "hello-2");
    taken.push_back(instance("hello-2"));
    CHECK(plugin_instance_name("x/libhello.so", taken) == "hello-3");
    CHECK(plugin_instance_name("libother.so", taken) == "other");

    CHECK(brisk::cli::is_plugin_instance_name("a-b_C9"));
    CHECK_FALSE(brisk::cli::is_plugin_instance_name(""));
    CHECK_FALSE(brisk::cli::is_plugin_instance_name("a.b"));
    CHECK_FALSE(brisk::cli::is_plugin_instance_name("a b"));
    CHECK_FALSE(brisk::cli::is_plugin_instance_name("caf\xc3\xa9"));
}

TEST_CASE("plugin values become an instance and a prefix route", "[settings][plugin]") {
    Options o;
    std::string error;
    REQUIRE(setting("plugin").apply(o, "/api/=./build/plugins/libhello.so", "--plugin", error));
    REQUIRE(setting("plugin").apply(o, "/v2=other/libhello.so", "f.toml:1:11", error));
    REQUIRE(o.server.plugins.size() == 2);
    REQUIRE(o.server.routes.size() == 2);
    const auto& p0 = o.server.plugins[0];
    CHECK(p0.name == "hello");
    CHECK(p0.file == "./build/plugins/libhello.so");
    CHECK(p0.origin == "--plugin");
    CHECK(p0.sha256.empty());
    CHECK(p0.settings.empty());
    const auto& r0 = o.server.routes[0];
    CHECK(r0.kind == brisk::RouteKind::plugin);
    CHECK(r0.path == "/api/");
    CHECK(r0.prefix);
    CHECK(r0.plugin == "hello");
    CHECK(r0.origin == "--plugin");
    CHECK(r0.methods.empty());
    CHECK(r0.host.empty());
    CHECK(o.server.plugins[1].name == "hello-2");
    CHECK(o.server.plugins[1].origin == "f.toml:1:11");
    CHECK(o.server.routes[1].plugin == "hello-2");
    CHECK(o.server.routes[1].path == "/v2");

    CHECK_FALSE(setting("plugin").apply(o, "api/=libx.so", "--plugin", error));
    CHECK_THAT(error, Catch::Contains("must start with '/'"));
    CHECK_FALSE(setting("plugin").apply(o, "/api/", "--plugin", error));
    CHECK_THAT(error, Catch::Contains("PREFIX=FILE.so"));
    CHECK_FALSE(setting("plugin").apply(o, "/api/=", "--plugin", error));
    CHECK_THAT(error, Catch::Contains("no shared object"));
    CHECK(o.server.plugins.size() == 2);
    CHECK(o.server.routes.size() == 2);
}

TEST_CASE("blocking threads and queue", "[settings][plugin]") {
    Options o;
    CHECK(o.server.blocking_threads == 4);
    CHECK(o.server.blocking_queue == 1024);
    std::string error;
    CHECK(setting("blocking_threads").apply(o, "1", "x", error));
    CHECK(o.server.blocking_threads == 1);
    CHECK(setting("blocking_threads").apply(o, "1024", "x", error));
    CHECK(o.server.blocking_threads == 1024);
    CHECK_FALSE(setting("blocking_threads").apply(o, "0", "x", error));
    CHECK_THAT(error, Catch::Contains("from 1 to 1024"));
    CHECK_FALSE(setting("blocking_threads").apply(o, "1025", "x", error));
    CHECK(o.server.blocking_threads == 1024);

    CHECK(setting("blocking_queue").apply(o, "1", "x", error));
    CHECK(o.server.blocking_queue == 1);
    CHECK(setting("blocking_queue").apply(o, "4294967295", "x", error));
    CHECK(o.server.blocking_queue == 4294967295u);
    CHECK_FALSE(setting("blocking_queue").apply(o, "0", "x", error));
    CHECK_FALSE(setting("blocking_queue").apply(o, "4294967296", "x", error));
    CHECK(o.server.blocking_queue == 4294967295u);
}

TEST_CASE("sha256 pins, route methods and hosts", "[settings][plugin]") {
    std::string out, error;
    const std::string upper(64, 'A');
    CHECK(brisk::cli::parse_sha256(upper, out, error));
    CHECK(out == std::string(64, 'a'));
    CHECK_FALSE(brisk::cli::parse_sha256(std::string(63, 'a'), out, error));
    CHECK_THAT(error, Catch::Contains("64 hex digits"));
    CHECK_FALSE(brisk::cli::parse_sha256(std::string(63, 'a') + "g", out, error));
    CHECK_FALSE(brisk::cli::parse_sha256("", out, error));

    std::vector<std::string> methods;
    CHECK(brisk::cli::check_route_methods({"POST", "GET"}, methods, error));
    CHECK(methods == std::vector<std::string>{"POST", "GET"});
    for (auto m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"})
        CHECK(brisk::cli::is_route_method(m));
    CHECK_FALSE(brisk::cli::is_route_method("CONNECT"));
    CHECK_FALSE(brisk::cli::check_route_methods({"get"}, methods, error));
    CHECK_THAT(error, Catch::Contains("unknown method \"get\" (methods are upper-case: GET)"));
    CHECK_FALSE(brisk::cli::check_route_methods({"FETCH"}, methods, error));
    CHECK_THAT(error, Catch::Contains("use GET, HEAD"));
    CHECK_FALSE(brisk::cli::check_route_methods({"GET", "GET"}, methods, error));
    CHECK_THAT(error, Catch::Contains("given twice"));
    CHECK_FALSE(brisk::cli::check_route_methods({}, methods, error));
    CHECK(methods == std::vector<std::string>{"POST", "GET"});

    std::string host;
    CHECK(brisk::cli::parse_route_host("Example.COM", host, error));
    CHECK(host == "example.com");
    CHECK(brisk::cli::parse_route_host("127.0.0.1", host, error));
    CHECK(brisk::cli::parse_route_host("[2001:DB8::1]", host, error));
    CHECK(host == "[2001:db8::1]");
    CHECK(brisk::cli::parse_route_host("a-b.example", host, error));
    CHECK_FALSE(brisk::cli::parse_route_host("example.com:8080", host, error));
    CHECK_THAT(error, Catch::Contains("no port"));
    CHECK_FALSE(brisk::cli::parse_route_host("[::1]:80", host, error));
    CHECK_FALSE(brisk::cli::parse_route_host("[xyz]", host, error));
    CHECK_FALSE(brisk::cli::parse_route_host("", host, error));
    CHECK_FALSE(brisk::cli::parse_route_host("a..b", host, error));
    CHECK_FALSE(brisk::cli::parse_route_host("-a.com", host, error));
    CHECK_FALSE(brisk::cli::parse_route_host("a_b.com", host, error));
    CHECK_FALSE(brisk::cli::parse_route_host("*.example.com", host, error));
    CHECK(host == "a-b.example");
}

TEST_CASE("finalize keeps routes that differ by methods or host", "[settings][plugin]") {
    Options o;
    o.server.plugins = {instance("p")};
    o.server.routes = {plugin_route("/api/", "p", "f:1:1", {"GET"}), plugin_route("/api/", "p", "f:5:1", {"POST"}),
                       plugin_route("/api/", "p", "f:9:1", {}, "example.com"),
                       plugin_route("/api/", "p", "f:13:1", {"GET"}, "example.com"),
                       plugin_route("/api/", "p", "f:17:1")};
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    REQUIRE(o.server.routes.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(o.server.routes[i].origin == "f:" + std::to_string(4 * i + 1) + ":1");
}

TEST_CASE("finalize rejects routes that match the same requests", "[settings][plugin]") {
    Options o;
    o.server.plugins = {instance("p")};
    o.server.routes = {plugin_route("/api/", "p", "f:1:1", {"GET", "POST"}, "example.com"),
                       plugin_route("/api/", "p", "f:5:1", {"POST", "GET"}, "Example.com"),
                       plugin_route("/x/", "p", "f:9:1", {}, "example.com"),
                       plugin_route("/x/", "p", "f:13:1", {}, "example.com")};
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0] ==
          "f:5:1: duplicate route for prefix \"/api/\" with methods POST,GET and host \"Example.com\" "
          "(first at f:1:1)");
    CHECK(errors[1] == "f:13:1: duplicate route for prefix \"/x/\" with host \"example.com\" (first at f:9:1)");
}

TEST_CASE("finalize puts --plugin routes first; they win over the file's", "[settings][plugin]") {
    Options o;
    o.server.plugins = {instance("a"), instance("b", "--plugin")};
    o.server.routes = {plugin_route("/a/", "a", "f:1:1"), plugin_route("/b/", "a", "f:5:1"),
                       plugin_route("/b/", "b", "--plugin"), route("/r", "flag r", "--respond")};
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    const auto& r = o.server.routes;
    REQUIRE(r.size() == 3);
    CHECK(r[0].plugin == "b");
    CHECK(r[0].origin == "--plugin");
    CHECK(r[1].body == "flag r");
    CHECK(r[2].origin == "f:1:1");

    Options twice;
    twice.server.plugins = {instance("a", "--plugin"), instance("a-2", "--plugin")};
    twice.server.routes = {plugin_route("/a/", "a", "--plugin"), plugin_route("/a/", "a-2", "--plugin")};
    errors.clear();
    brisk::cli::finalize(twice, errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "--plugin: prefix \"/a/\" is given twice");
}

TEST_CASE("finalize checks plugin instances and the routes naming them", "[settings][plugin]") {
    Options o;
    o.server.plugins = {instance("a", "f:1:1"), instance("a", "f:4:1")};
    o.server.routes = {plugin_route("/a/", "a", "f:7:1"), plugin_route("/b/", "nope", "f:10:1", {"GET"})};
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0] == "f:4:1: plugin instance \"a\" is defined twice (first at f:1:1)");
    CHECK(errors[1] == "f:10:1: route for prefix \"/b/\" with methods GET names unknown plugin instance \"nope\"");
}

TEST_CASE("trusted proxies are validated ranges; the flag replaces the file's list", "[settings]") {
    const brisk::cli::Setting& s = setting("trusted_proxies");
    CHECK(s.name == "trusted-proxy");
    brisk::cli::Options o;
    std::string error;
    REQUIRE(s.apply(o, "10.0.0.0/8", "--trusted-proxy", error));
    REQUIRE(s.apply(o, "::1", "--trusted-proxy", error));
    REQUIRE(o.server.trusted_proxies.size() == 2);
    CHECK(o.server.trusted_proxies[1].ip_len == 16);
    CHECK(o.server.trusted_proxies[1].prefix == 128);
    CHECK_FALSE(s.apply(o, "10.0.0.0/40", "--trusted-proxy", error));
    CHECK(error == "bad trusted proxy \"10.0.0.0/40\": the prefix length of an IPv4 range is at most 32");
    REQUIRE(s.clear != nullptr);
    s.clear(o);
    CHECK(o.server.trusted_proxies.empty());
}
