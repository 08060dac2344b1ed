// loadgen -- a lean HTTP/1.1 load generator for loopback benchmarks.
//
//   loadgen [options] http://127.0.0.1:PORT/path
//
// Modes
//   closed loop (default)  every connection keeps one request (or, with -p N, one
//                          batch of N pipelined requests written at once) in
//                          flight and sends the next as soon as the answer is in
//   churn (--churn)        one request per connection with `Connection: close`,
//                          then a new connection at once; latency includes the
//                          TCP handshake
//   fixed rate (-R RATE)   open loop: request k of connection i is due at
//                          t0 + (i + k * CONNS) / RATE, i.e. CONNS interleaved
//                          schedules adding up to RATE requests/s. Latency is
//                          measured from the due time, not from the moment the
//                          request could be written, so a stalled connection
//                          charges the wait to every request queued behind it
//                          (no coordinated omission). -p N allows up to N
//                          requests in flight per connection.
//
// Design notes (why it is cheaper per request than wrk)
//   - one epoll instance per thread, edge triggered, registered once per socket
//     (EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET): no epoll_ctl per request;
//   - the next request (batch) of every connection answered in an epoll round
//     is written at the end of that round with one send() from a pre-built
//     buffer holding DEPTH copies of the request;
//   - reads go into one large per-thread buffer; a read shorter than the space
//     offered means the socket is drained, so there is no extra read() that
//     would only return EAGAIN;
//   - responses are framed by a small incremental parser that only looks at
//     the status line, Content-Length, Transfer-Encoding and Connection; body
//     bytes are counted, never copied. Only a response head (or chunk-size
//     line) split across two reads is copied, into a per-connection carry
//     buffer allocated the first time it is needed;
//   - latency goes into a log-linear histogram (HdrHistogram layout, < 0.8 %
//     relative error from 1 ns to ~137 s), one per thread, merged at the end.
//
// Measurement window
//   [start + warm-up, start + warm-up + duration]. A response counts when its
//   request was sent (closed loop) or due (fixed rate) inside the window;
//   requests still in flight when the window closes are dropped. Errors and
//   bytes count when they happen inside the window. The client CPU time
//   (getrusage, all threads) is taken over the same window.

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr uint64_t kNsPerMs = 1'000'000;

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * kNsPerSec + uint64_t(ts.tv_nsec);
}

// Set by the main thread when SIGINT/SIGTERM arrives; polled by the workers.
std::atomic<bool> g_stop{false};

// ---------------------------------------------------------------------------
// Latency histogram
// ---------------------------------------------------------------------------

// Log-linear histogram of nanosecond values, laid out like HdrHistogram with
// 256 sub-buckets: values below 256 have their own bucket, above that every
// power-of-two range [2^k, 2^(k+1)) is cut into 128 equal buckets, so a bucket
// is never wider than 1/128 (0.78 %) of its values. Values above kMaxValue
// (~137 s) are clamped into the last bucket; min, max and the sum are exact.
class Histogram {
public:
    static constexpr int kSubBits = 8;
    static constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;
    static constexpr uint64_t kHalf = kSubCount / 2;
    static constexpr int kMaxBits = 37;
    static constexpr uint64_t kMaxValue = (uint64_t{1} << kMaxBits) - 1;
    static constexpr size_t kBuckets = kSubCount + (kMaxBits - kSubBits) * kHalf;

    Histogram() : counts_(kBuckets, 0) {}

    void record(uint64_t v) {
        ++counts_[index(std::min(v, kMaxValue))];
        ++total_;
        sum_ += v;
        max_ = std::max(max_, v);
        min_ = std::min(min_, v);
    }

    void merge(const Histogram& o) {
        for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
        total_ += o.total_;
        sum_ += o.sum_;
        max_ = std::max(max_, o.max_);
        min_ = std::min(min_, o.min_);
    }

    uint64_t count() const { return total_; }
    uint64_t max() const { return total_ ? max_ : 0; }
    uint64_t min() const { return total_ ? min_ : 0; }
    double mean() const { return total_ ? double(sum_) / double(total_) : 0.0; }

    // Value at percentile q (0..100]: the highest value of the bucket holding
    // the sample of rank ceil(q/100 * count), capped at the exact maximum.
    uint64_t percentile(double q) const {
        if (total_ == 0) return 0;
        auto rank = uint64_t(std::ceil(q / 100.0 * double(total_)));
        rank = std::clamp<uint64_t>(rank, 1, total_);
        uint64_t seen = 0;
        for (size_t i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::min(upper(i), max_);
        }
        return max_;
    }

private:
    static size_t index(uint64_t v) {
        if (v < kSubCount) return size_t(v);
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - (kSubBits - 1);  // v >> shift is in [kHalf, kSubCount)
        return size_t(kSubCount + uint64_t(shift - 1) * kHalf + ((v >> shift) - kHalf));
    }

    static uint64_t upper(size_t i) {
        if (i < kSubCount) return i;
        const size_t j = i - kSubCount;
        const int shift = int(j / kHalf) + 1;
        const uint64_t mantissa = j % kHalf + kHalf;
        return ((mantissa + 1) << shift) - 1;
    }

    std::vector<uint64_t> counts_;
    uint64_t total_ = 0;
    uint64_t sum_ = 0;
    uint64_t max_ = 0;
    uint64_t min_ = UINT64_MAX;
};

// ---------------------------------------------------------------------------
// HTTP/1.1 response framing
// ---------------------------------------------------------------------------

// `(c | 0x20) == lower` is a case-insensitive match for letters, digits and
// '-', which is all a header name we look for contains.
bool name_is(const char* p, size_t n, std::string_view lower) {
    if (n != lower.size()) return false;
    for (size_t i = 0; i < n; ++i)
        if (char(p[i] | 0x20) != lower[i]) return false;
    return true;
}

