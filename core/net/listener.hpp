// brisk — listening sockets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "brisk/config.hpp"

namespace brisk::net {

struct Listener {
    ListenAddress address;
    /** "127.0.0.1:8080", "[::1]:8080" (port 0 resolved), "unix:/run/brisk.sock". */
    std::string bound;
    /**
     * One SO_REUSEPORT socket per loop for TCP; a single socket shared by the
     * loops for unix and for inherited sockets.
     */
    std::vector<int> fds;
    /** The loops close `fds` when they drain; the listener no longer does. */
    bool loops_own_fds = false;
    /** Made from an inherited socket: a unix socket's file is left to its creator. */
    bool inherited = false;
    /**
     * How many of `fds`, from the first, a successor (a reload's new
     * generation) holds duplicates of: set by reuse_listener().
     */
    mutable std::size_t held_by_successor = 0;
};

/**
 * Opens the sockets for `address`, `loops` of them for TCP. Throws
 * brisk::Error with one line ("127.0.0.1:80: Permission denied") on failure;
 * nothing is left open then.
 */
Listener open_listener(const ListenAddress& address, unsigned loops);

/**
 * The listener a reloaded server takes over from its predecessor: duplicates
 * of the same sockets, so connections waiting in their queues are accepted by
 * whichever generation gets to them first and none is lost when the old one
 * closes its descriptors. More loops than before get new SO_REUSEPORT sockets.
 */
Listener reuse_listener(const Listener& old, unsigned loops);

/**
 * The listener for `address` made of an inherited socket (systemd socket
 * activation, a prefork master's) bound to that address: a duplicate of it,
 * shared by the loops. Nothing when no socket in `inherited` is bound there.
 */
bool adopt_listener(const ListenAddress& address, const std::vector<int>& inherited, Listener& out);

/** A listener for an inherited socket that no configured address names. */
Listener inherited_listener(int fd);

/**
 * Sets TCP_DEFER_ACCEPT on the TCP sockets of `l`: a connection waits in the
 * kernel until its first bytes arrive, or for about `wait` (rounded up to
 * whole seconds: the kernel counts SYN-ACK retransmissions) if it sends
 * nothing; 0 turns it off. Unix sockets are left alone.
 */
void defer_accept(const Listener& l, Duration wait);

/** The family (AF_INET or AF_INET6) and local port of a TCP socket; false for any other socket. */
bool tcp_endpoint(int fd, int& family, std::uint16_t& port) noexcept;

/**
 * For a listening TCP socket about to close for good: from now on the kernel
 * drops new connection attempts to it (a bare SYN; the client's retry then
 * finds the socket gone, or another server on the port), while handshakes
 * already under way, and deferred connections' first bytes, still arrive
 * and can be accepted. False if the filter could not be attached, or the
 * socket is not TCP (the filter reads a TCP header).
 */
bool refuse_new_handshakes(int fd) noexcept;

/**
 * How many connections to local TCP port `port` (host order) of `family`
 * the kernel holds before they reach an accept queue: handshakes under way
 * and, with TCP_DEFER_ACCEPT, handshaken connections whose first bytes have
 * not arrived (sock_diag's SYN_RECV). Sockets of every process on the port
 * count. -1 when the kernel does not tell.
 */
int pending_handshakes(int family, std::uint16_t port) noexcept;

/** Closes the sockets (unless the loops own them) and, with `unlink_path`, removes a unix socket's file. */
void close_listener(Listener& l, bool unlink_path = true);

}  // namespace brisk::net
