// brisk — what loops share: the connection counters consulted on accept,
// the drain flag, and each loop's counters for the metrics route.
//
// A loop's counters are written by that loop only, as plain integers (a
// relaxed load and store, no read-modify-write); the metrics route reads
// every loop's with relaxed loads and sums them.
#pragma once

#include <time.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "server/admission.hpp"

namespace brisk {

class AccessLog;
namespace tls {
class Context;
}

using Counter = std::atomic<std::uint64_t>;

/** Adds to a counter only its own loop writes: no locked instruction. */
inline void bump(Counter& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline void set(Counter& c, std::uint64_t v) noexcept { c.store(v, std::memory_order_relaxed); }
inline std::uint64_t get(const Counter& c) noexcept { return c.load(std::memory_order_relaxed); }

/** Monotonic microseconds, for request durations. */
inline std::int64_t mono_us() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

/** Upper bounds of the request duration histogram, in microseconds. */
inline constexpr std::array<std::uint64_t, 16> kLatencyBucketsUs{
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

/** Status classes counted: 1xx to 5xx. */
inline constexpr std::size_t kStatusClasses = 5;

/** One loop's counters and gauges. */
struct LoopStats {
    /** `routes`: how many routes there are; slot 0 counts answers no route gave (404s, refused requests). */
    explicit LoopStats(std::size_t routes)
        : slots(routes + 1),
          requests(std::make_unique<Counter[]>(slots * kStatusClasses)),
          handler_errors(std::make_unique<Counter[]>(slots)) {}

    void record(std::size_t route, std::uint16_t status, std::uint64_t duration_us) noexcept {
        std::size_t cls = status >= 100 && status < 600 ? status / 100 - 1 : kStatusClasses - 1;
        bump(requests[route * kStatusClasses + cls]);
        std::size_t b = 0;
        while (b < kLatencyBucketsUs.size() && duration_us > kLatencyBucketsUs[b]) ++b;
        bump(latency[b]);
        bump(latency_sum_us, duration_us);
    }

    const std::size_t slots;
    std::unique_ptr<Counter[]> requests;                          // [route * 5 + status class]
    std::unique_ptr<Counter[]> handler_errors;                    // [route]: handlers that failed (500)
    std::array<Counter, kLatencyBucketsUs.size() + 1> latency{};  // per bucket, not cumulative; last: +Inf
    Counter latency_sum_us{0};
    Counter bytes_in{0};   // of the requests answered
    Counter bytes_out{0};  // of the answers
    Counter accepted{0};
    Counter rejected_concurrency{0};     // 503 at accept
    Counter rejected_per_ip{0};          // 429 at accept
    Counter rejected_blocking_queue{0};  // 503: the blocking pool's queue was full
    // TLS listeners: handshakes done (and of them resumed), and failed by reason.
    Counter tls_handshakes{0};
    Counter tls_resumed{0};
    std::array<Counter, 4> tls_failed{};  // [tls::Failure]
    // Gauges, published by the loop at each wake-up and before each handler runs.
    Counter open{0};
    Counter workers{0};
    Counter workers_idle{0};
};

/** State every loop sees. */
struct Shared {
    std::atomic<std::uint64_t> open{0};
    std::atomic<std::int64_t> last_overload_log_s{0};

    /** Connections per client address, counted only when --max-conns-per-ip is set. */
    PeerCounts per_ip;

    /** Set by Server::stop(): the health route answers 503 from then on. */
    std::atomic<bool> draining{false};
    /** Configuration reloads (SIGHUP) this process has done; a new generation carries the count on. */
    std::atomic<std::uint64_t> reloads{0};
    /** One per loop when a metrics route exists, else empty. Sized before the loops start. */
    std::vector<std::unique_ptr<LoopStats>> stats;
    /** The access log, or null. */
    AccessLog* access_log = nullptr;
    /** The TLS listeners' certificates and settings; null without a ",tls" listener. */
    const tls::Context* tls = nullptr;
    /** The loops run on io_uring (decided once per server by a probe), else on epoll. */
    bool uring = false;
    /** Threads of the blocking pool (0 without one), for the metrics route. */
    unsigned blocking_threads = 0;
};

}  // namespace brisk
