#include "server/access_log.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "brisk/server.hpp"

using brisk::LogRing;

namespace {

std::string take(LogRing& ring) {
    const char *a, *b;
    std::size_t a_len, b_len;
    std::size_t n = ring.peek(a, a_len, b, b_len);
    std::string out(a, a_len);
    out.append(b, b_len);
    REQUIRE(out.size() == n);
    ring.consume(n);
    return out;
}

struct TempDir {
    TempDir() {
        char tmpl[] = "/tmp/brisk-alog-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string path;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_CASE("log ring: whole pushes or none, wrapping around", "[access_log]") {
    LogRing ring(10);  // rounded up to a page
    REQUIRE(ring.capacity() == 4096);
    std::string line(1000, 'a');
    line.back() = '\n';
    for (int i = 0; i < 4; ++i) CHECK(ring.push(line.data(), line.size()));
    CHECK_FALSE(ring.push(line.data(), line.size()));  // 4000 of 4096 used
    CHECK(ring.used() == 4000);
    CHECK(take(ring).size() == 4000);
    std::string other(3000, 'b');
    CHECK(ring.push(other.data(), other.size()));  // wraps past the end
    CHECK(take(ring) == other);
    CHECK(ring.used() == 0);
}

TEST_CASE("access log: lines reach the file, bad formats and files are refused", "[access_log]") {
    TempDir dir;
    brisk::Config cfg;
    cfg.access_log = dir.path + "/access.log";
    cfg.access_log_format = "$status $route";
    {
        brisk::AccessLog log(cfg, 2);
        log.start();
        brisk::AccessLogger l0(log, 0), l1(log, 1);
        brisk::alog::Record r;
        r.status = 200;
        r.route = "/a";
        l0.write(r);
        r.status = 404;
        r.route = {};
        l1.write(r);
        log.stop();
        CHECK(log.dropped() == 0);
    }
    CHECK(slurp(cfg.access_log) == "200 /a\n404 -\n");

    cfg.access_log_format = "$bogus";
    CHECK_THROWS_AS(brisk::AccessLog(cfg, 1), brisk::Error);
    cfg.access_log_format = "common";
    cfg.access_log = dir.path + "/missing/dir/access.log";
    CHECK_THROWS_WITH(brisk::AccessLog(cfg, 1), Catch::Contains("cannot open access log"));
}

TEST_CASE("access log: a full ring drops and counts lines", "[access_log]") {
    TempDir dir;
    brisk::Config cfg;
    cfg.access_log = dir.path + "/access.log";
    cfg.access_log_format = "$request";
    cfg.access_log_buffer = 4096;
    brisk::AccessLog log(cfg, 1);  // the writer is not started: nothing drains the ring
    brisk::AccessLogger logger(log, 0);
    brisk::alog::Record r;
    std::string text(99, 'x');  // 100 bytes a line
    r.raw_line = text;
    for (int i = 0; i < 50; ++i) logger.write(r);
    CHECK(log.dropped() == 50 - 40);
    log.start();
    log.stop();
    CHECK(slurp(cfg.access_log).size() == 40 * 100);
}

TEST_CASE("access log: reopen writes to a new file of the same name", "[access_log]") {
    TempDir dir;
    brisk::Config cfg;
    cfg.access_log = dir.path + "/access.log";
    cfg.access_log_format = "$status";
    brisk::AccessLog log(cfg, 1);
    log.start();
    brisk::AccessLogger logger(log, 0);
    brisk::alog::Record r;
    r.status = 201;
    logger.write(r);
    // The writer looks every 100 ms: wait for the line to land, bounded.
    for (int i = 0; i < 100 && slurp(cfg.access_log).empty(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(std::rename(cfg.access_log.c_str(), (cfg.access_log + ".1").c_str()) == 0);
    log.reopen();
    for (int i = 0; i < 100 && access(cfg.access_log.c_str(), F_OK) != 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r.status = 202;
    logger.write(r);
    log.stop();
    CHECK(slurp(cfg.access_log + ".1") == "201\n");
    CHECK(slurp(cfg.access_log) == "202\n");
}
