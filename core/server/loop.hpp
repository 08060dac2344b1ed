// brisk — one event loop: a thread, its listeners, its connections, its
// worker pool. Loops share nothing but the connection counters in Shared.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "brisk/config.hpp"
#include "http/date_cache.hpp"
#include "http/response.hpp"
#include "http/response_writer.hpp"
#include "net/poller.hpp"
#include "net/uring.hpp"
#include "server/access_log.hpp"
#include "server/admission.hpp"
#include "server/blocking_pool.hpp"
#include "server/connection.hpp"
#include "server/router.hpp"
#include "server/shared.hpp"
#include "server/worker.hpp"

namespace brisk {

/** Copies the client's address and port from accept's sockaddr. */
void record_peer(const sockaddr_storage& ss, Conn& c) noexcept;

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
     * here ends it.
     */
    void add_listener(int fd, bool shared_with_other_loops, bool proxy = false, bool only_holder = false);

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

private:
    // --- loop.cpp: events, accept, timers, shutdown
    void run_epoll();
    /** After each wait, on either backend: wake-ups, deadlines, worker reaping, gauges, paused accepts. */
    void after_wait();
    /** Accepts up to kMaxAcceptsPerWake connections; true if it stopped at that cap (more may wait). */
    bool accept_from(int listen_fd, bool proxy);
    /** A connection just accepted: limits, then its first input. `ss` may be null (peer unknown yet). */
    void accepted(int fd, const sockaddr_storage* ss, bool proxy);
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
    [[gnu::noinline]] void on_proxy_input(Conn& c);
    bool read_proxy_header(Conn& c, Worker& w);
    void resolve_forwarded(Conn& c, Worker& w);
    void reject(Conn& c, Refusal why);
    void publish() noexcept;
    void on_event(Conn& c, std::uint32_t events);
    void expire_timers();
    int next_timeout_ms() const noexcept;
    void begin_drain();
    void update_clock() noexcept;

    // --- connection.cpp: the HTTP state machine of one connection
    void on_input(Conn& c);
    void finish(Conn& c, Worker& w, bool progressed);
    void arm(Conn& c, TimerKind kind, std::int64_t ms) noexcept;
    void disarm(Conn& c) noexcept;
    enum class Step : std::uint8_t { more, wait, close, blocked };
    Step process(Conn& c, Worker& w);
    void dispatch(Conn& c, Worker& w);
    void complete(Conn& c, Worker& w, Outcome outcome);
    template <bool Observed>
    void answer(Conn& c, Worker& w, Outcome outcome);
    bool run_blocking(Conn& c, Worker& w, Handler& h);
    void blocking_done(Conn& c, Outcome outcome);
    void take_completions();
    /** Appends a built reply (or its simple response) to the output; returns whether the connection stays. */
    bool write_reply(Worker& w, bool keep_alive, http::Answering a);
    void write_response(Worker& w, const http::Response& resp, bool keep_alive, http::Answering a);
    http::CommonLines common_lines() noexcept;
    void respond_error(Conn& c, Worker& w, std::uint16_t status, bool parsed = false);
    // --- observe.cpp: the access log line and the counters of an answered request
    void observe_answer(Conn& c, Worker& w, Outcome outcome, bool overloaded, std::size_t out_before);
    void observe_error(Conn& c, Worker& w, std::uint16_t status, bool parsed, std::size_t out_before,
                       std::size_t body_len);
    void observe(Conn& c, Worker* w, const alog::Record& rec, std::uint32_t slot);
    bool flush(Conn& c, Worker& w);
    void on_timeout(Conn& c);
    void linger(Conn& c);
    void discard_input(Conn& c);
    void close_conn(Conn& c) noexcept;
    Worker& bind_worker(Conn& c);
    void release_worker(Conn& c);
    bool watch(Conn& c);
    /** Waits for the socket to take more output: epoll is armed for it already; io_uring polls once. */
    bool wait_writable(Conn& c);
    bool read_into(Conn& c, Worker& w);
    /** Makes room for at least `want` more input bytes; returns where they go. */
    char* input_space(Worker& w, std::size_t want);

