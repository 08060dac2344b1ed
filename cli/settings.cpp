// brisk — the table of settings shared by the command line and the TOML file.
#include "settings.hpp"

#include <sched.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "brisk/units.hpp"

namespace brisk::cli {
namespace {

constexpr std::string_view default_listen = "127.0.0.1:8080";
constexpr unsigned max_loops = 1024;
constexpr std::uint64_t min_header_size = 256;
constexpr std::uint64_t max_header_size = 1u << 20;
constexpr std::size_t max_server_name = 256;
constexpr std::array<std::string_view, 7> log_levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
constexpr std::array<std::string_view, 8> route_methods{"GET",    "HEAD",    "POST",  "PUT",
                                                        "DELETE", "OPTIONS", "TRACE", "PATCH"};
constexpr unsigned max_blocking_threads = 1024;
constexpr unsigned max_processes = 256;
constexpr std::size_t sha256_hex_digits = 64;
constexpr std::uint64_t min_access_log_buffer = 64u << 10;
constexpr std::uint64_t max_access_log_buffer = 1u << 30;

bool is_ascii_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool parse_count(std::string_view text, std::uint64_t& out, std::string& error) {
    auto fail = [&](std::string_view reason) {
        error = "bad number \"" + std::string(text) + "\": " + std::string(reason);
        return false;
    };
    if (text.empty()) return fail("empty");
    if (text.front() == '-') return fail("must not be negative");
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return fail("expected a whole number");
        auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return fail("too large");
        value = value * 10 + digit;
    }
    out = value;
    return true;
}

bool apply_listen(Options& o, std::string_view v, const std::string&, std::string& error) {
    ListenAddress address;
    if (!parse_listen_address(v, address, error)) return false;
    o.server.listen.push_back(std::move(address));
    return true;
}

bool apply_io(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (v == "auto")
        o.server.io = IoBackend::automatic;
    else if (v == "epoll")
        o.server.io = IoBackend::epoll;
    else if (v == "io_uring")
        o.server.io = IoBackend::io_uring;
    else {
        error = "unknown I/O backend \"" + std::string(v) + "\" (use auto, epoll or io_uring)";
        return false;
    }
    o.io_given = true;
    return true;
}

bool apply_tls_cert(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (v.empty()) {
        error = "a certificate file name is empty";
        return false;
    }
    o.tls_cert_files.emplace_back(v);
    return true;
}

bool apply_tls_key(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (v.empty()) {
        error = "a key file name is empty";
        return false;
    }
    o.tls_key_files.emplace_back(v);
    return true;
}

bool apply_tls_min_version(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (v != "1.2" && v != "1.3") {
        error = "\"" + std::string(v) + "\": the oldest TLS version offered is 1.2 or 1.3";
        return false;
    }
    o.server.tls_min_version = std::string(v);
    return true;
}

bool apply_tls_ciphers(Options& o, std::string_view v, const std::string&, std::string&) {
    o.server.tls_ciphers = std::string(v);
    return true;
}

bool apply_tls_ciphersuites(Options& o, std::string_view v, const std::string&, std::string&) {
    o.server.tls_ciphersuites = std::string(v);
    return true;
}

bool apply_tls_ticket_key_file(Options& o, std::string_view v, const std::string&, std::string&) {
    o.server.tls_ticket_key_file = std::string(v);
    return true;
}

bool apply_trusted_proxy(Options& o, std::string_view v, const std::string&, std::string& error) {
    Cidr range;
    if (!parse_cidr(v, range, error)) return false;
    o.server.trusted_proxies.push_back(std::move(range));
    return true;
}

bool apply_server_name(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (!is_header_value(v)) {
        error =
            "\"" + std::string(v) + "\" is not a valid header value (visible ASCII and inner spaces only, not empty)";
        return false;
    }
    if (v.size() > max_server_name) {
        error = "longer than " + std::to_string(max_server_name) + " bytes";
        return false;
    }
    o.server.server_name = std::string(v);
    return true;
}

bool apply_respond(Options& o, std::string_view v, const std::string& origin, std::string& error) {
    std::size_t eq = v.find('=');
    if (eq == std::string_view::npos) {
        error = "expected PATH=TEXT, as in /hello=Hello, not \"" + std::string(v) + "\"";
        return false;
    }
    RouteConfig route;
    route.kind = RouteKind::respond;
    route.path = std::string(v.substr(0, eq));
    if (!check_route_path(route.path, error)) return false;
    route.body = std::string(v.substr(eq + 1));
    route.origin = origin;
    o.server.routes.push_back(std::move(route));
    return true;
}

bool apply_plugin(Options& o, std::string_view v, const std::string& origin, std::string& error) {
    std::size_t eq = v.find('=');
    if (eq == std::string_view::npos) {
        error = "expected PREFIX=FILE.so, as in /api/=./libhello.so, not \"" + std::string(v) + "\"";
        return false;
    }
    std::string_view prefix = v.substr(0, eq);
    std::string_view file = v.substr(eq + 1);
    if (!check_route_path(prefix, error)) return false;
    if (file.empty()) {
        error = "no shared object after '=' in \"" + std::string(v) + "\"";
        return false;
    }
    PluginInstanceConfig plugin;
    plugin.name = plugin_instance_name(file, o.server.plugins);
    plugin.file = std::string(file);
    plugin.origin = origin;

    RouteConfig route;
    route.kind = RouteKind::plugin;
    route.path = std::string(prefix);
    route.prefix = true;
    route.plugin = plugin.name;
    route.origin = origin;
    o.server.plugins.push_back(std::move(plugin));
    o.server.routes.push_back(std::move(route));
    return true;
}

RouteConfig static_route(std::string_view prefix, std::string_view dir, const std::string& origin) {
    RouteConfig route;
    route.kind = RouteKind::static_files;
    route.path = std::string(prefix);
    route.prefix = true;
    route.static_files.root = std::string(dir);
    route.origin = origin;
    return route;
}

bool apply_root(Options& o, std::string_view v, const std::string& origin, std::string& error) {
    if (!check_static_root(v, error)) return false;
    o.server.routes.push_back(static_route("/", v, origin));
    return true;
}

bool apply_static(Options& o, std::string_view v, const std::string& origin, std::string& error) {
    std::size_t eq = v.find('=');
    if (eq == std::string_view::npos) {
        error = "expected PREFIX=DIR, as in /assets/=./public, not \"" + std::string(v) + "\"";
        return false;
    }
    std::string_view prefix = v.substr(0, eq);
    if (!check_route_path(prefix, error) || !check_static_root(v.substr(eq + 1), error)) return false;
    o.server.routes.push_back(static_route(prefix, v.substr(eq + 1), origin));
    return true;
}

bool apply_log_level(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (std::find(log_levels.begin(), log_levels.end(), v) == log_levels.end()) {
        error = "unknown log level \"" + std::string(v) + "\" (use trace, debug, info, warn, error, critical or off)";
        return false;
    }
    o.log_level = std::string(v);
    return true;
}

bool apply_access_log(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (v.empty()) {
        error = "empty file name (use \"-\" for the standard output)";
        return false;
    }
    if (v.find('\0') != std::string_view::npos) {
        error = "a file name cannot hold a NUL byte";
        return false;
    }
    o.server.access_log = std::string(v);
    return true;
}

bool apply_access_log_format(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (!check_access_log_format(v, error)) return false;
    o.server.access_log_format = std::string(v);
    return true;
}

/** --metrics PATH, --health PATH: a route of that kind at exactly PATH. */
bool apply_builtin_route(Options& o, RouteKind kind, std::string_view v, const std::string& origin,
                         std::string& error) {
    if (!check_route_path(v, error)) return false;
    RouteConfig route;
    route.kind = kind;
    route.path = std::string(v);
    route.origin = origin;
    o.server.routes.push_back(std::move(route));
    return true;
}

bool apply_error_log(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (v.empty()) {
        error = "empty file name (use \"stderr\" for the standard error)";
        return false;
    }
    o.error_log = v == "stderr" ? std::string() : std::string(v);
    return true;
}

// Typed settings, built by what they set.
template <class T>
constexpr Field<T> server_field(T Config::*member) {
    return Field<T>{member, nullptr};
}
template <class T>
constexpr Field<T> own_field(T Options::*member) {
    return Field<T>{nullptr, member};
}

constexpr Setting flag(std::string_view name, std::string_view help, bool Config::*member) {
    return Setting{name, ValueKind::flag, "", help, server_field(member)};
}

template <class F>
constexpr Setting duration(std::string_view name, std::string_view help, F field) {
    return Setting{name, ValueKind::duration, "DUR", help, field};
}

template <class T>
constexpr Setting count(std::string_view name, std::string_view help, Field<T> field, std::uint64_t min,
                        std::uint64_t max, std::string_view hint = {}) {
    return Setting{name, ValueKind::count, "N", help, field, min, max, hint};
}

template <class T>
constexpr Setting size(std::string_view name, std::string_view help, Field<T> field, std::uint64_t min,
                       std::uint64_t max) {
    return Setting{name, ValueKind::size, "SIZE", help, field, min, max};
}

using Parse = bool (*)(Options&, std::string_view, const std::string&, std::string&);
using Shown = std::string (*)(const Options&);

constexpr Setting text(std::string_view name, ValueKind kind, std::string_view metavar, std::string_view help,
                       Parse parse, Shown shown, void (*clear)(Options&) = nullptr) {
    Setting s{name, kind, metavar, help};
    s.parse = parse;
    s.shown_default = shown;
    s.clear = clear;
    return s;
}

constexpr std::uint64_t max_u32 = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t max_hsts_max_age = 1000000000;  // about 31 years: more is nobody's intent
std::string none_shown(const Options&) { return {}; }

const std::array setting_table{
    text(
        "listen", ValueKind::text_list, "ADDR",
        "host:port, [v6]:port, :port (all IPv4) or unix:/path, with \",proxy\" for a PROXY protocol listener "
        "and \",tls\" for HTTPS; repeatable, replaces the file's list",
        apply_listen, [](const Options&) { return std::string(default_listen); },
        [](Options& o) { o.server.listen.clear(); }),
    [] {
        Setting s = count("loops", "Event loops (threads); 0 = one per usable core", server_field(&Config::loops), 0,
                          max_loops, "0 = one per usable core");
        s.shown_default = [](const Options&) { return std::to_string(usable_cores()); };
        return s;
    }(),
    text("io", ValueKind::text, "BACKEND",
         "auto, epoll or io_uring; auto takes io_uring where the kernel allows it, else epoll "
         "(when not set here or in the file: $BRISK_IO)",
         apply_io, [](const Options&) { return std::string("auto"); }),
    count("concurrency", "Most open connections across all loops; the one over gets a 503",
          server_field(&Config::concurrency), 1, max_u32),
    duration("max-idle-worker-duration", "Free a loop's spare worker once idle this long; 0 = never",
             server_field(&Config::max_idle_worker_duration)),
    duration("read-timeout", "Time to receive a whole request once it has begun; 0 = no limit",
             server_field(&Config::read_timeout)),
    duration("write-timeout", "Time a response may wait for the client to read it; 0 = no limit",
             server_field(&Config::write_timeout)),
    [] {
        Setting s =
            duration("idle-timeout", "Keep-alive wait for the next request (default: the read timeout); 0 = no limit",
                     server_field(&Config::idle_timeout));
        s.shown_default = [](const Options& d) { return format_duration(d.server.read_timeout); };
        s.given = [](Options& o) { o.idle_timeout_given = true; };
        return s;
    }(),
    duration("defer-accept",
             "Accept a TCP connection once its first bytes arrive, or after DUR if it sends nothing; 0 = at once",
             server_field(&Config::defer_accept)),
    count("max-requests-per-conn", "Close a connection after this many requests; 0 = unlimited",
          server_field(&Config::max_requests_per_conn), 0, UINT64_MAX),
    size("max-request-body-size", "Largest request body; a larger one gets a 413",
         server_field(&Config::max_request_body_size), 0, UINT64_MAX),
    size("max-header-size", "Largest request line plus header fields, 256 to 1MiB; a larger one gets a 431",
         server_field(&Config::max_header_size), min_header_size, max_header_size),
    count("max-conns-per-ip", "Most open connections from one client address; 0 = unlimited",
          server_field(&Config::max_conns_per_ip), 0, max_u32, "0 = unlimited"),
    text(
        "trusted-proxy", ValueKind::text_list, "CIDR",
        "Believe X-Forwarded-For from peers in CIDR (10.0.0.0/8, fd00::/8, 192.0.2.7, or unix for unix socket "
        "peers); repeatable, replaces the file's trusted_proxies",
        apply_trusted_proxy, [](const Options&) { return std::string("none"); },
        [](Options& o) { o.server.trusted_proxies.clear(); }),
    flag("disable-keepalive", "Close every connection after its first response", &Config::disable_keepalive),
    text("server-name", ValueKind::text, "NAME", "Value of the Server response header", apply_server_name,
         [](const Options& d) { return d.server.server_name; }),
    flag("no-server-header", "Send no Server header", &Config::no_server_header),
    flag("no-date-header", "Send no Date header", &Config::no_date_header),
    text("respond", ValueKind::text_list, "PATH=TEXT",
         "Answer exactly PATH with 200 and TEXT as text/plain; repeatable, wins over the file's routes", apply_respond,
         none_shown),
    text("plugin", ValueKind::text_list, "PREFIX=FILE.so",
         "Serve paths under PREFIX by the plugin FILE.so (an instance named after the file); repeatable", apply_plugin,
         none_shown),
    text("root", ValueKind::text, "DIR", "Serve the files under DIR at / (directories without an index get a 403)",
         apply_root, none_shown),
    text("static", ValueKind::text_list, "PREFIX=DIR",
         "Serve the files under DIR at PREFIX; repeatable. Without any route, brisk serves the current "
         "directory at / with listings",
         apply_static, none_shown),
    count("blocking-threads", "Threads for handlers of plugins that may block, 1 to 1024",
          server_field(&Config::blocking_threads), 1, max_blocking_threads),
    count("blocking-queue", "Requests waiting for a blocking thread; the one over gets a 503",
          server_field(&Config::blocking_queue), 1, max_u32),
    text("tls-cert", ValueKind::text_list, "FILE",
         "Certificate chain (PEM) for the TLS listeners; repeatable, paired in order with --tls-key; SNI picks "
         "by subjectAltName, the first is the default; replaces the file's list",
         apply_tls_cert, none_shown, [](Options& o) { o.tls_cert_files.clear(); }),
    text("tls-key", ValueKind::text_list, "FILE",
         "Private key (PEM) of the --tls-cert of the same position; repeatable; replaces the file's list",
         apply_tls_key, none_shown, [](Options& o) { o.tls_key_files.clear(); }),
    text("tls-min-version", ValueKind::text, "VER", "Oldest TLS version offered: 1.2 or 1.3", apply_tls_min_version,
         [](const Options& d) { return d.server.tls_min_version; }),
    text("tls-ciphers", ValueKind::text, "LIST",
         "TLS 1.2 cipher list (OpenSSL syntax); default: the forward-secret AEAD suites of Mozilla's intermediate "
         "profile",
         apply_tls_ciphers, [](const Options&) { return std::string("intermediate"); }),
    text("tls-ciphersuites", ValueKind::text, "LIST",
         "TLS 1.3 cipher suites (OpenSSL syntax); default: "
         "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
         apply_tls_ciphersuites, [](const Options&) { return std::string("the three AEAD suites"); }),
    text("tls-ticket-key-file", ValueKind::text, "FILE",
         "Derive the session-ticket keys (rotated hourly) from the secret in FILE, 32 to 4096 bytes, so hosts "
         "sharing it resume each other's sessions; default: a secret made at start",
         apply_tls_ticket_key_file, [](const Options&) { return std::string("made at start"); }),
    count("hsts-max-age",
          "Send Strict-Transport-Security with max-age=N (seconds; 63072000 is two years) on every answer over TLS; "
          "0 = none",
          server_field(&Config::hsts_max_age), 0, max_hsts_max_age),
    flag("hsts-include-subdomains", "Add includeSubDomains to Strict-Transport-Security",
         &Config::hsts_include_subdomains),
    flag("hsts-preload", "Add preload to Strict-Transport-Security", &Config::hsts_preload),
    duration("tls-handshake-timeout",
             "Close a TLS connection whose handshake and first request's start take longer; 0 = no limit",
             server_field(&Config::tls_handshake_timeout)),
    duration("shutdown-timeout",
             "After SIGTERM, close what is still in flight after this long and exit 1; 0 = wait for it",
             own_field(&Options::shutdown_timeout)),
    count("processes", "Serve from N worker processes under a master that restarts a crashed one; 0 = this process",
          own_field(&Options::processes), 0, max_processes),
    text("log-level", ValueKind::text, "LEVEL", "trace, debug, info, warn, error, critical or off", apply_log_level,
         [](const Options& d) { return d.log_level; }),
    text("error-log", ValueKind::text, "FILE", "Append the log to FILE instead of the standard error", apply_error_log,
         [](const Options&) { return std::string("stderr"); }),
    flag("log-all-errors", "Also log client resets, broken pipes and timeouts (normal on the Internet)",
         &Config::log_all_errors),
    text("access-log", ValueKind::text, "FILE",
         "Append a line per request to FILE (- for the standard output); SIGUSR1 reopens it", apply_access_log,
         [](const Options&) { return std::string("none"); }),
    text("access-log-format", ValueKind::text, "FORMAT",
         "common, combined, json, or a template of $variables such as '$remote_addr $status $request_time_us'",
         apply_access_log_format, [](const Options& d) { return d.server.access_log_format; }),
    size("access-log-buffer",
         "Access log bytes each loop may hold for the writer, 64KiB to 1GiB; lines past it are dropped",
         server_field(&Config::access_log_buffer), min_access_log_buffer, max_access_log_buffer),
    text(
        "metrics", ValueKind::text, "PATH", "Answer exactly PATH with counters in the Prometheus text format",
        [](Options& o, std::string_view v, const std::string& origin, std::string& e) {
            return apply_builtin_route(o, RouteKind::metrics, v, origin, e);
        },
        none_shown),
    text(
        "health", ValueKind::text, "PATH", "Answer exactly PATH with 200 ok, or 503 draining once stopping",
        [](Options& o, std::string_view v, const std::string& origin, std::string& e) {
            return apply_builtin_route(o, RouteKind::health, v, origin, e);
        },
        none_shown),
};

bool same_address(const ListenAddress& a, const ListenAddress& b) {
    if (a.kind != b.kind) return false;
    if (a.kind == ListenAddress::Kind::unix_path) return a.path == b.path;
    // Port 0 asks for a fresh port each time, so two of them do not clash.
    return a.port != 0 && a.port == b.port && a.host == b.host;
}

void check_listen(const Options& o, std::vector<std::string>& errors) {
    const auto& list = o.server.listen;
    for (std::size_t i = 0; i < list.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (!same_address(list[i], list[j])) continue;
            if (list[i].text == list[j].text)
                errors.push_back("listen address \"" + list[i].text + "\" is given twice");
            else
                errors.push_back("listen addresses \"" + list[j].text + "\" and \"" + list[i].text + "\" are the same");
            break;
        }
    }
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string text;
    for (const auto& item : items) {
        if (!text.empty()) text += separator;
        text += item;
    }
    return text;
}

