// brisk — the event loop on io_uring. The connections' protocol is the one
// epoll drives (http1_connection.hpp), over UringTransport; what changes is
// how bytes come and go:
//
// - each listener has one multishot accept;
// - each connection has one multishot receive into the ring's provided
//   buffers, copied into its worker at once, so an idle connection holds no
//   buffer; it pauses while the connection cannot use what it receives;
// - a batch of answers leaves as one send (a sendmsg when it borrows up to
//   16 KiB), and the connection waits in `writing` for its completion;
//   files and larger borrowed bodies are written by plain calls, with a
//   one-shot poll when the socket is full;
// - everything queued is submitted with the wait for completions: one
//   system call per loop pass, which waits for a batch when the loop is busy.
//
// A connection closed while operations are in flight is cancelled and its
// record (and worker, if a send still reads it) kept until the last of them
// completes.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "server/http1_connection_impl.hpp"
#include "server/loop.hpp"
#include "server/transport.hpp"

namespace brisk {
namespace {

constexpr unsigned kRingEntries = 1024;
// Input a connection holds while it cannot use it (its answers wait for the
// client to read, or a handler runs on the pool) before its receive pauses:
// then the socket's own buffer takes the rest and TCP slows the client down.
constexpr std::size_t kMaxHeldInput = 64 * 1024;
// Completions handled before what they queued is submitted mid-pass. A send
// holds its connection's worker until it completes: without this, a burst of
// thousands of requests in one pass would hold as many workers at once.
constexpr unsigned kSubmitEvery = 32;
// After a pass with kBusyPass completions or more, the next wait first
// holds out up to kBatchWaitUs for kBatch completions (where the kernel can):
// under load one wake-up per batch instead of one per request. A quiet loop
// wakes for the first completion, so a lone request waits for nothing.
constexpr unsigned kBusyPass = 8;
constexpr unsigned kBatch = 32;
constexpr unsigned kBatchWaitUs = 50;

}  // namespace

bool Loop::start_uring() {
    auto ring = std::make_unique<net::Ring>();
    std::string why;
    if (!ring->init(kRingEntries, why)) {
        spdlog::warn("loop {}: {}; this loop uses epoll", index_, why);
        return false;
    }
    ring_ = std::move(ring);
    needs_peer_ = cfg_.max_conns_per_ip || observe_ || trust_forwarded_ || !cfg_.plugins.empty();
    // The listeners and the wake-up descriptor move from epoll to the ring.
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        poller_.remove(listeners_[i].fd);
        arm_accept(i);
    }
    poller_.remove(wake_fd_);
    arm_wake();
    return true;
}

void Loop::run_uring() {
    std::optional<TlsSessions> tls;
    if (shared_.tls) tls.emplace(*shared_.tls, stats_);
    tls_sessions_ = tls ? &*tls : nullptr;
    Http1<UringTransport> http1(*this, UringTransport{*ring_, cfg_.log_all_errors, tls ? &*tls : nullptr});
    proto_ = &http1;
    unsigned last = 0;  // completions of the last pass
    // Draining ends once no connection is left and every accept has
    // reported its end: one still armed may complete with a connection
    // after the stop began, which is served like any other.
    auto accepting = [this] {
        for (const ListenFd& l : listeners_)
            if (l.armed) return true;
        return false;
    };
    while (!draining_ || open_ > 0 || close_deadline_ms_ || accepting()) {
        // Busy: hold out a little for a batch. Quiet: wake for the first completion.
        ring_->submit_and_wait(next_timeout_ms(), last >= kBusyPass ? kBatch : 1, kBatchWaitUs);
        update_clock();
        last = ring_->for_each_completion([this, &http1](const io_uring_cqe& cqe) { on_completion(http1, cqe); },
                                          kSubmitEvery);
        after_wait();
    }
    proto_ = nullptr;
    ring_->submit_and_wait(0, 1, 0);  // the last closes are still queued
    ring_.reset();                    // on this thread; what is still armed (accepts, the wake-up) goes with it
}

void Loop::on_completion(Http1<UringTransport>& h, const io_uring_cqe& cqe) {
    const std::uint64_t data = cqe.user_data;
    Conn* c = reinterpret_cast<Conn*>(data & ~uring_tag::kMask);
    switch (data & uring_tag::kMask) {
    case uring_tag::recv:
        on_received(h, *c, cqe);
        return;
    case uring_tag::send:
        on_sent(h, *c, cqe.res);
        return;
    case uring_tag::poll:
        on_writable(h, *c, cqe.res);
        return;
    case uring_tag::accept:
        on_accepted(static_cast<std::size_t>(data >> 3), cqe);
        return;
    case uring_tag::wake: {
        std::uint64_t v;
        [[maybe_unused]] ssize_t r = read(wake_fd_, &v, sizeof v);
        // Acted on after the batch: both may close connections that have completions in it.
        wake_pending_ = true;
        if (!(cqe.flags & IORING_CQE_F_MORE)) arm_wake();
        return;
    }
    default:
        return;  // a cancellation that found nothing left to cancel
    }
}

