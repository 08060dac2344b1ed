// brisk — the transport: how a connection's bytes come and go, below the
// protocol (server/http1_connection.hpp), which never mentions epoll or
// io_uring. One implementation per backend; a loop picks one when it starts
// and the protocol is compiled for it (Http1<EpollTransport>,
// Http1<UringTransport>), so no operation is a virtual call. A TLS transport
// would wrap one of these with the same operations; unit tests use a fake.
//
// The operations a transport T offers its protocol, all on the loop's thread:
//
//   void opened(Conn&)               a connection was just accepted
//   bool watch(Conn&)                read-start: input is announced from now on
//                                    (idempotent); false if it cannot be
//   bool may_read(const Conn&)       pull() may bring more input now
//   bool pull(Conn&, Worker&)        reads what is there into the worker's
//                                    input (at most one read); sets
//                                    Conn::peer_closed at EOF; false if the
//                                    connection failed (the caller closes it)
//   bool discard(Conn&)              drops what the client sent (lingering);
//                                    false at EOF or on an error
//   Sent send(Conn&, Worker&, bool last, bool stable)
//                                    writes the worker's output: memory,
//                                    references and files, in order. `last`:
//                                    a close follows (the bytes may wait to
//                                    leave with the FIN). `stable`: nothing is
//                                    appended to the output until this send is
//                                    over (it may then complete later)
//   bool output_in_flight(const Conn&)  the kernel still reads the worker's output
//   bool peer_gone(const Conn&)      the client ended its side (while its
//                                    request is suspended, that ends it)
//   void send_now(Conn&, string_view)   best effort, never waits (refusals)
//   void shutdown_write(Conn&)       half-closes: no more output
//   bool release(Conn&)              stops watching the socket, which a plugin
//                                    takes (hijack): true once the kernel holds
//                                    no operation on it (io_uring: else the
//                                    protocol asks again as they complete)
//   bool close(Conn&)                closes the socket; false while the kernel
//                                    still has operations on it (the backend
//                                    frees the record after the last one)
//
// Events go the other way: each backend turns what its kernel interface
// reports into Http1::on_event(conn, kInput | kOutput | kFailed) (loop.cpp
// for epoll, loop_uring.cpp for io_uring).
#pragma once

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "net/poller.hpp"
#include "net/sys.hpp"
#include "net/tls.hpp"
#include "net/uring.hpp"
#include "server/connection.hpp"
#include "server/shared.hpp"
#include "server/worker.hpp"

namespace brisk {

/** Event bits a backend hands to the protocol's dispatcher. */
inline constexpr unsigned kInput = 1;   // input arrived, or may be waiting
inline constexpr unsigned kOutput = 2;  // the socket takes more output, or a send completed
inline constexpr unsigned kFailed = 4;  // the socket failed

/** What a transport's send() did. */
enum class Sent : std::uint8_t {
    all,      // everything queued has left
    pending,  // the rest leaves later: the protocol waits for kOutput
    busy,     // a send is in flight already; nothing was done
    failed,   // the connection is broken (logged); the caller closes it
};

/** write_out()'s answer when `defer` took the next run of memory. */
inline constexpr int kDeferred = -1;

/**
 * Writes `out` by plain system calls, in order: runs of memory by send or
 * sendmsg, files by sendfile. Stops when all is sent (0), when the socket is
 * full or fails (its errno), or before a run of memory `defer(out)` claims
 * (kDeferred): io_uring sends those through the ring.
 */
template <class Defer>
[[gnu::always_inline]] inline int write_out(int fd, OutBuffer& out, int flags, Defer&& defer) noexcept {
    for (out.skip_empty(); !out.finished(); out.skip_empty()) {
        if (defer(out)) return kDeferred;
        ssize_t n;
        if (out.at_file()) {
            Segment& s = out.segments()[out.head];
            off_t off = static_cast<off_t>(s.pos + out.head_done);
            n = ::sendfile(fd, s.fd, &off, static_cast<std::size_t>(s.len - out.head_done));
        } else if (!out.has_segments()) {
            // The common case: the batch is one run of bytes.
            n = net::sys_send(fd, out.buf.data() + out.sent, out.len - out.sent, flags);
        } else {
            iovec iov[kMaxIov];
            msghdr msg{};
            msg.msg_iov = iov;
            msg.msg_iovlen = out.gather(iov, kMaxIov);
            n = ::sendmsg(fd, &msg, flags);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        // A file that shrank under us cannot give the promised length.
        if (n == 0) return out.at_file() ? EIO : EPIPE;
        out.consume(static_cast<std::uint64_t>(n));
    }
    return 0;
}

/** Writes what the socket takes now and never waits (a refusal's whole answer, before a linger). */
inline void send_at_once(int fd, std::string_view bytes) noexcept {
    [[maybe_unused]] ssize_t n = net::sys_send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT | MSG_MORE);
}

/** Logs a failed read or send, unless it is a disconnect and only errors of brisk's own are logged. */
void log_io_error(const char* what, int err, bool log_all) noexcept;

class TlsSessions;
/** A TLS connection's socket takes more: what its session holds leaves; false if that failed. */
bool tls_writable(TlsSessions* tls, Conn& c) noexcept;
/** Both transports' send_now(): through the TLS session for a TLS connection, else by a plain send. */
void send_now_on(TlsSessions* tls, Conn& c, std::string_view bytes) noexcept;
/** Both transports' shutdown_write(): close_notify first for a TLS connection. */
void shutdown_write_on(TlsSessions* tls, Conn& c) noexcept;

/**
 * The TLS sessions of one loop's connections from ",tls" listeners
 * (Conn::tls). Both transports route those connections' bytes through their
 * session: ciphertext from the socket is fed to OpenSSL and the plaintext
 * goes to the worker; the worker's output (memory and files) is encrypted a
 * record at a time into the session's ciphertext buffer and written by plain
 * sends, a batch of records (tls::kCipherBuffer) per send at most.
 */
class TlsSessions {
public:
    /** `stats`: the loop's counters (handshakes, failures), or null without a metrics route. */
    TlsSessions(const tls::Context& ctx, LoopStats* stats) noexcept : ctx_(ctx), stats_(stats) {}
    /** A session for a new connection; false when out of memory. */
    bool open(const Conn& c);
    /** The connection's session, or null (closed, refused at accept, or never made: out of memory). */
    tls::Session* find(const Conn& c) noexcept {
        auto it = sessions_.find(&c);
        return it == sessions_.end() ? nullptr : &it->second;
    }
    void close(const Conn& c) noexcept { sessions_.erase(&c); }