std::string describe_route(const RouteConfig& r) {
    std::string text = std::string(r.prefix ? "prefix" : "path") + " \"" + r.path + "\"";
    if (!r.methods.empty()) text += " with methods " + join(r.methods, ",");
    if (!r.host.empty()) text += std::string(r.methods.empty() ? " with" : " and") + " host \"" + r.host + "\"";
    return text;
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

/** Whether two routes match the same requests: same path or prefix, methods (in any order) and host. */
bool same_match(const RouteConfig& a, const RouteConfig& b) {
    if (a.prefix != b.prefix || a.path != b.path || lower(a.host) != lower(b.host)) return false;
    auto am = a.methods, bm = b.methods;
    std::sort(am.begin(), am.end());
    std::sort(bm.begin(), bm.end());
    return am == bm;
}

bool from_command_line(const RouteConfig& r) {
    return r.origin == respond_flag_origin || r.origin == plugin_flag_origin || r.origin == root_flag_origin ||
           r.origin == static_flag_origin || r.origin == metrics_flag_origin || r.origin == health_flag_origin;
}

void order_routes(Options& o, std::vector<std::string>& errors) {
    auto& routes = o.server.routes;
    std::stable_partition(routes.begin(), routes.end(), from_command_line);
    std::vector<RouteConfig> kept;
    kept.reserve(routes.size());
    for (auto& route : routes) {
        auto same = std::find_if(kept.begin(), kept.end(), [&](const RouteConfig& k) { return same_match(k, route); });
        if (same == kept.end()) {
            kept.push_back(std::move(route));
            continue;
        }
        if (from_command_line(*same) && !from_command_line(route)) continue;  // the command line wins over the file
        if (from_command_line(route))
            errors.push_back(route.origin + ": " + describe_route(route) + " is given twice");
        else
            errors.push_back(route.origin + ": duplicate route for " + describe_route(route) + " (first at " +
                             same->origin + ")");
    }
    routes = std::move(kept);
}

void check_plugins(const Options& o, std::vector<std::string>& errors) {
    const auto& plugins = o.server.plugins;
    for (std::size_t i = 0; i < plugins.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (plugins[i].name != plugins[j].name) continue;
            errors.push_back(plugins[i].origin + ": plugin instance \"" + plugins[i].name +
                             "\" is defined twice (first at " + plugins[j].origin + ")");
            break;
        }
    }
    for (const auto& route : o.server.routes) {
        if (route.kind != RouteKind::plugin) continue;
        bool known = std::any_of(plugins.begin(), plugins.end(),
                                 [&](const PluginInstanceConfig& p) { return p.name == route.plugin; });
        if (!known)
            errors.push_back(route.origin + ": route for " + describe_route(route) +
                             " names unknown plugin instance \"" + route.plugin + "\"");
    }
}

}  // namespace

