// brisk — the host side of the plugin ABI: the function table, the
// per-request context, and instances as route handlers.
#include "plugins/host.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>
#include <deque>
#include <mutex>
#include <new>
#include <unordered_map>

#include "brisk/server.hpp"
#include "http/chars.hpp"
#include "http/response.hpp"
#include "http/response_writer.hpp"
#include "net/tls.hpp"
#include "plugins/loader.hpp"
#include "server/connection.hpp"
#include "server/loop.hpp"
#include "server/suspend.hpp"

// The opaque types of the ABI, defined in the global namespace where the C
// header declares them.
struct brisk_ctx {
    brisk::HandlerCall* call;
    const brisk::PluginInstance* instance;
    brisk_request request;
};

struct brisk_config {
    const brisk::PluginInstanceConfig* config;
};

namespace brisk {
namespace {

std::string_view view(brisk_str s) noexcept { return {s.ptr, static_cast<std::size_t>(s.len)}; }
brisk_str str(std::string_view v) noexcept { return brisk_str{v.data(), v.size()}; }

// Percent-decodes `in` ('+' as space) into the request arena.
bool decode_form(brisk_ctx* ctx, std::string_view in, brisk_str* out) {
    char* buf = static_cast<char*>(ctx->call->reply.arena.alloc(in.size() + 1));
    if (!buf) return false;
    std::size_t n = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < in.size() && http::hex_value(in[i + 1]) >= 0 &&
                   http::hex_value(in[i + 2]) >= 0) {
            c = static_cast<char>(http::hex_value(in[i + 1]) * 16 + http::hex_value(in[i + 2]));
            i += 2;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    *out = brisk_str{buf, n};
    return true;
}

Reply& reply_of(brisk_ctx* ctx) noexcept { return ctx->call->reply; }

// Why this thread's last refused call refused (last_error()).
thread_local std::string_view t_last_error;

// A refusal, with its reason for last_error(): a static phrase.
int32_t refuse(std::string_view why) noexcept {
    t_last_error = why;
    return -1;
}

// A refusal of a call that returns a handle or an id: 0.
uint64_t no_handle(std::string_view why) noexcept {
    refuse(why);
    return 0;
}

// Out of memory is a refusal: nothing unwinds into the plugin.
template <class F>
int32_t or_refused(F&& f) noexcept {
    try {
        return f();
    } catch (...) {
        return refuse("out of memory");
    }
}

constexpr std::string_view kNoCtx = "no request context (ctx is NULL)";
constexpr std::string_view kNullBytes = "data is NULL with a length above 0, or the length is absurd";
constexpr std::string_view kBodySent = "the body has begun (or is a stream): too late for this call";
constexpr std::string_view kNotSuspended =
    "the handle is not a suspended request (answered, cancelled, or never valid)";

// ---- request -------------------------------------------------------------

int32_t host_header(brisk_ctx* ctx, brisk_str name, uint32_t nth, brisk_str* out) {
    if (!ctx || !out) return -1;
    const http::Request& req = ctx->call->req;
    for (std::size_t i = 0; i < req.header_count; ++i) {
        if (!http::iequals(req.headers[i].name, view(name))) continue;
        if (nth-- == 0) {
            *out = str(req.headers[i].value);
            return 0;
        }
    }
    return -1;
}

int32_t host_query_arg(brisk_ctx* ctx, brisk_str name, brisk_str* out) {
    if (!ctx || !out) return -1;
    std::string_view q = ctx->call->req.query;
    while (!q.empty()) {
        std::size_t amp = q.find('&');
        std::string_view pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        std::size_t eq = pair.find('=');
        brisk_str key;
        if (!decode_form(ctx, pair.substr(0, eq), &key)) return -1;
        if (view(key) != view(name)) continue;
        return decode_form(ctx, eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), out) ? 0 : -1;
    }
    return -1;
}

int32_t host_cookie(brisk_ctx* ctx, brisk_str name, brisk_str* out) {
    if (!ctx || !out) return -1;
    const http::Request& req = ctx->call->req;
    for (std::size_t i = 0; i < req.header_count; ++i) {
        if (!http::iequals(req.headers[i].name, "cookie")) continue;
        std::string_view list = req.headers[i].value;
        while (!list.empty()) {
            std::size_t semi = list.find(';');
            std::string_view pair = list.substr(0, semi);
            list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
            while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
            std::size_t eq = pair.find('=');
            if (eq == std::string_view::npos || pair.substr(0, eq) != view(name)) continue;
            std::string_view value = pair.substr(eq + 1);
            while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            *out = str(value);
            return 0;
        }
    }
    return -1;
}

void* host_arena_alloc(brisk_ctx* ctx, uint64_t size) {
    if (!ctx || size > (uint64_t{1} << 40)) return nullptr;
    return reply_of(ctx).arena.alloc(static_cast<std::size_t>(size));
}

void** host_request_slot(brisk_ctx* ctx) { return ctx ? &reply_of(ctx).slot : nullptr; }

// ---- response --------------------------------------------------------------

// Fields the host writes itself.
bool reserved_field(std::string_view name) noexcept {
    for (std::string_view reserved : {"date", "server", "content-length", "transfer-encoding", "connection"})
        if (http::iequals(name, reserved)) return true;
    return false;
}

constexpr std::string_view kBadName = "a field name that is not an HTTP token";
constexpr std::string_view kBadValue = "a field value with CR, LF, NUL or another control byte";
constexpr std::string_view kReserved =
    "a field brisk sets itself (Date, Server, Content-Length, Transfer-Encoding, Connection)";

// A built reply; false once it is a stream.
bool building(Reply& r) noexcept {
    if (r.kind == Reply::Kind::stream) return false;
    r.kind = Reply::Kind::built;
    return true;
}

int32_t host_set_status(brisk_ctx* ctx, uint32_t status) {
    if (!ctx) return refuse(kNoCtx);
    if (status < 200 || status > 599) return refuse("a status outside 200-599");
    Reply& r = reply_of(ctx);
    if (r.kind == Reply::Kind::stream || !r.pieces.empty()) return refuse(kBodySent);
    r.kind = Reply::Kind::built;
    r.status = static_cast<std::uint16_t>(status);
    return 0;
}

int32_t host_set_reason(brisk_ctx* ctx, brisk_str phrase) {
    if (!ctx) return refuse(kNoCtx);
    if (phrase.len == 0 || phrase.len > http::kMaxReason) return refuse("a reason phrase empty or over 48 bytes");
    for (char c : view(phrase)) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 ? u != '\t' : u > 0x7e)
            return refuse("a reason phrase with a byte other than visible ASCII, space or tab");
    }
    Reply& r = reply_of(ctx);
    if (r.kind == Reply::Kind::stream || !r.pieces.empty()) return refuse(kBodySent);
    return or_refused([&] {
        r.kind = Reply::Kind::built;
        r.reason.assign(phrase.ptr, static_cast<std::size_t>(phrase.len));
        return 0;
    });
}

