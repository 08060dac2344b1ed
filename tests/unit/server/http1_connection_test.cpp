// The HTTP/1 state machine over a fake transport: what a connection does in
// each state for each event, with no socket and no backend.
#include "server/http1_connection.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "server/http1_connection_impl.hpp"
#include "server/loop.hpp"
#include "server/router.hpp"
#include "server/shared.hpp"

namespace brisk {

/** Moves a loop's clock, which only its run() would refresh. */
struct LoopProbe {
    static std::int64_t now(const Loop& l) { return l.now_ms_; }
    static void advance(Loop& l, std::int64_t ms) { l.now_ms_ += ms; }
    static void attach(Loop& l, Protocol* p) { l.proto_ = p; }
    /** What the loop does when woken: answers given later reach their connections. */
    static void take_completions(Loop& l) { l.take_completions(); }
};

namespace {

/** The far end of one fake connection: what the client sent, and what reached it. */
struct Wire {
    std::string in;     // sent by the client, not read yet
    bool eof = false;   // the client closed its side after `in`
    std::string out;    // what the server wrote
    bool full = false;  // the socket takes nothing now
    int sends = 0;      // send() calls that wrote something
    int watches = 0;
    bool shut = false;  // the server half-closed
    bool closed = false;
};

/** A transport of the shape server/transport.hpp describes, over a Wire. */
class FakeTransport {
public:
    explicit FakeTransport(Wire& wire) noexcept : wire_(&wire) {}

    void opened(Conn& c) noexcept { c.readable = true; }
    bool watch(Conn& c) noexcept {
        c.registered = true;
        ++wire_->watches;
        return true;
    }
    bool may_read(const Conn& c) const noexcept { return c.readable; }
    bool pull(Conn& c, Worker& w) {
        if (wire_->in.empty()) {
            if (wire_->eof) c.peer_closed = true;
            c.readable = false;
            return true;
        }
        char* at = w.input_space(w.read_want(), false);
        const std::size_t n = std::min(wire_->in.size(), w.in.capacity() - w.end);
        std::memcpy(at, wire_->in.data(), n);
        w.end += n;
        wire_->in.erase(0, n);
        if (wire_->in.empty() && !wire_->eof) c.readable = false;
        return true;
    }
    bool discard(Conn& c) noexcept {
        wire_->in.clear();
        if (wire_->eof) c.peer_closed = true;
        c.readable = false;
        return !c.peer_closed;
    }
    Sent send(Conn&, Worker& w, bool, bool) {
        if (wire_->full) return Sent::pending;
        OutBuffer& out = w.out;
        for (out.skip_empty(); !out.finished(); out.skip_empty()) {
            iovec iov[kMaxIov];
            const std::size_t n = out.gather(iov, kMaxIov);
            std::uint64_t bytes = 0;
            for (std::size_t i = 0; i < n; ++i) {
                wire_->out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
                bytes += iov[i].iov_len;
            }
            out.consume(bytes);
        }
        ++wire_->sends;
        return Sent::all;
    }
    bool output_in_flight(const Conn&) const noexcept { return false; }
    bool peer_gone(const Conn& c) const noexcept { return c.peer_closed || (wire_->eof && wire_->in.empty()); }
    void send_now(Conn&, std::string_view bytes) { wire_->out += bytes; }
    void shutdown_write(Conn&) noexcept { wire_->shut = true; }
    bool release(Conn&) noexcept { return true; }
    bool close(Conn&) noexcept {
        wire_->closed = true;
        return true;
    }

private:
    Wire* wire_;
};

/** A handler that suspends every request (what a plugin does with host->suspend). */
struct Suspender final : Handler {
    Loop* loop = nullptr;
    std::uint64_t last = 0;
    int cancels = 0;
    std::int64_t timeout_ms = 0;
    Outcome handle(HandlerCall& call) override {
        call.reply.later = last = Suspensions::get().suspend(*loop, const_cast<Conn&>(call.conn), on_cancel, this);
        call.reply.later_timeout_ms = timeout_ms;
        return Outcome::suspended;
    }
    static void on_cancel(void* self) { ++static_cast<Suspender*>(self)->cancels; }
};

Config config() {
    Config cfg;
    RouteConfig hello;
    hello.path = "/hello";
    hello.body = "hi";
    cfg.routes.push_back(hello);
    RouteConfig later;
    later.kind = RouteKind::plugin;
    later.path = "/later";
    later.plugin = "later";
    cfg.routes.push_back(later);
    cfg.max_request_body_size = 16;
    cfg.no_date_header = true;
    return cfg;
}

/** A loop (never run) and one connection of the state machine over a fake transport. */
struct Fixture {
    Config cfg = config();
    Suspender suspender;
    Router router{cfg, [this](const std::string&) -> Handler* { return &suspender; }};
    Shared shared;
    Loop loop{cfg, router, shared, 0, nullptr};
    Wire wire;
    Http1<FakeTransport> http1{loop, FakeTransport{wire}};
    Conn* conn = nullptr;

