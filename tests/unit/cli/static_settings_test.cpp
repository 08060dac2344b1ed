// Static-file routes in the cli: --root, --static, `static = ...` in [[route]]
// tables, and the default route when no route is given.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "options.hpp"
#include "settings.hpp"
#include "toml_config.hpp"

using namespace std::chrono_literals;
using brisk::RouteKind;
using brisk::cli::Options;
using brisk::cli::testing::Run;
using brisk::cli::testing::run;
using brisk::cli::testing::toml_errors;

namespace {

Options toml_ok(const std::string& text) {
    Options o;
    auto errors = toml_errors(text, o);
    for (const auto& e : errors) UNSCOPED_INFO(e);
    REQUIRE(errors.empty());
    return o;
}

std::string toml_error(const std::string& text) {
    Options o;
    auto errors = toml_errors(text, o);
    INFO("toml:\n" << text);
    REQUIRE(errors.size() == 1);
    return errors[0];
}

}  // namespace

TEST_CASE("flag --root serves a directory at /", "[cli][static]") {
    Run r = run({"--root", "/srv/www"});
    INFO(r.err);
    REQUIRE_FALSE(r.status.has_value());
    const auto& routes = r.options.server.routes;
    REQUIRE(routes.size() == 1);
    CHECK(routes[0].kind == RouteKind::static_files);
    CHECK(routes[0].path == "/");
    CHECK(routes[0].prefix);
    CHECK(routes[0].static_files.root == "/srv/www");
    CHECK(routes[0].origin == "--root");
    CHECK_FALSE(routes[0].static_files.listing);  // the defaults of StaticConfig
    CHECK(routes[0].static_files.index == std::vector<std::string>{"index.html"});
}

TEST_CASE("flag --static PREFIX=DIR is repeatable and checked", "[cli][static]") {
    Run r = run({"--static", "/assets/=./public", "--static", "/docs=/usr/share/doc", "--respond", "/a=b"});
    INFO(r.err);
    REQUIRE_FALSE(r.status.has_value());
    const auto& routes = r.options.server.routes;
    REQUIRE(routes.size() == 3);
    CHECK(routes[0].kind == RouteKind::respond);
    CHECK(routes[1].path == "/assets/");
    CHECK(routes[1].static_files.root == "./public");
    CHECK(routes[1].origin == "--static");
    CHECK(routes[2].path == "/docs");
    CHECK(routes[2].static_files.root == "/usr/share/doc");

    CHECK(run({"--static", "/assets/"}).err ==
          "brisk: --static: expected PREFIX=DIR, as in /assets/=./public, not "
          "\"/assets/\"\n");
    CHECK(run({"--static", "assets=/x"}).err == "brisk: --static: path \"assets\" must start with '/'\n");
    CHECK(run({"--static", "/a/="}).err == "brisk: --static: no directory given\n");
    CHECK(run({"--root", ""}).err == "brisk: --root: no directory given\n");
    CHECK(run({"--static", "/a/=x", "--static", "/a/=y"}).err == "brisk: --static: prefix \"/a/\" is given twice\n");
}

TEST_CASE("without any route, the current directory is served with listings", "[cli][static]") {
    Run r = run({});
    REQUIRE_FALSE(r.status.has_value());
    const auto& routes = r.options.server.routes;
    REQUIRE(routes.size() == 1);
    CHECK(routes[0].kind == RouteKind::static_files);
    CHECK(routes[0].path == "/");
    CHECK(routes[0].prefix);
    CHECK(routes[0].static_files.root == ".");
    CHECK(routes[0].static_files.listing);
    // Any route at all replaces it.
    CHECK(run({"--respond", "/a=b"}).options.server.routes.size() == 1);
    CHECK(run({"--respond", "/a=b"}).options.server.routes[0].kind == RouteKind::respond);
    CHECK(run({"--root", "/x"}).options.server.routes.at(0).static_files.root == "/x");
}

TEST_CASE("root = DIR in the file; the flag wins", "[cli][static][toml]") {
    Options o = toml_ok("root = \"/from/file\"\n");
    REQUIRE(o.server.routes.size() == 1);
    CHECK(o.server.routes[0].static_files.root == "/from/file");
    CHECK(o.server.routes[0].origin == "t.toml:1:8");
    std::vector<std::string> errors;
    o.server.routes.push_back(o.server.routes[0]);
    o.server.routes.back().origin = "--root";
    o.server.routes.back().static_files.root = "/from/flag";
    brisk::cli::finalize(o, errors);
    CHECK(errors.empty());
    REQUIRE(o.server.routes.size() == 1);
    CHECK(o.server.routes[0].static_files.root == "/from/flag");
}

