// brisk — the first-party plugins (plugins/hello, echo, delay, sse, upload), loaded from
// their built .so files with dlopen and driven through the fake host.
#include <brisk/plugin_testing.hpp>

#include <catch2/catch.hpp>

#include <string>

using brisk::testing::FakeConfig;
using brisk::testing::FakeHost;
using brisk::testing::FakeRequest;

TEST_CASE("hello: descriptor", "[plugins][hello]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_HELLO_SO);
    INFO(host.error());
    REQUIRE(d != nullptr);
    CHECK(std::string(d->name) == "hello");
    CHECK(std::string(d->version) == "1.0.0");
    CHECK(d->capabilities == 0);
}

TEST_CASE("hello: GET /plaintext and /json, TechEmpower style", "[plugins][hello]") {
    FakeHost host;
    auto hello = host.create(host.load(BRISK_TEST_HELLO_SO));
    REQUIRE(hello);

    const auto plain = hello.handle(FakeRequest("GET", "/plaintext"));
    CHECK(plain.result == BRISK_DONE);
    CHECK(plain.misuse.empty());
    CHECK(plain.status == 200);
    CHECK(plain.header("Content-Type") == std::optional<std::string>("text/plain"));
    CHECK(plain.headers.size() == 1);
    CHECK(plain.body == "Hello, World!");

    const auto json = hello.handle(FakeRequest("GET", "/json"));
    CHECK(json.result == BRISK_DONE);
    CHECK(json.misuse.empty());
    CHECK(json.status == 200);
    CHECK(json.header("Content-Type") == std::optional<std::string>("application/json"));
    CHECK(json.body == R"({"message":"Hello, World!"})");

    // Matched on the end of the path, under any prefix; the query is not part of the path.
    CHECK(hello.handle(FakeRequest("GET", "/bench/plaintext?x=1")).body == "Hello, World!");
    CHECK(hello.handle(FakeRequest("GET", "/api/json")).body == R"({"message":"Hello, World!"})");
    CHECK(hello.handle(FakeRequest("HEAD", "/plaintext")).result == BRISK_DONE);
}

TEST_CASE("hello: declines other paths and methods", "[plugins][hello]") {
    FakeHost host;
    auto hello = host.create(host.load(BRISK_TEST_HELLO_SO));
    REQUIRE(hello);
    for (const char* target : {"/", "/plaintext/", "/jsonx", "/other", "/plaintext.txt"}) {
        INFO(target);
        const auto res = hello.handle(FakeRequest("GET", target));
        CHECK(res.result == BRISK_DECLINE);
        CHECK(res.body_calls.empty());
        CHECK(res.headers.empty());
    }
    CHECK(hello.handle(FakeRequest("POST", "/plaintext", {}, "x")).result == BRISK_DECLINE);
    CHECK(hello.handle(FakeRequest("DELETE", "/json")).result == BRISK_DECLINE);
}

TEST_CASE("hello: greeting from the config, escaped in JSON", "[plugins][hello]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_HELLO_SO);
    REQUIRE(d != nullptr);
    auto hello = host.create(d, FakeConfig().string("greeting", "Hi \"there\"\\\n\x01"));
    REQUIRE(hello);
    CHECK(hello.handle(FakeRequest("GET", "/plaintext")).body == "Hi \"there\"\\\n\x01");
    CHECK(hello.handle(FakeRequest("GET", "/json")).body == R"({"message":"Hi \"there\"\\\n\u0001"})");

    auto empty = host.create(d, FakeConfig().string("greeting", ""));
    REQUIRE(empty);
    CHECK(empty.handle(FakeRequest("GET", "/json")).body == R"({"message":""})");
}

TEST_CASE("hello: a greeting that is not a string fails with its place", "[plugins][hello]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_HELLO_SO);
    REQUIRE(d != nullptr);
    auto hello = host.create(d, FakeConfig("brisk.toml").integer("greeting", 5).at("greeting", "brisk.toml:9:12"));
    CHECK_FALSE(hello);
    CHECK(hello.error() == "brisk.toml:9:12: greeting: expected a string, found an integer");
}

