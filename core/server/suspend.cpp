#include "server/suspend.hpp"

#include <new>

#include "server/loop.hpp"

namespace brisk {
namespace {

std::uint64_t handle_of(std::uint32_t index, std::uint32_t generation) noexcept {
    return std::uint64_t{generation} << 32 | index;
}

}  // namespace

Suspensions& Suspensions::get() noexcept {
    // Never destroyed: a plugin's own thread may call resume() at any time,
    // also while the process exits (a table destroyed then would be freed
    // memory, and nothing orders its destruction after that thread's calls).
    alignas(Suspensions) static unsigned char storage[sizeof(Suspensions)];
    static Suspensions* const table = ::new (storage) Suspensions;
    return *table;
}

Suspensions::Slot* Suspensions::find(std::uint64_t handle) noexcept {
    const auto index = static_cast<std::uint32_t>(handle);
    const auto generation = static_cast<std::uint32_t>(handle >> 32);
    if (index >= slots_.size()) return nullptr;
    Slot& s = slots_[index];
    return s.state != State::free && s.generation == generation ? &s : nullptr;
}

void Suspensions::release(Slot& s, std::uint32_t index) noexcept {
    if (s.state == State::streaming || s.state == State::ending)
        --streams_;
    else
        --pending_;
    if (s.upgraded) --upgraded_;
    s = Slot{s.generation + 1 ? s.generation + 1 : 1};  // generation 0 never matches a handle
    free_.push_back(index);
}

void Suspensions::post(Slot& s, std::uint64_t handle, std::unique_ptr<LaterAnswer> message) {
    // Under the table's lock: the loop cannot free the slot, nor end, meanwhile.
    s.loop->post_later(*s.conn, handle, std::move(message));
}

std::uint64_t Suspensions::suspend(Loop& loop, Conn& c, void (*on_cancel)(void*), void* arg, bool body, bool upgradable,
                                   bool tls) {
    std::lock_guard lock(mutex_);
    std::uint32_t index;
    if (!free_.empty()) {
        index = free_.back();
        free_.pop_back();
    } else {
        index = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
        free_.reserve(slots_.size());  // release() never allocates
    }
    Slot& s = slots_[index];
    s.state = State::suspended;
    s.loop = &loop;
    s.conn = &c;
    s.cancel = on_cancel;
    s.arg = arg;
    s.body = body;
    s.upgradable = upgradable;
    s.tls = tls;
    ++pending_;
    return handle_of(index, s.generation);
}

void Suspensions::drop(std::uint64_t handle) noexcept {
    std::lock_guard lock(mutex_);
    // Whatever was posted meanwhile (an answer, a stream's head) finds no slot when it arrives.
    if (Slot* s = find(handle)) release(*s, static_cast<std::uint32_t>(handle));
}

bool Suspensions::resume(std::uint64_t handle, std::unique_ptr<LaterAnswer> answer) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::suspended) return false;
    s->state = State::resumed;
    post(*s, handle, std::move(answer));
    return true;
}

bool Suspensions::open_stream(std::uint64_t handle, std::unique_ptr<LaterAnswer> head, void (*on_drain)(void*),
                              void* arg) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::suspended) return false;
    if (head->kind == LaterAnswer::Kind::upgrade && !s->upgradable) return false;
    s->state = State::streaming;
    s->drain = on_drain;
    s->drain_arg = arg;
    if (head->kind == LaterAnswer::Kind::upgrade) {
        s->upgraded = true;
        ++upgraded_;
    }
    --pending_;
    ++streams_;
    post(*s, handle, std::move(head));
    return true;
}

bool Suspensions::hijack(std::uint64_t handle, std::unique_ptr<LaterAnswer> hand_over) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::suspended || s->body || s->tls) return false;
    s->state = State::streaming;
    s->taken = s->upgraded = true;
    ++upgraded_;
    --pending_;
    ++streams_;
    post(*s, handle, std::move(hand_over));
    return true;
}

