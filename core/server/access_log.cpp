// brisk — the access log (see access_log.hpp).
#include "server/access_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "brisk/server.hpp"

namespace brisk {
namespace {

constexpr int kTickMs = 100;               // the writer looks at the rings this often
constexpr std::int64_t kReportMs = 60000;  // at most one warning a minute
constexpr std::int64_t kFinalMs = 2000;    // what is left at stop may take this long
constexpr std::size_t kPipeChunk = 4096;   // one write that cannot block on a pipe that polled writable

std::int64_t mono_ms() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::size_t round_up_pow2(std::size_t n) {
    std::size_t c = 4096;
    while (c < n) c <<= 1;
    return c;
}

std::uint64_t count_lines(const char* p, std::size_t n) noexcept {
    return static_cast<std::uint64_t>(std::count(p, p + n, '\n'));
}

}  // namespace

// --- LogRing

LogRing::LogRing(std::size_t capacity) : data_(std::make_unique<char[]>(round_up_pow2(capacity))) {
    mask_ = round_up_pow2(capacity) - 1;
}

bool LogRing::push(const char* p, std::size_t n) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    if (capacity() - static_cast<std::size_t>(head - tail) < n) return false;
    std::size_t at = static_cast<std::size_t>(head) & mask_;
    std::size_t first = std::min(n, capacity() - at);
    std::memcpy(data_.get() + at, p, first);
    if (first < n) std::memcpy(data_.get(), p + first, n - first);
    head_.store(head + n, std::memory_order_release);
    return true;
}

std::size_t LogRing::peek(const char*& a, std::size_t& a_len, const char*& b, std::size_t& b_len) const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_acquire);
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    auto n = static_cast<std::size_t>(head - tail);
    std::size_t at = static_cast<std::size_t>(tail) & mask_;
    a = data_.get() + at;
    a_len = std::min(n, capacity() - at);
    b = data_.get();
    b_len = n - a_len;
    return n;
}

// --- AccessLog

AccessLog::AccessLog(const Config& config, unsigned loops)
    : path_(config.access_log == "-" ? std::string() : config.access_log) {
    std::string error;
    if (!alog::compile(config.access_log_format, format_, error)) throw Error("access log format: " + error);
    for (unsigned i = 0; i < loops; ++i) rings_.push_back(std::make_unique<LogRing>(config.access_log_buffer));
    if (path_.empty()) {
        fd_ = STDOUT_FILENO;
    } else {
        fd_ = open_file(error);
        if (fd_ < 0) throw Error(error);
        own_fd_ = true;
    }
    struct stat st {};
    regular_ = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw Error(std::string("access log: eventfd: ") + std::strerror(errno));
}