    /**
     * Ciphertext from the socket: decrypted, each run of plaintext handed to
     * `sink(data, len)`. Plain HTTP instead of a handshake is answered with
     * the 400 of tls::plain_http_answer(). False when the connection is to
     * close (a protocol error: the alert is sent; plain HTTP); a close_notify
     * sets Conn::peer_closed.
     */
    template <class Sink>
    bool input(Conn& c, const char* data, std::size_t len, Sink&& sink);
    /** Writes the ciphertext waiting: 0, EAGAIN (the rest waits) or the errno of a failure. */
    int flush(Conn& c) noexcept {
        tls::Session* s = find(c);
        return s ? s->flush(c.fd, 0) : 0;
    }
    /** Encrypts and writes the worker's output, a batch of records (tls::kCipherBuffer) per send. */
    Sent send(Conn& c, Worker& w, bool log_all);
    /** Best effort (refusals): only once the handshake is done. */
    void send_now(Conn& c, std::string_view bytes) noexcept;
    /** Sends close_notify (best effort). */
    void close_notify(Conn& c) noexcept;

private:
    void failed(tls::Failure why) noexcept {
        if (stats_) bump(stats_->tls_failed[static_cast<std::size_t>(why)]);
    }

    const tls::Context& ctx_;
    LoopStats* stats_;
    std::unordered_map<const Conn*, tls::Session> sessions_;
};

/** Readiness (epoll, edge-triggered): the protocol's reads and writes are plain system calls. */
class EpollTransport {
public:
    EpollTransport(net::Poller& poller, bool log_all_errors, bool timed, TlsSessions* tls) noexcept
        : poller_(poller), log_all_(log_all_errors), timed_(timed), tls_(tls) {}

    /** Most clients send their request right behind the handshake: read at once, poll only if it must wait. */
    void opened(Conn& c) {
        c.readable = true;
        if (c.tls && !tls_->open(c)) c.peer_closed = true;
    }
    bool watch(Conn& c) noexcept {
        if (c.registered) return true;
        // In and out at once: no epoll_ctl per state change.
        if (!poller_.add(c.fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, reinterpret_cast<std::uint64_t>(&c)))
            return false;
        c.registered = true;
        return true;
    }
    bool may_read(const Conn& c) const {
        if (c.readable || !c.tls) return c.readable;
        const tls::Session* s = tls_->find(c);
        return s && s->buffered();
    }
    bool pull(Conn& c, Worker& w);
    bool discard(Conn& c);
    Sent send(Conn& c, Worker& w, bool last, bool stable);
    bool output_in_flight(const Conn&) const noexcept { return false; }
    bool peer_gone(const Conn& c) const noexcept { return c.peer_fin || c.peer_closed; }
    void send_now(Conn& c, std::string_view bytes) noexcept { send_now_on(tls_, c, bytes); }
    void shutdown_write(Conn& c) noexcept { shutdown_write_on(tls_, c); }
    /** The socket takes more: TLS ciphertext waiting (a handshake's flight) leaves first; false if that failed. */
    bool writable(Conn& c) noexcept { return tls_writable(tls_, c); }
    bool release(Conn& c) noexcept {
        // Explicitly: the plugin's descriptor would keep the registration alive past brisk's close.
        if (c.registered) poller_.remove(c.fd);
        c.registered = c.readable = false;
        return true;
    }
    bool close(Conn& c) noexcept;  // also leaves the poller

