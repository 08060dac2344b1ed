#include "net/listener.hpp"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

bool same_address(const sockaddr_storage& x, const sockaddr_storage& y) {
    if (x.ss_family != y.ss_family) return false;
    if (x.ss_family == AF_INET) {
        const auto& a = reinterpret_cast<const sockaddr_in&>(x);
        const auto& b = reinterpret_cast<const sockaddr_in&>(y);
        return a.sin_port == b.sin_port && a.sin_addr.s_addr == b.sin_addr.s_addr;
    }
    if (x.ss_family == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6&>(x);
        const auto& b = reinterpret_cast<const sockaddr_in6&>(y);
        return a.sin6_port == b.sin6_port && std::memcmp(&a.sin6_addr, &b.sin6_addr, sizeof a.sin6_addr) == 0;
    }
    if (x.ss_family == AF_UNIX)
        return std::strcmp(reinterpret_cast<const sockaddr_un&>(x).sun_path,
                           reinterpret_cast<const sockaddr_un&>(y).sun_path) == 0;
    return false;
}

bool is_listening_stream(int fd) {
    int type = 0, listening = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) return false;
    len = sizeof listening;
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening;
}

/** A non-blocking close-on-exec duplicate: every generation owns its own descriptors. */
int duplicate(int fd, const ListenAddress& a) {
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) fail(a, "dup", errno);
    int flags = fcntl(copy, F_GETFL);
    fcntl(copy, F_SETFL, flags | O_NONBLOCK);
    return copy;
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
    int family = 0;
    std::uint16_t port = 0;
    tcp_endpoint(fd, family, port);
    return port;
}

void close_all(std::vector<int>& fds) {
    for (int fd : fds) ::close(fd);
    fds.clear();
}

std::string tcp_name(const ListenAddress& a, std::uint16_t port) {
    return (a.kind == ListenAddress::Kind::tcp6 ? "[" + a.host + "]:" : a.host + ":") + std::to_string(port);
}

/** Adds SO_REUSEPORT sockets to `l` until it has `loops`, on `port` (0: the first one picks). */
void add_tcp_sockets(Listener& l, std::uint16_t port, unsigned loops) {
    const ListenAddress& a = l.address;
    try {
        while (l.fds.size() < loops) {
            int fd = tcp_socket(a, to_sockaddr(a, port), true);
            l.fds.push_back(fd);
            if (listen(fd, kBacklog) != 0) fail(a, "listen", errno);
            if (port == 0) port = bound_port(fd);
        }
    } catch (...) {
        close_all(l.fds);
        throw;
    }
}

Listener open_tcp(const ListenAddress& a, unsigned loops) {
    Listener l{a, {}, {}};
    if (a.port != 0) {
        // SO_REUSEPORT would let us share a port with another running server
        // of the same user; a plain bind first tells "already in use" apart.
        int probe = tcp_socket(a, to_sockaddr(a, a.port), false);
        ::close(probe);
    }
    add_tcp_sockets(l, a.port, loops);
    l.bound = tcp_name(a, bound_port(l.fds[0]));
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

void defer_accept(const Listener& l, Duration wait) {
    if (l.address.kind == ListenAddress::Kind::unix_path) return;  // inherited ones too: set from the socket
    const auto ms = wait.count() > 0 ? wait.count() : 0;
    // Whole seconds, bounded so the int cannot overflow (the kernel caps the retransmissions anyway).
    const int secs = static_cast<int>(std::min<std::int64_t>((ms + 999) / 1000, 3600));
    for (int fd : l.fds) setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs);
}

bool tcp_endpoint(int fd, int& family, std::uint16_t& port) noexcept {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
    if (ss.ss_family == AF_INET)
        port = ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
    else if (ss.ss_family == AF_INET6)
        port = ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
    else
        return false;
    family = ss.ss_family;
    return true;
}

bool refuse_new_handshakes(int fd) noexcept {
    int family = 0;
    std::uint16_t port = 0;
    if (!tcp_endpoint(fd, family, port)) return false;
    // Classic BPF over the TCP header (a socket filter sees the segment from
    // its transport header): drop a segment whose flags have SYN without ACK.
    sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),  // the flags byte
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffU),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof code / sizeof code[0]), code};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
}

