// brisk — the accept path: admission (the connection limits), refusals, the
// PROXY protocol header and the client a trusted proxy names.
#include "server/admission.hpp"

#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <cstring>

#include "http/forwarded.hpp"
#include "http/proxy_protocol.hpp"
#include "http/response_writer.hpp"
#include "server/http1_connection.hpp"
#include "server/loop.hpp"

namespace brisk {
namespace {

std::string key_of(const std::uint8_t* ip, std::size_t len) { return {reinterpret_cast<const char*>(ip), len}; }

std::string render_refusal(std::uint16_t status, std::string_view body) {
    constexpr std::string_view type = "Content-Type: text/plain; charset=utf-8\r\n";
    std::string out(http::head_bound({}, type.size()) + body.size(), '\0');
    char* end = http::write_head(out.data(), status, {}, type, http::Framing::length, body.size(), false, {});
    out.resize(static_cast<std::size_t>(end - out.data()));
    return out.append(body);
}

constexpr std::string_view kOverloadedBody = "Service Unavailable\n";
constexpr std::string_view kTooManyBody = "Too Many Requests\n";

struct Refusals {
    std::string overloaded = render_refusal(503, kOverloadedBody);
    std::string too_many = render_refusal(429, kTooManyBody);
    // In the order of enum Refusal.
    RefusalAnswer answers[2] = {{503, kOverloadedBody, overloaded}, {429, kTooManyBody, too_many}};
};

}  // namespace

bool PeerCounts::acquire(const std::uint8_t* ip, std::size_t len, std::uint32_t max) {
    if (len == 0 || max == 0) return true;  // max 0: no limit, nothing counted
    std::lock_guard lock(mutex_);
    std::uint32_t& n = counts_[key_of(ip, len)];
    if (n >= max) return false;  // n > 0 here: the entry was there before
    ++n;
    return true;
}

void PeerCounts::release(const std::uint8_t* ip, std::size_t len) {
    if (len == 0) return;
    std::lock_guard lock(mutex_);
    auto it = counts_.find(key_of(ip, len));
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
}

std::uint32_t PeerCounts::held(const std::uint8_t* ip, std::size_t len) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(key_of(ip, len));
    return it == counts_.end() ? 0 : it->second;
}

const RefusalAnswer& refusal_answer(Refusal why) noexcept {
    static const Refusals refusals;  // built before any loop runs (Server's constructor asks once)
    return refusals.answers[static_cast<std::size_t>(why)];
}

void Loop::accepted(int fd, const sockaddr_storage* ss, const ListenFd& from) {
    const bool proxy = from.proxy;
    Conn& c = proto_->adopt(fd);
    c.tls = from.tls;
    c.redirect = from.redirect;
    if (ss) {
        record_peer(*ss, c);
    } else if (needs_peer_) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) == 0) record_peer(peer, c);
    }
    if (stats_) bump(stats_->accepted);
    if (shared_.open.fetch_add(1, std::memory_order_relaxed) >= cfg_.concurrency) {
        std::int64_t last = shared_.last_overload_log_s.load(std::memory_order_relaxed);
        if (now_s_ - last >= 60 && shared_.last_overload_log_s.compare_exchange_strong(last, now_s_))
            spdlog::warn("--concurrency {} reached: new connections get 503", cfg_.concurrency);
        reject(c, Refusal::overloaded);
        return;
    }
    // Behind a PROXY listener the client is known only from its header:
    // it is counted then (Http1::read_proxy_header), not the proxy's address now.
    if (cfg_.max_conns_per_ip && !proxy && !ip_acquire(c)) {
        reject(c, Refusal::too_many_from_ip);
        return;
    }
    proto_->start(c, proxy);
}

// For a request from a trusted proxy: the client its X-Forwarded-For names,
// for handlers and the access log (the per-address limit stays the peer's).
void Loop::resolve_forwarded(Conn& c, Worker& w) {
    w.forwarded.ip_len = 0;
    if (!cidr_list_contains(cfg_.trusted_proxies, c.ip, c.ip_len)) return;
    http::proxy::Address a;
    if (http::forwarded_client(cfg_.trusted_proxies, w.req, a)) w.forwarded = a;
}

// Answers a connection refused at accept: the pre-rendered response, a
// half-close, and a short linger so the client reads it instead of a reset.
void Loop::reject(Conn& c, Refusal why) {
    const RefusalAnswer& a = refusal_answer(why);
    if (stats_) bump(why == Refusal::overloaded ? stats_->rejected_concurrency : stats_->rejected_per_ip);
    if (observe_) {
        alog::Record rec;
        rec.status = a.status;
        rec.body_bytes = a.body.size();
        rec.bytes = a.bytes.size();
        observe(c, nullptr, rec, 0);
    }
    proto_->refuse(c, a.bytes);
}

bool Loop::ip_acquire(Conn& c) {
    if (!shared_.per_ip.acquire(c.ip, c.ip_len, cfg_.max_conns_per_ip)) return false;
    c.ip_counted = c.ip_len != 0;
    return true;
}

void Loop::ip_release(Conn& c) {
    shared_.per_ip.release(c.ip, c.ip_len);
    c.ip_counted = false;
}

}  // namespace brisk
