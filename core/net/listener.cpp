#include "net/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "brisk/server.hpp"

namespace brisk::net {
namespace {

constexpr int kBacklog = 4096;

[[noreturn]] void fail(const ListenAddress& a, const char* what, int err) {
    std::string msg = "cannot listen on " + a.text + ": " + what;
    if (err) {
        msg += ": ";
        msg += std::strerror(err);
    }
    throw Error(msg);
}

struct SockAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
};

SockAddr to_sockaddr(const ListenAddress& a, std::uint16_t port) {
    SockAddr s;
    if (a.kind == ListenAddress::Kind::tcp6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, a.host.c_str(), &sin6->sin6_addr) != 1) fail(a, "bad IPv6 address", 0);
        s.len = sizeof(sockaddr_in6);
    } else {
        auto* sin = reinterpret_cast<sockaddr_in*>(&s.ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        if (inet_pton(AF_INET, a.host.c_str(), &sin->sin_addr) != 1) fail(a, "bad IPv4 address", 0);
        s.len = sizeof(sockaddr_in);
    }
    return s;
}

int tcp_socket(const ListenAddress& a, const SockAddr& sa, bool reuseport) {
    int fd = socket(sa.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(a, "socket", errno);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (sa.ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    // Accepted sockets inherit TCP_NODELAY: responses leave at once, without a setsockopt per connection.
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&sa.ss), sa.len) != 0) {
        int err = errno;
        ::close(fd);
        fail(a, "bind", err);
    }
    return fd;
}

std::uint16_t bound_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

void close_all(std::vector<int>& fds) {
    for (int fd : fds) ::close(fd);
    fds.clear();
}

Listener open_tcp(const ListenAddress& a, unsigned loops) {
    Listener l{a, {}, {}};
    std::uint16_t port = a.port;
    if (port != 0) {
        // SO_REUSEPORT would let us share a port with another running server
        // of the same user; a plain bind first tells "already in use" apart.
        int probe = tcp_socket(a, to_sockaddr(a, port), false);
        ::close(probe);
    }
    try {
        for (unsigned i = 0; i < loops; ++i) {
            int fd = tcp_socket(a, to_sockaddr(a, port), true);
            l.fds.push_back(fd);
            if (listen(fd, kBacklog) != 0) fail(a, "listen", errno);
            if (port == 0) port = bound_port(fd);
        }
    } catch (...) {
        close_all(l.fds);
        throw;
    }
    l.bound = a.kind == ListenAddress::Kind::tcp6 ? "[" + a.host + "]:" : a.host + ":";
    l.bound += std::to_string(port);
    return l;
}

Listener open_unix(const ListenAddress& a) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (a.path.empty() || a.path.size() >= sizeof sun.sun_path) fail(a, "path empty or too long", 0);
    std::memcpy(sun.sun_path, a.path.c_str(), a.path.size() + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail(a, "socket", errno);
    struct stat st {};
    if (lstat(a.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        // A socket file left by a server that is gone may be replaced; a live one may not.
        if (connect(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof sun) == 0 || errno != ECONNREFUSED) {
            ::close(fd);
            fail(a, "bind", EADDRINUSE);
        }
        ::close(fd);
        unlink(a.path.c_str());
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) fail(a, "socket", errno);
    }
    if (bind(fd, reinterpret_cast<const sockaddr*>(&sun), sizeof sun) != 0 || listen(fd, kBacklog) != 0) {
        int err = errno;
        ::close(fd);
        fail(a, "bind", err);
    }
    return Listener{a, "unix:" + a.path, {fd}};
}

}  // namespace

Listener open_listener(const ListenAddress& address, unsigned loops) {
    if (address.kind == ListenAddress::Kind::unix_path) return open_unix(address);
    return open_tcp(address, loops);
}

void close_listener(Listener& l) {
    close_all(l.fds);
    if (l.address.kind == ListenAddress::Kind::unix_path) unlink(l.address.path.c_str());
}

}  // namespace brisk::net
