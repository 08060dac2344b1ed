// brisk — io_uring set-up and the feature probe.
#include "net/uring.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "sanitizer.hpp"

#if BRISK_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace brisk::net {
namespace {

#if BRISK_TSAN
char tsan_ring_memory;  // the sanitizer's token for "ring memory handed back"
#endif
constexpr unsigned kFeatMinTimeout = 1U << 15;  // IORING_FEAT_MIN_TIMEOUT, Linux 6.12
constexpr std::uint32_t kSigsetBytes = 8;       // the kernel's sigset_t (_NSIG / 8)

std::string failed(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

void* map_anonymous(std::size_t bytes) noexcept {
    // cppcheck-suppress invalidFunctionArg ; fd -1 is what MAP_ANONYMOUS asks for
    return mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
}

}  // namespace

Ring::~Ring() {
    if (!ready_) return;
#if BRISK_TSAN
    __tsan_release(&tsan_ring_memory);
#endif
    io_uring_queue_exit(&ring_);  // cancels whatever is still in flight
    if (br_) munmap(br_, br_bytes_);
    if (bufs_) munmap(bufs_, static_cast<std::size_t>(kBufCount) * kBufSize);
}

bool Ring::init(unsigned entries, std::string& why) {
    io_uring_params p{};
    // One thread submits and reaps; completions run only when it enters the
    // kernel to wait, in a batch, instead of interrupting it.
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4;
    int r = io_uring_queue_init_params(entries, &ring_, &p);
    if (r < 0) {
        why = r == -EINVAL ? "io_uring_setup: the kernel lacks SINGLE_ISSUER/DEFER_TASKRUN (Linux 6.1 or later needed)"
                           : failed("io_uring_setup", -r);
        return false;
    }
    ready_ = true;
#if BRISK_TSAN
    // liburing maps and unmaps the rings by raw system calls, which the
    // sanitizer does not see: a ring mapped where a finished thread's ring
    // was would inherit that thread's accesses, reported as races. Every
    // ring released before its memory went; this one starts after that.
    __tsan_acquire(&tsan_ring_memory);
#endif
    batch_wait_ = (p.features & kFeatMinTimeout) != 0;
    if (!(p.features & IORING_FEAT_EXT_ARG) || !(p.features & IORING_FEAT_NODROP)) {
        why = "io_uring lacks EXT_ARG or NODROP (Linux 6.1 or later needed)";
        return false;
    }
    br_bytes_ = sizeof(io_uring_buf) * kBufCount;
    void* m = map_anonymous(br_bytes_);
    if (m == MAP_FAILED) {
        why = failed("mmap", errno);
        return false;
    }
    br_ = static_cast<io_uring_buf_ring*>(m);
    m = map_anonymous(static_cast<std::size_t>(kBufCount) * kBufSize);
    if (m == MAP_FAILED) {
        why = failed("mmap", errno);
        return false;
    }
    bufs_ = static_cast<char*>(m);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(br_);
    reg.ring_entries = kBufCount;
    reg.bgid = kBufGroup;
    r = io_uring_register_buf_ring(&ring_, &reg, 0);
    if (r < 0) {
        why = failed("io_uring_register_buf_ring", -r);
        return false;
    }
    io_uring_buf_ring_init(br_);
    for (unsigned i = 0; i < kBufCount; ++i)
        io_uring_buf_ring_add(br_, bufs_ + static_cast<std::size_t>(i) * kBufSize, kBufSize,
                              static_cast<unsigned short>(i), io_uring_buf_ring_mask(kBufCount), static_cast<int>(i));
    io_uring_buf_ring_advance(br_, static_cast<int>(kBufCount));
    return true;
}

bool Ring::supported(std::string& why) {
    // On a thread of its own: tearing a ring down leaves work for the task
    // that made it, which would interrupt (EINTR) a blocking call of the caller.
    bool ok = false;
    std::thread([&] { ok = probe(why); }).join();
    return ok;
}

bool Ring::probe(std::string& why) {
    Ring probe;
    if (!probe.init(8, why)) return false;
    io_uring_probe* ops = io_uring_get_probe_ring(&probe.ring_);
    if (!ops) {
        why = "io_uring: cannot probe its operations";
        return false;
    }
    const int needed[] = {IORING_OP_ACCEPT,   IORING_OP_RECV,         IORING_OP_SEND,
                          IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL, IORING_OP_PROVIDE_BUFFERS};
    bool ok = true;
    for (int op : needed) ok = ok && io_uring_opcode_supported(ops, op);
    io_uring_free_probe(ops);
    if (!ok) why = "io_uring lacks accept, recv, send, poll or cancel";
    return ok;
}

void Ring::submit_and_wait(int timeout_ms, unsigned batch, unsigned batch_wait_us) noexcept {
    if (timeout_ms <= 0) {
        // Nothing to wait for: submit, and run the completions already due.
        io_uring_submit_and_get_events(&ring_);
        return;
    }
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    if (!batch_wait_ || batch <= 1) {
        io_uring_cqe* cqe = nullptr;
        io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        return;
    }
    // liburing 2.3 knows no minimum wait: the entry is made here. First what
    // io_uring_get_sqe() queued becomes visible to the kernel.
    const unsigned tail = ring_.sq.sqe_tail;
    if (ring_.sq.sqe_head != tail) {
        ring_.sq.sqe_head = tail;
        io_uring_smp_store_release(ring_.sq.ktail, tail);
    }
    const unsigned to_submit = tail - io_uring_smp_load_acquire(ring_.sq.khead);
    // struct io_uring_getevents_arg of Linux 6.12, where `pad` became min_wait_usec.
    struct {
        std::uint64_t sigmask;
        std::uint32_t sigmask_sz;
        std::uint32_t min_wait_usec;
        std::uint64_t ts;
    } arg{0, kSigsetBytes, batch_wait_us, reinterpret_cast<std::uintptr_t>(&ts)};
    ::syscall(__NR_io_uring_enter, ring_.ring_fd, to_submit, batch, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
              sizeof arg);
}

}  // namespace brisk::net
