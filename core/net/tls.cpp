// brisk — TLS on OpenSSL 3 (see tls.hpp).
#include "net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
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
    // Resumption by session tickets (OpenSSL's keys, one set per context); no server-side cache.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    return true;
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
    }
    return c;
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

Session::Session(SSL* ssl) noexcept : ssl_(ssl) {
    if (!ssl_) return;
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    if (!in_ || !out_) {
        BIO_free(in_);
        BIO_free(out_);
        in_ = out_ = nullptr;
        SSL_free(ssl_);
        ssl_ = nullptr;
        return;
    }
    // An empty input BIO means "more is needed", not EOF.
    BIO_set_mem_eof_return(in_, -1);
    SSL_set_bio(ssl_, in_, out_);  // the SSL owns both from here
}

Session::~Session() {
    if (ssl_) SSL_free(ssl_);
}

Session::Session(Session&& o) noexcept
    : ssl_(std::exchange(o.ssl_, nullptr)),
      in_(std::exchange(o.in_, nullptr)),
      out_(std::exchange(o.out_, nullptr)),
      wait_(std::move(o.wait_)),
      wait_sent_(o.wait_sent_),
      fresh_(o.fresh_),
      counted_(o.counted_),
      failure_(o.failure_) {}

void Session::feed(const char* data, std::size_t len) noexcept {
    if (in_ && len) BIO_write(in_, data, static_cast<int>(len));
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
    case SSL_ERROR_WANT_WRITE:  // a memory BIO never refuses; cannot be
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

bool Session::buffered() const noexcept { return ssl_ && (SSL_pending(ssl_) > 0 || BIO_ctrl_pending(in_) > 0); }

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

void Session::drain_bio() noexcept {
    if (!out_) return;
    char* p = nullptr;
    const long n = BIO_get_mem_data(out_, &p);
    if (n <= 0) return;
    if (wait_sent_ == wait_.size()) {
        wait_.clear();
        wait_sent_ = 0;
    }
    wait_.append(p, static_cast<std::size_t>(n));
    (void)BIO_reset(out_);
}

int Session::flush(int fd, int flags) noexcept {
    drain_bio();
    while (wait_sent_ < wait_.size()) {
        const ssize_t n = net::sys_send(fd, wait_.data() + wait_sent_, wait_.size() - wait_sent_, flags | MSG_NOSIGNAL);
        if (n > 0) {
            wait_sent_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? errno : EPIPE;
    }
    wait_.clear();
    wait_sent_ = 0;
    if (wait_.capacity() > 64 * 1024) wait_.shrink_to_fit();
    return 0;
}

bool Session::pending() const noexcept { return wait_sent_ < wait_.size() || (out_ && BIO_ctrl_pending(out_) > 0); }

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
