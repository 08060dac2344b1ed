#include "toml_config.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "settings.hpp"

using namespace std::chrono_literals;
using brisk::cli::Options;

namespace {

/** Applies `text` over default Options; returns the problems. */
std::vector<std::string> load(const std::string& text, Options& out) {
    std::vector<std::string> errors;
    bool ok = brisk::cli::apply_toml(text, "t.toml", out, errors);
    CHECK(ok == errors.empty());
    return errors;
}

Options load_ok(const std::string& text) {
    Options o;
    auto errors = load(text, o);
    INFO("toml:\n" << text);
    for (const auto& e : errors) UNSCOPED_INFO(e);
    REQUIRE(errors.empty());
    return o;
}

/** The one problem `text` has. */
std::string load_error(const std::string& text) {
    Options o;
    auto errors = load(text, o);
    INFO("toml:\n" << text);
    REQUIRE(errors.size() == 1);
    return errors[0];
}

}  // namespace

TEST_CASE("a file with every key", "[toml]") {
    Options o = load_ok(R"(
listen = ["127.0.0.1:9000", "[::1]:9001", "unix:/tmp/brisk.sock"]
loops = 3
concurrency = 1000
max_idle_worker_duration = "30s"
read_timeout = "5s"
write_timeout = "7s"
idle_timeout = "1m30s"
max_requests_per_conn = 100
max_request_body_size = "8MiB"
max_header_size = "32k"
max_conns_per_ip = 16
disable_keepalive = true
server_name = "brisk test"
no_server_header = true
no_date_header = true
respond = "/top=from the top level"
log_level = "debug"
error_log = "/tmp/brisk-error.log"
log_all_errors = true

[[route]]
path = "/json"
respond = '{"message":"Hello, World!"}'
status = 201
content_type = "application/json"
)");
    const auto& c = o.server;
    REQUIRE(c.listen.size() == 3);
    CHECK(c.listen[0].host == "127.0.0.1");
    CHECK(c.listen[0].port == 9000);
    CHECK(c.listen[1].kind == brisk::ListenAddress::Kind::tcp6);
    CHECK(c.listen[1].port == 9001);
    CHECK(c.listen[2].path == "/tmp/brisk.sock");
    CHECK(c.loops == 3);
    CHECK(c.concurrency == 1000);
    CHECK(c.max_idle_worker_duration == 30s);
    CHECK(c.read_timeout == 5s);
    CHECK(c.write_timeout == 7s);
    CHECK(c.idle_timeout == 90s);
    CHECK(o.idle_timeout_given);
    CHECK(c.max_requests_per_conn == 100);
    CHECK(c.max_request_body_size == 8u << 20);
    CHECK(c.max_header_size == 32u << 10);
    CHECK(c.max_conns_per_ip == 16);
    CHECK(c.disable_keepalive);
    CHECK(c.server_name == "brisk test");
    CHECK(c.no_server_header);
    CHECK(c.no_date_header);
    CHECK(c.log_all_errors);
    CHECK(o.log_level == "debug");
    CHECK(o.error_log == "/tmp/brisk-error.log");
    REQUIRE(c.routes.size() == 2);
    CHECK(c.routes[0].path == "/top");
    CHECK(c.routes[0].body == "from the top level");
    CHECK(c.routes[0].origin == "t.toml:17:11");
    CHECK(c.routes[1].path == "/json");
    CHECK_FALSE(c.routes[1].prefix);
    CHECK(c.routes[1].kind == brisk::RouteKind::respond);
    CHECK(c.routes[1].body == R"({"message":"Hello, World!"})");
    CHECK(c.routes[1].status == 201);
    CHECK(c.routes[1].content_type == "application/json");
    CHECK(c.routes[1].origin == "t.toml:22:1");
}

TEST_CASE("an empty file changes nothing", "[toml]") {
    Options o = load_ok("# nothing here\n");
    Options defaults;
    CHECK(o.server.listen.empty());
    CHECK(o.server.read_timeout == defaults.server.read_timeout);
    CHECK(o.server.max_header_size == defaults.server.max_header_size);
    CHECK(o.log_level == "info");
}

