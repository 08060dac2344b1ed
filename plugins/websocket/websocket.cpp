// brisk — the websocket plugin (plugin ABI 1.1): an RFC 6455 echo server on
// the C++ kit's WebSocket helper (brisk/websocket.hpp). Every text or binary
// message comes back as it was sent; pings get pongs; a close is answered
// with the same code. When brisk stops (or a reload retires this
// generation) every connection gets 1001, going away.
//
//   GET with Upgrade: websocket ...   101, then echo
//   a bad or missing Sec-WebSocket-Key, not a handshake   400
//   Sec-WebSocket-Version other than 13                   426 (Sec-WebSocket-Version: 13)
//
// What the helper refuses on the connection: unmasked or malformed frames
// (close 1002), text that is not UTF-8 (1007), a message over max_message
// (1009), a client that does not read its echoes (1008).
//
// Config ([plugins.NAME.config]):
//   max_message   the largest message, in bytes (1 to 67108864; default 1048576)
//   idle_timeout  milliseconds without anything from the client before the
//                 connection is closed (0: never; default 0)
#include <brisk/websocket.hpp>

#include <cstdint>
#include <memory>
#include <string_view>

namespace {

class Echo final : public brisk::ws::Session {
public:
    void on_message(brisk::ws::Kind kind, std::string_view data) override { send(kind, data); }
};

class WebSocket {
public:
    explicit WebSocket(brisk::PluginConfig& cfg) {
        if (auto max = cfg.expect_integer("max_message")) {
            if (*max < 1 || *max > (std::int64_t{1} << 26)) cfg.fail("max_message", "must be 1 to 67108864");
            max_message_ = static_cast<std::size_t>(*max);
        }
        if (auto idle = cfg.expect_integer("idle_timeout")) {
            if (*idle < 0) cfg.fail("idle_timeout", "must be 0 (never) or more milliseconds");
            idle_ms_ = static_cast<std::uint64_t>(*idle);
        }
    }

    // A stop or a reload: every WebSocket of this loop gets 1001 (going away) and closes.
    void loop_stopping(std::uint32_t) const { brisk::ws::Session::close_all(); }

    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        return brisk::ws::Session::start(std::make_unique<Echo>(), req, res, max_message_, idle_ms_);
    }

private:
    std::size_t max_message_ = std::size_t{1} << 20;
    std::uint64_t idle_ms_ = 0;
};

}  // namespace

BRISK_PLUGIN(WebSocket, "websocket", "1.0.0")
