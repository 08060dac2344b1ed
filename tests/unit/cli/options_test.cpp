#include "options.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "settings.hpp"

using namespace std::chrono_literals;
using brisk::cli::Options;
using brisk::cli::testing::Run;
using brisk::cli::testing::run;

namespace {

/** A file in the temp directory, removed at the end of the test. */
struct TempFile {
    explicit TempFile(const std::string& text) {
        path = (std::filesystem::temp_directory_path() /
                ("brisk-unit-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".toml"))
                   .string();
        std::ofstream(path) << text;
    }
    ~TempFile() { std::remove(path.c_str()); }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    std::string path;
    static inline int counter = 0;
};

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
}

}  // namespace

TEST_CASE("routes: duplicates in the file are errors", "[toml][route]") {
    TempFile file("[[route]]\npath = \"/a\"\nrespond = \"1\"\n[[route]]\npath = \"/a\"\nrespond = \"2\"\n");
    auto r = run({"--config", file.path});
    CHECK(r.status == brisk::cli::exit_invalid);
    CHECK(r.err == "brisk: " + file.path + ":4:1: duplicate route for path \"/a\" (first at " + file.path + ":1:1)\n");

    TempFile ok("[[route]]\npath = \"/a\"\nrespond = \"1\"\n[[route]]\nprefix = \"/a\"\nrespond = \"2\"\n");
    CHECK_FALSE(run({"--config", ok.path}).status.has_value());
}

TEST_CASE("flags override the file", "[toml][flags]") {
    TempFile file(R"(
listen = ["127.0.0.1:1111", "127.0.0.1:2222"]
read_timeout = "5s"
write_timeout = "6s"
max_header_size = "8KiB"
disable_keepalive = true
server_name = "from-file"
)");
    auto r = run({"--config", file.path, "--read-timeout", "9s", "--listen", "[::1]:3333", "--server-name=from-flag",
                  "--disable-keepalive=false"});
    INFO(r.err);
    REQUIRE_FALSE(r.status.has_value());
    const auto& c = r.options.server;
    CHECK(r.options.config_path == file.path);
    CHECK(c.read_timeout == 9s);
    CHECK(c.write_timeout == 6s);  // only in the file
    CHECK(c.max_header_size == 8192);
    CHECK(c.server_name == "from-flag");
    CHECK_FALSE(c.disable_keepalive);
    REQUIRE(c.listen.size() == 1);  // --listen replaces the file's list
    CHECK(c.listen[0].port == 3333);
    CHECK(c.idle_timeout == 9s);  // follows the read timeout
}

TEST_CASE("flag --respond adds routes and wins over the file for the same path", "[toml][flags]") {
    TempFile file(R"(
[[route]]
path = "/a"
respond = "file a"

[[route]]
path = "/b"
respond = "file b"
)");
    auto r = run({"--config", file.path, "--respond", "/b=flag b", "--respond", "/c=x=y"});
    INFO(r.err);
    REQUIRE_FALSE(r.status.has_value());
    const auto& routes = r.options.server.routes;
    REQUIRE(routes.size() == 3);
    CHECK(routes[0].path == "/b");
    CHECK(routes[0].body == "flag b");
    CHECK(routes[0].origin == "--respond");
    CHECK(routes[0].content_type == "text/plain; charset=utf-8");
    CHECK(routes[1].path == "/c");
    CHECK(routes[1].body == "x=y");
    CHECK(routes[2].path == "/a");
    CHECK(routes[2].origin == file.path + ":2:1");

    auto twice = run({"--respond", "/x=1", "--respond", "/x=2"});
    CHECK(twice.status == brisk::cli::exit_invalid);
    CHECK_THAT(twice.err, Catch::Contains("--respond: path \"/x\" is given twice"));
}

TEST_CASE("defaults filled after parsing", "[flags]") {
    auto r = run({});
    REQUIRE_FALSE(r.status.has_value());
    const auto& c = r.options.server;
    REQUIRE(c.listen.size() == 1);
    CHECK(c.listen[0].text == "127.0.0.1:8080");
    CHECK(c.loops == brisk::cli::usable_cores());
    CHECK(c.loops >= 1);
    CHECK(c.idle_timeout == c.read_timeout);
    CHECK(c.max_request_body_size == 4u << 20);
    CHECK(c.max_header_size == 16u << 10);
    CHECK(r.options.error_log.empty());

    auto explicit_idle = run({"--read-timeout", "30s", "--idle-timeout", "0"});
    REQUIRE_FALSE(explicit_idle.status.has_value());
    CHECK(explicit_idle.options.server.idle_timeout == 0ms);
    CHECK(explicit_idle.options.server.read_timeout == 30s);
}

TEST_CASE("flag --check-config lists every problem from flags and file", "[flags]") {
    TempFile file("read_timeout = \"soon\"\nnope = 1\n");
    auto r = run({"--check-config", "--config", file.path, "--max-header-size", "1g", "--listen", "bad"});
    CHECK(r.status == brisk::cli::exit_invalid);
    CHECK(r.out.empty());
    auto errs = lines(r.err);
    REQUIRE(errs.size() == 4);
    CHECK_THAT(errs[0], Catch::StartsWith("brisk: " + file.path + ":1:16: read_timeout: bad duration \"soon\""));
    CHECK(errs[1] == "brisk: " + file.path + ":2:1: unknown key \"nope\"");
    CHECK_THAT(errs[2], Catch::StartsWith("brisk: --listen: bad listen address \"bad\""));
    CHECK_THAT(errs[3], Catch::StartsWith("brisk: --max-header-size: must be from 256 to 1MiB"));

    TempFile good("read_timeout = \"5s\"\n");
    auto ok = run({"--check-config", "--config", good.path});
    CHECK(ok.status == 0);
    CHECK(ok.out == "configuration OK\n");
    CHECK(ok.err.empty());
}

TEST_CASE("an unreadable config file is one clear error", "[flags]") {
    auto r = run({"--config", "/nonexistent/brisk.toml"});
    CHECK(r.status == brisk::cli::exit_invalid);
    CHECK(r.err == "brisk: cannot read config file \"/nonexistent/brisk.toml\": No such file or directory\n");
}

TEST_CASE("usage errors exit 2; --help and --version exit 0", "[flags]") {
    auto unknown = run({"--bogus"});
    CHECK(unknown.status == brisk::cli::exit_usage);
    CHECK_THAT(unknown.err, Catch::Contains("--bogus") && Catch::Contains("--help"));

    auto missing = run({"--read-timeout"});
    CHECK(missing.status == brisk::cli::exit_usage);

    auto version = run({"--version"});
    CHECK(version.status == 0);
    CHECK(version.out == "brisk 0.1.0\n");

    auto help = run({"--help"});
    CHECK(help.status == 0);
    for (const auto& s : brisk::cli::settings()) CHECK_THAT(help.out, Catch::Contains("--" + std::string(s.name)));
    CHECK_THAT(help.out, Catch::Contains("DUR=60s"));
    CHECK_THAT(help.out, Catch::Contains("SIZE=4MiB"));
    CHECK_THAT(help.out, Catch::Contains("SIZE=16KiB"));
    CHECK_THAT(help.out, Catch::Contains("ADDR=127.0.0.1:8080"));
    CHECK_THAT(help.out, Catch::Contains("PREFIX=FILE.so"));
    CHECK_THAT(help.out, Catch::Contains("--blocking-threads N=4"));
    CHECK_THAT(help.out, Catch::Contains("--blocking-queue N=1024"));
    CHECK_THAT(help.out, Catch::Contains("--config"));
    CHECK_THAT(help.out, Catch::Contains("--check-config"));
}

TEST_CASE("bad flag values exit 1 with the flag named", "[flags]") {
    auto r = run({"--loops", "many", "--server-name", "", "--log-level", "verbose", "--max-request-body-size", "-1"});
    CHECK(r.status == brisk::cli::exit_invalid);
    auto errs = lines(r.err);
    REQUIRE(errs.size() == 4);
    CHECK(errs[0] == "brisk: --loops: bad number \"many\": expected a whole number");
    CHECK_THAT(errs[1], Catch::StartsWith("brisk: --max-request-body-size: bad size \"-1\""));
    CHECK_THAT(errs[2], Catch::StartsWith("brisk: --server-name:"));
    CHECK_THAT(errs[3], Catch::StartsWith("brisk: --log-level: unknown log level \"verbose\""));
}

TEST_CASE("duplicate listen addresses are errors", "[flags]") {
    auto r = run({"--listen", "127.0.0.1:80", "--listen", "localhost:80"});
    CHECK(r.status == brisk::cli::exit_invalid);
    CHECK(r.err == "brisk: listen addresses \"127.0.0.1:80\" and \"localhost:80\" are the same\n");
    auto ports0 = run({"--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0"});
    CHECK_FALSE(ports0.status.has_value());
}

TEST_CASE("flag --plugin makes instances and prefix routes, ahead of the file's", "[flags][plugin]") {
    TempFile file(R"(
blocking_threads = 2
blocking_queue = 50

[plugins.hello]
file = "build/plugins/libhello.so"

[[route]]
prefix = "/api/"
plugin = "hello"

[[route]]
prefix = "/files/"
plugin = "hello"
)");
    auto r = run({"--config", file.path, "--plugin", "/api/=./build/plugins/libhello.so", "--plugin",
                  "/v2/=libhello.so", "--blocking-threads", "8"});
    INFO(r.err);
    REQUIRE_FALSE(r.status.has_value());
    const auto& c = r.options.server;
    CHECK(c.blocking_threads == 8);
    CHECK(c.blocking_queue == 50);  // only in the file
    REQUIRE(c.plugins.size() == 3);
    CHECK(c.plugins[0].name == "hello");
    CHECK(c.plugins[0].origin == file.path + ":5:1");
    CHECK(c.plugins[1].name == "hello-2");
    CHECK(c.plugins[1].file == "./build/plugins/libhello.so");
    CHECK(c.plugins[1].origin == "--plugin");
    CHECK(c.plugins[2].name == "hello-3");
    CHECK(c.plugins[2].file == "libhello.so");
    // The flag's /api/ replaces the file's; the file's other route stays, after the flags'.
    REQUIRE(c.routes.size() == 3);
    CHECK(c.routes[0].path == "/api/");
    CHECK(c.routes[0].plugin == "hello-2");
    CHECK(c.routes[0].origin == "--plugin");
    CHECK(c.routes[1].path == "/v2/");
    CHECK(c.routes[1].plugin == "hello-3");
    CHECK(c.routes[2].path == "/files/");
    CHECK(c.routes[2].plugin == "hello");

    auto defaults = run({});
    REQUIRE_FALSE(defaults.status.has_value());
    CHECK(defaults.options.server.blocking_threads == 4);
    CHECK(defaults.options.server.blocking_queue == 1024);
    CHECK(defaults.options.server.plugins.empty());

    auto twice = run({"--plugin", "/a/=liba.so", "--plugin", "/a/=libb.so"});
    CHECK(twice.status == brisk::cli::exit_invalid);
    CHECK(twice.err == "brisk: --plugin: prefix \"/a/\" is given twice\n");
}

TEST_CASE("routes may share a path when methods or host differ", "[toml][route][plugin]") {
    const std::string head = "[plugins.p]\nfile = \"libp.so\"\n";
    TempFile ok(head + R"(
[[route]]
prefix = "/api/"
plugin = "p"
methods = ["POST"]

[[route]]
prefix = "/api/"
respond = "read only"
host = "example.com"

[[route]]
prefix = "/api/"
plugin = "p"
)");
    auto r = run({"--config", ok.path});
    INFO(r.err);
    REQUIRE_FALSE(r.status.has_value());
    REQUIRE(r.options.server.routes.size() == 3);
    CHECK(r.options.server.routes[0].methods == std::vector<std::string>{"POST"});
    CHECK(r.options.server.routes[1].host == "example.com");
    CHECK(r.options.server.routes[2].kind == brisk::RouteKind::plugin);

    TempFile same(head + R"(
[[route]]
prefix = "/api/"
plugin = "p"
methods = ["GET", "POST"]

[[route]]
prefix = "/api/"
respond = "x"
methods = ["POST", "GET"]
)");
    auto dup = run({"--config", same.path});
    CHECK(dup.status == brisk::cli::exit_invalid);
    CHECK(dup.err == "brisk: " + same.path +
                         ":9:1: duplicate route for prefix \"/api/\" with methods POST,GET (first at " + same.path +
                         ":4:1)\n");
}

TEST_CASE("flag --check-config lists plugin problems from the file and the flags", "[flags][plugin]") {
    TempFile file(R"([plugins.a]
sha256 = "xyz"

[plugins.b]
file = "libb.so"
config = { hosts = ["x", "y"] }

[[route]]
prefix = "/c/"
plugin = "c"
)");
    auto r = run({"--check-config", "--config", file.path, "--plugin", "nope=libx.so", "--blocking-threads", "0",
                  "--plugin", "/x/="});
    CHECK(r.status == brisk::cli::exit_invalid);
    CHECK(r.out.empty());
    auto errs = lines(r.err);
    REQUIRE(errs.size() == 7);
    CHECK(errs[0] == "brisk: " + file.path + ":1:1: [plugins.a] needs \"file\", the path of the shared object");
    CHECK_THAT(errs[1], Catch::StartsWith("brisk: " + file.path + ":2:10: sha256: expected 64 hex digits"));
    CHECK(errs[2] == "brisk: " + file.path + ":6:20: config.hosts: arrays are not supported in plugin config yet");
    CHECK(errs[3] ==
          "brisk: " + file.path + ":10:10: plugin: unknown plugin instance \"c\" (define it with [plugins.c])");
    CHECK(errs[4] == "brisk: --plugin: path \"nope\" must start with '/'");
    CHECK_THAT(errs[5], Catch::StartsWith("brisk: --plugin: no shared object after '='"));
    CHECK(errs[6] == "brisk: --blocking-threads: must be from 1 to 1024, not 0");

    // Once the rest is fine, the plugins are loaded (and created) too.
    auto missing = run({"--check-config", "--plugin", "/api/=./does-not-exist/libx.so"});
    CHECK(missing.status == brisk::cli::exit_invalid);
    CHECK(missing.out.empty());
    REQUIRE(lines(missing.err).size() == 1);
    CHECK_THAT(lines(missing.err)[0], Catch::StartsWith("brisk: plugin \"x\": cannot load ./does-not-exist/libx.so"));
}
