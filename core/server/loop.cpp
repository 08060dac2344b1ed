// brisk — the event loop: wait, accept, dispatch events, expire deadlines,
// reap idle workers, drain on stop.
#include "server/loop.hpp"

#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <optional>
#include <functional>

#include "net/listener.hpp"
#include "server/http1_connection_impl.hpp"
#include "server/transport.hpp"

namespace brisk {
namespace {

constexpr int kMaxEvents = 256;
constexpr int kMaxAcceptsPerWake = 64;
constexpr std::int64_t kAcceptPauseMs = 100;
// While draining, how long an idle connection may take to send its next request.
constexpr std::int64_t kDrainGraceMs = 1000;
// While draining, how long a closing listener waits for handshakes the kernel holds.
constexpr std::int64_t kHandshakeGraceMs = 1000;
// While draining, how often the kernel is asked about handshakes it still holds.
constexpr std::int64_t kCloseCheckMs = 10;
// Rounds of kMaxAcceptsPerWake accepts that empty a listen queue (its backlog is 4096) when draining.
constexpr int kMaxDrainAcceptRounds = 4096 / kMaxAcceptsPerWake + 1;

// The poller's data word: a Conn pointer (8-aligned, low bits 0), the wake
// fd, or a listener index tagged in the low bits.
constexpr std::uint64_t kWakeTag = 2;
constexpr std::uint64_t listen_tag(std::size_t i) noexcept { return static_cast<std::uint64_t>(i) << 2 | 1; }

std::int64_t mono_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

Loop::Loop(const Config& config, const Router& router, Shared& shared, unsigned index, BlockingPool* blocking)
    : cfg_(config),
      router_(router),
      shared_(shared),
      index_(index),
      blocking_(blocking),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (wake_fd_ < 0 || !poller_.add(wake_fd_, EPOLLIN, kWakeTag)) throw std::runtime_error("eventfd");
    if (!cfg_.no_server_header) server_line_ = "Server: " + cfg_.server_name + "\r\n";
    if (cfg_.hsts_max_age) {
        hsts_line_ = "Strict-Transport-Security: max-age=" + std::to_string(cfg_.hsts_max_age);
        if (cfg_.hsts_include_subdomains) hsts_line_ += "; includeSubDomains";
        if (cfg_.hsts_preload) hsts_line_ += "; preload";
        hsts_line_ += "\r\n";
    }
    if (index_ < shared_.stats.size()) stats_ = shared_.stats[index_].get();
    if (shared_.access_log) access_log_ = std::make_unique<AccessLogger>(*shared_.access_log, index_);
    observe_ = stats_ || access_log_;
    trust_forwarded_ = !cfg_.trusted_proxies.empty();
    keep_alive_ = !cfg_.disable_keepalive;
    idle_ms_ = cfg_.idle_timeout.count();
    update_clock();
}

Loop::~Loop() {
    for (ListenFd& l : listeners_)
        if (!l.shared && l.fd >= 0) ::close(l.fd);
    ::close(wake_fd_);
}

void Loop::add_listener(int fd, bool shared_with_other_loops, bool only_holder, const ListenAddress& address) {
    int family = 0;
    std::uint16_t port = 0;
    net::tcp_endpoint(fd, family, port);
    const bool sole = family && only_holder && !shared_with_other_loops;
    listeners_.push_back(ListenFd{fd, shared_with_other_loops, false, address.proxy, false, address.tls,
                                  address.redirect, sole, family, port});
    // One loop per listener for TCP (SO_REUSEPORT spreads connections);
    // a unix socket is shared, and EPOLLEXCLUSIVE wakes one loop per connection.
    std::uint32_t ev = EPOLLIN | (shared_with_other_loops ? EPOLLEXCLUSIVE : 0u);
    poller_.add(fd, ev, listen_tag(listeners_.size() - 1));
}

void Loop::stop(std::vector<bool> handed_on) noexcept {
    if (!stop_asked_.exchange(true, std::memory_order_relaxed)) {
        handed_on_ = std::move(handed_on);  // read by the loop thread after the flag below
        stop_flag_.store(true, std::memory_order_release);
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Loop::update_clock() noexcept {
    now_ms_ = mono_ms();
    timespec ts{};
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    now_s_ = ts.tv_sec;
}

namespace {
thread_local Loop* t_current = nullptr;
}  // namespace

Loop* Loop::current() noexcept { return t_current; }

const tls::Session* Loop::find_tls(const Conn& c) const noexcept {
    return tls_sessions_ ? tls_sessions_->find(c) : nullptr;
}

void Loop::run() {
    t_current = this;
    if (shared_.uring && start_uring())
        run_uring();
    else
        run_epoll();
    t_current = nullptr;
    handed_over_.store(true, std::memory_order_release);
}

void Loop::run_epoll() {
    std::optional<TlsSessions> tls;
    if (shared_.tls) tls.emplace(*shared_.tls, stats_);
    tls_sessions_ = tls ? &*tls : nullptr;
    Http1<EpollTransport> http1(*this, EpollTransport{poller_, cfg_.log_all_errors, observe_, tls ? &*tls : nullptr});
    proto_ = &http1;
    epoll_event events[kMaxEvents];
    while (!draining_ || open_ > 0 || close_deadline_ms_) {
        int n = poller_.wait(events, kMaxEvents, next_timeout_ms());
        update_clock();
        for (int i = 0; i < n; ++i) {
            std::uint64_t tag = events[i].data.u64;
            if (tag & 1) {
                const ListenFd& l = listeners_[tag >> 2];
                if (!l.paused) accept_from(l);
            } else if (tag == kWakeTag) {
                std::uint64_t v;
                [[maybe_unused]] ssize_t r = read(wake_fd_, &v, sizeof v);
                // Acted on after the batch: both may close connections that have events in it.
                wake_pending_ = true;
            } else {
                Conn& c = *static_cast<Conn*>(events[i].data.ptr);
                unsigned ev = EpollTransport::events(c, events[i].events);
                if (c.tls && (ev & kOutput) && !http1.transport().writable(c)) [[unlikely]]
                    ev |= kFailed;
                http1.on_event(c, ev);
            }
        }
        after_wait();
    }
    proto_ = nullptr;
}

void Loop::after_wait() {
    if (!timer_heap_.empty()) fire_timers();  // first: what they resume is delivered below
    if (wake_pending_) {
        wake_pending_ = false;
        take_completions();
        if (stop_flag_.load(std::memory_order_acquire)) begin_drain();
    }
    if (close_deadline_ms_ && now_ms_ >= next_close_check_ms_) close_listeners_when_quiet();
    if (draining_ && !handed_over_.load(std::memory_order_relaxed)) note_handed_over();
    expire_timers();
    if (now_ms_ >= next_reap_ms_) {
        workers_.reap(now_ms_, cfg_.max_idle_worker_duration.count());
        next_reap_ms_ = now_ms_ + 1000;
    }
    if (stats_) publish();
    if (resume_accept_ms_ && now_ms_ >= resume_accept_ms_ && !draining_) {
        resume_accept_ms_ = 0;
        for (std::size_t i = 0; i < listeners_.size(); ++i) {
            if (!listeners_[i].paused) continue;
            listeners_[i].paused = false;
            start_accepting(i);
        }
    }
}

void Loop::note_handed_over() noexcept {
    for (std::size_t i = 0; i < listeners_.size() && i < handed_on_.size(); ++i)
        if (handed_on_[i] && (!listeners_[i].paused || listeners_[i].armed)) return;
    handed_over_.store(true, std::memory_order_release);
}

void Loop::stop_accepting(std::size_t i) noexcept {
    ListenFd& l = listeners_[i];
    if (l.paused) return;
    l.paused = true;
    if (!ring_)
        poller_.remove(l.fd);
    else if (l.armed)
        uring_cancel(*ring_, uring_tag::accept_of(i));
}

void Loop::start_accepting(std::size_t i) {
    ListenFd& l = listeners_[i];
    if (!ring_)
        poller_.add(l.fd, EPOLLIN | (l.shared ? EPOLLEXCLUSIVE : 0u), listen_tag(i));
    else if (!l.armed)
        arm_accept(i);
}

void Loop::pause_accepts() {
    spdlog::error("accept: {}; pausing accepts for {} ms", std::strerror(errno), kAcceptPauseMs);
    for (std::size_t i = 0; i < listeners_.size(); ++i) stop_accepting(i);
    resume_accept_ms_ = now_ms_ + kAcceptPauseMs;
}

void Loop::init_handlers() {
    std::vector<Handler*> handlers = router_.handlers();
    for (std::size_t i = 0; i < handlers.size(); ++i) {
        try {
            handlers[i]->loop_init(index_);
        } catch (...) {
            while (i > 0) handlers[--i]->loop_fini(index_);
            throw;
        }
    }
}

void Loop::fini_handlers() noexcept {
    for (Handler* h : router_.handlers()) h->loop_fini(index_);
}

bool Loop::accept_from(const ListenFd& l) {
    for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        int fd = accept4(l.fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            // Out of descriptors: stop accepting for a moment instead of spinning.
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) pause_accepts();
            return false;
        }
        accepted(fd, &ss, l);
    }
    return true;
}

// The gauges the metrics route shows for this loop.
void Loop::publish() noexcept {
    set(stats_->open, open_);
    set(stats_->workers, workers_.total());
    set(stats_->workers_idle, workers_.idle());
}

void record_peer(const sockaddr_storage& ss, Conn& c) noexcept {
    if (ss.ss_family == AF_INET6) {
        const auto& sin6 = reinterpret_cast<const sockaddr_in6&>(ss);
        std::memcpy(c.ip, &sin6.sin6_addr, 16);
        c.ip_len = 16;
        c.port = ntohs(sin6.sin6_port);
    } else if (ss.ss_family == AF_INET) {
        const auto& sin = reinterpret_cast<const sockaddr_in&>(ss);
        std::memcpy(c.ip, &sin.sin_addr, 4);
        c.ip_len = 4;
        c.port = ntohs(sin.sin_port);
    }
}

int Loop::next_timeout_ms() const noexcept {
    std::int64_t next = now_ms_ + 1000;  // Date refresh, worker reaping
    for (const TimerList& t : timers_)
        if (const Conn* c = t.front(); c && c->deadline_ms < next) next = c->deadline_ms;
    if (resume_accept_ms_ && resume_accept_ms_ < next) next = resume_accept_ms_;
    if (close_deadline_ms_ && next_close_check_ms_ < next) next = next_close_check_ms_;
    if (!timer_heap_.empty() && timer_heap_.front().first < next) next = timer_heap_.front().first;
    if (wake_pending_) return 0;
    std::int64_t d = next - now_ms_;
    return d < 0 ? 0 : static_cast<int>(d) + 1;  // +1: the coarse clock must have passed it
}

void Loop::expire_timers() {
    for (TimerList& t : timers_) {
        while (Conn* c = t.front()) {
            if (c->deadline_ms > now_ms_) break;
            proto_->on_timeout(*c);
        }
    }
}

void Loop::begin_drain() {
    if (draining_) return;
    draining_ = true;
    // Plugins end what they hold open (streams, upgraded connections) while the loop drains.
    for (Handler* h : router_.handlers()) h->loop_stopping(index_);
    keep_alive_ = false;
    idle_ms_ = drain_grace_ms();
    resume_accept_ms_ = 0;  // a paused listener stays paused: it closes below
    // A connection the kernel holds but nobody accepted would be reset when
    // its listening socket closes, though its client saw the handshake
    // complete. A socket that closes for good here (no successor holds it)
    // refuses new handshakes from now on, and stays open until those under
    // way, and deferred connections whose first bytes are on their way, have
    // reached the accept queue (or kHandshakeGraceMs is over). The first look
    // is one check later: a SYN that passed before the filter may not be a
    // request socket yet. Sockets a successor holds close at once.
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        ListenFd& l = listeners_[i];
        l.sole = l.sole && !(i < handed_on_.size() && handed_on_[i]);
        if (l.paused || !l.sole) continue;
        if (!net::refuse_new_handshakes(l.fd)) {
            spdlog::debug("listener {}: new handshakes cannot be refused during the stop", i);
            l.sole = false;  // waiting would only let new connections in
            continue;
        }
        close_deadline_ms_ = now_ms_ + kHandshakeGraceMs;
        next_close_check_ms_ = now_ms_ + kCloseCheckMs;
    }
    if (close_deadline_ms_) {
        for (const ListenFd& l : listeners_)
            if (!l.paused) accept_from(l);
    } else {
        close_listeners_when_quiet();
    }
    // No connection closes while a request may be on its way: an idle one
    // gets a moment for its next (or first) request, answered with
    // `Connection: close` (keep-alive is off while draining); one still
    // idle then closes (the idle timer). Busy ones finish their request and
    // close after it.
    const std::int64_t grace = drain_grace_ms();
    TimerList& idle = timers_[static_cast<std::size_t>(TimerKind::idle)];
    std::size_t waiting = 0;
    for (const Conn* c = idle.front(); c; c = c->next) ++waiting;
    while (waiting-- > 0) arm(*idle.front(), TimerKind::idle, grace);  // each goes to the back
    // A connection still waiting for its PROXY protocol header gets the same
    // moment, after which it closes without an answer (the idle timer).
    TimerList& reading = timers_[static_cast<std::size_t>(TimerKind::read)];
    for (Conn* c = reading.front(); c;) {
        Conn* next = c->next;
        if (c->state == ConnState::proxy_header) arm(*c, TimerKind::idle, grace);
        c = next;
    }
}

