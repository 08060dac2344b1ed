// brisk — plugin.hpp: a header-only C++20 wrapper over the plugin ABI
// (plugin_abi.h). One macro turns a class into a plugin:
//
//   #include <brisk/plugin.hpp>
//
//   struct Hello {
//       explicit Hello(brisk::PluginConfig& cfg);          // or a default constructor
//       brisk::Result handle(brisk::Request& req, brisk::Response& res);
//       void loop_init(std::uint32_t loop);                // optional
//       void loop_fini(std::uint32_t loop);                // optional
//   };
//   BRISK_PLUGIN(Hello, "hello", "1.0.0")          // BRISK_PLUGIN_BLOCKING(...) if handle() may block
//
// The macro defines the exported entry point brisk_plugin_entry_v1 and a
// static descriptor whose function pointers are per-class trampolines: a
// request costs one indirect call from brisk into the trampoline, which calls
// the class's handle() directly (no virtual call). Every trampoline catches
// every exception: create() returns NULL with the message, handle() returns
// BRISK_ERROR, loop_init() returns non-zero; the message goes to brisk's log.
//
// handle() runs on several loop threads at once for one instance: keep the
// instance's state immutable after construction, or synchronise it.
//
// Lifetimes: every std::string_view a Request hands out points into the
// connection's buffer or the request arena and is valid until handle()
// returns. PluginConfig exists during construction only; its accessors return
// owned values.
//
// The types live in the inline namespace brisk::plugin_v1 and are written
// brisk::Request, brisk::Response, ... They are distinct from brisk's own
// types of the same name (brisk::PluginConfig of config.hpp): a translation
// unit that includes both headers spells this one brisk::plugin_v1::PluginConfig.
#pragma once

