// brisk — Http1<T>'s definitions, included where it is compiled for a
// transport: http1_connection.cpp for the two backends, the unit tests for
// their fake; and where a backend's events enter it (loop.cpp,
// loop_uring.cpp), so that its dispatcher is inlined there.
#pragma once

#include <spdlog/spdlog.h>

#include <climits>
#include <cstring>
#include <utility>

#include "http/parser.hpp"
#include "server/http1_connection.hpp"
#include "server/loop.hpp"

namespace brisk {
namespace http1 {

// Output past this is flushed before more pipelined requests are handled.
inline constexpr std::size_t kFlushAt = 64 * 1024;
// How long a half-closed connection drains what its client still sends
// (after an error, or a refusal) before it closes: time for the client to
// read the answer before a reset could destroy it.
inline constexpr std::int64_t kLingerMs = 2000;
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
inline constexpr std::string_view kTextPlain = "Content-Type: text/plain; charset=utf-8\r\n";

// Runs a handler; an exception is its failure (500), whatever its type.
inline Outcome call_handler(Handler& h, HandlerCall& call) noexcept {
    try {
        return h.handle(call);
    } catch (const std::exception& e) {
        spdlog::error("handler for {} failed: {}", call.req.path, e.what());
    } catch (...) {
        spdlog::error("handler for {} failed: an exception of unknown type", call.req.path);
    }
    return Outcome::error;
}

}  // namespace http1

template <class T>
inline void Http1<T>::enter(Conn& c, ConnState next, bool restart) {
    switch (next) {
    case ConnState::idle:
        if (c.worker) release_worker(c);
        if (c.timer == TimerKind::handshake) break;  // a TLS connection's first deadline runs on
        // While draining, a moment for a request that may be on its way
        // (Loop::begin_drain gave it to those idle then), answered with
        // `Connection: close`.
        if (restart || c.timer != TimerKind::idle) loop_.arm(c, TimerKind::idle, loop_.idle_ms_);
        break;
    case ConnState::reading:
        if (restart || c.state != ConnState::reading) loop_.arm(c, TimerKind::read, cfg_.read_timeout.count());
        break;
    case ConnState::writing:
        loop_.arm(c, TimerKind::write, cfg_.write_timeout.count());
        break;
    case ConnState::handling:
        loop_.disarm(c);  // the client is not the one being slow
        break;
    case ConnState::streaming:
        // Pending output waits for the client (restarted on progress); between
        // the plugin's writes, nobody is late.
        if (c.worker && !c.worker->out.empty())
            loop_.arm(c, TimerKind::write, cfg_.write_timeout.count());
        else
            loop_.disarm(c);
        break;
    case ConnState::lingering:
        if (c.worker) release_worker(c);
        t_.shutdown_write(c);
        loop_.arm(c, TimerKind::linger, http1::kLingerMs);
        break;
    case ConnState::proxy_header:
        // The header's deadline runs from accept, like a request's from its
        // first byte (or the drain's moment, once a stop gave it one).
        if (c.timer == TimerKind::none) loop_.arm(c, TimerKind::read, cfg_.read_timeout.count());
        break;
    case ConnState::closed:
        loop_.disarm(c);
        break;
    }
    c.state = next;
}

template <class T>
inline void Http1<T>::on_event(Conn& c, unsigned events) {
    if (events & kFailed) {
        close(c);
        return;
    }
    switch (c.state) {
    case ConnState::idle:
    case ConnState::reading:
        if (events & kInput) on_input(c);
        return;
    case ConnState::writing:
        // Input waits until the answers before it have left.
        if (events & kOutput) on_output(c);
        return;
    case ConnState::handling:
        // Its handler runs on the pool, or its request is suspended: only
        // earlier answers may move meanwhile. A suspended request whose
        // client went away is cancelled.
        if ((events & kOutput) && !c.worker->out.empty()) flush(c, *c.worker);
        if ((events & kInput) && c.worker->later) {
            if (c.worker->stage == Worker::Stage::body_stream) {
                // A plugin reads the body: input waits until it asks for more.
                if (c.worker->body_cb) pump_body(c, *c.worker);
            } else if (t_.peer_gone(c)) {
                close(c);
            }
        }
        return;
    case ConnState::streaming: {
        // The body comes from the plugin (stream_more); input waits for the
        // stream's end (an upgraded connection's goes to the plugin). A
        // client that goes away ends the stream.
        Stream* s = stream_of(c);
        if (!s) return;  // cannot be
        if (s->taken) {
            if (!s->handed) hand_over(c, *s);  // what it waited for (output, a cancellation) is over
            return;
        }
        if (events & kInput) {
            if (s->upgraded) {
                upgraded_input(c, *s);
                if (c.state != ConnState::streaming) return;
            } else if (t_.peer_gone(c)) {
                close(c);
                return;
            }
        }
        if ((events & kOutput) && c.timer == TimerKind::write) stream_flush(c, *s);
        return;
    }
    case ConnState::lingering:
        if (events & kInput) discard(c);
        return;
    case ConnState::proxy_header:
        if (events & kInput) on_proxy_input(c);
        return;
    case ConnState::closed:
        return;
    }
}

template <class T>
void Http1<T>::start(Conn& c, bool proxy) {
    t_.opened(c);
    // A TLS connection has this long for its handshake and the start of its first request.
    if (c.tls) loop_.arm(c, TimerKind::handshake, cfg_.tls_handshake_timeout.count());
    if (proxy) [[unlikely]] {
        enter(c, ConnState::proxy_header);
        on_proxy_input(c);
        return;
    }
    on_input(c);
}

template <class T>
void Http1<T>::close(Conn& c) noexcept {
    if (c.state == ConnState::handling) {
        if (!c.worker->later) {
            // A pool thread is using the worker: close once its handler returns.
            c.close_after = c.peer_closed = true;
            return;
        }
        cancel_later(*c.worker);  // never answered: the plugin is told
    } else if (c.state == ConnState::streaming) {
        cancel_stream(c);  // never ended: the plugin is told
    }
    if (c.state == ConnState::closed) return;
    // An output still in flight reads the worker's buffer: the backend
    // releases it with the record.
    if (c.worker && !t_.output_in_flight(c)) release_worker(c);
    // The limits it counts towards let go first: once the descriptor is
    // gone, an observer may count on the slot being free.
    if (c.ip_counted) loop_.ip_release(c);
    loop_.shared_.open.fetch_sub(1, std::memory_order_relaxed);
    const bool done = t_.close(c);
    c.fd = -1;
    enter(c, ConnState::closed);
    if (done) release_record(c);
}

template <class T>
void Http1<T>::on_input(Conn& c) {
    Worker& w = bind_worker(c);
    const std::uint32_t before = c.requests;
    while (!c.close_after) {
        Step s = process(c, w);
        if (s == Step::close) break;
        if (s == Step::handling) {
            // Answers to earlier pipelined requests leave while the handler runs.
            if (!w.out.empty()) flush(c, w);
            return;
        }
        if (s == Step::more) {
            if (!flush(c, w)) return;
            continue;
        }
        if (c.peer_closed || !t_.may_read(c)) break;
        if (!t_.pull(c, w)) {
            close(c);
            return;
        }
    }
    finish(c, w, c.requests != before);
}

template <class T>
void Http1<T>::finish(Conn& c, Worker& w, bool progressed) {
    if (!w.out.empty() && !flush(c, w)) return;
    if (c.close_after) {
        // Lingering, where the client may still be sending: a close with
        // unread input would reset the connection under the answer.
        if (!c.peer_closed && (c.force_linger || t_.may_read(c) || w.has_input()))
            linger(c);
        else
            close(c);
        return;
    }
    if (c.peer_closed || !t_.watch(c)) {
        close(c);  // half-closed: everything complete was answered
        return;
    }
    if (w.has_input())
        enter(c, ConnState::reading, progressed);
    else
        enter(c, ConnState::idle, progressed);
}

template <class T>
bool Http1<T>::flush(Conn& c, Worker& w) {
    const bool handling = c.state == ConnState::handling;
    switch (t_.send(c, w, c.close_after && !handling, !handling)) {
    case Sent::all:
        w.out.reset();
        return true;
    case Sent::pending:
        if (!handling) enter(c, ConnState::writing);  // restarts on every bit of progress
        return false;
    case Sent::busy:
        return false;
    case Sent::failed:
        break;
    }
    close(c);
    return false;
}

template <class T>
inline void Http1<T>::on_output(Conn& c) {
    Worker& w = *c.worker;
    if (w.out.finished() && !w.has_input()) {
        // The common case of a send that completed later: all of it left and nothing came meanwhile.
        w.out.reset();
        finish(c, w, false);
        return;
    }
    // The rest of a partial send goes out next; a complete one moves on to
    // what was received meanwhile.
    if (flush(c, w)) on_input(c);
}

template <class T>
typename Http1<T>::Step Http1<T>::process(Conn& c, Worker& w) {
    const Config& cfg = cfg_;
    for (;;) {
        char* base = w.in.data() + w.start;
        const std::size_t avail = w.end - w.start;

        if (w.stage == Worker::Stage::head) {
            if (avail == 0) return Step::wait;
            std::size_t head_len = http::find_head_end(base, avail, w.scanned);
            if (head_len == 0) {
                w.scanned = avail;
                http::HeadResult r = http::check_partial_head(base, avail, cfg.max_header_size);
                if (r.kind == http::HeadResult::error) {
                    respond_error(c, w, r.status);
                    return Step::close;
                }
                return Step::wait;
            }
            w.scanned = 0;
            http::HeadResult r = http::parse_head(base, head_len, cfg.max_header_size, w.req);
            if (r.kind != http::HeadResult::complete) {
                respond_error(c, w, r.status);
                return Step::close;
            }
            ++c.requests;
            if (trust_forwarded_) [[unlikely]]
                loop_.resolve_forwarded(c, w);
            w.head_len = head_len;
            w.continue_sent = w.reparse = false;
            switch (w.req.body_kind) {
            case http::BodyKind::none:
                w.raw = {base, head_len};
                dispatch(c, w);
                w.start += head_len;
                break;
            case http::BodyKind::length:
                if (w.req.content_length > cfg.max_request_body_size) {
                    respond_error(c, w, 413, true);
                    return Step::close;
                }
                w.stage = Worker::Stage::body_length;
                if (streams_body_) [[unlikely]] {
                    if (Step step; dispatch_early(c, w, step)) return step;
                }
                continue;
            case http::BodyKind::chunked:
                w.chunked.reset(cfg.max_request_body_size);
                w.stage = Worker::Stage::body_chunked;
                if (streams_body_) [[unlikely]] {
                    if (Step step; dispatch_early(c, w, step)) return step;
                }
                continue;
            }
        } else {
            if (w.reparse) {
                // The head moved with the buffer: parse it again where it is now.
                http::parse_head(base, w.head_len, cfg.max_header_size, w.req);
                w.reparse = false;
            }
            std::size_t body_len;
            if (w.stage == Worker::Stage::body_length) {
                body_len = static_cast<std::size_t>(w.req.content_length);
                if (avail - w.head_len < body_len) {
                    if (w.req.expect_continue && !w.continue_sent && avail == w.head_len) {
                        w.out.append(http1::kContinue);
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
                        w.out.append(http1::kContinue);
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
        if (c.state == ConnState::handling) return Step::handling;
        if (c.close_after) return Step::close;
        if (w.out.buffered() >= http1::kFlushAt) return Step::more;
    }
}

template <class T>
void Http1<T>::dispatch(Conn& c, Worker& w) {
    w.route_cursor = std::exchange(w.resume_cursor, 0);
    complete(c, w, Outcome::decline);
}

template <class T>
bool Http1<T>::dispatch_early(Conn& c, Worker& w, Step& step) {
    std::size_t cursor = 0;
    if (c.redirect) return false;  // answered with its 308 once the body is read
    Handler* h = router_.match(w.req, cursor);
    if (!h || !h->streams_body()) return false;
    const Worker::Stage whole = w.stage;
    w.stage = Worker::Stage::body_stream;
    w.body_left = w.req.content_length;
    w.raw = {w.in.data() + w.start, w.head_len};
    HandlerCall call{w.req, w.reply, c, loop_.index_, &w.forwarded, true, loop_.tls_session(c)};
    const Outcome outcome = http1::call_handler(*h, call);
    if (outcome == Outcome::suspended) {
        w.route_cursor = cursor;
        wait_later(c, w);
        step = Step::handling;
        return true;
    }
    if (outcome == Outcome::decline) {
        // Not for it: the body is read whole, and the routes after it are tried.
        w.reply.reset();
        w.stage = whole;
        w.resume_cursor = cursor;
        return false;
    }
    // Answered from the head alone: the body is never read (nor 100 Continue sent).
    w.route_cursor = cursor;
    abandon_body(c, w);
    complete(c, w, outcome);
    step = Step::close;
    return true;
}

template <class T>
void Http1<T>::complete(Conn& c, Worker& w, Outcome outcome) {
    // One test for the whole answer: without an access log or a metrics
    // route, the request path carries no observation code at all.
    if (observe_) [[unlikely]]
        answer<true>(c, w, outcome);
    else
        answer<false>(c, w, outcome);
}

// Runs the handlers that match, from the router's cursor on, until one
// answers; then writes the answer (404 when every one declined).
template <class T>
template <bool Observed>
void Http1<T>::answer(Conn& c, Worker& w, Outcome outcome) {
    const Config& cfg = cfg_;
    bool overloaded = false;
    [[maybe_unused]] const std::size_t out_before = w.out.len;
    if constexpr (Observed) {
        if (loop_.stats_) loop_.publish();  // the metrics route of this loop shows this very moment
    }
    // The reply is empty here: each answer resets it, and so does a decline.
    if (c.redirect) [[unlikely]] {
        redirect_to_https(w);
        outcome = Outcome::done;
    }
    while (outcome == Outcome::decline) {
        Handler* h = router_.match(w.req, w.route_cursor);
        if (!h) break;
        if (h->blocking()) {
            if (run_blocking(c, w, *h)) return;  // answered later, on this loop
            overloaded = true;
            break;
        }
        HandlerCall call{w.req, w.reply, c, loop_.index_, &w.forwarded, false, loop_.tls_session(c)};
        outcome = http1::call_handler(*h, call);
        if (outcome == Outcome::suspended) [[unlikely]] {
            wait_later(c, w);
            return;
        }
        if (outcome == Outcome::decline) w.reply.reset();  // what the declining handler left
    }
    bool keep = w.req.keep_alive && loop_.keep_alive_ &&
                !(cfg.max_requests_per_conn && c.requests >= cfg.max_requests_per_conn);
    const http::Answering a{w.req.method == http::Method::head, w.req.version_minor, c.tls};
    if (overloaded) {
        write_response(w, http::Response{503, http1::kTextPlain, "Service Unavailable\n", {}}, keep, a);
    } else if (outcome == Outcome::done) {
        if (w.reply.kind == Reply::Kind::simple)  // a fixed answer, the common case
            write_response(w, w.reply.simple, keep, a);
        else
            keep = write_reply(w, keep, a);
    } else if (outcome == Outcome::decline) {
        const std::uint32_t allowed = router_.methods_for(w.req);
        if (allowed && !(allowed & (1u << static_cast<unsigned>(w.req.method)))) [[unlikely]] {
            // The path's routes take other methods only (RFC 9110 15.5.6).
            const std::string fields = std::string(http1::kTextPlain) + Router::allow_field(allowed);
            w.reply.kind = Reply::Kind::simple;  // the status the access log reports
            w.reply.simple = http::Response{405, fields, "Method Not Allowed\n", {}};
            write_response(w, w.reply.simple, keep, a);
        } else {
            write_response(w, http::Response{404, http1::kTextPlain, "Not Found\n", {}}, keep, a);
        }
    } else {
        write_response(w, http::Response{500, http1::kTextPlain, "Internal Server Error\n", {}}, keep, a);
    }
    if constexpr (Observed) loop_.observe_answer(c, w, outcome, overloaded, out_before);
    w.reply.reset();
    // Answered: the request's bytes are dead. Sanitizer builds poison them and
    // debug builds overwrite them, so a view a plugin kept shows in tests
    // (Worker::input_space makes the buffer whole again). `raw` views the worker's own buffer.
    poison(const_cast<char*>(w.raw.data()), w.raw.size());
    if (!keep) c.close_after = true;
}

// Answered later (deliver), or cancelled; the connection reads no further
// request meanwhile. Its bytes stay as they are.
template <class T>
void Http1<T>::wait_later(Conn& c, Worker& w) {
    w.later = std::exchange(w.reply.later, 0);
    enter(c, ConnState::handling);
    t_.watch(c);  // so that a client going away is seen (and the request cancelled)
    if (w.reply.later_timeout_ms > 0) loop_.arm_handler(c, w.reply.later_timeout_ms);
}

// Hands the request to the blocking pool. The connection reads and parses
// nothing until the answer is back, so pipelined answers keep their order.
template <class T>
bool Http1<T>::run_blocking(Conn& c, Worker& w, Handler& h) {
    Loop& loop = loop_;
    if (!loop.blocking_) return false;
    // The session is looked up here: the loop's table is not for other threads.
    const bool queued = loop.blocking_->submit([&loop, &c, &w, &h, tls = loop.tls_session(c)] {
        HandlerCall call{w.req, w.reply, c, loop.index_, &w.forwarded, false, tls};
        loop.blocking_done(c, http1::call_handler(h, call));
    });
    if (!queued) return false;
    enter(c, ConnState::handling);
    return true;
}

template <class T>
void Http1<T>::resume(Conn& c, Outcome outcome) {
    Worker& w = *c.worker;
    // Back on the loop (from the pool, a later answer or a handler timeout):
    // the request is answered and the connection goes on with what is
    // buffered (finish() settles it in its state).
    enter(c, ConnState::reading, false);
    if (c.close_after && c.peer_closed) {
        close(c);  // the client went away meanwhile
        return;
    }
    if (outcome == Outcome::decline) w.reply.reset();  // what the pool's declining handler left
    complete(c, w, outcome);
    if (c.state == ConnState::handling) return;  // the next route's handler runs on the pool too
    take_held(w);
    on_input(c);
}

template <class T>
void Http1<T>::on_timeout(Conn& c) {
    switch (c.timer) {
    case TimerKind::idle:
        close(c);  // keep-alive expiry: silent
        return;
    case TimerKind::read: {
        if (c.state == ConnState::proxy_header) {
            spdlog::debug("closing a connection on a PROXY listener: no complete header in time");
            close(c);
            return;
        }
        Worker& w = *c.worker;
        if (c.state == ConnState::handling) {  // a plugin waits for more of the body
            abort_body(c, w, 408);
            return;
        }
        loop_.disarm(c);
        if (cfg_.log_all_errors) spdlog::info("read timeout mid-request: answering 408");
        respond_error(c, w, 408, w.stage != Worker::Stage::head && !w.reparse);
        w.start = w.end;  // the partial request is dropped
        finish(c, w, false);
        return;
    }
    case TimerKind::write:
        if (cfg_.log_all_errors) spdlog::info("write timeout: closing");
        close(c);
        return;
    case TimerKind::handler: {
        // The instance's handler_timeout passed with its request unanswered.
        if (loop_.cfg_.log_all_errors) spdlog::info("handler timeout: answering 503");
        Worker& w = *c.worker;
        cancel_later(w);
        w.reply.reset();
        w.reply.kind = Reply::Kind::simple;
        w.reply.simple = http::Response{503, http1::kTextPlain, "Service Unavailable\n", {}};
        resume(c, Outcome::done);
        return;
    }
    case TimerKind::handshake:
        if (cfg_.log_all_errors) spdlog::info("TLS handshake timeout: closing");
        if (loop_.stats_) bump(loop_.stats_->tls_failed[static_cast<std::size_t>(tls::Failure::timeout)]);
        close(c);
        return;
    case TimerKind::linger:
    case TimerKind::none:
        close(c);
        return;
    }
}

template <class T>
void Http1<T>::deliver(Conn& c, const LaterAnswer& m) {
    switch (m.kind) {
    case LaterAnswer::Kind::answer: {
        Worker& w = *c.worker;
        w.later = 0;
        abandon_body(c, w);
        fill_reply(w, m);
        resume(c, Outcome::done);
        return;
    }
    case LaterAnswer::Kind::head:
    case LaterAnswer::Kind::upgrade:
        open_stream(c, m);
        return;
    case LaterAnswer::Kind::hijack:
        hijack(c, m);
        return;
    case LaterAnswer::Kind::timeout:
        if (Stream* s = stream_of(c)) {
            s->idle_ms = static_cast<std::int64_t>(m.ms);
            if (c.timer != TimerKind::write) settle_stream(c, *s);
        }
        return;
    case LaterAnswer::Kind::read:
        read_body(c, m);
        return;
    case LaterAnswer::Kind::end:
        if (taken(c)) {
            streams_.erase(&c);  // hijack_close: no cancel, the plugin closed it
            close(c);
            return;
        }
        stream_more(c, m);
        return;
    case LaterAnswer::Kind::data:
        stream_more(c, m);
        return;
    }
}

// A suspended request's answer becomes a stream: its head leaves now
// (observed as the request's answer), its body as the plugin gives it. The
// connection reads no further request until the stream's end has left.
template <class T>
void Http1<T>::open_stream(Conn& c, const LaterAnswer& head) {
    Worker& w = *c.worker;
    const bool upgrade = head.kind == LaterAnswer::Kind::upgrade;
    const http::Framing f = http::framing_for(head.status, true, w.req.version_minor);
    const bool body = upgrade || http::sends_body(f, {w.req.method == http::Method::head, w.req.version_minor});
    abandon_body(c, w);  // a stream does not wait for the rest of the request body
    Stream& s = streams_[&c];
    s = Stream{std::exchange(w.later, 0),
               0,
               body,
               !upgrade && f == http::Framing::chunked,
               false,
               upgrade,
               head.on_read,
               head.arg,
               0};
    fill_reply(w, head);
    w.reply.kind = Reply::Kind::live;
    enter(c, ConnState::streaming);
    if (upgrade) {
        // 101, then the bytes are the plugin's both ways; HTTP never comes back on this connection.
        const std::size_t out_before = w.out.len;
        write_reply(w, true, http::Answering{false, 1, c.tls});
        if (observe_) loop_.observe_answer(c, w, Outcome::done, false, out_before);
        w.reply.reset();
        c.close_after = true;
        take_held(w);  // io_uring: what came while the request waited is the plugin's too
    } else {
        complete(c, w, Outcome::done);  // the head (an HTTP/1.0 stream closes the connection after it)
    }
    stream_flush(c, s);
    if (upgrade && c.state == ConnState::streaming) upgraded_input(c, s);  // bytes that came behind the request
}

// The request gets no answer from brisk: its connection leaves with what
// was read past it. It stays a record of the loop (counted, timed by
// nothing, closed by hijack_close or at the end of a stop) until then.
template <class T>
void Http1<T>::hijack(Conn& c, const LaterAnswer& m) {
    Worker& w = *c.worker;
    Stream& s = streams_[&c];
    s = Stream{};
    s.handle = std::exchange(w.later, 0);
    s.body = s.chunked = false;
    s.upgraded = s.taken = true;
    s.on_taken = m.on_taken;
    s.read_arg = m.arg;
    w.reply.reset();
    c.close_after = true;
    take_held(w);
    enter(c, ConnState::streaming);
    hand_over(c, s);
}

template <class T>
void Http1<T>::hand_over(Conn& c, Stream& s) {
    if (c.worker && !c.worker->out.empty()) {
        // Answers to earlier pipelined requests leave first, under the write timeout.
        switch (t_.send(c, *c.worker, false, false)) {
        case Sent::all:
            c.worker->out.reset();
            break;
        case Sent::pending:
        case Sent::busy:
            enter(c, ConnState::streaming);
            return;
        case Sent::failed:
            close(c);
            return;
        }
    }
    loop_.disarm(c);
    if (!t_.release(c)) return;  // io_uring: once its receive is cancelled (input meanwhile still joins)
    s.handed = true;
    Worker* w = c.worker;
    s.on_taken(s.read_arg, c.fd, w ? w->in.data() + w->start : nullptr, w ? w->end - w->start : 0);
    if (w) {
        w->start = w->end;
        release_worker(c);
    }
}

template <class T>
void Http1<T>::settle_stream(Conn& c, const Stream& s) {
    enter(c, ConnState::streaming);
    if (s.upgraded && s.idle_ms > 0 && c.timer == TimerKind::none) loop_.arm(c, TimerKind::idle, s.idle_ms);
}

template <class T>
void Http1<T>::upgraded_input(Conn& c, Stream& s) {
    Worker& w = bind_worker(c);
    for (;;) {
        if (w.has_input()) {
            const char* data = w.in.data() + w.start;
            const std::size_t n = w.end - w.start;
            w.start = w.end;
            // After the plugin's end nothing more is wanted: what comes is dropped.
            if (Suspensions::get().open(s.handle)) s.on_read(s.read_arg, data, n);
        }
        if (c.peer_closed) {
            close(c);  // the client is gone: the plugin is told, unless it ended first
            return;
        }
        if (!t_.may_read(c)) break;
        if (!t_.pull(c, w)) {
            close(c);
            return;
        }
    }
    if (!t_.watch(c)) {
        close(c);
        return;
    }
    if (w.out.empty() && w.held.empty()) release_worker(c);
    if (c.timer != TimerKind::write) settle_stream(c, s);
}

template <class T>
void Http1<T>::read_body(Conn& c, const LaterAnswer& m) {
    Worker& w = *c.worker;
    if (c.state != ConnState::handling || w.stage != Worker::Stage::body_stream) return;  // cannot be
    w.body_cb = m.on_body;
    w.body_arg = m.arg;
    if (w.req.expect_continue && !w.continue_sent) {
        // The plugin accepted the body: the client may send it now.
        w.out.append(http1::kContinue);
        w.continue_sent = true;
        if (!flush(c, w)) return;  // pending: the body comes after it anyway; closed: done
    }
    pump_body(c, w);
}

template <class T>
void Http1<T>::pump_body(Conn& c, Worker& w) {
    const bool length = w.req.body_kind == http::BodyKind::length;
    while (w.body_cb) {
        if (w.reparse) {
            // The buffer moved: the head (which the answer still reads) is parsed again where it is.
            http::parse_head(w.in.data() + w.start, w.head_len, cfg_.max_header_size, w.req);
            w.raw = {w.in.data() + w.start, w.head_len};
            w.reparse = false;
        }
        char* body = w.in.data() + w.start + w.head_len;
        std::size_t len = w.end - w.start - w.head_len;
        std::size_t n;
        bool last;
        if (length) {
            n = len < w.body_left ? len : static_cast<std::size_t>(w.body_left);
            last = n == w.body_left;
        } else {
            const http::ChunkedDecoder::Result r = w.chunked.decode(body, len);
            w.end = w.start + w.head_len + len;
            if (r.kind == http::ChunkedDecoder::Result::error) {
                abort_body(c, w, r.status);
                return;
            }
            n = static_cast<std::size_t>(w.chunked.decoded());
            last = r.kind == http::ChunkedDecoder::Result::done;
        }
        if (n == 0 && !last) {
            if (c.peer_closed) {
                close(c);  // the client left before the body's end: the plugin is told
                return;
            }
            if (t_.may_read(c)) {
                if (!t_.pull(c, w)) {
                    close(c);
                    return;
                }
                continue;
            }
            if (!t_.watch(c)) {
                close(c);
                return;
            }
            // Waiting for the client: its read deadline (the state stays `handling`).
            loop_.arm(c, TimerKind::read, cfg_.read_timeout.count());
            return;
        }
        auto* const cb = std::exchange(w.body_cb, nullptr);
        Suspensions::get().body_piece(w.later, last);  // before the call: it may ask for the next piece
        cb(w.body_arg, body, n, last ? 1 : 0);
        // Those bytes are the plugin's now: what follows them moves down, into the room for the next piece.
        std::memmove(body, body + n, len - n);
        w.end -= n;
        if (length)
            w.body_left -= n;
        else
            w.chunked.take(n);
        loop_.disarm(c);
        if (last) {
            w.stage = Worker::Stage::head;
            w.start += w.head_len;  // what follows is the next request; the head stays until answered
            if (w.reply.later_timeout_ms > 0) loop_.arm_handler(c, w.reply.later_timeout_ms);
            return;
        }
    }
    // The plugin has its piece: io_uring's receive, paused while input piled up, goes on.
    t_.watch(c);
    if (w.reply.later_timeout_ms > 0) loop_.arm_handler(c, w.reply.later_timeout_ms);
}

template <class T>
void Http1<T>::abort_body(Conn& c, Worker& w, std::uint16_t status) {
    if (cfg_.log_all_errors) spdlog::info("a request body read by a plugin failed: answering {}", status);
    cancel_later(w);
    w.stage = Worker::Stage::head;
    w.body_cb = nullptr;
    enter(c, ConnState::reading, false);
    respond_error(c, w, status, true);
    w.start = w.end;  // the rest of the request is dropped
    finish(c, w, false);
}

template <class T>
void Http1<T>::stream_more(Conn& c, const LaterAnswer& m) {
    Stream* s = stream_of(c);
    if (!s) return;  // cannot be: what arrives is for an open stream
    const bool end = m.kind == LaterAnswer::Kind::end;
    s->ended = s->ended || end;
    // Bytes of a body that is not sent (HEAD) count as written at once.
    s->unaccounted += m.body.size();
    if (s->body && (end ? s->chunked : !m.body.empty())) {
        OutBuffer& out = bind_worker(c).out;
        if (end) {
            out.append(http::kLastChunk);
        } else if (s->chunked) {
            char line[http::kChunkLineMax];
            out.append({line, static_cast<std::size_t>(http::write_chunk_line(line, m.body.size()) - line)});
            out.append(m.body);
            out.append(http::kChunkEnd);
        } else {
            out.append(m.body);
        }
    }
    // Output already waiting for the client leaves with it, once the socket takes more.
    if (c.timer != TimerKind::write) stream_flush(c, *s);
}

template <class T>
void Http1<T>::stream_flush(Conn& c, Stream& s) {
    if (c.worker && !c.worker->out.empty()) {
        // By plain calls, not through the ring: the plugin may add output at any time.
        switch (t_.send(c, *c.worker, s.ended && c.close_after, false)) {
        case Sent::all:
            c.worker->out.reset();
            break;
        case Sent::pending:
        case Sent::busy:
            enter(c, ConnState::streaming);  // the write deadline, from now
            return;
        case Sent::failed:
            close(c);
            return;
        }
    }
    stream_written(s);  // may run the plugin's drain callback, which only posts
    if (s.ended) {
        finish_stream(c);
        return;
    }
    // Between writes a stream holds no worker, unless input waits in it.
    if (c.worker && !c.worker->has_input() && c.worker->held.empty()) release_worker(c);
    settle_stream(c, s);
}

template <class T>
void Http1<T>::finish_stream(Conn& c) {
    streams_.erase(&c);
    Worker& w = bind_worker(c);
    enter(c, ConnState::reading, false);
    take_held(w);
    on_input(c);
}

// Half-closes and reads until the client closes too (or a short deadline),
// so that a client still sending does not get a reset that destroys the
// response before it is read (RFC 9112 9.6).
template <class T>
void Http1<T>::linger(Conn& c) {
    enter(c, ConnState::lingering);
    if (!t_.watch(c)) {
        close(c);
        return;
    }
    discard(c);
}

template <class T>
void Http1<T>::discard(Conn& c) {
    if (!t_.discard(c) || c.peer_closed) close(c);  // EOF or an error: done
}

template <class T>
void Http1<T>::refuse(Conn& c, std::string_view answer) {
    t_.send_now(c, answer);
    linger(c);
}

// The PROXY protocol header a connection on a PROXY listener starts with:
// reads until it is complete, then puts the client's address in place of the
// socket's peer for everything after (the per-address limit, handlers, the
// access log). A malformed header, or a connection that ends before it is
// complete, is closed without an answer. Once it is complete the connection
// goes on to its requests; until then it waits (read timer).
template <class T>
void Http1<T>::on_proxy_input(Conn& c) {
    if (read_proxy_header(c, bind_worker(c))) on_input(c);
}

template <class T>
bool Http1<T>::read_proxy_header(Conn& c, Worker& w) {
    // Each read adds at least one byte or settles the connection; the header
    // is at most http::proxy::kMaxV2 bytes, which bounds the loop.
    for (std::size_t i = 0; i <= http::proxy::kMaxV2; ++i) {
        http::proxy::Result r = http::proxy::parse(w.in.data() + w.start, w.end - w.start);
        if (r.kind == http::proxy::Result::Kind::done) {
            w.start += r.consumed;
            if (r.has_addresses) {
                std::memcpy(c.ip, r.source.ip, sizeof c.ip);
                c.ip_len = r.source.ip_len;
                c.port = r.source.port;
            }
            // Requests from here on, under a deadline of their own.
            enter(c, ConnState::reading);
            if (cfg_.max_conns_per_ip && !loop_.ip_acquire(c)) {
                loop_.reject(c, Refusal::too_many_from_ip);
                return false;
            }
            return true;
        }
        if (r.kind == http::proxy::Result::Kind::invalid) {
            spdlog::debug("closing a connection on a PROXY listener: {}", r.reason);
            close(c);
            return false;
        }
        if (c.peer_closed || !t_.may_read(c)) break;
        if (!t_.pull(c, w)) {
            close(c);
            return false;
        }
    }
    if (c.peer_closed || !t_.watch(c)) {
        if (c.peer_closed) spdlog::debug("closing a connection on a PROXY listener: it ended within the header");
        close(c);
        return false;
    }
    enter(c, ConnState::proxy_header);
    return false;
}

}  // namespace brisk
