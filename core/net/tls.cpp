// brisk — TLS on OpenSSL 3 (see tls.hpp).
#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <mutex>
#include <utility>

#include "http/request.hpp"
#include "net/sys.hpp"

namespace brisk::tls {
namespace {

// Mozilla's "intermediate" profile: forward-secret AEAD suites only.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kDefaultSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

/** OpenSSL's last error, as text (its queue is cleared). */
std::string ssl_error() {
    const unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unknown error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A00018F:SSL routines::ee key too small" -> the reason only.
    std::string_view text(buf);
    const std::size_t at = text.rfind(':');
    return std::string(at == std::string_view::npos ? text : text.substr(at + 1));
}

// ALPN: HTTP/1.1 only, for now; a client that offers only others gets none.
int on_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
            void*) noexcept {
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, kHttp11, sizeof kHttp11, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

/** The DNS names a certificate is for: its subjectAltName entries, else its subject's CN. */
std::vector<std::string> names_of(X509* cert) {
    std::vector<std::string> names;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (sans) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
            if (n->type != GEN_DNS) continue;
            const auto* s = n->d.dNSName;
            names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                               static_cast<std::size_t>(ASN1_STRING_length(s)));
        }
        GENERAL_NAMES_free(sans);
    }
    if (names.empty()) {
        char cn[256];
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
            names.emplace_back(cn);
    }
    return names;
}

/** RFC 6125: `pattern` ("example.com", "*.example.com": one whole left-most label) matches `name`. */
bool name_matches(std::string_view pattern, std::string_view name) {
    if (pattern.starts_with("*.")) {
        const std::size_t dot = name.find('.');
        if (dot == std::string_view::npos || dot == 0) return false;
        return http::iequals(pattern.substr(1), name.substr(dot));
    }
    return http::iequals(pattern, name);
}

bool apply_settings(SSL_CTX* ctx, const Config& cfg, std::string& error) {
    const int min = cfg.tls_min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    // No renegotiation, no compression; the server's preference decides the suite.
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE);
    const std::string ciphers = cfg.tls_ciphers.empty() ? std::string(kDefaultCiphers) : cfg.tls_ciphers;
    if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
        error = "tls_ciphers \"" + ciphers + "\": " + ssl_error();
        return false;
    }
    const std::string suites = cfg.tls_ciphersuites.empty() ? std::string(kDefaultSuites) : cfg.tls_ciphersuites;
    if (SSL_CTX_set_ciphersuites(ctx, suites.c_str()) != 1) {
        error = "tls_ciphersuites \"" + suites + "\": " + ssl_error();
        return false;
    }
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, nullptr);
    // Resumption by session tickets (brisk's keys, see on_ticket_key); no server-side cache. A
    // ticket lives one key period, so its key is still there when it comes back.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    SSL_CTX_set_timeout(ctx, Context::kTicketPeriodSeconds);
    return true;
}

std::once_flag g_secret_once;
std::array<unsigned char, 32> g_process_secret{};

const std::array<unsigned char, 32>& process_secret() noexcept {
    std::call_once(g_secret_once, [] {
        if (RAND_bytes(g_process_secret.data(), static_cast<int>(g_process_secret.size())) != 1) std::abort();
    });
    return g_process_secret;
}

/** The ticket secret of a key file: SHA-256 of its bytes (at least 32 of them). */
bool read_ticket_secret(const std::string& file, std::array<unsigned char, 32>& out, std::string& error) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes;
    if (in) bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) {
        error = file + ": cannot read the ticket key file: " + std::strerror(errno);
        return false;
    }
    if (bytes.size() < 32 || bytes.size() > 4096) {
        error = file + ": a ticket key file holds 32 to 4096 random bytes (openssl rand 80 > FILE), not " +
                std::to_string(bytes.size());
        return false;
    }
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return true;
}

/** HMAC-SHA256(secret, label || period), the period big-endian. */
void derive(const std::array<unsigned char, 32>& secret, std::string_view label, std::int64_t period,
            unsigned char* out, std::size_t len) {
    unsigned char msg[32];
    const std::size_t n = label.size();
    std::memcpy(msg, label.data(), n);
    for (int i = 0; i < 8; ++i)
        msg[n + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(period) >> (56 - 8 * i));
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), msg, n + 8, mac, &mac_len);
    std::memcpy(out, mac, len);
}

}  // namespace