TEST_CASE("listen may be one string; sizes may be integers; durations may be 0", "[toml]") {
    Options o = load_ok("listen = \"[::]:80\"\nmax_request_body_size = 1000\nread_timeout = 0\n");
    REQUIRE(o.server.listen.size() == 1);
    CHECK(o.server.listen[0].host == "::");
    CHECK(o.server.max_request_body_size == 1000);
    CHECK(o.server.read_timeout == 0ms);
}

TEST_CASE("unknown keys are errors with line and column", "[toml]") {
    CHECK(load_error("read_timeout = \"5s\"\n  bogus = 1\n") == "t.toml:2:3: unknown key \"bogus\"");
    CHECK(load_error("read-timeout = \"5s\"\n") ==
          "t.toml:1:1: unknown key \"read-timeout\" (keys use '_': read_timeout)");
    CHECK_THAT(load_error("config = \"x.toml\"\n"), Catch::Contains("command-line flag only"));
    CHECK(load_error("[server]\nport = 80\n") == "t.toml:1:2: unknown key \"server\"");
}

TEST_CASE("wrong types are errors at the value", "[toml]") {
    CHECK(load_error("loops = \"4\"\n") == "t.toml:1:9: loops: expected a whole number, not a string");
    CHECK(load_error("disable_keepalive = 1\n") ==
          "t.toml:1:21: disable_keepalive: expected true or false, not an integer");
    CHECK(load_error("server_name = 5\n") == "t.toml:1:15: server_name: expected a string, not an integer");
    CHECK(load_error("max_header_size = 1.5\n") ==
          "t.toml:1:19: max_header_size: expected a size such as \"4MiB\" or a number of bytes, not a float");
    CHECK(load_error("read_timeout = true\n") ==
          "t.toml:1:16: read_timeout: expected a duration string such as \"10s\", not a boolean");
    CHECK(load_error("listen = [\"127.0.0.1:1\", 2]\n") ==
          "t.toml:1:26: listen: expected a string or an { address, proxy, tls, redirect } table, not an integer");
    CHECK(load_error("listen = {a = 1}\n") ==
          "t.toml:1:10: listen: expected a string or an array of strings, not a table");
    CHECK(load_error("route = 1\n") == "t.toml:1:9: route: expected [[route]] tables, not an integer");
    CHECK_THAT(load_error("[route]\npath = \"/\"\nrespond = \"x\"\n"), Catch::Contains("write [[route]]"));
}

TEST_CASE("bad values are errors at the value, with the setting's message", "[toml]") {
    CHECK(load_error("\nread_timeout = \"10x\"\n") ==
          "t.toml:2:16: read_timeout: bad duration \"10x\": unknown unit \"x\" (use h, m, s or ms)");
    CHECK_THAT(load_error("write_timeout = 10\n"),
               Catch::StartsWith("t.toml:1:17: write_timeout: a duration needs a unit") && Catch::Contains("\"10s\""));
    CHECK_THAT(load_error("max_request_body_size = \"4MB\"\n"),
               Catch::StartsWith("t.toml:1:25: max_request_body_size: bad size"));
    CHECK_THAT(load_error("max_request_body_size = -1\n"), Catch::Contains("negative"));
    CHECK_THAT(load_error("max_header_size = \"100\"\n"), Catch::Contains("must be from 256 to 1MiB"));
    CHECK_THAT(load_error("max_header_size = \"2MiB\"\n"), Catch::Contains("must be from 256 to 1MiB"));
    CHECK_THAT(load_error("loops = -2\n"), Catch::Contains("negative"));
    CHECK_THAT(load_error("loops = 5000\n"), Catch::Contains("from 0 to 1024"));
    CHECK_THAT(load_error("concurrency = 0\n"), Catch::Contains("from 1 to"));
    CHECK_THAT(load_error("max_conns_per_ip = 5000000000\n"), Catch::Contains("from 0 to 4294967295"));
    CHECK_THAT(load_error("server_name = \"bad\\nname\"\n"), Catch::Contains("not a valid header value"));
    CHECK_THAT(load_error("server_name = \"\"\n"), Catch::Contains("not a valid header value"));
    CHECK_THAT(load_error("log_level = \"loud\"\n"), Catch::Contains("unknown log level \"loud\""));
    CHECK_THAT(load_error("listen = [\"localhost:80\", \"nowhere\"]\n"),
               Catch::StartsWith("t.toml:1:27: listen: bad listen address \"nowhere\""));
    CHECK_THAT(load_error("respond = \"no-equals\"\n"), Catch::Contains("expected PATH=TEXT"));
}

