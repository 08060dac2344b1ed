#include "server/admission.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <thread>
#include <vector>

using brisk::PeerCounts;
using brisk::Refusal;
using brisk::refusal_answer;

namespace {
const std::uint8_t kV4a[4] = {127, 0, 0, 1};
const std::uint8_t kV4b[4] = {127, 0, 0, 2};
const std::uint8_t kV6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
}  // namespace

TEST_CASE("peer counts: each address up to its limit, slots come back on release", "[admission]") {
    PeerCounts counts;
    CHECK(counts.acquire(kV4a, 4, 2));
    CHECK(counts.acquire(kV4a, 4, 2));
    CHECK_FALSE(counts.acquire(kV4a, 4, 2));
    CHECK(counts.held(kV4a, 4) == 2);
    // Another address, and the same bytes as a different length, count apart.
    CHECK(counts.acquire(kV4b, 4, 2));
    CHECK(counts.acquire(kV6, 16, 1));
    CHECK_FALSE(counts.acquire(kV6, 16, 1));
    counts.release(kV4a, 4);
    CHECK(counts.held(kV4a, 4) == 1);
    CHECK(counts.acquire(kV4a, 4, 2));
    counts.release(kV4a, 4);
    counts.release(kV4a, 4);
    CHECK(counts.held(kV4a, 4) == 0);
    counts.release(kV4a, 4);  // nothing held: no underflow
    CHECK(counts.held(kV4a, 4) == 0);
    CHECK(counts.acquire(kV4a, 4, 1));
}

TEST_CASE("peer counts: unix clients and a limit of 0 count nothing", "[admission]") {
    PeerCounts counts;
    for (int i = 0; i < 5; ++i) CHECK(counts.acquire(nullptr, 0, 1));
    for (int i = 0; i < 5; ++i) CHECK(counts.acquire(kV4a, 4, 0));
    CHECK(counts.held(kV4a, 4) == 0);
}

TEST_CASE("peer counts: loops on several threads never pass the limit", "[admission]") {
    PeerCounts counts;
    constexpr int kThreads = 4, kTries = 1000;
    std::vector<int> got(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kTries; ++i) got[t] += counts.acquire(kV4a, 4, 10) ? 1 : 0;
        });
    for (auto& th : threads) th.join();
    int total = 0;
    for (int n : got) total += n;
    CHECK(total == 10);
    CHECK(counts.held(kV4a, 4) == 10);
}

TEST_CASE("refusals: complete answers whose Content-Length is their body's", "[admission]") {
    for (Refusal why : {Refusal::overloaded, Refusal::too_many_from_ip}) {
        const auto& a = refusal_answer(why);
        const std::string bytes(a.bytes);
        INFO(bytes);
        CHECK(bytes.rfind("HTTP/1.1 " + std::to_string(a.status) + " ", 0) == 0);
        CHECK(bytes.find("\r\nConnection: close\r\n") != std::string::npos);
        CHECK(bytes.find("\r\nContent-Length: " + std::to_string(a.body.size()) + "\r\n") != std::string::npos);
        const auto end = bytes.find("\r\n\r\n");
        REQUIRE(end != std::string::npos);
        CHECK(bytes.substr(end + 4) == a.body);
    }
    CHECK(refusal_answer(Refusal::overloaded).status == 503);
    CHECK(refusal_answer(Refusal::too_many_from_ip).status == 429);
}
