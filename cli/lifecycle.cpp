// brisk — the process's life: generations of servers, signals, systemd, prefork.
#include "lifecycle.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "brisk/server.hpp"
#include "logging.hpp"
#include "options.hpp"

namespace brisk::cli {
namespace {

using Clock = std::chrono::steady_clock;

/** More abnormal worker exits than this within kCrashWindow and the master gives up. */
constexpr unsigned kCrashLimit = 10;
constexpr auto kCrashWindow = std::chrono::seconds(60);

int fail(const std::string& message, bool also_log) {
    // One line per problem (every plugin instance that failed, say).
    std::string_view rest = message;
    while (!rest.empty()) {
        const std::size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        std::cerr << "brisk: " << line << '\n';
        // With --error-log FILE the file should tell the story too.
        if (also_log) spdlog::error("{}", line);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    }
    std::cerr.flush();
    return exit_invalid;
}

sigset_t signal_set(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    return set;
}

const char* signal_name(int s) {
    switch (s) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGHUP:
        return "SIGHUP";
    case SIGUSR1:
        return "SIGUSR1";
    default:
        return "a signal";
    }
}

// systemd (Type=notify) hears these; without $NOTIFY_SOCKET they do nothing.
void notify(const char* state) { sd_notify(0, state); }

void notify_reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    auto usec =
        static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

void reopen_logs(Server* server) {
    std::string error;
    // logrotate moved the files: write to new ones of the same names.
    if (!reopen_error_log(error)) spdlog::error("{}", error);
    if (server) server->reopen_logs();
    spdlog::info("SIGUSR1 received, log files reopened");
}

/** Sockets systemd passed (LISTEN_FDS for this process); the variables are cleared. */
std::vector<int> activated_sockets() {
    int n = sd_listen_fds(1);
    std::vector<int> fds(n > 0 ? static_cast<std::size_t>(n) : 0);
    for (std::size_t i = 0; i < fds.size(); ++i) fds[i] = SD_LISTEN_FDS_START + static_cast<int>(i);
    return fds;
}

/**
 * One process serving: the running server, the ones a reload replaced
 * (finishing their requests on threads of their own), and the signals.
 */
class Serving {
public:
    Serving(int argc, const char* const* argv, Options options, std::vector<int> inherited, int ready_fd)
        : argc_(argc),
          argv_(argv),
          options_(std::move(options)),
          inherited_(std::move(inherited)),
          ready_fd_(ready_fd) {}

    int run() {
        const bool log_to_file = !options_.error_log.empty();
        try {
            current_ = std::make_unique<Server>(options_.server);
            current_->listen(inherited_);
            current_->start();
        } catch (const std::exception& e) {
            current_.reset();
            return fail(e.what(), log_to_file);
        }
        announce();
        if (ready_fd_ >= 0) {
            [[maybe_unused]] ssize_t n = ::write(ready_fd_, "R", 1);
            ::close(ready_fd_);
        }
        notify("READY=1");

        const sigset_t handled = signal_set({SIGINT, SIGTERM, SIGHUP, SIGUSR1});
        int signal_number = 0;
        for (;;) {
            if (sigwait(&handled, &signal_number) != 0) signal_number = SIGTERM;
            if (signal_number == SIGUSR1) {
                reopen_logs(current_.get());
            } else if (signal_number == SIGHUP) {
                reload();
            } else {
                break;
            }
        }
        spdlog::info("{} received, shutting down", signal_name(signal_number));
        notify("STOPPING=1");
        // A second signal ends brisk at once, should the graceful stop take too long.
        const sigset_t stop_signals = signal_set({SIGINT, SIGTERM});
        pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
        current_->stop();
        if (!finish()) {
            spdlog::error("shutdown timeout ({} ms) reached with requests still in flight; closing them",
                          options_.shutdown_timeout.count());
            spdlog::default_logger()->flush();
            std::_Exit(exit_invalid);
        }
        current_.reset();
        spdlog::info("stopped");
        return 0;
    }

private:
    struct Retired {
        std::thread thread;
        std::shared_ptr<std::atomic<bool>> done;
    };

    void announce() const {
        for (const auto& line : current_->plugin_summaries()) spdlog::info("{}", line);
        for (const auto& address : current_->bound_addresses()) spdlog::info("listening on {}", address);
    }