TEST_CASE("every problem is reported, in file order", "[toml]") {
    Options o;
    auto errors = load("zzz = 1\nread_timeout = \"x\"\naaa = 2\n[[route]]\npath = \"nope\"\nrespond = 3\n", o);
    REQUIRE(errors.size() == 5);
    CHECK_THAT(errors[0], Catch::StartsWith("t.toml:1:1: unknown key \"zzz\""));
    CHECK_THAT(errors[1], Catch::StartsWith("t.toml:2:16: read_timeout:"));
    CHECK_THAT(errors[2], Catch::StartsWith("t.toml:3:1: unknown key \"aaa\""));
    CHECK_THAT(errors[3], Catch::StartsWith("t.toml:5:8: path:") && Catch::Contains("must start with '/'"));
    CHECK_THAT(errors[4], Catch::StartsWith("t.toml:6:11: respond: expected a string"));
    CHECK(o.server.routes.empty());
}

TEST_CASE("a TOML syntax error has its position", "[toml]") {
    CHECK_THAT(load_error("read_timeout = \"5s\"\nloops = = 3\n"), Catch::StartsWith("t.toml:2:"));
    CHECK_THAT(load_error("a = \"unterminated\n"), Catch::StartsWith("t.toml:1:"));
}

TEST_CASE("routes: exact paths and prefixes", "[toml][route]") {
    Options o = load_ok(R"(
[[route]]
prefix = "/api/"
respond = "api"

[[route]]
path = "/"
respond = ""
status = 404
)");
    const auto& r = o.server.routes;
    REQUIRE(r.size() == 2);
    CHECK(r[0].prefix);
    CHECK(r[0].path == "/api/");
    CHECK(r[0].status == 200);
    CHECK(r[0].content_type == "text/plain; charset=utf-8");
    CHECK(r[0].origin == "t.toml:2:1");
    CHECK_FALSE(r[1].prefix);
    CHECK(r[1].status == 404);
    CHECK(r[1].body.empty());
}

TEST_CASE("routes: validation", "[toml][route]") {
    CHECK(load_error("[[route]]\nrespond = \"x\"\n") == "t.toml:1:1: route needs \"path\" (exact) or \"prefix\"");
    CHECK(load_error("[[route]]\npath = \"/a\"\nprefix = \"/b\"\nrespond = \"x\"\n") ==
          "t.toml:1:1: route has both \"path\" and \"prefix\"; give one");
    CHECK(load_error("[[route]]\npath = \"/a\"\n") ==
          "t.toml:1:1: route needs an action: respond, plugin, static, type");
    CHECK_THAT(load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\ncolour = \"red\"\n"),
               Catch::StartsWith("t.toml:4:1: unknown key \"colour\" in [[route]] (known: path, prefix, respond"));
    CHECK_THAT(load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\nstatus = 99\n"),
               Catch::StartsWith("t.toml:4:10: status: must be from 200 to 599"));
    CHECK_THAT(load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\nstatus = 600\n"), Catch::Contains("200 to 599"));
    CHECK_THAT(load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\nstatus = \"200\"\n"),
               Catch::Contains("status: expected an integer, not a string"));
    CHECK_THAT(load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\nstatus = 204\n"), Catch::Contains("no body"));
    CHECK_THAT(load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\ncontent_type = \"\"\n"),
               Catch::Contains("content_type"));
    CHECK_THAT(load_error("[[route]]\npath = \"/a b\"\nrespond = \"x\"\n"), Catch::Contains("visible ASCII"));
    CHECK_THAT(load_error("[[route]]\npath = \"/a?b=1\"\nrespond = \"x\"\n"), Catch::Contains("'?'"));
    CHECK_THAT(load_error("[[route]]\nprefix = 5\nrespond = \"x\"\n"), Catch::Contains("prefix: expected a string"));
    CHECK(load_ok("[[route]]\npath = \"/a\"\nrespond = \"\"\nstatus = 204\n").server.routes.at(0).status == 204);
}