    /** What a poller event means for the protocol (kInput, kOutput, kFailed). */
    static unsigned events(Conn& c, std::uint32_t ev) noexcept {
        if (ev & EPOLLERR) return kFailed;
        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) c.readable = true;
        if (ev & (EPOLLRDHUP | EPOLLHUP)) c.peer_fin = true;
        return (c.readable ? kInput : 0u) | ((ev & (EPOLLOUT | EPOLLHUP)) ? kOutput : 0u);
    }

private:
    bool pull_tls(Conn& c, Worker& w);

    net::Poller& poller_;
    bool log_all_;
    bool timed_;
    TlsSessions* tls_;  // null without TLS listeners
};

/** A completion's user data under io_uring: a Conn (8-aligned) with the operation in the low bits, or a loop's tag. */
namespace uring_tag {
enum Op : std::uint64_t { recv = 0, send = 1, poll = 2, accept = 3, wake = 4, ignore = 7 };
inline constexpr std::uint64_t kMask = 7;
inline std::uint64_t of(const Conn& c, Op op) noexcept { return reinterpret_cast<std::uintptr_t>(&c) | op; }
inline constexpr std::uint64_t accept_of(std::size_t listener) noexcept { return listener << 3 | accept; }
}  // namespace uring_tag

/** Queues the cancellation of the operation with `user_data`; only a failure completes. */
void uring_cancel(net::Ring& ring, std::uint64_t user_data);

/**
 * Completions (io_uring): one multishot receive per connection into the
 * ring's provided buffers, copied into the worker as they complete (the
 * loop's completion handler, loop_uring.cpp); a batch of answers leaves as
 * one send through the ring, files and large borrowed bodies by plain calls
 * with a one-shot poll when the socket is full.
 */
class UringTransport {
public:
    UringTransport(net::Ring& ring, bool log_all_errors, TlsSessions* tls) noexcept
        : ring_(ring), log_all_(log_all_errors), tls_(tls) {}

    /** Input comes as completions of the receive watch() arms (a TLS connection's through its session). */
    void opened(Conn& c) {
        if (c.tls && !tls_->open(c)) c.peer_closed = true;
    }
    bool watch(Conn& c) {
        if (!c.registered) arm_recv(c);
        return true;
    }
    bool may_read(const Conn&) const noexcept { return false; }
    bool pull(Conn&, Worker&) noexcept { return true; }
    /** The receive's completions drop what comes while lingering; the connection waits for EOF. */
    bool discard(Conn& c) const noexcept { return !c.peer_closed; }
    Sent send(Conn& c, Worker& w, bool last, bool stable);
    bool output_in_flight(const Conn& c) const noexcept { return c.sending; }
    bool peer_gone(const Conn& c) const noexcept { return c.peer_closed; }
    void send_now(Conn& c, std::string_view bytes) noexcept { send_now_on(tls_, c, bytes); }
    void shutdown_write(Conn& c) noexcept { shutdown_write_on(tls_, c); }
    TlsSessions* tls() noexcept { return tls_; }
    bool release(Conn& c) {
        if (c.registered) cancel(uring_tag::of(c, uring_tag::recv));
        if (c.polling) cancel(uring_tag::of(c, uring_tag::poll));
        return !in_flight(c);
    }
    /** Cancels what is in flight and queues the close. */
    bool close(Conn& c);

    void arm_recv(Conn& c);
    void arm_pollout(Conn& c);
    void cancel(std::uint64_t user_data) { uring_cancel(ring_, user_data); }
    /** A send completed (or failed): the count of sends in flight. */
    void sent(Conn& c) noexcept {
        c.sending = false;
        --sends_in_flight_;
    }
    /** Whether the kernel still has an operation of this connection: a receive, a send or a poll. */
    static bool in_flight(const Conn& c) noexcept { return c.registered || c.sending || c.polling; }

private:
    /** Queues the worker's unsent output as one send. */
    void send_async(Conn& c, Worker& w, int flags);

