// brisk — an io_uring instance for one event loop: the submission and
// completion rings, set up for a single thread (SINGLE_ISSUER |
// DEFER_TASKRUN), and a ring of provided buffers that multishot receives
// fill. A connection waiting for input holds no buffer of its own: the
// kernel picks one of these when bytes arrive, and the loop gives it back
// as soon as it has copied them out.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace brisk::net {

class Ring {
public:
    /** Provided buffers: how many and how big (one receive fills at most one). */
    static constexpr unsigned kBufCount = 256;
    static constexpr unsigned kBufSize = 2048;
    static constexpr std::uint16_t kBufGroup = 0;

    Ring() = default;
    ~Ring();
    Ring(const Ring&) = delete;
    Ring& operator=(const Ring&) = delete;

    /**
     * Sets the ring up for the calling thread, which is the only one that may
     * use it afterwards. Returns false with a one-line reason when the kernel
     * or its policy refuses (too old, io_uring disabled, a seccomp profile).
     */
    bool init(unsigned entries, std::string& why);

    /** Whether this process can use io_uring the way a loop does; a reason when not. */
    static bool supported(std::string& why);

    /** A submission entry to fill; submits what is queued when the ring is full. */
    io_uring_sqe* sqe() noexcept {
        io_uring_sqe* s = io_uring_get_sqe(&ring_);
        while (!s) {
            io_uring_submit(&ring_);
            s = io_uring_get_sqe(&ring_);
        }
        return s;
    }

    /**
     * Submits what is queued and waits until at least one completion is there
     * or `timeout_ms` passed (0: do not wait): one system call. Where the
     * kernel can (Linux 6.12, IORING_FEAT_MIN_TIMEOUT), it first waits up
     * to `batch_wait_us` for `batch` completions, so that under load the
     * loop wakes once per batch instead of once per request.
     */
    void submit_and_wait(int timeout_ms, unsigned batch, unsigned batch_wait_us) noexcept;

    /**
     * Hands every completion that is there to `f` (returns how many), including those that
     * arrive meanwhile. Each is copied and marked seen before `f` runs, so
     * `f` may queue and submit more. Every `submit_every` completions, what
     * they queued is submitted: sends issued at once finish at once, and
     * the workers waiting on them are free again within the same pass.
     */
    template <class F>
    unsigned for_each_completion(F&& f, unsigned submit_every) {
        // The ring is read directly: brisk is its only reader and its
        // entries are 16 bytes. (liburing's own timeout entries, made only
        // on kernels without EXT_ARG, would reach `f` as an unknown tag.)
        io_uring_cq& cq = ring_.cq;
        unsigned n = 0, until_submit = submit_every;
        for (;;) {
            unsigned head = *cq.khead;
            const unsigned tail = io_uring_smp_load_acquire(cq.ktail);
            if (head == tail) return n;
            for (; head != tail; ++head) {
                const io_uring_cqe copy = cq.cqes[head & cq.ring_mask];
                io_uring_smp_store_release(cq.khead, head + 1);  // the slot is free again
                f(copy);
                ++n;
                if (--until_submit == 0) {
                    until_submit = submit_every;
                    if (io_uring_sq_ready(&ring_) > 0) io_uring_submit_and_get_events(&ring_);
                }
            }
        }
    }

    /** The provided buffer a receive completion used. */
    const char* buffer(unsigned id) const noexcept { return bufs_ + static_cast<std::size_t>(id) * kBufSize; }
    /** Gives a provided buffer back to the kernel. */
    void recycle(unsigned id) noexcept {
        io_uring_buf_ring_add(br_, bufs_ + static_cast<std::size_t>(id) * kBufSize, kBufSize,
                              static_cast<unsigned short>(id), io_uring_buf_ring_mask(kBufCount), 0);
        io_uring_buf_ring_advance(br_, 1);
    }

private:
    static bool probe(std::string& why);

    io_uring ring_{};
    bool ready_ = false;
    bool batch_wait_ = false;  // the kernel takes a minimum wait (IORING_FEAT_MIN_TIMEOUT)
    io_uring_buf_ring* br_ = nullptr;
    std::size_t br_bytes_ = 0;
    char* bufs_ = nullptr;
};

}  // namespace brisk::net