void Loop::close_listeners_when_quiet() {
    // Asked before the queues are emptied: a handshake not held any more
    // has reached a queue, and none can start (refuse_new_handshakes). When
    // the kernel does not tell, the listener waits out the grace.
    bool held = false;
    if (close_deadline_ms_ && now_ms_ < close_deadline_ms_) {
        for (const ListenFd& l : listeners_) {
            if (l.paused || !l.sole) continue;
            const int pending = net::pending_handshakes(l.family, l.port);
            if (pending < 0 && !diag_failure_logged_) {
                spdlog::debug("the kernel does not tell which handshakes it holds: the stop waits {} ms for them",
                              kHandshakeGraceMs);
                diag_failure_logged_ = true;
            }
            if (pending != 0) {
                held = true;
                break;
            }
        }
    }
    for (const ListenFd& l : listeners_) {
        if (l.paused) continue;
        for (int round = 0; round < kMaxDrainAcceptRounds && accept_from(l); ++round) {}
    }
    if (held) {
        next_close_check_ms_ = now_ms_ + kCloseCheckMs;
        return;
    }
    close_deadline_ms_ = 0;
    // Stop accepting: an own socket is closed, so new connections are
    // refused at once; a shared one just leaves this loop's poller.
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        ListenFd& l = listeners_[i];
        stop_accepting(i);
        if (!l.shared && l.fd >= 0) {
            ::close(l.fd);
            l.fd = -1;
        }
    }
}