TEST_CASE("echo: method, target, fields and body, exactly", "[plugins][echo]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_ECHO_SO);
    INFO(host.error());
    REQUIRE(d != nullptr);
    CHECK(std::string(d->name) == "echo");
    auto echo = host.create(d);
    REQUIRE(echo);

    const std::string body("binary\0body\r\n", 13);
    const auto res = echo.handle(FakeRequest(
        "POST", "/echo/x?a=1&b=%20",
        {{"Host", "example.com"}, {"Content-Type", "application/octet-stream"}, {"X-Dup", "1"}, {"x-dup", ""}}, body));
    CHECK(res.result == BRISK_DONE);
    CHECK(res.misuse.empty());
    CHECK(res.status == 200);
    CHECK(res.header("Content-Type") == std::optional<std::string>("text/plain"));
    CHECK(res.body ==
          "POST /echo/x?a=1&b=%20 HTTP/1.1\n"
          "Host: example.com\n"
          "Content-Type: application/octet-stream\n"
          "X-Dup: 1\n"
          "x-dup: \n"
          "\n" +
              body);
}

TEST_CASE("echo: HTTP/1.0, no fields, no body; every method", "[plugins][echo]") {
    FakeHost host;
    auto echo = host.create(host.load(BRISK_TEST_ECHO_SO));
    REQUIRE(echo);
    FakeRequest req("GET", "/");
    req.http_minor = 0;
    CHECK(echo.handle(req).body == "GET / HTTP/1.0\n\n");
    for (const char* method : {"PUT", "DELETE", "OPTIONS", "PATCH"}) {
        const auto res = echo.handle(FakeRequest(method, "*"));
        CHECK(res.result == BRISK_DONE);
        CHECK(res.body == std::string(method) + " * HTTP/1.1\n\n");
    }
}

TEST_CASE("delay: answers from a loop timer after the delay; the client leaving drops the timer", "[plugins][delay]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_DELAY_SO);
    INFO(host.error());
    REQUIRE(d != nullptr);
    CHECK(d->min_host_minor == 1);
    auto delay = host.create(d);
    REQUIRE(delay);

    const auto res = delay.handle(FakeRequest("GET", "/delay?ms=100"));
    CHECK(res.result == BRISK_DONE);
    CHECK(res.misuse.empty());
    REQUIRE(res.suspended != 0);
    CHECK(host.pending_timers() == 1);
    CHECK(host.advance(99) == 0);
    CHECK(host.advance(1) == 1);
    const auto answer = host.later(res.suspended);
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(answer->body == "waited 100 ms\n");

    const auto gone = delay.handle(FakeRequest("GET", "/delay?ms=0"));
    REQUIRE(gone.suspended != 0);
    CHECK(host.cancel(gone.suspended));
    CHECK(host.pending_timers() == 0);
    CHECK_FALSE(host.later(gone.suspended));
}

TEST_CASE("delay: a missing or bad ms is 400", "[plugins][delay]") {
    FakeHost host;
    auto delay = host.create(host.load(BRISK_TEST_DELAY_SO));
    REQUIRE(delay);
    for (const char* target : {"/delay", "/delay?ms=", "/delay?ms=x", "/delay?ms=60001", "/delay?ms=-5"}) {
        INFO(target);
        const auto res = delay.handle(FakeRequest("GET", target));
        CHECK(res.result == BRISK_DONE);
        CHECK(res.status == 400);
        CHECK(res.suspended == 0);
        CHECK(host.pending_timers() == 0);
    }
}

