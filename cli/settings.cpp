// brisk — the table of settings shared by the command line and the TOML file.
#include "settings.hpp"

#include <sched.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
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

/** A count in [lo, hi]; `hint` follows the range in the message. */
bool count_in_range(std::string_view text, std::uint64_t lo, std::uint64_t hi, std::string_view hint,
                    std::uint64_t& out, std::string& error) {
    if (!parse_count(text, out, error)) return false;
    if (out < lo || out > hi) {
        error = "must be from " + std::to_string(lo) + " to " + std::to_string(hi);
        if (!hint.empty()) error += " (" + std::string(hint) + ")";
        error += ", not " + std::to_string(out);
        return false;
    }
    return true;
}

bool apply_duration(std::string_view text, Duration& out, std::string& error) {
    return parse_duration(text, out, error);
}

bool apply_listen(Options& o, std::string_view v, const std::string&, std::string& error) {
    ListenAddress address;
    if (!parse_listen_address(v, address, error)) return false;
    o.server.listen.push_back(std::move(address));
    return true;
}

bool apply_loops(Options& o, std::string_view v, const std::string&, std::string& error) {
    std::uint64_t n = 0;
    if (!count_in_range(v, 0, max_loops, "0 = one per usable core", n, error)) return false;
    o.server.loops = static_cast<unsigned>(n);
    return true;
}

bool apply_concurrency(Options& o, std::string_view v, const std::string&, std::string& error) {
    std::uint64_t n = 0;
    if (!count_in_range(v, 1, std::numeric_limits<std::uint32_t>::max(), "", n, error)) return false;
    o.server.concurrency = n;
    return true;
}

bool apply_max_requests_per_conn(Options& o, std::string_view v, const std::string&, std::string& error) {
    return parse_count(v, o.server.max_requests_per_conn, error);
}

bool apply_max_conns_per_ip(Options& o, std::string_view v, const std::string&, std::string& error) {
    std::uint64_t n = 0;
    if (!count_in_range(v, 0, std::numeric_limits<std::uint32_t>::max(), "0 = unlimited", n, error)) return false;
    o.server.max_conns_per_ip = static_cast<std::uint32_t>(n);
    return true;
}

bool apply_max_request_body_size(Options& o, std::string_view v, const std::string&, std::string& error) {
    return parse_size(v, o.server.max_request_body_size, error);
}

bool apply_max_header_size(Options& o, std::string_view v, const std::string&, std::string& error) {
    std::uint64_t n = 0;
    if (!parse_size(v, n, error)) return false;
    if (n < min_header_size || n > max_header_size) {
        error = "must be from " + format_size(min_header_size) + " to " + format_size(max_header_size) +
                ", not " + std::string(v);
        return false;
    }
    o.server.max_header_size = static_cast<std::uint32_t>(n);
    return true;
}