bool Suspensions::hijack_close(std::uint64_t handle, std::unique_ptr<LaterAnswer> end) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::streaming || !s->taken) return false;
    s->state = State::ending;
    post(*s, handle, std::move(end));
    return true;
}

StreamSend Suspensions::send(std::uint64_t handle, std::unique_ptr<LaterAnswer> data) {
    const std::uint64_t n = data->body.size();
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::streaming || s->taken) return StreamSend::gone;
    if (n == 0) return StreamSend::taken;  // nothing to post: the stream is open
    if (s->unwritten > 0 && s->unwritten + n > kStreamBound) {
        s->wants_drain = true;
        return StreamSend::full;
    }
    s->unwritten += n;
    post(*s, handle, std::move(data));
    return StreamSend::taken;
}

bool Suspensions::end_stream(std::uint64_t handle, std::unique_ptr<LaterAnswer> end) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::streaming || s->taken) return false;
    s->state = State::ending;
    post(*s, handle, std::move(end));
    return true;
}

bool Suspensions::post_upgraded(std::uint64_t handle, std::unique_ptr<LaterAnswer> message) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::streaming || !s->upgraded || s->taken) return false;
    post(*s, handle, std::move(message));
    return true;
}

bool Suspensions::open(std::uint64_t handle) noexcept {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    return s && s->state == State::streaming;
}

std::size_t Suspensions::upgraded() noexcept {
    std::lock_guard lock(mutex_);
    return upgraded_;
}

bool Suspensions::read_body(std::uint64_t handle, std::unique_ptr<LaterAnswer> read) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::suspended || !s->body || s->reading) return false;
    s->reading = true;
    post(*s, handle, std::move(read));
    return true;
}

void Suspensions::body_piece(std::uint64_t handle, bool last) noexcept {
    std::lock_guard lock(mutex_);
    if (Slot* s = find(handle)) {
        s->reading = false;
        if (last) s->body = false;
    }
}

bool Suspensions::written(std::uint64_t handle, std::uint64_t n, void (*&fn)(void*), void*& arg) noexcept {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || (s->state != State::streaming && s->state != State::ending)) return false;
    s->unwritten = n < s->unwritten ? s->unwritten - n : 0;
    if (!s->wants_drain || s->unwritten > kStreamLowWater || s->state != State::streaming) return false;
    s->wants_drain = false;
    fn = s->drain;
    arg = s->drain_arg;
    return fn != nullptr;
}

bool Suspensions::cancel(std::uint64_t handle, void (*&fn)(void*), void*& arg) noexcept {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s) return false;
    const bool tell = s->state == State::suspended || s->state == State::streaming;
    fn = s->cancel;
    arg = s->arg;
    release(*s, static_cast<std::uint32_t>(handle));
    return tell;
}

bool Suspensions::deliver(std::uint64_t handle, LaterAnswer::Kind kind) noexcept {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s) return false;
    switch (kind) {
    case LaterAnswer::Kind::answer:
        if (s->state != State::resumed) return false;
        break;
    case LaterAnswer::Kind::head:
    case LaterAnswer::Kind::upgrade:
    case LaterAnswer::Kind::hijack:
    case LaterAnswer::Kind::data:
    case LaterAnswer::Kind::timeout:
        return s->state == State::streaming || s->state == State::ending;
    case LaterAnswer::Kind::read:
        return s->state == State::suspended;
    case LaterAnswer::Kind::end:
        if (s->state != State::ending) return false;
        break;
    }
    release(*s, static_cast<std::uint32_t>(handle));
    return true;
}

std::size_t Suspensions::pending() noexcept {
    std::lock_guard lock(mutex_);
    return pending_;
}

std::size_t Suspensions::streams() noexcept {
    std::lock_guard lock(mutex_);
    return streams_;
}

}  // namespace brisk
