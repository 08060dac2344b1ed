// brisk — one event loop: a thread, its listeners, its connections, its
// worker pool. Loops share nothing but the connection counters in Shared.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "brisk/config.hpp"
#include "http/date_cache.hpp"
#include "net/poller.hpp"
#include "net/uring.hpp"
#include "server/access_log.hpp"
#include "server/admission.hpp"
#include "server/blocking_pool.hpp"
#include "server/connection.hpp"
#include "server/router.hpp"
#include "server/shared.hpp"
#include "server/suspend.hpp"
#include "server/worker.hpp"

namespace brisk {

class TlsSessions;
namespace tls {
class Session;
}

/** Copies the client's address and port from accept's sockaddr. */
void record_peer(const sockaddr_storage& ss, Conn& c) noexcept;

class Protocol;
template <class T>
class Http1;
class UringTransport;

class Loop {
public:
    /** `blocking` runs handlers marked blocking; may be null when there are none. */
    Loop(const Config& config, const Router& router, Shared& shared, unsigned index, BlockingPool* blocking);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    /**
     * A listening socket this loop accepts on. A socket of its own (TCP,
     * SO_REUSEPORT) becomes the loop's and is closed when it drains; a socket
     * shared with other loops (unix) stays the server's. `only_holder`: no
     * other process holds the socket (it is not inherited), so closing it
     * here ends it. `address` tells what its connections are (proxy, tls, redirect).
     */
    void add_listener(int fd, bool shared_with_other_loops, bool only_holder, const ListenAddress& address);

    /**
     * Per-loop set-up of every handler, on the loop's thread. Throws (after
     * undoing what was set up) if one fails.
     */
    void init_handlers();
    /** Per-loop tear-down of every handler, on the loop's thread. */
    void fini_handlers() noexcept;

    /**
     * The thread body after init_handlers(): returns once stopped and every
     * connection is gone. Runs on io_uring when the server chose it and the
     * ring can be set up on this thread, else on epoll.
     */
    void run();

    /**
     * Asks the loop to drain and exit; callable from any thread.
     * `handed_on[i]`: a successor (a reload's new generation) holds listener
     * i's socket too, so closing it here does not end it; listeners past the
     * end of `handed_on` are not held by any.
     */
    void stop(std::vector<bool> handed_on = {}) noexcept;

    unsigned index() const noexcept { return index_; }

    /**
     * Any thread: after stop(), whether this loop accepts nothing more from
     * the sockets a successor holds (so that a new connection there is the
     * successor's); true once the loop has ended, too.
     */
    bool handed_over() const noexcept { return handed_over_.load(std::memory_order_acquire); }

    /** The loop whose thread this is, or null. */
    static Loop* current() noexcept;
    /**
     * From Suspensions::resume, any thread, under the table's lock: a
     * suspended request's answer, delivered on this loop's thread.
     */
    void post_later(Conn& c, std::uint64_t handle, std::unique_ptr<LaterAnswer> answer);
    /** On this loop's thread: a plugin's one-shot timer (plugin ABI 1.1); its id, never 0. */
    std::uint64_t start_timer(std::uint64_t ms, void (*fire)(void*), void* arg);
    /** On this loop's thread: true if the timer was pending (it will not fire). */
    bool cancel_timer(std::uint64_t id) noexcept;

private:
    // The connections' protocol reaches the loop's services (timers, workers,
    // records, the accept path's policy, observation) directly.
    friend class Protocol;
    template <class T>
    friend class Http1;
    friend struct LoopProbe;  // unit tests: the loop's clock
    const tls::Session* find_tls(const Conn& c) const noexcept;