bool apply_server_name(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (!is_header_value(v)) {
        error = "\"" + std::string(v) +
                "\" is not a valid header value (visible ASCII and inner spaces only, not empty)";
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

bool apply_log_level(Options& o, std::string_view v, const std::string&, std::string& error) {
    if (std::find(log_levels.begin(), log_levels.end(), v) == log_levels.end()) {
        error = "unknown log level \"" + std::string(v) + "\" (use trace, debug, info, warn, error, critical or off)";
        return false;
    }
    o.log_level = std::string(v);
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


const std::array setting_table{
    Setting{"listen", ValueKind::text_list, "ADDR",
            "host:port, [v6]:port, :port (all IPv4) or unix:/path; repeatable, replaces the file's list",
            apply_listen, nullptr, [](const Options&) { return std::string(default_listen); },
            [](Options& o) { o.server.listen.clear(); }},
    Setting{"loops", ValueKind::count, "N", "Event loops (threads); 0 = one per usable core", apply_loops,
            nullptr, [](const Options&) { return std::to_string(usable_cores()); }, nullptr},
    Setting{"concurrency", ValueKind::count, "N",
            "Most open connections across all loops; the one over gets a 503", apply_concurrency, nullptr,
            [](const Options& d) { return std::to_string(d.server.concurrency); }, nullptr},
    Setting{"max-idle-worker-duration", ValueKind::duration, "DUR",
            "Free a loop's spare worker once idle this long; 0 = never",
            [](Options& o, std::string_view v, const std::string&, std::string& e) {
                return apply_duration(v, o.server.max_idle_worker_duration, e);
            },
            nullptr, [](const Options& d) { return format_duration(d.server.max_idle_worker_duration); }, nullptr},
    Setting{"read-timeout", ValueKind::duration, "DUR",
            "Time to receive a whole request once it has begun; 0 = no limit",
            [](Options& o, std::string_view v, const std::string&, std::string& e) {
                return apply_duration(v, o.server.read_timeout, e);
            },
            nullptr, [](const Options& d) { return format_duration(d.server.read_timeout); }, nullptr},
    Setting{"write-timeout", ValueKind::duration, "DUR",
            "Time a response may wait for the client to read it; 0 = no limit",
            [](Options& o, std::string_view v, const std::string&, std::string& e) {
                return apply_duration(v, o.server.write_timeout, e);
            },
            nullptr, [](const Options& d) { return format_duration(d.server.write_timeout); }, nullptr},
    Setting{"idle-timeout", ValueKind::duration, "DUR",
            "Keep-alive wait for the next request (default: the read timeout); 0 = no limit",
            [](Options& o, std::string_view v, const std::string&, std::string& e) {
                if (!apply_duration(v, o.server.idle_timeout, e)) return false;
                o.idle_timeout_given = true;
                return true;
            },
            nullptr, [](const Options& d) { return format_duration(d.server.read_timeout); }, nullptr},
    Setting{"max-requests-per-conn", ValueKind::count, "N",
            "Close a connection after this many requests; 0 = unlimited", apply_max_requests_per_conn, nullptr,
            [](const Options& d) { return std::to_string(d.server.max_requests_per_conn); }, nullptr},
    Setting{"max-request-body-size", ValueKind::size, "SIZE", "Largest request body; a larger one gets a 413",
            apply_max_request_body_size, nullptr,
            [](const Options& d) { return format_size(d.server.max_request_body_size); }, nullptr},
    Setting{"max-header-size", ValueKind::size, "SIZE",
            "Largest request line plus header fields, 256 to 1MiB; a larger one gets a 431",
            apply_max_header_size, nullptr, [](const Options& d) { return format_size(d.server.max_header_size); },
            nullptr},
    Setting{"max-conns-per-ip", ValueKind::count, "N", "Most open connections from one client address; 0 = unlimited",
            apply_max_conns_per_ip, nullptr,
            [](const Options& d) { return std::to_string(d.server.max_conns_per_ip); }, nullptr},
    Setting{"disable-keepalive", ValueKind::flag, "", "Close every connection after its first response", nullptr,
            [](Options& o, bool on) { o.server.disable_keepalive = on; }, nullptr, nullptr},
    Setting{"server-name", ValueKind::text, "NAME", "Value of the Server response header", apply_server_name,
            nullptr, [](const Options& d) { return d.server.server_name; }, nullptr},
    Setting{"no-server-header", ValueKind::flag, "", "Send no Server header", nullptr,
            [](Options& o, bool on) { o.server.no_server_header = on; }, nullptr, nullptr},
    Setting{"no-date-header", ValueKind::flag, "", "Send no Date header", nullptr,
            [](Options& o, bool on) { o.server.no_date_header = on; }, nullptr, nullptr},
    Setting{"respond", ValueKind::text_list, "PATH=TEXT",
            "Answer exactly PATH with 200 and TEXT as text/plain; repeatable, wins over the file's routes",
            apply_respond, nullptr, [](const Options&) { return std::string(); }, nullptr},
    Setting{"log-level", ValueKind::text, "LEVEL", "trace, debug, info, warn, error, critical or off",
            apply_log_level, nullptr, [](const Options& d) { return d.log_level; }, nullptr},
    Setting{"error-log", ValueKind::text, "FILE", "Append the log to FILE instead of the standard error",
            apply_error_log, nullptr, [](const Options&) { return std::string("stderr"); }, nullptr},
    Setting{"log-all-errors", ValueKind::flag, "",
            "Also log client resets, broken pipes and timeouts (normal on the Internet)", nullptr,
            [](Options& o, bool on) { o.server.log_all_errors = on; }, nullptr, nullptr},
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
            if (list[i].text == list[j].text) errors.push_back("listen address \"" + list[i].text + "\" is given twice");
            else
                errors.push_back("listen addresses \"" + list[j].text + "\" and \"" + list[i].text +
                                 "\" are the same");
            break;
        }
    }
}

std::string describe_route(const RouteConfig& r) {
    return std::string(r.prefix ? "prefix" : "path") + " \"" + r.path + "\"";
}

void order_routes(Options& o, std::vector<std::string>& errors) {
    auto& routes = o.server.routes;
    auto from_flag = [](const RouteConfig& r) { return r.origin == respond_flag_origin; };
    std::stable_partition(routes.begin(), routes.end(), from_flag);
    std::vector<RouteConfig> kept;
    kept.reserve(routes.size());
    for (auto& route : routes) {
        auto same = std::find_if(kept.begin(), kept.end(), [&](const RouteConfig& k) {
            return k.prefix == route.prefix && k.path == route.path;
        });
        if (same == kept.end()) {
            kept.push_back(std::move(route));
            continue;
        }
        if (from_flag(*same) && !from_flag(route)) continue;  // --respond wins over the file
        if (from_flag(route))
            errors.push_back("--respond: path \"" + route.path + "\" is given twice");
        else
            errors.push_back(route.origin + ": duplicate route for " + describe_route(route) + " (first at " +
                             same->origin + ")");
    }
    routes = std::move(kept);
}

}  // namespace

Options::Options() {
    server.loops = 0;  // finalize() resolves it to the usable cores
}

std::span<const Setting> settings() { return setting_table; }

std::string toml_key(const Setting& setting) {
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

bool is_header_value(std::string_view value) {
    if (value.empty() || value.front() == ' ' || value.back() == ' ') return false;
    return std::all_of(value.begin(), value.end(), [](char c) { return c >= ' ' && c < 0x7f; });
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

void finalize(Options& o, std::vector<std::string>& errors) {
    if (o.server.listen.empty()) {
        ListenAddress address;
        std::string ignored;
        parse_listen_address(default_listen, address, ignored);
        o.server.listen.push_back(std::move(address));
    }
    check_listen(o, errors);
    if (o.server.loops == 0) o.server.loops = std::min(usable_cores(), max_loops);
    if (!o.idle_timeout_given) o.server.idle_timeout = o.server.read_timeout;
    order_routes(o, errors);
}

}  // namespace brisk::cli
