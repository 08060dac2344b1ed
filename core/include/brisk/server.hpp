// brisk — the server: listeners, one event loop per thread, graceful stop.
#pragma once

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

    /** Binds every listener. Throws brisk::Error ("127.0.0.1:8080: address already in use"). */
    void listen();

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

    /** Blocks until every loop thread has exited. */
    void wait();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace brisk