    /**
     * SIGHUP: the command line and file are read again; a valid result
     * becomes a new server that shares the listening sockets, takes every
     * new connection, and the old one finishes what it has and goes.
     */
    void reload() {
        spdlog::info("SIGHUP received, reloading the configuration");
        notify_reloading();
        Options next;
        std::ostringstream out, err;
        std::optional<int> status;
        try {
            status = parse_command_line(argc_, argv_, next, out, err);
        } catch (const std::exception& e) {
            status = exit_invalid;
            err << e.what() << '\n';
        }
        if (status) {
            std::istringstream lines(err.str());
            for (std::string line; std::getline(lines, line);) {
                if (line.rfind("brisk: ", 0) == 0) line.erase(0, 7);
                if (!line.empty()) spdlog::error("reload refused, the running configuration keeps serving: {}", line);
            }
            notify("READY=1");
            return;
        }
        if (next.error_log != options_.error_log || next.processes != options_.processes)
            spdlog::warn("error_log and processes change only with a restart");
        spdlog::set_level(spdlog::level::from_str(next.log_level));

        std::unique_ptr<Server> fresh;
        try {
            fresh = std::make_unique<Server>(next.server);
            fresh->listen(inherited_, current_.get());
            fresh->start();
        } catch (const std::exception& e) {
            // It shares the running server's sockets: unix socket files must stay.
            if (fresh) fresh->retire();
            fresh.reset();
            spdlog::error("reload failed, the running configuration keeps serving: {}", e.what());
            notify("READY=1");
            return;
        }
        current_->retire();
        auto done = std::make_shared<std::atomic<bool>>(false);
        retired_.push_back(Retired{std::thread([old = std::move(current_), done]() mutable {
                                       old->wait();
                                       old.reset();
                                       done->store(true);
                                   }),
                                   done});
        current_ = std::move(fresh);
        options_.shutdown_timeout = next.shutdown_timeout;
        ++generation_;
        announce();
        spdlog::info("reloaded: generation {} serves, the previous one finishes its requests", generation_);
        notify("READY=1");
        // Generations that have finished are joined now, so reloads do not pile up threads.
        for (auto it = retired_.begin(); it != retired_.end();) {
            if (it->done->load()) {
                it->thread.join();
                it = retired_.erase(it);
            } else {
                ++it;
            }
        }
    }

    /** Waits for the running and retired servers; false if --shutdown-timeout ran out first. */
    bool finish() {
        const bool limited = options_.shutdown_timeout.count() > 0;
        const auto deadline = Clock::now() + options_.shutdown_timeout;
        if (!limited) {
            current_->wait();
        } else if (!current_->wait_for(
                       std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) {
            return false;
        }
        for (Retired& r : retired_) {
            while (limited && !r.done->load()) {
                if (Clock::now() >= deadline) return false;
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            r.thread.join();
        }
        retired_.clear();
        return true;
    }

    int argc_;
    const char* const* argv_;
    Options options_;
    std::vector<int> inherited_;
    int ready_fd_;
    std::unique_ptr<Server> current_;
    std::vector<Retired> retired_;
    unsigned generation_ = 0;
};

/**
 * --processes N: a master that holds the listening sockets and keeps N
 * worker processes serving from them, restarting one that dies.
 */
class Master {
public:
    Master(int argc, const char* const* argv, Options options, std::vector<int> activated)
        : argc_(argc), argv_(argv), options_(std::move(options)), activated_(std::move(activated)) {}

    int run() {
        const bool log_to_file = !options_.error_log.empty();
        const unsigned n = options_.processes;
        try {
            sockets_ = activated_.empty() ? open_worker_sockets(options_.server, n)
                                          : std::vector<std::vector<int>>(n, activated_);
        } catch (const std::exception& e) {
            return fail(e.what(), log_to_file);
        }
        workers_.resize(n);
        prepare_worker_secrets();
        std::vector<int> ready(n, -1);
        for (unsigned k = 0; k < n; ++k) ready[k] = spawn(k);
        // Every worker says when it serves; one that fails to start fails the start-up.
        bool all_ready = true;
        for (unsigned k = 0; k < n; ++k) {
            char byte = 0;
            ssize_t r;
            do r = ::read(ready[k], &byte, 1);
            while (r < 0 && errno == EINTR);
            ::close(ready[k]);
            all_ready = all_ready && r == 1;
        }
        if (!all_ready) {
            stop_workers();
            return exit_invalid;
        }
        spdlog::info("master {}: {} worker processes serving", ::getpid(), n);
        notify("READY=1");

        const sigset_t handled = signal_set({SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGCHLD});
        for (;;) {
            int s = 0;
            if (sigwait(&handled, &s) != 0) s = SIGTERM;
            if (s == SIGCHLD) {
                if (!reap()) {
                    spdlog::critical("workers keep dying ({} times within {} s); the master gives up", kCrashLimit + 1,
                                     kCrashWindow.count());
                    stop_workers();
                    return exit_invalid;
                }
            } else if (s == SIGHUP || s == SIGUSR1) {
                if (s == SIGHUP) notify_reloading();
                if (s == SIGUSR1) reopen_logs(nullptr);
                forward(s);
                if (s == SIGHUP) notify("READY=1");
            } else {
                spdlog::info("{} received, stopping the worker processes", signal_name(s));
                notify("STOPPING=1");
                return stop_workers() ? 0 : exit_invalid;
            }
        }
    }

private:
    struct Worker {
        pid_t pid = -1;
    };

    /** Forks worker k; returns the read end of its readiness pipe. */
    int spawn(unsigned k) {
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
            spdlog::error("worker {}: pipe: {}", k, std::strerror(errno));
            return -1;
        }
        const pid_t master = ::getpid();
        pid_t pid = ::fork();
        if (pid < 0) {
            spdlog::error("worker {}: fork: {}", k, std::strerror(errno));
            ::close(pipe_fds[0]);
            ::close(pipe_fds[1]);
            return -1;
        }
        if (pid == 0) {
            // The worker: it goes when the master goes, however that happens.
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (::getppid() != master) std::_Exit(exit_invalid);
            ::close(pipe_fds[0]);
            const sigset_t chld = signal_set({SIGCHLD});
            pthread_sigmask(SIG_UNBLOCK, &chld, nullptr);
            std::exit(Serving(argc_, argv_, options_, sockets_[k], pipe_fds[1]).run());
        }
        ::close(pipe_fds[1]);
        workers_[k].pid = pid;
        return pipe_fds[0];
    }

    /** Collects dead workers and starts their replacements; false past the crash limit. */
    bool reap() {
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
            for (unsigned k = 0; k < workers_.size(); ++k) {
                if (workers_[k].pid != pid) continue;
                workers_[k].pid = -1;
                if (WIFSIGNALED(status))
                    spdlog::error("worker {} (pid {}) killed by signal {}; starting another", k, pid, WTERMSIG(status));
                else
                    spdlog::error("worker {} (pid {}) exited with status {}; starting another", k, pid,
                                  WEXITSTATUS(status));
                const auto now = Clock::now();
                crashes_.push_back(now);
                while (!crashes_.empty() && now - crashes_.front() > kCrashWindow) crashes_.pop_front();
                if (crashes_.size() > kCrashLimit) return false;
                int ready = spawn(k);
                if (ready >= 0) ::close(ready);  // a replacement's start-up is told by its own log
            }
        }
        return true;
    }

