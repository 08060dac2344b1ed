// brisk — the hot system calls without libc's cancellation-point wrappers.
//
// glibc's read() and send() switch thread cancellation on and off around the
// call (about 60 instructions a request, measured with callgrind). brisk never
// cancels threads, so the loop calls the kernel through syscall(2) directly.
#pragma once

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace brisk::net {

/** Disconnects a client caused: expected on the internet, logged only on request. */
inline bool is_disconnect(int err) noexcept {
    return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == ENOTCONN;
}

inline ssize_t sys_read(int fd, void* buf, std::size_t len) noexcept { return ::syscall(SYS_read, fd, buf, len); }

inline ssize_t sys_send(int fd, const void* buf, std::size_t len, int flags) noexcept {
    return ::syscall(SYS_sendto, fd, buf, len, flags, nullptr, 0);
}

}  // namespace brisk::net
