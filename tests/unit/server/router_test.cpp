#include "server/router.hpp"

#include <catch2/catch.hpp>

#include "server/connection.hpp"

using brisk::Config;
using brisk::RouteConfig;

namespace {

RouteConfig route(std::string path, std::string body, bool prefix = false) {
    RouteConfig r;
    r.path = std::move(path);
    r.body = std::move(body);
    r.prefix = prefix;
    return r;
}

brisk::http::Response call(brisk::Handler& h) {
    brisk::http::Request req;
    brisk::Reply reply;
    brisk::Conn conn;
    brisk::HandlerCall hc{req, reply, conn, 0};
    REQUIRE(h.handle(hc) == brisk::Outcome::done);
    REQUIRE(reply.kind == brisk::Reply::Kind::simple);
    return reply.simple;
}

std::string answer(const brisk::Router& router, std::string_view path) {
    brisk::Handler* h = router.match(path);
    return h ? std::string(call(*h).body) : "<none>";
}

// Declines every request, counting them: shows the router going on to the next route.
struct Decliner final : brisk::Handler {
    int calls = 0;
    brisk::Outcome handle(brisk::HandlerCall&) override {
        ++calls;
        return brisk::Outcome::decline;
    }
};

}  // namespace

TEST_CASE("exact paths win over prefixes, longest prefix first, first route wins", "[router]") {
    Config cfg;
    cfg.routes = {route("/a", "exact a"), route("/a", "shadowed"), route("/", "root prefix", true),
                  route("/api/", "api prefix", true), route("/api/v1", "exact v1")};
    brisk::Router router(cfg);
    CHECK(answer(router, "/a") == "exact a");
    CHECK(answer(router, "/api/v1") == "exact v1");
    CHECK(answer(router, "/api/v2") == "api prefix");
    CHECK(answer(router, "/b") == "root prefix");
}

TEST_CASE("no route is nullptr; large tables use the sorted search", "[router]") {
    Config cfg;
    for (int i = 0; i < 20; ++i) cfg.routes.push_back(route("/r" + std::to_string(i), "body" + std::to_string(i)));
    brisk::Router router(cfg);
    CHECK(answer(router, "/r7") == "body7");
    CHECK(answer(router, "/r19") == "body19");
    CHECK(answer(router, "/r20") == "<none>");
    CHECK(answer(router, "/") == "<none>");
}

TEST_CASE("fixed responses are pre-rendered with Server and Content-Length", "[router]") {
    Config cfg;
    cfg.server_name = "edge";
    RouteConfig r = route("/json", "{}");
    r.content_type = "application/json";
    r.status = 201;
    cfg.routes = {r};
    brisk::Router router(cfg);
    brisk::http::Response resp = call(*router.match("/json"));
    CHECK(resp.status == 201);
    CHECK(resp.prerendered ==
          "HTTP/1.1 201 Created\r\nServer: edge\r\nContent-Type: application/json\r\nContent-Length: 2\r\n");
    cfg.no_server_header = true;
    brisk::Router quiet(cfg);
    CHECK(call(*quiet.match("/json")).prerendered.find("Server:") == std::string_view::npos);
}

TEST_CASE("methods and host narrow a route; the cursor walks past a decline", "[router]") {
    Config cfg;
    RouteConfig post = route("/api", "post only");
    post.methods = {"POST"};
    RouteConfig host = route("/api", "example.org only");
    host.host = "Example.ORG";
    RouteConfig plugin = route("/", "", true);
    plugin.kind = brisk::RouteKind::plugin;
    plugin.plugin = "decliner";
    cfg.routes = {post, host, plugin, route("/", "fallback", true)};
    Decliner decliner;
    brisk::Router router(
        cfg, [&](const std::string& name) -> brisk::Handler* { return name == "decliner" ? &decliner : nullptr; });

    brisk::http::Request req;
    req.path = "/api";
    req.method = brisk::http::Method::get;
    req.host = "example.org:8080";
    std::size_t cursor = 0;
    brisk::Handler* h = router.match(req, cursor);
    REQUIRE(h != nullptr);
    CHECK(call(*h).body == "example.org only");  // not the POST route

    req.host = "other.example";
    cursor = 0;
    h = router.match(req, cursor);
    REQUIRE(h == &decliner);  // neither /api route: the prefix routes, longest... equal, in order
    brisk::Reply reply;
    brisk::Conn conn;
    brisk::HandlerCall hc{req, reply, conn, 0};
    CHECK(h->handle(hc) == brisk::Outcome::decline);
    h = router.match(req, cursor);  // goes on after the decline
    REQUIRE(h != nullptr);
    CHECK(call(*h).body == "fallback");
    CHECK(router.match(req, cursor) == nullptr);
    CHECK(decliner.calls == 1);

    req.method = brisk::http::Method::post;
    cursor = 0;
    CHECK(call(*router.match(req, cursor)).body == "post only");
    CHECK(router.handlers().size() == 4);
}
