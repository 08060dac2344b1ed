#include "server/builtin_handlers.hpp"

#include <catch2/catch.hpp>

#include <string>

#include "server/connection.hpp"
#include "server/shared.hpp"

namespace {

brisk::http::Response call(brisk::Handler& h) {
    brisk::http::Request req;
    brisk::Reply reply;
    brisk::Conn conn;
    brisk::HandlerCall hc{req, reply, conn, 0};
    REQUIRE(h.handle(hc) == brisk::Outcome::done);
    REQUIRE(reply.kind == brisk::Reply::Kind::simple);
    return reply.simple;
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("health: ok while serving, draining once stopping", "[builtin]") {
    brisk::Shared shared;
    auto h = brisk::make_health_handler(&shared);
    auto r = call(*h);
    CHECK(r.status == 200);
    CHECK(r.body == "ok\n");
    shared.draining = true;
    r = call(*h);
    CHECK(r.status == 503);
    CHECK(r.body == "draining\n");
}

TEST_CASE("metrics: every loop's counters summed, routes of one name in one series", "[builtin]") {
    brisk::Shared shared;
    // Slots: 0 = none, 1 = /a, 2 = hello, 3 = hello again (another prefix of the instance).
    std::vector<std::string> names{"", "/a", "hello", "hello"};
    for (int i = 0; i < 2; ++i) shared.stats.push_back(std::make_unique<brisk::LoopStats>(3));
    shared.stats[0]->record(1, 200, 50);
    shared.stats[1]->record(1, 204, 300);
    shared.stats[1]->record(2, 500, 2000000);
    shared.stats[0]->record(3, 302, 20000000);
    shared.stats[0]->record(0, 404, 100);
    brisk::bump(shared.stats[1]->handler_errors[2]);
    brisk::set(shared.stats[0]->open, 3);
    brisk::set(shared.stats[0]->workers, 2);
    brisk::set(shared.stats[0]->workers_idle, 1);
    brisk::set(shared.stats[1]->open, 1);
    brisk::bump(shared.stats[1]->bytes_in, 100);
    brisk::bump(shared.stats[0]->bytes_out, 1000);
    brisk::bump(shared.stats[0]->rejected_per_ip);
    auto h = brisk::make_metrics_handler(names, &shared);
    auto r = call(*h);
    CHECK(r.status == 200);
    CHECK(std::string(r.headers).find("text/plain; version=0.0.4") != std::string::npos);
    std::string text(r.body);
    CHECK(has_line(text, "# TYPE brisk_requests_total counter"));
    CHECK(has_line(text, R"(brisk_requests_total{route="/a",code="2xx"} 2)"));
    CHECK(has_line(text, R"(brisk_requests_total{route="hello",code="5xx"} 1)"));
    CHECK(has_line(text, R"(brisk_requests_total{route="hello",code="3xx"} 1)"));
    CHECK(has_line(text, R"(brisk_requests_total{route="-",code="4xx"} 1)"));
    CHECK(has_line(text, R"(brisk_handler_errors_total{route="hello"} 1)"));
    CHECK(has_line(text, R"(brisk_request_duration_seconds_bucket{le="0.0001"} 2)"));
    CHECK(has_line(text, R"(brisk_request_duration_seconds_bucket{le="0.0005"} 3)"));
    CHECK(has_line(text, R"(brisk_request_duration_seconds_bucket{le="2.5"} 4)"));
    CHECK(has_line(text, R"(brisk_request_duration_seconds_bucket{le="10"} 4)"));
    CHECK(has_line(text, R"(brisk_request_duration_seconds_bucket{le="+Inf"} 5)"));
    CHECK(has_line(text, "brisk_request_duration_seconds_count 5"));
    CHECK(has_line(text, "brisk_request_duration_seconds_sum 22.000450"));
    CHECK(has_line(text, "brisk_connections_open 4"));
    CHECK(has_line(text, "brisk_connections_busy 1"));
    CHECK(has_line(text, "brisk_connections_idle 3"));
    CHECK(has_line(text, "brisk_workers 2"));
    CHECK(has_line(text, "brisk_workers_idle 1"));
    CHECK(has_line(text, "brisk_loops 2"));
    CHECK(has_line(text, "brisk_request_bytes_total 100"));
    CHECK(has_line(text, "brisk_response_bytes_total 1000"));
    CHECK(has_line(text, R"(brisk_rejected_connections_total{reason="per_ip"} 1)"));
    CHECK(has_line(text, R"(brisk_rejected_connections_total{reason="concurrency"} 0)"));
    CHECK(has_line(text, "brisk_access_log_dropped_lines_total 0"));
    CHECK(has_line(text, "brisk_config_reloads_total 0"));
    CHECK(text.find(R"(route="hello",code="2xx")") == text.rfind(R"(route="hello",code="2xx")"));  // one series
    CHECK(text.back() == '\n');
}