TEST_CASE("examples/brisk.toml is valid and serves the documented routes", "[toml][example]") {
    const std::string path = std::string(BRISK_SOURCE_DIR) + "/examples/brisk.toml";
    Options o;
    std::vector<std::string> errors;
    bool ok = brisk::cli::load_config_file(path, o, errors);
    for (const auto& e : errors) UNSCOPED_INFO(e);
    REQUIRE(ok);
    REQUIRE(o.server.listen.size() == 1);
    CHECK(o.server.listen[0].host == "127.0.0.1");
    CHECK(o.server.listen[0].port == 8080);
    const auto& r = o.server.routes;
    REQUIRE(r.size() == 4);
    CHECK(r[0].kind == brisk::RouteKind::plugin);
    CHECK(r[0].path == "/hello/");
    CHECK(r[0].prefix);
    CHECK(r[0].plugin == "hello");
    CHECK(r[1].path == "/plaintext");
    CHECK(r[1].body == "Hello, World!");
    CHECK(r[1].content_type == "text/plain");
    CHECK(r[2].path == "/json");
    CHECK(r[2].body == R"({"message":"Hello, World!"})");
    CHECK(r[2].content_type == "application/json");
    CHECK(r[3].kind == brisk::RouteKind::static_files);
    CHECK(r[3].path == "/");
    CHECK(r[3].static_files.root == "examples/site");
    REQUIRE(o.server.plugins.size() == 1);
    CHECK(o.server.plugins[0].name == "hello");
    CHECK(o.server.plugins[0].file == "build/plugins/libhello.so");
}