TEST_CASE("sse: one event per interval from a loop timer, a full stream waits for the drain", "[plugins][sse]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_SSE_SO);
    INFO(host.error());
    REQUIRE(d != nullptr);
    auto sse = host.create(d, FakeConfig().integer("interval", 100).integer("count", 3));
    REQUIRE(sse);

    const auto res = sse.handle(FakeRequest("GET", "/events"));
    CHECK(res.result == BRISK_DONE);
    CHECK(res.misuse.empty());
    REQUIRE(res.suspended != 0);
    auto head = host.later(res.suspended);
    REQUIRE(head);
    CHECK(head->streamed);
    CHECK(head->status == 200);
    CHECK(head->headers == std::vector<std::pair<std::string, std::string>>{{"Content-Type", "text/event-stream"},
                                                                            {"Cache-Control", "no-cache"}});
    CHECK(head->body.empty());
    CHECK(host.advance(99) == 0);
    CHECK(host.advance(1) == 1);
    CHECK(host.later(res.suspended)->body == "data: 0\n\n");

    // A client that reads nothing: the next event finds the stream full and waits.
    host.stream_bound = 9;
    CHECK(host.advance(100) == 1);
    CHECK(host.later(res.suspended)->body == "data: 0\n\n");
    CHECK(host.pending_timers() == 0);
    CHECK(host.client_read(res.suspended));  // the drain: the waiting event goes, the next is timed
    CHECK(host.later(res.suspended)->body == "data: 0\n\ndata: 1\n\n");
    CHECK(host.pending_timers() == 1);
    host.client_read(res.suspended);
    CHECK(host.advance(100) == 1);
    const auto done = host.later(res.suspended);
    CHECK(done->body == "data: 0\n\ndata: 1\n\ndata: 2\n\n");
    CHECK(done->ended);
    CHECK(host.pending_timers() == 0);
}

TEST_CASE("sse: the client leaving drops the timer; HEAD ends at once; other methods 405", "[plugins][sse]") {
    FakeHost host;
    auto sse = host.create(host.load(BRISK_TEST_SSE_SO), FakeConfig().string("interval", "2s"));
    REQUIRE(sse);
    const auto gone = sse.handle(FakeRequest("GET", "/events"));
    REQUIRE(gone.suspended != 0);
    CHECK(host.pending_timers() == 1);
    CHECK(host.cancel(gone.suspended));
    CHECK(host.pending_timers() == 0);

    const auto head = sse.handle(FakeRequest("HEAD", "/events"));
    REQUIRE(head.suspended != 0);
    const auto answer = host.later(head.suspended);
    REQUIRE(answer);
    CHECK(answer->ended);
    CHECK(answer->body.empty());
    CHECK(host.pending_timers() == 0);

    const auto post = sse.handle(FakeRequest("POST", "/events"));
    CHECK(post.status == 405);
    CHECK(post.suspended == 0);
}

TEST_CASE("sse: a bad interval or count fails create with its place", "[plugins][sse]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_SSE_SO);
    REQUIRE(d != nullptr);
    for (auto config : {FakeConfig().string("interval", "soon"), FakeConfig().integer("interval", 0),
                        FakeConfig().string("interval", "2h"), FakeConfig().integer("count", -1),
                        FakeConfig().boolean("count", true)}) {
        auto sse = host.create(d, std::move(config));
        CHECK_FALSE(sse);
        CHECK_THAT(sse.error(), Catch::Contains("test.toml"));
    }
}