TEST_CASE("[[route]] static = \"DIR\" and static = { ... }", "[cli][static][toml]") {
    Options o = toml_ok(R"(
[[route]]
prefix = "/s/"
static = "./site"

[[route]]
prefix = "/files/"
host = "example.com"
methods = ["GET", "HEAD"]
static = { root = "/srv/files", index = ["index.htm", "home.html"], listing = true, compress = false, gzip_level = 9, brotli_level = 11, zstd_level = 19, compress_max_size = "2MiB", compress_cache = "/var/cache/brisk", precompressed = ["br", "gz"], ranges = false, etag = false, cache_duration = "1m", dotfiles = true, follow_symlinks = true, mime = { md = "text/markdown", ".x" = "application/x-x" }, cache_control = "max-age=60" }
)");
    const auto& r = o.server.routes;
    REQUIRE(r.size() == 2);
    CHECK(r[0].kind == RouteKind::static_files);
    CHECK(r[0].path == "/s/");
    CHECK(r[0].prefix);
    CHECK(r[0].static_files.root == "./site");
    CHECK(r[0].static_files.compress);
    const brisk::StaticConfig& s = r[1].static_files;
    CHECK(r[1].host == "example.com");
    CHECK(r[1].methods == std::vector<std::string>{"GET", "HEAD"});
    CHECK(s.root == "/srv/files");
    CHECK(s.index == std::vector<std::string>{"index.htm", "home.html"});
    CHECK(s.listing);
    CHECK_FALSE(s.compress);
    CHECK(s.gzip_level == 9);
    CHECK(s.brotli_level == 11);
    CHECK(s.zstd_level == 19);
    CHECK(s.compress_max_size == 2u << 20);
    CHECK(s.compress_cache == "/var/cache/brisk");
    CHECK(s.precompressed == std::vector<std::string>{"br", "gz"});
    CHECK_FALSE(s.ranges);
    CHECK_FALSE(s.etag);
    CHECK(s.cache_duration == 60s);
    CHECK(s.dotfiles);
    CHECK(s.follow_symlinks);
    REQUIRE(s.mime.size() == 2);
    auto mime = s.mime;
    std::sort(mime.begin(), mime.end());
    CHECK(mime[0] == std::pair<std::string, std::string>{"md", "text/markdown"});
    CHECK(mime[1] == std::pair<std::string, std::string>{"x", "application/x-x"});
    CHECK(s.cache_control == "max-age=60");

    CHECK(toml_ok("[[route]]\nprefix = \"/\"\nstatic = { root = \".\", cache_duration = 0, index = \"i.htm\" }\n")
              .server.routes[0]
              .static_files.cache_duration == 0s);
}

TEST_CASE("[[route]] static: every problem is reported where it is", "[cli][static][toml]") {
    const std::string head = "[[route]]\nprefix = \"/\"\n";
    CHECK(toml_error("[[route]]\npath = \"/a\"\nstatic = \".\"\n") ==
          "t.toml:2:8: static: a static route serves a folder; give \"prefix\", not \"path\"");
    CHECK(toml_error(head + "static = { listing = true }\n") ==
          "t.toml:3:10: static: needs root, the directory to serve");
    CHECK(toml_error(head + "static = 5\n") ==
          "t.toml:3:10: static: expected a directory, or a table such as { root = \"DIR\" }, not an integer");
    CHECK(toml_error(head + "static = \"\"\n") == "t.toml:3:10: static: no directory given");
    CHECK_THAT(toml_error(head + "static = { root = \".\", colour = 1 }\n"),
               Catch::StartsWith("t.toml:3:24: unknown key \"colour\" in static (known: root, index, listing"));
    CHECK(toml_error(head + "static = { root = \".\", listing = \"yes\" }\n") ==
          "t.toml:3:34: listing: expected true or false, not a string");
    CHECK(toml_error(head + "static = { root = \".\", gzip_level = 10 }\n") ==
          "t.toml:3:37: gzip_level: must be from 1 to 9, not 10");
    CHECK(toml_error(head + "static = { root = \".\", brotli_level = 12 }\n") ==
          "t.toml:3:39: brotli_level: must be from 0 to 11, not 12");
    CHECK(toml_error(head + "static = { root = \".\", zstd_level = 0 }\n") ==
          "t.toml:3:37: zstd_level: must be from 1 to 22, not 0");
    CHECK_THAT(toml_error(head + "static = { root = \".\", compress_max_size = \"lots\" }\n"),
               Catch::StartsWith("t.toml:3:44: compress_max_size: "));
    CHECK_THAT(toml_error(head + "static = { root = \".\", cache_duration = 10 }\n"),
               Catch::StartsWith("t.toml:3:41: cache_duration: expected a duration"));
    CHECK(toml_error(head + "static = { root = \".\", precompressed = [\"deflate\"] }\n") ==
          "t.toml:3:40: precompressed: unknown coding \"deflate\" (use \"br\", \"zst\" or \"gz\")");
    CHECK(toml_error(head + "static = { root = \".\", index = [\"a/b.html\"] }\n") ==
          "t.toml:3:32: index: \"a/b.html\" is not a file name");
    CHECK(toml_error(head + "static = { root = \".\", mime = { \"a.b\" = \"x/y\" } }\n") ==
          "t.toml:3:33: mime: \"a.b\" is not a file extension");
    CHECK(toml_error(head + "static = { root = \".\", mime = { md = 5 } }\n") ==
          "t.toml:3:38: mime.md: expected a string, not an integer");
    CHECK(toml_error(head + "static = { root = \".\", cache_control = \"\" }\n") ==
          "t.toml:3:40: cache_control: \"\" is not a valid header value");
    CHECK(toml_error(head + "static = \".\"\nstatus = 200\n") ==
          "t.toml:4:10: \"status\" applies to respond routes, not static");
    CHECK(toml_error(head + "static = \".\"\nrespond = \"x\"\n") ==
          "t.toml:1:1: route has more than one action; give one of: respond, plugin, static, type");
}
