// brisk — plugin.hpp through the fake host: trampolines (exceptions never
// cross the ABI), optional hooks, config accessors, request and response
// wrappers. This executable also defines the one entry point a test may link
// (BRISK_PLUGIN_BLOCKING below).
#include <brisk/plugin.hpp>
#include <brisk/plugin_testing.hpp>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using brisk::testing::FakeConfig;
using brisk::testing::FakeHost;
using brisk::testing::FakeRequest;

namespace {

// ---- plugins under test ------------------------------------------------------

std::atomic<int> g_destroyed{0};

/** Throws from whatever the request asks for; otherwise answers "ok". */
struct Thrower {
    explicit Thrower(brisk::PluginConfig& cfg) {
        if (cfg.boolean("throw_in_create").value_or(false)) throw std::runtime_error("create failed on purpose");
        if (cfg.boolean("throw_int_in_create").value_or(false)) throw 42;
    }
    ~Thrower() { ++g_destroyed; }

    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        if (req.path() == "/throw") throw std::runtime_error("handle failed on purpose");
        if (req.path() == "/throw-int") throw 7;
        if (req.path() == "/bad-header") res.header("Content-Length", "1");  // the host's field: refused, throws
        if (req.path() == "/oom") (void)req.arena<char>(std::size_t{1} << 40);
        res.write("ok");
        return brisk::Result::done;
    }

    int loop_init(std::uint32_t loop) const {
        if (loop == 1) throw std::runtime_error("loop_init failed on purpose");
        return loop == 2 ? 5 : 0;
    }
    void loop_fini(std::uint32_t loop) const {
        if (loop == 1) throw std::logic_error("loop_fini failed on purpose");
    }
};

/** No config, no hooks, handle() returning void. */
struct Minimal {
    void handle(brisk::Request&, brisk::Response& res) const { res.write("minimal"); }
};

/** bool loop_init. */
struct BoolInit {
    bool loop_init(std::uint32_t loop) const { return loop == 0; }
    brisk::Result handle(brisk::Request&, brisk::Response&) const { return brisk::Result::decline; }
};

/** What ConfigReader saw in its config. */
struct SeenConfig {
    std::optional<std::string> s, missing_s, wrong_s;
    std::optional<std::int64_t> i;
    std::optional<bool> b;
    std::optional<double> d, d_from_int;
    bool has_s = false, has_missing = false;
    std::string where_s, where_table;
};

/** Reads every kind of config value into `seen`, to be checked by the test. */
struct ConfigReader {
    static inline SeenConfig seen;

    explicit ConfigReader(brisk::PluginConfig& cfg) {
        seen.s = cfg.string("s");
        seen.missing_s = cfg.string("nope");
        seen.wrong_s = cfg.string("i");
        seen.i = cfg.integer("i");
        seen.b = cfg.boolean("b");
        seen.d = cfg.number("d");
        seen.d_from_int = cfg.number("i");
        seen.has_s = cfg.has("s");
        seen.has_missing = cfg.has("nope");
        seen.where_s = cfg.where("s");
        seen.where_table = cfg.where();
        if (auto limit = cfg.integer("limit"); limit && *limit < 0) cfg.fail("limit", "must not be negative");
    }
    brisk::Result handle(brisk::Request&, brisk::Response&) const { return brisk::Result::done; }
};

/** Reflects the request through the wrapper's accessors. */
struct Inspector {
    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        std::string out;
        auto line = [&out](std::string_view k, std::string_view v) {
            out.append(k).append("=").append(v).append("\n");
        };
        line("method", req.method());
        line("target", req.target());
        line("path", req.path());
        line("query", req.query());
        line("host", req.host());
        line("body", req.body());
        line("remote", req.remote_addr());
        line("x1", req.header("x-multi").value_or("-"));
        line("x2", req.header("X-MULTI", 1).value_or("-"));
        line("x3", req.header("x-multi", 2).value_or("-"));
        line("q", req.query_arg("q").value_or("-"));
        line("empty", req.query_arg("empty").value_or("-"));
        line("none", req.query_arg("none").value_or("-"));
        line("sid", req.cookie("sid").value_or("-"));
        line("theme", req.cookie("theme").value_or("-"));
        std::size_t n = 0;
        for (const brisk::Header h : req.headers()) {
            line(h.name, h.value);
            ++n;
        }
        line("count", std::to_string(n) + "/" + std::to_string(req.headers().size()));
        line("minor", std::to_string(req.http_minor()));
        // Memory from the arena: aligned, and a copy survives its source.
        auto* words = req.arena<std::uint64_t>(3);
        line("aligned", reinterpret_cast<std::uintptr_t>(words) % 16 == 0 ? "yes" : "no");
        line("copy", req.arena_copy(req.path()));
        // The per-request slot starts empty and keeps what is put there.
        line("slot", req.slot() == nullptr ? "null" : "set");
        req.slot() = words;
        line("slot2", req.slot() == words ? "kept" : "lost");
        res.status(201).header("X-Test", "1").content_type("text/plain").write(out);
        return brisk::Result::done;
    }
};

