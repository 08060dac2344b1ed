// brisk — the server: binds listeners, runs one loop per thread, stops them.
#include "brisk/server.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <thread>

#include "http/status.hpp"
#include "net/listener.hpp"
#include "plugins/host.hpp"
#include "server/loop.hpp"

namespace brisk {

struct Server::Impl {
    explicit Impl(Config c)
        : config(std::move(c)),
          plugins(config),
          router(config, [this](const std::string& name) -> Handler* { return plugins.find(name); }) {
        for (Handler* h : router.handlers())
            if (h->blocking() && !blocking) blocking = std::make_unique<BlockingPool>(config.blocking_threads,
                                                                                     config.blocking_queue);
    }

    Config config;
    PluginSet plugins;  // before the router, which points at its instances
    Router router;
    Shared shared;
    std::unique_ptr<BlockingPool> blocking;  // only when a handler is blocking
    std::vector<net::Listener> listeners;
    std::vector<std::unique_ptr<Loop>> loops;
    std::vector<std::thread> threads;
};

Server::Server(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {
    if (impl_->config.loops == 0) impl_->config.loops = 1;
    (void)http::status_line(200);  // build the table before any loop thread runs
}

Server::~Server() {
    if (!impl_->threads.empty()) {
        stop();
        wait();
    }
    for (net::Listener& l : impl_->listeners) net::close_listener(l);
}

void Server::listen() {
    // Every connection is a descriptor: use all the process may have, as
    // nginx does with worker_rlimit_nofile.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    for (const ListenAddress& a : impl_->config.listen)
        impl_->listeners.push_back(net::open_listener(a, impl_->config.loops));
}

std::vector<std::string> Server::bound_addresses() const {
    std::vector<std::string> out;
    for (const net::Listener& l : impl_->listeners) out.push_back(l.bound);
    return out;
}

std::vector<std::string> Server::plugin_summaries() const { return impl_->plugins.summaries(); }

void Server::start() {
    Impl& s = *impl_;
    // TCP has a socket per loop (SO_REUSEPORT); a unix socket is one for all.
    auto shared_by_loops = [&](const net::Listener& l) { return l.fds.size() == 1 && s.config.loops > 1; };
    for (unsigned i = 0; i < s.config.loops; ++i) {
        auto loop = std::make_unique<Loop>(s.config, s.router, s.shared, i, s.blocking.get());
        for (const net::Listener& l : s.listeners)
            loop->add_listener(shared_by_loops(l) ? l.fds[0] : l.fds[i], shared_by_loops(l));
        s.loops.push_back(std::move(loop));
    }
    // A socket per loop now belongs to its loop, which closes it when it drains.
    for (net::Listener& l : s.listeners)
        if (!shared_by_loops(l)) l.fds.clear();
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
    for (unsigned i = 0; i < s.config.loops; ++i) {
        Loop* loop = s.loops[i].get();
        s.threads.emplace_back([up, loop, i] {
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
        throw Error(up->failure);
    }
}

void Server::stop() {
    // A unix socket's file goes first, so no new client finds it.
    for (net::Listener& l : impl_->listeners)
        if (l.address.kind == ListenAddress::Kind::unix_path) ::unlink(l.address.path.c_str());
    for (auto& loop : impl_->loops) loop->stop();
}

void Server::wait() {
    for (std::thread& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
    for (net::Listener& l : impl_->listeners) net::close_listener(l);
    impl_->listeners.clear();
}

}  // namespace brisk