// Case-insensitive search of a lower-case ASCII word in [p, p + n).
bool contains_word(const char* p, size_t n, std::string_view lower) {
    if (n < lower.size()) return false;
    for (size_t i = 0; i + lower.size() <= n; ++i) {
        size_t k = 0;
        while (k < lower.size() && char(p[i + k] | 0x20) == lower[k]) ++k;
        if (k == lower.size()) return true;
    }
    return false;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = char(c | 0x20);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Incremental parser that frames responses on one connection. It does not
// keep header text: feed() is given everything received and not yet consumed,
// and when a head (or a chunk-size / trailer line) is incomplete it returns
// kNeedMore and reports how far it got, so the caller keeps the unconsumed
// tail and offers it again with the next bytes. Bodies are skipped by count.
class ResponseParser {
public:
    enum class Result : uint8_t { kNeedMore, kComplete, kError };
    static constexpr size_t kMaxHead = 64 * 1024;  // longest response head / line kept

    void reset() {
        state_ = State::kHead;
        remaining_ = 0;
    }

    // Status code and "connection ends after this response" of the response
    // that feed() just reported complete.
    int status() const { return status_; }
    bool close() const { return close_; }

    // The body of the current response is delimited by the end of the connection.
    bool until_close() const { return state_ == State::kUntilClose; }

    // Consumes bytes from [begin, begin + n); *used receives the number of bytes
    // consumed. After kComplete, call again with the rest for the next response.
    Result feed(const char* begin, size_t n, size_t* used) {
        const char* p = begin;
        const char* const end = begin + n;
        // Chunk-size and trailer lines: where the line at q ends, and what to
        // answer when it has not ended yet (more input, or an error past kMaxLine).
        auto line_end = [end](const char* q) { return static_cast<const char*>(memchr(q, '\n', size_t(end - q))); };
        auto incomplete_line = [&](const char* q) {
            *used = size_t(q - begin);
            return size_t(end - q) > kMaxLine ? Result::kError : Result::kNeedMore;
        };
        for (;;) {
            switch (state_) {
            case State::kHead: {
                const char* body = nullptr;
                const int r = parse_head(p, end, &body);
                if (r == 0) {
                    *used = size_t(p - begin);
                    return size_t(end - p) > kMaxHead ? Result::kError : Result::kNeedMore;
                }
                if (r < 0) return Result::kError;
                p = body;
                if (status_ < 200) continue;  // interim response (100 Continue, ...): the final one follows
                if (status_ == 204 || status_ == 304) {
                    *used = size_t(p - begin);
                    return Result::kComplete;
                }
                if (chunked_) {
                    state_ = State::kChunkSize;
                } else if (has_length_) {
                    if (length_ == 0) {
                        *used = size_t(p - begin);
                        return Result::kComplete;
                    }
                    remaining_ = length_;
                    state_ = State::kBody;
                } else {
                    close_ = true;  // no framing: the body runs to the end of the connection
                    state_ = State::kUntilClose;
                }
                break;
            }
            case State::kBody:
            case State::kChunkData: {
                const auto avail = uint64_t(end - p);
                if (avail < remaining_) {
                    remaining_ -= avail;
                    *used = n;
                    return Result::kNeedMore;
                }
                p += remaining_;
                remaining_ = 0;
                if (state_ == State::kBody) {
                    state_ = State::kHead;
                    *used = size_t(p - begin);
                    return Result::kComplete;
                }
                state_ = State::kChunkSize;
                break;
            }
            case State::kChunkSize: {
                const char* nl = line_end(p);
                if (nl == nullptr) return incomplete_line(p);
                uint64_t size = 0;
                int digits = 0;
                for (const char* q = p; q < nl; ++q, ++digits) {
                    const int d = hex_value(*q);
                    if (d < 0) break;  // chunk extension or CR
                    if (size >> 59) return Result::kError;
                    size = size * 16 + uint64_t(d);
                }
                if (digits == 0) return Result::kError;
                p = nl + 1;
                if (size == 0) {
                    state_ = State::kTrailer;
                } else {
                    remaining_ = size + 2;  // data and its CRLF (counted, not checked)
                    state_ = State::kChunkData;
                }
                break;
            }
            case State::kTrailer: {
                const char* nl = line_end(p);
                if (nl == nullptr) return incomplete_line(p);
                const bool empty = nl == p || (nl == p + 1 && *p == '\r');
                p = nl + 1;
                if (empty) {
                    state_ = State::kHead;
                    *used = size_t(p - begin);
                    return Result::kComplete;
                }
                break;
            }
            case State::kUntilClose:
                *used = n;
                return Result::kNeedMore;
            }
        }
    }

    // The connection ended while the body ran until close: that response is complete.
    void finish_until_close() { state_ = State::kHead; }

private:
    enum class State : uint8_t { kHead, kBody, kChunkSize, kChunkData, kTrailer, kUntilClose };
    static constexpr size_t kMaxLine = 4096;

    // Parses a whole response head at p. Returns 1 and sets *body to the first
    // body byte, 0 if the head is not complete in [p, end), -1 if malformed.
    int parse_head(const char* p, const char* end, const char** body) {
        const auto* nl = static_cast<const char*>(memchr(p, '\n', size_t(end - p)));
        if (nl == nullptr) return 0;
        // "HTTP/1.x SSS[ reason]"
        if (nl - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') return -1;
        int status = 0;
        for (int i = 9; i < 12; ++i) {
            if (p[i] < '0' || p[i] > '9') return -1;
            status = status * 10 + (p[i] - '0');
        }
        status_ = status;
        const bool http10 = p[7] == '0';
        close_ = http10;
        chunked_ = false;
        has_length_ = false;
        length_ = 0;
        p = nl + 1;
        for (;;) {
            nl = static_cast<const char*>(memchr(p, '\n', size_t(end - p)));
            if (nl == nullptr) return 0;
            const char* line_end = nl;
            if (line_end > p && line_end[-1] == '\r') --line_end;
            if (line_end == p) {
                *body = nl + 1;
                return 1;
            }
            const auto* colon = static_cast<const char*>(memchr(p, ':', size_t(line_end - p)));
            if (colon == nullptr) return -1;
            const size_t name_len = size_t(colon - p);
            const char* v = colon + 1;
            while (v < line_end && (*v == ' ' || *v == '\t')) ++v;
            const auto vlen = size_t(line_end - v);
            switch (name_len) {
            case 14:
                if (name_is(p, name_len, "content-length")) {
                    uint64_t len = 0;
                    const char* q = v;
                    for (; q < line_end && *q >= '0' && *q <= '9'; ++q) {
                        if (len > (UINT64_MAX - 9) / 10) return -1;
                        len = len * 10 + uint64_t(*q - '0');
                    }
                    if (q == v) return -1;
                    length_ = len;
                    has_length_ = true;
                }
                break;
            case 17:
                if (name_is(p, name_len, "transfer-encoding"))
                    chunked_ = vlen >= 7 && name_is(line_end - 7, 7, "chunked");
                break;
            case 10:
                if (name_is(p, name_len, "connection")) {
                    if (contains_word(v, vlen, "close"))
                        close_ = true;
                    else if (http10 && contains_word(v, vlen, "keep-alive"))
                        close_ = false;
                }
                break;
            default:
                break;
            }
            p = nl + 1;
        }
    }

    State state_ = State::kHead;
    bool chunked_ = false;
    bool has_length_ = false;
    bool close_ = false;
    int status_ = 0;
    uint64_t length_ = 0;
    uint64_t remaining_ = 0;
};

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

struct Config {
    std::string url;
    sockaddr_in addr{};
    std::string host_port;  // for the Host header
    std::string path = "/";
    std::vector<std::string> headers;
    uint32_t conns = 64;
    uint32_t threads = 1;
    uint32_t depth = 1;
    double duration_s = 10;
    double warmup_s = 0;
    double timeout_s = 10;
    double rate = 0;            // requests/s over all connections; 0 = closed loop
    uint64_t max_requests = 0;  // 0 = no bound
    bool churn = false;
    bool json = false;
    bool latency = false;
};

// Everything the workers share, fixed before they start.
struct Plan {
    const Config* cfg = nullptr;
    std::vector<char> requests;  // the request, `depth` times back to back
    uint32_t request_len = 0;
    uint64_t origin_ns = 0;   // start of the run (the fixed-rate schedules start here)
    uint64_t measure_ns = 0;  // start of the measurement window
    uint64_t end_ns = 0;      // end of the run
    uint64_t timeout_ns = 0;
    double ns_per_slot = 0;  // fixed rate: 1e9 / rate
};

struct Stats {
    uint64_t requests = 0;    // responses recorded
    uint64_t bytes = 0;       // bytes read in the window
    uint64_t status[5] = {};  // 1xx (final, e.g. 101), 2xx, 3xx, 4xx, 5xx; others in `other`
    uint64_t other = 0;
    uint64_t err_connect = 0;
    uint64_t err_read = 0;
    uint64_t err_write = 0;
    uint64_t err_timeout = 0;
    uint64_t err_protocol = 0;
    uint64_t connects = 0;  // connections opened in the window
    uint64_t stop_ns = 0;   // when the worker stopped measuring
    Histogram latency;
    Histogram client_lag;  // fixed rate: write time - max(due time, connection free)

    uint64_t errors() const { return err_connect + err_read + err_write + err_timeout + err_protocol; }

    void merge(const Stats& o) {
        requests += o.requests;
        bytes += o.bytes;
        for (int i = 0; i < 5; ++i) status[i] += o.status[i];
        other += o.other;
        err_connect += o.err_connect;
        err_read += o.err_read;
        err_write += o.err_write;
        err_timeout += o.err_timeout;
        err_protocol += o.err_protocol;
        connects += o.connects;
        stop_ns = std::max(stop_ns, o.stop_ns);
        latency.merge(o.latency);
        client_lag.merge(o.client_lag);
    }
};

// ---------------------------------------------------------------------------
// Worker: one thread, one epoll instance, a share of the connections
// ---------------------------------------------------------------------------

class Worker {
public:
    // Connections [first, first + count) of the global numbering (the global
    // index sets the phase of a connection's fixed-rate schedule). `budget` is
    // this worker's share of --max-requests (UINT64_MAX: unbounded).
    Worker(const Plan& plan, uint32_t first, uint32_t count, uint64_t budget)
        : plan_(plan), cfg_(*plan.cfg), first_(first), conns_(count), budget_(budget) {}

    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    void run();
    const Stats& stats() const { return stats_; }

private:
    static constexpr size_t kReadSize = 256 * 1024;
    static constexpr uint64_t kHousekeepNs = 20 * kNsPerMs;
    static constexpr uint64_t kRetryNs = 10 * kNsPerMs;  // pause before reconnecting after a connect error
    static constexpr uint64_t kMaxWaitNs = 50 * kNsPerMs;

    enum class ConnState : uint8_t { kClosed, kConnecting, kOpen };

    struct Conn {
        int fd = -1;
        uint32_t gen = 0;  // bumped on close: events of an old socket are ignored
        ConnState state = ConnState::kClosed;
        bool in_heap = false;        // fixed rate: has an entry in the timer heap
        bool in_ready = false;       // closed loop: listed in ready_ for the next batch
        uint32_t inflight = 0;       // requests written (possibly partly), awaiting their response
        uint32_t queued = 0;         // requests assigned but not written yet
        uint32_t ring_head = 0;      // oldest entry of the stamp ring
        uint32_t write_end = 0;      // end offset in plan.requests of the current send
        uint32_t write_left = 0;     // bytes of it not written yet
        uint32_t carry_len = 0;      // unconsumed bytes kept from the previous read
        uint64_t seq = 0;            // fixed rate: number of the next scheduled request
        uint64_t progress_ns = 0;    // last send, response or connect start (for --timeout)
        uint64_t retry_ns = 0;       // closed: do not reconnect before this time
        uint64_t free_ns = 0;        // last time a slot for a request got free (response, open)
        uint64_t* stamps = nullptr;  // ring of `depth` send (or due) times: inflight, then queued
        ResponseParser parser;
        std::unique_ptr<char[]> carry;
    };

    bool measuring(uint64_t t) const { return t >= plan_.measure_ns; }
    uint64_t due_ns(const Conn& c) const {
        const double slot = double(first_ + index_of(c)) + double(c.seq) * double(cfg_.conns);
        return plan_.origin_ns + uint64_t(slot * plan_.ns_per_slot);
    }
    uint32_t index_of(const Conn& c) const { return uint32_t(&c - conns_.data()); }

    void push_stamp(Conn& c, uint64_t t) {
        uint32_t slot = c.ring_head + c.inflight + c.queued;
        if (slot >= cfg_.depth) slot -= cfg_.depth;
        c.stamps[slot] = t;
        ++c.queued;
        ++outstanding_;
        if (budget_ != UINT64_MAX && measuring(t)) --budget_;
    }
    uint64_t pop_stamp(Conn& c) {
        const uint64_t t = c.stamps[c.ring_head];
        if (++c.ring_head == cfg_.depth) c.ring_head = 0;
        --c.inflight;
        --outstanding_;
        return t;
    }

    void assign(Conn& c, uint64_t now);
    void schedule(Conn& c);
    void flush(Conn& c, uint64_t now);
    void connect(Conn& c, uint64_t now);
    void close(Conn& c, uint64_t now);
    void fail(Conn& c, uint64_t now, uint64_t Stats::*counter, uint64_t retry_delay);
    void on_event(Conn& c, uint32_t events);
    void on_readable(Conn& c, bool peer_closed);
    bool on_response(Conn& c, uint64_t now, int status, bool close);
    void housekeep(uint64_t now);
    void fire_timers(uint64_t now);
    int wait(uint64_t now, uint64_t next_housekeep);

    const Plan& plan_;
    const Config& cfg_;
    const uint32_t first_;
    std::vector<Conn> conns_;
    uint64_t budget_;
    uint64_t outstanding_ = 0;  // stamps held by all connections
    int epfd_ = -1;
    std::unique_ptr<char[]> rbuf_;
    std::vector<uint64_t> stamp_store_;
    std::vector<std::pair<uint64_t, uint32_t>> heap_;  // fixed rate: (due time, connection), min-heap
    std::vector<epoll_event> events_;
    std::vector<uint32_t> ready_;  // closed loop: connections due for their next batch
    Stats stats_;
};

// Gives the connection the requests it should send now, and writes them (or
// opens the connection they wait for). Closed loop: a new batch of `depth`
// once the previous one is answered, stamped now -- when the connection is
// open, or in churn mode when the connection is about to be opened, so that
// the handshake counts. Fixed rate: every request whose due time has passed,
// while fewer than `depth` are held, stamped with its due time.
void Worker::assign(Conn& c, uint64_t now) {
    if (cfg_.rate > 0) {
        while (budget_ > 0 && c.inflight + c.queued < cfg_.depth) {
            const uint64_t due = due_ns(c);
            if (due > now) break;
            push_stamp(c, due);
            ++c.seq;
        }
        schedule(c);
    } else if (c.inflight + c.queued == 0 && (cfg_.churn || c.state == ConnState::kOpen)) {
        for (uint32_t i = 0; i < cfg_.depth && budget_ > 0; ++i) push_stamp(c, now);
    }
    if (c.queued == 0) return;
    if (c.state == ConnState::kOpen)
        flush(c, now);
    else if (c.state == ConnState::kClosed && now >= c.retry_ns)
        connect(c, now);
}

// Fixed rate: arm a timer for the next due request if the connection could take it.
void Worker::schedule(Conn& c) {
    if (c.in_heap || c.inflight + c.queued >= cfg_.depth || budget_ == 0) return;
    heap_.emplace_back(due_ns(c), index_of(c));
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
    c.in_heap = true;
}

// Writes all queued requests with one send() (unless a write is still pending).
void Worker::flush(Conn& c, uint64_t now) {
    // A pending partial write is finished first (EPOLLOUT resumes it).
    if (c.state != ConnState::kOpen || c.write_left != 0 || c.queued == 0) return;
    if (cfg_.rate > 0) {
        // The client's own lateness: time from the moment a request was due and
        // its connection could take it, to the write. Waiting for a busy
        // connection is the server's doing and is left out here (it is in the
        // latency).
        uint32_t slot = c.ring_head + c.inflight;
        for (uint32_t i = 0; i < c.queued; ++i, ++slot) {
            const uint64_t due = c.stamps[slot >= cfg_.depth ? slot - cfg_.depth : slot];
            const uint64_t ready = std::max(due, c.free_ns);
            if (measuring(due)) stats_.client_lag.record(now > ready ? now - ready : 0);
        }
    }
    const uint32_t len = c.queued * plan_.request_len;
    c.inflight += c.queued;
    c.queued = 0;
    c.write_end = len;
    c.write_left = len;
    c.progress_ns = now;
    ssize_t w = ::send(c.fd, plan_.requests.data(), len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w >= 0) {
        c.write_left -= uint32_t(w);
        return;  // a short write resumes on EPOLLOUT
    }
    if (errno == EAGAIN || errno == EINTR) return;
    fail(c, now, &Stats::err_write, 0);
}

void Worker::connect(Conn& c, uint64_t now) {
    c.progress_ns = now;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (measuring(now)) ++stats_.err_connect;
        c.retry_ns = now + kRetryNs;
        return;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c.fd = fd;
    c.state = ConnState::kConnecting;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (uint64_t(c.gen) << 32) | index_of(c);
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
        fail(c, now, &Stats::err_connect, kRetryNs);
        return;
    }
    if (measuring(now)) ++stats_.connects;
    const int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&cfg_.addr), sizeof cfg_.addr);
    if (r != 0 && errno != EINPROGRESS) fail(c, now, &Stats::err_connect, kRetryNs);
    // Done or in progress: the EPOLLOUT edge of the socket reports it, and
    // on_event() then writes what is queued.
}