void Loop::on_accepted(std::size_t i, const io_uring_cqe& cqe) {
    ListenFd& l = listeners_[i];
    if (!(cqe.flags & IORING_CQE_F_MORE)) l.armed = false;
    if (cqe.res >= 0) {
        accepted(cqe.res, nullptr, l);
    } else if (int err = -cqe.res; err != ECANCELED && err != ECONNABORTED && err != EINTR && err != EAGAIN) {
        // Out of descriptors or memory (or worse): a pause, instead of a spin.
        errno = err;
        if (!l.paused) pause_accepts();
    }
    if (!l.armed && !l.paused) arm_accept(i);
}

void Loop::on_received(Http1<UringTransport>& h, Conn& c, const io_uring_cqe& cqe) {
    if (!(cqe.flags & IORING_CQE_F_MORE)) c.registered = false;
    const int res = cqe.res;
    if (res > 0) {
        const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
        // Input while lingering is dropped here: the transport's discard().
        const auto n = static_cast<std::size_t>(res);
        auto take = [&](const char* data, std::size_t len) {
            if (c.state == ConnState::handling && c.worker->stage == Worker::Stage::body_stream)
                c.worker->take_input(data, len, false);  // a piece of the body a plugin reads
            else if (c.state == ConnState::handling)
                c.worker->held.append(data, len);
            else if (c.state == ConnState::streaming && h.upgraded(c))
                h.bind_worker(c).take_input(data, len, false);  // the plugin's, at once
            else if (c.state == ConnState::streaming)
                h.bind_worker(c).held.append(data, len);  // read once the stream has ended
            else if (c.state != ConnState::closed && c.state != ConnState::lingering)
                h.bind_worker(c).take_input(data, len, observe_);
        };
        if (c.tls && c.state != ConnState::closed && c.state != ConnState::lingering) [[unlikely]] {
            // Ciphertext: what it decrypts to goes where plaintext would.
            TlsSessions& tls = *h.transport().tls();
            const bool ok = tls.input(c, ring_->buffer(id), n, take);
            ring_->recycle(id);
            if (!ok) {
                h.close(c);
                if (c.state == ConnState::closed) settle(h, c);
                return;
            }
            if (const tls::Session* s = tls.find(c); s && s->pending() && !c.polling)
                h.transport().arm_pollout(c);  // the rest of a handshake's flight
        } else {
            take(ring_->buffer(id), n);
            ring_->recycle(id);
        }
    } else if (res == 0) {
        c.peer_closed = true;
    }
    if (c.state == ConnState::closed) {
        settle(h, c);
        return;
    }
    if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
        log_io_error("read", -res, cfg_.log_all_errors);
        h.close(c);
        return;
    }
    h.on_event(c, kInput);
    if (c.state == ConnState::closed || c.peer_closed || h.taken(c)) return;
    if (input_full(c)) {
        if (c.registered)
            h.transport().cancel(uring_tag::of(c, uring_tag::recv));  // armed again once the input is used
    } else if (!c.registered) {
        h.transport().arm_recv(c);  // the kernel ended it (out of buffers, say)
    }
}

bool Loop::input_full(const Conn& c) noexcept {
    return c.worker &&
           (c.state == ConnState::writing || c.state == ConnState::handling || c.state == ConnState::streaming) &&
           c.worker->end - c.worker->start + c.worker->held.size() > kMaxHeldInput;
}

void Loop::on_sent(Http1<UringTransport>& h, Conn& c, int res) {
    h.transport().sent(c);
    if (c.state == ConnState::closed) {
        settle(h, c);
        return;
    }
    if (res <= 0) {
        log_io_error("send", res < 0 ? -res : EPIPE, cfg_.log_all_errors);
        h.close(c);
        return;
    }
    c.worker->out.consume(static_cast<std::uint64_t>(res));
    h.on_event(c, kOutput);
}

void Loop::on_writable(Http1<UringTransport>& h, Conn& c, int res) {
    c.polling = false;
    if (c.state == ConnState::closed) {
        settle(h, c);
        return;
    }
    if (res < 0) return;
    if (c.tls && !tls_writable(h.transport().tls(), c)) [[unlikely]]
        res |= POLLERR;
    h.on_event(c, kOutput | ((res & POLLERR) ? kFailed : 0u));
}

void Loop::arm_accept(std::size_t i) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_multishot_accept(sqe, listeners_[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, uring_tag::accept_of(i));
    listeners_[i].armed = true;
}

void Loop::arm_wake() {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_poll_multishot(sqe, wake_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, uring_tag::wake);
}

void Loop::settle(Http1<UringTransport>& h, Conn& c) {
    if (UringTransport::in_flight(c)) return;
    if (c.worker) h.release_worker(c);
    h.release_record(c);
}

}  // namespace brisk