int32_t host_add_header(brisk_ctx* ctx, brisk_str name, brisk_str value) {
    if (!ctx) return refuse(kNoCtx);
    std::string_view n = view(name), v = view(value);
    if (!http::is_token(n)) return refuse(kBadName);
    if (!http::is_field_value(v)) return refuse(kBadValue);
    if (reserved_field(n)) return refuse(kReserved);
    Reply& r = reply_of(ctx);
    if (!building(r)) return refuse(kBodySent);
    std::size_t need = r.headers_len + n.size() + v.size() + 4;
    r.headers.reserve(need);
    char* p = r.headers.data() + r.headers_len;
    std::memcpy(p, n.data(), n.size());
    p += n.size();
    *p++ = ':';
    *p++ = ' ';
    std::memcpy(p, v.data(), v.size());
    p += v.size();
    *p++ = '\r';
    *p++ = '\n';
    r.headers_len = need;
    return 0;
}

// Copies bytes into the reply's body buffer, extending the last copy piece.
void add_copy(Reply& r, const void* data, uint64_t len) {
    r.body.reserve(r.body_len + len);
    std::memcpy(r.body.data() + r.body_len, data, len);
    if (!r.pieces.empty() && r.pieces.back().kind == Segment::Kind::bytes &&
        r.pieces.back().pos + r.pieces.back().len == r.body_len && r.kind != Reply::Kind::stream) {
        r.pieces.back().len += len;
    } else {
        r.pieces.push_back(Segment{Segment::Kind::bytes, -1, r.body_len, len, nullptr, nullptr});
    }
    r.body_len += len;
}

