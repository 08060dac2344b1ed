// brisk — the record of one connection. It is all an idle keep-alive
// connection costs in user space (at most 72 bytes, checked below);
// everything else lives in a Worker, bound only while the connection is busy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace brisk {

struct Worker;

/**
 * The state of a connection's HTTP/1 state machine (server/http1_connection.hpp);
 * it changes only through Http1::enter(), which also sets the deadline the
 * connection waits under.
 */
enum class ConnState : std::uint8_t {
    idle,          // keep-alive, waiting for the next request; no worker (idle timer)
    reading,       // a request has started; worker bound (read timer, from its first byte)
    writing,       // output pending, waiting for the socket to take it (write timer, restarted on progress)
    handling,      // a handler runs on the blocking pool with the worker, or its request is suspended (no timer,
                   // or the handler timeout)
    streaming,     // a plugin's response goes out as it gives the body; worker bound only while output is
                   // pending (write timer then, else none)
    lingering,     // answered and half-closed; discarding input until EOF (linger timer)
    proxy_header,  // on a PROXY protocol listener, before its header is complete; worker bound (read timer)
    closed,        // the socket is closed; io_uring: the record waits for the kernel's last completions
};

/** Which deadline a connection waits under; one list per kind. */
enum class TimerKind : std::uint8_t { idle, read, write, linger, handler, handshake, none };
inline constexpr std::size_t kTimerKinds = 6;

struct Conn {
    Conn* prev = nullptr;  // timer list links
    Conn* next = nullptr;
    Worker* worker = nullptr;
    std::int64_t deadline_ms = 0;
    int fd = -1;
    ConnState state = ConnState::idle;
    TimerKind timer = TimerKind::none;
    // Flags, one bit each: only the loop thread touches them.
    // The transport's (server/transport.hpp):
    bool registered : 1 = false;  // epoll: added to the poller; io_uring: a multishot receive is armed
    bool readable : 1 = false;    // epoll, edge-triggered: input may be waiting
    bool peer_fin : 1 = false;    // epoll: the poller saw the client's FIN (EPOLLRDHUP)
    bool sending : 1 = false;     // io_uring: a send of the worker's output is in flight
    bool polling : 1 = false;     // io_uring: waiting for the socket to take more output
    // The protocol's:
    bool peer_closed : 1 = false;   // the client's input ended (read returned 0)
    bool close_after : 1 = false;   // close once the pending output is written
    bool force_linger : 1 = false;  // after an error: drain what the client still sends
    // The accept path's:
    bool ip_counted : 1 = false;  // holds a --max-conns-per-ip slot
    bool tls : 1 = false;         // from a ",tls" listener: bytes go through its TLS session
    bool redirect : 1 = false;    // from a ",redirect" listener: every request gets a 308 to https
    std::uint8_t ip_len = 0;      // 4 or 16; 0 for unix sockets
    std::uint16_t port = 0;       // the client's
    std::uint32_t requests = 0;
    std::uint32_t serial = 0;  // with the loop index, the connection id
    std::uint8_t ip[16] = {};  // the client's address
};
static_assert(sizeof(Conn) <= 72, "an idle connection must stay small");

/**
 * Intrusive list of connections waiting under one timeout, sorted by
 * deadline. Every entry of most kinds gets the same duration, so appending
 * keeps the list sorted.
 */
class TimerList {
public:
    void push(Conn& c) noexcept {
        c.prev = tail_;
        c.next = nullptr;
        if (tail_)
            tail_->next = &c;
        else
            head_ = &c;
        tail_ = &c;
    }
    void erase(Conn& c) noexcept {
        if (c.prev)
            c.prev->next = c.next;
        else
            head_ = c.next;
        if (c.next)
            c.next->prev = c.prev;
        else
            tail_ = c.prev;
        c.prev = c.next = nullptr;
    }
    /** For deadlines of different durations (handler timeouts): keeps the list sorted, searching from the back. */
    void insert_sorted(Conn& c) noexcept {
        Conn* after = tail_;
        while (after && after->deadline_ms > c.deadline_ms) after = after->prev;
        c.prev = after;
        c.next = after ? after->next : head_;
        if (c.next)
            c.next->prev = &c;
        else
            tail_ = &c;
        if (after)
            after->next = &c;
        else
            head_ = &c;
    }
    Conn* front() const noexcept { return head_; }

private:
    Conn* head_ = nullptr;
    Conn* tail_ = nullptr;
};

/** Connection records in slabs, recycled through a free list; never freed per connection. */
class ConnPool {
public:
    Conn* acquire() {
        if (!free_) grow();
        Conn* c = free_;
        free_ = c->next;
        *c = Conn{};
        return c;
    }
    void release(Conn* c) noexcept {
        c->next = free_;
        free_ = c;
    }

private:
    static constexpr std::size_t kSlab = 256;
    void grow() {
        slabs_.push_back(std::make_unique<Conn[]>(kSlab));
        Conn* s = slabs_.back().get();
        for (std::size_t i = 0; i < kSlab; ++i) release(&s[i]);
    }
    std::vector<std::unique_ptr<Conn[]>> slabs_;
    Conn* free_ = nullptr;
};

}  // namespace brisk
