// brisk — the HTTP/1 protocol of a connection, as one state machine over a
// transport (server/transport.hpp): read → parse → route → handle → write,
// as many requests as are buffered, then one flush; then idle (worker
// released), reading (partial request), writing (socket full), handling (a
// handler on the blocking pool, or a suspended request), streaming (a
// plugin's body given over time), lingering or closed.
//
// Every state change goes through Http1::enter(), which also sets the
// deadline the connection waits under (ConnState names them). Events from
// either backend reach one dispatcher, Http1::on_event().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include "http/response.hpp"
#include "http/response_writer.hpp"
#include "server/connection.hpp"
#include "brisk/config.hpp"
#include "server/handler.hpp"
#include "server/router.hpp"
#include "server/suspend.hpp"
#include "server/transport.hpp"
#include "server/worker.hpp"

namespace brisk {

class Loop;

/**
 * What the loop's backend-independent code (accept, timers, the blocking
 * pool's completions) asks of its connections' protocol: a table chosen
 * once per loop, when its backend starts. The hot path, a backend's events,
 * calls the protocol's own type directly (Http1<T>::on_event).
 */
class Protocol {
public:
    explicit Protocol(Loop& loop) noexcept;
    virtual ~Protocol() = default;
    Protocol(const Protocol&) = delete;
    Protocol& operator=(const Protocol&) = delete;

    /**
     * A record for a socket just accepted, counted in the loop's open
     * connections (Loop::accepted counts it in Shared::open, which close()
     * gives back).
     */
    Conn& adopt(int fd);
    /** An admitted connection starts: its first input (`proxy`: a PROXY protocol header first). */
    virtual void start(Conn& c, bool proxy) = 0;
    /** A connection refused at accept: `answer` (a whole response), a half-close and a short linger. */
    virtual void refuse(Conn& c, std::string_view answer) = 0;
    /** The connection's deadline (Conn::timer) passed. */
    virtual void on_timeout(Conn& c) = 0;
    /** The handler it ran on the blocking pool returned `outcome`. */
    virtual void resume(Conn& c, Outcome outcome) = 0;
    /** Closes the connection (deferred while a handler runs on the pool with its worker). */
    virtual void close(Conn& c) noexcept = 0;
    /** The answer to its suspended request arrived (Suspensions::deliver said it is still wanted). */
    virtual void deliver(Conn& c, const LaterAnswer& answer) = 0;

    Worker& bind_worker(Conn& c);
    void release_worker(Conn& c);
    /** Gives the record back once neither the loop nor the kernel uses it. */
    void release_record(Conn& c) noexcept;

protected:
    // --- writing answers into the worker's output (http1_connection.cpp)
    /** Appends a built reply (or its simple response) to the output; returns whether the connection stays. */
    bool write_reply(Worker& w, bool keep_alive, http::Answering a);
    void write_response(Worker& w, const http::Response& resp, bool keep_alive, http::Answering a);
    http::CommonLines common_lines(bool secure) noexcept;
    std::string_view date_lines(bool secure) noexcept;
    /**
     * A ",redirect" listener's answer to every request: a 308 to the same
     * host (without its port) and target over https, on the first TLS
     * listener's port; a 400 without a Host to name.
     */
    void redirect_to_https(Worker& w);
    /** A refused request's answer; the connection closes after it. */
    void respond_error(Conn& c, Worker& w, std::uint16_t status, bool parsed = false);
    /** The suspended request of `w` will not be answered by its plugin: tells it (its cancel callback). */
    void cancel_later(Worker& w) noexcept;
    /**
     * A request whose body a plugin was reading is answered before the
     * body's end: the rest is not read; the connection closes after the
     * answer (draining what the client still sends).
     */
    static void abandon_body(Conn& c, Worker& w) noexcept;
    /** Input that arrived while the request was handled (or streamed) joins the rest. */
    void take_held(Worker& w);
    /** Puts a later answer (or a stream's head) into the worker's reply. */
    static void fill_reply(Worker& w, const LaterAnswer& answer);

    /** A live stream on its connection (plugin ABI 1.1): the worker comes and goes, this stays. */
    struct Stream {
        std::uint64_t handle = 0;
        std::uint64_t unaccounted = 0;  // body bytes given since everything last left
        bool body = true;               // body bytes are sent (not for HEAD, nor 204 and 304)
        bool chunked = true;            // HTTP/1.1; HTTP/1.0 gets a close-delimited body
        bool ended = false;             // the plugin's end arrived
        bool upgraded = false;          // a connection taken over (101): input goes to on_read
        void (*on_read)(void*, const void*, std::uint64_t) = nullptr;
        void* read_arg = nullptr;
        std::int64_t idle_ms = 0;  // upgraded: closed after this long without input (0: never)
        bool taken = false;        // hijacked: the socket goes (or went) to the plugin
        bool handed = false;       // hijacked, and handed over: brisk only closes it (hijack_close)
        void (*on_taken)(void*, std::int32_t, const void*, std::uint64_t) = nullptr;
    };
    Stream* stream_of(const Conn& c) noexcept {
        auto it = streams_.find(&c);
        return it == streams_.end() ? nullptr : &it->second;
    }
    /** Everything given so far has left: the plugin's drain callback, when a refused send waits for it. */
    void stream_written(Stream& s) noexcept;
    /** The connection of a stream closes before its end: the plugin is told (its cancel callback). */
    void cancel_stream(const Conn& c) noexcept;

