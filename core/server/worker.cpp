#include "server/worker.hpp"

#include <algorithm>
#include <cstring>

namespace brisk {

void Worker::make_room(std::size_t want) {
    in.unpoison();  // what moves, and where to, must be addressable
    if (start > 0) {
        std::memmove(in.data(), in.data() + start, end - start);
        end -= start;
        start = 0;
    }
    if (in.capacity() - end < want) in.reserve(end + want);
    // A head parsed into views of the buffer must be parsed again where it is now.
    if (stage != Stage::head) reparse = true;
}

WorkerPool::~WorkerPool() {
    for (Worker* w : free_) delete w;
}

Worker* WorkerPool::acquire() {
    if (!free_.empty()) {
        Worker* w = free_.back();
        free_.pop_back();
        return w;
    }
    auto* w = new Worker();
    w->in.reserve(kInitialIn);
    w->out.buf.reserve(kInitialOut);
    free_.reserve(++total_);  // release() never allocates
    return w;
}

void WorkerPool::release(Worker* w, std::int64_t now_ms) {
    w->in.shrink_to(kKeepBuffer);
    // Sanitizer builds go on after the answered requests (still poisoned); see Worker::input_space.
    w->start = w->end = kPoisonsRequests && w->end <= w->in.capacity() ? w->end : 0;
    w->scanned = 0;
    w->stage = Worker::Stage::head;
    w->continue_sent = w->reparse = false;
    w->body_cb = nullptr;
    w->resume_cursor = 0;
    if (!w->held.empty()) [[unlikely]]
        w->held.clear();  // what came while its handler ran, for a connection closed meanwhile
    w->out.reset();
    w->reply.reset();
    w->out.buf.shrink_to(kKeepBuffer);
    w->released_ms = now_ms;
    free_.push_back(w);
}

std::size_t WorkerPool::reap(std::int64_t now_ms, std::int64_t max_idle_ms) {
    if (max_idle_ms <= 0) return 0;  // 0: spare workers are kept
    std::size_t n = 0;
    while (n < free_.size() && now_ms - free_[n]->released_ms > max_idle_ms) ++n;
    for (std::size_t i = 0; i < n; ++i) delete free_[i];
    free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(n));
    total_ -= n;
    return n;
}

}  // namespace brisk