Options::Options() {
    server.loops = 0;  // finalize() resolves it to the usable cores
}

namespace {

/** A count or size in the setting's bounds; `shown` is the value as written. */
bool in_bounds(const Setting& s, std::uint64_t n, std::string_view shown, std::string& error) {
    if (n >= s.min && n <= s.max) return true;
    if (s.kind == ValueKind::size) {
        error = "must be from " + format_size(s.min) + " to " + format_size(s.max) + ", not " + std::string(shown);
    } else {
        error = "must be from " + std::to_string(s.min) + " to " + std::to_string(s.max);
        if (!s.hint.empty()) error += " (" + std::string(s.hint) + ")";
        error += ", not " + std::to_string(n);
    }
    return false;
}

/** Stores a checked whole number in the setting's field, whatever its width. */
bool store_number(const Setting& s, Options& o, std::uint64_t n) {
    if (auto* f = std::get_if<Field<std::uint64_t>>(&s.target)) {
        f->of(o) = n;
        return true;
    }
    if (auto* f = std::get_if<Field<std::uint32_t>>(&s.target)) {
        f->of(o) = static_cast<std::uint32_t>(n);  // the bounds keep it in range
        return true;
    }
    return false;
}

}  // namespace

bool Setting::apply(Options& o, std::string_view value, const std::string& origin, std::string& error) const {
    bool ok = false;
    if (parse) {
        ok = parse(o, value, origin, error);
    } else if (kind == ValueKind::duration) {
        ok = parse_duration(value, std::get<Field<Duration>>(target).of(o), error);
    } else if (kind == ValueKind::count || kind == ValueKind::size) {
        std::uint64_t n = 0;
        ok = (kind == ValueKind::count ? parse_count(value, n, error) : parse_size(value, n, error)) &&
             in_bounds(*this, n, value, error) && store_number(*this, o, n);
    }
    if (ok && given) given(o);
    return ok;
}

