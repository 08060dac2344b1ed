// brisk — the access log. Loops never write to the file: each renders its
// lines into a ring of its own (one producer, one consumer, no lock), and one
// writer thread moves the rings' bytes to the file. When a ring is full, the
// line is dropped and counted; the writer reports drops in the error log at
// most once a minute. A full disk or a slow pipe stalls the writer only.
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "brisk/config.hpp"
#include "server/log_format.hpp"

namespace brisk {

/** Bytes from one loop to the writer thread. Capacity is a power of two. */
class LogRing {
public:
    explicit LogRing(std::size_t capacity);

    /** Producer: appends all of `n` bytes, or nothing (false) when they do not fit. */
    bool push(const char* p, std::size_t n) noexcept;
    /** Producer: bytes waiting. */
    std::size_t used() const noexcept {
        return static_cast<std::size_t>(head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_acquire));
    }
    std::size_t capacity() const noexcept { return mask_ + 1; }

    /** Consumer: the waiting bytes as at most two pieces; returns how many bytes. */
    std::size_t peek(const char*& a, std::size_t& a_len, const char*& b, std::size_t& b_len) const noexcept;
    /** Consumer: `n` bytes are written. */
    void consume(std::size_t n) noexcept {
        tail_.store(tail_.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }

    /** Lines the producer could not fit. */
    std::atomic<std::uint64_t> dropped{0};

private:
    std::unique_ptr<char[]> data_;
    std::size_t mask_;
    alignas(64) std::atomic<std::uint64_t> head_{0};  // written by the producer
    alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the consumer
};

class AccessLog {
public:
    /**
     * Compiles the format and opens the file ("-": the standard output).
     * Throws brisk::Error with a one-line reason.
     */
    AccessLog(const Config& config, unsigned loops);
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    /** Starts the writer thread. */
    void start();
    /** Writes what is left (for at most 2 s when the file does not take it), then stops the writer. */
    void stop();
    /** Asks the writer to open the file again (after logrotate moved it). Any thread. */
    void reopen() noexcept;

    const alog::Format& format() const noexcept { return format_; }
    LogRing& ring(unsigned loop) noexcept { return *rings_[loop]; }
    /** Lines dropped so far: rings that were full, writes that failed. */
    std::uint64_t dropped() const noexcept;
    /** Wakes the writer before its next tick (a ring is filling up). */
    void kick() noexcept;

private:
    void run();
    bool flush();
    void do_reopen();
    void report_drops(bool force);
    int open_file(std::string& error) const;

    std::string path_;  // empty for the standard output
    alog::Format format_;
    std::vector<std::unique_ptr<LogRing>> rings_;
    int fd_ = -1;
    bool own_fd_ = false;
    bool regular_ = false;
    int wake_fd_ = -1;
    std::atomic<bool> kicked_{false};
    std::atomic<bool> reopen_{false};
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> write_dropped_{0};
    std::uint64_t reported_ = 0;
    std::int64_t last_report_ms_ = 0;
    std::int64_t last_error_ms_ = 0;
    std::thread writer_;
};

/** A loop's side of the access log: renders lines and hands them to its ring. */
class AccessLogger {
public:
    AccessLogger(AccessLog& log, unsigned loop);
    void write(const alog::Record& record) noexcept;

private:
    AccessLog& log_;
    LogRing& ring_;
    alog::Renderer renderer_;
    std::string line_;
};

}  // namespace brisk