TEST_CASE("upload: the SHA-256 of a body read piece by piece; none for an empty body", "[plugins][upload]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(BRISK_TEST_UPLOAD_SO);
    INFO(host.error());
    REQUIRE(d != nullptr);
    CHECK((d->capabilities & BRISK_CAP_BODY_STREAM) != 0);
    auto upload = host.create(d);
    REQUIRE(upload);

    const auto empty = upload.handle(FakeRequest("GET", "/up"));
    CHECK(empty.suspended == 0);
    CHECK(empty.body == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n");

    const std::string body(100000, 'a');
    const auto res = upload.handle(FakeRequest("POST", "/up").header("Content-Length", "100000").with_body(body));
    CHECK(res.result == BRISK_DONE);
    CHECK(res.misuse.empty());
    REQUIRE(res.suspended != 0);
    CHECK_FALSE(host.later(res.suspended));
    CHECK(host.feed_body(res.suspended, 7000) == 15);  // 14 full pieces and the last
    const auto answer = host.later(res.suspended);
    REQUIRE(answer);
    CHECK(answer->status == 200);
    // sha256sum of 100000 'a's
    CHECK(answer->body == "6d1cf22d7cc09b085dfc25ee1a1f3ae0265804c607bc2074ad253bcc82fd81ee\n");
}

TEST_CASE("upload: over max_size, from the head or as a chunked body passes it; the client leaving",
          "[plugins][upload]") {
    FakeHost host;
    auto upload = host.create(host.load(BRISK_TEST_UPLOAD_SO), FakeConfig().integer("max_size", 1000));
    REQUIRE(upload);
    const auto head =
        upload.handle(FakeRequest("POST", "/up").header("Content-Length", "5000").with_body(std::string(5000, 'x')));
    CHECK(head.status == 413);
    CHECK(head.suspended == 0);

    const auto chunked = upload.handle(
        FakeRequest("POST", "/up").header("Transfer-Encoding", "chunked").with_body(std::string(5000, 'x')));
    REQUIRE(chunked.suspended != 0);
    host.feed_body(chunked.suspended, 600);
    const auto answer = host.later(chunked.suspended);
    REQUIRE(answer);
    CHECK(answer->status == 413);

    const auto gone =
        upload.handle(FakeRequest("POST", "/up").header("Content-Length", "500").with_body(std::string(500, 'y')));
    REQUIRE(gone.suspended != 0);
    CHECK(host.cancel(gone.suspended));  // the plugin frees its state (ASan builds would see a leak)
    CHECK(host.feed_body(gone.suspended) == 0);
}

namespace {

/** A client's masked frame (RFC 6455 5.2) with a payload under 126 bytes. */
std::string client_frame(unsigned opcode, std::string_view payload) {
    const unsigned char mask[4] = {0x11, 0x22, 0x33, 0x44};
    std::string f;
    f += static_cast<char>(0x80 | opcode);
    f += static_cast<char>(0x80 | payload.size());
    for (unsigned char m : mask) f += static_cast<char>(m);
    for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
    return f;
}

FakeRequest ws_handshake() {
    return FakeRequest("GET", "/ws")
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
}

}  // namespace

TEST_CASE("websocket: the handshake, an echoed message, ping and close, through the fake host",
          "[plugins][websocket]") {
    FakeHost host;
    auto ws = host.create(host.load(BRISK_TEST_WEBSOCKET_SO), FakeConfig().integer("idle_timeout", 5000));
    REQUIRE(ws);
    const auto res = ws.handle(ws_handshake());
    REQUIRE(res.suspended != 0);
    auto answer = host.later(res.suspended);
    REQUIRE(answer);
    CHECK(answer->upgraded);
    CHECK(answer->status == 101);
    CHECK(answer->idle_timeout_ms == 5000);
    bool accept = false;
    for (const auto& [name, value] : answer->headers)
        accept = accept || (name == "Sec-WebSocket-Accept" && value == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(accept);  // RFC 6455 1.3's example key and answer

    REQUIRE(host.client_send(res.suspended, client_frame(0x1, "hi")));
    CHECK(host.later(res.suspended)->body == std::string("\x81\x02hi", 4));
    REQUIRE(host.client_send(res.suspended, client_frame(0x9, "p")));
    CHECK(host.later(res.suspended)->body.substr(4) == std::string("\x8a\x01p", 3));  // the pong
    REQUIRE(host.client_send(res.suspended, client_frame(0x8, "\x03\xe8")));          // close 1000
    answer = host.later(res.suspended);
    CHECK(answer->body.substr(7) == std::string("\x88\x02\x03\xe8", 4));
    CHECK(answer->ended);
    CHECK_FALSE(host.client_send(res.suspended, client_frame(0x1, "late")));
}

TEST_CASE("websocket: a request without the upgrade fields is 400, never upgraded", "[plugins][websocket]") {
    FakeHost host;
    auto ws = host.create(host.load(BRISK_TEST_WEBSOCKET_SO));
    REQUIRE(ws);
    const auto res = ws.handle(FakeRequest("GET", "/ws"));
    CHECK(res.status == 400);
    CHECK(res.suspended == 0);
}
