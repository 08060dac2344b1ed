// brisk — readiness notification (epoll). The loop only adds, removes and
// waits; an io_uring backend replaces this file and the loop's read/send
// calls, not the connection logic.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

namespace brisk::net {

class Poller {
public:
    Poller();
    ~Poller();
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;

    /** Returns false with errno set on failure. */
    bool add(int fd, std::uint32_t events, std::uint64_t data) noexcept;
    void remove(int fd) noexcept;
    int wait(epoll_event* events, int max, int timeout_ms) noexcept;

private:
    int fd_;
};

}  // namespace brisk::net
