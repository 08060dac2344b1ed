// brisk — requests answered later (plugin ABI 1.1 suspend/resume): the
// process-wide table of suspended requests, and the answers on their way
// from any thread to the loop that owns the connection.
//
// A suspended request has a handle: a slot index and that slot's generation.
// Every transition out of `suspended` happens once, under one mutex:
//   resume (any thread)  suspended -> resumed: the answer is posted to the
//                        loop, which delivers it (deliver) and frees the slot;
//   cancel (loop thread) suspended -> free: the client left, the handler
//                        timeout passed, or the server stops; the plugin's
//                        cancel callback is called (by the caller, on the loop);
//   and a resumed request whose connection closes first frees the slot
//   (cancel returns false): the posted answer is dropped on arrival.
// A handle that is not suspended any more (or never was) matches no slot's
// generation, so a late call touches nothing of the request.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace brisk {

class Loop;
struct Conn;

/** The whole answer a plugin gave later: copied on the calling thread. */
struct LaterAnswer {
    std::uint16_t status = 200;
    std::string headers;  // "Name: value\r\n" lines, checked
    std::string body;
};

class Suspensions {
public:
    /** The one table of this process. */
    static Suspensions& get() noexcept;

    /** On `loop`'s thread: a handle for the request of `c` (never 0). */
    std::uint64_t suspend(Loop& loop, Conn& c, void (*on_cancel)(void*), void* arg);
    /** Undoes suspend() before the handler returned (it failed or declined): no callback. */
    void drop(std::uint64_t handle) noexcept;
    /** Any thread: posts the answer to the request's loop; false if the handle is not suspended. */
    bool resume(std::uint64_t handle, std::unique_ptr<LaterAnswer> answer);
    /**
     * On the loop's thread, when the request will not be answered: frees the
     * handle; true (with the callback) if the plugin is to be told, false if
     * its answer is on its way already (it will be dropped).
     */
    bool cancel(std::uint64_t handle, void (*&fn)(void*), void*& arg) noexcept;
    /** On the loop's thread, as a posted answer arrives: frees the handle; false if it was cancelled meanwhile. */
    bool deliver(std::uint64_t handle) noexcept;
    /** How many requests are suspended now (or resumed, not yet delivered). */
    std::size_t pending() noexcept;

private:
    enum class State : std::uint8_t { free, suspended, resumed };
    struct Slot {
        std::uint32_t generation = 1;
        State state = State::free;
        Loop* loop = nullptr;
        Conn* conn = nullptr;
        void (*cancel)(void*) = nullptr;
        void* arg = nullptr;
    };
    Slot* find(std::uint64_t handle) noexcept;
    void release(Slot& s, std::uint32_t index) noexcept;

    std::mutex mutex_;
    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_;
    std::size_t pending_ = 0;
};

}  // namespace brisk
