#include "server/router.hpp"

#include <catch2/catch.hpp>

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

std::string answer(const brisk::Router& router, std::string_view path) {
    brisk::Handler* h = router.match(path);
    if (!h) return "<none>";
    brisk::http::Request req;
    brisk::http::Response resp;
    h->handle(req, resp);
    return std::string(resp.body);
}

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
    brisk::http::Request req;
    brisk::http::Response resp;
    router.match("/json")->handle(req, resp);
    CHECK(resp.status == 201);
    CHECK(resp.prerendered ==
          "HTTP/1.1 201 Created\r\nServer: edge\r\nContent-Type: application/json\r\nContent-Length: 2\r\n");
    cfg.no_server_header = true;
    brisk::Router quiet(cfg);
    quiet.match("/json")->handle(req, resp);
    CHECK(resp.prerendered.find("Server:") == std::string_view::npos);
}
