// brisk — parsing of --listen / `listen = [...]` addresses (see brisk/config.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "brisk/config.hpp"
#include "http/chars.hpp"

namespace brisk {
namespace {

constexpr std::string_view unix_prefix = "unix:";
constexpr std::string_view proxy_option = ",proxy";
constexpr std::string_view tls_option = ",tls";
constexpr std::string_view redirect_option = ",redirect";

// sun_path holds the path and its terminating NUL.
constexpr std::size_t max_unix_path = sizeof(sockaddr_un{}.sun_path) - 1;

/** Canonical text of a numeric address, so "0:0::1" and "::1" compare equal. */
template <int Family, typename Addr>
bool canonical_host(const std::string& host, std::string& out) {
    Addr addr{};
    if (inet_pton(Family, host.c_str(), &addr) != 1) return false;
    char buf[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(Family, &addr, buf, sizeof buf) == nullptr) return false;
    out = buf;
    return true;
}

}  // namespace

bool parse_listen_address(std::string_view text, ListenAddress& out, std::string& error) {
    // Options follow the address after commas: "proxy", "tls" and "redirect", each once, in any order.
    for (std::string_view option : {proxy_option, tls_option, redirect_option}) {
        if (!text.ends_with(option)) continue;
        std::string_view address = text.substr(0, text.size() - option.size());
        ListenAddress result;
        if (!parse_listen_address(address, result, error)) {
            // Name the address as written, options included.
            const std::string inner = "bad listen address \"" + std::string(address) + "\": ";
            error = "bad listen address \"" + std::string(text) + "\": " + error.substr(inner.size());
            return false;
        }
        bool& flag = option == proxy_option ? result.proxy : option == tls_option ? result.tls : result.redirect;
        if (flag) {
            error = "bad listen address \"" + std::string(text) + "\": \"" + std::string(option.substr(1)) +
                    "\" is given twice";
            return false;
        }
        flag = true;
        if (result.tls && result.redirect) {
            error = "bad listen address \"" + std::string(text) +
                    "\": \"redirect\" (to https) is for a plain listener, not a \"tls\" one";
            return false;
        }
        result.text = std::string(text);
        out = std::move(result);
        return true;
    }
    const std::string shown = "bad listen address \"" + std::string(text) + "\": ";
    if (std::size_t comma = text.find(','); comma != std::string_view::npos && !text.starts_with(unix_prefix)) {
        error = shown + "unknown option \"" + std::string(text.substr(comma + 1)) +
                "\" after the address (the options are \"proxy\", \"tls\" and \"redirect\")";
        return false;
    }
    auto fail = [&](std::string_view reason) {
        error = shown + std::string(reason);
        return false;
    };

    ListenAddress result;
    result.text = std::string(text);

    if (text.starts_with(unix_prefix)) {
        std::string_view path = text.substr(unix_prefix.size());
        if (path.empty()) return fail("missing socket path after \"unix:\"");
        if (path.find('\0') != std::string_view::npos) return fail("socket path contains a NUL byte");
        if (path.size() > max_unix_path)
            return fail("socket path is longer than " + std::to_string(max_unix_path) + " bytes");
        result.kind = ListenAddress::Kind::unix_path;
        result.path = std::string(path);
        out = std::move(result);
        return true;
    }

    std::string_view host;
    std::string_view port;
    bool bracketed = false;
    if (text.starts_with('[')) {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos) return fail("missing ']' after the IPv6 address");
        host = text.substr(1, close - 1);
        std::string_view rest = text.substr(close + 1);
        if (!rest.starts_with(':')) return fail("expected \":port\" after \"]\"");
        port = rest.substr(1);
        bracketed = true;
    } else {
        std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) return fail("expected host:port, [v6]:port or unix:/path");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return fail("write IPv6 addresses in brackets, as in [::1]:8080");
    }

    if (port.empty()) return fail("missing port");
    if (!http::parse_port(port, result.port)) return fail("port must be a number from 0 to 65535");

    std::string host_text(host);
    if (bracketed) {
        if (host_text.empty()) return fail("empty IPv6 address in brackets");
        if (!canonical_host<AF_INET6, in6_addr>(host_text, result.host))
            return fail("\"" + host_text + "\" is not a numeric IPv6 address");
        result.kind = ListenAddress::Kind::tcp6;
    } else {
        if (host_text.empty())
            host_text = "0.0.0.0";
        else if (host_text == "localhost")
            host_text = "127.0.0.1";
        if (!canonical_host<AF_INET, in_addr>(host_text, result.host))
            return fail("host must be a numeric IPv4 address, [IPv6] or localhost, not \"" + host_text + "\"");
        result.kind = ListenAddress::Kind::tcp4;
    }
    out = std::move(result);
    return true;
}

}  // namespace brisk
