// brisk — requests answered later (plugin ABI 1.1 suspend/resume and
// streams): the process-wide table of suspended requests, and the messages
// on their way from any thread to the loop that owns the connection.
//
// A suspended request has a handle: a slot index and that slot's generation.
// Every transition happens under one mutex:
//   resume (any thread)      suspended -> resumed: the answer is posted to the
//                            loop, which delivers it and frees the slot;
//   stream_open (any thread) suspended -> streaming: the head is posted; then
//                            send() posts body bytes, up to kStreamBound
//                            bytes not yet written to the socket;
//   stream_end (any thread)  streaming -> ending: the end is posted, and its
//                            delivery frees the slot;
//   hijack (any thread)      suspended -> streaming, taken: the hand-over is
//                            posted; hijack_close then moves it to ending like
//                            stream_end (send and the rest refuse it);
//   cancel (loop thread)     suspended or streaming -> free: the client left,
//                            the handler timeout passed, the write timeout
//                            passed, or the server stops; the plugin's cancel
//                            callback is called (by the caller, on the loop);
//   and a resumed or ending request whose connection closes first frees the
//   slot (cancel returns false): what was posted is dropped on arrival.
// A handle that is not in use any more (or never was) matches no slot's
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

/** What a plugin gave later for a request, copied on the calling thread. */
struct LaterAnswer {
    enum class Kind : std::uint8_t {
        answer,   // the whole answer (resume)
        head,     // a stream's status and fields (stream_open)
        data,     // a stream's body bytes (stream_send)
        end,      // the stream's end (stream_end)
        read,     // the plugin asks for the next piece of the request body (body_read)
        upgrade,  // 101 and the connection taken over (upgrade); on_read/arg: where input goes
        timeout,  // an upgraded connection's idle timeout (upgrade_timeout), in `ms`
        hijack,   // the socket handed to the plugin (hijack); on_taken/arg: who takes it
    };
    Kind kind = Kind::answer;
    std::uint16_t status = 200;
    std::string headers;  // "Name: value\r\n" lines, checked
    std::string body;
    // read: where the piece goes.
    void (*on_body)(void*, const void*, std::uint64_t, std::int32_t) = nullptr;
    void* arg = nullptr;
    // upgrade: where the connection's input goes; timeout: milliseconds.
    void (*on_read)(void*, const void*, std::uint64_t) = nullptr;
    std::uint64_t ms = 0;
    // hijack: where the socket goes.
    void (*on_taken)(void*, std::int32_t, const void*, std::uint64_t) = nullptr;
};

/** What Suspensions::send() did with a stream's bytes. */
enum class StreamSend : std::uint8_t { taken, full, gone };

class Suspensions {
public:
    /**
     * Bytes of a stream accepted and not yet written to its socket, past
     * which a send is refused (one send into an empty stream is always taken).
     */
    static constexpr std::uint64_t kStreamBound = 64 * 1024;
    /** After a refused send, the drain callback runs once the stream's unwritten bytes are down to this. */
    static constexpr std::uint64_t kStreamLowWater = 16 * 1024;

    /** The one table of this process. */
    static Suspensions& get() noexcept;