bool Setting::apply_integer(Options& o, std::int64_t value, std::string& error) const {
    const std::string shown = std::to_string(value);
    if (kind == ValueKind::duration && value == 0) return apply(o, "0", {}, error);
    if (kind != ValueKind::count && kind != ValueKind::size) {
        error = "expected text, not a number";
        return false;
    }
    if (value < 0) {
        error = std::string(kind == ValueKind::size ? "bad size" : "bad number") + " \"" + shown +
                "\": must not be negative";
        return false;
    }
    const auto n = static_cast<std::uint64_t>(value);
    if (!in_bounds(*this, n, shown, error) || !store_number(*this, o, n)) return false;
    if (given) given(o);
    return true;
}

void Setting::set_flag(Options& o, bool on) const { std::get<Field<bool>>(target).of(o) = on; }

std::string Setting::default_text(const Options& d) const {
    if (shown_default) return shown_default(d);
    if (const auto* f = std::get_if<Field<Duration>>(&target)) return format_duration(f->of(d));
    std::uint64_t n = 0;
    if (const auto* f = std::get_if<Field<std::uint64_t>>(&target)) n = f->of(d);
    if (const auto* f = std::get_if<Field<std::uint32_t>>(&target)) n = f->of(d);
    if (kind == ValueKind::size) return format_size(n);
    if (kind == ValueKind::count) return std::to_string(n);
    return {};
}