    // --- loop.cpp: events, accept, timers, shutdown
    void run_epoll();
    /** After each wait, on either backend: wake-ups, deadlines, worker reaping, gauges, paused accepts. */
    void after_wait();
    /** Accepts up to kMaxAcceptsPerWake connections; true if it stopped at that cap (more may wait). */
    struct ListenFd;
    bool accept_from(const ListenFd& l);
    /** Out of descriptors or memory: stops accepting for kAcceptPauseMs. */
    void pause_accepts();
    void stop_accepting(std::size_t i) noexcept;
    void start_accepting(std::size_t i);
    /** While draining: how long an idle connection may take to send its next (or first) request. */
    std::int64_t drain_grace_ms() const noexcept;
    /**
     * While draining: accepts what the listen queues hold and closes the
     * listeners, unless (on a last stop) the kernel still holds handshakes
     * under way or deferred, whose connections are waited for until
     * close_deadline_ms_.
     */
    void close_listeners_when_quiet();
    void publish() noexcept;
    void expire_timers();
    int next_timeout_ms() const noexcept;
    void begin_drain();
    void update_clock() noexcept;
    /** Puts a connection under the deadline of `kind`, `ms` from now (0: none). */
    void arm(Conn& c, TimerKind kind, std::int64_t ms) noexcept {
        disarm(c);
        c.timer = kind;
        c.deadline_ms = ms > 0 ? now_ms_ + ms : INT64_MAX;
        timers_[static_cast<std::size_t>(kind)].push(c);
    }
    /** The TLS session of a connection from a TLS listener, for handlers and logs; else null. */
    const tls::Session* tls_session(const Conn& c) const noexcept { return c.tls ? find_tls(c) : nullptr; }
    /** A handler deadline, `ms` from now: durations differ per instance, so its list is kept sorted. */
    void arm_handler(Conn& c, std::int64_t ms) noexcept {
        disarm(c);
        c.timer = TimerKind::handler;
        c.deadline_ms = now_ms_ + ms;
        timers_[static_cast<std::size_t>(TimerKind::handler)].insert_sorted(c);
    }
    void disarm(Conn& c) noexcept {
        if (c.timer == TimerKind::none) return;
        timers_[static_cast<std::size_t>(c.timer)].erase(c);
        c.timer = TimerKind::none;
    }
    /** The blocking pool's handlers that returned, and answers given later, handed to their connections. */
    void take_completions();
    /** Runs the plugin timers that are due. */
    void fire_timers();
    /** On a pool thread: queues the outcome for the connection's loop. */
    void blocking_done(Conn& c, Outcome outcome);

    // --- admission.cpp: the accept path's policy
    /** A connection just accepted: limits, then its first input. `ss` may be null (peer unknown yet). */
    struct ListenFd;
    void accepted(int fd, const sockaddr_storage* ss, const ListenFd& from);
    /** For a request from a trusted proxy: the client its X-Forwarded-For names. */
    void resolve_forwarded(Conn& c, Worker& w);
    /** Answers a connection refused at accept (counted and observed) and lets it linger. */
    void reject(Conn& c, Refusal why);
    bool ip_acquire(Conn& c);
    void ip_release(Conn& c);

    // --- observe.cpp: the access log line and the counters of an answered request
    void observe_answer(Conn& c, Worker& w, Outcome outcome, bool overloaded, std::size_t out_before);
    void observe_error(Conn& c, Worker& w, std::uint16_t status, bool parsed, std::size_t out_before,
                       std::size_t body_len);
    void observe(Conn& c, Worker* w, const alog::Record& rec, std::uint32_t slot);

    // --- loop_uring.cpp: the io_uring backend
    bool start_uring();
    void run_uring();
    void on_completion(Http1<UringTransport>& h, const io_uring_cqe& cqe);
    void on_received(Http1<UringTransport>& h, Conn& c, const io_uring_cqe& cqe);
    void on_sent(Http1<UringTransport>& h, Conn& c, int res);
    void on_writable(Http1<UringTransport>& h, Conn& c, int res);
    void on_accepted(std::size_t listener, const io_uring_cqe& cqe);
    void arm_accept(std::size_t listener);
    void arm_wake();
    /** A closed connection's operation completed: its record goes once the kernel holds none. */
    void settle(Http1<UringTransport>& h, Conn& c);
    /** Input a connection holds while it cannot use it (writing, or handling) before its receive pauses. */
    static bool input_full(const Conn& c) noexcept;

