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
    s = Slot{s.generation + 1 ? s.generation + 1 : 1};  // generation 0 never matches a handle
    free_.push_back(index);
    --pending_;
}

std::uint64_t Suspensions::suspend(Loop& loop, Conn& c, void (*on_cancel)(void*), void* arg) {
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
    ++pending_;
    return handle_of(index, s.generation);
}

void Suspensions::drop(std::uint64_t handle) noexcept {
    std::lock_guard lock(mutex_);
    if (Slot* s = find(handle); s && s->state == State::suspended) release(*s, static_cast<std::uint32_t>(handle));
}

bool Suspensions::resume(std::uint64_t handle, std::unique_ptr<LaterAnswer> answer) {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::suspended) return false;
    s->state = State::resumed;
    // Under the table's lock: the loop cannot free the slot, nor end, meanwhile.
    s->loop->post_later(*s->conn, handle, std::move(answer));
    return true;
}

bool Suspensions::cancel(std::uint64_t handle, void (*&fn)(void*), void*& arg) noexcept {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s) return false;
    const bool tell = s->state == State::suspended;
    fn = s->cancel;
    arg = s->arg;
    release(*s, static_cast<std::uint32_t>(handle));
    return tell;
}

bool Suspensions::deliver(std::uint64_t handle) noexcept {
    std::lock_guard lock(mutex_);
    Slot* s = find(handle);
    if (!s || s->state != State::resumed) return false;
    release(*s, static_cast<std::uint32_t>(handle));
    return true;
}

std::size_t Suspensions::pending() noexcept {
    std::lock_guard lock(mutex_);
    return pending_;
}

}  // namespace brisk
