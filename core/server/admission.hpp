// brisk — the accept path's policy, apart from the loop that applies it:
// which connections are admitted (--concurrency, --max-conns-per-ip), the
// answers to those refused, and which client a request is from (behind a
// PROXY listener or a trusted proxy: see Loop::accepted and admission.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace brisk {

/**
 * Connections per client address, shared by every loop of a server
 * (--max-conns-per-ip). Thread-safe; used only when the limit is set, once
 * per connection at admission and once at close.
 */
class PeerCounts {
public:
    /**
     * Takes a slot for the address `ip` (`len` bytes: 4 or 16); false when
     * it holds `max` already. An address of no bytes (a unix socket's
     * client) always gets one and counts nothing.
     */
    bool acquire(const std::uint8_t* ip, std::size_t len, std::uint32_t max);
    /** Gives back a slot taken by acquire() for the same address. */
    void release(const std::uint8_t* ip, std::size_t len);
    /** The slots `ip` holds now. */
    std::uint32_t held(const std::uint8_t* ip, std::size_t len);

private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::uint32_t> counts_;
};

/** Why a connection is refused at accept. */
enum class Refusal : std::uint8_t { overloaded, too_many_from_ip };

/** A refused connection's whole answer, rendered once: status, body and the bytes sent. */
struct RefusalAnswer {
    std::uint16_t status;
    std::string_view body;
    std::string_view bytes;  // status line, headers (Connection: close) and body
};

/** 503 when --concurrency is reached; 429 when the client has --max-conns-per-ip connections. */
const RefusalAnswer& refusal_answer(Refusal why) noexcept;

}  // namespace brisk
