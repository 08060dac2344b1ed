// brisk — the two transports' operations that are more than a line
// (server/transport.hpp).
#include "server/transport.hpp"

#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>

namespace brisk {
namespace {

// Borrowed memory sent through io_uring in one sendmsg, at most; more goes by plain sendmsg.
constexpr std::uint64_t kMaxRingSendmsg = 16 * 1024;
// Reads of discarded input per wake-up while lingering.
constexpr int kMaxDiscardReads = 16;

int send_flags(bool last) noexcept {
    // The last answer before a close: hold the bytes back (MSG_MORE) so that
    // close() sends them with the FIN in one segment, a packet fewer per
    // connection. close() or shutdown() follows at once, which releases them.
    return MSG_NOSIGNAL | (last ? MSG_MORE : 0);
}

}  // namespace

void log_io_error(const char* what, int err, bool log_all) noexcept {
    if (log_all || !net::is_disconnect(err)) spdlog::info("{}: {}", what, std::strerror(err));
}

// --- epoll

bool EpollTransport::pull(Conn& c, Worker& w) {
    char* at = w.input_space(w.read_want(), timed_);
    const std::size_t space = w.in.capacity() - w.end;
    const ssize_t n = net::sys_read(c.fd, at, space);
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
    log_io_error("read", errno, log_all_);
    return false;
}

bool EpollTransport::discard(Conn& c) {
    char sink[16384];
    for (int i = 0; i < kMaxDiscardReads; ++i) {
        const ssize_t n = net::sys_read(c.fd, sink, sizeof sink);
        if (n > 0) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c.readable = false;
            return true;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) c.peer_closed = true;
        return false;  // EOF or error: done
    }
    return true;
}

Sent EpollTransport::send(Conn& c, Worker& w, bool last, bool) {
    int err = write_out(c.fd, w.out, send_flags(last), [](const OutBuffer&) { return false; });
    if (err == 0) return Sent::all;
    if (err == EAGAIN || err == EWOULDBLOCK) {
        if (watch(c)) return Sent::pending;  // edge-triggered for output since it was added
        err = errno;
    }
    log_io_error("send", err, log_all_);
    return Sent::failed;
}

void EpollTransport::send_now(Conn& c, std::string_view bytes) noexcept {
    [[maybe_unused]] ssize_t n =
        net::sys_send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
}

bool EpollTransport::close(Conn& c) noexcept {
    ::close(c.fd);
    return true;
}

// --- io_uring

Sent UringTransport::send(Conn& c, Worker& w, bool last, bool stable) {
    if (c.sending) return Sent::busy;  // the output before is still in flight
    const int flags = send_flags(last);
    // A run of memory leaves as one send, submitted with the loop's next
    // wait; the worker stays bound until it completes. Files leave by
    // sendfile, and so do large borrowed bodies by plain sendmsg: a socket
    // takes them in parts, and each part through the ring would wait for a
    // loop pass (measured: 64 KiB files cost 30 % more CPU). While output may
    // be appended (a handler runs on the pool), and in a burst of requests
    // where every send in flight holds a worker, memory leaves by plain calls too.
    int err = write_out(c.fd, w.out, flags, [&](OutBuffer& out) {
        return stable && !out.at_file() && sends_in_flight_ < kMaxSendsInFlight &&
               (!out.has_segments() || out.run_bytes() <= kMaxRingSendmsg);
    });
    if (err == kDeferred) {
        send_async(c, w, flags);
        return Sent::pending;
    }
    if (err == 0) return Sent::all;
    if (err == EAGAIN || err == EWOULDBLOCK) {
        if (!c.polling) arm_pollout(c);
        return Sent::pending;
    }
    log_io_error("send", err, log_all_);
    return Sent::failed;
}

void UringTransport::send_async(Conn& c, Worker& w, int flags) {
    OutBuffer& out = w.out;
    io_uring_sqe* sqe = ring_.sqe();
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
    io_uring_sqe_set_data64(sqe, uring_tag::of(c, uring_tag::send));
    c.sending = true;
    ++sends_in_flight_;
}

void UringTransport::send_now(Conn& c, std::string_view bytes) noexcept {
    [[maybe_unused]] ssize_t n =
        net::sys_send(c.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
}

void UringTransport::arm_recv(Conn& c) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_recv_multishot(sqe, c.fd, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = net::Ring::kBufGroup;
    io_uring_sqe_set_data64(sqe, uring_tag::of(c, uring_tag::recv));
    c.registered = true;
}

void UringTransport::arm_pollout(Conn& c) {
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_poll_add(sqe, c.fd, POLLOUT);
    io_uring_sqe_set_data64(sqe, uring_tag::of(c, uring_tag::poll));
    c.polling = true;
}

void uring_cancel(net::Ring& ring, std::uint64_t user_data) {
    io_uring_sqe* sqe = ring.sqe();
    io_uring_prep_cancel64(sqe, user_data, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, uring_tag::ignore);
}

bool UringTransport::close(Conn& c) {
    const bool idle = !in_flight(c);
    if (c.registered) cancel(uring_tag::of(c, uring_tag::recv));
    if (c.sending) cancel(uring_tag::of(c, uring_tag::send));
    if (c.polling) cancel(uring_tag::of(c, uring_tag::poll));
    // Submitted after the cancellations, with the loop's next wait: the
    // socket goes once they have dropped their references to it.
    io_uring_sqe* sqe = ring_.sqe();
    io_uring_prep_close(sqe, c.fd);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, uring_tag::ignore);
    return idle;
}

}  // namespace brisk