// Closes the socket. Requests in flight are dropped (their stamps with them);
// queued requests stay and are written on the next connection.
void Worker::close(Conn& c, uint64_t /*now*/) {
    if (c.fd >= 0) ::close(c.fd);  // also removes it from the epoll set
    c.fd = -1;
    ++c.gen;
    c.state = ConnState::kClosed;
    while (c.inflight > 0) pop_stamp(c);
    c.write_left = 0;
    c.carry_len = 0;
    c.parser.reset();
}

// Counts an error (inside the window), closes and reconnects after `retry_delay`.
void Worker::fail(Conn& c, uint64_t now, uint64_t Stats::*counter, uint64_t retry_delay) {
    if (measuring(now)) ++(stats_.*counter);
    close(c, now);
    c.retry_ns = now + retry_delay;
    if (retry_delay == 0) {
        if (!cfg_.churn) connect(c, now);
        assign(c, now);
    }
}

void Worker::on_event(Conn& c, uint32_t events) {
    if (c.state == ConnState::kConnecting) {
        const uint64_t now = now_ns();
        if (events & EPOLLERR) {
            fail(c, now, &Stats::err_connect, kRetryNs);
            return;
        }
        c.state = ConnState::kOpen;
        c.free_ns = now;
        assign(c, now);
        if (c.state != ConnState::kOpen) return;
    }
    if ((events & EPOLLOUT) && c.write_left != 0) {
        const char* p = plan_.requests.data() + (c.write_end - c.write_left);
        const ssize_t w = ::send(c.fd, p, c.write_left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0) {
            c.write_left -= uint32_t(w);
        } else if (errno != EAGAIN && errno != EINTR) {
            fail(c, now_ns(), &Stats::err_write, 0);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        on_readable(c, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
}

// Reads until the socket is drained, framing responses as they come. A read
// shorter than the space offered means the receive queue was empty, and bytes
// arriving later raise a new edge -- except for an end of stream that came
// with this event (`peer_closed`): that one is read until read() returns 0.
void Worker::on_readable(Conn& c, bool peer_closed) {
    char* const buf = rbuf_.get();
    const uint32_t gen = c.gen;
    for (;;) {
        const size_t keep = c.carry_len;
        if (keep != 0) memcpy(buf, c.carry.get(), keep);
        const ssize_t r = ::read(c.fd, buf + keep, kReadSize);
        const uint64_t now = now_ns();
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) fail(c, now, &Stats::err_read, 0);
            return;
        }
        if (r == 0) {  // end of stream
            if (c.parser.until_close() && c.inflight > 0) {
                c.parser.finish_until_close();
                c.carry_len = 0;
                on_response(c, now, c.parser.status(), true);
                return;
            }
            if (c.inflight > 0 || c.carry_len != 0) {
                fail(c, now, &Stats::err_read, 0);
            } else {  // the server closed an idle connection: not an error
                close(c, now);
                if (!cfg_.churn) connect(c, now);
                assign(c, now);
            }
            return;
        }
        if (measuring(now)) stats_.bytes += uint64_t(r);
        c.progress_ns = now;

        const char* p = buf;
        size_t left = keep + size_t(r);
        c.carry_len = 0;
        while (left > 0) {
            size_t used = 0;
            const auto res = c.parser.feed(p, left, &used);
            if (res == ResponseParser::Result::kError) {
                fail(c, now, &Stats::err_protocol, 0);
                return;
            }
            p += used;
            left -= used;
            if (res == ResponseParser::Result::kNeedMore) {
                if (left > 0) {  // an incomplete head or line: keep it for the next read
                    if (!c.carry) c.carry.reset(new char[ResponseParser::kMaxHead]);
                    memmove(c.carry.get(), p, left);
                    c.carry_len = uint32_t(left);
                }
                break;
            }
            if (!on_response(c, now, c.parser.status(), c.parser.close())) return;
        }
        if (c.gen != gen) return;
        if (size_t(r) < kReadSize && !peer_closed) return;  // drained: the next edge brings more
    }
}

// One response is complete. Returns false when the connection was closed.
bool Worker::on_response(Conn& c, uint64_t now, int status, bool close_conn) {
    if (c.inflight == 0) {  // a response nobody asked for
        fail(c, now, &Stats::err_protocol, 0);
        return false;
    }
    const uint64_t sent = pop_stamp(c);
    c.progress_ns = now;
    c.free_ns = now;
    if (measuring(sent) && now <= plan_.end_ns) {
        ++stats_.requests;
        stats_.latency.record(now - sent);
        const int cls = status / 100;
        if (cls >= 1 && cls <= 5)
            ++stats_.status[cls - 1];
        else
            ++stats_.other;
    }
    if (close_conn || cfg_.churn) {
        // Requests pipelined behind a closing response are lost.
        if (c.inflight > 0 && measuring(now)) stats_.err_read += c.inflight;
        close(c, now);
        if (!cfg_.churn) connect(c, now);
        assign(c, now);
        return false;
    }
    if (c.inflight + c.queued < cfg_.depth) {
        if (cfg_.rate == 0) {
            // Closed loop: the next batch is written once all the events of
            // this epoll round are handled (see run()), so that the server gets
            // the round's requests together, as from wrk; the batch is stamped
            // then. Fixed rate writes at once: the schedule says when.
            if (c.inflight == 0 && !c.in_ready) {
                c.in_ready = true;
                ready_.push_back(index_of(c));
            }
        } else {
            assign(c, now);
        }
    }
    return c.state == ConnState::kOpen;
}

// Timeouts, and reconnects that waited after a connect error.
void Worker::housekeep(uint64_t now) {
    for (Conn& c : conns_) {
        if (c.state == ConnState::kClosed) {
            if (now >= c.retry_ns && (!cfg_.churn || c.queued > 0 || cfg_.rate == 0)) {
                if (!cfg_.churn) connect(c, now);
                assign(c, now);
            }
            continue;
        }
        const bool busy = c.state == ConnState::kConnecting || c.inflight > 0;
        if (busy && now - c.progress_ns > plan_.timeout_ns) fail(c, now, &Stats::err_timeout, 0);
    }
}

void Worker::fire_timers(uint64_t now) {
    while (!heap_.empty() && heap_.front().first <= now) {
        std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
        Conn& c = conns_[heap_.back().second];
        heap_.pop_back();
        c.in_heap = false;
        assign(c, now);
    }
}

// Waits for events until the next timer, housekeeping or the end of the run.
int Worker::wait(uint64_t now, uint64_t next_housekeep) {
    uint64_t wake = std::min({plan_.end_ns, now + kMaxWaitNs, next_housekeep});
    if (!heap_.empty()) wake = std::min(wake, heap_.front().first);
    const uint64_t ns = wake > now ? wake - now : 0;
    timespec ts{time_t(ns / kNsPerSec), long(ns % kNsPerSec)};
    const int n = epoll_pwait2(epfd_, events_.data(), int(events_.size()), &ts, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    // kernels before 5.11: millisecond timeout, rounded up
    return epoll_wait(epfd_, events_.data(), int(events_.size()), int((ns + kNsPerMs - 1) / kNsPerMs));
}

void Worker::run() {
    if (cfg_.rate > 0) prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // wake on time, not up to 50 us late
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) {
        perror("loadgen: epoll_create1");
        return;
    }
    rbuf_.reset(new char[ResponseParser::kMaxHead + kReadSize]);
    stamp_store_.assign(size_t(conns_.size()) * cfg_.depth, 0);
    for (size_t i = 0; i < conns_.size(); ++i) conns_[i].stamps = &stamp_store_[i * cfg_.depth];
    events_.resize(std::min<size_t>(conns_.size(), 1024));
    heap_.reserve(conns_.size());
    ready_.reserve(conns_.size());

    uint64_t now = now_ns();
    for (Conn& c : conns_) {
        if (!cfg_.churn) connect(c, now);
        assign(c, now);
    }
    uint64_t next_housekeep = now + kHousekeepNs;
    for (;;) {
        now = now_ns();
        if (now >= plan_.end_ns || g_stop.load(std::memory_order_relaxed)) break;
        if (budget_ == 0 && outstanding_ == 0) break;
        const int n = wait(now, next_housekeep);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            break;
        }
        for (int i = 0; i < n; ++i) {
            const uint64_t tag = events_[size_t(i)].data.u64;
            Conn& c = conns_[uint32_t(tag)];
            if (c.gen != uint32_t(tag >> 32) || c.fd < 0) continue;  // event of a closed socket
            on_event(c, events_[size_t(i)].events);
        }
        now = now_ns();
        for (const uint32_t i : ready_) {
            Conn& c = conns_[i];
            c.in_ready = false;
            if (c.state == ConnState::kOpen) assign(c, now);
        }
        ready_.clear();
        if (!heap_.empty()) fire_timers(now);
        if (now >= next_housekeep) {
            housekeep(now);
            next_housekeep = now + kHousekeepNs;
        }
    }
    stats_.stop_ns = std::min(now, plan_.end_ns);
    for (Conn& c : conns_)
        if (c.fd >= 0) ::close(c.fd);
    ::close(epfd_);
}

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

