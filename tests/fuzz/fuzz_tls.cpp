// brisk — fuzzes brisk's TLS glue (net/tls.cpp): a server tls::Session,
// built from a tls::Context as a listener's would be, against an OpenSSL
// client in the same process, both on memory, the server's ciphertext
// leaving through a socket pair as it does in brisk.
//
// The first input byte picks a mode:
//   even  the client handshakes, then sends the rest of the input as
//         plaintext, its ciphertext cut into pieces the input's bytes size;
//         the server must decrypt exactly what was sent, in order
//   odd   the rest is raw bytes for the server (a ClientHello, records,
//         garbage), fed in pieces: it must fail or wait, never crash or
//         produce plaintext from nothing
// Both modes end with the server's close_notify and a flush.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_check.hpp"
#include "net/tls.hpp"

using namespace brisk;

namespace {

std::unique_ptr<tls::Context> g_server;
SSL_CTX* g_client = nullptr;

// A self-signed P-256 certificate for "localhost", written where the server's Context reads it.
void make_cert(const std::string& cert_path, const std::string& key_path) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    FUZZ_CHECK(key != nullptr);
    X509* x = X509_new();
    FUZZ_CHECK(x != nullptr);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(x, name);
    FUZZ_CHECK(X509_sign(x, key, EVP_sha256()) > 0);
    FILE* f = std::fopen(cert_path.c_str(), "w");
    FUZZ_CHECK(f && PEM_write_X509(f, x) == 1);
    std::fclose(f);
    f = std::fopen(key_path.c_str(), "w");
    FUZZ_CHECK(f && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

// Reads what the server wrote to its end of the pair (non-blocking) into the client's input BIO.
void server_to_client(int client_end, BIO* client_in) {
    char buf[16384];
    for (;;) {
        const ssize_t n = ::read(client_end, buf, sizeof buf);
        if (n <= 0) return;
        BIO_write(client_in, buf, static_cast<int>(n));
    }
}

// Decrypts all the server has; appends the plaintext to `out`. False once the server failed.
bool server_reads(tls::Session& s, int server_end, std::string& out) {
    for (;;) {
        char buf[4096];
        std::size_t n = 0;
        const tls::Read r = s.read(buf, sizeof buf, n);
        if (r == tls::Read::data) {
            out.append(buf, n);
            continue;
        }
        s.keep_rest();
        const int err = s.flush(server_end, MSG_DONTWAIT);
        FUZZ_CHECK(err == 0 || err == EAGAIN);
        return r != tls::Read::failed && r != tls::Read::closed;
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    char dir[] = "/tmp/brisk-fuzz-tls-XXXXXX";
    FUZZ_CHECK(mkdtemp(dir) != nullptr);
    Config cfg;
    cfg.tls_certs.push_back(TlsCert{std::string(dir) + "/c.pem", std::string(dir) + "/k.pem"});
    make_cert(cfg.tls_certs[0].cert, cfg.tls_certs[0].key);
    std::string why;
    g_server = tls::Context::create(cfg, why);
    FUZZ_CHECK(g_server != nullptr);
    std::remove(cfg.tls_certs[0].cert.c_str());
    std::remove(cfg.tls_certs[0].key.c_str());
    ::rmdir(dir);
    g_client = SSL_CTX_new(TLS_client_method());
    FUZZ_CHECK(g_client != nullptr);
    SSL_CTX_set_verify(g_client, SSL_VERIFY_NONE, nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    int pair[2];
    FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
    // Room for a whole exchange: a full socket would only leave ciphertext waiting.
    const int room = 1 << 20;
    ::setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &room, sizeof room);
    tls::Session server(g_server->accept_state());
    const bool raw = data[0] & 1;
    const char* rest = reinterpret_cast<const char*>(data + 1);
    const std::size_t len = size - 1;
    std::string plain;

    if (raw) {
        for (std::size_t at = 0; at < len;) {
            const std::size_t n = std::min<std::size_t>(1 + static_cast<unsigned char>(rest[at]) % 64, len - at);
            server.feed(rest + at, n);
            at += n;
            if (!server_reads(server, pair[0], plain)) break;
        }
        // No client ever finished a handshake: nothing can have been decrypted.
        FUZZ_CHECK(plain.empty());
    } else {
        SSL* client = SSL_new(g_client);
        FUZZ_CHECK(client != nullptr);
        BIO* client_in = BIO_new(BIO_s_mem());
        BIO* client_out = BIO_new(BIO_s_mem());
        SSL_set_bio(client, client_in, client_out);
        SSL_set_connect_state(client);
        SSL_set_tlsext_host_name(client, "localhost");
        bool ok = true;
        // The handshake: client and server take turns until both are done.
        for (int round = 0; round < 10 && !(SSL_is_init_finished(client) && server.handshake_done()); ++round) {
            SSL_do_handshake(client);
            char* p = nullptr;
            const long n = BIO_get_mem_data(client_out, &p);
            if (n > 0) server.feed(p, static_cast<std::size_t>(n));
            ok = server_reads(server, pair[0], plain);  // the server reads `p` itself: reset after
            (void)BIO_reset(client_out);
            if (!ok) break;
            server_to_client(pair[1], client_in);
        }
        // A well-behaved client: the handshake must succeed.
        FUZZ_CHECK(ok && SSL_is_init_finished(client) && server.handshake_done());
        {
            // The plaintext, in records the input's bytes size, its ciphertext in pieces of other sizes.
            std::string sent;
            for (std::size_t at = 0; at < len;) {
                const std::size_t n = std::min<std::size_t>(1 + static_cast<unsigned char>(rest[at]) * 64, len - at);
                FUZZ_CHECK(SSL_write(client, rest + at, static_cast<int>(n)) == static_cast<int>(n));
                sent.append(rest + at, n);
                at += n;
                char* p = nullptr;
                const long c = BIO_get_mem_data(client_out, &p);
                for (long off = 0; off < c;) {
                    const long piece = std::min<long>(c - off, 1 + (off * 7 + static_cast<long>(n)) % 1500);
                    server.feed(p + off, static_cast<std::size_t>(piece));
                    FUZZ_CHECK(server_reads(server, pair[0], plain));
                    off += piece;
                }
                (void)BIO_reset(client_out);
                server_to_client(pair[1], client_in);
            }
            FUZZ_CHECK(plain == sent);
            // And back: the server encrypts, the client decrypts the same bytes.
            FUZZ_CHECK(server.write(sent.data(), sent.size()));
            std::string back;
            char buf[4096];
            for (int e = EAGAIN; e == EAGAIN;) {
                e = server.flush(pair[0], MSG_DONTWAIT);
                FUZZ_CHECK(e == 0 || e == EAGAIN);
                server_to_client(pair[1], client_in);
                int r;
                while ((r = SSL_read(client, buf, sizeof buf)) > 0) back.append(buf, static_cast<std::size_t>(r));
            }
            FUZZ_CHECK(back == sent);
        }
        SSL_free(client);
    }
    server.close_notify();
    const int err = server.flush(pair[0], MSG_DONTWAIT);
    FUZZ_CHECK(err == 0 || err == EAGAIN);
    ::close(pair[0]);
    ::close(pair[1]);
    return 0;
}