std::span<const Setting> settings() { return setting_table; }

std::string toml_key(const Setting& setting) {
    // A list of ranges reads better in the plural in a file.
    if (setting.name == "trusted-proxy") return "trusted_proxies";
    std::string key(setting.name);
    std::replace(key.begin(), key.end(), '-', '_');
    return key;
}

const Setting* find_setting_by_key(std::string_view key) {
    for (const auto& setting : setting_table) {
        if (toml_key(setting) == key) return &setting;
    }
    return nullptr;
}

bool check_route_path(std::string_view path, std::string& error) {
    if (!path.starts_with('/')) {
        error = "path \"" + std::string(path) + "\" must start with '/'";
        return false;
    }
    for (char c : path) {
        if (c <= ' ' || c >= 0x7f) {
            error = "path \"" + std::string(path) + "\" must be visible ASCII without spaces (percent-encode the rest)";
            return false;
        }
        if (c == '?' || c == '#') {
            error = "path \"" + std::string(path) + "\" must not contain '?' or '#' (routes match the path only)";
            return false;
        }
    }
    return true;
}

bool is_plugin_instance_name(std::string_view name) {
    return !name.empty() &&
           std::all_of(name.begin(), name.end(), [](char c) { return is_ascii_alnum(c) || c == '_' || c == '-'; });
}

