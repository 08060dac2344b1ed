// brisk — plugin_testing.hpp: a fake host, so a plugin's logic is unit-tested
// without a server. Header-only C++20; works with any plugin (C, C++, Rust)
// that is linked into the test or dlopened by it, since it only speaks the C
// ABI of plugin_abi.h.
//
//   brisk::testing::FakeHost host;
//   auto* d = host.load("build/plugins/libhello.so");       // or host.load(&brisk_plugin_entry_v1)
//   auto hello = host.create(d, brisk::testing::FakeConfig().string("greeting", "Hi"));
//   REQUIRE(hello);                                          // else hello.error() says why
//   auto res = hello.handle(brisk::testing::FakeRequest("GET", "/plaintext"));
//   CHECK(res.status == 200);
//   CHECK(res.body == "Hi");
//
// The fake refuses (-1) what brisk refuses, and records why in
// FakeResponse::misuse: a status outside 200-599 or after a body call, a
// host-owned or malformed header field, a field after streaming started,
// mixing stream_write with the other body calls. It is stricter than needed
// where brisk may differ between versions:
//  - every call with a brisk_ctx after its handle() returned is refused and
//    recorded (FakeHost::late_calls());
//  - after handle() returns, the request's memory and the arena are
//    overwritten (0xdd) before body_ref data is read, so a kept view or arena
//    memory passed to body_ref shows up as garbage in the body;
//  - every refused call is described in FakeResponse::misuse.
// ABI 1.1: a request the plugin suspends comes back with
// FakeResponse::suspended set; its answer, given later with resume() from any
// thread, is FakeHost::later(handle) (a stream's head and the bytes sent so
// far, too); FakeHost::cancel(handle) plays the client leaving, and
// FakeHost::client_read(handle) a client that read all of a stream's bytes
// (the drain callback runs if a send was refused); a body-stream instance
// (BRISK_CAP_BODY_STREAM) sees a request's head with the body empty, and
// FakeHost::feed_body(handle) hands it the body piece by piece as it reads;
// timers fire when the test moves the fake clock with FakeHost::advance(ms).
// An upgraded connection (upgrade(): a 101 answer, LaterAnswer::upgraded) gets
// what the client sends with FakeHost::client_send(handle, bytes); a hijack()
// hands the plugin one end of a socket pair when the test calls
// FakeHost::hand_over(handle, read_ahead), which returns the other end (the
// client's, the test's to close). last_error() gives the last refusal
// recorded on the calling thread.
// Loading a file uses dlopen(RTLD_NOW | RTLD_LOCAL) and never dlclose, like
// brisk; link the test with ${CMAKE_DL_LIBS} on a C library older than 2.34.
#pragma once

#include <brisk/plugin_abi.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace brisk::testing {

namespace detail {

inline std::string_view view(brisk_str s) noexcept {
    return s.len == 0 ? std::string_view() : std::string_view(s.ptr, static_cast<std::size_t>(s.len));
}

inline brisk_str str(std::string_view s) noexcept { return brisk_str{s.data(), static_cast<std::uint64_t>(s.size())}; }

inline char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

inline int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/** Decodes %XX and '+' (a space in a query); a malformed escape stays as it is. */
inline std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

inline bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        if (!ok) return false;
    }
    return true;
}

inline bool is_field_value(std::string_view s) noexcept {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
    }
    return true;
}

}  // namespace detail

/** A request to hand to a plugin. The target is split into path and query like brisk does. */
struct FakeRequest {
    std::string method = "GET";
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::uint32_t http_minor = 1;
    std::string remote_addr = "127.0.0.1";
    std::uint16_t remote_port = 40000;
    std::uint32_t loop_index = 0;
    std::uint64_t connection_id = 1;
    std::uint64_t request_number = 1;
    /** ABI 1.2: the connection's TLS (over_tls()); cleartext by default. */
    bool tls = false;
    std::string tls_protocol;
    std::string tls_cipher;
    std::string tls_server_name;
    std::string alpn;

    FakeRequest() = default;
    FakeRequest(std::string method_, std::string target_,
                std::vector<std::pair<std::string, std::string>> headers_ = {}, std::string body_ = {})
        : method(std::move(method_)),
          target(std::move(target_)),
          headers(std::move(headers_)),
          body(std::move(body_)) {}

    FakeRequest& header(std::string name, std::string value) & {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    FakeRequest&& header(std::string name, std::string value) && {
        headers.emplace_back(std::move(name), std::move(value));
        return std::move(*this);
    }
    FakeRequest& with_body(std::string b) & {
        body = std::move(b);
        return *this;
    }
    FakeRequest&& with_body(std::string b) && {
        body = std::move(b);
        return std::move(*this);
    }
    /** As if it came over TLS: SNI name `server_name` (empty: none), the rest as a TLS 1.3 client gets it. */
    FakeRequest& over_tls(std::string server_name = {}, std::string protocol = "TLSv1.3",
                          std::string cipher = "TLS_AES_128_GCM_SHA256", std::string alpn_ = "http/1.1") & {
        tls = true;
        tls_server_name = std::move(server_name);
        tls_protocol = std::move(protocol);
        tls_cipher = std::move(cipher);
        alpn = std::move(alpn_);
        return *this;
    }
    FakeRequest&& over_tls(std::string server_name = {}, std::string protocol = "TLSv1.3",
                           std::string cipher = "TLS_AES_128_GCM_SHA256", std::string alpn_ = "http/1.1") && {
        over_tls(std::move(server_name), std::move(protocol), std::move(cipher), std::move(alpn_));
        return std::move(*this);
    }
};

/** What a plugin answered, as brisk would have sent it. */
struct FakeResponse {
    /** What handle() returned: BRISK_DONE, BRISK_DECLINE or BRISK_ERROR. */
    std::int32_t result = BRISK_DONE;
    std::uint32_t status = 200;
    /** The plugin's own reason phrase (set_reason); empty: the registered one. */
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    /** The body: every body_copy, body_ref, body_file and stream_write, in order. */
    std::string body;
    /** The body calls, in order: "copy", "ref", "file", "stream". */
    std::vector<std::string> body_calls;
    /** Each stream_write's bytes. */
    std::vector<std::string> chunks;
    /** True when the response was streamed. */
    bool streamed = false;
    /** Calls brisk would have refused (returned -1 for), one line each. */
    std::vector<std::string> misuse;
    /** Lines logged during this request: "LEVEL message". */
    std::vector<std::string> log;
    /** body_ref release callbacks called (all of them, once handle() returned). */
    std::size_t releases = 0;
    /** ABI 1.1: the handle when the plugin suspended the request (answer it with FakeHost::later()). */
    std::uint64_t suspended = 0;

    /** True when a body call was made (the head would be on its way). */
    bool started() const noexcept { return !body_calls.empty(); }

    /** The status brisk would send: 500 for BRISK_ERROR before any body call. */
    std::uint32_t sent_status() const noexcept { return result == BRISK_ERROR && body_calls.empty() ? 500u : status; }

    /** The first field named `name` (case-insensitive). */
    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [n, v] : headers)
            if (detail::iequals(n, name)) return v;
        return std::nullopt;
    }

    std::size_t header_count(std::string_view name) const {
        std::size_t n = 0;
        for (const auto& field : headers)
            if (detail::iequals(field.first, name)) ++n;
        return n;
    }
};