std::unique_ptr<Context> Context::create(const Config& cfg, std::string& error) {
    if (cfg.tls_certs.empty()) {
        error = "a TLS listener needs a certificate: give --tls-cert FILE --tls-key FILE";
        return nullptr;
    }
    std::unique_ptr<Context> c(new Context);
    for (const TlsCert& pair : cfg.tls_certs) {
        SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
        if (!ctx) {
            error = "TLS: " + ssl_error();
            return nullptr;
        }
        c->certs_.push_back(Cert{ctx, {}});
        if (!apply_settings(ctx, cfg, error)) return nullptr;
        if (SSL_CTX_use_certificate_chain_file(ctx, pair.cert.c_str()) != 1) {
            error = pair.cert + ": cannot load the certificate: " + ssl_error();
            return nullptr;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, pair.key.c_str(), SSL_FILETYPE_PEM) != 1) {
            const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
            const std::string why = ssl_error();
            error = mismatch ? pair.key + ": the key does not match the certificate " + pair.cert
                             : pair.key + ": cannot load the private key: " + why;
            return nullptr;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            error = pair.key + ": the key does not match the certificate " + pair.cert;
            ERR_clear_error();
            return nullptr;
        }
        X509* cert = SSL_CTX_get0_certificate(ctx);
        if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
            error = pair.cert + ": the certificate has expired";
            return nullptr;
        }
        c->certs_.back().names = names_of(cert);
        SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
        SSL_CTX_set_tlsext_servername_arg(ctx, c.get());
        SSL_CTX_set_app_data(ctx, c.get());
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
    }
    if (cfg.tls_ticket_key_file.empty())
        c->ticket_secret_ = process_secret();
    else if (!read_ticket_secret(cfg.tls_ticket_key_file, c->ticket_secret_, error))
        return nullptr;
    return c;
}

void prepare_ticket_secret() noexcept { (void)process_secret(); }

Context::TicketKey Context::ticket_key(const std::array<unsigned char, 32>& secret, std::int64_t period) noexcept {
    TicketKey k;
    k.period = period;
    derive(secret, "brisk ticket name", period, k.name, sizeof k.name);
    derive(secret, "brisk ticket aes", period, k.aes, sizeof k.aes);
    derive(secret, "brisk ticket hmac", period, k.mac, sizeof k.mac);
    return k;
}

int Context::on_ticket_key(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                           int encrypt) noexcept {
    const auto* c = static_cast<const Context*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr)) / kTicketPeriodSeconds;
    // The keys of the periods around now, per loop thread: derived once an hour, not per handshake.
    struct Cache {
        std::array<unsigned char, 32> secret{};
        TicketKey keys[3];  // now - 1, now, now + 1
    };
    thread_local Cache cache;
    if (cache.keys[1].period != now || cache.secret != c->ticket_secret_) {
        cache.secret = c->ticket_secret_;
        for (int i = 0; i < 3; ++i) cache.keys[i] = ticket_key(c->ticket_secret_, now - 1 + i);
    }
    OSSL_PARAM digest[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
                           OSSL_PARAM_construct_end()};
    if (encrypt) {
        const TicketKey& k = cache.keys[1];
        std::memcpy(name, k.name, sizeof k.name);
        if (RAND_bytes(iv, 16) != 1 || EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1 ||
            EVP_MAC_init(mac, k.mac, sizeof k.mac, digest) != 1)
            return -1;
        return 1;
    }
    for (int i : {1, 0, 2}) {
        const TicketKey& k = cache.keys[i];
        if (std::memcmp(name, k.name, sizeof k.name) != 0) continue;
        if (EVP_MAC_init(mac, k.mac, sizeof k.mac, digest) != 1 ||
            EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1)
            return -1;
        return i == 0 ? 2 : 1;  // a ticket of the period before is renewed
    }
    return 0;  // unknown (older, or another secret's): a full handshake
}