void Loop::blocking_done(Conn& c, Outcome outcome) {
    {
        std::lock_guard lock(done_mutex_);
        done_.emplace_back(&c, outcome);
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void Loop::take_completions() {
    {
        std::lock_guard lock(done_mutex_);
        done_batch_.swap(done_);
        later_batch_.swap(later_);
    }
    for (auto [c, outcome] : done_batch_) proto_->resume(*c, outcome);
    done_batch_.clear();
    // An answer whose request was cancelled meanwhile (its client left) is dropped.
    for (Later& l : later_batch_)
        if (Suspensions::get().deliver(l.handle, l.answer->kind)) proto_->deliver(*l.conn, *l.answer);
    later_batch_.clear();
}

void Loop::post_later(Conn& c, std::uint64_t handle, std::unique_ptr<LaterAnswer> answer) {
    {
        std::lock_guard lock(done_mutex_);
        later_.push_back(Later{&c, handle, std::move(answer)});
    }
    if (t_current == this) {
        wake_pending_ = true;  // on this loop's thread: seen before it waits again
        return;
    }
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

// A timer's id: its record's generation, the loop and the record's index, so
// that an id of another loop, or of a record reused since, matches nothing.
namespace {
constexpr std::uint64_t timer_id(std::uint32_t generation, unsigned loop, std::uint32_t index) noexcept {
    return std::uint64_t{generation} << 32 | std::uint64_t{loop & 0xff} << 24 | index;
}
}  // namespace

std::uint64_t Loop::start_timer(std::uint64_t ms, void (*fire)(void*), void* arg) {
    std::uint32_t index;
    if (!free_timers_.empty()) {
        index = free_timers_.back();
        free_timers_.pop_back();
    } else {
        if (plugin_timers_.size() >= 0xffffff) return 0;
        index = static_cast<std::uint32_t>(plugin_timers_.size());
        plugin_timers_.emplace_back();
    }
    PluginTimer& t = plugin_timers_[index];
    t.pending = true;
    t.fire = fire;
    t.arg = arg;
    const std::uint64_t id = timer_id(t.generation, index_, index);
    const std::int64_t capped = ms > (std::uint64_t{1} << 40) ? std::int64_t{1} << 40 : static_cast<std::int64_t>(ms);
    timer_heap_.emplace_back(now_ms_ + capped, id);
    std::push_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>{});
    return id;
}

bool Loop::cancel_timer(std::uint64_t id) noexcept {
    const auto index = static_cast<std::uint32_t>(id & 0xffffff);
    if (((id >> 24) & 0xff) != (index_ & 0xff) || index >= plugin_timers_.size()) return false;
    PluginTimer& t = plugin_timers_[index];
    if (!t.pending || t.generation != static_cast<std::uint32_t>(id >> 32)) return false;
    // Its heap entry stays, matching nothing, until it is due.
    t = PluginTimer{t.generation + 1 ? t.generation + 1 : 1};
    free_timers_.push_back(index);
    return true;
}

void Loop::fire_timers() {
    while (!timer_heap_.empty() && timer_heap_.front().first <= now_ms_) {
        const std::uint64_t id = timer_heap_.front().second;
        std::pop_heap(timer_heap_.begin(), timer_heap_.end(), std::greater<>{});
        timer_heap_.pop_back();
        const auto index = static_cast<std::uint32_t>(id & 0xffffff);
        PluginTimer& t = plugin_timers_[index];
        if (!t.pending || t.generation != static_cast<std::uint32_t>(id >> 32)) continue;  // cancelled
        void (*fire)(void*) = t.fire;
        void* arg = t.arg;
        cancel_timer(id);  // fired: the record is free before the callback may start another
        fire(arg);
    }
}

std::int64_t Loop::drain_grace_ms() const noexcept {
    std::int64_t grace = kDrainGraceMs;
    if (cfg_.idle_timeout.count() > 0 && cfg_.idle_timeout.count() < grace) grace = cfg_.idle_timeout.count();
    return grace;
}

}  // namespace brisk