std::string plugin_instance_name(std::string_view file, const std::vector<PluginInstanceConfig>& taken) {
    std::string_view stem = file;
    if (std::size_t slash = stem.rfind('/'); slash != std::string_view::npos) stem.remove_prefix(slash + 1);
    if (stem.ends_with(".so"))
        stem.remove_suffix(3);
    else if (std::size_t so = stem.find(".so."); so != std::string_view::npos)
        stem = stem.substr(0, so);
    if (stem.starts_with("lib") && stem.size() > 3) stem.remove_prefix(3);
    std::string base(stem);
    for (char& c : base) {
        if (!is_ascii_alnum(c) && c != '-') c = '_';
    }
    if (base.empty()) base = "plugin";
    auto is_taken = [&](const std::string& name) {
        return std::any_of(taken.begin(), taken.end(), [&](const PluginInstanceConfig& p) { return p.name == name; });
    };
    std::string name = base;
    for (unsigned n = 2; is_taken(name); ++n) name = base + "-" + std::to_string(n);
    return name;
}

bool parse_sha256(std::string_view text, std::string& out, std::string& error) {
    auto is_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
    if (text.size() != sha256_hex_digits || !std::all_of(text.begin(), text.end(), is_hex)) {
        error = "expected 64 hex digits (as sha256sum prints), not \"" + std::string(text) + "\"";
        return false;
    }
    out = lower(text);
    return true;
}