/**
 * An instance's config table. Keys of nested tables are joined with '.'.
 * Each value gets a place "FILE:LINE:1", lines counted from 2 in the order of
 * the calls (line 1 is the [plugins.NAME] header), unless given with at().
 */
class FakeConfig {
public:
    explicit FakeConfig(std::string file = "test.toml") : file_(std::move(file)) {}

    FakeConfig& string(std::string key, std::string value) & {
        return add(std::move(key), string_value(std::move(value)), kString);
    }
    FakeConfig& integer(std::string key, std::int64_t value) & { return add(std::move(key), int_value(value), kInt); }
    FakeConfig& boolean(std::string key, bool value) & { return add(std::move(key), bool_value(value), kBool); }
    FakeConfig& number(std::string key, double value) & { return add(std::move(key), double_value(value), kDouble); }
    FakeConfig&& string(std::string key, std::string value) && {
        return std::move(string(std::move(key), std::move(value)));
    }
    FakeConfig&& integer(std::string key, std::int64_t value) && { return std::move(integer(std::move(key), value)); }
    FakeConfig&& boolean(std::string key, bool value) && { return std::move(boolean(std::move(key), value)); }
    FakeConfig&& number(std::string key, double value) && { return std::move(number(std::move(key), value)); }

    /** Sets the place reported for `key` ("brisk.toml:7:1"). */
    FakeConfig& at(std::string key, std::string where) & {
        for (auto& e : entries_)
            if (e.key == key) e.where = std::move(where);
        return *this;
    }
    FakeConfig&& at(std::string key, std::string where) && { return std::move(at(std::move(key), std::move(where))); }

    /** The instance's name, as config_name() gives it (default "test"). */
    FakeConfig& name(std::string n) & {
        name_ = std::move(n);
        return *this;
    }
    FakeConfig&& name(std::string n) && { return std::move(name(std::move(n))); }

    const std::string& file() const noexcept { return file_; }

private:
    friend class FakeHost;
    enum Type { kString, kInt, kBool, kDouble };
    struct Value {
        std::string s;
        std::int64_t i = 0;
        bool b = false;
        double d = 0;
    };
    struct Entry {
        std::string key;
        Type type;
        Value value;
        std::string where;
    };

    static Value string_value(std::string v) {
        Value out;
        out.s = std::move(v);
        return out;
    }
    static Value int_value(std::int64_t v) {
        Value out;
        out.i = v;
        return out;
    }
    static Value bool_value(bool v) {
        Value out;
        out.b = v;
        return out;
    }
    static Value double_value(double v) {
        Value out;
        out.d = v;
        return out;
    }

    FakeConfig& add(std::string key, Value value, Type type) {
        for (auto& e : entries_)
            if (e.key == key) {
                e.type = type;
                e.value = std::move(value);
                return *this;
            }
        std::string where = file_ + ":" + std::to_string(entries_.size() + 2) + ":1";
        entries_.push_back(Entry{std::move(key), type, std::move(value), std::move(where)});
        return *this;
    }

    const Entry* find(std::string_view key, Type type) const noexcept {
        for (const auto& e : entries_)
            if (e.key == key) return e.type == type ? &e : nullptr;
        return nullptr;
    }

    std::string file_;
    std::string name_ = "test";
    std::deque<Entry> entries_;
    std::string table_where_ = file_ + ":1:1";
};

class FakeHost;

/** An instance of a plugin, made by FakeHost::create; destroyed with it. */
class FakeInstance {
public:
    FakeInstance(FakeInstance&& other) noexcept
        : host_(other.host_),
          d_(other.d_),
          instance_(std::exchange(other.instance_, nullptr)),
          error_(std::move(other.error_)) {}
    FakeInstance& operator=(FakeInstance&&) = delete;
    FakeInstance(const FakeInstance&) = delete;
    FakeInstance& operator=(const FakeInstance&) = delete;
    ~FakeInstance() {
        if (instance_ != nullptr && d_->destroy != nullptr) d_->destroy(instance_);
    }

    /** True when create() succeeded. */
    explicit operator bool() const noexcept { return instance_ != nullptr; }
    /** The reason create() gave when it failed. */
    const std::string& error() const noexcept { return error_; }
    void* get() const noexcept { return instance_; }
    const brisk_plugin_descriptor* descriptor() const noexcept { return d_; }

    /** Calls loop_init (0 when the plugin has none; -1 when there is no instance). */
    std::int32_t loop_init(std::uint32_t loop) const {
        if (instance_ == nullptr) return -1;
        return d_->loop_init ? d_->loop_init(instance_, loop) : 0;
    }
    /** Calls loop_fini, if the plugin has one. */
    void loop_fini(std::uint32_t loop) const {
        if (instance_ != nullptr && d_->loop_fini) d_->loop_fini(instance_, loop);
    }

    /** Runs one request through handle() and returns what brisk would send. */
    inline FakeResponse handle(const FakeRequest& request) const;

private:
    friend class FakeHost;
    FakeInstance(FakeHost* host, const brisk_plugin_descriptor* d, void* instance, std::string error)
        : host_(host), d_(d), instance_(instance), error_(std::move(error)) {}

    FakeHost* host_;
    const brisk_plugin_descriptor* d_;
    void* instance_;
    std::string error_;
};

/**
 * The fake host: a brisk_host_api whose functions record into FakeResponse,
 * loading of entry points and files, and descriptor checks like brisk's.
 */
class FakeHost {
public:
    /** The ABI minor the fake claims to be (lower it to test min_host_minor). */
    std::uint32_t abi_minor = BRISK_PLUGIN_ABI_MINOR;
    /** The most arena memory one request may take; past it arena_alloc returns NULL. */
    std::uint64_t arena_limit = std::uint64_t{64} << 20;

    FakeHost() : previous_(current()) {
        api_ = brisk_host_api{};
        api_.size = sizeof(brisk_host_api);
        api_.abi_major = BRISK_PLUGIN_ABI_MAJOR;
        api_.abi_minor = BRISK_PLUGIN_ABI_MINOR;
        api_.header = &fn_header;
        api_.query_arg = &fn_query_arg;
        api_.cookie = &fn_cookie;
        api_.arena_alloc = &fn_arena_alloc;
        api_.request_slot = &fn_request_slot;
        api_.set_status = &fn_set_status;
        api_.add_header = &fn_add_header;
        api_.body_copy = &fn_body_copy;
        api_.body_ref = &fn_body_ref;
        api_.body_file = &fn_body_file;
        api_.stream_write = &fn_stream_write;
        api_.log = &fn_log;
        api_.config_string = &fn_config_string;
        api_.config_int = &fn_config_int;
        api_.config_bool = &fn_config_bool;
        api_.config_double = &fn_config_double;
        api_.config_where = &fn_config_where;
        api_.config_type = &fn_config_type;
        api_.config_name = &fn_config_name;
        api_.log_handle = &fn_log_handle;
        api_.log_to = &fn_log_to;
        api_.set_reason = &fn_set_reason;
        api_.suspend = &fn_suspend;
        api_.resume = &fn_resume;
        api_.timer_start = &fn_timer_start;
        api_.timer_cancel = &fn_timer_cancel;
        api_.stream_open = &fn_stream_open;
        api_.stream_send = &fn_stream_send;
        api_.stream_end = &fn_stream_end;
        api_.body_read = &fn_body_read;
        api_.upgrade = &fn_upgrade;
        api_.upgrade_timeout = &fn_upgrade_timeout;
        api_.hijack = &fn_hijack;
        api_.hijack_close = &fn_hijack_close;
        api_.last_error = &fn_last_error;
        current() = this;
    }
    FakeHost(const FakeHost&) = delete;
    FakeHost& operator=(const FakeHost&) = delete;
    ~FakeHost() {
        for (auto& entry : later_)
            if (entry.second.plugin_fd >= 0) ::close(entry.second.plugin_fd);  // a taken socket never closed
        if (current() == this) current() = previous_;
    }