TEST_CASE("files that cannot be read are one clear error", "[toml]") {
    Options o;
    std::vector<std::string> errors;
    CHECK_FALSE(brisk::cli::load_config_file("/nonexistent/brisk.toml", o, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "cannot read config file \"/nonexistent/brisk.toml\": No such file or directory");

    errors.clear();
    CHECK_FALSE(brisk::cli::load_config_file("/", o, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "cannot read config file \"/\": Is a directory");
}

TEST_CASE("plugin instances: [plugins.NAME] with an inline config", "[toml][plugin]") {
    Options o = load_ok(R"(
[plugins.hello]
file = "build/plugins/libhello.so"
sha256 = "0123456789ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef"
config = { greeting = "Hi", workers = 4, verbose = true, ratio = 0.5, db = { host = "x", tls = { on = false } } }

[[route]]
prefix = "/api/"
plugin = "hello"
methods = ["GET", "POST"]
host = "Example.com"
)");
    REQUIRE(o.server.plugins.size() == 1);
    const auto& p = o.server.plugins[0];
    CHECK(p.name == "hello");
    CHECK(p.file == "build/plugins/libhello.so");
    CHECK(p.sha256 == "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    CHECK(p.origin == "t.toml:2:1");
    using Type = brisk::PluginSetting::Type;
    REQUIRE(p.settings.size() == 6);  // in file order
    CHECK(p.settings[0].key == "greeting");
    CHECK(p.settings[0].type == Type::string);
    CHECK(p.settings[0].string_value == "Hi");
    CHECK(p.settings[0].where == "t.toml:5:23");
    CHECK(p.settings[1].key == "workers");
    CHECK(p.settings[1].type == Type::integer);
    CHECK(p.settings[1].int_value == 4);
    CHECK(p.settings[2].key == "verbose");
    CHECK(p.settings[2].type == Type::boolean);
    CHECK(p.settings[2].bool_value);
    CHECK(p.settings[3].key == "ratio");
    CHECK(p.settings[3].type == Type::floating);
    CHECK(p.settings[3].double_value == 0.5);
    CHECK(p.settings[4].key == "db.host");
    CHECK(p.settings[4].string_value == "x");
    CHECK(p.settings[5].key == "db.tls.on");
    CHECK(p.settings[5].type == Type::boolean);
    CHECK_FALSE(p.settings[5].bool_value);
    CHECK(p.settings[5].where == "t.toml:5:103");

    REQUIRE(o.server.routes.size() == 1);
    const auto& r = o.server.routes[0];
    CHECK(r.kind == brisk::RouteKind::plugin);
    CHECK(r.path == "/api/");
    CHECK(r.prefix);
    CHECK(r.plugin == "hello");
    CHECK(r.methods == std::vector<std::string>{"GET", "POST"});
    CHECK(r.host == "example.com");
    CHECK(r.origin == "t.toml:7:1");
}

TEST_CASE("plugin instances: config as sub-tables; several instances of one file", "[toml][plugin]") {
    Options o = load_ok(R"(
[[route]]
path = "/exact"
plugin = "b"

[plugins.b]
file = "libhello.so"

[plugins.a]
file = "libhello.so"

[plugins.a.config]
zeta = -7
alpha = "first"

[plugins.a.config.db]
host = "db.local"
)");
    const auto& plugins = o.server.plugins;
    REQUIRE(plugins.size() == 2);
    CHECK(plugins[0].name == "a");
    CHECK(plugins[0].sha256.empty());
    REQUIRE(plugins[0].settings.size() == 3);
    CHECK(plugins[0].settings[0].key == "zeta");
    CHECK(plugins[0].settings[0].int_value == -7);
    CHECK(plugins[0].settings[0].where == "t.toml:13:8");
    CHECK(plugins[0].settings[1].key == "alpha");
    CHECK(plugins[0].settings[2].key == "db.host");
    CHECK(plugins[0].settings[2].where == "t.toml:17:8");
    CHECK(plugins[1].name == "b");
    CHECK(plugins[1].settings.empty());
    REQUIRE(o.server.routes.size() == 1);
    CHECK_FALSE(o.server.routes[0].prefix);
    CHECK(o.server.routes[0].path == "/exact");
    CHECK(o.server.routes[0].plugin == "b");
}

TEST_CASE("plugin = [PREFIX=FILE.so] at the top level is --plugin", "[toml][plugin]") {
    Options o = load_ok("plugin = [\"/api/=./libx.so\", \"/v2/=./libx.so\"]\n[plugins.x]\nfile = \"other/libx.so\"\n");
    const auto& plugins = o.server.plugins;
    REQUIRE(plugins.size() == 3);
    CHECK(plugins[0].name == "x");  // the table's name stays; generated names go around it
    CHECK(plugins[0].file == "other/libx.so");
    CHECK(plugins[1].name == "x-2");
    CHECK(plugins[1].file == "./libx.so");
    CHECK(plugins[1].origin == "t.toml:1:11");
    CHECK(plugins[2].name == "x-3");
    const auto& routes = o.server.routes;
    REQUIRE(routes.size() == 2);
    CHECK(routes[0].path == "/api/");
    CHECK(routes[0].prefix);
    CHECK(routes[0].plugin == "x-2");
    CHECK(routes[0].origin == "t.toml:1:11");
    CHECK(routes[1].plugin == "x-3");

    CHECK(load_error("plugin = \"api=libx.so\"\n") == "t.toml:1:10: plugin: path \"api\" must start with '/'");
    CHECK_THAT(load_error("plugin = \"/api/\"\n"), Catch::StartsWith("t.toml:1:10: plugin: expected PREFIX=FILE.so"));
    CHECK_THAT(load_error("[plugin.x]\nfile = \"libx.so\"\n"),
               Catch::StartsWith("t.toml:1:1: plugin: write [plugins.NAME] for a plugin instance"));
}

TEST_CASE("blocking_threads and blocking_queue", "[toml][plugin]") {
    Options o = load_ok("blocking_threads = 16\nblocking_queue = 10\n");
    CHECK(o.server.blocking_threads == 16);
    CHECK(o.server.blocking_queue == 10);
    CHECK(load_error("blocking_threads = 0\n") == "t.toml:1:20: blocking_threads: must be from 1 to 1024, not 0");
    CHECK_THAT(load_error("blocking_queue = 0\n"), Catch::StartsWith("t.toml:1:18: blocking_queue: must be from 1"));
    CHECK(load_error("blocking_queue = \"8\"\n") ==
          "t.toml:1:18: blocking_queue: expected a whole number, not a string");
}

TEST_CASE("plugin instances: validation", "[toml][plugin]") {
    CHECK(load_error("[plugins.h]\nfile = \"libh.so\"\nconfig = { list = [1, 2] }\n") ==
          "t.toml:3:19: config.list: arrays are not supported in plugin config yet");
    CHECK(load_error("[plugins.h]\nfile = \"libh.so\"\n[plugins.h.config.db]\nhosts = [\"a\"]\n") ==
          "t.toml:4:9: config.db.hosts: arrays are not supported in plugin config yet");
    CHECK(load_error("[plugins.h]\nfile = \"libh.so\"\nconfig = { when = 1979-05-27 }\n") ==
          "t.toml:3:19: config.when: a date is not supported in plugin config; write it as a string");
    CHECK(load_error("[plugins.h]\nfile = \"libh.so\"\nconfig = { \"db.host\" = \"a\", db = { host = \"b\" } }\n") ==
          "t.toml:3:43: config: key \"db.host\" is given twice (first at t.toml:3:24)");
    CHECK(load_error("[plugins.h]\nfile = \"libh.so\"\nconfig = \"x\"\n") ==
          "t.toml:3:10: config: expected a table, not a string");
    CHECK(load_error("[plugins.h]\nfile = \"libh.so\"\nthreads = 4\n") ==
          "t.toml:3:1: unknown key \"threads\" in [plugins.h] (known: file, sha256, config, handler_timeout)");
    CHECK(load_error("[plugins.h]\nsha256 = \"" + std::string(64, 'a') + "\"\n") ==
          "t.toml:1:1: [plugins.h] needs \"file\", the path of the shared object");
    CHECK(load_error("[plugins.h]\nfile = \"\"\n") == "t.toml:2:8: file: empty; give the path of the shared object");
    CHECK(load_error("[plugins.h]\nfile = 1\n") == "t.toml:2:8: file: expected a string, not an integer");
    CHECK_THAT(load_error("[plugins.h]\nfile = \"libh.so\"\nsha256 = \"abc\"\n"),
               Catch::StartsWith("t.toml:3:10: sha256: expected 64 hex digits"));
    CHECK(load_error("[plugins.\"a.b\"]\nfile = \"libh.so\"\n") ==
          "t.toml:1:10: plugin instance name \"a.b\" must be letters, digits, '_' and '-' only");
    CHECK(load_error("[[plugins]]\nfile = \"libh.so\"\n") ==
          "t.toml:1:1: plugins: write [plugins.NAME] (one table per instance), not [[plugins]]");
    CHECK(load_error("plugins = 3\n") == "t.toml:1:11: plugins: expected [plugins.NAME] tables, not an integer");
    CHECK(load_error("plugins.h = \"libh.so\"\n") ==
          "t.toml:1:13: plugins.h: expected a table ([plugins.h]), not a string");
    Options o;
    CHECK_FALSE(load("[plugins.h]\nfile = \"libh.so\"\nbogus = 1\n", o).empty());
    CHECK(o.server.plugins.empty());
}

TEST_CASE("plugin routes: validation", "[toml][plugin][route]") {
    const std::string h = "[plugins.h]\nfile = \"libh.so\"\n";
    CHECK(load_error("[[route]]\nprefix = \"/\"\nplugin = \"nope\"\n") ==
          "t.toml:3:10: plugin: unknown plugin instance \"nope\" (define it with [plugins.nope])");
    CHECK(load_error("[[route]]\nprefix = \"/\"\nplugin = 5\n") ==
          "t.toml:3:10: plugin: expected the name of a plugin instance ([plugins.NAME]), not an integer");
    // A broken instance is one error, not one more for each route naming it.
    CHECK(load_error("[[route]]\nprefix = \"/\"\nplugin = \"h\"\n[plugins.h]\nfile = \"\"\n") ==
          "t.toml:5:8: file: empty; give the path of the shared object");
    CHECK(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nrespond = \"x\"\n") ==
          "t.toml:3:1: route has more than one action; give one of: respond, plugin, static, type");
    CHECK(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nstatus = 201\n") ==
          "t.toml:6:10: \"status\" applies to respond routes, not plugin");
    CHECK(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nmethods = [\"get\"]\n") ==
          "t.toml:6:11: methods: unknown method \"get\" (methods are upper-case: GET)");
    CHECK_THAT(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nmethods = [\"GET\", \"CONNECT\"]\n"),
               Catch::StartsWith("t.toml:6:11: methods: unknown method \"CONNECT\""));
    CHECK_THAT(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nmethods = []\n"),
               Catch::StartsWith("t.toml:6:11: methods: empty list"));
    CHECK(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nmethods = [\"GET\", 1]\n") ==
          "t.toml:6:19: methods: expected a string, not an integer");
    CHECK_THAT(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nmethods = 1\n"),
               Catch::StartsWith("t.toml:6:11: methods: expected an array of method names"));
    CHECK_THAT(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nhost = \"a.com:80\"\n"),
               Catch::StartsWith("t.toml:6:8: host: bad host \"a.com:80\": a host takes no port"));
    CHECK(load_error(h + "[[route]]\nprefix = \"/\"\nplugin = \"h\"\nhost = true\n") ==
          "t.toml:6:8: host: expected a string, not a boolean");

    // methods and host narrow respond routes too; one method may be a string.
    Options o = load_ok("[[route]]\npath = \"/a\"\nrespond = \"x\"\nmethods = \"POST\"\nhost = \"A.example\"\n");
    REQUIRE(o.server.routes.size() == 1);
    CHECK(o.server.routes[0].kind == brisk::RouteKind::respond);
    CHECK(o.server.routes[0].methods == std::vector<std::string>{"POST"});
    CHECK(o.server.routes[0].host == "a.example");
    CHECK_THAT(
        load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\ncolour = 1\n"),
        Catch::EndsWith("(known: path, prefix, respond, status, content_type, plugin, static, type, methods, host)"));
}

TEST_CASE("[[listen]] tables with address and proxy", "[toml]") {
    Options o = load_ok(
        "[[listen]]\naddress = \"127.0.0.1:9000\"\nproxy = true\n\n"
        "[[listen]]\naddress = \"[::1]:9001\"\n");
    REQUIRE(o.server.listen.size() == 2);
    CHECK(o.server.listen[0].port == 9000);
    CHECK(o.server.listen[0].proxy);
    CHECK(o.server.listen[0].text == "127.0.0.1:9000,proxy");
    CHECK_FALSE(o.server.listen[1].proxy);
    Options inline_tables = load_ok("listen = [\"127.0.0.1:9000\", { address = \"127.0.0.1:9002\", proxy = true }]\n");
    REQUIRE(inline_tables.server.listen.size() == 2);
    CHECK_FALSE(inline_tables.server.listen[0].proxy);
    CHECK(inline_tables.server.listen[1].proxy);
    Options suffix = load_ok("listen = [\"127.0.0.1:9000,proxy\"]\n");
    CHECK(suffix.server.listen[0].proxy);

    CHECK(load_error("[[listen]]\nproxy = true\n") == "t.toml:1:1: [[listen]] needs an address");
    CHECK(load_error("[[listen]]\naddress = \"127.0.0.1:1\"\nport = 2\n") ==
          "t.toml:3:1: unknown key \"port\" in [[listen]] (known: address, proxy, tls, redirect)");
    CHECK_THAT(load_error("[[listen]]\naddress = \"127.0.0.1:1\"\nproxy = \"yes\"\n"),
               Catch::Contains("listen.proxy") && Catch::Contains("true or false"));
    CHECK_THAT(load_error("[[listen]]\naddress = \"127.0.0.1:x\"\n"),
               Catch::Contains("bad listen address \"127.0.0.1:x\""));
    CHECK_THAT(load_error("listen = [1]\n"), Catch::Contains("a string or an { address, proxy, tls, redirect } table"));
}

TEST_CASE("TLS: [[listen]] tls = true, certificate and key lists, settings", "[toml][tls]") {
    Options o = load_ok(
        "tls_cert = [\"a.crt\", \"b.crt\"]\ntls_key = [\"a.key\", \"b.key\"]\ntls_min_version = \"1.3\"\n"
        "tls_handshake_timeout = \"3s\"\n\n"
        "[[listen]]\naddress = \"127.0.0.1:9443\"\ntls = true\nproxy = true\n");
    REQUIRE(o.server.listen.size() == 1);
    CHECK(o.server.listen[0].tls);
    CHECK(o.server.listen[0].proxy);
    CHECK(o.server.listen[0].text == "127.0.0.1:9443,proxy,tls");
    CHECK(o.server.tls_min_version == "1.3");
    CHECK(o.server.tls_handshake_timeout == std::chrono::seconds(3));
    CHECK_THAT(load_error("[[listen]]\naddress = \"127.0.0.1:1\"\ntls = 1\n"),
               Catch::Contains("listen.tls") && Catch::Contains("true or false"));
    // The lists pair up by position once flags and file are merged.
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    REQUIRE(o.server.tls_certs.size() == 2);
    CHECK(o.server.tls_certs[1].cert == "b.crt");
    CHECK(o.server.tls_certs[1].key == "b.key");
    Options unpaired = load_ok("tls_cert = [\"a.crt\"]\n");
    brisk::cli::finalize(unpaired, errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] ==
          "--tls-cert (tls_cert) is given 1 time and --tls-key (tls_key) 0 times: each certificate needs its key, in "
          "the same order");
    Options bare = load_ok("listen = [\"127.0.0.1:1,tls\"]\n");
    errors.clear();
    brisk::cli::finalize(bare, errors);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains("needs a certificate"));
}