int32_t host_body_copy(brisk_ctx* ctx, const void* data, uint64_t len) {
    if (!ctx) return refuse(kNoCtx);
    if (!data && len) return refuse(kNullBytes);
    Reply& r = reply_of(ctx);
    if (!building(r)) return refuse("the body is a stream (stream_write): it cannot be mixed");
    if (len) add_copy(r, data, len);
    return 0;
}

int32_t host_body_ref(brisk_ctx* ctx, const void* data, uint64_t len, void (*release)(void*), void* arg) {
    if (!ctx) return refuse(kNoCtx);
    if (!data && len) return refuse(kNullBytes);
    Reply& r = reply_of(ctx);
    if (!building(r)) return refuse("the body is a stream (stream_write): it cannot be mixed");
    r.pieces.push_back(Segment{Segment::Kind::ref, -1, reinterpret_cast<std::uintptr_t>(data), len, release, arg});
    return 0;
}

int32_t host_body_file(brisk_ctx* ctx, int32_t fd, uint64_t offset, uint64_t len) {
    if (fd < 0) return refuse("a negative file descriptor");
    if (!ctx || !building(reply_of(ctx))) {
        ::close(fd);  // the host owns it from the call on, even when refusing it
        return refuse(ctx ? std::string_view("the body is a stream (stream_write): it cannot be mixed") : kNoCtx);
    }
    reply_of(ctx).pieces.push_back(Segment{Segment::Kind::file, fd, offset, len, nullptr, nullptr});
    return 0;
}

int32_t host_stream_write(brisk_ctx* ctx, const void* data, uint64_t len) {
    if (!ctx) return refuse(kNoCtx);
    if (!data && len) return refuse(kNullBytes);
    Reply& r = reply_of(ctx);
    if (r.kind == Reply::Kind::built && !r.pieces.empty())
        return refuse("the body was given by body_copy/body_ref/body_file: it cannot become a stream");
    r.kind = Reply::Kind::stream;
    if (len) add_copy(r, data, len);  // each write is one chunk
    return 0;
}

// ---- ABI 1.1: answers given later, timers ----------------------------------

// An HTTP/1.1 request without a body, with an Upgrade field and "upgrade" in Connection (RFC 9110 7.8).
bool asks_upgrade(const http::Request& req) noexcept {
    if (req.version_minor != 1 || req.body_kind != http::BodyKind::none) return false;
    bool upgrade = false, connection = false;
    for (std::size_t i = 0; i < req.header_count; ++i) {
        const http::Header& h = req.headers[i];
        if (http::iequals(h.name, "upgrade") && !h.value.empty()) upgrade = true;
        if (!http::iequals(h.name, "connection")) continue;
        std::string_view list = h.value;
        while (!list.empty()) {
            const std::size_t comma = list.find(',');
            std::string_view token = list.substr(0, comma);
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
            while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
            while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
            if (http::iequals(token, "upgrade")) connection = true;
        }
    }
    return upgrade && connection;
}

