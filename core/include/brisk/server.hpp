// brisk — the server: listeners, one event loop per thread, graceful stop.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "brisk/config.hpp"

namespace brisk {

/** A failure the user can act on; what() is one line, without a trailing newline. */
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Server {
public:
    explicit Server(Config config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /**
     * Binds every listener. Throws brisk::Error ("127.0.0.1:8080: address already in use").
     *
     * An address the predecessor (the server this one replaces on reload)
     * listens on is taken over from it: both share the sockets, so no
     * connection waiting to be accepted is lost when the predecessor retires.
     * An address an inherited socket (systemd socket activation, a prefork
     * master's) is bound to uses that socket, and inherited sockets that no
     * address names are listened on too. The descriptors in `inherited` stay
     * the caller's.
     */
    void listen(const std::vector<int>& inherited = {}, const Server* predecessor = nullptr);

    /** Addresses actually bound (port 0 resolved), in --listen order. */
    std::vector<std::string> bound_addresses() const;

    /** One line per plugin instance loaded ('plugin "x": hello 1.0.0 from ./libhello.so'). */
    std::vector<std::string> plugin_summaries() const;

    /**
     * Starts the loop threads and returns once each has set up its handlers;
     * throws brisk::Error (every loop stopped) if one could not.
     */
    void start();

    /**
     * Graceful stop: listeners close, idle keep-alive connections close at
     * once, in-flight requests are answered with `Connection: close`.
     * Thread-safe; may be called from any thread (not from a signal handler).
     */
    void stop();

    /**
     * stop() for a server whose successor has taken its sockets over
     * (listen(..., this)): unix socket files stay where they are.
     */
    void retire();

    /** Blocks until every loop thread has exited, then writes the rest of the access log. */
    void wait();

    /** wait(), for at most `timeout`: false (and nothing waited for) if a loop is still running then. */
    bool wait_for(std::chrono::milliseconds timeout);

    /**
     * Opens the access log file again, by its name (after logrotate moved
     * it); lines already queued go to the old file. Thread-safe; not from a
     * signal handler.
     */
    void reopen_logs();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/**
 * The listening sockets of a prefork master: for each address of `config`,
 * one SO_REUSEPORT socket per worker (one shared socket for a unix address).
 * Element k lists worker k's descriptors, to pass to Server::listen() as
 * inherited. The master keeps them open for its whole life, so connections
 * waiting for a worker that crashed are accepted by its replacement. Throws
 * brisk::Error as Server::listen() does.
 */
std::vector<std::vector<int>> open_worker_sockets(const Config& config, unsigned workers);

/**
 * For a prefork master, before it forks: makes what its workers must share
 * and cannot agree on afterwards (the secret the TLS session-ticket keys are
 * derived from, so a ticket one worker issued resumes on any other).
 */
void prepare_worker_secrets() noexcept;

/**
 * For a prefork master that stops: its TCP sockets (from
 * open_worker_sockets) complete no new handshake from now on, so no client
 * connects to a socket that will be reset when the master exits. The
 * workers still serve what reached them. Unix sockets are left alone.
 */
void refuse_new_connections(const std::vector<std::vector<int>>& sockets) noexcept;

/**
 * For --check-config: loads every plugin instance of `config` and runs its
 * create() (then destroy()), as start-up would; returns one line per
 * instance that fails (empty: all of them load).
 */
std::vector<std::string> check_plugins(const Config& config);

namespace tls {
class Context;
}

/**
 * With a TLS listener: loads the certificates and keys and applies the TLS
 * settings, as start-up does; returns the problem in one line naming the
 * file (empty: fine, or no TLS listener). With `out`, keeps the result.
 */
std::string check_tls(const Config& config, std::unique_ptr<tls::Context>* out = nullptr);

}  // namespace brisk