    const Config& cfg_;
    const Router& router_;
    Shared& shared_;
    const unsigned index_;
    BlockingPool* blocking_;
    std::uint32_t next_serial_ = 0;
    // Connections whose blocking handler finished, with its outcome; filled by pool threads.
    std::mutex done_mutex_;
    std::vector<std::pair<Conn*, Outcome>> done_;
    std::vector<std::pair<Conn*, Outcome>> done_batch_;
    // Answers to suspended requests (Suspensions), also under done_mutex_.
    struct Later {
        Conn* conn;
        std::uint64_t handle;
        std::unique_ptr<LaterAnswer> answer;
    };
    std::vector<Later> later_;
    std::vector<Later> later_batch_;
    // Plugin timers: records by index (generation-checked ids) and a min-heap of (due, id).
    struct PluginTimer {
        std::uint32_t generation = 1;
        bool pending = false;
        void (*fire)(void*) = nullptr;
        void* arg = nullptr;
    };
    std::vector<PluginTimer> plugin_timers_;
    std::vector<std::uint32_t> free_timers_;
    std::vector<std::pair<std::int64_t, std::uint64_t>> timer_heap_;
    net::Poller poller_;
    int wake_fd_;  // eventfd: stop()
    struct ListenFd {
        int fd;
        bool shared;
        bool paused;
        bool proxy;     // connections start with a PROXY protocol header
        bool armed;     // io_uring: a multishot accept is in flight
        bool tls;       // connections speak TLS
        bool redirect;  // every request gets a 308 to https
        bool sole;      // TCP, and closing it ends the socket (not inherited, not shared by loops)
        int family;     // AF_INET or AF_INET6 for TCP, else 0
        std::uint16_t port;
    };
    std::vector<ListenFd> listeners_;
    std::unique_ptr<net::Ring> ring_;      // null on epoll
    TlsSessions* tls_sessions_ = nullptr;  // while run() runs, with a TLS listener
    // io_uring accepts give no address: ask for it when something reads it.
    bool needs_peer_ = false;
    // The connections' protocol over this loop's transport, while run() runs.
    Protocol* proto_ = nullptr;
    std::int64_t resume_accept_ms_ = 0;

    ConnPool conns_;
    std::size_t open_ = 0;
    TimerList timers_[kTimerKinds];
    WorkerPool workers_;

    std::int64_t now_ms_ = 0;  // monotonic, refreshed once per wakeup
    std::time_t now_s_ = 0;    // wall clock, for Date
    std::int64_t next_reap_ms_ = 0;
    http::DateCache date_;
    std::string server_line_;         // "Server: brisk\r\n", or empty
    std::string hsts_line_;           // "Strict-Transport-Security: max-age=N\r\n" (--hsts-max-age), or empty
    std::string secure_lines_;        // Date and hsts_line_, for answers over TLS
    std::time_t secure_second_ = -1;  // the second secure_lines_ holds the Date of
    bool draining_ = false;
    // What the next answer may promise, and how long an idle connection
    // waits: keep-alive and the idle timeout, until a drain begins.
    bool keep_alive_ = true;
    std::int64_t idle_ms_ = 0;
    bool wake_pending_ = false;
    std::atomic<bool> stop_flag_{false};
    std::atomic<bool> stop_asked_{false};   // stop() was called: its first call counts
    std::vector<bool> handed_on_;           // see stop()
    std::atomic<bool> handed_over_{false};  // see handed_over()
    /** While draining: sets handed_over_ once no socket a successor holds is accepted from here. */
    void note_handed_over() noexcept;
    bool diag_failure_logged_ = false;
    // Draining with listeners still open for handshakes the kernel holds: until when, and the next look.
    std::int64_t close_deadline_ms_ = 0;
    std::int64_t next_close_check_ms_ = 0;

    // Observation: both null unless an access log or a metrics route exists.
    LoopStats* stats_ = nullptr;
    std::unique_ptr<AccessLogger> access_log_;
    bool observe_ = false;
    bool trust_forwarded_ = false;  // trusted proxies are configured
};

}  // namespace brisk