uint64_t host_suspend(brisk_ctx* ctx, void (*cancel)(void*), void* arg) {
    if (!ctx) return no_handle(kNoCtx);
    HandlerCall& call = *ctx->call;
    Reply& r = call.reply;
    // Only on a loop thread (not the blocking pool), once, before any response call.
    Loop* loop = Loop::current();
    if (!loop) return no_handle("a blocking instance's request cannot be suspended");
    if (r.later) return no_handle("the request is suspended already");
    if (r.kind != Reply::Kind::none || !r.pieces.empty() || r.headers_len)
        return no_handle("a response call was made already");
    r.later = Suspensions::get().suspend(*loop, const_cast<Conn&>(call.conn), cancel, arg, call.body_unread,
                                         asks_upgrade(call.req), call.conn.tls);
    r.later_timeout_ms = ctx->instance->handler_timeout_ms();
    return r.later;
}

// A later answer (or a stream's head) with checked fields; null for a bad argument.
std::unique_ptr<LaterAnswer> later_head(LaterAnswer::Kind kind, uint32_t status, const brisk_header* headers,
                                        uint32_t header_count) {
    if (status < 200 || status > 599) {
        refuse("a status outside 200-599");
        return nullptr;
    }
    if (header_count && !headers) {
        refuse("headers is NULL with a count above 0");
        return nullptr;
    }
    auto head = std::make_unique<LaterAnswer>();
    head->kind = kind;
    head->status = static_cast<std::uint16_t>(status);
    for (uint32_t i = 0; i < header_count; ++i) {
        std::string_view n = view(headers[i].name), v = view(headers[i].value);
        if (const std::string_view why = !http::is_token(n)         ? kBadName
                                         : !http::is_field_value(v) ? kBadValue
                                         : reserved_field(n)        ? kReserved
                                                                    : std::string_view{};
            !why.empty()) {
            refuse(why);
            return nullptr;
        }
        head->headers.append(n).append(": ").append(v).append("\r\n");
    }
    return head;
}

bool bad_bytes(const void* data, uint64_t len) noexcept {
    if (!(len && !data) && len <= (uint64_t{1} << 40)) return false;
    refuse(kNullBytes);
    return true;
}

int32_t host_resume(uint64_t handle, uint32_t status, const brisk_header* headers, uint32_t header_count,
                    const void* body, uint64_t body_len) {
    if (bad_bytes(body, body_len)) return -1;
    return or_refused([&] {
        auto answer = later_head(LaterAnswer::Kind::answer, status, headers, header_count);
        if (!answer) return -1;
        answer->body.assign(static_cast<const char*>(body), static_cast<std::size_t>(body_len));
        return Suspensions::get().resume(handle, std::move(answer)) ? 0 : refuse(kNotSuspended);
    });
}

int32_t host_stream_open(uint64_t handle, uint32_t status, const brisk_header* headers, uint32_t header_count,
                         void (*drain)(void*), void* arg) {
    return or_refused([&] {
        auto head = later_head(LaterAnswer::Kind::head, status, headers, header_count);
        if (!head) return -1;
        return Suspensions::get().open_stream(handle, std::move(head), drain, arg) ? 0 : refuse(kNotSuspended);
    });
}

constexpr std::string_view kNotOpen = "the handle is not an open stream (ended, cancelled, taken, or never valid)";

int32_t host_stream_send(uint64_t handle, const void* data, uint64_t len) {
    if (bad_bytes(data, len)) return -1;
    return or_refused([&] {
        auto bytes = std::make_unique<LaterAnswer>();
        bytes->kind = LaterAnswer::Kind::data;
        bytes->body.assign(static_cast<const char*>(data), static_cast<std::size_t>(len));
        switch (Suspensions::get().send(handle, std::move(bytes))) {
        case StreamSend::taken:
            return 0;
        case StreamSend::full:
            return BRISK_STREAM_FULL;
        case StreamSend::gone:
            break;
        }
        return refuse(kNotOpen);
    });
}

int32_t host_stream_end(uint64_t handle) {
    return or_refused([&] {
        auto end = std::make_unique<LaterAnswer>();
        end->kind = LaterAnswer::Kind::end;
        return Suspensions::get().end_stream(handle, std::move(end)) ? 0 : refuse(kNotOpen);
    });
}

