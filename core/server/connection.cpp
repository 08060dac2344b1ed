// brisk — one connection's life: read → parse → route → handle → write,
// as many requests as are buffered, then one flush; then idle (worker
// released), reading (partial request), writing (socket full) or closing.
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "http/parser.hpp"
#include "http/response_writer.hpp"
#include "net/sys.hpp"
#include "http/status.hpp"
#include "server/loop.hpp"

namespace brisk {
namespace {

// Output past this is flushed before more pipelined requests are handled.
constexpr std::size_t kFlushAt = 64 * 1024;
// Borrowed memory sent through io_uring in one sendmsg, at most; more goes by plain sendmsg.
constexpr std::uint64_t kMaxRingSendmsg = 16 * 1024;
// Free space wanted in the read buffer before a read.
constexpr std::size_t kMinRead = 2048;
constexpr int kMaxDiscardReads = 16;
// How long a half-closed connection drains what its client still sends
// (after an error, or a refusal) before it closes: time for the client to
// read the answer before a reset could destroy it.
constexpr std::int64_t kLingerMs = 2000;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kTextPlain = "Content-Type: text/plain; charset=utf-8\r\n";

using http::detail::put;

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
    if (ring_) {
        arm_recv(c);
        return true;
    }
    // Edge-triggered, in and out at once: no epoll_ctl per state change.
    if (!poller_.add(c.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, reinterpret_cast<std::uint64_t>(&c)))
        return false;
    c.registered = true;
    return true;
}

bool Loop::wait_writable(Conn& c) {
    if (!ring_) return watch(c);  // edge-triggered for output since it was added
    if (!c.polling) arm_pollout(c);
    return true;
}

void Loop::close_conn(Conn& c) noexcept {
    if (c.blocked) {
        // A pool thread is using the worker: close once its handler returns.
        c.close_after = c.peer_closed = true;
        return;
    }
    if (c.state == ConnState::closed) return;
    disarm(c);
    // Under io_uring an output in flight still reads the worker's buffer.
    if (c.worker && !c.sending) release_worker(c);
    // The limits it counts towards let go first: once the descriptor is
    // gone, an observer may count on the slot being free.
    if (c.ip_counted) ip_release(c);
    shared_.open.fetch_sub(1, std::memory_order_relaxed);
    const bool in_flight = ring_ ? !close_async(c) : (::close(c.fd), false);  // epoll: also leaves the poller
    c.fd = -1;
    c.state = ConnState::closed;
    if (in_flight) return;  // settle() finishes when the last completion is in
    --open_;
    conns_.release(&c);
}

void Loop::on_input(Conn& c) {
    Worker& w = bind_worker(c);
    const std::uint32_t before = c.requests;
    while (!c.close_after) {
        Step s = process(c, w);
        if (s == Step::close) break;
        if (s == Step::blocked) {
            // Answers to earlier pipelined requests leave while the handler runs.
            if (!w.out.empty()) flush(c, w);
            return;
        }
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
    if (!w.out.empty() && !flush(c, w)) return;
    if (c.close_after) {
        if (!c.peer_closed && (c.force_linger || c.readable || w.has_input()))
            linger(c);
        else
            close_conn(c);
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
        // Idle while draining: a moment for a request that may be on its way
        // (begin_drain() gave it to those idle then), answered with
        // `Connection: close`.
        if (c.timer != TimerKind::idle) arm(c, TimerKind::idle, drain_grace_ms());
        c.state = ConnState::idle;
        return;
    }
    c.state = ConnState::idle;
    arm(c, TimerKind::idle, cfg_.idle_timeout.count());
}

bool Loop::read_into(Conn& c, Worker& w) {
    std::size_t want = kMinRead;
    if (w.stage == Worker::Stage::body_length) {
        std::uint64_t total = w.head_len + w.req.content_length, have = w.end - w.start;
        if (total - have > want) want = static_cast<std::size_t>(total - have);
    }
    char* at = input_space(w, want);
    std::size_t space = w.in.capacity() - w.end;
    ssize_t n = net::sys_read(c.fd, at, space);
    if (n > 0) {
        w.end += static_cast<std::size_t>(n);
        // Edge-triggered: a short read means the socket is drained for now —
        // unless the client's FIN is queued behind the data: no new edge
        // will announce it, so read on until the read that returns 0.
        if (static_cast<std::size_t>(n) < space && !c.peer_fin) c.readable = false;
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
    if (cfg_.log_all_errors || !net::is_disconnect(errno)) spdlog::info("read: {}", std::strerror(errno));
    close_conn(c);
    return false;
}

char* Loop::input_space(Worker& w, std::size_t want) {
    // Sanitizer builds keep answered requests poisoned as long as the buffer
    // has room after them, so that a view a plugin kept still faults on the
    // next request; other builds start over at the front at once.
    if (w.start == w.end) {
        if (!kPoisonsRequests) w.start = w.end = 0;
        // What this read brings starts a request: its duration runs from now.
        if (observe_) [[unlikely]]
            w.first_byte_us = mono_us();
    }
    if (w.in.capacity() - w.end < want) {
        w.in.unpoison();  // what moves, and where to, must be addressable
        if (w.start > 0) {
            std::memmove(w.in.data(), w.in.data() + w.start, w.end - w.start);
            w.end -= w.start;
            w.start = 0;
        }
        if (w.in.capacity() - w.end < want) w.in.reserve(w.end + want);
        if (w.stage != Worker::Stage::head) w.reparse = true;
    }
    unpoison(w.in.data() + w.end, w.in.capacity() - w.end);
    return w.in.data() + w.end;
}

bool Loop::flush(Conn& c, Worker& w) {
    OutBuffer& out = w.out;
    if (c.sending) return false;  // io_uring: the output before is still in flight
    int err = 0;
    // The last answer before a close: hold the bytes back (MSG_MORE) so that
    // close() sends them with the FIN in one segment, a packet fewer per
    // connection. close() or shutdown() follows at once, which releases them.
    const int flags = MSG_NOSIGNAL | (c.close_after && !c.blocked ? MSG_MORE : 0);
    for (out.skip_empty(); !out.finished(); out.skip_empty()) {
        // io_uring: a run of memory leaves as one send, submitted with the
        // loop's next wait; the worker stays bound until it completes. Files
        // leave by sendfile, and so do large borrowed bodies by plain
        // sendmsg: a socket takes them in parts, and each part through the
        // ring would wait for a loop pass (measured: 64 KiB files cost 30 %
        // more CPU). While a handler runs on the pool its answer may be
        // appended to the buffer, and in a burst of requests every send in
        // flight holds a worker: then memory leaves by plain calls too.
        if (ring_ && !c.blocked && !out.at_file() && sends_in_flight_ < kMaxSendsInFlight &&
            (!out.has_segments() || out.run_bytes() <= kMaxRingSendmsg)) {
            send_async(c, w, flags);
            return false;
        }
        ssize_t n;
        if (out.at_file()) {
            Segment& s = out.segments()[out.head];
            off_t off = static_cast<off_t>(s.pos + out.head_done);
            n = ::sendfile(c.fd, s.fd, &off, static_cast<std::size_t>(s.len - out.head_done));
        } else if (!out.has_segments()) {
            // The common case: the batch is one run of bytes.
            n = net::sys_send(c.fd, out.buf.data() + out.sent, out.len - out.sent, flags);
        } else {
            iovec iov[kMaxIov];
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = out.gather(iov, kMaxIov);
            n = ::sendmsg(c.fd, &msg, flags);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            err = errno;
            break;
        }
        if (n == 0) {
            // A file that shrank under us cannot give the promised length.
            err = out.at_file() ? EIO : EPIPE;
            break;
        }
        out.consume(static_cast<std::uint64_t>(n));
    }
    if (err == 0) {
        out.reset();
        return true;
    }
    if (err == EAGAIN || err == EWOULDBLOCK) {
        if (wait_writable(c)) {
            if (!c.blocked) {
                c.state = ConnState::writing;
                arm(c, TimerKind::write, cfg_.write_timeout.count());  // restarts on every bit of progress
            }
            return false;
        }
        err = errno;
    }
    if (cfg_.log_all_errors || !net::is_disconnect(err)) spdlog::info("send: {}", std::strerror(err));
    close_conn(c);
    return false;
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
            if (trust_forwarded_) [[unlikely]]
                resolve_forwarded(c, w);
            w.head_len = head_len;
            w.continue_sent = w.reparse = false;
            switch (w.req.body_kind) {
            case http::BodyKind::none:
                w.raw = {base, head_len};
                dispatch(c, w);
                w.start += head_len;
                break;
            case http::BodyKind::length:
                if (w.req.content_length > cfg_.max_request_body_size) {
                    respond_error(c, w, 413, true);
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
                    respond_error(c, w, r.status, true);
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
            w.raw = {base, w.head_len + body_len};
            w.stage = Worker::Stage::head;
            dispatch(c, w);
        }
        if (c.blocked) return Step::blocked;
        if (c.close_after) return Step::close;
        if (w.out.buffered() >= kFlushAt) return Step::more;
    }
}

void Loop::dispatch(Conn& c, Worker& w) {
    w.route_cursor = 0;
    complete(c, w, Outcome::decline);
}

void Loop::complete(Conn& c, Worker& w, Outcome outcome) {
    // One test for the whole answer: without an access log or a metrics
    // route, the request path carries no observation code at all.
    if (observe_) [[unlikely]]
        answer<true>(c, w, outcome);
    else
        answer<false>(c, w, outcome);
}

// Runs the handlers that match, from the router's cursor on, until one
// answers; then writes the answer (404 when every one declined).
template <bool Observed>
void Loop::answer(Conn& c, Worker& w, Outcome outcome) {
    bool overloaded = false;
    [[maybe_unused]] const std::size_t out_before = w.out.len;
    if constexpr (Observed) {
        if (stats_) publish();  // the metrics route of this loop shows this very moment
    }
    while (outcome == Outcome::decline) {
        w.reply.reset();  // what a declining handler left
        Handler* h = router_.match(w.req, w.route_cursor);
        if (!h) break;
        if (h->blocking()) {
            if (run_blocking(c, w, *h)) return;  // answered later, on this loop
            overloaded = true;
            break;
        }
        HandlerCall call{w.req, w.reply, c, index_, &w.forwarded};
        try {
            outcome = h->handle(call);
        } catch (const std::exception& e) {
            spdlog::error("handler for {} failed: {}", w.req.path, e.what());
            outcome = Outcome::error;
        } catch (...) {
            spdlog::error("handler for {} failed: an exception of unknown type", w.req.path);
            outcome = Outcome::error;
        }
    }
    bool keep = w.req.keep_alive && !cfg_.disable_keepalive && !draining_ &&
                !(cfg_.max_requests_per_conn && c.requests >= cfg_.max_requests_per_conn);
    const http::Answering a{w.req.method == http::Method::head, w.req.version_minor};
    if (overloaded) {
        write_response(w, http::Response{503, kTextPlain, "Service Unavailable\n", {}}, keep, a);
    } else if (outcome == Outcome::done) {
        keep = write_reply(w, keep, a);
    } else if (outcome == Outcome::decline) {
        write_response(w, http::Response{404, kTextPlain, "Not Found\n", {}}, keep, a);
    } else {
        write_response(w, http::Response{500, kTextPlain, "Internal Server Error\n", {}}, keep, a);
    }
    if constexpr (Observed) observe_answer(c, w, outcome, overloaded, out_before);
    w.reply.reset();
    // Answered: the request's bytes are dead. Sanitizer builds poison them and
    // debug builds overwrite them, so a view a plugin kept shows in tests
    // (Loop::read_into makes the buffer whole again). `raw` views the worker's own buffer.
    poison(const_cast<char*>(w.raw.data()), w.raw.size());
    if (!keep) c.close_after = true;
}

// Hands the request to the blocking pool. The connection reads and parses
// nothing until the answer is back, so pipelined answers keep their order.
bool Loop::run_blocking(Conn& c, Worker& w, Handler& h) {
    if (!blocking_) return false;
    c.blocked = true;
    bool queued = blocking_->submit([this, &c, &w, &h] {
        HandlerCall call{w.req, w.reply, c, index_, &w.forwarded};
        Outcome outcome;
        try {
            outcome = h.handle(call);
        } catch (const std::exception& e) {
            spdlog::error("handler for {} failed: {}", w.req.path, e.what());
            outcome = Outcome::error;
        } catch (...) {
            spdlog::error("handler for {} failed: an exception of unknown type", w.req.path);
            outcome = Outcome::error;
        }
        blocking_done(c, outcome);
    });
    if (!queued) {
        c.blocked = false;
        return false;
    }
    ++blocked_;
    disarm(c);  // the client is not the one being slow
    return true;
}

// On a pool thread: queues the outcome for the connection's loop.
void Loop::blocking_done(Conn& c, Outcome outcome) {
    {
        std::lock_guard lock(done_mutex_);
        done_.emplace_back(&c, outcome);
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Loop::take_completions() {
    {
        std::lock_guard lock(done_mutex_);
        done_batch_.swap(done_);
    }
    for (auto [conn, outcome] : done_batch_) {
        Conn& c = *conn;
        c.blocked = false;
        --blocked_;
        Worker& w = *c.worker;
        if (c.close_after && c.peer_closed) {
            close_conn(c);  // the client went away meanwhile
            continue;
        }
        complete(c, w, outcome);
        if (!c.blocked) on_input(c);  // answers, then goes on with what is buffered
    }
    done_batch_.clear();
}

// The lines every answer carries: Server (unless turned off) and Date.
http::CommonLines Loop::common_lines() noexcept {
    return {server_line_, cfg_.no_date_header ? std::string_view{} : date_.line(now_s_)};
}

void Loop::write_response(Worker& w, const http::Response& resp, bool keep_alive, http::Answering a) {
    OutBuffer& out = w.out;
    const bool send_body = http::status_has_body(resp.status) && !a.head;
    const std::size_t body = send_body ? resp.body.size() : 0;
    char* p;
    if (!resp.prerendered.empty()) {
        // The common case of fixed answers: only Date and Connection are added.
        const std::string_view date = cfg_.no_date_header ? std::string_view{} : date_.line(now_s_);
        out.buf.reserve(out.len + resp.prerendered.size() + date.size() + http::kHeadSlack + body);
        p = http::write_prerendered_head(out.buf.data() + out.len, resp.prerendered, date, keep_alive, a);
    } else {
        const http::CommonLines common = common_lines();
        out.buf.reserve(out.len + http::head_bound(common, resp.headers.size()) + body);
        p = http::write_head(out.buf.data() + out.len, resp.status, common, resp.headers,
                             http::framing_for(resp.status, false, a.version_minor), resp.body.size(), keep_alive, a);
    }
    if (send_body) p = put(p, resp.body);
    out.len = static_cast<std::size_t>(p - out.buf.data());
}

// A reply built call by call (plugins, static files): the head, then the
// pieces in order, copied or handed to the output by reference; a stream is
// framed chunk by chunk. Returns whether the connection stays open (an
// HTTP/1.0 stream ends with it).
bool Loop::write_reply(Worker& w, bool keep_alive, http::Answering a) {
    Reply& r = w.reply;
    if (r.kind == Reply::Kind::simple) {
        write_response(w, r.simple, keep_alive, a);
        return keep_alive;
    }
    const http::Framing framing = http::framing_for(r.status, r.kind == Reply::Kind::stream, a.version_minor);
    OutBuffer& out = w.out;
    const http::CommonLines common = common_lines();
    out.buf.reserve(out.len + http::head_bound(common, r.headers_len));
    char* p = http::write_head(out.buf.data() + out.len, r.status, common, {r.headers.data(), r.headers_len}, framing,
                               framing == http::Framing::length ? r.body_size() : 0, keep_alive, a);
    out.len = static_cast<std::size_t>(p - out.buf.data());
    keep_alive = http::keeps_alive(framing, keep_alive);
    if (!http::sends_body(framing, a)) return keep_alive;  // Reply::reset() gives the pieces back
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

// An answer to a request brisk refuses; the connection closes after it, and
// nothing the client sent after the bad request is answered.
void Loop::respond_error(Conn& c, Worker& w, std::uint16_t status, bool parsed) {
    const std::size_t out_before = w.out.len;
    std::string_view reason = http::reason_phrase(status);
    char body[64];
    std::size_t n = reason.size() < sizeof body - 1 ? reason.size() : sizeof body - 2;
    std::memcpy(body, reason.data(), n);
    body[n++] = '\n';
    // The head may not have parsed: answered as HTTP/1.1, with the body.
    write_response(w, http::Response{status, kTextPlain, {body, n}, {}}, false, http::Answering{});
    if (observe_) observe_error(c, w, status, parsed, out_before, n);
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
        if (c.state == ConnState::proxy_header) {
            spdlog::debug("closing a connection on a PROXY listener: no complete header in time");
            close_conn(c);
            return;
        }
        disarm(c);
        if (cfg_.log_all_errors) spdlog::info("read timeout mid-request: answering 408");
        Worker& w = *c.worker;
        respond_error(c, w, 408, w.stage != Worker::Stage::head && !w.reparse);
        w.start = w.end;  // the partial request is dropped
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
    arm(c, TimerKind::linger, kLingerMs);
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