#include <brisk/plugin_abi.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace brisk {
inline namespace plugin_v1 {

/** What handle() returns. */
enum class Result : std::int32_t {
    /** Answered (or will be, by the response calls made). */
    done = BRISK_DONE,
    /** Not for this handler: the request goes on to the next matching route. */
    decline = BRISK_DECLINE,
    /** Failure: 500 if nothing was sent yet, else the connection is closed. */
    error = BRISK_ERROR,
};

enum class LogLevel : std::int32_t {
    debug = BRISK_LOG_DEBUG,
    info = BRISK_LOG_INFO,
    warn = BRISK_LOG_WARN,
    error = BRISK_LOG_ERROR,
};

/** Thrown by PluginConfig::fail(); create() reports what() as the reason. */
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/**
 * Thrown when brisk refuses a response call (-1: a bad argument, a
 * host-owned field such as Content-Length, status or header after the body
 * started, mixing streaming with the other body calls). Uncaught, it turns the
 * request into BRISK_ERROR and is logged.
 */
class ResponseError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

namespace detail {
/**
 * The host function table, from the entry point (and from create()). One per
 * shared object: hidden, so two plugins in one process never share it.
 */
[[gnu::visibility("hidden")]] inline const brisk_host_api* host_api = nullptr;

/** Size of a 1.0 host table: every function this wrapper calls is below it. */
inline constexpr std::uint64_t host_api_v1_0_size = offsetof(brisk_host_api, reserved);
}  // namespace detail

/** The host function table given to the entry point. Valid for the process's life. */
inline const brisk_host_api& host() noexcept { return *detail::host_api; }

/** A view of ABI bytes. */
constexpr std::string_view view(brisk_str s) noexcept {
    return s.len == 0 ? std::string_view() : std::string_view(s.ptr, static_cast<std::size_t>(s.len));
}

/** ABI bytes viewing `s` (no copy). */
constexpr brisk_str str(std::string_view s) noexcept {
    return brisk_str{s.data(), static_cast<std::uint64_t>(s.size())};
}

/** Whether the host offers all of plugin ABI 1.1's calls (suspend, resume, timers, streams, body reads, ...). */
inline bool host_has_later() noexcept {
    const brisk_host_api& api = *detail::host_api;
    return api.size >= offsetof(brisk_host_api, last_error) + sizeof api.last_error;
}

/**
 * ABI 1.1: why the last host call of this thread that refused did so ("a
 * field brisk sets itself (Date, ...)"); empty if none did, or on an older host.
 */
inline std::string_view last_error() noexcept {
    return detail::host_api != nullptr && host_has_later() ? view(detail::host_api->last_error()) : std::string_view();
}

/** Writes into brisk's log outside a request (create, loop_init, loop_fini). */
inline void log(LogLevel level, std::string_view message) noexcept {
    if (detail::host_api != nullptr && detail::host_api->log != nullptr)
        detail::host_api->log(nullptr, static_cast<std::int32_t>(level), str(message));
}

/**
 * ABI 1.1: an instance's log, usable on any thread for the process's life
 * (PluginConfig::logger()); its lines carry the instance's name. A default
 * one, or one on an older host, logs with the prefix "plugin".
 */
class Logger {
public:
    Logger() = default;
    explicit Logger(std::uint64_t handle) noexcept : handle_(handle) {}

    void log(LogLevel level, std::string_view message) const noexcept {
        const brisk_host_api* api = detail::host_api;
        if (api == nullptr) return;
        if (api->size >= offsetof(brisk_host_api, log_to) + sizeof api->log_to)
            api->log_to(handle_, static_cast<std::int32_t>(level), str(message));
        else if (api->log != nullptr)
            api->log(nullptr, static_cast<std::int32_t>(level), str(message));
    }

private:
    std::uint64_t handle_ = 0;
};

/**
 * An instance's `config` table, during construction only. Keys of nested
 * tables are joined with '.' ("db.host"). The plain accessors return an
 * owned value, or std::nullopt when the key is absent or holds another
 * type; the expect_ ones tell the two apart and fail() on the wrong type.
 */
class PluginConfig {
public:
    PluginConfig(const brisk_host_api* api, const brisk_config* config) noexcept : api_(api), config_(config) {}

    /** What a key holds. */
    enum class Type { absent, string, integer, boolean, number };

    Type type(std::string_view key) const {
        if (has_11()) {
            switch (api_->config_type(config_, str(key))) {
            case BRISK_CONFIG_STRING:
                return Type::string;
            case BRISK_CONFIG_INT:
                return Type::integer;
            case BRISK_CONFIG_BOOL:
                return Type::boolean;
            case BRISK_CONFIG_DOUBLE:
                return Type::number;
            default:
                return Type::absent;
            }
        }
        brisk_str s{};
        std::int64_t i = 0;
        std::int32_t b = 0;
        double d = 0;
        const brisk_str k = str(key);
        if (api_->config_string(config_, k, &s) == 0) return Type::string;
        if (api_->config_int(config_, k, &i) == 0) return Type::integer;
        if (api_->config_bool(config_, k, &b) == 0) return Type::boolean;
        if (api_->config_double(config_, k, &d) == 0) return Type::number;
        return Type::absent;
    }

    /**
     * The string at `key`; std::nullopt when absent. Another type fails
     * creation: "file:line:column: key: expected a string, found an integer".
     */
    std::optional<std::string> expect_string(std::string_view key) const {
        expect(key, Type::string);
        return string(key);
    }
    std::optional<std::int64_t> expect_integer(std::string_view key) const {
        expect(key, Type::integer);
        return integer(key);
    }
    std::optional<bool> expect_boolean(std::string_view key) const {
        expect(key, Type::boolean);
        return boolean(key);
    }
    /** A float, or an integer as a double. */
    std::optional<double> expect_number(std::string_view key) const {
        if (type(key) != Type::integer) expect(key, Type::number);
        return number(key);
    }

    /** ABI 1.1: the instance's name ([plugins.NAME]); empty on an older host. */
    std::string name() const { return has_11() ? std::string(view(api_->config_name(config_))) : std::string(); }
    /** ABI 1.1: the instance's log, for lines outside handle() (threads, timers, loop_init). */
    Logger logger() const noexcept { return Logger(has_11() ? api_->log_handle(config_) : 0); }

    std::optional<std::string> string(std::string_view key) const {
        brisk_str out{};
        if (api_->config_string(config_, str(key), &out) != 0) return std::nullopt;
        return std::string(view(out));
    }

    std::optional<std::int64_t> integer(std::string_view key) const {
        std::int64_t out = 0;
        if (api_->config_int(config_, str(key), &out) != 0) return std::nullopt;
        return out;
    }

    std::optional<bool> boolean(std::string_view key) const {
        std::int32_t out = 0;
        if (api_->config_bool(config_, str(key), &out) != 0) return std::nullopt;
        return out != 0;
    }

    /** A float, or an integer converted to double (`ratio = 1` reads as 1.0). */
    std::optional<double> number(std::string_view key) const {
        double out = 0;
        if (api_->config_double(config_, str(key), &out) == 0) return out;
        if (auto i = integer(key)) return static_cast<double>(*i);
        return std::nullopt;
    }

    /** True when `key` holds a value of any type. */
    bool has(std::string_view key) const {
        brisk_str s{};
        std::int64_t i = 0;
        std::int32_t b = 0;
        double d = 0;
        const brisk_str k = str(key);
        return api_->config_string(config_, k, &s) == 0 || api_->config_int(config_, k, &i) == 0 ||
               api_->config_bool(config_, k, &b) == 0 || api_->config_double(config_, k, &d) == 0;
    }

    /** "file:line:column" of `key` in the config file, or of the table when `key` is absent. */
    std::string where(std::string_view key = {}) const {
        return std::string(view(api_->config_where(config_, str(key))));
    }

    /** Throws ConfigError("file:line:column: key: message"); creation fails with that reason. */
    [[noreturn]] void fail(std::string_view key, std::string_view message) const {
        std::string text = where(key);
        text += ": ";
        if (!key.empty()) {
            text += key;
            text += ": ";
        }
        text += message;
        throw ConfigError(text);
    }

    const brisk_config* raw() const noexcept { return config_; }

private:
    bool has_11() const noexcept { return api_->size >= offsetof(brisk_host_api, log_to) + sizeof api_->log_to; }

    static const char* type_name(Type t) noexcept {
        switch (t) {
        case Type::string:
            return "a string";
        case Type::integer:
            return "an integer";
        case Type::boolean:
            return "a boolean";
        case Type::number:
            return "a number";
        case Type::absent:
            break;
        }
        return "nothing";
    }

    void expect(std::string_view key, Type want) const {
        const Type got = type(key);
        if (got != Type::absent && got != want)
            fail(key, std::string("expected ") + type_name(want) + ", found " + type_name(got));
    }

    const brisk_host_api* api_;
    const brisk_config* config_;
};

/** What Request and Response share: the request in flight. Only valid during handle(). */
class Context {
public:
    explicit Context(brisk_ctx* ctx) noexcept : ctx_(ctx) {}

    brisk_ctx* raw_ctx() const noexcept { return ctx_; }

    /** `n` bytes of request memory, 16-byte aligned, freed when handle() returns. Throws std::bad_alloc. */
    void* arena_bytes(std::size_t n) const {
        void* p = api().arena_alloc(ctx_, static_cast<std::uint64_t>(n));
        if (p == nullptr) throw std::bad_alloc();
        return p;
    }

    /**
     * `count` default-initialised objects of T in the request arena. No
     * destructor runs, so T must be trivially destructible. Do not hand arena
     * memory to Response::write_ref(): it may be freed before the bytes are sent.
     */
    template <class T>
    T* arena(std::size_t count = 1) const {
        static_assert(std::is_trivially_destructible_v<T>, "the arena runs no destructors");
        static_assert(alignof(T) <= 16, "the arena aligns to 16 bytes");
        if (count > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_alloc();
        T* first = static_cast<T*>(arena_bytes(count * sizeof(T)));
        for (std::size_t i = 0; i < count; ++i) ::new (static_cast<void*>(first + i)) T;
        return first;
    }

    /** A copy of `s` in the request arena (valid until handle() returns). */
    std::string_view arena_copy(std::string_view s) const {
        if (s.empty()) return {};
        char* p = arena<char>(s.size());
        std::memcpy(p, s.data(), s.size());
        return std::string_view(p, s.size());
    }

    /** The instance's per-request pointer slot; starts as nullptr. */
    void*& slot() const { return *api().request_slot(ctx_); }

    /** Writes into brisk's log, prefixed with the instance name. */
    void log(LogLevel level, std::string_view message) const noexcept {
        api().log(ctx_, static_cast<std::int32_t>(level), str(message));
    }

protected:
    static const brisk_host_api& api() noexcept { return *detail::host_api; }

    brisk_ctx* ctx_;
};

/** One field of the request, as the client sent it (compare names case-insensitively). */
struct Header {
    std::string_view name;
    std::string_view value;
};

/** The request's fields in order; a forward range of Header. */
class HeaderRange {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = Header;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = Header;

        iterator() = default;
        explicit iterator(const brisk_header* p) noexcept : p_(p) {}
        Header operator*() const noexcept { return Header{view(p_->name), view(p_->value)}; }
        iterator& operator++() noexcept {
            ++p_;
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator old = *this;
            ++p_;
            return old;
        }
        friend bool operator==(iterator a, iterator b) noexcept { return a.p_ == b.p_; }

    private:
        const brisk_header* p_ = nullptr;
    };

    HeaderRange(const brisk_header* first, std::size_t count) noexcept : first_(first), count_(count) {}
    iterator begin() const noexcept { return iterator(first_); }
    iterator end() const noexcept { return iterator(first_ + count_); }
    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    Header operator[](std::size_t i) const noexcept { return Header{view(first_[i].name), view(first_[i].value)}; }

private:
    const brisk_header* first_;
    std::size_t count_;
};

/**
 * The request, as views into the connection's buffer: every string_view
 * returned here is valid until handle() returns. Copy what must live longer.
 */
class Request : public Context {
public:
    Request(brisk_ctx* ctx, const brisk_request* request) noexcept : Context(ctx), r_(request) {}

    std::string_view method() const noexcept { return view(r_->method); }
    /** "/a/b?x=1", as sent. */
    std::string_view target() const noexcept { return view(r_->target); }
    /** "/a/b", not percent-decoded. */
    std::string_view path() const noexcept { return view(r_->path); }
    /** "x=1" (without '?'); empty if none. */
    std::string_view query() const noexcept { return view(r_->query); }
    /** The Host field, or the authority of an absolute-form target. */
    std::string_view host() const noexcept { return view(r_->host); }
    /** The whole body, de-chunked; empty if none. */
    std::string_view body() const noexcept { return view(r_->body); }
    std::string_view remote_addr() const noexcept { return view(r_->remote_addr); }
    std::uint16_t remote_port() const noexcept { return r_->remote_port; }
    /** HTTP/1.<minor>: 0 or 1. */
    std::uint32_t http_minor() const noexcept { return r_->http_minor; }
    std::uint32_t loop_index() const noexcept { return r_->loop_index; }
    std::uint64_t connection_id() const noexcept { return r_->connection_id; }
    std::uint64_t request_number() const noexcept { return r_->request_number; }

    /** ABI 1.2: the request came over TLS (false on an older host, which has no TLS listeners). */
    bool tls() const noexcept { return has_tls_fields() && r_->tls != 0; }
    /** ABI 1.2: "TLSv1.3", "TLSv1.2"; empty for cleartext or on an older host. */
    std::string_view tls_protocol() const noexcept { return has_tls_fields() ? view(r_->tls_protocol) : ""; }
    /** ABI 1.2: OpenSSL's name of the cipher; empty for cleartext or on an older host. */
    std::string_view tls_cipher() const noexcept { return has_tls_fields() ? view(r_->tls_cipher) : ""; }
    /** ABI 1.2: the SNI name the client sent; empty if none. */
    std::string_view tls_server_name() const noexcept { return has_tls_fields() ? view(r_->tls_server_name) : ""; }
    /** ABI 1.2: the protocol ALPN chose ("http/1.1"); empty if none was negotiated. */
    std::string_view alpn() const noexcept { return has_tls_fields() ? view(r_->alpn) : ""; }
    /** "https" or "http", as the client sees this request's connection. */
    std::string_view scheme() const noexcept { return tls() ? "https" : "http"; }

    /** Every field, in order. */
    HeaderRange headers() const noexcept {
        return HeaderRange(r_->headers, static_cast<std::size_t>(r_->header_count));
    }

    /** The `nth` (0-based) field named `name`, case-insensitive. */
    std::optional<std::string_view> header(std::string_view name, std::uint32_t nth = 0) const {
        brisk_str out{};
        if (api().header(ctx_, str(name), nth, &out) != 0) return std::nullopt;
        return view(out);
    }

    /** The first query argument `name`, percent-decoded. */
    std::optional<std::string_view> query_arg(std::string_view name) const {
        brisk_str out{};
        if (api().query_arg(ctx_, str(name), &out) != 0) return std::nullopt;
        return view(out);
    }

    /** The cookie `name` from the Cookie fields. */
    std::optional<std::string_view> cookie(std::string_view name) const {
        brisk_str out{};
        if (api().cookie(ctx_, str(name), &out) != 0) return std::nullopt;
        return view(out);
    }

    const brisk_request& raw() const noexcept { return *r_; }

private:
    bool has_tls_fields() const noexcept { return r_->size >= offsetof(brisk_request, alpn) + sizeof r_->alpn; }
    const brisk_request* r_;
};

/**
 * The response: a status (before any body call), header fields (before the
 * first stream() call), and the body by one kind of call: write, write_ref
 * and send_file (any mix, sent in order once handle() returns), or stream().
 * brisk adds Date, Server, Content-Length or chunked framing, and Connection.
 * A call brisk refuses throws ResponseError.
 */
class Response : public Context {
public:
    explicit Response(brisk_ctx* ctx) noexcept : Context(ctx) {}

    /** 200-599 (default 200), before any body call. */
    Response& status(std::uint32_t code) {
        check(api().set_status(ctx_, code), "status");
        return *this;
    }

    /**
     * ABI 1.1: the status line's reason phrase (at most 48 bytes of visible
     * ASCII, spaces, tabs), instead of the registered one; before any body call.
     */
    Response& reason(std::string_view phrase) {
        check(host_has_later() ? api().set_reason(ctx_, str(phrase)) : -1, "reason");
        return *this;
    }

    /**
     * Adds a field (copied), before streaming starts. Date, Server,
     * Content-Length, Transfer-Encoding and Connection are brisk's.
     */
    Response& header(std::string_view name, std::string_view value) {
        check(api().add_header(ctx_, str(name), str(value)), "header");
        return *this;
    }

    Response& content_type(std::string_view value) { return header("Content-Type", value); }

    /** Appends body bytes, copied now. */
    Response& write(std::string_view bytes) {
        check(api().body_copy(ctx_, bytes.data(), static_cast<std::uint64_t>(bytes.size())), "write");
        return *this;
    }

    /**
     * Appends body bytes without copying: they must stay valid and unchanged
     * until brisk calls `release(arg)` (on a loop thread, once they are
     * written or the connection is gone). No release for static data.
     */
    Response& write_ref(std::string_view bytes, void (*release)(void*) = nullptr, void* arg = nullptr) {
        check(api().body_ref(ctx_, bytes.data(), static_cast<std::uint64_t>(bytes.size()), release, arg), "write_ref");
        return *this;
    }

    /**
     * Appends the bytes of `owner` (a std::string, std::vector<char>, or a
     * shared_ptr to one) without copying them: `owner` is moved to the heap
     * and destroyed when brisk has sent the bytes.
     */
    template <class Owner>
    requires(!std::is_lvalue_reference_v<Owner> && std::is_class_v<std::remove_cvref_t<Owner>> &&
             !std::is_same_v<std::remove_cvref_t<Owner>, std::string_view>) Response& write_ref(Owner&& owner) {
        using Held = std::remove_cvref_t<Owner>;
        Held* held = new Held(std::move(owner));
        const std::string_view bytes = bytes_of(*held);
        const std::int32_t rc =
            api().body_ref(ctx_, bytes.data(), static_cast<std::uint64_t>(bytes.size()), &release_owner<Held>, held);
        if (rc != 0) {
            delete held;
            check(rc, "write_ref");
        }
        return *this;
    }

    /**
     * Sends `len` bytes of the open file `fd` from `offset` (sendfile). brisk
     * owns `fd` from this call on and closes it.
     */
    Response& send_file(int fd, std::uint64_t offset, std::uint64_t len) {
        check(api().body_file(ctx_, static_cast<std::int32_t>(fd), offset, len), "send_file");
        return *this;
    }

    /**
     * Streams the body: each call is one chunk, chunked (HTTP/1.1) or
     * close-delimited (HTTP/1.0); the chunks leave when handle() returns.
     * Cannot be mixed with the other body calls. A body produced over time
     * is a stream of a suspended request (Later::open_stream, ABI 1.1).
     */
    Response& stream(std::string_view chunk) {
        check(api().stream_write(ctx_, chunk.data(), static_cast<std::uint64_t>(chunk.size())), "stream");
        return *this;
    }

    /**
     * ABI 1.1: the request is answered later, with Later::resume() or as a
     * stream (Later::open_stream), from any thread, and handle() returns
     * Result::done. `cancel(arg)` runs once on the loop thread if it will
     * never be answered or its stream never ended (the client left, the
     * instance's handler_timeout or the write timeout passed). Throws ResponseError where brisk
     * refuses (the blocking pool, after a response call, a second time, or a
     * host older than 1.1). Copy what the answer needs: nothing of the
     * request outlives handle().
     */
    class Later suspend(void (*cancel)(void*) = nullptr, void* arg = nullptr);

private:
    static void check(std::int32_t rc, const char* what) {
        if (rc == 0) return;
        const std::string_view why = last_error();
        std::string message = std::string("brisk refused Response::") + what + ": ";
        message += why.empty() ? std::string_view("bad argument, host-owned field, or too late") : why;
        throw ResponseError(message);
    }

    template <class Held>
    static std::string_view bytes_of(const Held& held) {
        if constexpr (requires { std::string_view(held.data(), held.size()); })
            return std::string_view(held.data(), held.size());
        else
            return std::string_view((*held).data(), (*held).size());
    }

    template <class Held>
    static void release_owner(void* p) noexcept {
        delete static_cast<Held*>(p);
    }
};

/** Header fields of a later answer or a stream's head: (name, value) pairs, at most 16. */
using Fields = std::initializer_list<std::pair<std::string_view, std::string_view>>;

/**
 * A suspended request (ABI 1.1): a handle that answers it once, from any
 * thread, either whole (resume) or as a stream (open_stream, then send and
 * end). A plain value: copying it copies the handle; brisk refuses every
 * answer after the first, every call after a cancel, and sends after the end.
 */
class Later {
public:
    Later() = default;
    explicit Later(std::uint64_t handle) noexcept : handle_(handle) {}

    std::uint64_t handle() const noexcept { return handle_; }
    explicit operator bool() const noexcept { return handle_ != 0; }

    /**
     * The whole answer, copied before it returns; brisk sends it from the
     * request's loop. False when brisk takes no answer any more (answered,
     * cancelled) or refuses it (a status outside 200-599, a field of brisk's own).
     */
    bool resume(std::uint32_t status, std::string_view body, Fields headers = {}) const {
        brisk_header fields[16];
        const std::uint32_t n = to_fields(headers, fields);
        if (n > 16) return false;
        return detail::host_api->resume(handle_, status, fields, n, body.data(),
                                        static_cast<std::uint64_t>(body.size())) == 0;
    }

    /**
     * Answers with a body given over time: the head leaves now (chunked on
     * HTTP/1.1, close-delimited on HTTP/1.0, head only for HEAD). `drain(arg)`
     * runs on the request's loop once a refused send() may be tried again.
     * False as for resume().
     */
    bool open_stream(std::uint32_t status, Fields headers = {}, void (*drain)(void*) = nullptr,
                     void* arg = nullptr) const {
        brisk_header fields[16];
        const std::uint32_t n = to_fields(headers, fields);
        if (n > 16) return false;
        return detail::host_api->stream_open(handle_, status, fields, n, drain, arg) == 0;
    }

    /** What send() did with the bytes. */
    enum class Sent { taken, full, gone };
    /**
     * Body bytes of the stream, copied now. `full`: nothing was taken (64 KiB
     * wait for the client); send again after the drain callback. `gone`: the
     * stream ended or was cancelled.
     */
    Sent send(std::string_view bytes) const {
        const std::int32_t rc =
            detail::host_api->stream_send(handle_, bytes.data(), static_cast<std::uint64_t>(bytes.size()));
        return rc == 0 ? Sent::taken : rc == BRISK_STREAM_FULL ? Sent::full : Sent::gone;
    }

    /** Ends the stream's body; false if it was not open. */
    bool end() const { return detail::host_api->stream_end(handle_) == 0; }

    /**
     * For a body-stream plugin (BRISK_PLUGIN_BODY_STREAM): asks for the
     * next piece of the request body; `on_body(arg, data, len, last)` runs
     * once on the loop with it (`data` valid during the call only). The first
     * call sends 100 Continue to a client that asked. False when there is no
     * body to read, a read is pending, or the request is not suspended.
     */
    bool read_body(void (*on_body)(void* arg, const void* data, std::uint64_t len, std::int32_t last),
                   void* arg) const {
        return detail::host_api->body_read(handle_, on_body, arg) == 0;
    }

    /**
     * Answers a request that asked for an upgrade with 101 Switching
     * Protocols (`headers` added, brisk adds Connection: Upgrade) and takes
     * the connection over: `on_read(arg, data, len)` runs on the loop with
     * what the client sends (also what came behind the request), send() and
     * end() write and close, `drain` as for open_stream(). False if the
     * request did not ask for an upgrade or is not suspended.
     * brisk/websocket.hpp builds WebSocket on it.
     */
    bool upgrade(Fields headers, void (*on_read)(void* arg, const void* data, std::uint64_t len), void (*drain)(void*),
                 void* arg) const {
        brisk_header fields[16];
        const std::uint32_t n = to_fields(headers, fields);
        if (n > 16) return false;
        return detail::host_api->upgrade(handle_, fields, n, on_read, drain, arg) == 0;
    }

    /** An upgraded connection without input for `ms` is closed (with the cancel); 0: never. */
    bool upgrade_timeout(std::uint64_t ms) const { return detail::host_api->upgrade_timeout(handle_, ms) == 0; }

    /**
     * Takes the socket out of brisk (like fasthttp's Hijack): once earlier
     * answers have left, `taken(arg, fd, data, len)` runs on the loop with
     * the socket and the bytes read past the request. Close it with
     * close_taken(), never close(2). False if the request is not suspended
     * or its body is unread.
     */
    bool hijack(void (*taken)(void* arg, std::int32_t fd, const void* data, std::uint64_t len), void* arg) const {
        return detail::host_api->hijack(handle_, taken, arg) == 0;
    }

    /** Closes a hijacked connection and frees its place under brisk's limits; false if it is not one. */
    bool close_taken() const { return detail::host_api->hijack_close(handle_) == 0; }

private:
    // Fills `out` (16 slots); returns the count, or 17 when there are too many.
    static std::uint32_t to_fields(Fields headers, brisk_header* out) noexcept {
        if (headers.size() > 16) return 17;
        std::uint32_t n = 0;
        for (const auto& [name, value] : headers) out[n++] = brisk_header{str(name), str(value)};
        return n;
    }

    std::uint64_t handle_ = 0;
};

inline Later Response::suspend(void (*cancel)(void*), void* arg) {
    const std::uint64_t h = host_has_later() ? api().suspend(ctx_, cancel, arg) : 0;
    if (h == 0) check(-1, "suspend");
    return Later(h);
}

/**
 * ABI 1.1: a one-shot timer on the calling loop thread (in handle(),
 * loop_init() or a callback): `fire(arg)` runs there once, `ms` from now or
 * later. Returns its id, or 0 off a loop thread (or on an older host).
 */
inline std::uint64_t start_timer(std::uint64_t ms, void (*fire)(void*), void* arg) noexcept {
    return host_has_later() ? detail::host_api->timer_start(ms, fire, arg) : 0;
}

/** ABI 1.1: cancels a pending timer of the calling loop thread; false if it fired or is unknown. */
inline bool cancel_timer(std::uint64_t id) noexcept {
    return host_has_later() && detail::host_api->timer_cancel(id) == 0;
}

/** What a plugin class must offer: handle(Request&, Response&) returning Result (or void, meaning done). */
template <class T>
concept PluginHandler = requires(T& t, Request& req, Response& res) {
    {t.handle(req, res)};
}
&&(std::same_as<decltype(std::declval<T&>().handle(std::declval<Request&>(), std::declval<Response&>())), Result> ||
   std::is_void_v<decltype(std::declval<T&>().handle(std::declval<Request&>(), std::declval<Response&>()))>);

template <class T>
concept PluginConstructible = std::constructible_from<T, PluginConfig&> || std::default_initializable<T>;

namespace detail {

/** Copies `text` into a fixed buffer, truncated, NUL-terminated; never allocates. */
inline void copy_truncated(char* out, std::size_t cap, std::string_view text) noexcept {
    if (out == nullptr || cap == 0) return;
    const std::size_t n = text.size() < cap - 1 ? text.size() : cap - 1;
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

/** Logs "<where>: <what>" at error level, without allocating. */
inline void log_exception(brisk_ctx* ctx, std::string_view where, std::string_view what) noexcept {
    if (host_api == nullptr || host_api->log == nullptr) return;
    char line[512];
    std::size_t n = 0;
    for (std::string_view part : {where, std::string_view(": exception: "), what}) {
        const std::size_t room = sizeof line - n;
        const std::size_t k = part.size() < room ? part.size() : room;
        std::memcpy(line + n, part.data(), k);
        n += k;
    }
    host_api->log(ctx, BRISK_LOG_ERROR, brisk_str{line, static_cast<std::uint64_t>(n)});
}

template <class T>
struct Trampolines {
    static void* create(const brisk_host_api* api, const brisk_config* config, char* error,
                        std::uint64_t error_len) noexcept {
        const std::size_t cap = error_len > std::numeric_limits<std::size_t>::max()
                                    ? std::numeric_limits<std::size_t>::max()
                                    : static_cast<std::size_t>(error_len);
        if (api == nullptr) {
            copy_truncated(error, cap, "no host function table");
            return nullptr;
        }
        host_api = api;
        try {
            if constexpr (std::constructible_from<T, PluginConfig&>) {
                PluginConfig cfg(api, config);
                return new T(cfg);
            } else {
                return new T();
            }
        } catch (const std::exception& e) {
            copy_truncated(error, cap, e.what());
        } catch (...) {
            copy_truncated(error, cap, "unknown exception");
        }
        return nullptr;
    }

    static std::int32_t handle(void* instance, brisk_ctx* ctx, const brisk_request* request) noexcept {
        try {
            Request req(ctx, request);
            Response res(ctx);
            T& self = *static_cast<T*>(instance);
            if constexpr (std::is_void_v<decltype(self.handle(req, res))>) {
                self.handle(req, res);
                return BRISK_DONE;
            } else {
                return static_cast<std::int32_t>(self.handle(req, res));
            }
        } catch (const std::exception& e) {
            log_exception(ctx, "handle", e.what());
        } catch (...) {
            log_exception(ctx, "handle", "unknown exception");
        }
        return BRISK_ERROR;
    }

    static std::int32_t loop_init(void* instance, std::uint32_t loop) noexcept {
        try {
            T& self = *static_cast<T*>(instance);
            using R = decltype(self.loop_init(loop));
            if constexpr (std::is_void_v<R>) {
                self.loop_init(loop);
                return 0;
            } else if constexpr (std::is_same_v<R, bool>) {
                return self.loop_init(loop) ? 0 : -1;
            } else {
                return static_cast<std::int32_t>(self.loop_init(loop));
            }
        } catch (const std::exception& e) {
            log_exception(nullptr, "loop_init", e.what());
        } catch (...) {
            log_exception(nullptr, "loop_init", "unknown exception");
        }
        return -1;
    }

    static void loop_fini(void* instance, std::uint32_t loop) noexcept {
        try {
            static_cast<T*>(instance)->loop_fini(loop);
        } catch (const std::exception& e) {
            log_exception(nullptr, "loop_fini", e.what());
        } catch (...) {
            log_exception(nullptr, "loop_fini", "unknown exception");
        }
    }

    static void stopping(void* instance, std::uint32_t loop) noexcept {
        try {
            static_cast<T*>(instance)->loop_stopping(loop);
        } catch (const std::exception& e) {
            log_exception(nullptr, "loop_stopping", e.what());
        } catch (...) {
            log_exception(nullptr, "loop_stopping", "unknown exception");
        }
    }

    static void destroy(void* instance) noexcept {
        try {
            delete static_cast<T*>(instance);
        } catch (...) {
            log_exception(nullptr, "destroy", "exception from the destructor");
        }
    }
};

/** What the entry point does: refuse a host that is too old, keep its table. */
inline const brisk_plugin_descriptor* accept_host(const brisk_plugin_descriptor* descriptor, std::uint32_t host_major,
                                                  std::uint32_t host_minor, const brisk_host_api* api) noexcept {
    if (host_major != BRISK_PLUGIN_ABI_MAJOR || host_minor < descriptor->min_host_minor || api == nullptr ||
        api->size < host_api_v1_0_size)
        return nullptr;
    // A reload calls the entry again while the previous generation's threads
    // still use the table: it is the same table, and is written only once.
    if (host_api != api) host_api = api;
    return descriptor;
}

}  // namespace detail

/** True when T has loop_init(std::uint32_t) (returning void, bool or an integer). */
template <class T>
concept HasLoopInit = requires(T& t, std::uint32_t loop) {
    t.loop_init(loop);
};

/** True when T has loop_fini(std::uint32_t). */
template <class T>
concept HasLoopFini = requires(T& t, std::uint32_t loop) {
    t.loop_fini(loop);
};

/** True when T has loop_stopping(std::uint32_t) (ABI 1.1: the loop begins to drain). */
template <class T>
concept HasLoopStopping = requires(T& t, std::uint32_t loop) {
    t.loop_stopping(loop);
};

/**
 * The descriptor of plugin class T. BRISK_PLUGIN keeps one in static storage;
 * tests may build their own and hand it to the fake host (plugin_testing.hpp).
 * `name` and `version` must have static storage (string literals).
 */
template <class T>
constexpr brisk_plugin_descriptor make_descriptor(const char* name, const char* version,
                                                  std::uint64_t capabilities = 0) noexcept {
    static_assert(PluginHandler<T>, "a plugin class needs `brisk::Result handle(brisk::Request&, brisk::Response&)`");
    static_assert(PluginConstructible<T>,
                  "a plugin class needs a constructor taking `brisk::PluginConfig&`, or a default one");
    brisk_plugin_descriptor d{};
    d.size = sizeof(brisk_plugin_descriptor);
    d.abi_major = BRISK_PLUGIN_ABI_MAJOR;
    d.abi_minor = BRISK_PLUGIN_ABI_MINOR;
    d.min_host_minor = 0;
    d.name = name;
    d.version = version;
    d.capabilities = capabilities;
    d.create = &detail::Trampolines<T>::create;
    d.handle = &detail::Trampolines<T>::handle;
    d.destroy = &detail::Trampolines<T>::destroy;
    if constexpr (HasLoopInit<T>) d.loop_init = &detail::Trampolines<T>::loop_init;
    if constexpr (HasLoopFini<T>) d.loop_fini = &detail::Trampolines<T>::loop_fini;
    if constexpr (HasLoopStopping<T>) d.stopping = &detail::Trampolines<T>::stopping;
    return d;
}

}  // namespace plugin_v1
}  // namespace brisk