    Loop& loop_;
    // The loop's settings, at hand for every request.
    const Config& cfg_;
    const Router& router_;
    const bool observe_;              // an access log or a metrics route exists
    const bool trust_forwarded_;      // trusted proxies are configured
    const bool streams_body_;         // a handler takes request bodies as they arrive
    const std::uint16_t https_port_;  // where ",redirect" sends requests
    std::string redirect_;            // the last redirect's Location and body (valid until it is written)
    std::unordered_map<const Conn*, Stream> streams_;
};

/** HTTP/1.x over transport T. */
template <class T>
class Http1 final : public Protocol {
public:
    Http1(Loop& loop, T transport) noexcept : Protocol(loop), t_(transport) {}

    /** The one dispatcher of both backends: kInput, kOutput, kFailed. */
    [[gnu::always_inline]] inline void on_event(Conn& c, unsigned events);

    void start(Conn& c, bool proxy) override;
    void refuse(Conn& c, std::string_view answer) override;
    void on_timeout(Conn& c) override;
    void resume(Conn& c, Outcome outcome) override;
    void close(Conn& c) noexcept override;
    void deliver(Conn& c, const LaterAnswer& answer) override;

    T& transport() noexcept { return t_; }
    /** Whether the connection was taken over by a plugin (101). */
    bool upgraded(const Conn& c) noexcept {
        const Stream* s = stream_of(c);
        return s && s->upgraded;
    }
    /** Whether the connection was hijacked: its socket goes to the plugin, nothing re-arms a read. */
    bool taken(const Conn& c) noexcept {
        const Stream* s = stream_of(c);
        return s && s->taken;
    }

private:
    /**
     * The transition function: enters state `next` and its deadline. A
     * deadline already running for the same state is kept unless `restart`
     * (progress was made): a request's read deadline runs from its first
     * byte, an idle one from the last answer.
     */
    [[gnu::always_inline]] void enter(Conn& c, ConnState next, bool restart = true);

    void on_input(Conn& c);
    /** Flushes the batch's answers, then settles the connection in its next state. */
    void finish(Conn& c, Worker& w, bool progressed);
    enum class Step : std::uint8_t { more, wait, close, handling };
    /** Handles every complete request in the buffer, appending the answers. */
    Step process(Conn& c, Worker& w);
    void dispatch(Conn& c, Worker& w);
    /**
     * A head with a body whose first route's handler reads bodies as they
     * arrive: that handler runs now. True with `step` set when it settled the
     * request (suspended it, or answered from the head); false when the
     * body is read whole first (no such handler, or it declined).
     */
    bool dispatch_early(Conn& c, Worker& w, Step& step);
    /** The handler suspended the request: the connection waits in `handling` for its answer. */
    void wait_later(Conn& c, Worker& w);
    /** The plugin asked for the next piece of the body (body_read). */
    void read_body(Conn& c, const LaterAnswer& m);
    /** Hands the plugin the next piece of the body once there is one, reading as needed. */
    void pump_body(Conn& c, Worker& w);
    /** A body being read by a plugin failed (413, 400, 408): the plugin is told, the client answered. */
    void abort_body(Conn& c, Worker& w, std::uint16_t status);
    void complete(Conn& c, Worker& w, Outcome outcome);
    template <bool Observed>
    void answer(Conn& c, Worker& w, Outcome outcome);
    bool run_blocking(Conn& c, Worker& w, Handler& h);
    /** The head of a suspended request's stream arrived: it leaves now, the body as it comes. */
    void open_stream(Conn& c, const LaterAnswer& head);
    /** Body bytes or the end of the connection's stream arrived. */
    void stream_more(Conn& c, const LaterAnswer& m);
    /** Writes the stream's pending output; once all of it left, the worker goes (or the stream ends). */
    void stream_flush(Conn& c, Stream& s);
    /** The stream's end left: the connection goes on with its next request (or closes). */
    void finish_stream(Conn& c);
    /** An upgraded connection's input: everything there is goes to the plugin's on_read. */
    void upgraded_input(Conn& c, Stream& s);
    /** A hijack arrived: the socket goes to the plugin once earlier answers left and the kernel let go of it. */
    void hijack(Conn& c, const LaterAnswer& m);
    /** Hands the socket over when it can be (else waits for output, or for io_uring's cancellations). */
    void hand_over(Conn& c, Stream& s);
    /** The stream waits: the write deadline while output is pending, an upgraded connection's idle one else. */
    void settle_stream(Conn& c, const Stream& s);
    /** Sends what is buffered; false unless it all left (the connection waits, or is closed). */
    bool flush(Conn& c, Worker& w);
    /** The socket takes more output (or a send completed) while writing. */
    [[gnu::always_inline]] inline void on_output(Conn& c);
    /** Half-closes and drains what the client still sends, until it closes too or a short deadline. */
    void linger(Conn& c);
    void discard(Conn& c);
    void on_proxy_input(Conn& c);
    /** Whether the PROXY header is complete and the connection goes on to its requests. */
    bool read_proxy_header(Conn& c, Worker& w);

    T t_;
};

extern template class Http1<EpollTransport>;
extern template class Http1<UringTransport>;

}  // namespace brisk