/** Exercises every body call of Response. */
struct Bodies {
    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        const std::string_view p = req.path();
        if (p == "/mixed") {
            static constexpr std::string_view kStatic = "static,";
            res.write("copy,").write_ref(kStatic).write_ref(std::string("owned-string-longer-than-sso,"));
            res.write_ref(std::make_shared<const std::string>("shared,")).write("end");
        } else if (p == "/stream") {
            res.header("X-Stream", "yes").stream("one,").stream("two");
        } else if (p == "/stream-then-write") {
            res.stream("one");
            res.write("two");  // refused: throws
        } else if (p == "/header-after-body") {
            res.write("x").header("X-After", "1");  // fine: the head is sent when handle() returns
        } else if (p == "/header-after-stream") {
            res.stream("x");
            res.header("X-Late", "1");  // refused: the head is gone, throws
        } else if (p == "/status-after-body") {
            res.write("x");
            res.status(404);  // refused: throws
        } else if (p == "/status-out-of-range") {
            res.status(99);
        } else if (p == "/file") {
            char path[] = "/tmp/brisk-plugin-test-XXXXXX";
            const int fd = ::mkstemp(path);
            if (fd < 0) return brisk::Result::error;
            ::unlink(path);
            const std::string_view text = "0123456789";
            if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) return brisk::Result::error;
            res.write("[").send_file(fd, 2, 5).write("]");
        }
        return brisk::Result::done;
    }
};

/** Wrong on purpose: hands arena memory to write_ref, which may outlive the arena. */
struct ArenaRef {
    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        res.write_ref(req.arena_copy("arena bytes"));
        return brisk::Result::done;
    }
};

}  // namespace

BRISK_PLUGIN_BLOCKING(Thrower, "thrower", "0.1.0")

// ---- tests -----------------------------------------------------------------------

TEST_CASE("BRISK_PLUGIN: the entry point returns a complete descriptor", "[plugins][wrapper]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(&brisk_plugin_entry_v1);
    REQUIRE(d != nullptr);
    CHECK(d->size == sizeof(brisk_plugin_descriptor));
    CHECK(d->abi_major == BRISK_PLUGIN_ABI_MAJOR);
    CHECK(d->abi_minor == BRISK_PLUGIN_ABI_MINOR);
    CHECK(d->min_host_minor == 0);
    CHECK(std::string(d->name) == "thrower");
    CHECK(std::string(d->version) == "0.1.0");
    CHECK(d->capabilities == BRISK_CAP_BLOCKING);
    CHECK(d->create != nullptr);
    CHECK(d->handle != nullptr);
    CHECK(d->destroy != nullptr);
    CHECK(d->loop_init != nullptr);
    CHECK(d->loop_fini != nullptr);
    CHECK(&brisk::host() == &host.api());
}

TEST_CASE("BRISK_PLUGIN: the entry point refuses a host without a function table or too small a one",
          "[plugins][wrapper]") {
    CHECK(brisk_plugin_entry_v1(BRISK_PLUGIN_ABI_MAJOR, BRISK_PLUGIN_ABI_MINOR, nullptr) == nullptr);
    FakeHost host;
    host.api().size = 64;
    CHECK(host.load(&brisk_plugin_entry_v1) == nullptr);
    CHECK_THAT(host.error(), Catch::Contains("refused"));
}

TEST_CASE("plugin.hpp: optional hooks are left NULL when the class has none", "[plugins][wrapper]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Minimal>("minimal", "1");
    CHECK(d.loop_init == nullptr);
    CHECK(d.loop_fini == nullptr);
    CHECK(d.capabilities == 0);
    for (void* r : d.reserved) CHECK(r == nullptr);

    FakeHost host;
    REQUIRE(host.check(&d) != nullptr);
    auto minimal = host.create(&d);
    REQUIRE(minimal);
    CHECK(minimal.loop_init(0) == 0);
    const auto res = minimal.handle(FakeRequest("GET", "/"));
    CHECK(res.result == BRISK_DONE);  // void handle() means done
    CHECK(res.body == "minimal");
}