TEST_CASE("TLS: a [[tls_certificate]] table per certificate, in file order", "[toml][tls]") {
    Options o = load_ok(
        "[[tls_certificate]]\ncert = \"a.crt\"\nkey = \"a.key\"\n\n"
        "[[tls_certificate]]\nkey = \"b.key\"\ncert = \"b.crt\"\n");
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    REQUIRE(o.server.tls_certs.size() == 2);
    CHECK((o.server.tls_certs[0].cert == "a.crt" && o.server.tls_certs[0].key == "a.key"));
    CHECK((o.server.tls_certs[1].cert == "b.crt" && o.server.tls_certs[1].key == "b.key"));

    CHECK(load_error("[[tls_certificate]]\ncert = \"a.crt\"\n") ==
          "t.toml:1:1: [[tls_certificate]] needs both cert and key");
    CHECK(load_error("[[tls_certificate]]\ncert = \"a.crt\"\nkey = \"a.key\"\nchain = \"c\"\n") ==
          "t.toml:4:1: unknown key \"chain\" in [[tls_certificate]] (known: cert, key)");
    CHECK_THAT(load_error("[[tls_certificate]]\ncert = 1\nkey = \"a.key\"\n"),
               Catch::Contains("tls_certificate.cert: expected a file name, not an integer"));
    CHECK_THAT(load_error("[[tls_certificate]]\ncert = \"\"\nkey = \"a.key\"\n"),
               Catch::Contains("tls_certificate.cert: a certificate file name is empty"));
    CHECK_THAT(load_error("tls_certificate = \"a.crt\"\n"), Catch::Contains("[[tls_certificate]] tables"));
    CHECK_THAT(load_error("tls_cert = [\"x.crt\"]\n[[tls_certificate]]\ncert = \"a.crt\"\nkey = \"a.key\"\n"),
               Catch::Contains("not both"));
}