bool is_route_method(std::string_view method) {
    return std::find(route_methods.begin(), route_methods.end(), method) != route_methods.end();
}

bool check_route_methods(const std::vector<std::string>& methods, std::vector<std::string>& out, std::string& error) {
    if (methods.empty()) {
        error = "empty list (leave methods out to match every method)";
        return false;
    }
    std::vector<std::string> checked;
    for (const auto& method : methods) {
        if (!is_route_method(method)) {
            std::string upper(method);
            std::transform(upper.begin(), upper.end(), upper.begin(),
                           [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; });
            error = "unknown method \"" + method + "\"";
            if (upper != method && is_route_method(upper))
                error += " (methods are upper-case: " + upper + ")";
            else
                error += " (use GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE or PATCH)";
            return false;
        }
        if (std::find(checked.begin(), checked.end(), method) != checked.end()) {
            error = "method \"" + method + "\" is given twice";
            return false;
        }
        checked.push_back(method);
    }
    out = std::move(checked);
    return true;
}

bool parse_route_host(std::string_view text, std::string& out, std::string& error) {
    auto fail = [&](std::string_view reason) {
        error = "bad host \"" + std::string(text) + "\": " + std::string(reason);
        return false;
    };
    if (text.empty()) return fail("empty (leave host out to match every host)");
    if (text.front() == '[') {
        if (text.back() != ']') return fail("an IPv6 address in brackets takes no port");
        std::string_view inner = text.substr(1, text.size() - 2);
        bool ok = inner.find(':') != std::string_view::npos && std::all_of(inner.begin(), inner.end(), [](char c) {
                      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
                             c == '.';
                  });
        if (!ok) return fail("expected an IPv6 address in brackets, as in [::1]");
        out = lower(text);
        return true;
    }
    if (text.find(':') != std::string_view::npos)
        return fail("a host takes no port (the port is ignored when matching); write IPv6 addresses in brackets");
    std::size_t label = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '.') {
            if (i == label) return fail("empty label");
            if (text[label] == '-' || text[i - 1] == '-') return fail("a label must not start or end with '-'");
            label = i + 1;
        } else if (!is_ascii_alnum(text[i]) && text[i] != '-') {
            return fail("letters, digits, '-' and '.' only");
        }
    }
    if (text.size() > 253) return fail("longer than 253 bytes");
    out = lower(text);
    return true;
}