void usage(FILE* out) {
    fputs(
        "usage: loadgen [options] http://127.0.0.1:PORT/path\n"
        "\n"
        "  -c, --connections N    connections, spread over the threads (64)\n"
        "  -t, --threads N        threads, each with its own epoll (1)\n"
        "  -d, --duration T       measured time: 10, 10s, 500ms, 2m (10s)\n"
        "  -w, --warmup T         load before measuring, not recorded (0)\n"
        "  -H, --header 'N: v'    extra request header (repeatable)\n"
        "  -p, --pipeline N       requests per write (closed loop) or in flight per\n"
        "                         connection (fixed rate) (1)\n"
        "  -R, --rate N           fixed-rate open loop: N requests/s over all connections;\n"
        "                         latency counts from each request's due time\n"
        "      --churn            one request per connection (Connection: close)\n"
        "      --max-requests N   stop after N measured requests\n"
        "      --timeout T        a connection with requests in flight and no progress\n"
        "                         for T is closed and counted as a timeout (10s)\n"
        "      --latency          print latency percentiles\n"
        "      --json             print one JSON object instead of the text summary\n"
        "  -h, --help             this text\n"
        "\n"
        "The run stops after warm-up + duration, after --max-requests, or on SIGINT.\n",
        out);
}

[[noreturn]] void die(const char* fmt, const char* arg) {
    fprintf(stderr, "loadgen: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(2);
}

// "10", "10s", "1.5s", "500ms", "2m" -> seconds
double parse_time(const char* s) {
    char* end = nullptr;
    errno = 0;
    const double v = strtod(s, &end);
    if (errno != 0 || end == s || !(v >= 0)) die("bad time '%s'", s);
    const std::string_view unit(end);
    if (unit.empty() || unit == "s") return v;
    if (unit == "ms") return v / 1000;
    if (unit == "us") return v / 1e6;
    if (unit == "m") return v * 60;
    if (unit == "h") return v * 3600;
    die("bad time unit in '%s' (s, ms, us, m, h)", s);
}

uint64_t parse_count(const char* s, uint64_t min, uint64_t max) {
    char* end = nullptr;
    errno = 0;
    double v = strtod(s, &end);
    std::string_view suffix(end);
    if (suffix == "k" || suffix == "K")
        v *= 1e3;
    else if (suffix == "m" || suffix == "M")
        v *= 1e6;
    else if (!suffix.empty())
        die("bad number '%s'", s);
    if (errno != 0 || end == s || !(v >= double(min)) || !(v <= double(max)) || v != std::floor(v))
        die("number out of range: '%s'", s);
    return uint64_t(v);
}

// http://HOST:PORT/path with HOST an IPv4 address or "localhost".
void parse_url(Config& cfg, const char* url) {
    cfg.url = url;
    std::string_view u(url);
    if (u.substr(0, 7) != "http://") die("only http:// URLs: '%s'", url);
    u.remove_prefix(7);
    const size_t slash = u.find('/');
    const std::string_view authority = u.substr(0, slash);
    cfg.path = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
    const size_t colon = authority.rfind(':');
    std::string host(authority.substr(0, colon));
    unsigned long port = 80;
    if (colon != std::string_view::npos) {
        const std::string ps(authority.substr(colon + 1));
        char* end = nullptr;
        port = strtoul(ps.c_str(), &end, 10);
        if (ps.empty() || *end != '\0' || port == 0 || port > 65535) die("bad port in '%s'", url);
    }
    if (host == "localhost") host = "127.0.0.1";
    cfg.addr.sin_family = AF_INET;
    cfg.addr.sin_port = htons(uint16_t(port));
    if (inet_pton(AF_INET, host.c_str(), &cfg.addr.sin_addr) != 1) die("host must be an IPv4 address: '%s'", url);
    cfg.host_port = std::string(authority);
}

Config parse_args(int argc, char** argv) {
    enum { kChurn = 1000, kMaxRequests, kJson, kLatency, kTimeout };
    static const option longopts[] = {
        {"connections", required_argument, nullptr, 'c'},
        {"threads", required_argument, nullptr, 't'},
        {"duration", required_argument, nullptr, 'd'},
        {"warmup", required_argument, nullptr, 'w'},
        {"header", required_argument, nullptr, 'H'},
        {"pipeline", required_argument, nullptr, 'p'},
        {"rate", required_argument, nullptr, 'R'},
        {"churn", no_argument, nullptr, kChurn},
        {"max-requests", required_argument, nullptr, kMaxRequests},
        {"json", no_argument, nullptr, kJson},
        {"latency", no_argument, nullptr, kLatency},
        {"timeout", required_argument, nullptr, kTimeout},
        {"help", no_argument, nullptr, 'h'},
        {nullptr, 0, nullptr, 0},
    };
    Config cfg;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:t:d:w:H:p:R:h", longopts, nullptr)) != -1) {
        switch (opt) {
        case 'c':
            cfg.conns = uint32_t(parse_count(optarg, 1, 1'000'000));
            break;
        case 't':
            cfg.threads = uint32_t(parse_count(optarg, 1, 1024));
            break;
        case 'd':
            cfg.duration_s = parse_time(optarg);
            break;
        case 'w':
            cfg.warmup_s = parse_time(optarg);
            break;
        case 'H':
            if (strchr(optarg, ':') == nullptr) die("header without ':': '%s'", optarg);
            cfg.headers.emplace_back(optarg);
            break;
        case 'p':
            cfg.depth = uint32_t(parse_count(optarg, 1, 4096));
            break;
        case 'R': {
            char* end = nullptr;
            cfg.rate = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(cfg.rate > 0)) die("bad rate '%s'", optarg);
            break;
        }
        case kChurn:
            cfg.churn = true;
            break;
        case kMaxRequests:
            cfg.max_requests = parse_count(optarg, 1, UINT64_MAX / 2);
            break;
        case kJson:
            cfg.json = true;
            break;
        case kLatency:
            cfg.latency = true;
            break;
        case kTimeout:
            cfg.timeout_s = parse_time(optarg);
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        exit(2);
    }
    parse_url(cfg, argv[optind]);
    if (!(cfg.duration_s > 0)) die("%s", "the duration must be > 0");
    if (!(cfg.timeout_s > 0)) die("%s", "the timeout must be > 0");
    if (cfg.churn && cfg.depth > 1) die("%s", "--churn sends one request per connection: no -p");
    cfg.threads = std::min(cfg.threads, cfg.conns);
    return cfg;
}