/**
 * Defines the plugin's entry point for class TYPE, named NAME (a string
 * literal), at version VERSION. Use once per shared object, at namespace scope.
 */
#define BRISK_PLUGIN_WITH_CAPABILITIES(TYPE, NAME, VERSION, CAPABILITIES)                                           \
    extern "C" BRISK_PLUGIN_EXPORT const brisk_plugin_descriptor* brisk_plugin_entry_v1(                            \
        std::uint32_t brisk_host_abi_major, std::uint32_t brisk_host_abi_minor, const brisk_host_api* brisk_host) { \
        static constexpr brisk_plugin_descriptor brisk_descriptor =                                                 \
            ::brisk::make_descriptor<TYPE>(NAME, VERSION, CAPABILITIES);                                            \
        return ::brisk::detail::accept_host(&brisk_descriptor, brisk_host_abi_major, brisk_host_abi_minor,          \
                                            brisk_host);                                                            \
    }

/** A plugin whose handle() never blocks: it runs on the loop threads. */
#define BRISK_PLUGIN(TYPE, NAME, VERSION) BRISK_PLUGIN_WITH_CAPABILITIES(TYPE, NAME, VERSION, 0)

/** A plugin whose handle() may block (disk, network, locks): it runs on brisk's blocking thread pool. */
#define BRISK_PLUGIN_BLOCKING(TYPE, NAME, VERSION) \
    BRISK_PLUGIN_WITH_CAPABILITIES(TYPE, NAME, VERSION, BRISK_CAP_BLOCKING)

/**
 * ABI 1.1: a plugin whose handle() sees a request's head before its body,
 * which it reads piece by piece (Later::read_body) once it suspended the request.
 */
#define BRISK_PLUGIN_BODY_STREAM(TYPE, NAME, VERSION) \
    BRISK_PLUGIN_WITH_CAPABILITIES(TYPE, NAME, VERSION, BRISK_CAP_BODY_STREAM)
