#include "static/accept.hpp"

#include <catch2/catch.hpp>

using namespace brisk::files;

namespace {

Encoding pick(std::string_view field,
              unsigned available = bit(Encoding::br) | bit(Encoding::zstd) | bit(Encoding::gzip),
              unsigned preferred = 0) {
    return choose_encoding(parse_accept_encoding(field), available, preferred);
}

}  // namespace

TEST_CASE("q-values", "[static][accept]") {
    std::uint16_t q = 7;
    CHECK((parse_qvalue("1", q) && q == 1000));
    CHECK((parse_qvalue("1.0", q) && q == 1000));
    CHECK((parse_qvalue("1.000", q) && q == 1000));
    CHECK((parse_qvalue("0", q) && q == 0));
    CHECK((parse_qvalue("0.5", q) && q == 500));
    CHECK((parse_qvalue("0.25", q) && q == 250));
    CHECK((parse_qvalue("0.125", q) && q == 125));
    CHECK((parse_qvalue("0.", q) && q == 0));
    CHECK((parse_qvalue("0.001", q) && q == 1));
    for (std::string_view bad : {"", "1.001", "1.5", "2", "0.1234", ".5", "-1", "0,5", "0.5x", "a", "01"}) {
        INFO(bad);
        CHECK_FALSE(parse_qvalue(bad, q));
    }
}

TEST_CASE("Accept-Encoding parsing", "[static][accept]") {
    AcceptEncoding a = parse_accept_encoding("gzip, deflate, br, zstd");
    CHECK(a.of(Encoding::gzip) == 1000);
    CHECK(a.of(Encoding::br) == 1000);
    CHECK(a.of(Encoding::zstd) == 1000);
    CHECK(a.of(Encoding::identity) == 1);  // acceptable, least preferred

    a = parse_accept_encoding("gzip;q=0.5, br;q=0.8");
    CHECK(a.of(Encoding::gzip) == 500);
    CHECK(a.of(Encoding::br) == 800);
    CHECK(a.of(Encoding::zstd) == 0);

    a = parse_accept_encoding(" GZIP ; Q = 0.3 ,x-gzip;q=0.4");  // case, spaces, the x-gzip alias (highest wins)
    CHECK(a.of(Encoding::gzip) == 400);

    a = parse_accept_encoding("*;q=0.2, br");
    CHECK(a.of(Encoding::br) == 1000);
    CHECK(a.of(Encoding::gzip) == 200);
    CHECK(a.of(Encoding::identity) == 200);

    a = parse_accept_encoding("br, *;q=0");
    CHECK(a.of(Encoding::identity) == 0);
    a = parse_accept_encoding("br, identity;q=0");
    CHECK(a.of(Encoding::identity) == 0);
    a = parse_accept_encoding("br, identity, *;q=0");
    CHECK(a.of(Encoding::identity) == 1000);

    a = parse_accept_encoding("gzip;q=2, br;q=abc, zstd;foo=bar;q=0.7");  // malformed q: element skipped
    CHECK(a.of(Encoding::gzip) == 0);
    CHECK(a.of(Encoding::br) == 0);
    CHECK(a.of(Encoding::zstd) == 700);

    a = parse_accept_encoding("");  // no coding wanted
    CHECK(a.of(Encoding::identity) > 0);
    CHECK(a.of(Encoding::gzip) == 0);
}

TEST_CASE("choosing a coding", "[static][accept]") {
    CHECK(pick("gzip, br, zstd") == Encoding::br);  // tie: br > zstd > gzip
    CHECK(pick("gzip, zstd") == Encoding::zstd);
    CHECK(pick("gzip") == Encoding::gzip);
    CHECK(pick("gzip;q=0.5, br;q=0.4") == Encoding::gzip);
    CHECK(pick("br;q=0, gzip;q=0") == Encoding::identity);
    CHECK(pick("identity") == Encoding::identity);
    CHECK(pick("deflate, compress") == Encoding::identity);
    CHECK(pick("*") == Encoding::br);
    CHECK(pick("gzip, br", bit(Encoding::gzip)) == Encoding::gzip);  // only what is available
    CHECK(pick("br", bit(Encoding::gzip)) == Encoding::identity);
    CHECK(pick("gzip;q=0.9, identity") == Encoding::identity);  // identity's higher q wins
    CHECK(pick("gzip, identity") == Encoding::gzip);            // a tie goes to the coding
    // A precompressed sibling wins a tie over on-the-fly codings.
    CHECK(pick("gzip, br", bit(Encoding::gzip) | bit(Encoding::br), bit(Encoding::gzip)) == Encoding::gzip);
    CHECK(pick("gzip;q=0.5, br", bit(Encoding::gzip) | bit(Encoding::br), bit(Encoding::gzip)) == Encoding::br);
    // Nothing acceptable: identity, even when refused.
    CHECK(pick("identity;q=0", 0) == Encoding::identity);
}

TEST_CASE("coding names", "[static][accept]") {
    Encoding e;
    CHECK((encoding_from_name("br", e) && e == Encoding::br));
    CHECK((encoding_from_name("zst", e) && e == Encoding::zstd));
    CHECK((encoding_from_name("zstd", e) && e == Encoding::zstd));
    CHECK((encoding_from_name("gz", e) && e == Encoding::gzip));
    CHECK((encoding_from_name("gzip", e) && e == Encoding::gzip));
    CHECK_FALSE(encoding_from_name("deflate", e));
    CHECK(encoding_suffix(Encoding::zstd) == ".zst");
    CHECK(encoding_name(Encoding::zstd) == "zstd");
}