// The request, `depth` copies back to back, so that any number of requests up
// to depth is a prefix of the buffer.
std::vector<char> build_requests(const Config& cfg, uint32_t* one_len) {
    bool has_host = false;
    bool has_connection = false;
    for (const std::string& h : cfg.headers) {
        const size_t colon = h.find(':');
        has_host |= name_is(h.data(), colon, "host");
        has_connection |= name_is(h.data(), colon, "connection");
    }
    std::string req = "GET " + cfg.path + " HTTP/1.1\r\n";
    if (!has_host) req += "Host: " + cfg.host_port + "\r\n";
    for (const std::string& h : cfg.headers) req += h + "\r\n";
    if (cfg.churn && !has_connection) req += "Connection: close\r\n";
    req += "\r\n";
    *one_len = uint32_t(req.size());
    std::vector<char> out;
    out.reserve(req.size() * cfg.depth);
    for (uint32_t i = 0; i < cfg.depth; ++i) out.insert(out.end(), req.begin(), req.end());
    return out;
}

void raise_nofile(uint64_t need) {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && need + 16 > rl.rlim_cur)
        fprintf(stderr, "loadgen: warning: %llu connections but only %llu file descriptors\n",
                static_cast<unsigned long long>(need), static_cast<unsigned long long>(rl.rlim_cur));
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