TEST_CASE("plugin.hpp: an exception in the constructor fails create() with its message", "[plugins][wrapper]") {
    FakeHost host;
    const brisk_plugin_descriptor* d = host.load(&brisk_plugin_entry_v1);
    REQUIRE(d != nullptr);

    auto failed = host.create(d, FakeConfig().boolean("throw_in_create", true));
    CHECK_FALSE(failed);
    CHECK(failed.get() == nullptr);
    CHECK(failed.error() == "create failed on purpose");

    auto odd = host.create(d, FakeConfig().boolean("throw_int_in_create", true));
    CHECK_FALSE(odd);
    CHECK(odd.error() == "unknown exception");
}

TEST_CASE("plugin.hpp: create() truncates a long message to the error buffer", "[plugins][wrapper]") {
    struct Long {
        explicit Long(brisk::PluginConfig&) { throw std::runtime_error(std::string(2000, 'x')); }
        void handle(brisk::Request&, brisk::Response&) const {}
    };
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Long>("long", "1");
    FakeHost host;
    char error[16];
    std::memset(error, '?', sizeof error);
    FakeConfig config;
    CHECK(d.create(&host.api(), reinterpret_cast<const brisk_config*>(&config), error, sizeof error) == nullptr);
    CHECK(std::string(error) == std::string(15, 'x'));
    CHECK(d.create(&host.api(), reinterpret_cast<const brisk_config*>(&config), nullptr, 0) == nullptr);
}

TEST_CASE("plugin.hpp: an exception in handle() becomes BRISK_ERROR and is logged", "[plugins][wrapper]") {
    FakeHost host;
    auto thrower = host.create(host.load(&brisk_plugin_entry_v1));
    REQUIRE(thrower);

    auto ok = thrower.handle(FakeRequest("GET", "/"));
    CHECK(ok.result == BRISK_DONE);
    CHECK(ok.body == "ok");

    auto res = thrower.handle(FakeRequest("GET", "/throw"));
    CHECK(res.result == BRISK_ERROR);
    CHECK(res.sent_status() == 500);
    REQUIRE(res.log.size() == 1);
    CHECK(res.log[0] == "ERROR handle: exception: handle failed on purpose");

    auto other = thrower.handle(FakeRequest("GET", "/throw-int"));
    CHECK(other.result == BRISK_ERROR);
    REQUIRE(other.log.size() == 1);
    CHECK(other.log[0] == "ERROR handle: exception: unknown exception");
}

TEST_CASE("plugin.hpp: a refused response call throws ResponseError, which becomes BRISK_ERROR", "[plugins][wrapper]") {
    FakeHost host;
    auto thrower = host.create(host.load(&brisk_plugin_entry_v1));
    REQUIRE(thrower);
    auto res = thrower.handle(FakeRequest("GET", "/bad-header"));
    CHECK(res.result == BRISK_ERROR);
    CHECK(res.headers.empty());
    REQUIRE(res.misuse.size() == 1);
    CHECK_THAT(res.misuse[0], Catch::Contains("Content-Length"));
    REQUIRE(res.log.size() == 1);
    CHECK_THAT(res.log[0], Catch::Contains("Response::header"));
}

TEST_CASE("plugin.hpp: arena exhaustion throws std::bad_alloc, which becomes BRISK_ERROR", "[plugins][wrapper]") {
    FakeHost host;
    auto thrower = host.create(host.load(&brisk_plugin_entry_v1));
    REQUIRE(thrower);
    auto res = thrower.handle(FakeRequest("GET", "/oom"));
    CHECK(res.result == BRISK_ERROR);
    CHECK(res.body.empty());
}

TEST_CASE("plugin.hpp: loop_init and loop_fini are called, exceptions become failures", "[plugins][wrapper]") {
    FakeHost host;
    {
        auto thrower = host.create(host.load(&brisk_plugin_entry_v1));
        REQUIRE(thrower);
        CHECK(thrower.loop_init(0) == 0);
        CHECK(thrower.loop_init(1) == -1);  // threw
        CHECK(thrower.loop_init(2) == 5);   // an int result is passed on
        thrower.loop_fini(0);
        thrower.loop_fini(1);  // threw: swallowed, logged
        g_destroyed = 0;
    }
    CHECK(g_destroyed == 1);  // destroy() ran when the instance went away
    const auto log = host.log();
    CHECK(std::find(log.begin(), log.end(), "ERROR loop_init: exception: loop_init failed on purpose") != log.end());
    CHECK(std::find(log.begin(), log.end(), "ERROR loop_fini: exception: loop_fini failed on purpose") != log.end());

    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<BoolInit>("bool-init", "1");
    auto b = host.create(&d);
    REQUIRE(b);
    CHECK(b.loop_init(0) == 0);
    CHECK(b.loop_init(1) != 0);
    CHECK(b.handle(FakeRequest("GET", "/")).result == BRISK_DECLINE);
}