    Fixture() {
        LoopProbe::attach(loop, &http1);
        suspender.loop = &loop;
        conn = &http1.adopt(100);
        shared.open.fetch_add(1);  // as Loop::accepted counts it
        http1.start(*conn, false);
    }
    ~Fixture() {
        if (!wire.closed) http1.close(*conn);
    }
    Conn& c() { return *conn; }
    /** The client sends `bytes`; the transport reports input. */
    void send(std::string_view bytes) {
        wire.in += bytes;
        c().readable = true;
        http1.on_event(c(), kInput);
    }
    void client_closes() {
        wire.eof = true;
        c().readable = true;
        http1.on_event(c(), kInput);
    }
    /** The socket takes output again. */
    void drain() {
        wire.full = false;
        http1.on_event(c(), kOutput);
    }
    std::string take_output() {
        std::string s = std::move(wire.out);
        wire.out.clear();
        return s;
    }
};

constexpr std::string_view kHello = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";

int count(const std::string& s, std::string_view what) {
    int n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("http1: a new connection with nothing sent waits idle, without a worker", "[http1]") {
    Fixture f;
    CHECK(f.c().state == ConnState::idle);
    CHECK(f.c().timer == TimerKind::idle);
    CHECK(f.c().worker == nullptr);
    CHECK(f.wire.watches == 1);
    CHECK(f.wire.out.empty());
}

TEST_CASE("http1: a request is answered and the connection goes back to idle", "[http1]") {
    Fixture f;
    f.send(kHello);
    const std::string out = f.take_output();
    CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(out.size() >= 2);
    CHECK(out.substr(out.size() - 2) == "hi");
    CHECK(f.c().state == ConnState::idle);
    CHECK(f.c().timer == TimerKind::idle);
    CHECK(f.c().worker == nullptr);
    CHECK(f.c().requests == 1);

    // The idle deadline runs from the last answer.
    LoopProbe::advance(f.loop, 100);
    f.send(kHello);
    CHECK(f.c().deadline_ms == LoopProbe::now(f.loop) + f.cfg.idle_timeout.count());
    CHECK(f.c().requests == 2);
}

TEST_CASE("http1: pipelined requests are answered in order, in one send", "[http1]") {
    Fixture f;
    f.send(std::string(kHello) + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" + std::string(kHello));
    const std::string out = f.take_output();
    CHECK(f.wire.sends == 1);
    const auto first = out.find("200 OK"), second = out.find("404 Not Found"), third = out.rfind("200 OK");
    REQUIRE(first != std::string::npos);
    REQUIRE(second != std::string::npos);
    CHECK(first < second);
    CHECK(second < third);
    CHECK(f.c().requests == 3);
    CHECK(f.c().state == ConnState::idle);
}

TEST_CASE("http1: a partial request waits under its read deadline, which later bytes do not restart", "[http1]") {
    Fixture f;
    f.send("GET /hello HTTP/1.1\r\n");
    CHECK(f.c().state == ConnState::reading);
    REQUIRE(f.c().timer == TimerKind::read);
    CHECK(f.c().worker != nullptr);
    const std::int64_t deadline = f.c().deadline_ms;
    CHECK(deadline == LoopProbe::now(f.loop) + f.cfg.read_timeout.count());
    LoopProbe::advance(f.loop, 100);
    f.send("Host: x\r\n");
    CHECK(f.c().state == ConnState::reading);
    CHECK(f.c().deadline_ms == deadline);
    CHECK(f.wire.out.empty());

    // The deadline passes: 408, then the half-closed connection lingers.
    f.http1.on_timeout(f.c());
    CHECK(f.take_output().rfind("HTTP/1.1 408 Request Timeout\r\n", 0) == 0);
    CHECK(f.c().state == ConnState::lingering);
    CHECK(f.c().timer == TimerKind::linger);
    CHECK(f.wire.shut);
    CHECK_FALSE(f.wire.closed);
}

TEST_CASE("http1: the rest of a request completes it", "[http1]") {
    Fixture f;
    f.send("GET /hello HTTP/1.1\r\nHo");
    CHECK(f.c().state == ConnState::reading);
    f.send("st: x\r\n\r\n");
    CHECK(f.take_output().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(f.c().state == ConnState::idle);
}

TEST_CASE("http1: a full socket moves the connection to writing until the output leaves", "[http1]") {
    Fixture f;
    f.wire.full = true;
    f.send(kHello);
    CHECK(f.c().state == ConnState::writing);
    CHECK(f.c().timer == TimerKind::write);
    CHECK(f.wire.out.empty());

    // Input while writing waits until the answers before it have left.
    f.send(kHello);
    CHECK(f.c().requests == 1);
    CHECK(f.c().state == ConnState::writing);

    f.drain();
    const std::string out = f.take_output();
    CHECK(count(out, "HTTP/1.1 200 OK\r\n") == 2);
    CHECK(f.c().requests == 2);
    CHECK(f.c().state == ConnState::idle);
    CHECK(f.c().timer == TimerKind::idle);
}

TEST_CASE("http1: a bad request gets 400, then lingers discarding input until the client closes", "[http1]") {
    Fixture f;
    f.send("BAD\r\n\r\n" + std::string(kHello));
    const std::string out = f.take_output();
    CHECK(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
    CHECK(count(out, "HTTP/1.1") == 1);  // nothing after the bad request is answered
    CHECK(f.c().state == ConnState::lingering);
    CHECK(f.wire.shut);
    CHECK(f.c().worker == nullptr);

    f.send(kHello);  // discarded
    CHECK(f.wire.out.empty());
    CHECK(f.c().state == ConnState::lingering);
    CHECK(f.wire.in.empty());

    f.client_closes();
    CHECK(f.wire.closed);
    CHECK(f.c().state == ConnState::closed);
}

TEST_CASE("http1: Connection: close closes after the answer, without lingering when nothing more came", "[http1]") {
    Fixture f;
    f.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string out = f.take_output();
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK(f.wire.closed);
    CHECK_FALSE(f.wire.shut);
}

TEST_CASE("http1: an HTTP/1.0 request without keep-alive ends the connection", "[http1]") {
    Fixture f;
    f.send("GET /hello HTTP/1.0\r\n\r\n");
    CHECK(f.take_output().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(f.wire.closed);
}

TEST_CASE("http1: a body over the limit gets 413 before it is read", "[http1]") {
    Fixture f;
    f.send("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n");
    CHECK(f.take_output().rfind("HTTP/1.1 413 Content Too Large\r\n", 0) == 0);
    CHECK(f.c().state == ConnState::lingering);
}

TEST_CASE("http1: a body within the limit is read whole; Expect: 100-continue is answered once", "[http1]") {
    Fixture f;
    f.send("POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    CHECK(f.take_output() == "HTTP/1.1 100 Continue\r\n\r\n");
    CHECK(f.c().state == ConnState::reading);
    f.send("01234");
    CHECK(f.wire.out.empty());
    f.send("56789");
    CHECK(f.take_output().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(f.c().state == ConnState::idle);
}

TEST_CASE("http1: the client's EOF while idle closes the connection", "[http1]") {
    Fixture f;
    f.client_closes();
    CHECK(f.wire.closed);
    CHECK(f.c().state == ConnState::closed);
    CHECK(f.wire.out.empty());
}

TEST_CASE("http1: a request followed by EOF is answered, then the connection closes", "[http1]") {
    Fixture f;
    f.wire.eof = true;
    f.send(kHello);
    CHECK(f.take_output().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(f.wire.closed);
}

TEST_CASE("http1: a failed socket closes the connection in any state", "[http1]") {
    Fixture f;
    f.send("GET /hel");
    REQUIRE(f.c().state == ConnState::reading);
    f.http1.on_event(f.c(), kFailed);
    CHECK(f.wire.closed);
    CHECK(f.c().state == ConnState::closed);
    CHECK(f.c().worker == nullptr);
}

TEST_CASE("http1: an idle deadline closes silently; a write deadline closes", "[http1]") {
    SECTION("idle") {
        Fixture f;
        f.http1.on_timeout(f.c());
        CHECK(f.wire.closed);
        CHECK(f.wire.out.empty());
    }
    SECTION("write") {
        Fixture f;
        f.wire.full = true;
        f.send(kHello);
        REQUIRE(f.c().timer == TimerKind::write);
        f.http1.on_timeout(f.c());
        CHECK(f.wire.closed);
    }
}

TEST_CASE("http1: a refused connection gets its answer, then lingers", "[http1]") {
    Fixture f;
    f.http1.refuse(f.c(), "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n");
    CHECK(f.take_output().rfind("HTTP/1.1 503", 0) == 0);
    CHECK(f.c().state == ConnState::lingering);
    CHECK(f.wire.shut);
    f.client_closes();
    CHECK(f.wire.closed);
}

TEST_CASE("http1: --max-requests-per-conn closes after the last allowed answer", "[http1]") {
    Fixture f;
    f.cfg.max_requests_per_conn = 2;
    f.send(std::string(kHello) + std::string(kHello) + std::string(kHello));
    const std::string out = f.take_output();
    CHECK(count(out, "HTTP/1.1 200 OK\r\n") == 2);
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK(f.c().state == ConnState::lingering);  // the third request was unread input
}

namespace {

std::unique_ptr<LaterAnswer> later_answer(std::uint16_t status, std::string body) {
    auto a = std::make_unique<LaterAnswer>();
    a->status = status;
    a->headers = "X-Later: yes\r\n";
    a->body = std::move(body);
    return a;
}

constexpr std::string_view kLater = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n";

}  // namespace

TEST_CASE("http1: a suspended request is answered once, later, and the next request waits for it", "[http1][later]") {
    Fixture f;
    f.send(std::string(kLater) + std::string(kHello));
    CHECK(f.c().state == ConnState::handling);
    CHECK(f.c().timer == TimerKind::none);
    CHECK(f.wire.out.empty());
    const std::uint64_t handle = f.suspender.last;
    REQUIRE(handle != 0);

    CHECK(Suspensions::get().resume(handle, later_answer(201, "made\n")));
    CHECK_FALSE(Suspensions::get().resume(handle, later_answer(202, "again\n")));  // once
    CHECK(f.wire.out.empty());  // delivered on the loop, not in the caller's thread
    LoopProbe::take_completions(f.loop);
    const std::string out = f.take_output();
    REQUIRE(out.rfind("HTTP/1.1 201 Created\r\n", 0) == 0);
    CHECK(out.find("X-Later: yes\r\n") != std::string::npos);
    CHECK(out.find("made\n") != std::string::npos);
    CHECK(count(out, "HTTP/1.1 200 OK\r\n") == 1);  // the pipelined request, after it
    CHECK(out.find("made\n") < out.find("HTTP/1.1 200 OK"));
    CHECK(f.c().state == ConnState::idle);
    CHECK(f.suspender.cancels == 0);
}

TEST_CASE("http1: a suspended request whose client leaves is cancelled once; a late answer is refused",
          "[http1][later]") {
    Fixture f;
    f.send(kLater);
    REQUIRE(f.c().state == ConnState::handling);
    const std::uint64_t handle = f.suspender.last;
    f.client_closes();
    CHECK(f.wire.closed);
    CHECK(f.suspender.cancels == 1);
    CHECK_FALSE(Suspensions::get().resume(handle, later_answer(200, "late\n")));
    LoopProbe::take_completions(f.loop);
    CHECK(f.wire.out.empty());
}

TEST_CASE("http1: an answer on its way when the client leaves is dropped, without a cancel", "[http1][later]") {
    Fixture f;
    f.send(kLater);
    REQUIRE(Suspensions::get().resume(f.suspender.last, later_answer(200, "late\n")));
    f.client_closes();
    CHECK(f.wire.closed);
    CHECK(f.suspender.cancels == 0);      // resume() returned 0: the plugin is not told
    LoopProbe::take_completions(f.loop);  // the answer finds its request gone
    CHECK(f.wire.out.empty());
}

TEST_CASE("http1: a suspended request past its handler timeout gets 503 and the connection goes on", "[http1][later]") {
    Fixture f;
    f.suspender.timeout_ms = 250;
    f.send(kLater);
    REQUIRE(f.c().timer == TimerKind::handler);
    CHECK(f.c().deadline_ms == LoopProbe::now(f.loop) + 250);
    const std::uint64_t handle = f.suspender.last;
    f.http1.on_timeout(f.c());
    CHECK(f.take_output().rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
    CHECK(f.suspender.cancels == 1);
    CHECK(f.c().state == ConnState::idle);
    CHECK_FALSE(Suspensions::get().resume(handle, later_answer(200, "late\n")));
    f.send(kHello);
    CHECK(f.take_output().rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("http1: handler timeouts of different lengths expire in deadline order", "[http1][later]") {
    TimerList list;
    Conn a, b, c;
    a.deadline_ms = 300;
    b.deadline_ms = 100;
    c.deadline_ms = 200;
    list.insert_sorted(a);
    list.insert_sorted(b);
    list.insert_sorted(c);
    CHECK(list.front() == &b);
    list.erase(b);
    CHECK(list.front() == &c);
    list.erase(c);
    CHECK(list.front() == &a);
    list.erase(a);
    CHECK(list.front() == nullptr);
}

}  // namespace brisk
