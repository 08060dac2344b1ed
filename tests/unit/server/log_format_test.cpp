#include "server/log_format.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

#include "brisk/config.hpp"
#include "http/parser.hpp"

using brisk::alog::Format;
using brisk::alog::Record;
using brisk::alog::Renderer;

namespace {

Format compiled(std::string_view spec) {
    Format f;
    std::string error;
    INFO(spec);
    REQUIRE(brisk::alog::compile(spec, f, error));
    CHECK(error.empty());
    return f;
}

std::string refused(std::string_view spec) {
    Format f;
    std::string error;
    INFO(spec);
    REQUIRE_FALSE(brisk::alog::compile(spec, f, error));
    REQUIRE_FALSE(error.empty());
    CHECK(error.find('\n') == std::string::npos);
    return error;
}

// A parsed request whose views point into `head` (kept by the caller).
struct Parsed {
    explicit Parsed(std::string text) : head(std::move(text)) {
        auto r = brisk::http::parse_head(head.data(), head.size(), 16384, req);
        REQUIRE(r.kind == brisk::http::HeadResult::complete);
    }
    std::string head;
    brisk::http::Request req;
};

const std::uint8_t kIp4[4] = {192, 0, 2, 7};
const std::uint8_t kIp6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

Record record(const brisk::http::Request* req) {
    Record r;
    r.ip = kIp4;
    r.ip_len = 4;
    r.port = 40000;
    r.connection = (std::uint64_t{1} << 32) | 5;
    r.connection_requests = 3;
    r.loop = 1;
    r.req = req;
    r.status = 200;
    r.body_bytes = 13;
    r.bytes = 140;
    r.request_length = 78;
    r.duration_us = 1234;
    r.route = "/plaintext";
    r.now_s = 971186136;  // 2000-10-10T13:55:36Z
    return r;
}

std::string render(std::string_view spec, const Record& r) {
    Format f = compiled(spec);
    Renderer renderer;
    std::string out;
    renderer.render(f, r, out);
    REQUIRE(!out.empty());
    CHECK(out.back() == '\n');
    out.pop_back();
    return out;
}

struct UtcZone {
    UtcZone() {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};

}  // namespace

TEST_CASE("built-in formats: common and combined as nginx writes them", "[log_format]") {
    UtcZone utc;
    Parsed p("GET /plaintext?a=1 HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/8.0\r\nReferer: http://x/\r\n\r\n");
    Record r = record(&p.req);
    CHECK(render("common", r) == R"(192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] "GET /plaintext?a=1 HTTP/1.1" 200 13)");
    CHECK(render("combined", r) == R"(192.0.2.7 - - [10/Oct/2000:13:55:36 +0000] "GET /plaintext?a=1 HTTP/1.1" 200 13 )"
                                   R"("http://x/" "curl/8.0")");
}

TEST_CASE("every variable of a template", "[log_format]") {
    UtcZone utc;
    Parsed p("POST /up/load?x=1&y=2 HTTP/1.0\r\nHost: h.example:8080\r\nX-Trace-Id: abc\r\nContent-Length: 0\r\n\r\n");
    Record r = record(&p.req);
    CHECK(render("$remote_addr:$remote_port", r) == "192.0.2.7:40000");
    CHECK(render("$time_local|$time_iso8601", r) == "10/Oct/2000:13:55:36 +0000|2000-10-10T13:55:36+00:00");
    CHECK(render("$request", r) == "POST /up/load?x=1&y=2 HTTP/1.0");
    CHECK(render("$method $path $query $protocol $host", r) == "POST /up/load x=1&y=2 HTTP/1.0 h.example:8080");
    CHECK(render("$status $body_bytes_sent $bytes_sent $request_length", r) == "200 13 140 78");
    CHECK(render("$request_time_us $request_time", r) == "1234 0.001");
    CHECK(render("$connection $connection_requests $loop $route", r) == "4294967301 3 1 /plaintext");
    CHECK(render("${http_x_trace_id} $http_accept", r) == "abc -");
    CHECK(render("${status}ms$$ $$x", r) == "200ms$ $x");
    std::string msec = render("$msec", r);
    REQUIRE(msec.size() > 4);
    CHECK(msec[msec.size() - 4] == '.');
    CHECK(std::strtoull(msec.c_str(), nullptr, 10) > 1600000000ull);
}

TEST_CASE("addresses, missing values and requests that did not parse", "[log_format]") {
    UtcZone utc;
    Record r = record(nullptr);
    r.raw_line = "GARBAGE \"x\"\x01";
    r.route = {};
    r.status = 400;
    CHECK(render("$request|$method|$path|$host|$route|$http_user_agent", r) == R"(GARBAGE \x22x\x22\x01|-|-|-|-|-)");
    const std::uint8_t edge[3][4] = {{0, 0, 0, 0}, {255, 255, 255, 255}, {10, 100, 9, 200}};
    const char* edge_text[3] = {"0.0.0.0", "255.255.255.255", "10.100.9.200"};
    for (int i = 0; i < 3; ++i) {
        r.ip = edge[i];
        CHECK(render("$remote_addr", r) == edge_text[i]);
    }
    r.ip = kIp6;
    r.ip_len = 16;
    CHECK(render("$remote_addr", r) == "2001:db8::1");
    r.ip = nullptr;
    r.ip_len = 0;
    r.port = 0;
    CHECK(render("$remote_addr $remote_port", r) == "unix: 0");
    r.raw_line = {};
    CHECK(render("\"$request\"", r) == "\"-\"");
}

TEST_CASE("text values escape quotes, backslashes, control and non-ASCII bytes", "[log_format]") {
    Parsed p("GET /a HTTP/1.1\r\nHost: x\r\nUser-Agent: a\"b\\c\t\xc3\xa9\r\n\r\n");
    Record r = record(&p.req);
    CHECK(render("$http_user_agent", r) == R"(a\x22b\x5Cc\x09\xC3\xA9)");
}

TEST_CASE("json: valid JSON whatever the request holds", "[log_format]") {
    UtcZone utc;
    Parsed p(
        "GET /caf%C3%A9?q=\"x\" HTTP/1.1\r\nHost: x\r\nUser-Agent: \xc3\xa9t\xc3\xa9 \xff\xfe \"q\" \\ \t.\r\n\r\n");
    Record r = record(&p.req);
    std::string line = render("json", r);
    CHECK(line.front() == '{');
    CHECK(line.back() == '}');
    CHECK(line.find(R"("user_agent":"été \u00FF\u00FE \"q\" \\ \u0009.")") != std::string::npos);
    CHECK(line.find(R"("status":200,)") != std::string::npos);
    CHECK(line.find(R"("request":"GET /caf%C3%A9?q=\"x\" HTTP/1.1")") != std::string::npos);
    CHECK(line.find(R"("referer":"")") != std::string::npos);  // missing: empty, not "-"
    CHECK(line.find(R"("time":"2000-10-10T13:55:36+00:00")") != std::string::npos);
    CHECK(render(R"(escape=json {"m":"$method","a":"$http_accept"})", r) == R"({"m":"GET","a":""})");
    CHECK(render(R"(escape=default $http_accept)", r) == "-");
}

TEST_CASE("json escapes overlong, surrogate and truncated UTF-8", "[log_format]") {
    Parsed p("GET / HTTP/1.1\r\nHost: x\r\nX-A: \xc0\xaf \xed\xa0\x80 \xe2\x82 \xf0\x9f\x98\x80\r\n\r\n");
    Record r = record(&p.req);
    CHECK(render(R"(escape=json $http_x_a)", r) ==
          "\\u00C0\\u00AF \\u00ED\\u00A0\\u0080 \\u00E2\\u0082 \xf0\x9f\x98\x80");
}

TEST_CASE("templates are refused with a clear reason", "[log_format]") {
    CHECK(refused("$nope").find("unknown variable $nope") != std::string::npos);
    CHECK(refused("$nope").find("$remote_addr") != std::string::npos);
    CHECK(refused("x $").find("'$' must be followed by a variable name") != std::string::npos);
    CHECK(refused("$ x").find("$$") != std::string::npos);
    CHECK(refused("${status").find("closing '}'") != std::string::npos);
    CHECK(refused("${sta-tus}").find("bad variable name") != std::string::npos);
    CHECK(refused("a\nb").find("one line") != std::string::npos);
    CHECK(refused("").find("empty") != std::string::npos);
    CHECK(refused("escape=json ").find("empty") != std::string::npos);
    CHECK(refused("$http_").find("unknown variable $http_") != std::string::npos);
    std::string error;
    CHECK(brisk::check_access_log_format("combined", error));
    CHECK_FALSE(brisk::check_access_log_format("$bogus", error));
}

TEST_CASE("a template without variables is a literal line", "[log_format]") {
    Record r = record(nullptr);
    CHECK(render("hit", r) == "hit");
}

TEST_CASE("escaping finds a byte to escape at any position of a long value", "[log_format]") {
    for (char bad : {'"', '\\', '\x1f', '\x7f', '\x80', '\xff', '\0', '\t'}) {
        for (std::size_t at = 0; at < 24; ++at) {
            std::string raw(24, 'a');
            raw[3] = ' ';
            raw[9] = '~';
            raw[at] = bad;
            Record r = record(nullptr);
            r.raw_line = raw;
            std::string text = render("$request", r);
            std::string json = render("escape=json $request", r);
            INFO("byte " << static_cast<int>(static_cast<unsigned char>(bad)) << " at " << at);
            CHECK(text.size() == 23 + 4);
            CHECK(text.find("\\x") == at);
            CHECK(json.size() == 23 + (bad == '"' || bad == '\\' ? 2 : 6));
        }
    }
    Record r = record(nullptr);
    std::string clean = "GET /a-long/path/with/nothing/to/escape?q=1&r=~2 HTTP/1.1";
    r.raw_line = clean;
    CHECK(render("$request", r) == clean);
    CHECK(render("escape=json $request", r) == clean);
}