TEST_CASE("plugin.hpp: PluginConfig reads typed values, their places, and fails with the place", "[plugins][wrapper]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<ConfigReader>("config", "1");
    FakeHost host;
    auto reader = host.create(
        &d, FakeConfig("brisk.toml").string("s", "text").integer("i", 42).boolean("b", true).number("d", 2.5));
    REQUIRE(reader);
    const auto& seen = ConfigReader::seen;
    CHECK(seen.s == std::optional<std::string>("text"));
    CHECK_FALSE(seen.missing_s);
    CHECK_FALSE(seen.wrong_s);  // "i" is an integer
    CHECK(seen.i == std::optional<std::int64_t>(42));
    CHECK(seen.b == std::optional<bool>(true));
    CHECK(seen.d == std::optional<double>(2.5));
    CHECK(seen.d_from_int == std::optional<double>(42.0));
    CHECK(seen.has_s);
    CHECK_FALSE(seen.has_missing);
    CHECK(seen.where_s == "brisk.toml:2:1");
    CHECK(seen.where_table == "brisk.toml:1:1");

    auto bad = host.create(&d, FakeConfig("brisk.toml").integer("limit", -1).at("limit", "brisk.toml:14:9"));
    CHECK_FALSE(bad);
    CHECK(bad.error() == "brisk.toml:14:9: limit: must not be negative");
}

TEST_CASE("plugin.hpp: Request exposes the request's views and host lookups", "[plugins][wrapper]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Inspector>("inspector", "1");
    FakeHost host;
    auto inspector = host.create(&d);
    REQUIRE(inspector);
    FakeRequest req("POST", "/a/b?q=hello%20w%2Borld+x&empty=&flag");
    req.header("Host", "example.com")
        .header("X-Multi", "one")
        .header("x-multi", "two")
        .header("Cookie", "theme=dark; sid=\"abc123\"")
        .with_body("payload");
    req.http_minor = 0;
    const auto res = inspector.handle(req);
    CHECK(res.result == BRISK_DONE);
    CHECK(res.misuse.empty());
    CHECK(res.status == 201);
    CHECK(res.header("x-test") == std::optional<std::string>("1"));
    CHECK(res.header("content-type") == std::optional<std::string>("text/plain"));
    CHECK(res.body ==
          "method=POST\n"
          "target=/a/b?q=hello%20w%2Borld+x&empty=&flag\n"
          "path=/a/b\n"
          "query=q=hello%20w%2Borld+x&empty=&flag\n"
          "host=example.com\n"
          "body=payload\n"
          "remote=127.0.0.1\n"
          "x1=one\n"
          "x2=two\n"
          "x3=-\n"
          "q=hello w+orld x\n"
          "empty=\n"
          "none=-\n"
          "sid=abc123\n"
          "theme=dark\n"
          "Host=example.com\n"
          "X-Multi=one\n"
          "x-multi=two\n"
          "Cookie=theme=dark; sid=\"abc123\"\n"
          "count=4/4\n"
          "minor=0\n"
          "aligned=yes\n"
          "copy=/a/b\n"
          "slot=null\n"
          "slot2=kept\n");
}

// Writes what ABI 1.2 tells of the connection's TLS.
struct TlsView {
    brisk::Result handle(brisk::Request& req, brisk::Response& res) {
        std::string out;
        out.append(req.scheme()).append(req.tls() ? " tls" : " plain");
        for (std::string_view part : {req.tls_protocol(), req.tls_cipher(), req.alpn(), req.tls_server_name()})
            out.append(" [").append(part).append("]");
        res.write(out);
        return brisk::Result::done;
    }
};

TEST_CASE("plugin.hpp: Request tells the connection's TLS (ABI 1.2); nothing on cleartext or a 1.1 host",
          "[plugins][wrapper]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<TlsView>("tlsview", "1");
    FakeHost host;
    auto view = host.create(&d);
    REQUIRE(view);
    CHECK(view.handle(FakeRequest("GET", "/")).body == "http plain [] [] [] []");
    CHECK(view.handle(FakeRequest("GET", "/").over_tls("example.com")).body ==
          "https tls [TLSv1.3] [TLS_AES_128_GCM_SHA256] [http/1.1] [example.com]");
    CHECK(view.handle(FakeRequest("GET", "/").over_tls("", "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", "")).body ==
          "https tls [TLSv1.2] [ECDHE-ECDSA-AES128-GCM-SHA256] [] []");

    // A 1.1 host's request ends before the TLS fields: the wrapper does not read past it.
    FakeHost old;
    old.abi_minor = 1;
    auto on_old = old.create(&d);
    REQUIRE(on_old);
    CHECK(on_old.handle(FakeRequest("GET", "/").over_tls("example.com")).body == "http plain [] [] [] []");
}

