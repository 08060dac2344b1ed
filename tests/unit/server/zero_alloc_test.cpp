// The keep-alive request path allocates nothing in steady state: every
// malloc in the process is counted while a client sends requests on
// established connections to a server running in this process.
//
// Its own executable: it replaces malloc for the whole process. Not built
// with sanitizers, which replace malloc themselves.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "brisk/server.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);

std::atomic<unsigned long> g_allocations{0};

void* malloc(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_realloc(p, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return __libc_memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    *out = __libc_memalign(align, n);
    return *out ? 0 : ENOMEM;
}
}

namespace {

// A client that allocates nothing once connected: fixed buffers, raw syscalls.
class Client {
public:
    explicit Client(std::uint16_t port) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) fd_ = -1;
        int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{5, 0};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~Client() { close(fd_); }
    bool ok() const { return fd_ >= 0; }

    // Sends `depth` requests in one write and reads the `depth` responses; true if all are 200.
    bool round(const char* request, std::size_t depth, std::size_t response_size) {
        std::size_t len = std::strlen(request);
        for (std::size_t i = 0; i < depth; ++i) std::memcpy(out_ + i * len, request, len);
        if (send(fd_, out_, len * depth, MSG_NOSIGNAL) != static_cast<ssize_t>(len * depth)) return false;
        std::size_t want = response_size * depth, got = 0;
        while (got < want) {
            ssize_t n = recv(fd_, in_ + got, sizeof in_ - got, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            got += static_cast<std::size_t>(n);
        }
        return got == want && std::memcmp(in_, "HTTP/1.1 200 OK\r\n", 17) == 0;
    }

private:
    int fd_;
    char out_[16384];
    char in_[65536];
};

}  // namespace

namespace {

// Runs a server with `cfg` on a free port and counts the allocations of 2000
// rounds of keep-alive and pipelined requests after 200 rounds of warm-up.
unsigned long steady_state_allocations(brisk::Config cfg) {
    brisk::ListenAddress addr;
    std::string err;
    REQUIRE(brisk::parse_listen_address("127.0.0.1:0", addr, err));
    cfg.listen = {addr};
    cfg.loops = 1;
    cfg.no_date_header = true;  // fixed response size; the Date cache allocates nothing either way
    brisk::RouteConfig route;
    route.path = "/plaintext";
    route.body = "Hello, World!";
    cfg.routes.insert(cfg.routes.begin(), route);
    brisk::Server server(cfg);
    server.listen();
    std::string bound = server.bound_addresses().at(0);
    auto port = static_cast<std::uint16_t>(std::stoi(bound.substr(bound.rfind(':') + 1)));
    server.start();
    REQUIRE(g_allocations.load() > 0);  // the counting malloc is the one in use

    const char* request = "GET /plaintext HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\n\r\n";
    const std::size_t response_size = std::strlen(
        "HTTP/1.1 200 OK\r\nServer: brisk\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: 13\r\n\r\nHello, World!");
    Client a(port), b(port);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    bool all_ok = true;
    for (int i = 0; i < 200; ++i) all_ok &= a.round(request, 1, response_size) && b.round(request, 16, response_size);
    REQUIRE(all_ok);  // warm: workers, buffers and pools have their steady-state size

    unsigned long before = g_allocations.load();
    for (int i = 0; i < 2000; ++i) all_ok &= a.round(request, 1, response_size) && b.round(request, 16, response_size);
    unsigned long after = g_allocations.load();

    REQUIRE(all_ok);
    server.stop();
    server.wait();
    return after - before;
}

}  // namespace

TEST_CASE("keep-alive and pipelined requests allocate nothing in steady state", "[alloc]") {
    CHECK(steady_state_allocations(brisk::Config{}) == 0);
}

TEST_CASE("with an access log and a metrics route, requests allocate nothing either", "[alloc]") {
    char dir[] = "/tmp/brisk-alloc-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    const std::string log = std::string(dir) + "/access.log";
    for (const char* format : {"combined", "json"}) {
        brisk::Config cfg;
        cfg.access_log = log;
        cfg.access_log_format = format;
        // Room for every line of the run: whether the writer thread keeps up
        // depends on the scheduler, and a dropped line is not what this counts.
        cfg.access_log_buffer = 16u << 20;
        brisk::RouteConfig metrics;
        metrics.kind = brisk::RouteKind::metrics;
        metrics.path = "/metrics";
        cfg.routes = {metrics};
        INFO(format);
        CHECK(steady_state_allocations(cfg) == 0);
        // Every request was logged: 2200 rounds of 17.
        std::FILE* f = std::fopen(log.c_str(), "r");
        REQUIRE(f != nullptr);
        unsigned long lines = 0;
        for (int c; (c = std::fgetc(f)) != EOF;) lines += c == '\n';
        std::fclose(f);
        CHECK(lines == 2200 * 17);
        std::remove(log.c_str());
    }
    rmdir(dir);
}