    /** The function table handed to plugins. Tests may change it before load(). */
    brisk_host_api& api() noexcept { return api_; }

    /** Calls a linked entry point and checks its descriptor; nullptr + error() on refusal. */
    const brisk_plugin_descriptor* load(brisk_plugin_entry_v1_fn entry) {
        error_.clear();
        if (entry == nullptr) return fail("no entry point");
        const brisk_plugin_descriptor* d = entry(BRISK_PLUGIN_ABI_MAJOR, abi_minor, &api_);
        if (d == nullptr) return fail("the plugin refused to load (entry point returned NULL)");
        return check(d);
    }

    /** dlopens `path` (RTLD_NOW | RTLD_LOCAL, never closed), finds the entry point, loads it. */
    const brisk_plugin_descriptor* load(const std::string& path) {
        error_.clear();
        void* so = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (so == nullptr) {
            const char* why = ::dlerror();
            return fail(path + ": " + (why != nullptr ? why : "dlopen failed"));
        }
        void* sym = ::dlsym(so, BRISK_PLUGIN_ENTRY_V1);
        if (sym == nullptr)
            return fail(path + ": no symbol " BRISK_PLUGIN_ENTRY_V1 " (not a brisk plugin, or of another major ABI)");
        brisk_plugin_entry_v1_fn entry = nullptr;
        static_assert(sizeof entry == sizeof sym);
        std::memcpy(&entry, &sym, sizeof entry);
        return load(entry);
    }

    /** Checks a descriptor like brisk does; nullptr + error() if brisk would refuse it. */
    const brisk_plugin_descriptor* check(const brisk_plugin_descriptor* d) {
        error_.clear();
        if (d->size < offsetof(brisk_plugin_descriptor, reserved)) return fail("descriptor too small");
        if (d->abi_major != BRISK_PLUGIN_ABI_MAJOR)
            return fail("plugin ABI major " + std::to_string(d->abi_major) + ", host " +
                        std::to_string(BRISK_PLUGIN_ABI_MAJOR));
        if (d->min_host_minor > abi_minor || d->min_host_minor > d->abi_minor)
            return fail("plugin needs host ABI 1." + std::to_string(d->min_host_minor) + ", host is 1." +
                        std::to_string(abi_minor));
        if (d->name == nullptr || d->name[0] == '\0' || d->version == nullptr)
            return fail("descriptor without name or version");
        if (d->create == nullptr || d->handle == nullptr) return fail("descriptor without create or handle");
        for (void* r : d->reserved)
            if (r != nullptr) return fail("descriptor reserved slots are not zero");
        return d;
    }

    /** Why the last load() or check() refused. */
    const std::string& error() const noexcept { return error_; }

    /** Creates an instance with `config`; test it with `if (instance)`, read instance.error(). */
    FakeInstance create(const brisk_plugin_descriptor* d, const FakeConfig& config = FakeConfig()) {
        if (d == nullptr)
            return FakeInstance(this, nullptr, nullptr, "no descriptor" + (error_.empty() ? "" : ": " + error_));
        char error[512];
        std::memset(error, 0, sizeof error);
        void* instance = d->create(&api_, reinterpret_cast<const brisk_config*>(&config), error, sizeof error);
        std::string reason;
        if (instance == nullptr)
            reason = error[sizeof error - 1] == '\0' ? std::string(error) : std::string("(error not NUL-terminated)");
        return FakeInstance(this, d, instance, std::move(reason));
    }