TEST_CASE("plugin.hpp: Response body calls keep their order; owners are released", "[plugins][wrapper]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Bodies>("bodies", "1");
    FakeHost host;
    auto bodies = host.create(&d);
    REQUIRE(bodies);

    const auto mixed = bodies.handle(FakeRequest("GET", "/mixed"));
    CHECK(mixed.result == BRISK_DONE);
    CHECK(mixed.misuse.empty());
    CHECK(mixed.body == "copy,static,owned-string-longer-than-sso,shared,end");
    CHECK(mixed.body_calls == std::vector<std::string>{"copy", "ref", "ref", "ref", "copy"});
    CHECK(mixed.releases == 2);  // the static view has no release

    const auto streamed = bodies.handle(FakeRequest("GET", "/stream"));
    CHECK(streamed.streamed);
    CHECK(streamed.chunks == std::vector<std::string>{"one,", "two"});
    CHECK(streamed.header("x-stream") == std::optional<std::string>("yes"));

    const auto file = bodies.handle(FakeRequest("GET", "/file"));
    CHECK(file.result == BRISK_DONE);
    CHECK(file.misuse.empty());
    CHECK(file.body == "[23456]");
}

TEST_CASE("fake host: refuses what brisk refuses", "[plugins][fake]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Bodies>("bodies", "1");
    FakeHost host;
    auto bodies = host.create(&d);
    REQUIRE(bodies);

    const auto mixed = bodies.handle(FakeRequest("GET", "/stream-then-write"));
    CHECK(mixed.result == BRISK_ERROR);
    CHECK(mixed.chunks == std::vector<std::string>{"one"});
    REQUIRE(mixed.misuse.size() == 1);
    CHECK_THAT(mixed.misuse[0], Catch::Contains("after stream_write"));

    const auto after_body = bodies.handle(FakeRequest("GET", "/header-after-body"));
    CHECK(after_body.result == BRISK_DONE);
    CHECK(after_body.misuse.empty());
    CHECK(after_body.header("X-After") == std::optional<std::string>("1"));

    const auto late = bodies.handle(FakeRequest("GET", "/header-after-stream"));
    CHECK(late.result == BRISK_ERROR);
    CHECK(late.sent_status() == 200);  // the body had started: brisk closes instead of a 500
    REQUIRE(late.misuse.size() == 1);
    CHECK_THAT(late.misuse[0], Catch::Contains("after stream_write"));

    const auto late_status = bodies.handle(FakeRequest("GET", "/status-after-body"));
    CHECK(late_status.result == BRISK_ERROR);
    REQUIRE(late_status.misuse.size() == 1);
    CHECK_THAT(late_status.misuse[0], Catch::Contains("after a body call"));

    const auto status = bodies.handle(FakeRequest("GET", "/status-out-of-range"));
    CHECK(status.result == BRISK_ERROR);
    REQUIRE(status.misuse.size() == 1);
    CHECK_THAT(status.misuse[0], Catch::Contains("200-599"));
}

TEST_CASE("fake host: arena memory passed to body_ref shows up poisoned", "[plugins][fake]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<ArenaRef>("arena-ref", "1");
    FakeHost host;
    auto arena_ref = host.create(&d);
    REQUIRE(arena_ref);
    const auto res = arena_ref.handle(FakeRequest("GET", "/"));
    CHECK(res.result == BRISK_DONE);
    CHECK(res.body == std::string(11, '\xdd'));
}

