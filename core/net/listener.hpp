// brisk — listening sockets.
#pragma once

#include <string>
#include <vector>

#include "brisk/config.hpp"

namespace brisk::net {

struct Listener {
    ListenAddress address;
    /** "127.0.0.1:8080", "[::1]:8080" (port 0 resolved), "unix:/run/brisk.sock". */
    std::string bound;
    /** One SO_REUSEPORT socket per loop for TCP; a single shared socket for unix. */
    std::vector<int> fds;
};

/**
 * Opens the sockets for `address`, `loops` of them for TCP. Throws
 * brisk::Error with one line ("127.0.0.1:80: Permission denied") on failure;
 * nothing is left open then.
 */
Listener open_listener(const ListenAddress& address, unsigned loops);

/** Closes the sockets and removes a unix socket's file. */
void close_listener(Listener& l);

}  // namespace brisk::net