int pending_handshakes(int family, std::uint16_t port) noexcept {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    struct {
        nlmsghdr head;
        inet_diag_req_v2 req;
    } ask{};
    ask.head.nlmsg_len = sizeof ask;
    ask.head.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.head.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    ask.req.sdiag_family = static_cast<std::uint8_t>(family);
    ask.req.sdiag_protocol = IPPROTO_TCP;
    ask.req.idiag_states = 1U << TCP_SYN_RECV;
    int count = 0;
    if (send(fd, &ask, sizeof ask, 0) != static_cast<ssize_t>(sizeof ask)) count = -1;
    // The dump ends with NLMSG_DONE; bounded by the number of such sockets.
    // A truncated or malformed reply makes the answer unknown (-1).
    alignas(nlmsghdr) char buf[16384];
    for (bool done = count < 0; !done;) {
        iovec iov{buf, sizeof buf};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        ssize_t n = recvmsg(fd, &msg, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || (msg.msg_flags & MSG_TRUNC)) {
            count = -1;
            break;
        }
        int left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                if (h->nlmsg_type == NLMSG_ERROR) count = -1;
                done = true;
                break;
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) continue;
            const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
            if (m->idiag_state == TCP_SYN_RECV && ntohs(m->id.idiag_sport) == port) ++count;
        }
    }
    ::close(fd);
    return count;
}

Listener reuse_listener(const Listener& old, unsigned loops) {
    Listener l{old.address, old.bound, {}};
    l.inherited = old.inherited;
    // A shared socket stays shared; per-loop sockets are taken one per loop.
    std::size_t take = old.fds.size() == 1 ? 1 : std::min<std::size_t>(old.fds.size(), loops);
    try {
        for (std::size_t i = 0; i < take; ++i) l.fds.push_back(duplicate(old.fds[i], old.address));
    } catch (...) {
        close_all(l.fds);
        throw;
    }
    old.held_by_successor = take;
    if (old.fds.size() > 1 && l.fds.size() < loops) add_tcp_sockets(l, bound_port(l.fds[0]), loops);
    return l;
}

bool adopt_listener(const ListenAddress& address, const std::vector<int>& inherited, Listener& out) {
    sockaddr_storage want{};
    if (address.kind == ListenAddress::Kind::unix_path) {
        auto& sun = reinterpret_cast<sockaddr_un&>(want);
        sun.sun_family = AF_UNIX;
        if (address.path.size() >= sizeof sun.sun_path) return false;
        std::memcpy(sun.sun_path, address.path.c_str(), address.path.size() + 1);
    } else {
        want = to_sockaddr(address, address.port).ss;
    }
    for (int fd : inherited) {
        sockaddr_storage have{};
        socklen_t len = sizeof have;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&have), &len) != 0 || !is_listening_stream(fd)) continue;
        if (address.kind != ListenAddress::Kind::unix_path && address.port == 0) {
            // ":0" takes whatever port the inherited socket has.
            if (have.ss_family == AF_INET)
                reinterpret_cast<sockaddr_in&>(want).sin_port = reinterpret_cast<sockaddr_in&>(have).sin_port;
            if (have.ss_family == AF_INET6)
                reinterpret_cast<sockaddr_in6&>(want).sin6_port = reinterpret_cast<sockaddr_in6&>(have).sin6_port;
        }
        if (!same_address(want, have)) continue;
        out = Listener{address, {}, {duplicate(fd, address)}};
        out.inherited = true;
        out.bound =
            address.kind == ListenAddress::Kind::unix_path ? "unix:" + address.path : tcp_name(address, bound_port(fd));
        return true;
    }
    return false;
}

Listener inherited_listener(int fd) {
    sockaddr_storage have{};
    socklen_t len = sizeof have;
    ListenAddress a;
    char text[INET6_ADDRSTRLEN] = "";
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&have), &len) != 0 || !is_listening_stream(fd)) {
        a.text = "inherited descriptor " + std::to_string(fd);
        fail(a, "not a listening stream socket", 0);
    }
    if (have.ss_family == AF_UNIX) {
        a.kind = ListenAddress::Kind::unix_path;
        a.path = reinterpret_cast<sockaddr_un&>(have).sun_path;
        a.text = "unix:" + a.path;
    } else if (have.ss_family == AF_INET6) {
        const auto& sin6 = reinterpret_cast<sockaddr_in6&>(have);
        inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof text);
        a.kind = ListenAddress::Kind::tcp6;
        a.host = text;
        a.port = ntohs(sin6.sin6_port);
        a.text = tcp_name(a, a.port);
    } else {
        const auto& sin = reinterpret_cast<sockaddr_in&>(have);
        inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text);
        a.host = text;
        a.port = ntohs(sin.sin_port);
        a.text = tcp_name(a, a.port);
    }
    // A unix socket's file belongs to whoever created it (systemd): never unlinked by brisk.
    Listener l{a, a.text, {duplicate(fd, a)}};
    l.inherited = true;
    return l;
}

void close_listener(Listener& l, bool unlink_path) {
    if (!l.loops_own_fds) close_all(l.fds);
    l.fds.clear();
    if (unlink_path && !l.inherited && l.address.kind == ListenAddress::Kind::unix_path) unlink(l.address.path.c_str());
}

}  // namespace brisk::net