int32_t host_body_read(uint64_t handle, void (*on_body)(void*, const void*, uint64_t, int32_t), void* arg) {
    if (!on_body) return refuse("on_body is NULL");
    return or_refused([&] {
        auto read = std::make_unique<LaterAnswer>();
        read->kind = LaterAnswer::Kind::read;
        read->on_body = on_body;
        read->arg = arg;
        return Suspensions::get().read_body(handle, std::move(read))
                   ? 0
                   : refuse(
                         "no body to read now: not a suspended body-stream request, a read pending, or the end "
                         "was read");
    });
}

int32_t host_upgrade(uint64_t handle, const brisk_header* headers, uint32_t header_count,
                     void (*on_read)(void*, const void*, uint64_t), void (*drain)(void*), void* arg) {
    if (!on_read) return refuse("on_read is NULL");
    return or_refused([&] {
        auto head = later_head(LaterAnswer::Kind::upgrade, 200, headers, header_count);
        if (!head) return -1;
        head->status = 101;
        head->headers.append("Connection: Upgrade\r\n");
        head->on_read = on_read;
        head->arg = arg;
        return Suspensions::get().open_stream(handle, std::move(head), drain, arg)
                   ? 0
                   : refuse("the handle is not a suspended request that asked for an upgrade");
    });
}

int32_t host_upgrade_timeout(uint64_t handle, uint64_t ms) {
    return or_refused([&] {
        auto m = std::make_unique<LaterAnswer>();
        m->kind = LaterAnswer::Kind::timeout;
        m->ms = ms > (uint64_t{1} << 40) ? uint64_t{1} << 40 : ms;
        return Suspensions::get().post_upgraded(handle, std::move(m))
                   ? 0
                   : refuse("the handle is not an open upgraded connection");
    });
}

int32_t host_hijack(uint64_t handle, void (*taken)(void*, int32_t, const void*, uint64_t), void* arg) {
    if (!taken) return refuse("taken is NULL");
    return or_refused([&] {
        auto m = std::make_unique<LaterAnswer>();
        m->kind = LaterAnswer::Kind::hijack;
        m->on_taken = taken;
        m->arg = arg;
        return Suspensions::get().hijack(handle, std::move(m))
                   ? 0
                   : refuse("the handle is not a suspended request with its body read, on a connection without TLS");
    });
}

int32_t host_hijack_close(uint64_t handle) {
    return or_refused([&] {
        auto end = std::make_unique<LaterAnswer>();
        end->kind = LaterAnswer::Kind::end;
        return Suspensions::get().hijack_close(handle, std::move(end))
                   ? 0
                   : refuse("the handle is not a connection taken by hijack()");
    });
}

brisk_str host_last_error() { return str(t_last_error); }

uint64_t host_timer_start(uint64_t ms, void (*fire)(void*), void* arg) {
    Loop* loop = Loop::current();
    if (!fire) return no_handle("fire is NULL");
    if (!loop) return no_handle("not on a loop thread");
    return loop->start_timer(ms, fire, arg);
}

int32_t host_timer_cancel(uint64_t timer) {
    Loop* loop = Loop::current();
    return loop && loop->cancel_timer(timer) ? 0 : refuse("the timer is not pending on this thread");
}

spdlog::level::level_enum level_of(int32_t level) noexcept {
    return level <= BRISK_LOG_DEBUG  ? spdlog::level::debug
           : level == BRISK_LOG_INFO ? spdlog::level::info
           : level == BRISK_LOG_WARN ? spdlog::level::warn
                                     : spdlog::level::err;
}

void log_as(std::string_view who, int32_t level, brisk_str message) {
    spdlog::log(level_of(level), "[{}] {}", who, view(message));
}

// In handle(): the request's connection id and number, as the access log's
// $connection and $connection_requests give them, so the two can be matched.
void host_log(brisk_ctx* ctx, int32_t level, brisk_str message) {
    if (!ctx) {
        log_as("plugin", level, message);
        return;
    }
    spdlog::log(level_of(level), "[{}] conn={} req={}: {}", ctx->instance->name(), ctx->request.connection_id,
                ctx->request.request_number, view(message));
}