Context::~Context() {
    for (Cert& c : certs_) SSL_CTX_free(c.ctx);
}

const Context::Cert* Context::pick(std::string_view name) const noexcept {
    for (const Cert& c : certs_)
        for (const std::string& n : c.names)
            if (name_matches(n, name)) return &c;
    return nullptr;
}

int Context::on_servername(SSL* ssl, int*, void* arg) noexcept {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name) return SSL_TLSEXT_ERR_OK;  // the default certificate
    const Cert* c = static_cast<const Context*>(arg)->pick(name);
    // An unknown name gets the default certificate, like nginx's default server.
    if (c && c->ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, c->ctx);
    return SSL_TLSEXT_ERR_OK;
}

SSL* Context::accept_state() const noexcept {
    SSL* ssl = SSL_new(certs_.front().ctx);
    if (ssl) SSL_set_accept_state(ssl);
    return ssl;
}

namespace {

// Ciphertext buffers, per loop thread: a session borrows one while it has
// ciphertext the socket has not taken, and gives it back once all has left,
// so an idle connection holds none and a busy one never reallocates.
constexpr std::size_t kMaxSpareBuffers = 32;
struct SpareBuffers {
    std::vector<char*> free;
    ~SpareBuffers() {
        for (char* p : free) ::operator delete(p);
    }
};
thread_local SpareBuffers spare_buffers;

char* take_buffer() noexcept {
    std::vector<char*>& free = spare_buffers.free;
    if (free.empty()) return static_cast<char*>(::operator new(kCipherBuffer, std::nothrow));
    char* p = free.back();
    free.pop_back();
    return p;
}

void give_back(char* p, std::size_t cap) noexcept {
    std::vector<char*>& free = spare_buffers.free;
    if (cap == kCipherBuffer && free.size() < kMaxSpareBuffers) {
        free.push_back(p);  // capacity reserved up front: never throws
        return;
    }
    ::operator delete(p);
}

// The BIOs under every session: OpenSSL reads the ciphertext fed straight
// from the caller's buffer, and its records go straight into the session's
// ciphertext buffer (no memory BIOs, no second copies).
int in_read(BIO* b, char* out, int cap) noexcept {
    BIO_clear_retry_flags(b);
    const std::size_t n = static_cast<Session*>(BIO_get_data(b))->take(out, static_cast<std::size_t>(cap));
    if (n == 0) {
        BIO_set_retry_read(b);  // more is needed, not EOF
        return -1;
    }
    return static_cast<int>(n);
}

long in_ctrl(BIO* b, int cmd, long, void*) noexcept {
    if (cmd == BIO_CTRL_PENDING) return static_cast<long>(static_cast<Session*>(BIO_get_data(b))->unread());
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int out_write(BIO* b, const char* data, int len) noexcept {
    BIO_clear_retry_flags(b);
    return static_cast<Session*>(BIO_get_data(b))->append(data, static_cast<std::size_t>(len)) ? len : -1;
}

long out_ctrl(BIO* b, int cmd, long, void*) noexcept {
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
        return static_cast<long>(static_cast<Session*>(BIO_get_data(b))->unsent());
    default:
        return 0;
    }
}

struct Methods {
    BIO_METHOD* in = nullptr;
    BIO_METHOD* out = nullptr;
};

const Methods& methods() noexcept {
    static const Methods m = [] {
        Methods made;
        made.in = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "brisk-ciphertext-in");
        made.out = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "brisk-ciphertext-out");
        if (!made.in || !made.out || BIO_meth_set_read(made.in, in_read) != 1 ||
            BIO_meth_set_ctrl(made.in, in_ctrl) != 1 || BIO_meth_set_write(made.out, out_write) != 1 ||
            BIO_meth_set_ctrl(made.out, out_ctrl) != 1) {
            BIO_meth_free(made.in);
            BIO_meth_free(made.out);
            return Methods{};
        }
        return made;
    }();
    spare_buffers.free.reserve(kMaxSpareBuffers);  // per loop thread: give_back() never allocates
    return m;
}

}  // namespace

