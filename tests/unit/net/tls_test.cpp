#include "net/tls.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>

using brisk::tls::Context;

namespace {

bool same(const Context::TicketKey& a, const Context::TicketKey& b) {
    return std::memcmp(a.name, b.name, sizeof a.name) == 0 && std::memcmp(a.aes, b.aes, sizeof a.aes) == 0 &&
           std::memcmp(a.mac, b.mac, sizeof a.mac) == 0;
}

}  // namespace

TEST_CASE("ticket keys: the same secret and period give the same keys, anything else other keys", "[tls]") {
    std::array<unsigned char, 32> secret{};
    for (std::size_t i = 0; i < secret.size(); ++i) secret[i] = static_cast<unsigned char>(i * 7 + 1);
    std::array<unsigned char, 32> other = secret;
    other[31] ^= 1;

    const Context::TicketKey k = Context::ticket_key(secret, 491'000);
    CHECK(k.period == 491'000);
    CHECK(same(k, Context::ticket_key(secret, 491'000)));
    CHECK_FALSE(same(k, Context::ticket_key(secret, 491'001)));
    CHECK_FALSE(same(k, Context::ticket_key(other, 491'000)));
    // Name, cipher key and MAC key are three different derivations, not one value thrice.
    CHECK(std::memcmp(k.aes, k.mac, sizeof k.aes) != 0);
    CHECK(std::memcmp(k.name, k.aes, sizeof k.name) != 0);
}

TEST_CASE("kTLS: the tls ULP is found as a word of tcp_available_ulp, nothing else", "[tls]") {
    using brisk::tls::offers_kernel_tls;
    CHECK(offers_kernel_tls("tls\n"));
    CHECK(offers_kernel_tls("espintcp mptcp tls\n"));
    CHECK(offers_kernel_tls("tls mptcp"));
    CHECK_FALSE(offers_kernel_tls("mptcp\n"));
    CHECK_FALSE(offers_kernel_tls(""));
    CHECK_FALSE(offers_kernel_tls("ktls tlsx\n"));
    // The start-up line says which path static files take on this kernel.
    const std::string line = brisk::tls::static_file_path_line();
    CHECK_THAT(line, Catch::Contains("/proc/sys/net/ipv4/tcp_available_ulp") && Catch::Contains("16 KiB"));
}