double tv_seconds(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

std::string human_time(double ns) {
    char b[32];
    if (ns < 1e3)
        snprintf(b, sizeof b, "%.0fns", ns);
    else if (ns < 1e6)
        snprintf(b, sizeof b, "%.2fus", ns / 1e3);
    else if (ns < 1e9)
        snprintf(b, sizeof b, "%.2fms", ns / 1e6);
    else
        snprintf(b, sizeof b, "%.2fs", ns / 1e9);
    return b;
}

std::string human_bytes(double n) {
    static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (n >= 1024 && u < 4) {
        n /= 1024;
        ++u;
    }
    char b[32];
    snprintf(b, sizeof b, u == 0 ? "%.0f%s" : "%.2f%s", n, units[u]);
    return b;
}

std::string json_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (uint8_t(c) < 0x20) {
            char b[8];
            snprintf(b, sizeof b, "\\u%04x", unsigned(uint8_t(c)));
            out += b;
        } else {
            out += c;
        }
    }
    return out;
}

std::string mode_name(const Config& cfg) {
    std::string m = cfg.churn ? "churn" : cfg.depth > 1 ? "pipelined" : "keep-alive";
    m += cfg.rate > 0 ? " fixed-rate" : " closed-loop";
    return m;
}

struct Percentile {
    const char* label;
    const char* key;
    double q;
};
constexpr Percentile kPercentiles[] = {
    {"p50", "p50", 50}, {"p90", "p90", 90}, {"p99", "p99", 99}, {"p99.9", "p999", 99.9}, {"p99.99", "p9999", 99.99},
};