    /**
     * On `loop`'s thread: a handle for the request of `c` (never 0).
     * `body`: its body is read by the plugin (body_read), piece by piece.
     * `upgradable`: it asked for an upgrade, which upgrade() may answer.
     * `tls`: it came over TLS (hijack() refuses it).
     */
    std::uint64_t suspend(Loop& loop, Conn& c, void (*on_cancel)(void*), void* arg, bool body = false,
                          bool upgradable = false, bool tls = false);
    /** Undoes suspend() before the handler returned (it failed or declined): no callback, nothing posted arrives. */
    void drop(std::uint64_t handle) noexcept;
    /** Any thread: posts the answer to the request's loop; false if the handle is not suspended. */
    bool resume(std::uint64_t handle, std::unique_ptr<LaterAnswer> answer);
    /** Any thread: posts a stream's head (or an upgrade's 101); false if the handle is not suspended. */
    bool open_stream(std::uint64_t handle, std::unique_ptr<LaterAnswer> head, void (*on_drain)(void*), void* arg);
    /**
     * Any thread: posts the hand-over of a suspended request's socket; false
     * if the handle is not suspended or its body is not read to the end.
     * The handle then stands for the taken connection (open(), streams()
     * and upgraded() count it) until hijack_close() posts its end.
     */
    bool hijack(std::uint64_t handle, std::unique_ptr<LaterAnswer> hand_over);
    /** Any thread: posts the close of a taken connection; false if the handle is not one. */
    bool hijack_close(std::uint64_t handle, std::unique_ptr<LaterAnswer> end);
    /** Any thread: posts a message for an upgraded connection that is open (upgrade_timeout). */
    bool post_upgraded(std::uint64_t handle, std::unique_ptr<LaterAnswer> message);
    /** On the loop's thread: whether the stream is open, its end not given (input for it is still wanted). */
    bool open(std::uint64_t handle) noexcept;
    /** How many connections are upgraded (taken over by a plugin) and open. */
    std::size_t upgraded() noexcept;
    /** Any thread: posts body bytes of an open stream, unless the stream is full or gone. */
    StreamSend send(std::uint64_t handle, std::unique_ptr<LaterAnswer> data);
    /** Any thread: posts the end of an open stream; false if it is not open. */
    bool end_stream(std::uint64_t handle, std::unique_ptr<LaterAnswer> end);
    /** Any thread: posts a request for the next piece of the body; false unless one may be asked for now. */
    bool read_body(std::uint64_t handle, std::unique_ptr<LaterAnswer> read);
    /**
     * On the loop's thread, as a piece is handed to the plugin: the read is
     * no longer pending (the plugin may ask again from its callback); `last`:
     * the body has ended.
     */
    void body_piece(std::uint64_t handle, bool last) noexcept;
    /**
     * On the loop's thread: `n` bytes of the stream were written to the
     * socket (or dropped, for a HEAD request). True (with the callback) if
     * a refused send waits for the drain callback, now due.
     */
    bool written(std::uint64_t handle, std::uint64_t n, void (*&fn)(void*), void*& arg) noexcept;
    /**
     * On the loop's thread, when the request will not be answered (or its
     * stream not ended): frees the handle; true (with the callback) if the
     * plugin is to be told, false if its answer or end is on its way already
     * (it will be dropped).
     */
    bool cancel(std::uint64_t handle, void (*&fn)(void*), void*& arg) noexcept;
    /**
     * On the loop's thread, as a posted message arrives: whether it is still
     * wanted (false: the request was cancelled meanwhile). An answer or a
     * stream's end frees the handle.
     */
    bool deliver(std::uint64_t handle, LaterAnswer::Kind kind) noexcept;
    /** How many requests are suspended now (or resumed, not yet delivered). */
    std::size_t pending() noexcept;
    /** How many streams are open (their head was given, their end not delivered yet). */
    std::size_t streams() noexcept;

private:
    enum class State : std::uint8_t { free, suspended, resumed, streaming, ending };
    struct Slot {
        std::uint32_t generation = 1;
        State state = State::free;
        bool wants_drain = false;  // a send was refused since the last drain
        bool body = false;         // the plugin reads the request body, which has not ended
        bool reading = false;      // a body_read() waits for its piece
        bool upgraded = false;     // the stream is a connection taken over (101)
        bool upgradable = false;   // the request asked for an upgrade
        bool taken = false;        // the connection was hijacked: only hijack_close() applies
        bool tls = false;          // a TLS connection: its keys are brisk's, it cannot be hijacked
        Loop* loop = nullptr;
        Conn* conn = nullptr;
        void (*cancel)(void*) = nullptr;
        void* arg = nullptr;
        void (*drain)(void*) = nullptr;
        void* drain_arg = nullptr;
        std::uint64_t unwritten = 0;  // a stream's bytes taken and not yet written
    };
    Slot* find(std::uint64_t handle) noexcept;
    void release(Slot& s, std::uint32_t index) noexcept;
    void post(Slot& s, std::uint64_t handle, std::unique_ptr<LaterAnswer> message);

    std::mutex mutex_;
    std::vector<Slot> slots_;
    std::vector<std::uint32_t> free_;
    std::size_t pending_ = 0;
    std::size_t streams_ = 0;
    std::size_t upgraded_ = 0;
};

}  // namespace brisk
