#include "net/poller.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace brisk::net {

Poller::Poller() : fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
}

Poller::~Poller() { ::close(fd_); }

bool Poller::add(int fd, std::uint32_t events, std::uint64_t data) noexcept {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Poller::remove(int fd) noexcept { epoll_ctl(fd_, EPOLL_CTL_DEL, fd, nullptr); }

int Poller::wait(epoll_event* events, int max, int timeout_ms) noexcept {
    int n = epoll_wait(fd_, events, max, timeout_ms);
    return n < 0 ? 0 : n;  // EINTR: the caller just loops
}

}  // namespace brisk::net