    void forward(int s) {
        for (const Worker& w : workers_)
            if (w.pid > 0) ::kill(w.pid, s);
    }

    /** SIGTERM to every worker, then waits for them all; true if each stopped with status 0. */
    bool stop_workers() {
        // Sockets of the master's own close when it exits: from now on they
        // take no new connection (systemd's sockets stay as they are).
        if (activated_.empty()) refuse_new_connections(sockets_);
        forward(SIGTERM);
        bool clean = true;
        for (Worker& w : workers_) {
            if (w.pid <= 0) continue;
            int status = 0;
            while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {}
            clean = clean && WIFEXITED(status) && WEXITSTATUS(status) == 0;
            w.pid = -1;
        }
        spdlog::info("stopped");
        return clean;
    }

    int argc_;
    const char* const* argv_;
    Options options_;
    std::vector<int> activated_;
    std::vector<std::vector<int>> sockets_;
    std::vector<Worker> workers_;
    std::deque<Clock::time_point> crashes_;
};

}  // namespace

int serve(int argc, const char* const* argv, const Options& options) {
    std::string error;
    if (!setup_logging(options, error)) return fail(error, false);

    // Blocked before any thread or worker exists (loops, the blocking pool,
    // the access log writer), so all inherit the mask and the signals reach
    // sigwait() instead of an arbitrary thread.
    const sigset_t handled = signal_set({SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGCHLD});
    if (int rc = pthread_sigmask(SIG_BLOCK, &handled, nullptr); rc != 0)
        return fail(std::string("cannot block signals: ") + std::strerror(rc), !options.error_log.empty());

    std::vector<int> activated = activated_sockets();
    if (!activated.empty()) spdlog::info("{} listening sockets from systemd", activated.size());
    if (options.processes > 0) return Master(argc, argv, options, std::move(activated)).run();
    const sigset_t chld = signal_set({SIGCHLD});
    pthread_sigmask(SIG_UNBLOCK, &chld, nullptr);
    return Serving(argc, argv, options, std::move(activated), -1).run();
}

}  // namespace brisk::cli
