// brisk — TLS on OpenSSL 3: the server's certificates and settings
// (tls::Context, one per server, shared by every loop) and one connection's
// protocol state (tls::Session). OpenSSL owns only the protocol state: it
// reads ciphertext from the transport's buffers and writes it into the
// session's own buffer (BIOs of brisk's), and brisk's transports move those bytes between
// the session and the socket (server/transport.cpp), so no OpenSSL call ever
// touches a descriptor or blocks.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "brisk/config.hpp"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;
using BIO = struct bio_st;
using EVP_CIPHER_CTX = struct evp_cipher_ctx_st;
using EVP_MAC_CTX = struct evp_mac_ctx_st;

namespace brisk::tls {

/** The server's certificates (SNI picks one; the first is the default) and protocol settings. */
class Context {
public:
    /**
     * Loads every certificate and key of `cfg` (tls_certs) and applies its tls_* settings.
     * Null with `error` set to one line naming the file on a problem: an
     * unreadable file, a key that does not match its certificate, a
     * certificate that has expired, a setting OpenSSL refuses.
     */
    static std::unique_ptr<Context> create(const Config& cfg, std::string& error);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    /** A new connection's state, or null (out of memory). */
    SSL* accept_state() const noexcept;

    /** A session-ticket key: its name (in the ticket, to find the key again), AES-256 key and HMAC-SHA256 key. */
    struct TicketKey {
        std::int64_t period = -1;
        unsigned char name[16] = {};
        unsigned char aes[32] = {};
        unsigned char mac[32] = {};
    };
    /** Ticket keys rotate every period: a ticket is accepted in its period and the next (and the one before, for clocks
     * a little apart). */
    static constexpr std::int64_t kTicketPeriodSeconds = 3600;
    /** The key of one period, derived from `secret` (HMAC-SHA256): the same secret gives the same keys everywhere. */
    static TicketKey ticket_key(const std::array<unsigned char, 32>& secret, std::int64_t period) noexcept;

private:
    Context() = default;
    struct Cert {
        SSL_CTX* ctx = nullptr;
        std::vector<std::string> names;  // subjectAltName DNS entries (wildcards as written), else the CN
    };
    static int on_servername(SSL* ssl, int* alert, void* arg) noexcept;
    static int on_ticket_key(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                             int encrypt) noexcept;
    const Cert* pick(std::string_view name) const noexcept;
    std::vector<Cert> certs_;
    std::array<unsigned char, 32> ticket_secret_{};
};

/**
 * Makes the process's ticket secret now (it is made on first use otherwise):
 * a master calls it before forking its --processes workers, which then
 * encrypt and decrypt the same tickets.
 */
void prepare_ticket_secret() noexcept;

/** Why a handshake failed, for the metrics (brisk_tls_handshake_failures_total{reason}). */
enum class Failure : std::uint8_t {
    protocol,  // the client's protocol or suites are not offered (TLS 1.0/1.1, no shared cipher)
    not_tls,   // plain HTTP, or other bytes that are not a handshake
    timeout,   // --tls-handshake-timeout passed
    other,     // any other alert or error
};
inline constexpr std::size_t kFailures = 4;
/** The metrics label of a failure. */
std::string_view failure_name(Failure f) noexcept;

/** What Session::read() found. */
enum class Read : std::uint8_t {
    data,    // plaintext bytes
    more,    // nothing yet: more ciphertext is needed
    closed,  // the client sent close_notify
    failed,  // a protocol error (an alert is queued for the client)
};

/**
 * Ciphertext encrypted ahead of the socket, at most: a session sends its
 * records in batches of up to this many bytes (one send for several
 * records), from a buffer of this size borrowed from its loop's spares.
 */
inline constexpr std::size_t kCipherBuffer = 256 * 1024;

/** One connection's TLS: the SSL object, its BIOs, and ciphertext the socket has not taken yet. */
class Session {
public:
    /** Takes `ssl` (freed with the session). Not movable: OpenSSL's write BIO points to it. */
    explicit Session(SSL* ssl) noexcept;
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /**
     * Ciphertext from the socket, read by OpenSSL from `data` itself: the
     * bytes must stay until keep_rest() (or the next feed()) is called.
     */
    void feed(const char* data, std::size_t len);
    /** Copies in what was fed and not read yet (a partial record): call before the fed buffer goes. */
    void keep_rest();
    /** OpenSSL's read BIO: the next ciphertext bytes, at most `cap`; 0 if none wait. */
    std::size_t take(char* out, std::size_t cap) noexcept;
    /** Ciphertext fed and not read by OpenSSL yet. */
    std::size_t unread() const noexcept { return kept_.size() - kept_at_ + fed_len_; }
    /** Decrypts into `out` (at most `cap` bytes); `n` is set with Read::data. */
    Read read(char* out, std::size_t cap, std::size_t& n) noexcept;
    /** Whether plaintext or unprocessed ciphertext waits inside (read() may give more without feed()). */
    bool buffered() const noexcept;
    /** Encrypts `len` bytes (at most one record is best); false on a failure. */
    bool write(const void* data, std::size_t len) noexcept;
    /** Queues close_notify. */
    void close_notify() noexcept;
    /**
     * Writes the ciphertext waiting (handshake messages, records, alerts) to
     * `fd` by plain sends: 0 when all left, EAGAIN when the socket is full
     * (the rest waits here), or the errno of a failure.
     */
    int flush(int fd, int flags) noexcept;
    /** Ciphertext waiting for the socket. */
    bool pending() const noexcept { return sent_ < len_; }
    /** Bytes of ciphertext waiting for the socket. */
    std::size_t unsent() const noexcept { return len_ - sent_; }
    /** OpenSSL's write BIO: appends a record (or handshake flight) to the ciphertext waiting; false when out of memory.
     */
    bool append(const char* data, std::size_t len) noexcept;
    bool handshake_done() const noexcept;
    /** After a failed read: why, for the metrics (the handshake's failure). */
    Failure failure() const noexcept { return failure_; }
    /** The handshake resumed a session (a ticket). */
    bool resumed() const noexcept;
    /**
     * "TLSv1.3", the cipher's OpenSSL name, the SNI name and the protocol ALPN
     * chose (each empty if none): for logs and plugins; static or the session's.
     */
    std::string_view protocol() const noexcept;
    std::string_view cipher() const noexcept;
    std::string_view server_name() const noexcept;
    std::string_view alpn() const noexcept;
    /** Counted once: the first call after the handshake finished returns true. */
    bool first_done() noexcept {
        if (counted_ || !handshake_done()) return false;
        counted_ = true;
        return true;
    }
    /** Nothing came yet: the first bytes decide whether they are TLS at all. */
    bool fresh() const noexcept { return fresh_; }
    void mark_started() noexcept { fresh_ = false; }

private:
    void release_buffer() noexcept;
    SSL* ssl_;
    BIO* in_ = nullptr;  // OpenSSL's ciphertext from the client: take() from kept_, then fed_
    // Ciphertext not read by OpenSSL yet: a copy kept from an earlier feed
    // (from kept_at_ on), then the caller's bytes of this one.
    std::string kept_;
    std::size_t kept_at_ = 0;
    const char* fed_ = nullptr;
    std::size_t fed_len_ = 0;
    BIO* out_ = nullptr;  // OpenSSL's ciphertext for the client: append() to buf_
    // Ciphertext the socket has not taken: [sent_, len_) of a pooled buffer
    // of cap_ bytes, held only while some waits.
    char* buf_ = nullptr;
    std::size_t cap_ = 0;
    std::size_t len_ = 0;
    std::size_t sent_ = 0;
    bool fresh_ = true;
    bool counted_ = false;
    Failure failure_ = Failure::other;
};

/** Whether the first bytes on a TLS port are a plain HTTP request (a method's capital letters), not a ClientHello. */
bool looks_like_http(const char* data, std::size_t len) noexcept;

/** The answer to plain HTTP sent to a TLS port (like nginx's 400). */
std::string_view plain_http_answer() noexcept;

/**
 * Whether `ulps` (the text of /proc/sys/net/ipv4/tcp_available_ulp) names
 * the kernel's TLS ULP, "tls": the kernel could then encrypt records itself
 * (kTLS).
 */
bool offers_kernel_tls(std::string_view ulps) noexcept;
/** The line that says, once at start, how static files leave over TLS on this kernel. */
std::string static_file_path_line();

}  // namespace brisk::tls