// Instance names, interned for the process's life: what config_name() and
// log handles point at outside any generation's config. Never destroyed (a
// plugin thread may log while the process exits).
class InstanceNames {
public:
    static InstanceNames& get() noexcept {
        alignas(InstanceNames) static unsigned char storage[sizeof(InstanceNames)];
        static InstanceNames* const names = ::new (storage) InstanceNames;
        return *names;
    }
    /** The name's handle (index + 1), interning it on first use. */
    std::uint64_t intern(const std::string& name) {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < names_.size(); ++i)
            if (names_[i] == name) return i + 1;
        names_.push_back(name);
        return names_.size();
    }
    std::string_view name(std::uint64_t handle) noexcept {
        std::lock_guard lock(mutex_);
        return handle >= 1 && handle <= names_.size() ? std::string_view(names_[handle - 1]) : std::string_view();
    }

private:
    std::mutex mutex_;
    std::deque<std::string> names_;  // a deque: interning more never moves a name
};

void host_log_to(uint64_t handle, int32_t level, brisk_str message) {
    const std::string_view who = InstanceNames::get().name(handle);
    log_as(who.empty() ? std::string_view("plugin") : who, level, message);
}

// ---- config ----------------------------------------------------------------

const PluginSetting* setting(const brisk_config* cfg, brisk_str key, PluginSetting::Type type) {
    if (!cfg) return nullptr;
    for (const PluginSetting& s : cfg->config->settings)
        if (s.key == view(key)) return s.type == type ? &s : nullptr;
    return nullptr;
}

int32_t host_config_string(const brisk_config* cfg, brisk_str key, brisk_str* out) {
    const PluginSetting* s = setting(cfg, key, PluginSetting::Type::string);
    if (!s || !out) return -1;
    *out = str(s->string_value);
    return 0;
}

int32_t host_config_int(const brisk_config* cfg, brisk_str key, int64_t* out) {
    const PluginSetting* s = setting(cfg, key, PluginSetting::Type::integer);
    if (!s || !out) return -1;
    *out = s->int_value;
    return 0;
}

int32_t host_config_bool(const brisk_config* cfg, brisk_str key, int32_t* out) {
    const PluginSetting* s = setting(cfg, key, PluginSetting::Type::boolean);
    if (!s || !out) return -1;
    *out = s->bool_value ? 1 : 0;
    return 0;
}

int32_t host_config_double(const brisk_config* cfg, brisk_str key, double* out) {
    const PluginSetting* s = setting(cfg, key, PluginSetting::Type::floating);
    if (!s || !out) return -1;
    *out = s->double_value;
    return 0;
}

int32_t host_config_type(const brisk_config* cfg, brisk_str key) {
    if (!cfg) return BRISK_CONFIG_ABSENT;
    for (const PluginSetting& s : cfg->config->settings) {
        if (s.key != view(key)) continue;
        switch (s.type) {
        case PluginSetting::Type::string:
            return BRISK_CONFIG_STRING;
        case PluginSetting::Type::integer:
            return BRISK_CONFIG_INT;
        case PluginSetting::Type::boolean:
            return BRISK_CONFIG_BOOL;
        case PluginSetting::Type::floating:
            return BRISK_CONFIG_DOUBLE;
        }
    }
    return BRISK_CONFIG_ABSENT;
}

brisk_str host_config_name(const brisk_config* cfg) {
    if (!cfg) return brisk_str{"", 0};
    try {
        return str(InstanceNames::get().name(InstanceNames::get().intern(cfg->config->name)));
    } catch (...) {
        return brisk_str{"", 0};
    }
}

uint64_t host_log_handle(const brisk_config* cfg) {
    if (!cfg) return 0;
    try {
        return InstanceNames::get().intern(cfg->config->name);
    } catch (...) {
        return 0;
    }
}