unsigned usable_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<unsigned>(n);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

// --tls-cert and --tls-key pair up by position; a TLS listener needs one pair at least.
void pair_tls_certs(Options& o, std::vector<std::string>& errors) {
    if (o.tls_cert_files.size() != o.tls_key_files.size()) {
        auto times = [](std::size_t n) { return std::to_string(n) + (n == 1 ? " time" : " times"); };
        errors.push_back("--tls-cert (tls_cert) is given " + times(o.tls_cert_files.size()) +
                         " and --tls-key (tls_key) " + times(o.tls_key_files.size()) +
                         ": each certificate needs its key, in the same order");
        return;
    }
    o.server.tls_certs.clear();
    for (std::size_t i = 0; i < o.tls_cert_files.size(); ++i)
        o.server.tls_certs.push_back(TlsCert{o.tls_cert_files[i], o.tls_key_files[i]});
    const bool tls =
        std::any_of(o.server.listen.begin(), o.server.listen.end(), [](const ListenAddress& a) { return a.tls; });
    if (tls && o.server.tls_certs.empty())
        errors.push_back("a TLS listener (\",tls\") needs a certificate: give --tls-cert FILE --tls-key FILE");
}

// Strict-Transport-Security's options need it on; preload on the terms of the browsers' preload list.
void check_hsts(const Config& c, std::vector<std::string>& errors) {
    if ((c.hsts_include_subdomains || c.hsts_preload) && c.hsts_max_age == 0)
        errors.push_back("--hsts-include-subdomains and --hsts-preload need --hsts-max-age (hsts_max_age) N");
    else if (c.hsts_preload && (!c.hsts_include_subdomains || c.hsts_max_age < 31536000))
        errors.push_back(
            "--hsts-preload (hsts_preload) needs --hsts-include-subdomains and --hsts-max-age of at "
            "least 31536000 (a year): the preload list's terms");
}

}  // namespace

void finalize(Options& o, std::vector<std::string>& errors) {
    if (o.server.listen.empty()) {
        ListenAddress address;
        std::string ignored;
        parse_listen_address(default_listen, address, ignored);
        o.server.listen.push_back(std::move(address));
    }
    check_listen(o, errors);
    pair_tls_certs(o, errors);
    check_hsts(o.server, errors);
    if (o.server.loops == 0) o.server.loops = std::min(usable_cores(), max_loops);
    if (const char* env = std::getenv("BRISK_IO"); env && *env && !o.io_given) {
        std::string error;
        if (!apply_io(o, env, "", error)) errors.push_back("BRISK_IO: " + error);
    }
    if (!o.idle_timeout_given) o.server.idle_timeout = o.server.read_timeout;
    auto serves_content = [](const RouteConfig& r) {
        return r.kind != RouteKind::metrics && r.kind != RouteKind::health;
    };
    if (std::none_of(o.server.routes.begin(), o.server.routes.end(), serves_content)) {
        // Like `python -m http.server`: the current directory, listed
        // (metrics and health routes alone do not count as content).
        RouteConfig route = static_route("/", ".", std::string(default_route_origin));
        route.static_files.listing = true;
        o.server.routes.push_back(std::move(route));
    }
    order_routes(o, errors);
    check_plugins(o, errors);
}

}  // namespace brisk::cli