    net::Ring& ring_;
    bool log_all_;
    TlsSessions* tls_;  // null without TLS listeners
    // Sends in flight, each holding a worker; past the cap a batch leaves by a plain send.
    std::uint32_t sends_in_flight_ = 0;
    static constexpr std::uint32_t kMaxSendsInFlight = 64;
};

// Ciphertext read from the socket at once, and plaintext encrypted per record (TLS's largest).
inline constexpr std::size_t kTlsRead = 16 * 1024 + 512;
inline constexpr std::size_t kTlsRecord = 16 * 1024;
// A record's header, nonce, tag and padding: more than any suite adds.
inline constexpr std::size_t kRecordOverhead = 256;

template <class Sink>
bool TlsSessions::input(Conn& c, const char* data, std::size_t len, Sink&& sink) {
    tls::Session* session = find(c);
    if (!session) return false;
    tls::Session& s = *session;
    if (s.fresh() && len > 0) {
        s.mark_started();
        if (tls::looks_like_http(data, len)) {
            // Plain HTTP on an HTTPS port: a readable answer instead of a hang (like nginx).
            send_at_once(c.fd, tls::plain_http_answer());
            failed(tls::Failure::not_tls);
            return false;
        }
    }
    s.feed(data, len);
    char plain[kTlsRecord];
    for (;;) {
        std::size_t n = 0;
        const tls::Read r = s.read(plain, sizeof plain, n);
        if (r == tls::Read::data) {
            sink(plain, n);
            continue;
        }
        s.keep_rest();  // `data` is the caller's: a partial record left in it is copied
        // Handshake messages, tickets and alerts go out as they come.
        const int err = s.flush(c.fd, 0);
        if (stats_ && s.first_done()) {
            bump(stats_->tls_handshakes);
            if (s.resumed()) bump(stats_->tls_resumed);
        }
        if (r == tls::Read::failed) {
            if (!s.handshake_done()) failed(s.failure());
            return false;
        }
        if (r == tls::Read::closed) c.peer_closed = true;
        return err == 0 || err == EAGAIN || err == EWOULDBLOCK;
    }
}

// --- the operations on the hot path, inline where the protocol is compiled

namespace transport_detail {
// Borrowed memory sent through io_uring in one sendmsg, at most; more goes by plain sendmsg.
inline constexpr std::uint64_t kMaxRingSendmsg = 16 * 1024;

inline int send_flags(bool last) noexcept {
    // The last answer before a close: hold the bytes back (MSG_MORE) so that
    // close() sends them with the FIN in one segment, a packet fewer per
    // connection. close() or shutdown() follows at once, which releases them.
    return MSG_NOSIGNAL | (last ? MSG_MORE : 0);
}
}  // namespace transport_detail

inline bool EpollTransport::pull(Conn& c, Worker& w) {
    if (c.tls) [[unlikely]]
        return pull_tls(c, w);
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

[[gnu::always_inline]] inline Sent EpollTransport::send(Conn& c, Worker& w, bool last, bool) {
    if (c.tls) [[unlikely]] {
        const Sent s = tls_->send(c, w, log_all_);
        return s == Sent::pending && !watch(c) ? Sent::failed : s;
    }
    int err = write_out(c.fd, w.out, transport_detail::send_flags(last), [](const OutBuffer&) { return false; });
    if (err == 0) return Sent::all;
    if (err == EAGAIN || err == EWOULDBLOCK) {
        if (watch(c)) return Sent::pending;  // edge-triggered for output since it was added
        err = errno;
    }
    log_io_error("send", err, log_all_);
    return Sent::failed;
}

[[gnu::always_inline]] inline Sent UringTransport::send(Conn& c, Worker& w, bool last, bool stable) {
    if (c.sending) return Sent::busy;  // the output before is still in flight
    if (c.tls) [[unlikely]] {
        // Ciphertext leaves by plain sends, with a poll when the socket is full.
        const Sent s = tls_->send(c, w, log_all_);
        if (s == Sent::pending && !c.polling) arm_pollout(c);
        return s;
    }
    const int flags = transport_detail::send_flags(last);
    // A run of memory leaves as one send, submitted with the loop's next
    // wait; the worker stays bound until it completes. Files leave by
    // sendfile, and so do large borrowed bodies by plain sendmsg: a socket
    // takes them in parts, and each part through the ring would wait for a
    // loop pass (measured: 64 KiB files cost 30 % more CPU). While output may
    // be appended (a handler runs on the pool), and in a burst of requests
    // where every send in flight holds a worker, memory leaves by plain calls too.
    int err = write_out(c.fd, w.out, flags, [&](OutBuffer& out) {
        return stable && !out.at_file() && sends_in_flight_ < kMaxSendsInFlight &&
               (!out.has_segments() || out.run_bytes() <= transport_detail::kMaxRingSendmsg);
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

}  // namespace brisk