    // --- loop_uring.cpp: the io_uring backend
    // A completion's user data: a Conn (8-aligned) with the operation in the
    // low bits, or a tag of the loop's own.
    enum Op : std::uint64_t { op_recv = 0, op_send = 1, op_poll = 2, op_accept = 3, op_wake = 4, op_ignore = 7 };
    static constexpr std::uint64_t kOpMask = 7;
    static std::uint64_t conn_tag(const Conn& c, Op op) noexcept { return reinterpret_cast<std::uintptr_t>(&c) | op; }
    static constexpr std::uint64_t accept_tag(std::size_t listener) noexcept { return listener << 3 | op_accept; }
    bool start_uring();
    void run_uring();
    void on_completion(const io_uring_cqe& cqe);
    void on_received(Conn& c, const io_uring_cqe& cqe);
    void on_sent(Conn& c, int res);
    void on_writable(Conn& c, int res);
    void on_accepted(std::size_t listener, const io_uring_cqe& cqe);
    void arm_accept(std::size_t listener);
    void arm_recv(Conn& c);
    void arm_pollout(Conn& c);
    void arm_wake();
    /** Queues the worker's unsent output as one send; the connection waits in `writing` for it. */
    void send_async(Conn& c, Worker& w, int flags);
    void cancel(std::uint64_t user_data);
    /**
     * Closing under io_uring: cancels what is in flight and queues the close.
     * False if operations are still in flight (the record waits for them).
     */
    bool close_async(Conn& c);
    void settle(Conn& c);
    /** Input a connection holds while it cannot use it (writing, or blocked) before its receive pauses. */
    bool input_full(const Conn& c) const noexcept;
    bool ip_acquire(Conn& c);
    void ip_release(Conn& c);

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
    std::size_t blocked_ = 0;  // connections waiting on the pool
    net::Poller poller_;
    int wake_fd_;  // eventfd: stop()
    struct ListenFd {
        int fd;
        bool shared;
        bool paused;
        bool proxy;  // connections start with a PROXY protocol header
        bool armed;  // io_uring: a multishot accept is in flight
        bool sole;   // TCP, and closing it ends the socket (not inherited, not shared by loops)
        int family;  // AF_INET or AF_INET6 for TCP, else 0
        std::uint16_t port;
    };
    std::vector<ListenFd> listeners_;
    std::unique_ptr<net::Ring> ring_;  // null on epoll
    // io_uring accepts give no address: ask for it when something reads it.
    bool needs_peer_ = false;
    // io_uring sends in flight, each holding a worker; past the cap a batch leaves by a plain send.
    std::uint32_t sends_in_flight_ = 0;
    static constexpr std::uint32_t kMaxSendsInFlight = 64;
    std::int64_t resume_accept_ms_ = 0;

    ConnPool conns_;
    std::size_t open_ = 0;
    TimerList timers_[kTimerKinds];
    WorkerPool workers_;

    std::int64_t now_ms_ = 0;  // monotonic, refreshed once per wakeup
    std::time_t now_s_ = 0;    // wall clock, for Date
    std::int64_t next_reap_ms_ = 0;
    http::DateCache date_;
    std::string server_line_;  // "Server: brisk\r\n", or empty
    bool draining_ = false;
    bool wake_pending_ = false;
    std::atomic<bool> stop_flag_{false};
    std::atomic<bool> stop_asked_{false};  // stop() was called: its first call counts
    std::vector<bool> handed_on_;          // see stop()
    bool diag_failure_logged_ = false;
    // Draining with listeners still open for handshakes the kernel holds: until when, and the next look.
    std::int64_t close_deadline_ms_ = 0;
    std::int64_t next_close_check_ms_ = 0;

    // Observation: both null unless an access log or a metrics route exists.
    LoopStats* stats_ = nullptr;
    std::unique_ptr<AccessLogger> access_log_;
    bool observe_ = false;
    bool trust_forwarded_ = false;  // trusted proxies are configured

    static constexpr std::size_t kDiscardSize = 16384;
    std::array<char, kDiscardSize> discard_;
};

}  // namespace brisk