Session::Session(SSL* ssl) noexcept : ssl_(ssl) {
    if (!ssl_) return;
    const Methods& m = methods();
    in_ = m.in ? BIO_new(m.in) : nullptr;
    out_ = m.out ? BIO_new(m.out) : nullptr;
    if (!in_ || !out_) {
        BIO_free(in_);
        BIO_free(out_);
        in_ = out_ = nullptr;
        SSL_free(ssl_);
        ssl_ = nullptr;
        return;
    }
    for (BIO* b : {in_, out_}) {
        BIO_set_data(b, this);
        BIO_set_init(b, 1);
    }
    SSL_set_bio(ssl_, in_, out_);  // the SSL owns both from here
}

Session::~Session() {
    if (ssl_) SSL_free(ssl_);
    release_buffer();
}

bool Session::append(const char* data, std::size_t len) noexcept {
    if (!buf_) {
        buf_ = take_buffer();
        if (!buf_) return false;
        cap_ = kCipherBuffer;
    }
    if (len_ + len > cap_ && sent_ > 0) {
        std::memmove(buf_, buf_ + sent_, len_ - sent_);
        len_ -= sent_;
        sent_ = 0;
    }
    if (len_ + len > cap_) {
        // More than a buffer at once (a handshake flight with a long chain): a larger one, not pooled.
        const std::size_t cap = std::max(cap_ * 2, len_ + len);
        char* bigger = static_cast<char*>(::operator new(cap, std::nothrow));
        if (!bigger) return false;
        std::memcpy(bigger, buf_, len_);
        give_back(buf_, cap_);
        buf_ = bigger;
        cap_ = cap;
    }
    std::memcpy(buf_ + len_, data, len);
    len_ += len;
    return true;
}

void Session::release_buffer() noexcept {
    if (buf_) give_back(buf_, cap_);
    buf_ = nullptr;
    cap_ = len_ = sent_ = 0;
}

void Session::feed(const char* data, std::size_t len) {
    if (len == 0) return;
    keep_rest();
    fed_ = data;
    fed_len_ = len;
}

void Session::keep_rest() {
    if (fed_len_ == 0) return;
    if (kept_at_ > 0) {
        kept_.erase(0, kept_at_);
        kept_at_ = 0;
    }
    kept_.append(fed_, fed_len_);
    fed_ = nullptr;
    fed_len_ = 0;
}

std::size_t Session::take(char* out, std::size_t cap) noexcept {
    std::size_t n = 0;
    if (kept_at_ < kept_.size()) {
        n = std::min(cap, kept_.size() - kept_at_);
        std::memcpy(out, kept_.data() + kept_at_, n);
        kept_at_ += n;
        if (kept_at_ == kept_.size()) {
            std::string().swap(kept_);  // a partial record's copy: an idle connection keeps none
            kept_at_ = 0;
        }
    } else if (fed_len_ > 0) {
        n = std::min(cap, fed_len_);
        std::memcpy(out, fed_, n);
        fed_ += n;
        fed_len_ -= n;
    }
    return n;
}

Read Session::read(char* out, std::size_t cap, std::size_t& n) noexcept {
    if (!ssl_) return Read::failed;
    const int cap_i = cap > (1u << 30) ? 1 << 30 : static_cast<int>(cap);
    const int r = SSL_read(ssl_, out, cap_i);
    if (r > 0) {
        n = static_cast<std::size_t>(r);
        return Read::data;
    }
    switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:  // the write BIO never refuses; cannot be
        return Read::more;
    case SSL_ERROR_ZERO_RETURN:
        return Read::closed;
    default: {
        const int reason = ERR_GET_REASON(ERR_peek_error());
        failure_ = reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_NO_SHARED_CIPHER ||
                           reason == SSL_R_VERSION_TOO_LOW || reason == SSL_R_NO_PROTOCOLS_AVAILABLE
                       ? Failure::protocol
                   : reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
                           reason == SSL_R_UNEXPECTED_MESSAGE || reason == SSL_R_RECORD_LENGTH_MISMATCH
                       ? Failure::not_tls
                       : Failure::other;
        ERR_clear_error();
        return Read::failed;
    }
    }
}

bool Session::buffered() const noexcept { return ssl_ && (SSL_pending(ssl_) > 0 || unread() > 0); }

