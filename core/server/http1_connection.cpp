// brisk — the HTTP/1 state machine compiled for both backends' transports,
// and the parts of it that do not depend on one: records, workers and the
// writing of answers into a worker's output.
#include "server/http1_connection.hpp"

#include <cstring>
#include <utility>

#include "http/status.hpp"
#include "server/http1_connection_impl.hpp"

namespace brisk {

using http::detail::put;

template class Http1<EpollTransport>;
template class Http1<UringTransport>;

Protocol::Protocol(Loop& loop) noexcept
    : loop_(loop),
      cfg_(loop.cfg_),
      router_(loop.router_),
      observe_(loop.observe_),
      trust_forwarded_(loop.trust_forwarded_),
      streams_body_([&loop] {
          for (const Handler* h : loop.router_.handlers())
              if (h->streams_body()) return true;
          return false;
      }()),
      https_port_([&loop]() -> std::uint16_t {
          for (const ListenAddress& a : loop.cfg_.listen)
              if (a.tls && a.kind != ListenAddress::Kind::unix_path) return a.port;
          return 443;
      }()) {}

Conn& Protocol::adopt(int fd) {
    Conn& c = *loop_.conns_.acquire();
    c.fd = fd;
    c.serial = ++loop_.next_serial_;
    ++loop_.open_;
    return c;
}

void Protocol::release_record(Conn& c) noexcept {
    --loop_.open_;
    loop_.conns_.release(&c);
}

Worker& Protocol::bind_worker(Conn& c) {
    if (!c.worker) c.worker = loop_.workers_.acquire();
    return *c.worker;
}

void Protocol::release_worker(Conn& c) {
    loop_.workers_.release(c.worker, loop_.now_ms_);
    c.worker = nullptr;
}

// Date (unless turned off), and on a TLS connection Strict-Transport-Security
// when it is set: one view, rendered once a second.
std::string_view Protocol::date_lines(bool secure) noexcept {
    const std::string_view date = cfg_.no_date_header ? std::string_view{} : loop_.date_.line(loop_.now_s_);
    if (!secure || loop_.hsts_line_.empty()) [[likely]]
        return date;
    if (loop_.secure_second_ != loop_.now_s_) {
        loop_.secure_lines_.assign(date).append(loop_.hsts_line_);
        loop_.secure_second_ = loop_.now_s_;
    }
    return loop_.secure_lines_;
}

// The lines every answer carries: Server (unless turned off) and Date (see date_lines()).
http::CommonLines Protocol::common_lines(bool secure) noexcept { return {loop_.server_line_, date_lines(secure)}; }

void Protocol::write_response(Worker& w, const http::Response& resp, bool keep_alive, http::Answering a) {
    OutBuffer& out = w.out;
    const bool send_body = http::status_has_body(resp.status) && !a.head;
    const std::size_t body = send_body ? resp.body.size() : 0;
    char* p;
    if (!resp.prerendered.empty()) {
        // The common case of fixed answers: only Date and Connection are added.
        const std::string_view date = date_lines(a.secure);
        out.buf.reserve(out.len + resp.prerendered.size() + date.size() + http::kHeadSlack + body);
        p = http::write_prerendered_head(out.buf.data() + out.len, resp.prerendered, date, keep_alive, a);
    } else {
        const http::CommonLines common = common_lines(a.secure);
        out.buf.reserve(out.len + http::head_bound(common, resp.headers.size()) + body);
        p = http::write_head(out.buf.data() + out.len, resp.status, common, resp.headers,
                             http::framing_for(resp.status, false, a.version_minor), resp.body.size(), keep_alive, a);
    }
    if (send_body) p = put(p, resp.body);
    out.len = static_cast<std::size_t>(p - out.buf.data());
}

// A reply built call by call (plugins, static files): the head, then the
// pieces in order, copied or handed to the output by reference; a stream is
// framed chunk by chunk (a live stream: the head only). Returns whether the connection stays open (an
// HTTP/1.0 stream ends with it). A fixed reply (Kind::simple) goes to
// write_response() instead.
bool Protocol::write_reply(Worker& w, bool keep_alive, http::Answering a) {
    Reply& r = w.reply;
    const bool live = r.kind == Reply::Kind::live;
    const http::Framing framing = http::framing_for(r.status, live || r.kind == Reply::Kind::stream, a.version_minor);
    OutBuffer& out = w.out;
    const http::CommonLines common = common_lines(a.secure);
    out.buf.reserve(out.len + http::head_bound(common, r.headers_len));
    char* p = http::write_head(out.buf.data() + out.len, r.status, common, {r.headers.data(), r.headers_len}, framing,
                               framing == http::Framing::length ? r.body_size() : 0, keep_alive, a, r.reason);
    out.len = static_cast<std::size_t>(p - out.buf.data());
    keep_alive = http::keeps_alive(framing, keep_alive);
    // Reply::reset() gives the pieces back; a live stream's body follows as it comes (stream_data).
    if (!http::sends_body(framing, a) || live) return keep_alive;
    const bool chunked = framing == http::Framing::chunked;
    for (Segment& piece : r.pieces) {
        if (piece.len == 0) continue;
        if (chunked) {
            char line[http::kChunkLineMax];
            out.append({line, static_cast<std::size_t>(http::write_chunk_line(line, piece.len) - line)});
        }
        if (piece.kind == Segment::Kind::bytes) {
            out.append({r.body.data() + piece.pos, static_cast<std::size_t>(piece.len)});
        } else {
            out.push(piece);
            piece.hand_on();  // the output owns it now
        }
        if (chunked) out.append(http::kChunkEnd);
    }
    if (chunked) out.append(http::kLastChunk);
    return keep_alive;
}

void Protocol::redirect_to_https(Worker& w) {
    constexpr std::string_view kType = http1::kTextPlain;
    const http::Request& req = w.req;
    std::string_view host = req.host;
    // The name without its port; "[v6]:port" keeps the brackets.
    if (const std::size_t colon = host.rfind(':');
        colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
        host = host.substr(0, colon);
    w.reply.kind = Reply::Kind::simple;
    if (host.empty()) {
        w.reply.simple = http::Response{400, kType, "Bad Request: no Host to redirect to\n", {}};
        return;
    }
    std::string& s = redirect_;
    s.assign(kType).append("Location: ");
    const std::size_t url = s.size();
    s.append("https://").append(host);
    if (https_port_ != 443) s.append(":").append(std::to_string(https_port_));
    if (req.target.starts_with('/')) {
        s.append(req.target);
    } else {  // absolute-form (or "*"): its path and query
        s.append(req.path.starts_with('/') ? req.path : "/");
        if (!req.query.empty()) s.append("?").append(req.query);
    }
    const std::size_t url_end = s.size();
    s.append("\r\n");
    const std::size_t head = s.size();
    s.append("Moved to ").append(s, url, url_end - url).append("\n");
    const std::string_view all = s;
    w.reply.simple = http::Response{308, all.substr(0, head), all.substr(head), {}};
}

// An answer to a request brisk refuses; the connection closes after it, and
// nothing the client sent after the bad request is answered.
void Protocol::respond_error(Conn& c, Worker& w, std::uint16_t status, bool parsed) {
    const std::size_t out_before = w.out.len;
    std::string_view reason = http::reason_phrase(status);
    char body[64];
    std::size_t n = reason.size() < sizeof body - 1 ? reason.size() : sizeof body - 2;
    std::memcpy(body, reason.data(), n);
    body[n++] = '\n';
    // The head may not have parsed: answered as HTTP/1.1, with the body.
    write_response(w, http::Response{status, http1::kTextPlain, {body, n}, {}}, false,
                   http::Answering{false, 1, c.tls});
    if (observe_) loop_.observe_error(c, w, status, parsed, out_before, n);
    c.close_after = true;
    c.force_linger = true;
    spdlog::debug("answered {} and closing", status);
}

void Protocol::cancel_later(Worker& w) noexcept {
    void (*fn)(void*) = nullptr;
    void* arg = nullptr;
    const std::uint64_t handle = w.later;
    w.later = 0;
    if (Suspensions::get().cancel(handle, fn, arg) && fn) fn(arg);
}

void Protocol::abandon_body(Conn& c, Worker& w) noexcept {
    if (w.stage != Worker::Stage::body_stream) return;
    w.req.keep_alive = false;  // the answer says Connection: close
    w.stage = Worker::Stage::head;
    w.body_cb = nullptr;
    w.start = w.end;  // the head stays where it is until answered; nothing after it is used
    c.force_linger = true;
}

void Protocol::take_held(Worker& w) {
    if (w.held.empty()) return;
    w.take_input(w.held.data(), w.held.size(), observe_);
    w.held.clear();
    if (w.held.capacity() > WorkerPool::kKeepBuffer) w.held.shrink_to_fit();
}

void Protocol::stream_written(Stream& s) noexcept {
    void (*fn)(void*) = nullptr;
    void* arg = nullptr;
    const std::uint64_t n = std::exchange(s.unaccounted, 0);
    if (n && Suspensions::get().written(s.handle, n, fn, arg)) fn(arg);
}

void Protocol::cancel_stream(const Conn& c) noexcept {
    auto it = streams_.find(&c);
    if (it == streams_.end()) return;
    const std::uint64_t handle = it->second.handle;
    streams_.erase(it);
    void (*fn)(void*) = nullptr;
    void* arg = nullptr;
    if (Suspensions::get().cancel(handle, fn, arg) && fn) fn(arg);
}

void Protocol::fill_reply(Worker& w, const LaterAnswer& a) {
    Reply& r = w.reply;
    r.reset();  // what the handler left when it suspended (its arena)
    r.kind = Reply::Kind::built;
    r.status = a.status;
    r.headers.reserve(a.headers.size());
    std::memcpy(r.headers.data(), a.headers.data(), a.headers.size());
    r.headers_len = a.headers.size();
    if (!a.body.empty()) {
        r.body.reserve(a.body.size());
        std::memcpy(r.body.data(), a.body.data(), a.body.size());
        r.body_len = a.body.size();
        r.pieces.push_back(Segment{Segment::Kind::bytes, -1, 0, a.body.size(), nullptr, nullptr});
    }
}

}  // namespace brisk
