// brisk — what an answered request leaves behind when observed: an access
// log line and the metrics route's counters. Nothing here runs unless an
// access log or a metrics route is configured.
#include <cstring>

#include "http/status.hpp"
#include "server/loop.hpp"
#include "server/transport.hpp"

namespace brisk {
namespace {

constexpr std::size_t kMaxRawLine = 1024;  // of a request line that did not parse

// The first line of what arrived, when the head did not parse.
std::string_view first_line(Worker& w) noexcept {
    std::size_t avail = w.end - w.start;
    if (avail > kMaxRawLine) avail = kMaxRawLine;
    const char* p = w.in.data() + w.start;
    std::size_t n = 0;
    while (n < avail && p[n] != '\r' && p[n] != '\n') ++n;
    return {p, n};
}

}  // namespace

void Loop::observe_answer(Conn& c, Worker& w, Outcome outcome, bool overloaded, std::size_t out_before) {
    const Reply& r = w.reply;
    alog::Record rec;
    std::uint64_t body = 0, by_reference = 0;
    std::uint32_t slot = 0;
    if (overloaded) {
        rec.status = 503;
        body = 20;
        if (stats_) bump(stats_->rejected_blocking_queue);
    } else if (r.kind == Reply::Kind::simple && outcome != Outcome::error) {
        // A fixed answer, or the 405 of a path whose routes take other methods.
        rec.status = r.simple.status;
        body = r.simple.body.size();
    } else if (outcome == Outcome::done) {
        rec.status = r.status;
        for (const Segment& piece : r.pieces) {
            body += piece.len;
            if (piece.kind != Segment::Kind::bytes) by_reference += piece.len;
        }
    } else if (outcome == Outcome::decline) {
        rec.status = 404;
        body = 10;
    } else {
        rec.status = 500;
        body = 22;
    }
    if (outcome != Outcome::decline || overloaded) slot = router_.route_slot(w.route_cursor);
    if (outcome == Outcome::error && stats_) bump(stats_->handler_errors[slot]);
    const bool sent_body = http::status_has_body(rec.status) && w.req.method != http::Method::head;
    rec.body_bytes = sent_body ? body : 0;
    rec.bytes = w.out.len - out_before + (sent_body ? by_reference : 0);
    rec.req = &w.req;
    rec.request_length = w.raw.size();
    observe(c, &w, rec, slot);
}

void Loop::observe_error(Conn& c, Worker& w, std::uint16_t status, bool parsed, std::size_t out_before,
                         std::size_t body_len) {
    alog::Record rec;
    rec.status = status;
    rec.body_bytes = body_len;
    rec.bytes = w.out.len - out_before;
    if (parsed)
        rec.req = &w.req;
    else
        rec.raw_line = first_line(w);
    rec.request_length = w.end - w.start;
    observe(c, &w, rec, 0);
}

void Loop::observe(Conn& c, Worker* w, const alog::Record& in, std::uint32_t slot) {
    alog::Record rec = in;
    const std::int64_t now = mono_us();
    const std::int64_t start = w ? w->first_byte_us : now;
    rec.duration_us = now > start && start != 0 ? static_cast<std::uint64_t>(now - start) : 0;
    if (stats_) {
        stats_->record(slot, rec.status, rec.duration_us);
        bump(stats_->bytes_in, rec.request_length);
        bump(stats_->bytes_out, rec.bytes);
    }
    if (!access_log_) return;
    rec.ip = c.ip;
    rec.ip_len = c.ip_len;
    rec.port = c.port;
    if (w && in.req && w->forwarded.ip_len) {  // a trusted proxy's X-Forwarded-For
        rec.ip = w->forwarded.ip;
        rec.ip_len = w->forwarded.ip_len;
        rec.port = w->forwarded.port;
    }
    rec.connection = std::uint64_t{index_} << 32 | c.serial;
    // A request refused before it parsed is still the connection's next one.
    rec.connection_requests = c.requests + (w && !in.req ? 1 : 0);
    rec.loop = index_;
    rec.route = slot ? std::string_view(router_.route_names()[slot]) : std::string_view();
    rec.now_s = now_s_;
    if (c.tls && tls_sessions_) {
        if (const tls::Session* s = tls_sessions_->find(c)) {
            rec.tls = true;
            rec.ssl_protocol = s->protocol();
            rec.ssl_cipher = s->cipher();
            rec.ssl_server_name = s->server_name();
        }
    }
    access_log_->write(rec);
}

}  // namespace brisk