void report(const Config& cfg, const Stats& s, double seconds, double user_s, double sys_s) {
    const double rps = seconds > 0 ? double(s.requests) / seconds : 0;
    const double bps = seconds > 0 ? double(s.bytes) / seconds : 0;
    const double cpu = user_s + sys_s;
    const double us_per_req = s.requests ? cpu * 1e6 / double(s.requests) : 0;
    const uint64_t non2xx = s.requests - s.status[1];
    const Histogram& h = s.latency;

    if (cfg.json) {
        printf("{\"url\":\"%s\",\"mode\":\"%s\",\"threads\":%u,\"connections\":%u,\"depth\":%u,",
               json_escape(cfg.url).c_str(), mode_name(cfg).c_str(), cfg.threads, cfg.conns, cfg.depth);
        printf("\"rate\":%.3f,\"duration_s\":%.6f,\"warmup_s\":%.3f,", cfg.rate, seconds, cfg.warmup_s);
        printf("\"requests\":%llu,\"requests_per_s\":%.2f,\"bytes\":%llu,\"bytes_per_s\":%.2f,",
               static_cast<unsigned long long>(s.requests), rps, static_cast<unsigned long long>(s.bytes), bps);
        printf("\"connects\":%llu,", static_cast<unsigned long long>(s.connects));
        printf("\"status\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,\"4xx\":%llu,\"5xx\":%llu,\"other\":%llu},",
               static_cast<unsigned long long>(s.status[0]), static_cast<unsigned long long>(s.status[1]),
               static_cast<unsigned long long>(s.status[2]), static_cast<unsigned long long>(s.status[3]),
               static_cast<unsigned long long>(s.status[4]), static_cast<unsigned long long>(s.other));
        printf("\"non_2xx\":%llu,", static_cast<unsigned long long>(non2xx));
        printf(
            "\"errors\":{\"connect\":%llu,\"read\":%llu,\"write\":%llu,\"timeout\":%llu,\"protocol\":%llu,"
            "\"total\":%llu},",
            static_cast<unsigned long long>(s.err_connect), static_cast<unsigned long long>(s.err_read),
            static_cast<unsigned long long>(s.err_write), static_cast<unsigned long long>(s.err_timeout),
            static_cast<unsigned long long>(s.err_protocol), static_cast<unsigned long long>(s.errors()));
        printf("\"latency_us\":{\"mean\":%.3f,\"min\":%.3f", h.mean() / 1e3, double(h.min()) / 1e3);
        for (const Percentile& p : kPercentiles) printf(",\"%s\":%.3f", p.key, double(h.percentile(p.q)) / 1e3);
        printf(",\"max\":%.3f},", double(h.max()) / 1e3);
        if (cfg.rate > 0) {
            const Histogram& g = s.client_lag;
            printf("\"client_lag_us\":{\"mean\":%.3f", g.mean() / 1e3);
            for (const Percentile& p : kPercentiles) printf(",\"%s\":%.3f", p.key, double(g.percentile(p.q)) / 1e3);
            printf(",\"max\":%.3f},", double(g.max()) / 1e3);
        }
        printf("\"cpu\":{\"user_s\":%.3f,\"sys_s\":%.3f,\"cores\":%.3f,\"us_per_request\":%.3f}}\n", user_s, sys_s,
               seconds > 0 ? cpu / seconds : 0, us_per_req);
        return;
    }

    printf("loadgen %s\n", cfg.url.c_str());
    printf("  %s", mode_name(cfg).c_str());
    if (cfg.depth > 1) printf(", depth %u", cfg.depth);
    if (cfg.rate > 0) printf(", target %.0f req/s", cfg.rate);
    printf(", %u thread%s, %u connection%s\n", cfg.threads, cfg.threads == 1 ? "" : "s", cfg.conns,
           cfg.conns == 1 ? "" : "s");
    printf("  duration     %.2fs", seconds);
    if (cfg.warmup_s > 0) printf(" (after %.2fs warm-up)", cfg.warmup_s);
    printf("\n");
    printf("  requests     %llu  %.2f req/s\n", static_cast<unsigned long long>(s.requests), rps);
    printf("  read         %s  %s/s\n", human_bytes(double(s.bytes)).c_str(), human_bytes(bps).c_str());
    if (cfg.churn) printf("  connects     %llu\n", static_cast<unsigned long long>(s.connects));
    printf("  status       2xx %llu  3xx %llu  4xx %llu  5xx %llu  other %llu  (non-2xx %llu)\n",
           static_cast<unsigned long long>(s.status[1]), static_cast<unsigned long long>(s.status[2]),
           static_cast<unsigned long long>(s.status[3]), static_cast<unsigned long long>(s.status[4]),
           static_cast<unsigned long long>(s.other + s.status[0]), static_cast<unsigned long long>(non2xx));
    printf("  errors       connect %llu  read %llu  write %llu  timeout %llu  protocol %llu\n",
           static_cast<unsigned long long>(s.err_connect), static_cast<unsigned long long>(s.err_read),
           static_cast<unsigned long long>(s.err_write), static_cast<unsigned long long>(s.err_timeout),
           static_cast<unsigned long long>(s.err_protocol));
    printf("  latency      mean %s  max %s\n", human_time(h.mean()).c_str(), human_time(double(h.max())).c_str());
    if (cfg.latency) {
        printf("              ");
        for (const Percentile& p : kPercentiles)
            printf(" %s %s ", p.label, human_time(double(h.percentile(p.q))).c_str());
        printf("\n");
        if (cfg.rate > 0) {
            // Part of the latency above: how late the client wrote requests that
            // were due on a free connection (timer wake-up, CPU contention).
            const Histogram& g = s.client_lag;
            printf("  client lag   mean %s ", human_time(g.mean()).c_str());
            for (const Percentile& p : kPercentiles)
                printf(" %s %s ", p.label, human_time(double(g.percentile(p.q))).c_str());
            printf(" max %s\n", human_time(double(g.max())).c_str());
        }
    }
    printf("  client CPU   user %.2fs  sys %.2fs  (%.2f cores, %.2f us/request)\n", user_s, sys_s,
           seconds > 0 ? cpu / seconds : 0, us_per_req);
    if (cfg.rate > 0 && seconds > 0 && rps < 0.99 * cfg.rate && !g_stop.load())
        printf(
            "  note: %.0f req/s is below the target rate: the server (or the client) fell behind, "
            "latency grows with the backlog\n",
            rps);
}

}  // namespace

