// brisk — the event loop on io_uring. The connection logic is the one epoll
// drives (connection.cpp); what changes is how bytes come and go:
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

#include "net/sys.hpp"
#include "server/loop.hpp"

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

// Whether the kernel still has an operation of this connection: a receive, a send or a poll.
bool in_flight(const Conn& c) noexcept { return c.registered || c.sending || c.polling; }

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
        last = ring_->for_each_completion([this](const io_uring_cqe& cqe) { on_completion(cqe); }, kSubmitEvery);
        after_wait();
    }
    ring_->submit_and_wait(0, 1, 0);  // the last closes are still queued
    ring_.reset();                    // on this thread; what is still armed (accepts, the wake-up) goes with it
}

void Loop::on_completion(const io_uring_cqe& cqe) {
    const std::uint64_t data = cqe.user_data;
    Conn* c = reinterpret_cast<Conn*>(data & ~kOpMask);
    switch (data & kOpMask) {
    case op_recv:
        on_received(*c, cqe);
        return;
    case op_send:
        on_sent(*c, cqe.res);
        return;
    case op_poll:
        on_writable(*c, cqe.res);
        return;
    case op_accept:
        on_accepted(static_cast<std::size_t>(data >> 3), cqe);
        return;
    case op_wake: {
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
        accepted(cqe.res, nullptr, l.proxy);
    } else if (int err = -cqe.res; err != ECANCELED && err != ECONNABORTED && err != EINTR && err != EAGAIN) {
        // Out of descriptors or memory (or worse): a pause, instead of a spin.
        errno = err;
        if (!l.paused) pause_accepts();
    }
    if (!l.armed && !l.paused) arm_accept(i);
}

void Loop::on_received(Conn& c, const io_uring_cqe& cqe) {
    if (!(cqe.flags & IORING_CQE_F_MORE)) c.registered = false;
    const int res = cqe.res;
    if (res > 0) {
        const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
        if (c.state != ConnState::closed && c.state != ConnState::lingering) {
            Worker& w = bind_worker(c);
            const auto n = static_cast<std::size_t>(res);
            std::memcpy(input_space(w, n), ring_->buffer(id), n);
            w.end += n;
        }
        ring_->recycle(id);
    } else if (res == 0) {
        c.peer_closed = c.peer_fin = true;
    }
    if (c.state == ConnState::closed) {
        settle(c);
        return;
    }
    if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
        if (cfg_.log_all_errors || !net::is_disconnect(-res)) spdlog::info("read: {}", std::strerror(-res));
        close_conn(c);
        return;
    }
    if (!c.blocked) {
        switch (c.state) {
        case ConnState::idle:
        case ConnState::reading:
            on_input(c);
            break;
        case ConnState::proxy_header:
            on_proxy_input(c);
            break;
        case ConnState::lingering:
            if (c.peer_closed) close_conn(c);
            break;
        case ConnState::writing:  // the input waits until the answers before it have left
        case ConnState::closed:
            break;
        }
    }
    if (c.state == ConnState::closed || c.peer_closed) return;
    if (input_full(c)) {
        if (c.registered) cancel(conn_tag(c, op_recv));  // armed again once the input is used
    } else if (!c.registered) {
        arm_recv(c);  // the kernel ended it (out of buffers, say)
    }
}

bool Loop::input_full(const Conn& c) const noexcept {
    return c.worker && (c.state == ConnState::writing || c.blocked) && c.worker->end - c.worker->start > kMaxHeldInput;
}

void Loop::on_sent(Conn& c, int res) {
    c.sending = false;
    --sends_in_flight_;
    if (c.state == ConnState::closed) {
        settle(c);
        return;
    }
    if (res <= 0) {
        const int err = res < 0 ? -res : EPIPE;
        if (cfg_.log_all_errors || !net::is_disconnect(err)) spdlog::info("send: {}", std::strerror(err));
        close_conn(c);
        return;
    }
    Worker& w = *c.worker;
    w.out.consume(static_cast<std::uint64_t>(res));
    if (w.out.finished() && !w.has_input()) {
        // The common case: all of it left and nothing came meanwhile.
        w.out.reset();
        finish(c, w, false);
        return;
    }
    // The rest of a partial send goes out next; a complete one moves on to
    // what was received meanwhile.
    if (flush(c, w)) on_input(c);
}

void Loop::on_writable(Conn& c, int res) {
    c.polling = false;
    if (c.state == ConnState::closed) {
        settle(c);
        return;
    }
    if (res < 0) return;
    on_event(c, EPOLLOUT | ((res & POLLERR) ? EPOLLERR : 0u));
}

void Loop::arm_accept(std::size_t i) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_multishot_accept(sqe, listeners_[i].fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, accept_tag(i));
    listeners_[i].armed = true;
}

void Loop::arm_recv(Conn& c) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = net::Ring::kBufGroup;
    io_uring_sqe_set_data64(sqe, conn_tag(c, op_recv));
    c.registered = true;
}

void Loop::arm_pollout(Conn& c) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_poll_add(sqe, c.fd, POLLOUT);
    io_uring_sqe_set_data64(sqe, conn_tag(c, op_poll));
    c.polling = true;
}

void Loop::arm_wake() {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_poll_multishot(sqe, wake_fd_, POLLIN);
    io_uring_sqe_set_data64(sqe, op_wake);
}

void Loop::send_async(Conn& c, Worker& w, int flags) {
    OutBuffer& out = w.out;
    io_uring_sqe* sqe = ring_->sqe();
    if (!out.has_segments()) {
        io_uring_prep_send(sqe, c.fd, out.buf.data() + out.sent, out.len - out.sent, flags);
    } else {
        // Borrowed memory (a cached file's bytes, a mapping, a plugin's
        // buffer) after the head: one sendmsg, its vector kept in the worker.
        w.msg = msghdr{};
        w.msg.msg_iov = w.iov.data();
        w.msg.msg_iovlen = out.gather(w.iov.data(), w.iov.size());
        io_uring_prep_sendmsg(sqe, c.fd, &w.msg, static_cast<unsigned>(flags));
    }
    io_uring_sqe_set_data64(sqe, conn_tag(c, op_send));
    c.sending = true;
    ++sends_in_flight_;
    c.state = ConnState::writing;
    arm(c, TimerKind::write, cfg_.write_timeout.count());
}

void Loop::cancel(std::uint64_t user_data) {
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_cancel64(sqe, user_data, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, op_ignore);
}

bool Loop::close_async(Conn& c) {
    const bool idle = !in_flight(c);
    if (c.registered) cancel(conn_tag(c, op_recv));
    if (c.sending) cancel(conn_tag(c, op_send));
    if (c.polling) cancel(conn_tag(c, op_poll));
    // Submitted after the cancellations, with the loop's next wait: the
    // socket goes once they have dropped their references to it.
    io_uring_sqe* sqe = ring_->sqe();
    io_uring_prep_close(sqe, c.fd);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, op_ignore);
    return idle;
}

void Loop::settle(Conn& c) {
    if (in_flight(c)) return;
    if (c.worker) release_worker(c);
    --open_;
    conns_.release(&c);
}

}  // namespace brisk
