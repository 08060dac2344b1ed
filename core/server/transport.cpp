// brisk — the two transports' operations that are more than a line
// (server/transport.hpp).
#include "server/transport.hpp"

#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstring>

namespace brisk {
namespace {

// Reads of discarded input per wake-up while lingering.
constexpr int kMaxDiscardReads = 16;

}  // namespace

void log_io_error(const char* what, int err, bool log_all) noexcept {
    if (log_all || !net::is_disconnect(err)) spdlog::info("{}: {}", what, std::strerror(err));
}

// --- epoll

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

bool EpollTransport::close(Conn& c) noexcept {
    ::close(c.fd);
    return true;
}

// --- io_uring

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
