// brisk — WebSocket (RFC 6455) for C++ plugins, on plugin ABI 1.1's upgrade:
// the handshake, framing, masking, fragmentation, ping/pong, the close
// handshake and its codes, the UTF-8 check of text, and a message size
// limit, so that a plugin deals in messages only.
//
//   class Echo : public brisk::ws::Session {
//       void on_message(brisk::ws::Kind kind, std::string_view data) override { send(kind, data); }
//   };
//   brisk::Result handle(brisk::Request& req, brisk::Response& res) {
//       return brisk::ws::Session::start(std::make_unique<Echo>(), req, res, 1 << 20);
//   }
//
// Threads: every callback of a Session runs on its connection's loop
// thread, one at a time; send() and close() are for that thread too (a
// plugin thread hands its messages to the loop with a timer, or keeps its
// own queue). A Session is deleted by brisk::ws once its connection is over,
// never while one of its callbacks runs.
#pragma once

#include <brisk/plugin.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace brisk::ws {

/** A message's type. */
enum class Kind { text, binary };

/** Close codes (RFC 6455 7.4.1) that brisk::ws sends itself. */
enum Code : std::uint16_t {
    normal = 1000,
    going_away = 1001,
    protocol_error = 1002,
    invalid_data = 1007,  // text that is not UTF-8
    policy = 1008,        // a client that does not read what it is sent
    too_big = 1009,       // a message over the limit
    internal_error = 1011,
};

namespace detail {

inline std::array<std::uint8_t, 20> sha1(std::string_view data) {
    std::uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    std::string m(data);
    const std::uint64_t bits = std::uint64_t{data.size()} * 8;
    m.push_back(static_cast<char>(0x80));
    while (m.size() % 64 != 56) m.push_back('\0');
    for (int i = 7; i >= 0; --i) m.push_back(static_cast<char>(bits >> (8 * i)));
    auto rol = [](std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); };
    for (std::size_t off = 0; off < m.size(); off += 64) {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i) {
            const auto* p = reinterpret_cast<const unsigned char*>(m.data() + off + 4 * i);
            w[i] = std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
        }
        for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            const std::uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    std::array<std::uint8_t, 20> out{};
    for (int i = 0; i < 20; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(h[i / 4] >> (24 - 8 * (i % 4)));
    return out;
}

inline std::string base64(const std::uint8_t* p, std::size_t n) {
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    for (std::size_t i = 0; i < n; i += 3) {
        const std::uint32_t v = std::uint32_t{p[i]} << 16 | (i + 1 < n ? std::uint32_t{p[i + 1]} << 8 : 0) |
                                (i + 2 < n ? std::uint32_t{p[i + 2]} : 0);
        out += table[v >> 18 & 63];
        out += table[v >> 12 & 63];
        out += i + 1 < n ? table[v >> 6 & 63] : '=';
        out += i + 2 < n ? table[v & 63] : '=';
    }
    return out;
}

inline bool token_in(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view t = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        if (t.size() == token.size() &&
            std::equal(t.begin(), t.end(), token.begin(), [](char a, char b) { return (a | 0x20) == (b | 0x20); }))
            return true;
    }
    return false;
}

}  // namespace detail

/** Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 4.2.2). */
inline std::string accept_key(std::string_view key) {
    const auto digest = detail::sha1(std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    return detail::base64(digest.data(), digest.size());
}

/** Whether `key` is the base64 of 16 bytes, as RFC 6455 4.1 asks. */
inline bool valid_key(std::string_view key) noexcept {
    if (key.size() != 24 || key.substr(22) != "==") return false;
    for (char c : key.substr(0, 22))
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return false;
    return std::string_view("AQgw").find(key[21]) != std::string_view::npos;  // the last 4 bits are zero
}

/** Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
inline bool valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned c = *p++;
        if (c < 0x80) continue;
        int more;
        std::uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            more = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            more = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (end - p < more) return false;
        for (int i = 0; i < more; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (p[i] & 0x3F);
        }
        p += more;
        if ((more == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
    }
    return true;
}

/**
 * One WebSocket connection, server side. Derive from it, start it with
 * start() from handle(); brisk::ws owns it from then on and deletes it when
 * the connection is over (closed by either side, or gone).
 */
class Session {
public:
    Session() = default;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    virtual ~Session() {
        if (listed_) {
            (prev_ ? prev_->next_ : sessions()) = next_;
            if (next_) next_->prev_ = prev_;
        }
    }

    /**
     * Closes every session of the calling loop thread with `code` (1001,
     * going away, by default): for a plugin's loop_stopping(), so that a
     * stop or a reload ends its WebSockets with a close handshake.
     */
    static void close_all(std::uint16_t code = going_away, std::string_view reason = "server stopping") {
        for (Session* s = sessions(); s;) {
            Session* next = s->next_;
            s->close(code, reason);
            if (s->end_given_) delete s;  // not inside one of its callbacks: it can go now
            s = next;
        }
    }

    /** A whole message (fragments joined; text checked as UTF-8). */
    virtual void on_message(Kind kind, std::string_view data) = 0;
    /** The connection closes: the peer's close code (1005: none given, 1006: it just went away). */
    virtual void on_close(std::uint16_t /*code*/, std::string_view /*reason*/) {}

    /**
     * Checks the handshake of `req` (a GET with Upgrade: websocket,
     * Connection: upgrade, Sec-WebSocket-Version: 13 and a valid
     * Sec-WebSocket-Key) and answers it: 101 and `session` takes the
     * connection, or 400 with the reason (426 and the version brisk speaks
     * for another version). `max_message`: the largest message taken (1009
     * past it); `idle_ms`: the connection closes when nothing comes from the
     * client for that long (0: never).
     */
    static Result start(std::unique_ptr<Session> session, Request& req, Response& res, std::size_t max_message,
                        std::uint64_t idle_ms = 0) {
        const auto refuse = [&](std::uint32_t status, std::string_view why) {
            res.status(status).content_type("text/plain; charset=utf-8");
            if (status == 426) res.header("Sec-WebSocket-Version", "13");
            res.write(why);
            return Result::done;
        };
        const auto upgrade = req.header("Upgrade");
        const auto connection = req.header("Connection");
        if (req.method() != "GET" || !upgrade || !detail::token_in(*upgrade, "websocket") || !connection ||
            !detail::token_in(*connection, "upgrade"))
            return refuse(400, "not a WebSocket handshake: a GET with Upgrade: websocket and Connection: upgrade\n");
        const auto version = req.header("Sec-WebSocket-Version");
        if (!version) return refuse(400, "no Sec-WebSocket-Version\n");
        if (*version != "13") return refuse(426, "Sec-WebSocket-Version 13 only\n");
        const auto key = req.header("Sec-WebSocket-Key");
        if (!key || !valid_key(*key)) return refuse(400, "a missing or malformed Sec-WebSocket-Key\n");
        Session* s = session.get();
        s->max_message_ = max_message;
        s->later_ = res.suspend(&Session::cancelled, s);
        const std::string accept = accept_key(*key);
        if (!s->later_.upgrade({{"Upgrade", "websocket"}, {"Sec-WebSocket-Accept", accept}}, &Session::input,
                               &Session::drained, s))
            return Result::error;  // undoes the suspension (500); the session goes with `session`
        session.release();         // brisk::ws's from now on
        s->next_ = sessions();
        if (s->next_) s->next_->prev_ = s;
        sessions() = s;
        s->listed_ = true;
        if (idle_ms > 0) s->later_.upgrade_timeout(idle_ms);
        return Result::done;
    }

    /** Sends a message; false once closing (or when the client reads too slowly to keep up). */
    bool send(Kind kind, std::string_view data) { return send_frame(kind == Kind::text ? 1 : 2, data); }
    /** Starts the close handshake with `code`; the connection closes once the frame has left. */
    void close(std::uint16_t code, std::string_view reason = {}) {
        if (closing_) return;
        std::string payload;
        payload += static_cast<char>(code >> 8);
        payload += static_cast<char>(code & 0xff);
        payload += reason.substr(0, 123);
        send_frame(8, payload);
        closing_ = true;
        finish(code, reason);
    }

    /** Bytes of messages waiting for the client to read (what could not be sent at once). */
    std::size_t backlog() const noexcept { return pending_.size(); }

private:
    // The sessions of this loop thread (close_all).
    static Session*& sessions() noexcept {
        static thread_local Session* head = nullptr;
        return head;
    }

    // Output the client does not read past this closes the connection with 1008.
    std::size_t backlog_limit() const noexcept { return 4 * max_message_ + 4096; }

    static void cancelled(void* p) {
        Session* s = static_cast<Session*>(p);
        if (!s->ended_) s->on_close(1006, {});
        delete s;
    }
    // The entry points from brisk: a Session that has given its end is deleted
    // there, once its own code (and the plugin's callbacks) are done with it.
    static void drained(void* p) {
        Session* s = static_cast<Session*>(p);
        s->flush();
        if (s->end_given_) delete s;
    }
    static void input(void* p, const void* data, std::uint64_t len) {
        Session* s = static_cast<Session*>(p);
        s->feed(static_cast<const char*>(data), static_cast<std::size_t>(len));
        if (s->end_given_) delete s;
    }

    bool send_frame(unsigned opcode, std::string_view payload) {
        if (closing_) return false;
        std::string frame;
        frame += static_cast<char>(0x80 | opcode);
        if (payload.size() < 126) {
            frame += static_cast<char>(payload.size());
        } else if (payload.size() < 65536) {
            frame += static_cast<char>(126);
            frame += static_cast<char>(payload.size() >> 8);
            frame += static_cast<char>(payload.size() & 0xff);
        } else {
            frame += static_cast<char>(127);
            for (int i = 7; i >= 0; --i) frame += static_cast<char>(std::uint64_t{payload.size()} >> (8 * i));
        }
        frame.append(payload);
        if (pending_.empty()) {
            const Later::Sent r = later_.send(frame);
            if (r == Later::Sent::taken) return true;
            if (r == Later::Sent::gone) return false;
        }
        if (pending_.size() + frame.size() > backlog_limit()) {
            // The client does not read: stop, rather than buffer without limit.
            pending_.clear();
            closing_ = true;
            finish(policy, "not reading");
            return false;
        }
        pending_ += frame;
        return true;
    }

    void flush() {
        if (!pending_.empty() && later_.send(pending_) == Later::Sent::taken) pending_.clear();
        give_end();
    }

    // Once the session ended and its output was taken: the stream's end (the connection closes after it).
    void give_end() {
        if (ended_ && !end_given_ && pending_.empty()) {
            later_.end();
            end_given_ = true;
        }
    }

    // The session ends on our side; with output pending the end waits for the drain callback.
    void finish(std::uint16_t code, std::string_view reason) {
        on_close(code, reason);
        ended_ = true;
        give_end();
    }

    void fail(std::uint16_t code, std::string_view why) {
        if (!closing_) close(code, why);
    }

    void feed(const char* data, std::size_t len) {
        if (closing_) return;  // after our close, what the client sends is dropped
        in_.append(data, len);
        std::size_t at = 0;
        while (!closing_) {
            const std::size_t avail = in_.size() - at;
            if (avail < 2) break;
            const auto* p = reinterpret_cast<const unsigned char*>(in_.data() + at);
            const bool fin = p[0] & 0x80;
            const unsigned opcode = p[0] & 0x0F;
            if (p[0] & 0x70) return fail(protocol_error, "reserved bits set");
            if (!(p[1] & 0x80)) return fail(protocol_error, "frames from a client must be masked");
            std::uint64_t n = p[1] & 0x7F;
            std::size_t head = 2;
            if (n == 126) {
                if (avail < 4) break;
                n = std::uint64_t{p[2]} << 8 | p[3];
                head = 4;
            } else if (n == 127) {
                if (avail < 10) break;
                n = 0;
                for (int i = 0; i < 8; ++i) n = n << 8 | p[2 + i];
                if (n >> 63) return fail(protocol_error, "a frame length over 2^63");
                head = 10;
            }
            const bool control = opcode >= 8;
            if (control && (!fin || n > 125)) return fail(protocol_error, "a fragmented or long control frame");
            if (!control && opcode != 0 && opcode != 1 && opcode != 2) return fail(protocol_error, "an unknown opcode");
            if (control && opcode != 8 && opcode != 9 && opcode != 10) return fail(protocol_error, "an unknown opcode");
            if (!control && message_.size() + n > max_message_) return fail(too_big, "message too big");
            if (avail < head + 4 + n) break;
            char mask[4];
            std::memcpy(mask, p + head, 4);
            std::string payload(in_.data() + at + head + 4, static_cast<std::size_t>(n));
            for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
            at += head + 4 + static_cast<std::size_t>(n);
            if (control) {
                on_control(opcode, payload);
                continue;
            }
            if (opcode == 0 && !in_message_) return fail(protocol_error, "a continuation without a message");
            if (opcode != 0 && in_message_) return fail(protocol_error, "a new message inside a fragmented one");
            if (opcode != 0) {
                text_ = opcode == 1;
                in_message_ = true;
            }
            message_ += payload;
            if (!fin) continue;
            in_message_ = false;
            if (text_ && !valid_utf8(message_)) return fail(invalid_data, "text that is not UTF-8");
            std::string whole;
            whole.swap(message_);
            on_message(text_ ? Kind::text : Kind::binary, whole);
        }
        in_.erase(0, at);
    }

    // A ping, pong or close frame.
    void on_control(unsigned opcode, const std::string& payload) {
        if (opcode == 9) {
            send_frame(10, payload);
            return;
        }
        if (opcode == 10) return;
        // Close: answered with the same code (RFC 6455 5.5.1), then the connection closes.
        std::uint16_t code = 1005;
        std::string_view reason;
        if (payload.size() == 1) return fail(protocol_error, "a close frame of one byte");
        if (payload.size() >= 2) {
            code = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                              static_cast<unsigned char>(payload[1]));
            reason = std::string_view(payload).substr(2);
            const bool valid =
                (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
            if (!valid) return fail(protocol_error, "an invalid close code");
            if (!valid_utf8(reason)) return fail(invalid_data, "a close reason that is not UTF-8");
        }
        std::string answer;
        if (code != 1005) {
            answer += static_cast<char>(code >> 8);
            answer += static_cast<char>(code & 0xff);
        }
        send_frame(8, answer);
        closing_ = true;
        finish(code, reason);
    }

    Later later_;
    std::size_t max_message_ = 1 << 20;
    std::string in_;       // bytes of frames not complete yet
    std::string message_;  // fragments of the message so far
    std::string pending_;  // frames the client has not taken yet
    bool text_ = false;
    bool in_message_ = false;
    bool closing_ = false;    // our close frame is sent (or queued): nothing more goes out
    bool ended_ = false;      // the session is over on our side
    bool end_given_ = false;  // and the stream's end was given: brisk::ws deletes it
    bool listed_ = false;     // in this thread's sessions()
    Session* prev_ = nullptr;
    Session* next_ = nullptr;
};

}  // namespace brisk::ws
