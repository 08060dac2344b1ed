// brisk — the one validated configuration the server runs on.
//
// The command line and the TOML file are parsed and merged in cli/; nothing
// below cli/ parses flags or TOML. core/ receives a finished Config and never
// changes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace brisk {

using Duration = std::chrono::milliseconds;

/** One address to listen on, as given by --listen or `listen = [...]`. */
struct ListenAddress {
    enum class Kind : std::uint8_t { tcp4, tcp6, unix_path };
    Kind kind = Kind::tcp4;
    /** Numeric host ("127.0.0.1", "::1"); empty for unix sockets. */
    std::string host;
    std::uint16_t port = 0;
    /** Filesystem path of a unix socket. */
    std::string path;
    /** The address as the user wrote it, for messages. */
    std::string text;
    /** ",proxy": every connection starts with a PROXY protocol header (v1 or v2). */
    bool proxy = false;
    /** ",tls": connections speak HTTPS (TLS 1.2/1.3, the certificates of Config::tls_certs). */
    bool tls = false;
    /**
     * ",redirect" (plain listeners only): every request is answered with a
     * 308 to the same host and target over https, on the port of the first
     * TLS listener (443 without one).
     */
    bool redirect = false;
};

/**
 * Parses "host:port", "[v6]:port", ":port" (all IPv4 addresses) or
 * "unix:/path", optionally followed by ",proxy", ",tls" or ",redirect" (in any order; not "tls" with
 * "redirect"). Hostnames other than
 * "localhost" are refused: a server binds numeric addresses. Returns false
 * and sets `error` to a one-line reason.
 */
bool parse_listen_address(std::string_view text, ListenAddress& out, std::string& error);

/** An address range of trusted proxies (--trusted-proxy, `trusted_proxies`). */
struct Cidr {
    std::uint8_t ip[16] = {};  // the network address; bits past the prefix are zero
    std::uint8_t ip_len = 4;   // 4 or 16; 0: peers of unix sockets ("unix")
    std::uint8_t prefix = 32;  // bits that must match
    /** As the user wrote it, for messages. */
    std::string text;
};

/**
 * Parses "10.0.0.0/8", "fd00::/8", a single address ("192.0.2.7", "::1")
 * or "unix" (peers of unix sockets). Refuses bits set past the prefix length. Returns false and sets `error`
 * to a one-line reason.
 */
bool parse_cidr(std::string_view text, Cidr& out, std::string& error);

/**
 * Whether `ip` (4 or 16 bytes; 0 for a unix socket's peer) is in `range`; an
 * IPv4-mapped IPv6 address matches IPv4 ranges.
 */
bool cidr_contains(const Cidr& range, const std::uint8_t* ip, std::size_t ip_len) noexcept;
bool cidr_list_contains(const std::vector<Cidr>& ranges, const std::uint8_t* ip, std::size_t ip_len) noexcept;

/** What a route does. Static roots slot in here later. */
enum class RouteKind : std::uint8_t {
    /** A fixed answer: status, content type and body (--respond, `respond =`). */
    respond,
    /** A handler of a plugin instance (`plugin = "NAME"`, --plugin PREFIX=FILE.so). */
    plugin,
    /** Files under a directory (--root DIR, --static PREFIX=DIR, `static = {...}`). */
    static_files,
    /** Counters in the Prometheus text format (--metrics PATH, `type = "metrics"`). */
    metrics,
    /** 200 while serving, 503 while draining (--health PATH, `type = "health"`). */
    health,
};

/** Options of a static-files route; the defaults are what --root and --static get. */
struct StaticConfig {
    std::string root;                                 // directory served
    std::vector<std::string> index = {"index.html"};  // index file names, in order
    bool listing = false;                             // HTML listing of directories without an index
    bool ranges = true;                               // Range requests
    bool etag = true;                                 // strong ETag + If-None-Match / If-Match
    bool compress = true;                             // on-the-fly compression of compressible types
    int gzip_level = 6;
    int brotli_level = 5;
    int zstd_level = 3;
    std::uint64_t compress_max_size = 1u << 20;                    // larger files are not compressed on the fly
    std::string compress_cache;                                    // folder for compressed copies; empty: memory
    std::vector<std::string> precompressed = {"br", "zst", "gz"};  // sibling encodings looked for
    Duration cache_duration = std::chrono::seconds(10);            // open-file cache: revalidate after this
    bool dotfiles = false;                                         // serve names starting with '.'
    bool follow_symlinks = false;                                  // allow symlinks pointing outside the root
    std::vector<std::pair<std::string, std::string>> mime;         // extra "ext" -> "type" entries
    std::string cache_control;                                     // Cache-Control value; empty: none
};

/** One value of a plugin instance's `config` table, already type-checked by cli/. */
struct PluginSetting {
    enum class Type : std::uint8_t { string, integer, boolean, floating };
    /** Key; keys of nested tables are joined with '.' ("db.host"). */
    std::string key;
    Type type = Type::string;
    std::string string_value;
    std::int64_t int_value = 0;
    bool bool_value = false;
    double double_value = 0;
    /** "brisk.toml:14:1", for the plugin's error messages. */
    std::string where;
};

/** A plugin instance: `[plugins.NAME]`, or one made by --plugin PREFIX=FILE.so. */
struct PluginInstanceConfig {
    std::string name;
    /** Path of the shared object, as given (relative to the working directory). */
    std::string file;
    /** Optional pin: the file's sha256, 64 lower-case hex digits. */
    std::string sha256;
    std::vector<PluginSetting> settings;
    /** How long a suspended request may wait for its answer (then 503); 0: no limit. */
    Duration handler_timeout{0};
    /** Where the instance was defined ("brisk.toml:12:1", "--plugin"). */
    std::string origin;
};