bool Session::write(const void* data, std::size_t len) noexcept {
    if (!ssl_) return false;
    const auto* p = static_cast<const char*>(data);
    while (len > 0) {
        const int chunk = len > 16384 ? 16384 : static_cast<int>(len);
        const int w = SSL_write(ssl_, p, chunk);
        if (w <= 0) {
            ERR_clear_error();
            return false;
        }
        p += w;
        len -= static_cast<std::size_t>(w);
    }
    return true;
}

void Session::close_notify() noexcept {
    if (ssl_ && SSL_is_init_finished(ssl_)) SSL_shutdown(ssl_);
    ERR_clear_error();
}

int Session::flush(int fd, int flags) noexcept {
    while (sent_ < len_) {
        const ssize_t n = net::sys_send(fd, buf_ + sent_, len_ - sent_, flags | MSG_NOSIGNAL);
        if (n > 0) {
            sent_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? errno : EPIPE;
    }
    release_buffer();
    return 0;
}

bool Session::handshake_done() const noexcept { return ssl_ && SSL_is_init_finished(ssl_); }

bool Session::resumed() const noexcept { return ssl_ && SSL_session_reused(ssl_) == 1; }

std::string_view Session::protocol() const noexcept { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string_view Session::cipher() const noexcept {
    const char* name = ssl_ ? SSL_get_cipher_name(ssl_) : nullptr;
    return name ? name : "";
}

std::string_view Session::server_name() const noexcept {
    const char* name = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
    return name ? name : "";
}

std::string_view Session::alpn() const noexcept {
    const unsigned char* name = nullptr;
    unsigned len = 0;
    if (ssl_) SSL_get0_alpn_selected(ssl_, &name, &len);
    return name ? std::string_view(reinterpret_cast<const char*>(name), len) : std::string_view();
}

bool offers_kernel_tls(std::string_view ulps) noexcept {
    while (!ulps.empty()) {
        const std::size_t start = ulps.find_first_not_of(" \t\n");
        if (start == std::string_view::npos) break;
        ulps.remove_prefix(start);
        const std::size_t end = std::min(ulps.find_first_of(" \t\n"), ulps.size());
        if (ulps.substr(0, end) == "tls") return true;
        ulps.remove_prefix(end);
    }
    return false;
}

std::string static_file_path_line() {
    constexpr const char* kUlps = "/proc/sys/net/ipv4/tcp_available_ulp";
    std::string ulps;
    if (std::FILE* f = std::fopen(kUlps, "re")) {
        char buf[256];
        ulps.assign(buf, std::fread(buf, 1, sizeof buf, f));
        std::fclose(f);
    }
    // Sessions run over memory BIOs on both backends (brisk owns the socket
    // and its buffers), so OpenSSL cannot hand a record layer to the kernel.
    if (offers_kernel_tls(ulps))
        return "TLS: the kernel offers kTLS (tls in " + std::string(kUlps) +
               "), unused: static files over TLS are read a record (16 KiB) at a time into pooled buffers and "
               "encrypted by OpenSSL";
    return "TLS: no kTLS in this kernel (no tls in " + std::string(kUlps) +
           "): static files over TLS are read a record (16 KiB) at a time into pooled buffers and encrypted by "
           "OpenSSL";
}

std::string_view failure_name(Failure f) noexcept {
    switch (f) {
    case Failure::protocol:
        return "protocol";
    case Failure::not_tls:
        return "not_tls";
    case Failure::timeout:
        return "timeout";
    case Failure::other:
        break;
    }
    return "other";
}

bool looks_like_http(const char* data, std::size_t len) noexcept {
    // A TLS record starts with its type (22, a handshake); a request line with a method's capitals.
    return len > 0 && data[0] >= 'A' && data[0] <= 'Z';
}

std::string_view plain_http_answer() noexcept {
    return "HTTP/1.1 400 Bad Request\r\n"
           "Content-Type: text/plain\r\n"
           "Content-Length: 50\r\n"
           "Connection: close\r\n"
           "\r\n"
           "This port speaks HTTPS: use an https:// URL here.\n";
}

}  // namespace brisk::tls
