// brisk — the server: binds listeners, runs one loop per thread, stops them.
#include "brisk/server.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <latch>
#include <mutex>
#include <thread>

#include "http/status.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "net/uring.hpp"
#include "plugins/host.hpp"
#include "server/access_log.hpp"
#include "server/loop.hpp"

namespace brisk {
namespace {
// How long a reload waits for the retiring generation to stop accepting from the sockets its successor holds.
constexpr int kHandOverMs = 1000;
}  // namespace

struct Server::Impl {
    explicit Impl(Config c)
        : config(std::move(c)),
          plugins(config),
          router(
              config, [this](const std::string& name) -> Handler* { return plugins.find(name); }, &shared) {
        for (Handler* h : router.handlers())
            if (h->blocking() && !blocking)
                blocking = std::make_unique<BlockingPool>(config.blocking_threads, config.blocking_queue);
        if (const std::string why = check_tls(config, &tls); !why.empty()) throw Error(why);
        shared.tls = tls.get();
        static std::once_flag told;  // once per process, not per reload
        if (tls) std::call_once(told, [] { spdlog::info("{}", tls::static_file_path_line()); });
    }

    Config config;
    Shared shared;      // before the router, whose metrics and health routes read it
    PluginSet plugins;  // before the router, which points at its instances
    Router router;
    std::unique_ptr<AccessLog> access_log;
    std::unique_ptr<BlockingPool> blocking;  // only when a handler is blocking
    std::unique_ptr<tls::Context> tls;       // only with a TLS listener
    std::vector<net::Listener> listeners;
    bool retiring = false;  // replaced by a successor that shares the sockets: unix socket files stay
    std::mutex done_mutex;
    std::condition_variable done_cv;
    unsigned loops_running = 0;
    std::vector<std::unique_ptr<Loop>> loops;
    std::vector<std::thread> threads;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {
    if (impl_->config.loops == 0) impl_->config.loops = 1;
    (void)http::status_line(200);  // build the tables before any loop thread runs
    (void)refusal_answer(Refusal::overloaded);
}

Server::~Server() {
    if (!impl_->threads.empty()) {
        stop();
        wait();
    }
    for (net::Listener& l : impl_->listeners) net::close_listener(l, !impl_->retiring);
}

void Server::listen(const std::vector<int>& inherited, const Server* predecessor) {
    // Every connection is a descriptor: use all the process may have, as
    // nginx does with worker_rlimit_nofile.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    if (predecessor)
        impl_->shared.reloads.store(predecessor->impl_->shared.reloads.load(std::memory_order_relaxed) + 1,
                                    std::memory_order_relaxed);
    auto& mine = impl_->listeners;
    const unsigned loops = impl_->config.loops;
    for (const ListenAddress& a : impl_->config.listen) {
        const net::Listener* old = nullptr;
        if (predecessor)
            for (const net::Listener& l : predecessor->impl_->listeners)
                if (l.address.text == a.text && !l.fds.empty()) old = &l;
        net::Listener l;
        if (old)
            mine.push_back(net::reuse_listener(*old, loops));
        else if (net::adopt_listener(a, inherited, l))
            mine.push_back(std::move(l));
        else
            mine.push_back(net::open_listener(a, loops));
    }
    // Inherited sockets no address names are served too (a systemd socket unit's, say).
    for (int fd : inherited) {
        net::Listener l = net::inherited_listener(fd);
        bool named = false;
        for (const net::Listener& m : mine) named = named || m.bound == l.bound;
        if (named)
            net::close_listener(l, false);
        else
            mine.push_back(std::move(l));
    }
    // HTTP clients speak first: a connection is taken when its request is
    // there, not woken for once at the handshake and again for the bytes.
    for (const net::Listener& l : mine) net::defer_accept(l, impl_->config.defer_accept);
}

std::vector<std::string> Server::bound_addresses() const {
    std::vector<std::string> out;
    for (const net::Listener& l : impl_->listeners) out.push_back(l.bound);
    return out;
}

std::vector<std::string> Server::plugin_summaries() const { return impl_->plugins.summaries(); }

void Server::start() {
    Impl& s = *impl_;
    // What the loops observe is set up before they exist.
    for (const RouteConfig& r : s.config.routes) {
        if (r.kind != RouteKind::metrics || !s.shared.stats.empty()) continue;
        for (unsigned i = 0; i < s.config.loops; ++i)
            s.shared.stats.push_back(std::make_unique<LoopStats>(s.config.routes.size()));
    }
    s.shared.blocking_threads = s.blocking ? s.config.blocking_threads : 0;
    if (!s.config.access_log.empty()) {
        s.access_log = std::make_unique<AccessLog>(s.config, s.config.loops);
        s.shared.access_log = s.access_log.get();
        s.access_log->start();
    }
    if (s.config.io != IoBackend::epoll) {
        std::string why;
        s.shared.uring = net::Ring::supported(why);
        if (!s.shared.uring) {
            if (s.config.io == IoBackend::io_uring) throw Error("--io io_uring: " + why);
            spdlog::info("io_uring is not available ({}): using epoll", why);
        }
    }
    // TCP has a socket per loop (SO_REUSEPORT); a unix socket is one for all.
    auto shared_by_loops = [&](const net::Listener& l) { return l.fds.size() == 1 && s.config.loops > 1; };
    for (unsigned i = 0; i < s.config.loops; ++i) {
        auto loop = std::make_unique<Loop>(s.config, s.router, s.shared, i, s.blocking.get());
        for (const net::Listener& l : s.listeners)
            loop->add_listener(shared_by_loops(l) ? l.fds[0] : l.fds[i], shared_by_loops(l), !l.inherited, l.address);
        s.loops.push_back(std::move(loop));
    }
    // A socket per loop now belongs to its loop, which closes it when it drains.
    for (net::Listener& l : s.listeners) l.loops_own_fds = !shared_by_loops(l);
    // Each loop sets its handlers up on its own thread; start() returns only
    // once all have, and fails (stopping every loop) if one could not.
    // Shared with the threads, which may still be waking from `go` when start() returns.
    struct StartUp {
        explicit StartUp(unsigned loops) : ready(static_cast<std::ptrdiff_t>(loops)) {}
        std::latch ready;
        std::latch go{1};
        std::mutex failure_mutex;
        std::string failure;
        std::atomic<bool> abort{false};
    };
    auto up = std::make_shared<StartUp>(s.config.loops);
    s.loops_running = s.config.loops;
    for (unsigned i = 0; i < s.config.loops; ++i) {
        Loop* loop = s.loops[i].get();
        s.threads.emplace_back([up, loop, i, &s] {
            struct Done {
                Impl& s;
                ~Done() {
                    std::lock_guard lock(s.done_mutex);
                    if (--s.loops_running == 0) s.done_cv.notify_all();
                }
            } done{s};
            std::string name = "brisk-loop-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
            bool ok = true;
            try {
                loop->init_handlers();
            } catch (const std::exception& e) {
                ok = false;
                std::lock_guard lock(up->failure_mutex);
                if (up->failure.empty()) up->failure = e.what();
            }
            up->ready.count_down();
            up->go.wait();
            if (!ok) return;
            if (up->abort.load()) {
                loop->fini_handlers();
                return;
            }
            try {
                loop->run();
            } catch (const std::exception& e) {
                spdlog::critical("loop {} stopped: {}", i, e.what());
            }
            loop->fini_handlers();
        });
    }
    up->ready.wait();
    up->abort = !up->failure.empty();
    up->go.count_down();
    if (up->abort) {
        for (std::thread& t : s.threads) t.join();
        s.threads.clear();
        if (s.access_log) s.access_log->stop();
        throw Error(up->failure);
    }
}

void Server::stop() {
    // Health routes answer 503 from now on, unless a successor takes over
    // (reload): the process goes on serving, and a load balancer must not
    // see a 503 from the old generation's last requests.
    if (!impl_->retiring) impl_->shared.draining.store(true, std::memory_order_relaxed);
    // A unix socket's file goes first, so no new client finds it.
    for (net::Listener& l : impl_->listeners)
        if (!impl_->retiring && !l.inherited && l.address.kind == ListenAddress::Kind::unix_path)
            ::unlink(l.address.path.c_str());
    // A retiring generation's sockets its successor holds stay open there;
    // the others (fewer loops now, an address no longer listed) end here.
    for (unsigned i = 0; i < impl_->loops.size(); ++i) {
        std::vector<bool> handed_on;
        if (impl_->retiring)
            for (const net::Listener& l : impl_->listeners)
                handed_on.push_back(l.fds.size() == 1 ? l.held_by_successor > 0 : i < l.held_by_successor);
        impl_->loops[i]->stop(std::move(handed_on));
    }
}

void Server::retire() {
    impl_->retiring = true;
    stop();
    // The successor serves every connection that arrives from now on: the
    // sockets both hold leave this generation's loops first (a moment; at
    // most kHandOverMs while a loop is busy or still lets handshakes in).
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHandOverMs);
    for (const auto& loop : impl_->loops)
        while (!loop->handed_over() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

bool Server::wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(impl_->done_mutex);
    if (!impl_->done_cv.wait_for(lock, timeout, [this] { return impl_->loops_running == 0; })) return false;
    lock.unlock();
    wait();
    return true;
}

void Server::wait() {
    for (std::thread& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
    // The loops are gone: what they logged is written, then the writer stops.
    if (impl_->access_log) impl_->access_log->stop();
    for (net::Listener& l : impl_->listeners) net::close_listener(l, !impl_->retiring);
    impl_->listeners.clear();
}

std::vector<std::vector<int>> open_worker_sockets(const Config& config, unsigned workers) {
    std::vector<std::vector<int>> out(workers);
    for (const ListenAddress& a : config.listen) {
        net::Listener l = net::open_listener(a, workers);
        for (unsigned k = 0; k < workers; ++k) out[k].push_back(l.fds.size() == 1 ? l.fds[0] : l.fds[k]);
    }
    return out;
}

void prepare_worker_secrets() noexcept { tls::prepare_ticket_secret(); }

void refuse_new_connections(const std::vector<std::vector<int>>& sockets) noexcept {
    for (const auto& worker : sockets)
        for (int fd : worker) net::refuse_new_handshakes(fd);  // TCP ones only
}

void Server::reopen_logs() {
    if (impl_->access_log) impl_->access_log->reopen();
}

std::string check_tls(const Config& config, std::unique_ptr<tls::Context>* out) {
    bool tls = false;
    for (const ListenAddress& a : config.listen) tls = tls || a.tls;
    if (!tls) return {};
    std::string why;
    std::unique_ptr<tls::Context> ctx = tls::Context::create(config, why);
    if (!ctx) return why;
    if (out) *out = std::move(ctx);
    return {};
}

}  // namespace brisk