TEST_CASE("fake host: checks descriptors like brisk", "[plugins][fake]") {
    FakeHost host;
    brisk_plugin_descriptor d = brisk::make_descriptor<Minimal>("minimal", "1");
    CHECK(host.check(&d) == &d);

    brisk_plugin_descriptor newer = d;
    newer.abi_minor = BRISK_PLUGIN_ABI_MINOR + 1;
    newer.min_host_minor = BRISK_PLUGIN_ABI_MINOR + 1;
    CHECK(host.check(&newer) == nullptr);
    CHECK_THAT(host.error(), Catch::Contains("needs host ABI"));

    brisk_plugin_descriptor other_major = d;
    other_major.abi_major = BRISK_PLUGIN_ABI_MAJOR + 1;
    CHECK(host.check(&other_major) == nullptr);

    brisk_plugin_descriptor no_handle = d;
    no_handle.handle = nullptr;
    CHECK(host.check(&no_handle) == nullptr);

    brisk_plugin_descriptor dirty = d;
    dirty.reserved[3] = &dirty;
    CHECK(host.check(&dirty) == nullptr);

    CHECK(host.load(std::string("/nonexistent/libnothing.so")) == nullptr);
    CHECK_THAT(host.error(), Catch::Contains("/nonexistent/libnothing.so"));
}

// ---- ABI 1.1: requests answered later ---------------------------------------

namespace {

/** Answers /thread from a thread of its own, /timer from a loop timer (cancelled with the request). */
struct Waiter {
    struct Pending {
        brisk::Later later;
        std::uint64_t timer = 0;
    };
    static void fire(void* p) {
        std::unique_ptr<Pending> pending(static_cast<Pending*>(p));
        pending->later.resume(200, "from a timer");
    }
    static void cancelled(void* p) {
        std::unique_ptr<Pending> pending(static_cast<Pending*>(p));
        brisk::cancel_timer(pending->timer);
    }

    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        if (req.path() == "/thread") {
            brisk::Later later = res.suspend();
            std::thread([later] { later.resume(201, "from a thread", {{"Content-Type", "text/plain"}}); }).detach();
        } else if (req.path() == "/timer") {
            auto* pending = new Pending;
            pending->later = res.suspend(&cancelled, pending);
            pending->timer = brisk::start_timer(50, &fire, pending);
        } else if (req.path() == "/twice") {
            (void)res.suspend();
            (void)res.suspend();  // refused: throws, BRISK_ERROR undoes the first
        }
        return brisk::Result::done;
    }
};

}  // namespace

TEST_CASE("plugin.hpp: a request suspended and resumed from another thread", "[plugins][wrapper][later]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Waiter>("waiter", "1");
    FakeHost host;
    auto waiter = host.create(host.check(&d));
    REQUIRE(waiter);
    const auto res = waiter.handle(FakeRequest("GET", "/thread"));
    CHECK(res.result == BRISK_DONE);
    REQUIRE(res.suspended != 0);
    CHECK(res.body_calls.empty());
    const auto answer = host.later(res.suspended, std::chrono::seconds(5));
    REQUIRE(answer);
    CHECK(answer->status == 201);
    CHECK(answer->body == "from a thread");
    REQUIRE(answer->headers.size() == 1);
    CHECK(answer->headers[0] == std::pair<std::string, std::string>("Content-Type", "text/plain"));
    CHECK_FALSE(host.cancel(res.suspended));  // answered: nothing to cancel
}

TEST_CASE("plugin.hpp: a request answered from a timer, or cancelled with it", "[plugins][wrapper][later]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Waiter>("waiter", "1");
    FakeHost host;
    auto waiter = host.create(host.check(&d));
    REQUIRE(waiter);

    const auto fired = waiter.handle(FakeRequest("GET", "/timer"));
    REQUIRE(fired.suspended != 0);
    CHECK(host.pending_timers() == 1);
    CHECK(host.advance(49) == 0);
    CHECK_FALSE(host.later(fired.suspended));
    CHECK(host.advance(1) == 1);
    const auto answer = host.later(fired.suspended);
    REQUIRE(answer);
    CHECK(answer->status == 200);
    CHECK(answer->body == "from a timer");

    const auto gone = waiter.handle(FakeRequest("GET", "/timer"));
    REQUIRE(gone.suspended != 0);
    CHECK(host.cancel(gone.suspended));  // the client left: the plugin drops its timer
    CHECK(host.pending_timers() == 0);
    CHECK_FALSE(host.cancel(gone.suspended));  // once
    CHECK(host.advance(100) == 0);
    CHECK_FALSE(host.later(gone.suspended));
}

TEST_CASE("plugin.hpp: a second suspend is refused and the request fails", "[plugins][wrapper][later]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Waiter>("waiter", "1");
    FakeHost host;
    auto waiter = host.create(host.check(&d));
    REQUIRE(waiter);
    const auto res = waiter.handle(FakeRequest("GET", "/twice"));
    CHECK(res.result == BRISK_ERROR);
    CHECK(res.suspended == 0);
    CHECK(res.misuse.size() == 1);
}