AccessLog::~AccessLog() {
    stop();
    if (own_fd_) ::close(fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

int AccessLog::open_file(std::string& error) const {
    // Non-blocking, so that a FIFO without a reader is an error rather than a
    // hang, and a full pipe makes the writer wait in poll(), where it can stop.
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0) error = "cannot open access log \"" + path_ + "\": " + std::strerror(errno);
    return fd;
}

void AccessLog::start() {
    writer_ = std::thread([this] { run(); });
}

void AccessLog::stop() {
    if (!writer_.joinable()) return;
    stop_.store(true, std::memory_order_release);
    kick();
    writer_.join();
}

void AccessLog::kick() noexcept {
    if (kicked_.load(std::memory_order_relaxed) || kicked_.exchange(true, std::memory_order_acq_rel)) return;
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void AccessLog::reopen() noexcept {
    reopen_.store(true, std::memory_order_release);
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

std::uint64_t AccessLog::dropped() const noexcept {
    std::uint64_t n = write_dropped_.load(std::memory_order_relaxed);
    for (const auto& r : rings_) n += r->dropped.load(std::memory_order_relaxed);
    return n;
}

void AccessLog::run() {
    bool pending = false;  // bytes wait for a pipe to take them
    for (;;) {
        pollfd p[2] = {{wake_fd_, POLLIN, 0}, {fd_, POLLOUT, 0}};
        ::poll(p, pending && !regular_ ? 2 : 1, kTickMs);
        std::uint64_t v;
        [[maybe_unused]] ssize_t n = ::read(wake_fd_, &v, sizeof v);
        kicked_.store(false, std::memory_order_release);
        if (stop_.load(std::memory_order_acquire)) break;
        if (reopen_.exchange(false, std::memory_order_acq_rel)) {
            flush();  // lines of before the rotation go to the old file
            do_reopen();
        }
        pending = !flush();
        report_drops(false);
    }
    if (reopen_.exchange(false)) do_reopen();
    // What is left, for a bounded time: a pipe nobody reads must not keep brisk from exiting.
    const std::int64_t deadline = mono_ms() + kFinalMs;
    while (!flush() && mono_ms() < deadline) {
        // A pipe: wait until it takes bytes. A file that failed (a full disk): try again a little later.
        pollfd p{fd_, POLLOUT, 0};
        ::poll(regular_ ? nullptr : &p, regular_ ? 0 : 1, regular_ ? 10 : kTickMs);
    }
    for (auto& ring : rings_) {
        const char *a, *b;
        std::size_t a_len, b_len;
        std::size_t n = ring->peek(a, a_len, b, b_len);
        if (n == 0) continue;
        write_dropped_.fetch_add(count_lines(a, a_len) + count_lines(b, b_len), std::memory_order_relaxed);
        ring->consume(n);
    }
    report_drops(true);
}

// Moves what the rings hold to the file without waiting for a pipe (a
// regular file may block on the disk, which only this thread waits for).
// Bytes written leave the ring, even half a line (the rest follows in the
// next write); bytes not written stay, and while they do, the loops drop
// new lines. Returns false when bytes are left.
bool AccessLog::flush() {
    bool all = true;
    for (auto& ring : rings_) {
        for (int round = 0; round < 64; ++round) {
            const char *a, *b;
            std::size_t a_len, b_len;
            if (ring->peek(a, a_len, b, b_len) == 0) break;
            ssize_t n;
            if (own_fd_ || regular_) {
                iovec iov[2] = {{const_cast<char*>(a), a_len}, {const_cast<char*>(b), b_len}};
                n = ::writev(fd_, iov, b_len ? 2 : 1);
            } else {
                // The standard output is not ours to make non-blocking: write
                // only when it polls writable, and no more than it then takes.
                pollfd p{fd_, POLLOUT, 0};
                if (::poll(&p, 1, 0) <= 0) {
                    all = false;
                    break;
                }
                n = ::write(fd_, a, std::min(a_len, kPipeChunk));
            }
            if (n > 0) {
                ring->consume(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                std::int64_t now = mono_ms();
                if (last_error_ms_ == 0 || now - last_error_ms_ >= kReportMs) {
                    last_error_ms_ = now;
                    spdlog::error("access log \"{}\": {}; new lines are dropped until it takes them again",
                                  path_.empty() ? "-" : path_, std::strerror(errno));
                }
            }
            all = false;
            break;
        }
    }
    return all;
}

void AccessLog::do_reopen() {
    if (path_.empty()) return;  // the standard output is not reopened
    std::string error;
    int fd = open_file(error);
    if (fd < 0) {
        spdlog::error("{}; still writing to the old file", error);
        return;
    }
    ::close(fd_);
    fd_ = fd;
    struct stat st {};
    regular_ = fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
}

void AccessLog::report_drops(bool force) {
    std::uint64_t total = dropped();
    if (total == reported_) return;
    std::int64_t now = mono_ms();
    if (!force && last_report_ms_ != 0 && now - last_report_ms_ < kReportMs) return;
    spdlog::warn("access log: {} lines dropped (the log did not keep up; {} in all)", total - reported_, total);
    reported_ = total;
    last_report_ms_ = now;
}

// --- AccessLogger

AccessLogger::AccessLogger(AccessLog& log, unsigned loop) : log_(log), ring_(log.ring(loop)) { line_.reserve(1024); }

void AccessLogger::write(const alog::Record& record) noexcept {
    line_.clear();
    bool ok = true;
    try {
        renderer_.render(log_.format(), record, line_);
    } catch (...) {  // out of memory for a huge line
        ok = false;
    }
    if (!ok || !ring_.push(line_.data(), line_.size())) {
        ring_.dropped.store(ring_.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        return;
    }
    if (ring_.used() > ring_.capacity() / 2) log_.kick();
}

}  // namespace brisk
