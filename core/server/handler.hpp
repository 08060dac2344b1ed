// brisk — a request handler, the unit the router dispatches to: built-in
// fixed responses, static roots and plugin instances.
#pragma once

#include <cstdint>

#include "http/proxy_protocol.hpp"
#include "http/request.hpp"
#include "server/reply.hpp"

namespace brisk {

struct Conn;
namespace tls {
class Session;
}

enum class Outcome : std::uint8_t {
    done,       // `reply` holds the answer
    decline,    // not for this handler: try the next matching route
    error,      // 500 if nothing was sent, else the connection closes
    suspended,  // answered later (Reply::later; server/suspend.hpp)
};

/** What a handler is given: the request, where to answer, and who asked. */
struct HandlerCall {
    const http::Request& req;
    Reply& reply;
    const Conn& conn;
    unsigned loop_index;
    /**
     * The client named by a trusted proxy's X-Forwarded-For; when null or
     * without an address (ip_len 0), the connection's peer is the client.
     */
    const http::proxy::Address* client = nullptr;
    /** The request's body follows: the handler reads it piece by piece (streams_body()). */
    bool body_unread = false;
    /** The connection's TLS session; null for cleartext. */
    const tls::Session* tls = nullptr;
};

class Handler {
public:
    virtual ~Handler() = default;
    /**
     * Runs on a loop thread, concurrently with other loops, and must not
     * block — unless blocking() is true: then it runs on the blocking pool.
     */
    virtual Outcome handle(HandlerCall& call) = 0;
    virtual bool blocking() const noexcept { return false; }
    /** It takes request bodies as they arrive (plugin ABI 1.1): it is called once the head is there. */
    virtual bool streams_body() const noexcept { return false; }
    /** Per-loop set-up and tear-down, on the loop's own thread. Throws to fail start-up. */
    virtual void loop_init(unsigned /*loop_index*/) {}
    virtual void loop_fini(unsigned /*loop_index*/) noexcept {}
    /** The loop begins to drain (a stop, or a reload retiring its generation): on the loop's thread. */
    virtual void loop_stopping(unsigned /*loop_index*/) noexcept {}
};

}  // namespace brisk