namespace {

/** Streams "0123456789" ten times in sends of 10 bytes: until refused, then again from the drain callback. */
struct Streamer {
    struct Stream {
        brisk::Later later;
        int sent = 0;
        int refused = 0;
    };
    static void pump(Stream* s) {
        while (s->sent < 10) {
            const brisk::Later::Sent r = s->later.send("0123456789");
            if (r == brisk::Later::Sent::full) {
                ++s->refused;
                return;  // drain() goes on
            }
            if (r == brisk::Later::Sent::gone) return;
            ++s->sent;
        }
        s->later.end();
        delete s;
    }
    static void drain(void* p) { pump(static_cast<Stream*>(p)); }
    static void cancelled(void* p) { delete static_cast<Stream*>(p); }

    brisk::Result handle(brisk::Request&, brisk::Response& res) const {
        auto* s = new Stream;
        s->later = res.suspend(&cancelled, s);
        if (!s->later.open_stream(200, {{"Content-Type", "text/plain"}}, &drain, s)) {
            delete s;
            return brisk::Result::error;
        }
        pump(s);
        return brisk::Result::done;
    }
};

}  // namespace

TEST_CASE("plugin.hpp: a stream with backpressure, through the fake host", "[plugins][wrapper][later]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Streamer>("streamer", "1");
    FakeHost host;
    host.stream_bound = 35;  // three sends fit, the fourth waits for the client
    auto streamer = host.create(host.check(&d));
    REQUIRE(streamer);
    const auto res = streamer.handle(FakeRequest("GET", "/"));
    CHECK(res.result == BRISK_DONE);
    REQUIRE(res.suspended != 0);
    auto answer = host.later(res.suspended);
    REQUIRE(answer);
    CHECK(answer->streamed);
    CHECK(answer->body.size() == 30);
    CHECK_FALSE(answer->ended);
    int drains = 0;
    while (host.client_read(res.suspended)) ++drains;
    answer = host.later(res.suspended);
    CHECK(answer->ended);
    CHECK(answer->body.size() == 100);
    CHECK(answer->body.substr(90) == "0123456789");
    CHECK(drains == 3);
    CHECK_FALSE(host.cancel(res.suspended));  // ended: nothing to cancel
}

TEST_CASE("plugin.hpp: a stream the client leaves is cancelled once; later sends are gone",
          "[plugins][wrapper][later]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Streamer>("streamer", "1");
    FakeHost host;
    host.stream_bound = 10;
    auto streamer = host.create(host.check(&d));
    REQUIRE(streamer);
    const auto res = streamer.handle(FakeRequest("GET", "/"));
    REQUIRE(res.suspended != 0);
    CHECK(host.cancel(res.suspended));
    CHECK_FALSE(host.cancel(res.suspended));
    const brisk::Later later(res.suspended);
    CHECK(later.send("x") == brisk::Later::Sent::gone);
    CHECK_FALSE(later.end());
    CHECK_FALSE(later.resume(200, "x"));
}

namespace {

/** Counts the bytes of a body read piece by piece, answering "N bytes". */
struct Counter {
    struct Reading {
        brisk::Later later;
        std::uint64_t bytes = 0;
    };
    static void piece(void* p, const void*, std::uint64_t len, std::int32_t last) {
        auto* r = static_cast<Reading*>(p);
        r->bytes += len;
        if (!last) {
            if (!r->later.read_body(&piece, r)) delete r;
            return;
        }
        r->later.resume(200, std::to_string(r->bytes) + " bytes");
        delete r;
    }
    static void cancelled(void* p) { delete static_cast<Reading*>(p); }

    brisk::Result handle(brisk::Request&, brisk::Response& res) const {
        auto* r = new Reading;
        r->later = res.suspend(&cancelled, r);
        if (!r->later.read_body(&piece, r)) {  // no body to read: answered at once, still suspended
            r->later.resume(200, "0 bytes");
            delete r;
        }
        return brisk::Result::done;
    }
};

}  // namespace

TEST_CASE("plugin.hpp: a body read piece by piece, through the fake host", "[plugins][wrapper][later]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Counter>("counter", "1", BRISK_CAP_BODY_STREAM);
    FakeHost host;
    auto counter = host.create(host.check(&d));
    REQUIRE(counter);
    const auto res = counter.handle(FakeRequest("POST", "/").with_body(std::string(50000, 'b')));
    REQUIRE(res.suspended != 0);
    CHECK(host.feed_body(res.suspended, 16384) == 4);
    const auto answer = host.later(res.suspended);
    REQUIRE(answer);
    CHECK(answer->body == "50000 bytes");

    const auto empty = counter.handle(FakeRequest("GET", "/"));
    REQUIRE(empty.suspended != 0);
    CHECK(host.later(empty.suspended)->body == "0 bytes");
}

