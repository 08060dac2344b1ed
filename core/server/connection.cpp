// brisk — one connection's life: read → parse → route → handle → write,
// as many requests as are buffered, then one flush; then idle (worker
// released), reading (partial request), writing (socket full) or closing.
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "http/parser.hpp"
#include "http/status.hpp"
#include "server/loop.hpp"

namespace brisk {
namespace {

// Output past this is flushed before more pipelined requests are handled.
constexpr std::size_t kFlushAt = 64 * 1024;
// Free space wanted in the read buffer before a read.
constexpr std::size_t kMinRead = 2048;
constexpr int kMaxDiscardReads = 16;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kTextPlain = "Content-Type: text/plain; charset=utf-8\r\n";

char* put(char* p, std::string_view s) noexcept {
    std::memcpy(p, s.data(), s.size());
    return p + s.size();
}

char* put_uint(char* p, std::uint64_t v) noexcept {
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

// Disconnects a client caused: expected on the internet, logged only on request.
bool is_disconnect(int err) noexcept {
    return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == ENOTCONN;
}

}  // namespace

void Loop::arm(Conn& c, TimerKind kind, std::int64_t ms) noexcept {
    disarm(c);
    c.timer = kind;
    c.deadline_ms = ms > 0 ? now_ms_ + ms : INT64_MAX;
    timers_[static_cast<std::size_t>(kind)].push(c);
}

void Loop::disarm(Conn& c) noexcept {
    if (c.timer == TimerKind::none) return;
    timers_[static_cast<std::size_t>(c.timer)].erase(c);
    c.timer = TimerKind::none;
}

Worker& Loop::bind_worker(Conn& c) {
    if (!c.worker) c.worker = workers_.acquire();
    return *c.worker;
}

void Loop::release_worker(Conn& c) {
    workers_.release(c.worker, now_ms_);
    c.worker = nullptr;
}

bool Loop::watch(Conn& c) {
    if (c.registered) return true;
    // Edge-triggered, in and out at once: no epoll_ctl per state change.
    if (!poller_.add(c.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, reinterpret_cast<std::uint64_t>(&c)))
        return false;
    c.registered = true;
    return true;
}

void Loop::close_conn(Conn& c) noexcept {
    disarm(c);
    if (c.worker) release_worker(c);
    ::close(c.fd);  // also leaves the poller
    if (c.ip_counted) ip_release(c);
    shared_.open.fetch_sub(1, std::memory_order_relaxed);
    --open_;
    conns_.release(&c);
}

void Loop::on_input(Conn& c) {
    Worker& w = bind_worker(c);
    const std::uint32_t before = c.requests;
    while (!c.close_after) {
        Step s = process(c, w);
        if (s == Step::close) break;
        if (s == Step::more) {
            if (!flush(c, w)) return;
            continue;
        }
        if (!c.readable || c.peer_closed) break;
        if (!read_into(c, w)) return;
    }
    finish(c, w, c.requests != before);
}

// Flushes the batch's responses in one send, then settles the connection
// in its next state.
void Loop::finish(Conn& c, Worker& w, bool progressed) {
    if (w.out.pending() && !flush(c, w)) return;
    if (c.close_after) {
        if (!c.peer_closed && (c.force_linger || c.readable || w.has_input())) linger(c);
        else close_conn(c);
        return;
    }
    if (c.peer_closed || !watch(c)) {
        close_conn(c);  // half-closed: everything complete was answered
        return;
    }
    if (w.has_input()) {
        // A request has started; its read deadline runs from its first byte.
        if (c.state != ConnState::reading || progressed) arm(c, TimerKind::read, cfg_.read_timeout.count());
        c.state = ConnState::reading;
        return;
    }
    release_worker(c);
    if (draining_) {
        close_conn(c);
        return;
    }
    c.state = ConnState::idle;
    arm(c, TimerKind::idle, cfg_.idle_timeout.count());
}

bool Loop::read_into(Conn& c, Worker& w) {
    if (w.start == w.end) w.start = w.end = 0;
    std::size_t want = kMinRead;
    if (w.stage == Worker::Stage::body_length) {
        std::uint64_t total = w.head_len + w.req.content_length, have = w.end - w.start;
        if (total - have > want) want = static_cast<std::size_t>(total - have);
    }
    if (w.in.capacity() - w.end < want) {
        if (w.start > 0) {
            std::memmove(w.in.data(), w.in.data() + w.start, w.end - w.start);
            w.end -= w.start;
            w.start = 0;
        }
        if (w.in.capacity() - w.end < want) w.in.reserve(w.end + want);
        if (w.stage != Worker::Stage::head) w.reparse = true;
    }
    std::size_t space = w.in.capacity() - w.end;
    ssize_t n = ::read(c.fd, w.in.data() + w.end, space);
    if (n > 0) {
        w.end += static_cast<std::size_t>(n);
        // Edge-triggered: a short read means the socket is drained for now.
        if (static_cast<std::size_t>(n) < space) c.readable = false;
        return true;
    }
    if (n == 0) {
        c.peer_closed = true;
        c.readable = false;
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c.readable = false;
        return true;
    }
    if (errno == EINTR) return true;
    if (cfg_.log_all_errors || !is_disconnect(errno)) spdlog::info("read: {}", std::strerror(errno));
    close_conn(c);
    return false;
}

bool Loop::flush(Conn& c, Worker& w) {
    OutBuffer& out = w.out;
    while (out.sent < out.len) {
        ssize_t n = ::send(c.fd, out.buf.data() + out.sent, out.len - out.sent, MSG_NOSIGNAL);
        if (n > 0) {
            out.sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!watch(c)) break;
            c.state = ConnState::writing;
            arm(c, TimerKind::write, cfg_.write_timeout.count());  // restarts on every bit of progress
            return false;
        }
        if (cfg_.log_all_errors || !is_disconnect(errno)) spdlog::info("send: {}", std::strerror(errno));
        break;
    }
    if (out.sent < out.len) {
        close_conn(c);
        return false;
    }
    out.len = out.sent = 0;
    return true;
}

// Handles every complete request in the buffer, appending the responses.
Loop::Step Loop::process(Conn& c, Worker& w) {
    for (;;) {
        char* base = w.in.data() + w.start;
        const std::size_t avail = w.end - w.start;

        if (w.stage == Worker::Stage::head) {
            if (avail == 0) return Step::wait;
            std::size_t head_len = http::find_head_end(base, avail, w.scanned);
            if (head_len == 0) {
                w.scanned = avail;
                http::HeadResult r = http::check_partial_head(base, avail, cfg_.max_header_size);
                if (r.kind == http::HeadResult::error) {
                    respond_error(c, w, r.status);
                    return Step::close;
                }
                return Step::wait;
            }
            w.scanned = 0;
            http::HeadResult r = http::parse_head(base, head_len, cfg_.max_header_size, w.req);
            if (r.kind != http::HeadResult::complete) {
                respond_error(c, w, r.status);
                return Step::close;
            }
            ++c.requests;
            w.head_len = head_len;
            w.continue_sent = w.reparse = false;
            switch (w.req.body_kind) {
            case http::BodyKind::none:
                dispatch(c, w);
                w.start += head_len;
                break;
            case http::BodyKind::length:
                if (w.req.content_length > cfg_.max_request_body_size) {
                    respond_error(c, w, 413);
                    return Step::close;
                }
                w.stage = Worker::Stage::body_length;
                continue;
            case http::BodyKind::chunked:
                w.chunked.reset(cfg_.max_request_body_size);
                w.stage = Worker::Stage::body_chunked;
                continue;
            }
        } else {
            if (w.reparse) {
                // The head moved with the buffer: parse it again where it is now.
                http::parse_head(base, w.head_len, cfg_.max_header_size, w.req);
                w.reparse = false;
            }
            std::size_t body_len;
            if (w.stage == Worker::Stage::body_length) {
                body_len = static_cast<std::size_t>(w.req.content_length);
                if (avail - w.head_len < body_len) {
                    if (w.req.expect_continue && !w.continue_sent && avail == w.head_len) {
                        w.out.append(kContinue);
                        w.continue_sent = true;
                    }
                    return Step::wait;
                }
                w.start += w.head_len + body_len;
            } else {
                bool nothing_yet = avail == w.head_len;
                std::size_t len = avail - w.head_len;
                http::ChunkedDecoder::Result r = w.chunked.decode(base + w.head_len, len);
                w.end = w.start + w.head_len + len;
                if (r.kind == http::ChunkedDecoder::Result::error) {
                    respond_error(c, w, r.status);
                    return Step::close;
                }
                if (r.kind == http::ChunkedDecoder::Result::need_more) {
                    if (w.req.expect_continue && !w.continue_sent && nothing_yet) {
                        w.out.append(kContinue);
                        w.continue_sent = true;
                    }
                    return Step::wait;
                }
                body_len = static_cast<std::size_t>(w.chunked.decoded());
                w.start += w.head_len + body_len;
            }
            w.req.body = {base + w.head_len, body_len};
            w.stage = Worker::Stage::head;
            dispatch(c, w);
        }
        if (c.close_after) return Step::close;
        if (w.out.pending() >= kFlushAt) return Step::more;
    }
}

void Loop::dispatch(Conn& c, Worker& w) {
    http::Response resp;
    if (Handler* h = router_.match(w.req.path)) {
        try {
            h->handle(w.req, resp);
        } catch (const std::exception& e) {
            spdlog::error("handler for {} failed: {}", w.req.path, e.what());
            resp = http::Response{500, kTextPlain, "Internal Server Error\n", {}};
        }
    } else {
        resp = http::Response{404, kTextPlain, "Not Found\n", {}};
    }
    bool keep = w.req.keep_alive && !cfg_.disable_keepalive && !draining_ &&
                !(cfg_.max_requests_per_conn && c.requests >= cfg_.max_requests_per_conn);
    write_response(c, w, resp, keep);
    if (!keep) c.close_after = true;
}

void Loop::write_response(Conn&, Worker& w, const http::Response& resp, bool keep_alive) {
    const bool has_body = http::status_has_body(resp.status);
    const bool send_body = has_body && w.req.method != http::Method::head;
    OutBuffer& out = w.out;
    // Status line, Date, Content-Length, Connection, CRLF: at most 192 bytes past the parts.
    out.buf.reserve(out.len + server_line_.size() + resp.headers.size() + resp.prerendered.size() + 192 +
                    (send_body ? resp.body.size() : 0));
    char* p = out.buf.data() + out.len;
    if (!resp.prerendered.empty()) {
        p = put(p, resp.prerendered);
    } else {
        p = put(p, http::status_line(resp.status));
        p = put(p, server_line_);
        p = put(p, resp.headers);
        if (has_body) {
            p = put(p, "Content-Length: ");
            p = put_uint(p, resp.body.size());
            p = put(p, "\r\n");
        }
    }
    if (!cfg_.no_date_header) p = put(p, date_.line(now_s_));
    if (!keep_alive) p = put(p, "Connection: close\r\n");
    else if (w.req.version_minor == 0) p = put(p, "Connection: keep-alive\r\n");
    p = put(p, "\r\n");
    if (send_body) p = put(p, resp.body);
    out.len = static_cast<std::size_t>(p - out.buf.data());
}

// An answer to a request brisk refuses; the connection closes after it, and
// nothing the client sent after the bad request is answered.
void Loop::respond_error(Conn& c, Worker& w, std::uint16_t status) {
    std::string_view reason = http::reason_phrase(status);
    char body[64];
    std::size_t n = reason.size() < sizeof body - 1 ? reason.size() : sizeof body - 2;
    std::memcpy(body, reason.data(), n);
    body[n++] = '\n';
    w.req.method = http::Method::get;  // the head may not have parsed: always send the body
    w.req.version_minor = 1;
    write_response(c, w, http::Response{status, kTextPlain, {body, n}, {}}, false);
    c.close_after = true;
    c.force_linger = true;
    spdlog::debug("answered {} and closing", status);
}

void Loop::on_timeout(Conn& c) {
    switch (c.timer) {
    case TimerKind::idle:
        close_conn(c);  // keep-alive expiry: silent
        return;
    case TimerKind::read: {
        disarm(c);
        if (cfg_.log_all_errors) spdlog::info("read timeout mid-request: answering 408");
        Worker& w = *c.worker;
        w.start = w.end;  // the partial request is dropped
        respond_error(c, w, 408);
        finish(c, w, false);
        return;
    }
    case TimerKind::write:
        if (cfg_.log_all_errors) spdlog::info("write timeout: closing");
        close_conn(c);
        return;
    case TimerKind::linger:
    case TimerKind::none:
        close_conn(c);
        return;
    }
}

// Half-closes and reads until the client closes too (or a short deadline),
// so that a client still sending does not get a reset that destroys the
// response before it is read (RFC 9112 9.6).
void Loop::linger(Conn& c) {
    if (c.worker) release_worker(c);
    ::shutdown(c.fd, SHUT_WR);
    c.state = ConnState::lingering;
    if (!watch(c)) {
        close_conn(c);
        return;
    }
    arm(c, TimerKind::linger, 2000);
    c.readable = true;
    discard_input(c);
}

void Loop::discard_input(Conn& c) {
    for (int i = 0; i < kMaxDiscardReads; ++i) {
        ssize_t n = ::read(c.fd, discard_.data(), discard_.size());
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c.readable = false;
            return;
        }
        if (n < 0 && errno == EINTR) continue;
        close_conn(c);  // EOF or error: done
        return;
    }
}

}  // namespace brisk