int main(int argc, char** argv) {
    Config cfg = parse_args(argc, argv);
    raise_nofile(cfg.conns);

    // The workers inherit a mask that blocks SIGINT/SIGTERM; the main thread
    // takes them with sigtimedwait and tells the workers through g_stop.
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);

    Plan plan;
    plan.cfg = &cfg;
    plan.requests = build_requests(cfg, &plan.request_len);
    plan.timeout_ns = uint64_t(cfg.timeout_s * 1e9);
    plan.ns_per_slot = cfg.rate > 0 ? 1e9 / cfg.rate : 0;
    plan.origin_ns = now_ns();
    plan.measure_ns = plan.origin_ns + uint64_t(cfg.warmup_s * 1e9);
    plan.end_ns = plan.measure_ns + uint64_t(cfg.duration_s * 1e9);

    std::vector<std::unique_ptr<Worker>> workers;
    uint32_t first = 0;
    for (uint32_t i = 0; i < cfg.threads; ++i) {
        const uint32_t count = cfg.conns / cfg.threads + (i < cfg.conns % cfg.threads ? 1 : 0);
        uint64_t budget = UINT64_MAX;
        if (cfg.max_requests > 0)
            budget = cfg.max_requests / cfg.threads + (i < cfg.max_requests % cfg.threads ? 1 : 0);
        workers.push_back(std::make_unique<Worker>(plan, first, count, budget));
        first += count;
    }
    std::atomic<uint32_t> running{cfg.threads};
    std::vector<std::thread> threads;
    for (auto& w : workers)
        threads.emplace_back([&w, &running] {
            w->run();
            running.fetch_sub(1);
        });

    // Sample the CPU time when the measurement window opens, and wait for the
    // workers (or a signal) meanwhile.
    rusage ru_start{};
    bool have_start = false;
    while (running.load() > 0) {
        const uint64_t now = now_ns();
        if (!have_start && now >= plan.measure_ns) {
            getrusage(RUSAGE_SELF, &ru_start);
            have_start = true;
        }
        uint64_t wait = 20 * kNsPerMs;
        if (!have_start) wait = std::min(wait, plan.measure_ns - now);
        const timespec ts{time_t(wait / kNsPerSec), long(wait % kNsPerSec)};
        const int sig = sigtimedwait(&sigs, nullptr, &ts);
        if (sig == SIGINT || sig == SIGTERM) g_stop.store(true);
    }
    for (auto& t : threads) t.join();
    rusage ru_end{};
    getrusage(RUSAGE_SELF, &ru_end);
    if (!have_start) ru_start = ru_end;  // stopped during the warm-up

    Stats total;
    for (auto& w : workers) total.merge(w->stats());
    const double seconds = total.stop_ns > plan.measure_ns ? double(total.stop_ns - plan.measure_ns) / 1e9 : 0.0;
    report(cfg, total, seconds, tv_seconds(ru_end.ru_utime) - tv_seconds(ru_start.ru_utime),
           tv_seconds(ru_end.ru_stime) - tv_seconds(ru_start.ru_stime));
    return 0;
}