/** One entry of the routing table, in the order the user gave them. */
struct RouteConfig {
    RouteKind kind = RouteKind::respond;
    /** Exact path to match ("/plaintext"), or the prefix when `prefix` is set. */
    std::string path;
    bool prefix = false;
    std::uint16_t status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    /** plugin: the instance name (a key of Config::plugins). */
    std::string plugin;
    /** static_files: the directory and its options. */
    StaticConfig static_files;
    /** Methods matched ("GET", "POST"); empty matches every method. */
    std::vector<std::string> methods;
    /** Host matched (case-insensitive, port ignored); empty matches every host. */
    std::string host;
    /** Where the route was defined ("--respond", "brisk.toml:12:1"), for messages. */
    std::string origin;
};

/** How the event loops wait for and do I/O. */
enum class IoBackend : std::uint8_t {
    automatic,  // io_uring where the kernel and its policy allow it, else epoll
    epoll,      // readiness with epoll, then read and send calls
    io_uring,   // completions from io_uring; the server does not start without it
};

/** A certificate (chain, PEM) and its private key (PEM), for TLS listeners. */
struct TlsCert {
    std::string cert;
    std::string key;
};

/** Every setting of a running server. Durations of 0 mean "no limit". */
struct Config {
    std::vector<ListenAddress> listen;  // cli/ fills the default 127.0.0.1:8080
    /** Event loops (threads); cli/ resolves 0 to the usable cores. */
    unsigned loops = 1;
    IoBackend io = IoBackend::automatic;
    /** Open connections across all loops; the one over gets a 503. */
    std::uint64_t concurrency = 262144;
    Duration max_idle_worker_duration = std::chrono::seconds(10);

    /** Time to receive a whole request once its first byte arrived. */
    Duration read_timeout = std::chrono::seconds(60);
    /** Time a pending response may wait for the client to read it. */
    Duration write_timeout = std::chrono::seconds(60);
    /** Keep-alive wait for the next request; cli/ defaults it to read_timeout. */
    Duration idle_timeout = std::chrono::seconds(60);
    /**
     * TCP connections are accepted when their first bytes arrive
     * (TCP_DEFER_ACCEPT), or after about this long if they send nothing;
     * 0: as soon as the handshake completes.
     */
    Duration defer_accept = std::chrono::seconds(1);

    std::uint64_t max_requests_per_conn = 0;  // 0: unlimited
    std::uint64_t max_request_body_size = 4u << 20;
    /** Request line plus header fields, in bytes. */
    std::uint32_t max_header_size = 16u << 10;
    std::uint32_t max_conns_per_ip = 0;  // 0: unlimited
    /**
     * Peers (or PROXY protocol clients) whose X-Forwarded-For is believed:
     * its right-most address outside these ranges is the client for logs
     * and plugins.
     */
    std::vector<Cidr> trusted_proxies;
    bool disable_keepalive = false;

    std::string server_name = "brisk";
    bool no_server_header = false;
    bool no_date_header = false;

    std::vector<RouteConfig> routes;
    std::vector<PluginInstanceConfig> plugins;
    /** Threads that run handlers of plugins marked blocking. */
    unsigned blocking_threads = 4;
    /** Requests waiting for a blocking thread; past this they get a 503. */
    unsigned blocking_queue = 1024;

    /** Log client disconnect noise (resets, broken pipes, timeouts). */
    bool log_all_errors = false;

    /** Access log: a file appended to, "-" for the standard output, empty for none. */
    std::string access_log;
    /** "common", "combined", "json" or a template of $variables (check_access_log_format). */
    std::string access_log_format = "common";
    /** Bytes of log lines each loop may hold before lines are dropped. */
    std::uint64_t access_log_buffer = 1u << 20;

    /** TLS listeners: the certificates; SNI picks the one whose names match, the first is the default. */
    std::vector<TlsCert> tls_certs;
    /** "1.2" or "1.3": the oldest protocol offered. */
    std::string tls_min_version = "1.2";
    /** TLS 1.2 cipher list (OpenSSL syntax); empty: Mozilla's intermediate profile. */
    std::string tls_ciphers;
    /** TLS 1.3 cipher suites; empty: AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305. */
    std::string tls_ciphersuites;
    /** A TLS connection whose handshake (and first request's start) is not done by then is closed. */
    Duration tls_handshake_timeout = std::chrono::seconds(10);
    /**
     * Session-ticket keys are derived, hour by hour, from the secret in this
     * file (32 to 4096 bytes), so hosts given the same file resume each
     * other's sessions; empty: a secret made at start, shared by every loop
     * and --processes worker.
     */
    std::string tls_ticket_key_file;
    /**
     * Strict-Transport-Security on every answer over TLS: its max-age in
     * seconds; 0 = none. Plain connections never carry it (RFC 6797, 7.2).
     */
    std::uint64_t hsts_max_age = 0;
    bool hsts_include_subdomains = false;  // "; includeSubDomains"
    bool hsts_preload = false;             // "; preload"
};

/**
 * Checks an access log format: a built-in name or a template. Returns false
 * and sets `error` to a one-line reason (an unknown $variable, a stray '$').
 */
bool check_access_log_format(std::string_view format, std::string& error);

}  // namespace brisk
