// brisk — the echo plugin: answers every request with the request itself, as
// text/plain, for conformance tests:
//
//   METHOD TARGET HTTP/1.x\n
//   Name: value\n          one line per field, in the order received
//   \n
//   body                   the (de-chunked) body, byte for byte
//
// The client's address and port (as brisk sees it: after a PROXY protocol
// header or a trusted proxy's X-Forwarded-For) go in an X-Echo-Peer header,
// "203.0.113.7 51234". X-Echo-Scheme says "http" or "https"; over TLS,
// X-Echo-TLS holds what ABI 1.2 tells of the connection: "PROTOCOL CIPHER
// ALPN SNI", "-" for an empty one ("TLSv1.3 TLS_AES_128_GCM_SHA256 http/1.1
// example.com"). No config. Never declines.
#include <brisk/plugin.hpp>

#include <charconv>
#include <cstddef>
#include <cstring>
#include <string_view>

namespace {

class Echo {
public:
    brisk::Result handle(brisk::Request& req, brisk::Response& res) const {
        const std::string_view version = req.http_minor() == 0 ? " HTTP/1.0\n" : " HTTP/1.1\n";
        std::size_t size = req.method().size() + 1 + req.target().size() + version.size() + 1 + req.body().size();
        for (const brisk::Header h : req.headers()) size += h.name.size() + 2 + h.value.size() + 1;

        char* const out = req.arena<char>(size);
        char* p = out;
        auto put = [&p](std::string_view s) {
            if (!s.empty()) std::memcpy(p, s.data(), s.size());
            p += s.size();
        };
        put(req.method());
        put(" ");
        put(req.target());
        put(version);
        for (const brisk::Header h : req.headers()) {
            put(h.name);
            put(": ");
            put(h.value);
            put("\n");
        }
        put("\n");
        put(req.body());

        char peer[80];
        const std::string_view addr = req.remote_addr().substr(0, 64);
        if (!addr.empty()) std::memcpy(peer, addr.data(), addr.size());
        peer[addr.size()] = ' ';
        char* end = std::to_chars(peer + addr.size() + 1, peer + sizeof peer, req.remote_port()).ptr;
        res.header("X-Echo-Peer", std::string_view(peer, static_cast<std::size_t>(end - peer)));
        res.header("X-Echo-Scheme", req.scheme());
        if (req.tls()) res.header("X-Echo-TLS", tls_line(req));
        res.content_type("text/plain").write(std::string_view(out, size));
        return brisk::Result::done;
    }

private:
    static std::string_view tls_line(brisk::Request& req) {
        const std::string_view parts[] = {req.tls_protocol(), req.tls_cipher(), req.alpn(), req.tls_server_name()};
        std::size_t size = 0;
        for (std::string_view part : parts) size += (part.empty() ? 1 : part.size()) + 1;
        char* const out = req.arena<char>(size);
        char* p = out;
        for (std::string_view part : parts) {
            if (part.empty()) part = "-";
            std::memcpy(p, part.data(), part.size());
            p += part.size();
            *p++ = ' ';
        }
        return std::string_view(out, size - 1);
    }
};

}  // namespace

BRISK_PLUGIN(Echo, "echo", "1.0.0")