    /** Every line logged so far, "LEVEL message", in and outside requests. */
    std::vector<std::string> log() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return log_;
    }

    /** Calls with a brisk_ctx made after its handle() had returned, or from another thread. */
    std::vector<std::string> late_calls() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return late_;
    }

    // ---- ABI 1.1: requests answered later, timers --------------------------

    /** The answer a plugin gave later with resume() or as a stream, as brisk would send it. */
    struct LaterAnswer {
        std::uint32_t status = 0;
        std::vector<std::pair<std::string, std::string>> headers;
        std::string body;                   // a stream's: every byte taken so far
        bool streamed = false;              // stream_open() gave the head
        bool ended = false;                 // a stream's stream_end() came
        bool upgraded = false;              // upgrade() answered 101: the connection is the plugin's
        std::uint64_t idle_timeout_ms = 0;  // upgrade_timeout()'s last value
        bool hijacked = false;              // hijack() asked for the socket
        bool closed = false;                // hijack_close() came
    };

    /** Bytes of a stream the fake client has not read, past which stream_send() is refused (brisk's bound). */
    std::uint64_t stream_bound = 64 * 1024;

    /**
     * The answer to the suspended request `handle`, once the plugin resumed
     * it or opened its stream (from any thread); nullopt while it has not, or
     * after it was cancelled. Waits up to `wait` for an answer from another thread.
     */
    std::optional<LaterAnswer> later(std::uint64_t handle,
                                     std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
        std::unique_lock<std::mutex> lock(mutex_);
        resumed_cv_.wait_for(lock, wait, [&] {
            auto it = later_.find(handle);
            return it != later_.end() && it->second.answer;
        });
        auto it = later_.find(handle);
        if (it == later_.end() || !it->second.answer) return std::nullopt;
        return it->second.answer;
    }

    /**
     * What brisk does when the client of a suspended request goes away (or
     * its handler_timeout passes): the plugin's cancel callback, once; false
     * if the request was not suspended any more (answered or cancelled).
     */
    bool cancel(std::uint64_t handle) {
        void (*fn)(void*) = nullptr;
        void* arg = nullptr;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = later_.find(handle);
            if (it == later_.end() || it->second.cancelled ||
                (it->second.answer && (!it->second.answer->streamed || it->second.answer->ended)))
                return false;
            it->second.cancelled = true;
            fn = it->second.cancel;
            arg = it->second.arg;
        }
        if (fn != nullptr) fn(arg);
        return true;
    }

    /**
     * The client read everything the stream `handle` was given so far: runs
     * the plugin's drain callback if a send was refused since the last time;
     * false if there is no open stream, or no drain was due.
     */
    bool client_read(std::uint64_t handle) {
        void (*fn)(void*) = nullptr;
        void* arg = nullptr;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = later_.find(handle);
            if (it == later_.end() || it->second.cancelled || !it->second.answer || !it->second.answer->streamed)
                return false;
            Suspended& s = it->second;
            s.unread = 0;
            if (!s.wants_drain || s.answer->ended || s.drain == nullptr) return false;
            s.wants_drain = false;
            fn = s.drain;
            arg = s.drain_arg;
        }
        fn(arg);
        return true;
    }

    /**
     * What brisk does as the body of a body-stream request arrives: hands
     * the plugin the next pieces of at most `piece` bytes, one per
     * body_read() it made (also from its callback), the last one with
     * `last` set; returns how many pieces went. The plugin's callback runs
     * on this thread.
     */
    std::size_t feed_body(std::uint64_t handle, std::size_t piece = 16384) {
        std::size_t fed = 0;
        for (;;) {
            void (*fn)(void*, const void*, std::uint64_t, std::int32_t) = nullptr;
            void* arg = nullptr;
            std::string bytes;
            bool last = false;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                auto it = later_.find(handle);
                if (it == later_.end() || it->second.cancelled || it->second.answer || !it->second.on_body) return fed;
                Suspended& s = it->second;
                const std::size_t n = s.body.size() < piece ? s.body.size() : piece;
                bytes = s.body.substr(0, n);
                s.body.erase(0, n);
                last = s.body.empty();
                if (last) s.body_open = false;
                fn = std::exchange(s.on_body, nullptr);
                arg = s.body_arg;
            }
            fn(arg, bytes.data(), bytes.size(), last ? 1 : 0);
            ++fed;
        }
    }

    /**
     * The client of the upgraded connection `handle` sends `bytes`: the
     * plugin's on_read runs on this thread. False if the connection is not
     * upgraded, or was ended or cancelled.
     */
    bool client_send(std::uint64_t handle, std::string_view bytes) {
        void (*fn)(void*, const void*, std::uint64_t) = nullptr;
        void* arg = nullptr;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            Suspended* s = open_stream(handle);
            if (s == nullptr || !s->answer->upgraded) return false;
            fn = s->on_read;
            arg = s->read_arg;
        }
        fn(arg, bytes.data(), static_cast<std::uint64_t>(bytes.size()));
        return true;
    }

    /**
     * What brisk does once a hijack() can be carried out: the plugin's
     * `taken` runs on this thread with one end of a connected socket pair
     * and `read_ahead` (the bytes read past the request). Returns the other
     * end, the client's (the test closes it), or -1 if no hijack is pending.
     */
    int hand_over(std::uint64_t handle, std::string_view read_ahead = {}) {
        void (*fn)(void*, std::int32_t, const void*, std::uint64_t) = nullptr;
        void* arg = nullptr;
        int pair[2];
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = later_.find(handle);
            if (it == later_.end() || it->second.cancelled || !it->second.answer || !it->second.answer->hijacked ||
                it->second.handed)
                return -1;
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) return -1;
            it->second.handed = true;
            it->second.plugin_fd = pair[0];
            fn = it->second.on_taken;
            arg = it->second.taken_arg;
        }
        fn(arg, pair[0], read_ahead.data(), static_cast<std::uint64_t>(read_ahead.size()));
        return pair[1];
    }

    /** Timers started and neither fired nor cancelled. */
    std::size_t pending_timers() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::size_t n = 0;
        for (const Timer& t : timers_) n += t.pending;
        return n;
    }

    /**
     * Moves the fake clock on by `ms` and fires the timers due by then, in
     * the order of their deadlines (as brisk's loop would); returns how many fired.
     */
    std::size_t advance(std::uint64_t ms) {
        std::size_t fired = 0;
        clock_ms_ += ms;
        for (;;) {
            void (*fire)(void*) = nullptr;
            void* arg = nullptr;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                Timer* next = nullptr;
                for (Timer& t : timers_)
                    if (t.pending && t.due <= clock_ms_ && (!next || t.due < next->due)) next = &t;
                if (next == nullptr) return fired;
                next->pending = false;
                fire = next->fire;
                arg = next->arg;
            }
            fire(arg);
            ++fired;
        }
    }