brisk_str host_config_where(const brisk_config* cfg, brisk_str key) {
    if (!cfg) return brisk_str{"", 0};
    for (const PluginSetting& s : cfg->config->settings)
        if (s.key == view(key)) return str(s.where);
    return str(cfg->config->origin);
}

constexpr brisk_host_api make_api() {
    brisk_host_api api{};
    api.size = sizeof(brisk_host_api);
    api.abi_major = BRISK_PLUGIN_ABI_MAJOR;
    api.abi_minor = BRISK_PLUGIN_ABI_MINOR;
    api.header = host_header;
    api.query_arg = host_query_arg;
    api.cookie = host_cookie;
    api.arena_alloc = host_arena_alloc;
    api.request_slot = host_request_slot;
    api.set_status = host_set_status;
    api.add_header = host_add_header;
    api.body_copy = host_body_copy;
    api.body_ref = host_body_ref;
    api.body_file = host_body_file;
    api.stream_write = host_stream_write;
    api.log = host_log;
    api.config_string = host_config_string;
    api.config_int = host_config_int;
    api.config_bool = host_config_bool;
    api.config_double = host_config_double;
    api.config_where = host_config_where;
    api.suspend = host_suspend;
    api.resume = host_resume;
    api.timer_start = host_timer_start;
    api.timer_cancel = host_timer_cancel;
    api.stream_open = host_stream_open;
    api.stream_send = host_stream_send;
    api.stream_end = host_stream_end;
    api.body_read = host_body_read;
    api.config_type = host_config_type;
    api.config_name = host_config_name;
    api.log_handle = host_log_handle;
    api.log_to = host_log_to;
    api.set_reason = host_set_reason;
    api.upgrade = host_upgrade;
    api.upgrade_timeout = host_upgrade_timeout;
    api.hijack = host_hijack;
    api.hijack_close = host_hijack_close;
    api.last_error = host_last_error;
    return api;
}

constinit const brisk_host_api kHostApi = make_api();

}  // namespace

const brisk_host_api& plugin_host_api() noexcept { return kHostApi; }

PluginInstance::PluginInstance(std::string name, std::string file, const brisk_plugin_descriptor* desc, void* instance,
                               std::int64_t handler_timeout_ms)
    : name_(std::move(name)),
      file_(std::move(file)),
      desc_(desc),
      instance_(instance),
      handler_timeout_ms_(handler_timeout_ms) {}

PluginInstance::~PluginInstance() {
    if (desc_->destroy) desc_->destroy(instance_);
}

void PluginInstance::loop_init(unsigned loop_index) {
    if (desc_->loop_init && desc_->loop_init(instance_, loop_index) != 0)
        throw Error("plugin \"" + name_ + "\": loop_init failed on loop " + std::to_string(loop_index));
}

void PluginInstance::loop_stopping(unsigned loop_index) noexcept {
    if (desc_->size >= offsetof(brisk_plugin_descriptor, stopping) + sizeof desc_->stopping && desc_->stopping)
        desc_->stopping(instance_, loop_index);
}

void PluginInstance::loop_fini(unsigned loop_index) noexcept {
    if (desc_->loop_fini) desc_->loop_fini(instance_, loop_index);
}

