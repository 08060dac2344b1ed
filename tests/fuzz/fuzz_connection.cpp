// brisk — fuzzes a whole connection: arbitrary bytes go to a real brisk
// server (Server, Loop, connection state machine, router, handlers) over a
// unix socket in this process, cut into a few pieces that each arrive on
// their own, then the client half-closes and reads until the server closes.
//
// Routes: a fixed answer (--respond /plaintext), the echo plugin under
// /echo/, and static files under /static/ from a small temporary folder.
// The server and its one loop thread are set up once, in
// LLVMFuzzerInitialize; each input is one connection.
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "brisk/server.hpp"
#include "fuzz_check.hpp"

#ifndef BRISK_FUZZ_PLUGIN
#error "BRISK_FUZZ_PLUGIN: path of the echo plugin"
#endif

using namespace brisk;
using Clock = std::chrono::steady_clock;

namespace {

std::string g_dir;
std::string g_socket;
Server* g_server = nullptr;  // lives as long as the process

void write_file(const std::string& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    FUZZ_CHECK(out.good());
}

void make_site() {
    char tmpl[] = "/tmp/brisk-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl) != nullptr);
    g_dir = tmpl;
    std::string site = g_dir + "/site";
    FUZZ_CHECK(mkdir(site.c_str(), 0755) == 0);
    FUZZ_CHECK(mkdir((site + "/sub").c_str(), 0755) == 0);
    FUZZ_CHECK(mkdir((site + "/empty").c_str(), 0755) == 0);
    write_file(site + "/index.html", "<!doctype html><title>brisk</title><p>index</p>\n");
    std::string text;
    for (int i = 0; i < 200; ++i) text += "line " + std::to_string(i) + " of a compressible text file\n";
    write_file(site + "/a.txt", text);
    write_file(site + "/a.txt.gz", "not really gzip, but served as the precompressed sibling");
    write_file(site + "/sub/b.css", "body { color: black }\n");
    write_file(site + "/sub/c.json", "{\"k\": [1, 2, 3]}\n");
    write_file(site + "/.hidden", "secret\n");
    write_file(site + "/bin.dat", std::string(3000, '\x01'));
}

Config make_config() {
    Config cfg;
    ListenAddress addr;
    std::string err;
    g_socket = g_dir + "/sock";
    FUZZ_CHECK(parse_listen_address("unix:" + g_socket, addr, err));
    cfg.listen = {addr};
    cfg.loops = 1;
    cfg.read_timeout = std::chrono::seconds(3);
    cfg.idle_timeout = std::chrono::seconds(3);
    cfg.write_timeout = std::chrono::seconds(3);
    cfg.max_request_body_size = 16384;
    cfg.max_header_size = 4096;
    cfg.no_date_header = true;  // the same input gives the same bytes

    RouteConfig respond;
    respond.path = "/plaintext";
    respond.body = "Hello, World!";
    respond.origin = "fuzz";

    PluginInstanceConfig echo;
    echo.name = "echo";
    echo.file = BRISK_FUZZ_PLUGIN;
    echo.origin = "fuzz";
    cfg.plugins = {echo};
    RouteConfig plugin;
    plugin.kind = RouteKind::plugin;
    plugin.path = "/echo/";
    plugin.prefix = true;
    plugin.plugin = "echo";
    plugin.origin = "fuzz";

    RouteConfig files;
    files.kind = RouteKind::static_files;
    files.path = "/static/";
    files.prefix = true;
    files.static_files.root = g_dir + "/site";
    files.static_files.listing = true;
    files.static_files.compress_max_size = 4096;
    files.origin = "fuzz";

    RouteConfig only_get = respond;
    only_get.path = "/get-only";
    only_get.methods = {"GET"};
    only_get.host = "example.com";

    cfg.routes = {respond, plugin, files, only_get};
    return cfg;
}

void cleanup() {
    if (!g_dir.empty()) {
        std::string cmd = "rm -rf '" + g_dir + "'";
        [[maybe_unused]] int rc = std::system(cmd.c_str());
    }
}

int connect_client() {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    FUZZ_CHECK(fd >= 0);
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, g_socket.c_str(), g_socket.size() + 1);
    FUZZ_CHECK(connect(fd, reinterpret_cast<sockaddr*>(&sun), sizeof sun) == 0);
    return fd;
}

// The client side of one connection: what it sent, what it read.
struct Client {
    int fd = -1;
    std::string received;
    bool eof = false;
    bool reset = false;

    // Reads what is there without waiting.
    void drain() {
        char buf[65536];
        while (!eof) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) {
                // Keep the start for the checks; the rest is only read.
                if (received.size() < (1u << 20)) received.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0)
                eof = true;
            else if (errno == ECONNRESET)
                eof = reset = true;
            return;
        }
    }

    // Waits up to `ms` for something to read.
    void wait(int ms) {
        pollfd p{fd, POLLIN, 0};
        poll(&p, 1, ms);
        drain();
    }

    // Bytes sent but not yet read by the server.
    int unread() const {
        int n = 0;
        if (ioctl(fd, SIOCOUTQ, &n) != 0) return 0;
        return n;
    }

    // Sends `piece` and waits until the server has read it (or stopped reading).
    void send_piece(std::string_view piece, Clock::time_point deadline) {
        std::size_t off = 0;
        while (off < piece.size() && !eof && Clock::now() < deadline) {
            ssize_t n = send(fd, piece.data() + off, piece.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                off += static_cast<std::size_t>(n);
                continue;
            }
            if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return;  // the server closed: fine
            wait(1);
        }
        // The server reads each piece on its own: spin briefly, then poll.
        for (int spins = 0; unread() > 0 && !eof && Clock::now() < deadline; ++spins) {
            if (spins < 200) {
                sched_yield();
                drain();
            } else {
                wait(1);
            }
        }
    }
};

// Light checks of the response stream: it is HTTP/1.1 responses or nothing.
void check_responses(const std::string& out) {
    if (out.empty()) return;
    FUZZ_CHECK(out.compare(0, 9, "HTTP/1.1 ") == 0 ||
               (out.size() < 9 && std::string_view("HTTP/1.1 ").substr(0, out.size()) == out));
    if (out.size() >= 12) {
        for (int i = 9; i < 12; ++i)
            FUZZ_CHECK(out[static_cast<std::size_t>(i)] >= '0' && out[static_cast<std::size_t>(i)] <= '9');
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);
    make_site();
    std::atexit(cleanup);
    try {
        g_server = new Server(make_config());
        g_server->listen();
        g_server->start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "brisk fuzz server: %s\n", e.what());
        std::abort();
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string_view> pieces = fuzz::split_input(data, size, 6);
    Client c;
    c.fd = connect_client();
    // Generous: only a server that never closes a half-closed connection takes this long.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (std::string_view piece : pieces) {
        c.send_piece(piece, deadline);
        if (c.eof) break;
    }
    shutdown(c.fd, SHUT_WR);
    while (!c.eof && Clock::now() < deadline) c.wait(50);
    if (!c.eof) {
        std::fprintf(stderr, "the server did not close a half-closed connection within 10 s\n");
        std::abort();
    }
    check_responses(c.received);
    if (std::getenv("BRISK_FUZZ_VERBOSE")) std::fprintf(stderr, "---\n%s\n", c.received.c_str());
    close(c.fd);
    return 0;
}