private:
    friend class FakeInstance;

    /** The state of one handle() call; brisk_ctx* points at it. */
    struct Call {
        FakeHost* host = nullptr;
        FakeResponse* res = nullptr;
        const brisk_request* req = nullptr;
        std::thread::id thread;
        bool open = true;
        void* slot = nullptr;
        enum class Body { none, fixed, stream } body = Body::none;
        std::deque<std::string> owned;  // decoded query args
        std::vector<std::pair<void*, std::size_t>> arena;
        std::uint64_t arena_used = 0;
        struct Ref {
            const void* data;
            std::uint64_t len;
            void (*release)(void*);
            void* arg;
            int fd;
            std::uint64_t offset;
        };
        std::vector<std::pair<std::size_t, Ref>> deferred;  // body offset -> ref or file, read at the end
        std::uint64_t suspended = 0;                        // ABI 1.1: the handle, once suspended
        const std::string* unread_body = nullptr;           // BRISK_CAP_BODY_STREAM: the body, read by body_read
    };

    static FakeHost*& current() noexcept {
        static FakeHost* host = nullptr;
        return host;
    }

    const brisk_plugin_descriptor* fail(std::string why) {
        error_ = std::move(why);
        return nullptr;
    }

    static const char* level_name(std::int32_t level) noexcept {
        switch (level) {
        case BRISK_LOG_DEBUG:
            return "DEBUG";
        case BRISK_LOG_INFO:
            return "INFO";
        case BRISK_LOG_WARN:
            return "WARN";
        case BRISK_LOG_ERROR:
            return "ERROR";
        default:
            return "LEVEL?";
        }
    }

    /** The call behind `ctx` if it may be used now; else records why and returns nullptr. */
    static Call* live(brisk_ctx* ctx, const char* fn) {
        if (ctx == nullptr) return nullptr;
        Call* c = reinterpret_cast<Call*>(ctx);
        if (!c->open) {
            std::lock_guard<std::mutex> lock(c->host->mutex_);
            c->host->late_.push_back(std::string(fn) + " after handle() returned");
            return nullptr;
        }
        if (c->thread != std::this_thread::get_id()) {
            std::lock_guard<std::mutex> lock(c->host->mutex_);
            c->host->late_.push_back(std::string(fn) + " from another thread than handle()'s");
            return nullptr;
        }
        return c;
    }

    static std::int32_t refuse(Call* c, std::string why) {
        last_refusal() = why;
        c->res->misuse.push_back(std::move(why));
        return -1;
    }

    // ---- request ------------------------------------------------------------

    static std::int32_t fn_header(brisk_ctx* ctx, brisk_str name, std::uint32_t nth, brisk_str* out) {
        Call* c = live(ctx, "header");
        if (c == nullptr || out == nullptr) return -1;
        for (std::uint32_t i = 0; i < c->req->header_count; ++i)
            if (detail::iequals(detail::view(c->req->headers[i].name), detail::view(name)) && nth-- == 0) {
                *out = c->req->headers[i].value;
                return 0;
            }
        return -1;
    }

    static std::int32_t fn_query_arg(brisk_ctx* ctx, brisk_str name, brisk_str* out) {
        Call* c = live(ctx, "query_arg");
        if (c == nullptr || out == nullptr) return -1;
        std::string_view q = detail::view(c->req->query);
        while (!q.empty()) {
            const std::size_t amp = q.find('&');
            const std::string_view pair = q.substr(0, amp);
            q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
            const std::size_t eq = pair.find('=');
            const std::string_view key = pair.substr(0, eq);
            if (detail::percent_decode(key) != detail::view(name)) continue;
            const std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
            const std::string& decoded = c->owned.emplace_back(detail::percent_decode(value));
            *out = detail::str(decoded);
            return 0;
        }
        return -1;
    }

    static std::int32_t fn_cookie(brisk_ctx* ctx, brisk_str name, brisk_str* out) {
        Call* c = live(ctx, "cookie");
        if (c == nullptr || out == nullptr) return -1;
        for (std::uint32_t i = 0; i < c->req->header_count; ++i) {
            if (!detail::iequals(detail::view(c->req->headers[i].name), "cookie")) continue;
            std::string_view rest = detail::view(c->req->headers[i].value);
            while (!rest.empty()) {
                const std::size_t semi = rest.find(';');
                const std::string_view pair = detail::trim(rest.substr(0, semi));
                rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
                const std::size_t eq = pair.find('=');
                if (eq == std::string_view::npos || detail::trim(pair.substr(0, eq)) != detail::view(name)) continue;
                std::string_view value = detail::trim(pair.substr(eq + 1));
                if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                    value = value.substr(1, value.size() - 2);
                *out = detail::str(value);
                return 0;
            }
        }
        return -1;
    }

    static void* fn_arena_alloc(brisk_ctx* ctx, std::uint64_t size) {
        Call* c = live(ctx, "arena_alloc");
        if (c == nullptr) return nullptr;
        if (size > c->host->arena_limit - c->arena_used) return nullptr;
        const std::size_t n = size == 0 ? 1 : static_cast<std::size_t>(size);
        void* p = ::operator new (n, std::align_val_t{16}, std::nothrow);
        if (p == nullptr) return nullptr;
        std::memset(p, 0xa5, n);
        c->arena.emplace_back(p, n);
        c->arena_used += size;
        return p;
    }

    static void** fn_request_slot(brisk_ctx* ctx) {
        Call* c = live(ctx, "request_slot");
        return c == nullptr ? nullptr : &c->slot;
    }

    // ---- response -----------------------------------------------------------

    static std::int32_t fn_set_status(brisk_ctx* ctx, std::uint32_t status) {
        Call* c = live(ctx, "set_status");
        if (c == nullptr) return -1;
        if (status < 200 || status > 599) return refuse(c, "set_status(" + std::to_string(status) + "): not 200-599");
        if (c->body != Call::Body::none) return refuse(c, "set_status after a body call");
        c->res->status = status;
        return 0;
    }

    static std::int32_t fn_set_reason(brisk_ctx* ctx, brisk_str phrase) {
        Call* c = live(ctx, "set_reason");
        if (c == nullptr) return -1;
        const std::string_view p = detail::view(phrase);
        if (p.empty() || p.size() > 48) return refuse(c, "set_reason: an empty phrase, or one over 48 bytes");
        for (char ch : p) {
            const auto u = static_cast<unsigned char>(ch);
            if (u < 0x20 ? u != '\t' : u > 0x7e)
                return refuse(c, "set_reason: a byte outside visible ASCII, space, tab");
        }
        if (c->body != Call::Body::none) return refuse(c, "set_reason after a body call");
        c->res->reason = std::string(p);
        return 0;
    }

    static std::int32_t fn_add_header(brisk_ctx* ctx, brisk_str name, brisk_str value) {
        Call* c = live(ctx, "add_header");
        if (c == nullptr) return -1;
        const std::string_view n = detail::view(name);
        const std::string_view v = detail::view(value);
        if (c->body == Call::Body::stream)
            return refuse(c, "add_header(" + std::string(n) + ") after stream_write sent the head");
        if (!detail::is_token(n) || !detail::is_field_value(v))
            return refuse(c, "add_header(" + std::string(n) + "): invalid name or value");
        for (std::string_view own : {"Date", "Server", "Content-Length", "Transfer-Encoding", "Connection"})
            if (detail::iequals(n, own)) return refuse(c, "add_header(" + std::string(n) + "): the host's field");
        c->res->headers.emplace_back(std::string(n), std::string(v));
        return 0;
    }

    static bool start_fixed(Call* c, const char* fn) {
        if (c->body == Call::Body::stream) {
            refuse(c, std::string(fn) + " after stream_write");
            return false;
        }
        c->body = Call::Body::fixed;
        return true;
    }

    static std::int32_t fn_body_copy(brisk_ctx* ctx, const void* data, std::uint64_t len) {
        Call* c = live(ctx, "body_copy");
        if (c == nullptr) return -1;
        if (data == nullptr && len != 0) return refuse(c, "body_copy(NULL, " + std::to_string(len) + ")");
        if (!start_fixed(c, "body_copy")) return -1;
        c->res->body.append(static_cast<const char*>(data), static_cast<std::size_t>(len));
        c->res->body_calls.emplace_back("copy");
        return 0;
    }

    static std::int32_t fn_body_ref(brisk_ctx* ctx, const void* data, std::uint64_t len, void (*release)(void*),
                                    void* arg) {
        Call* c = live(ctx, "body_ref");
        if (c == nullptr) return -1;
        if (data == nullptr && len != 0) return refuse(c, "body_ref(NULL, " + std::to_string(len) + ")");
        if (!start_fixed(c, "body_ref")) return -1;
        c->deferred.emplace_back(c->res->body.size(), Call::Ref{data, len, release, arg, -1, 0});
        c->res->body_calls.emplace_back("ref");
        return 0;
    }

    static std::int32_t fn_body_file(brisk_ctx* ctx, std::int32_t fd, std::uint64_t offset, std::uint64_t len) {
        Call* c = live(ctx, "body_file");
        if (c == nullptr) return -1;
        if (fd < 0 || ::fcntl(fd, F_GETFD) == -1)
            return refuse(c, "body_file(" + std::to_string(fd) + "): not an open descriptor");
        if (!start_fixed(c, "body_file")) {
            ::close(fd);  // brisk owns the descriptor from the call on, even when refusing it
            return -1;
        }
        c->deferred.emplace_back(c->res->body.size(), Call::Ref{nullptr, len, nullptr, nullptr, fd, offset});
        c->res->body_calls.emplace_back("file");
        return 0;
    }

    static std::int32_t fn_stream_write(brisk_ctx* ctx, const void* data, std::uint64_t len) {
        Call* c = live(ctx, "stream_write");
        if (c == nullptr) return -1;
        if (data == nullptr && len != 0) return refuse(c, "stream_write(NULL, " + std::to_string(len) + ")");
        if (c->body == Call::Body::fixed) return refuse(c, "stream_write after another body call");
        c->body = Call::Body::stream;
        c->res->streamed = true;
        if (len == 0) return 0;
        std::string chunk(static_cast<const char*>(data), static_cast<std::size_t>(len));
        c->res->body += chunk;
        c->res->chunks.push_back(std::move(chunk));
        c->res->body_calls.emplace_back("stream");
        return 0;
    }

    static void fn_log(brisk_ctx* ctx, std::int32_t level, brisk_str message) {
        std::string line = std::string(level_name(level)) + " " + std::string(detail::view(message));
        FakeHost* host = current();
        if (ctx != nullptr) {
            Call* c = reinterpret_cast<Call*>(ctx);
            host = c->host;
            if (c->open && c->thread == std::this_thread::get_id()) c->res->log.push_back(line);
        }
        if (host == nullptr) return;
        std::lock_guard<std::mutex> lock(host->mutex_);
        host->log_.push_back(std::move(line));
    }

    // An instance name's log handle (index + 1), interned like brisk does.
    std::uint64_t intern(const std::string& name) {
        std::lock_guard<std::mutex> lock(mutex_);
        for (std::size_t i = 0; i < names_.size(); ++i)
            if (names_[i] == name) return i + 1;
        names_.push_back(name);
        return names_.size();
    }

    static std::uint64_t fn_log_handle(const brisk_config* cfg) {
        FakeHost* host = current();
        if (host == nullptr || cfg == nullptr) return 0;
        return host->intern(reinterpret_cast<const FakeConfig*>(cfg)->name_);
    }

    static brisk_str fn_config_name(const brisk_config* cfg) {
        FakeHost* host = current();
        if (host == nullptr || cfg == nullptr) return brisk_str{nullptr, 0};
        const std::uint64_t i = host->intern(reinterpret_cast<const FakeConfig*>(cfg)->name_);
        std::lock_guard<std::mutex> lock(host->mutex_);
        return detail::str(host->names_[i - 1]);
    }

    /** Recorded in log() as "LEVEL [name] message". */
    static void fn_log_to(std::uint64_t handle, std::int32_t level, brisk_str message) {
        FakeHost* host = current();
        if (host == nullptr) return;
        std::lock_guard<std::mutex> lock(host->mutex_);
        const std::string who = handle >= 1 && handle <= host->names_.size() ? host->names_[handle - 1] : "plugin";
        host->log_.push_back(std::string(level_name(level)) + " [" + who + "] " + std::string(detail::view(message)));
    }

    // ---- config -------------------------------------------------------------

    static std::int32_t fn_config_type(const brisk_config* cfg, brisk_str key) {
        if (cfg == nullptr) return BRISK_CONFIG_ABSENT;
        for (const auto& e : reinterpret_cast<const FakeConfig*>(cfg)->entries_) {
            if (e.key != detail::view(key)) continue;
            switch (e.type) {
            case FakeConfig::kString:
                return BRISK_CONFIG_STRING;
            case FakeConfig::kInt:
                return BRISK_CONFIG_INT;
            case FakeConfig::kBool:
                return BRISK_CONFIG_BOOL;
            case FakeConfig::kDouble:
                return BRISK_CONFIG_DOUBLE;
            }
        }
        return BRISK_CONFIG_ABSENT;
    }

    static const FakeConfig::Entry* find_entry(const brisk_config* cfg, brisk_str key, FakeConfig::Type type) {
        if (cfg == nullptr) return nullptr;
        return reinterpret_cast<const FakeConfig*>(cfg)->find(detail::view(key), type);
    }

    static std::int32_t fn_config_string(const brisk_config* cfg, brisk_str key, brisk_str* out) {
        const FakeConfig::Entry* e = find_entry(cfg, key, FakeConfig::kString);
        if (e == nullptr || out == nullptr) return -1;
        *out = detail::str(e->value.s);
        return 0;
    }

    static std::int32_t fn_config_int(const brisk_config* cfg, brisk_str key, std::int64_t* out) {
        const FakeConfig::Entry* e = find_entry(cfg, key, FakeConfig::kInt);
        if (e == nullptr || out == nullptr) return -1;
        *out = e->value.i;
        return 0;
    }

    static std::int32_t fn_config_bool(const brisk_config* cfg, brisk_str key, std::int32_t* out) {
        const FakeConfig::Entry* e = find_entry(cfg, key, FakeConfig::kBool);
        if (e == nullptr || out == nullptr) return -1;
        *out = e->value.b ? 1 : 0;
        return 0;
    }

    static std::int32_t fn_config_double(const brisk_config* cfg, brisk_str key, double* out) {
        const FakeConfig::Entry* e = find_entry(cfg, key, FakeConfig::kDouble);
        if (e == nullptr || out == nullptr) return -1;
        *out = e->value.d;
        return 0;
    }

    static brisk_str fn_config_where(const brisk_config* cfg, brisk_str key) {
        if (cfg == nullptr) return brisk_str{nullptr, 0};
        const FakeConfig* config = reinterpret_cast<const FakeConfig*>(cfg);
        for (const auto& e : config->entries_)
            if (e.key == detail::view(key)) return detail::str(e.where);
        return detail::str(config->table_where_);
    }

    /** Runs handle() for `request` on instance `d`/`instance`. */
    FakeResponse run(const brisk_plugin_descriptor* d, void* instance, const FakeRequest& request) {
        // The request lives in one buffer (views into it) plus the header array, like brisk's.
        std::string buffer;
        buffer.reserve(request.method.size() + request.target.size() + request.body.size() +
                       request.remote_addr.size() + 64 * (request.headers.size() + 1));
        auto put = [&buffer](std::string_view s) {
            const std::size_t at = buffer.size();
            buffer.append(s);
            return at;
        };
        struct Span {
            std::size_t at, len;
        };
        const Span method{put(request.method), request.method.size()};
        const Span target{put(request.target), request.target.size()};
        std::vector<std::pair<Span, Span>> fields;
        for (const auto& [n, v] : request.headers) {
            const Span name{put(n), n.size()};
            const Span value{put(v), v.size()};
            fields.emplace_back(name, value);
        }
        const Span remote{put(request.remote_addr), request.remote_addr.size()};
        const Span body{put(request.body), request.body.size()};
        const Span tls_protocol{put(request.tls_protocol), request.tls_protocol.size()};
        const Span tls_cipher{put(request.tls_cipher), request.tls_cipher.size()};
        const Span tls_server_name{put(request.tls_server_name), request.tls_server_name.size()};
        const Span alpn{put(request.alpn), request.alpn.size()};
        auto at = [&buffer](Span s) { return brisk_str{s.len == 0 ? nullptr : buffer.data() + s.at, s.len}; };

        std::vector<brisk_header> headers;
        headers.reserve(fields.size());
        for (const auto& [n, v] : fields) headers.push_back(brisk_header{at(n), at(v)});

        brisk_request req{};
        // A host older than 1.2 hands over the request without its TLS fields.
        req.size = abi_minor >= 2 ? sizeof(brisk_request) : offsetof(brisk_request, tls);
        req.version = (std::uint32_t{BRISK_PLUGIN_ABI_MAJOR} << 16) | abi_minor;
        req.method = at(method);
        req.target = at(target);
        const std::string_view t = request.target;
        const std::size_t q = t.find('?');
        req.path = brisk_str{req.target.ptr, q == std::string_view::npos ? t.size() : q};
        req.query = q == std::string_view::npos || q + 1 == t.size()
                        ? brisk_str{nullptr, 0}
                        : brisk_str{req.target.ptr + q + 1, t.size() - q - 1};
        req.host = brisk_str{nullptr, 0};
        for (const auto& h : headers)
            if (detail::iequals(detail::view(h.name), "host")) {
                req.host = h.value;
                break;
            }
        req.headers = headers.empty() ? nullptr : headers.data();
        req.header_count = static_cast<std::uint32_t>(headers.size());
        req.http_minor = request.http_minor;
        req.remote_addr = at(remote);
        req.remote_port = request.remote_port;
        req.loop_index = request.loop_index;
        req.connection_id = request.connection_id;
        req.request_number = request.request_number;
        if (abi_minor >= 2 && request.tls) {
            req.tls = 1;
            req.tls_protocol = at(tls_protocol);
            req.tls_cipher = at(tls_cipher);
            req.tls_server_name = at(tls_server_name);
            req.alpn = at(alpn);
        }
        // A body-stream instance sees the head first; the body comes by body_read() (feed_body()).
        const bool body_later = (d->capabilities & BRISK_CAP_BODY_STREAM) != 0 && !request.body.empty();
        req.body = body_later ? brisk_str{nullptr, 0} : at(body);

        FakeResponse res;
        Call* call = nullptr;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            call = calls_.emplace_back(std::make_unique<Call>()).get();
        }
        call->host = this;
        call->res = &res;
        call->req = &req;
        call->thread = std::this_thread::get_id();
        if (body_later) call->unread_body = &request.body;

        res.result = d->handle(instance, reinterpret_cast<brisk_ctx*>(call), &req);
        call->open = false;
        if (call->suspended != 0) {
            if (res.result == BRISK_DONE) {
                res.suspended = call->suspended;
            } else {
                std::lock_guard<std::mutex> lock(mutex_);
                later_.erase(call->suspended);  // undone, as brisk does: no cancel callback
            }
        }

        if (res.result != BRISK_DONE && res.result != BRISK_DECLINE && res.result != BRISK_ERROR)
            res.misuse.push_back("handle returned " + std::to_string(res.result));
        if (res.result == BRISK_DECLINE && call->body != Call::Body::none)
            res.misuse.push_back("declined after a body call");

        // The request is over: poison what the plugin was lent, then read body_ref/body_file data.
        std::memset(buffer.data(), 0xdd, buffer.size());
        if (!headers.empty())
            std::memset(static_cast<void*>(headers.data()), 0xdd, headers.size() * sizeof(brisk_header));
        std::memset(static_cast<void*>(&req), 0xdd, sizeof req);
        for (auto& [p, n] : call->arena) {
            std::memset(p, 0xdd, n);
        }

        std::size_t inserted = 0;
        for (auto& [offset, ref] : call->deferred) {
            std::string bytes;
            if (ref.fd >= 0) {
                bytes.resize(static_cast<std::size_t>(ref.len));
                std::size_t got = 0;
                while (got < bytes.size()) {
                    const ssize_t r =
                        ::pread(ref.fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(ref.offset + got));
                    if (r <= 0) break;
                    got += static_cast<std::size_t>(r);
                }
                if (got < bytes.size()) {
                    res.misuse.push_back("body_file: the file has fewer bytes than promised");
                    bytes.resize(got);
                }
                ::close(ref.fd);
            } else if (ref.len != 0) {
                bytes.assign(static_cast<const char*>(ref.data), static_cast<std::size_t>(ref.len));
            }
            res.body.insert(offset + inserted, bytes);
            inserted += bytes.size();
        }
        for (auto& [offset, ref] : call->deferred)
            if (ref.fd < 0 && ref.release != nullptr) {
                ref.release(ref.arg);
                ++res.releases;
            }

        for (auto& [p, n] : call->arena) ::operator delete (p, std::align_val_t{16});
        call->arena.clear();
        call->owned.clear();
        call->deferred.clear();
        call->req = nullptr;
        return res;
    }

    // ---- ABI 1.1 ------------------------------------------------------------

    struct Suspended {
        void (*cancel)(void*) = nullptr;
        void* arg = nullptr;
        bool cancelled = false;
        std::optional<LaterAnswer> answer;
        void (*drain)(void*) = nullptr;
        void* drain_arg = nullptr;
        std::uint64_t unread = 0;
        bool wants_drain = false;
        // BRISK_CAP_BODY_STREAM: the body not handed on yet, and the read the plugin asked for.
        std::string body;
        bool body_open = false;
        void (*on_body)(void*, const void*, std::uint64_t, std::int32_t) = nullptr;
        void* body_arg = nullptr;
        bool upgradable = false;  // the request asked for an upgrade
        // upgrade(): where the client's bytes go.
        void (*on_read)(void*, const void*, std::uint64_t) = nullptr;
        void* read_arg = nullptr;
        // hijack(): who takes the socket, and the plugin's end once handed over.
        void (*on_taken)(void*, std::int32_t, const void*, std::uint64_t) = nullptr;
        void* taken_arg = nullptr;
        bool handed = false;
        int plugin_fd = -1;
    };
    struct Timer {
        std::uint64_t due;
        void (*fire)(void*);
        void* arg;
        bool pending;
    };

    static std::uint64_t fn_suspend(brisk_ctx* ctx, void (*cancel)(void*), void* arg) {
        Call* c = live(ctx, "suspend");
        if (c == nullptr) return 0;
        if (c->suspended != 0) {
            refuse(c, "suspend: the request is suspended already");
            return 0;
        }
        if (c->body != Call::Body::none || !c->res->headers.empty() || c->res->status != 200) {
            refuse(c, "suspend after a response call");
            return 0;
        }
        std::lock_guard<std::mutex> lock(c->host->mutex_);
        c->suspended = ++c->host->next_handle_;
        Suspended& s = c->host->later_[c->suspended];
        s.cancel = cancel;
        s.arg = arg;
        if (c->unread_body != nullptr) {
            s.body = *c->unread_body;
            s.body_open = true;
        }
        s.upgradable = asks_upgrade(*c->req);
        return c->suspended;
    }

    // As brisk decides: an HTTP/1.1 request without a body, with Upgrade and "upgrade" in Connection.
    static bool asks_upgrade(const brisk_request& req) {
        if (req.http_minor != 1 || req.body.len != 0) return false;
        bool upgrade = false, connection = false;
        for (std::uint32_t i = 0; i < req.header_count; ++i) {
            const std::string_view n = detail::view(req.headers[i].name);
            const std::string_view v = detail::view(req.headers[i].value);
            if (detail::iequals(n, "upgrade") && !v.empty()) upgrade = true;
            if (!detail::iequals(n, "connection")) continue;
            std::string_view rest = v;
            while (!rest.empty()) {
                const std::size_t comma = rest.find(',');
                if (detail::iequals(detail::trim(rest.substr(0, comma)), "upgrade")) connection = true;
                rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            }
        }
        return upgrade && connection;
    }

    // The status and fields of a later answer or a stream's head, checked as brisk does.
    static std::optional<LaterAnswer> later_head(std::uint32_t status, const brisk_header* headers,
                                                 std::uint32_t count) {
        if (status < 200 || status > 599 || (count != 0 && headers == nullptr)) return std::nullopt;
        LaterAnswer a;
        a.status = status;
        for (std::uint32_t i = 0; i < count; ++i) {
            const std::string_view n = detail::view(headers[i].name);
            for (std::string_view own : {"date", "server", "content-length", "transfer-encoding", "connection"})
                if (detail::iequals(n, own)) return std::nullopt;
            a.headers.emplace_back(std::string(n), std::string(detail::view(headers[i].value)));
        }
        return a;
    }

    // Gives the suspended request `handle` its answer (or stream head); -1 if it is not suspended.
    static std::int32_t answer(FakeHost* host, std::uint64_t handle, LaterAnswer a, void (*drain)(void*), void* arg) {
        {
            std::lock_guard<std::mutex> lock(host->mutex_);
            auto it = host->later_.find(handle);
            if (it == host->later_.end() || it->second.answer || it->second.cancelled) return -1;
            it->second.answer = std::move(a);
            it->second.drain = drain;
            it->second.drain_arg = arg;
        }
        host->resumed_cv_.notify_all();
        return 0;
    }

    static std::int32_t fn_resume(std::uint64_t handle, std::uint32_t status, const brisk_header* headers,
                                  std::uint32_t count, const void* body, std::uint64_t len) {
        FakeHost* host = current();
        if (host == nullptr || (len != 0 && body == nullptr)) return -1;
        std::optional<LaterAnswer> a = later_head(status, headers, count);
        if (!a) return -1;
        a->body.assign(static_cast<const char*>(body), static_cast<std::size_t>(len));
        return answer(host, handle, std::move(*a), nullptr, nullptr);
    }

    static std::int32_t fn_stream_open(std::uint64_t handle, std::uint32_t status, const brisk_header* headers,
                                       std::uint32_t count, void (*drain)(void*), void* arg) {
        FakeHost* host = current();
        if (host == nullptr) return -1;
        std::optional<LaterAnswer> a = later_head(status, headers, count);
        if (!a) return -1;
        a->streamed = true;
        return answer(host, handle, std::move(*a), drain, arg);
    }

    // The open stream `handle`, under the host's lock; null if there is none.
    Suspended* open_stream(std::uint64_t handle) {
        auto it = later_.find(handle);
        if (it == later_.end() || it->second.cancelled || !it->second.answer || !it->second.answer->streamed ||
            it->second.answer->ended)
            return nullptr;
        return &it->second;
    }

    static std::int32_t fn_stream_send(std::uint64_t handle, const void* data, std::uint64_t len) {
        FakeHost* host = current();
        if (host == nullptr || (len != 0 && data == nullptr)) return -1;
        std::lock_guard<std::mutex> lock(host->mutex_);
        Suspended* s = host->open_stream(handle);
        if (s == nullptr) return -1;
        if (s->unread > 0 && s->unread + len > host->stream_bound) {
            s->wants_drain = true;
            return BRISK_STREAM_FULL;
        }
        s->unread += len;
        s->answer->body.append(static_cast<const char*>(data), static_cast<std::size_t>(len));
        return 0;
    }

    static std::int32_t fn_body_read(std::uint64_t handle,
                                     void (*on_body)(void*, const void*, std::uint64_t, std::int32_t), void* arg) {
        FakeHost* host = current();
        if (host == nullptr || on_body == nullptr) return -1;
        std::lock_guard<std::mutex> lock(host->mutex_);
        auto it = host->later_.find(handle);
        if (it == host->later_.end() || it->second.cancelled || it->second.answer || !it->second.body_open ||
            it->second.on_body)
            return -1;
        it->second.on_body = on_body;
        it->second.body_arg = arg;
        return 0;
    }

    static std::int32_t fn_stream_end(std::uint64_t handle) {
        FakeHost* host = current();
        if (host == nullptr) return -1;
        {
            std::lock_guard<std::mutex> lock(host->mutex_);
            Suspended* s = host->open_stream(handle);
            if (s == nullptr) return -1;
            s->answer->ended = true;
        }
        host->resumed_cv_.notify_all();
        return 0;
    }

    static std::int32_t fn_upgrade(std::uint64_t handle, const brisk_header* headers, std::uint32_t count,
                                   void (*on_read)(void*, const void*, std::uint64_t), void (*drain)(void*),
                                   void* arg) {
        FakeHost* host = current();
        if (host == nullptr || on_read == nullptr) return -1;
        std::optional<LaterAnswer> a = later_head(200, headers, count);
        if (!a) return -1;
        a->status = 101;
        a->headers.emplace_back("Connection", "Upgrade");
        a->streamed = a->upgraded = true;
        {
            std::lock_guard<std::mutex> lock(host->mutex_);
            auto it = host->later_.find(handle);
            if (it == host->later_.end() || !it->second.upgradable || it->second.answer || it->second.cancelled)
                return -1;
            it->second.on_read = on_read;
            it->second.read_arg = arg;
        }
        return answer(host, handle, std::move(*a), drain, arg);
    }

    static std::int32_t fn_upgrade_timeout(std::uint64_t handle, std::uint64_t ms) {
        FakeHost* host = current();
        if (host == nullptr) return -1;
        std::lock_guard<std::mutex> lock(host->mutex_);
        Suspended* s = host->open_stream(handle);
        if (s == nullptr || !s->answer->upgraded) return -1;
        s->answer->idle_timeout_ms = ms;
        return 0;
    }

    static std::int32_t fn_hijack(std::uint64_t handle, void (*taken)(void*, std::int32_t, const void*, std::uint64_t),
                                  void* arg) {
        FakeHost* host = current();
        if (host == nullptr || taken == nullptr) return -1;
        {
            std::lock_guard<std::mutex> lock(host->mutex_);
            auto it = host->later_.find(handle);
            if (it == host->later_.end() || it->second.answer || it->second.cancelled || it->second.body_open)
                return -1;
            it->second.on_taken = taken;
            it->second.taken_arg = arg;
            LaterAnswer a;
            a.hijacked = true;
            it->second.answer = std::move(a);
        }
        host->resumed_cv_.notify_all();
        return 0;
    }

    static std::int32_t fn_hijack_close(std::uint64_t handle) {
        FakeHost* host = current();
        if (host == nullptr) return -1;
        std::lock_guard<std::mutex> lock(host->mutex_);
        auto it = host->later_.find(handle);
        if (it == host->later_.end() || it->second.cancelled || !it->second.answer || !it->second.answer->hijacked ||
            it->second.answer->closed)
            return -1;
        it->second.answer->closed = true;
        if (it->second.plugin_fd >= 0) ::close(std::exchange(it->second.plugin_fd, -1));
        return 0;
    }

    static std::string& last_refusal() {
        thread_local std::string why;
        return why;
    }

    static brisk_str fn_last_error() { return detail::str(last_refusal()); }

    static std::uint64_t fn_timer_start(std::uint64_t ms, void (*fire)(void*), void* arg) {
        FakeHost* host = current();
        if (host == nullptr || fire == nullptr) return 0;
        std::lock_guard<std::mutex> lock(host->mutex_);
        host->timers_.push_back(Timer{host->clock_ms_ + ms, fire, arg, true});
        return host->timers_.size();  // index + 1
    }

    static std::int32_t fn_timer_cancel(std::uint64_t id) {
        FakeHost* host = current();
        if (host == nullptr) return -1;
        std::lock_guard<std::mutex> lock(host->mutex_);
        if (id == 0 || id > host->timers_.size() || !host->timers_[id - 1].pending) return -1;
        host->timers_[id - 1].pending = false;
        return 0;
    }

    std::uint64_t next_handle_ = 0;
    std::deque<std::string> names_;  // instance names of log handles
    std::map<std::uint64_t, Suspended> later_;
    std::condition_variable resumed_cv_;
    std::deque<Timer> timers_;
    std::uint64_t clock_ms_ = 0;

    brisk_host_api api_;
    FakeHost* previous_;
    std::string error_;
    mutable std::mutex mutex_;
    std::vector<std::string> log_;
    std::vector<std::string> late_;
    std::deque<std::unique_ptr<Call>> calls_;
};

inline FakeResponse FakeInstance::handle(const FakeRequest& request) const {
    if (instance_ == nullptr) {
        FakeResponse res;
        res.result = BRISK_ERROR;
        res.misuse.push_back("handle on an instance that was not created: " + error_);
        return res;
    }
    return host_->run(d_, instance_, request);
}

}  // namespace brisk::testing
