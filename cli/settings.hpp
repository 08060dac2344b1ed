// brisk — the table of settings shared by the command line and the TOML file.
//
// Every setting has one name: the flag is "--" + name and the TOML key is the
// name with '-' turned into '_' ("--read-timeout" <-> `read_timeout`). Both
// sources hand values to the same apply functions, so a value means the same
// thing and fails with the same message wherever it was written.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "brisk/config.hpp"
#include "brisk/static_options.hpp"

namespace brisk::cli {

/** Everything the brisk binary is told: the server's Config plus what only the binary uses. */
struct Options {
    Options();

    Config server;
    /** trace, debug, info, warn, error, critical or off. */
    std::string log_level = "info";
    /** File the log is appended to; empty for stderr. */
    std::string error_log;
    /** --config FILE; empty when none. */
    std::string config_path;
    /** After SIGTERM, how long in-flight requests may take before brisk closes them and exits 1; 0 = no limit. */
    Duration shutdown_timeout = std::chrono::seconds(30);
    /** Worker processes under a master that restarts them (prefork); 0 = serve in this process. */
    unsigned processes = 0;
    /** --check-config: validate, report and exit. */
    bool check_config = false;
    /** Whether idle_timeout was set; otherwise it follows read_timeout. */
    bool idle_timeout_given = false;
    bool io_given = false;  // else the BRISK_IO environment variable may choose
    /** --tls-cert and --tls-key files, paired in order by finalize() into Config::tls_certs. */
    std::vector<std::string> tls_cert_files;
    std::vector<std::string> tls_key_files;
};

/** How a setting's value is written. */
enum class ValueKind : std::uint8_t {
    flag,       // a flag without argument; TOML boolean
    count,      // a whole number; TOML integer
    duration,   // "10s", "500ms"; TOML string (or 0)
    size,       // "4MiB", "8k", bytes; TOML string or integer
    text,       // TOML string
    text_list,  // a repeatable flag; TOML array of strings, or one string
};

/** A field a setting sets: of Options::server (the server's Config), or of Options itself. */
template <class T>
struct Field {
    T Config::*server = nullptr;
    T Options::*own = nullptr;
    T& of(Options& o) const noexcept { return server ? o.server.*server : o.*own; }
    const T& of(const Options& o) const noexcept { return server ? o.server.*server : o.*own; }
};

/** What a typed setting sets; empty for settings that parse their own text (a route, an address). */
using Target = std::variant<std::monostate, Field<bool>, Field<Duration>, Field<std::uint32_t>, Field<std::uint64_t>>;

/**
 * One setting: a flag and a TOML key. Most are typed (a flag, a duration, a
 * count or a size with its bounds, straight into a field); the others parse
 * their text themselves. Flags, the TOML file, --help and --check-config all
 * go through the same members, so a value means the same thing and fails
 * with the same message wherever it was written.
 */
struct Setting {
    /** Flag name without the leading "--". */
    std::string_view name;
    ValueKind kind;
    /** Placeholder for the value in --help ("DUR"); empty for flags. */
    std::string_view metavar;
    std::string_view help;
    /** Typed settings: the field. */
    Target target{};
    /** Counts and sizes: the bounds, and what follows them in a message ("0 = unlimited"). */
    std::uint64_t min = 0;
    std::uint64_t max = UINT64_MAX;
    std::string_view hint{};
    /** Other settings: applies one textual value. `origin` says where it was written. */
    bool (*parse)(Options& out, std::string_view value, const std::string& origin, std::string& error) = nullptr;
    /** The default as --help shows it, where the field's own value is not it (or there is no field). */
    std::string (*shown_default)(const Options& defaults) = nullptr;
    /**
     * For a list the command line replaces rather than extends (--listen):
     * empties the list before the flags' values are applied. Null otherwise.
     */
    void (*clear)(Options& out) = nullptr;
    /** Called once a value is applied (to note that it was given). */
    void (*given)(Options& out) = nullptr;

