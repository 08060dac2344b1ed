// The access log, metrics and health settings in the cli: flags, TOML keys,
// `type = "metrics" | "health"` routes, and their checks.
#include <catch2/catch.hpp>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "options.hpp"
#include "settings.hpp"
#include "toml_config.hpp"

using brisk::RouteKind;
using brisk::cli::Options;
using brisk::cli::testing::Run;
using brisk::cli::testing::run;
using brisk::cli::testing::toml_errors;

namespace {

const brisk::RouteConfig* find_route(const Options& o, RouteKind kind) {
    auto it = std::find_if(o.server.routes.begin(), o.server.routes.end(),
                           [&](const brisk::RouteConfig& r) { return r.kind == kind; });
    return it == o.server.routes.end() ? nullptr : &*it;
}

}  // namespace

TEST_CASE("access log flags", "[cli][observability]") {
    Run r = run({"--access-log", "/tmp/a.log", "--access-log-format", "combined", "--access-log-buffer", "256KiB"});
    REQUIRE_FALSE(r.status);
    CHECK(r.options.server.access_log == "/tmp/a.log");
    CHECK(r.options.server.access_log_format == "combined");
    CHECK(r.options.server.access_log_buffer == 256u << 10);

    Run def = run({});
    REQUIRE_FALSE(def.status);
    CHECK(def.options.server.access_log.empty());
    CHECK(def.options.server.access_log_format == "common");

    Run bad = run({"--access-log-format", "$status $bogus"});
    CHECK(bad.status == 1);
    CHECK(bad.err.find("--access-log-format: unknown variable $bogus") != std::string::npos);
    CHECK(run({"--access-log", ""}).status == 1);
    CHECK(run({"--access-log-buffer", "1KiB"}).status == 1);
    CHECK(run({"--access-log-format", "json", "--access-log", "-"}).options.server.access_log == "-");
}

TEST_CASE("flag --metrics and --health make routes that win over the file's", "[cli][observability]") {
    Run r = run({"--metrics", "/metrics", "--health", "/healthz", "--respond", "/a=b"});
    REQUIRE_FALSE(r.status);
    const auto* m = find_route(r.options, RouteKind::metrics);
    const auto* h = find_route(r.options, RouteKind::health);
    REQUIRE(m);
    REQUIRE(h);
    CHECK(m->path == "/metrics");
    CHECK_FALSE(m->prefix);
    CHECK(m->origin == "--metrics");
    CHECK(h->path == "/healthz");
    CHECK(run({"--metrics", "metrics"}).status == 1);
    CHECK(run({"--health", "/h?x"}).status == 1);
}

TEST_CASE("metrics and health routes alone leave the default directory route", "[cli][observability]") {
    Run r = run({"--metrics", "/metrics"});
    REQUIRE_FALSE(r.status);
    CHECK(r.options.server.routes.size() == 2);
    CHECK(find_route(r.options, RouteKind::static_files) != nullptr);
}

TEST_CASE("TOML keys and route types", "[toml][observability]") {
    Options o;
    auto errors = toml_errors(R"(
access_log = "/var/log/a.log"
access_log_format = 'escape=json {"s":$status}'
access_log_buffer = "2MiB"
metrics = "/m"

[[route]]
path = "/healthz"
type = "health"

[[route]]
prefix = "/stats/"
type = "metrics"
)",
                              o);
    for (const auto& e : errors) UNSCOPED_INFO(e);
    REQUIRE(errors.empty());
    CHECK(o.server.access_log == "/var/log/a.log");
    CHECK(o.server.access_log_format == R"(escape=json {"s":$status})");
    CHECK(o.server.access_log_buffer == 2u << 20);
    REQUIRE(o.server.routes.size() == 3);
    CHECK(o.server.routes[0].kind == RouteKind::metrics);
    CHECK(o.server.routes[0].path == "/m");
    CHECK(o.server.routes[1].kind == RouteKind::health);
    CHECK(o.server.routes[2].kind == RouteKind::metrics);
    CHECK(o.server.routes[2].prefix);

    Options bad;
    errors = toml_errors(
        "access_log_format = \"$nope\"\n[[route]]\npath = \"/x\"\ntype = \"stats\"\n"
        "[[route]]\npath = \"/y\"\ntype = 1\n[[route]]\npath = \"/z\"\ntype = \"health\"\nrespond = \"x\"\n",
        bad);
    REQUIRE(errors.size() == 4);
    CHECK(errors[0].find("t.toml:1:21: access_log_format: unknown variable $nope") == 0);
    CHECK(errors[1].find("type: unknown route type \"stats\" (use \"metrics\" or \"health\")") != std::string::npos);
    CHECK(errors[2].find("type: expected \"metrics\" or \"health\", not an integer") != std::string::npos);
    CHECK(errors[3].find("route has more than one action") != std::string::npos);
}