TEST_CASE("TLS: [[listen]] redirect = true; HSTS settings and their terms", "[toml][tls]") {
    Options o = load_ok(
        "hsts_max_age = 63072000\nhsts_include_subdomains = true\nhsts_preload = true\n"
        "[[listen]]\naddress = \"127.0.0.1:8080\"\nredirect = true\n");
    REQUIRE(o.server.listen.size() == 1);
    CHECK(o.server.listen[0].redirect);
    CHECK(o.server.listen[0].text == "127.0.0.1:8080,redirect");
    CHECK(o.server.hsts_max_age == 63072000);
    std::vector<std::string> errors;
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    CHECK_THAT(load_error("[[listen]]\naddress = \"127.0.0.1:1\"\nredirect = true\ntls = true\n"),
               Catch::Contains("is for a plain listener"));

    Options bare = load_ok("hsts_include_subdomains = true\n");
    brisk::cli::finalize(bare, errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0] == "--hsts-include-subdomains and --hsts-preload need --hsts-max-age (hsts_max_age) N");
    Options short_preload = load_ok("hsts_max_age = 86400\nhsts_include_subdomains = true\nhsts_preload = true\n");
    errors.clear();
    brisk::cli::finalize(short_preload, errors);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("--hsts-preload (hsts_preload) needs") && Catch::Contains("31536000"));
}

// Found by the config fuzzer: toml++ quotes the rest of the line in some parse
// errors, newline included, and a quoted key may hold control characters;
// --check-config lists one problem per line all the same.
TEST_CASE("every problem is one line, control bytes escaped", "[toml]") {
    CHECK(load_error("[[route]]\npath = \"/a\"\nrespond = \"x\"\nprefix = tru\n").find('\n') == std::string::npos);
    CHECK(load_error("\"a\\nb\\u0001\" = 1\n") == "t.toml:1:1: unknown key \"a\\nb\\x01\"");
}