    /**
     * Applies one textual value (a flag argument, a TOML string). Returns
     * false with a one-line reason. Not for flags.
     */
    bool apply(Options& out, std::string_view value, const std::string& origin, std::string& error) const;
    /** Applies a TOML integer to a count, a size, or (0 only) a duration. */
    bool apply_integer(Options& out, std::int64_t value, std::string& error) const;
    /** Sets a flag. */
    void set_flag(Options& out, bool on) const;
    /** The default as --help shows it; empty for flags. */
    std::string default_text(const Options& defaults) const;
};

/** Every setting, in --help order. */
std::span<const Setting> settings();

/** The TOML key of a setting: its name with '-' turned into '_'. */
std::string toml_key(const Setting& setting);

/** The setting whose TOML key is `key`, or null. */
const Setting* find_setting_by_key(std::string_view key);

/** Origin recorded on routes given with --respond. */
inline constexpr std::string_view respond_flag_origin = "--respond";
/** Origin recorded on plugin instances and routes given with --plugin. */
inline constexpr std::string_view plugin_flag_origin = "--plugin";
/** Origins recorded on static-file routes given with --root and --static. */
inline constexpr std::string_view root_flag_origin = "--root";
inline constexpr std::string_view static_flag_origin = "--static";
/** Origins recorded on the routes of --metrics and --health. */
inline constexpr std::string_view metrics_flag_origin = "--metrics";
inline constexpr std::string_view health_flag_origin = "--health";
/** Origin of the route a configuration without any route gets: the current directory at "/". */
inline constexpr std::string_view default_route_origin = "default route";

// Checks of a static route's directory and of header values, shared with the
// route options (brisk/static_options.hpp).
using brisk::check_static_root;
using brisk::is_header_value;

/** Whether `name` can name a plugin instance: [A-Za-z0-9_-]+. */
bool is_plugin_instance_name(std::string_view name);

/**
 * The instance name --plugin PREFIX=FILE gives: the file name without its
 * directory, without a leading "lib" and without ".so" (or ".so.N...");
 * characters other than [A-Za-z0-9_-] become '_'. If that name is in
 * `taken`, "-2", "-3", ... is appended until it is not.
 */
std::string plugin_instance_name(std::string_view file, const std::vector<PluginInstanceConfig>& taken);

/** Checks a sha256 pin (64 hex digits) and stores it lower-cased in `out`. */
bool parse_sha256(std::string_view text, std::string& out, std::string& error);

/** Whether `method` is one a route may list: GET HEAD POST PUT DELETE OPTIONS TRACE PATCH. */
bool is_route_method(std::string_view method);

/**
 * Checks the methods of a route (known, upper-case, none twice, at least
 * one) and stores them in `out` in the order given.
 */
bool check_route_methods(const std::vector<std::string>& methods, std::vector<std::string>& out, std::string& error);

/**
 * Checks the host of a route: a DNS name or an IPv4 address, or an IPv6
 * address in brackets, without a port. Stores it lower-cased in `out`.
 */
bool parse_route_host(std::string_view text, std::string& out, std::string& error);

/**
 * Checks a route path or prefix: starts with '/', visible ASCII only, no '?'
 * or '#' (the router matches the path without the query).
 */
bool check_route_path(std::string_view path, std::string& error);

/** The CPUs this process may run on (sched_getaffinity), at least 1. */
unsigned usable_cores();

/**
 * Fills what depends on other settings (loops 0 -> usable cores, idle
 * timeout -> read timeout, the default listen address, and without any
 * route the current directory served at "/" with listings), puts the routes
 * of the command line (--respond, --plugin, --root, --static) first and
 * drops file routes they shadow, and checks what spans several settings (duplicate addresses,
 * duplicate routes: same path or prefix, methods and host; duplicate plugin
 * instances; plugin routes naming no instance). Appends one line per
 * problem to `errors`.
 */
void finalize(Options& options, std::vector<std::string>& errors);

}  // namespace brisk::cli
