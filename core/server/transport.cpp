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
    if (c.tls) tls_->close(c);
    ::close(c.fd);
    return true;
}

bool EpollTransport::pull_tls(Conn& c, Worker& w) {
    char cipher[kTlsRead];
    const ssize_t n = net::sys_read(c.fd, cipher, sizeof cipher);
    std::size_t got = 0;
    if (n > 0) {
        got = static_cast<std::size_t>(n);
        if (got < sizeof cipher && !c.peer_fin) c.readable = false;
    } else if (n == 0) {
        c.peer_closed = true;
        c.readable = false;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c.readable = false;
    } else if (errno != EINTR) {
        log_io_error("read", errno, log_all_);
        return false;
    }
    // Also without new bytes: what the session holds may give plaintext now.
    return tls_->input(c, cipher, got, [&](const char* p, std::size_t k) { w.take_input(p, k, timed_); });
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
    if (c.tls) tls_->close(c);
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

// --- TLS

bool TlsSessions::open(const Conn& c) {
    SSL* ssl = ctx_.accept_state();
    if (!ssl) return false;
    return sessions_.try_emplace(&c, ssl).second;
}

Sent TlsSessions::send(Conn& c, Worker& w, bool log_all) {
    tls::Session* session = find(c);
    if (!session) return Sent::failed;
    tls::Session& s = *session;
    OutBuffer& out = w.out;
    char file_bytes[kTlsRecord];
    for (;;) {
        // Records gather until the next would not fit the batch, or all is
        // encrypted; then they leave in one send. When the socket is full,
        // the rest waits for it, encrypted, a batch at most.
        out.skip_empty();
        const bool finished = out.finished();
        if (finished || s.unsent() + kTlsRecord + kRecordOverhead > tls::kCipherBuffer) {
            if (const int err = s.flush(c.fd, 0); err != 0) {
                if (err == EAGAIN || err == EWOULDBLOCK) return Sent::pending;
                log_io_error("send", err, log_all);
                return Sent::failed;
            }
            if (finished) return Sent::all;
        }
        std::size_t n;
        if (out.at_file()) {
            Segment& f = out.segments()[out.head];
            const std::uint64_t rest = f.len - out.head_done;
            const ssize_t r = ::pread(f.fd, file_bytes, rest < sizeof file_bytes ? rest : sizeof file_bytes,
                                      static_cast<off_t>(f.pos + out.head_done));
            if (r <= 0) {
                // A file that shrank under us cannot give the promised length.
                log_io_error("read", r < 0 ? errno : EIO, log_all);
                return Sent::failed;
            }
            n = static_cast<std::size_t>(r);
            if (!s.write(file_bytes, n)) return Sent::failed;
        } else {
            iovec run{};
            if (out.gather(&run, 1) == 0) return Sent::failed;  // cannot be: not finished, not a file
            n = run.iov_len < kTlsRecord ? run.iov_len : kTlsRecord;
            if (!s.write(run.iov_base, n)) return Sent::failed;
        }
        out.consume(n);
    }
}

bool tls_writable(TlsSessions* tls, Conn& c) noexcept {
    tls::Session* s = c.tls && tls ? tls->find(c) : nullptr;
    if (!s || !s->pending()) return true;
    const int err = s->flush(c.fd, 0);
    return err == 0 || err == EAGAIN || err == EWOULDBLOCK;
}

void send_now_on(TlsSessions* tls, Conn& c, std::string_view bytes) noexcept {
    if (c.tls)
        tls->send_now(c, bytes);
    else
        send_at_once(c.fd, bytes);
}

void shutdown_write_on(TlsSessions* tls, Conn& c) noexcept {
    if (c.tls) tls->close_notify(c);
    ::shutdown(c.fd, SHUT_WR);
}

// A connection refused at accept has no session (it never started): nothing is sent.
void TlsSessions::send_now(Conn& c, std::string_view bytes) noexcept {
    tls::Session* s = find(c);
    if (!s || !s->handshake_done()) return;  // nothing the client could read
    if (s->write(bytes.data(), bytes.size())) s->flush(c.fd, MSG_DONTWAIT);
}

void TlsSessions::close_notify(Conn& c) noexcept {
    tls::Session* s = find(c);
    if (!s) return;
    s->close_notify();
    s->flush(c.fd, MSG_DONTWAIT);
}

}  // namespace brisk