Outcome PluginInstance::handle(HandlerCall& call) {
    const http::Request& req = call.req;
    brisk_ctx ctx{&call, this, {}};
    brisk_request& r = ctx.request;
    r.size = sizeof(brisk_request);
    r.version = BRISK_PLUGIN_ABI_MAJOR << 16 | BRISK_PLUGIN_ABI_MINOR;
    r.method = str(req.method_text);
    r.target = str(req.target);
    r.path = str(req.path);
    r.query = str(req.query);
    r.host = str(req.host);
    auto* headers = static_cast<brisk_header*>(call.reply.arena.alloc(sizeof(brisk_header) * (req.header_count + 1)));
    if (!headers) return Outcome::error;
    for (std::size_t i = 0; i < req.header_count; ++i)
        headers[i] = brisk_header{str(req.headers[i].name), str(req.headers[i].value)};
    r.headers = headers;
    r.header_count = req.header_count;
    r.http_minor = req.version_minor;
    // The connection's peer (after a PROXY protocol header), or the client a
    // trusted proxy's X-Forwarded-For names.
    const bool forwarded = call.client && call.client->ip_len;
    const std::uint8_t* ip = forwarded ? call.client->ip : call.conn.ip;
    const std::uint8_t ip_len = forwarded ? call.client->ip_len : call.conn.ip_len;
    if (ip_len) {
        char* addr = static_cast<char*>(call.reply.arena.alloc(INET6_ADDRSTRLEN));
        if (!addr || !inet_ntop(ip_len == 4 ? AF_INET : AF_INET6, ip, addr, INET6_ADDRSTRLEN)) return Outcome::error;
        r.remote_addr = str(addr);
    } else {
        r.remote_addr = str("unix");
    }
    r.remote_port = forwarded ? call.client->port : call.conn.port;
    r.loop_index = call.loop_index;
    r.connection_id = std::uint64_t{call.loop_index} << 32 | call.conn.serial;
    r.request_number = call.conn.requests;
    r.body = str(req.body);
    if (call.tls) {
        r.tls = 1;
        r.tls_protocol = str(call.tls->protocol());
        r.tls_cipher = str(call.tls->cipher());
        r.tls_server_name = str(call.tls->server_name());
        r.alpn = str(call.tls->alpn());
    }

    const int32_t result = desc_->handle(instance_, &ctx, &r);
    if (call.reply.later) [[unlikely]] {
        if (result == BRISK_DONE) return Outcome::suspended;
        Suspensions::get().drop(call.reply.later);  // undone: the plugin answered otherwise
        call.reply.later = 0;
    }
    switch (result) {
    case BRISK_DONE:
        return Outcome::done;
    case BRISK_DECLINE:
        return Outcome::decline;
    default:
        return Outcome::error;
    }
}

PluginSet::PluginSet(const Config& config) {
    // Every instance is tried, so that one start-up (or --check-config)
    // lists every problem: one line each, in the order of the config.
    std::string problems;
    for (const PluginInstanceConfig& pc : config.plugins) {
        try {
            const brisk_plugin_descriptor* d = load_plugin(pc);
            char error[512] = "";
            brisk_config cfg{&pc};
            void* instance = d->create(&kHostApi, &cfg, error, sizeof error);
            if (!instance) {
                error[sizeof error - 1] = '\0';
                throw Error("plugin \"" + pc.name + "\" (" + pc.file + "): " + (error[0] ? error : "create failed"));
            }
            instances_.push_back(
                std::make_unique<PluginInstance>(pc.name, pc.file, d, instance, pc.handler_timeout.count()));
            summaries_.push_back("plugin \"" + pc.name + "\": " + (d->name ? d->name : "?") + " " +
                                 (d->version ? d->version : "?") + " from " + pc.file);
        } catch (const Error& e) {
            if (!problems.empty()) problems += '\n';
            problems += e.what();
        }
    }
    if (!problems.empty()) {
        while (!instances_.empty()) instances_.pop_back();  // those created are destroyed, newest first
        throw Error(problems);
    }
}

std::vector<std::string> check_plugins(const Config& config) {
    try {
        PluginSet set(config);
        return {};
    } catch (const Error& e) {
        std::vector<std::string> lines;
        std::string_view rest = e.what();
        while (!rest.empty()) {
            const std::size_t nl = rest.find('\n');
            lines.emplace_back(rest.substr(0, nl));
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        }
        return lines;
    }
}

PluginSet::~PluginSet() {
    // Instances are destroyed on this (main) thread, in reverse order of creation.
    while (!instances_.empty()) instances_.pop_back();
}

PluginInstance* PluginSet::find(const std::string& name) const noexcept {
    for (const auto& i : instances_)
        if (i->name() == name) return i.get();
    return nullptr;
}

}  // namespace brisk