namespace {

/** Keeps its config's name and log for use outside handle(). */
struct Named {
    explicit Named(brisk::PluginConfig& cfg) : name(cfg.name()), log(cfg.logger()) {
        ratio = cfg.expect_number("ratio").value_or(1.0);
        log.log(brisk::LogLevel::info, "created");
    }
    brisk::Result handle(brisk::Request&, brisk::Response& res) const {
        std::thread([l = log] { l.log(brisk::LogLevel::warn, "from a thread"); }).join();
        res.write(name);
        return brisk::Result::done;
    }
    std::string name;
    brisk::Logger log;
    double ratio;
};

}  // namespace

TEST_CASE("plugin.hpp: the instance's name, a log for any thread, absent vs wrong-type keys", "[plugins][wrapper]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Named>("named", "1");
    FakeHost host;
    auto named = host.create(host.check(&d), FakeConfig().name("api").integer("ratio", 2));
    REQUIRE(named);
    CHECK(named.handle(FakeRequest("GET", "/")).body == "api");
    const auto log = host.log();
    CHECK(std::find(log.begin(), log.end(), "INFO [api] created") != log.end());
    CHECK(std::find(log.begin(), log.end(), "WARN [api] from a thread") != log.end());

    auto wrong = host.create(host.check(&d), FakeConfig("w.toml").boolean("ratio", true));
    CHECK_FALSE(wrong);
    CHECK(wrong.error() == "w.toml:2:1: ratio: expected a number, found a boolean");
}

namespace {

/** Takes the socket and writes "hi:" and the bytes read past the request, then closes it through brisk. */
struct Taker {
    static void taken(void* p, std::int32_t fd, const void* data, std::uint64_t len) {
        auto* later = static_cast<brisk::Later*>(p);
        std::string out = "hi:" + std::string(static_cast<const char*>(data), static_cast<std::size_t>(len));
        CHECK(::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()));
        CHECK(later->send("x") == brisk::Later::Sent::gone);  // a taken handle streams nothing
        CHECK_FALSE(later->hijack(&taken, p));                // nor is it taken twice
        CHECK(later->close_taken());
        CHECK_FALSE(later->close_taken());
        delete later;
    }
    static void cancelled(void* p) { delete static_cast<brisk::Later*>(p); }

    brisk::Result handle(brisk::Request&, brisk::Response& res) const {
        auto* later = new brisk::Later;
        *later = res.suspend(&cancelled, later);
        if (!later->hijack(&taken, later)) {
            delete later;
            return brisk::Result::error;
        }
        return brisk::Result::done;
    }
};

/** Adds a field brisk owns, and answers with what the refusal said. */
struct OwnField {
    brisk::Result handle(brisk::Request&, brisk::Response& res) const {
        try {
            res.header("Content-Length", "1");
        } catch (const brisk::ResponseError& e) {
            res.write(e.what());
        }
        return brisk::Result::done;
    }
};

}  // namespace

TEST_CASE("plugin.hpp: a hijacked connection, through the fake host", "[plugins][wrapper][later]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<Taker>("taker", "1");
    FakeHost host;
    auto taker = host.create(host.check(&d));
    REQUIRE(taker);
    const auto res = taker.handle(FakeRequest("GET", "/"));
    REQUIRE(res.suspended != 0);
    REQUIRE(host.later(res.suspended));
    CHECK(host.later(res.suspended)->hijacked);
    const int client = host.hand_over(res.suspended, "ahead");
    REQUIRE(client >= 0);
    char buf[32] = {};
    CHECK(::read(client, buf, sizeof buf) == 8);
    CHECK(std::string(buf) == "hi:ahead");
    CHECK(::read(client, buf, sizeof buf) == 0);  // closed by close_taken()
    ::close(client);
    CHECK(host.later(res.suspended)->closed);
    CHECK(host.hand_over(res.suspended) == -1);  // handed over once
}

TEST_CASE("plugin.hpp: a refusal's ResponseError says why (last_error)", "[plugins][wrapper]") {
    static constexpr brisk_plugin_descriptor d = brisk::make_descriptor<OwnField>("own", "1");
    FakeHost host;
    auto own = host.create(host.check(&d));
    REQUIRE(own);
    const auto res = own.handle(FakeRequest("GET", "/"));
    REQUIRE(res.misuse.size() == 1);
    CHECK(res.body == "brisk refused Response::header: " + res.misuse[0]);
}
