#include "brisk/static_options.hpp"

#include <catch2/catch.hpp>

#include <string>

using brisk::StaticConfig;
using brisk::static_files::find_route_option;
using brisk::static_files::Option;
using brisk::static_files::OptionKind;
using brisk::static_files::route_options;

TEST_CASE("static route options: each has the field or check its kind needs, names are unique", "[static_options]") {
    for (const Option& o : route_options()) {
        INFO(o.key);
        CHECK(find_route_option(o.key) == &o);
        CHECK_FALSE(o.expected.empty());
        switch (o.kind) {
        case OptionKind::flag:
            CHECK(o.flag != nullptr);
            break;
        case OptionKind::level:
            CHECK(o.level != nullptr);
            CHECK(o.min <= o.max);
            break;
        case OptionKind::size:
            CHECK(o.size != nullptr);
            break;
        case OptionKind::duration:
            CHECK(o.duration != nullptr);
            break;
        case OptionKind::text:
            CHECK((o.text != nullptr && o.check != nullptr));
            break;
        case OptionKind::names:
            CHECK((o.names != nullptr && o.check != nullptr));
            break;
        case OptionKind::table:
            CHECK((o.entry_name != nullptr && o.add != nullptr));
            break;
        }
    }
    CHECK(find_route_option("no_such_option") == nullptr);
    CHECK(route_options().front().key == "root");
}

TEST_CASE("static route options: the checks of names, codings and header values", "[static_options]") {
    std::string error;
    const Option& index = *find_route_option("index");
    CHECK(index.check("index.htm", error));
    for (const char* bad : {"", ".", "..", "a/b"}) {
        INFO(bad);
        CHECK_FALSE(index.check(bad, error));
        CHECK(error.find("is not a file name") != std::string::npos);
    }
    const Option& pre = *find_route_option("precompressed");
    for (const char* ok : {"br", "zst", "zstd", "gz", "gzip"}) CHECK(pre.check(ok, error));
    CHECK_FALSE(pre.check("lz4", error));
    CHECK(error == "unknown coding \"lz4\" (use \"br\", \"zst\" or \"gz\")");
    const Option& cc = *find_route_option("cache_control");
    CHECK(cc.check("max-age=60", error));
    CHECK_FALSE(cc.check("a\r\nX: y", error));
    CHECK_FALSE(find_route_option("root")->check("", error));
}

TEST_CASE("static route options: mime entries by extension, with or without the dot", "[static_options]") {
    const Option& mime = *find_route_option("mime");
    StaticConfig out;
    std::string name, error;
    REQUIRE(mime.entry_name(".webmanifest", name, error));
    CHECK(name == "webmanifest");
    REQUIRE(mime.add(out, name, "application/manifest+json", error));
    REQUIRE(out.mime.size() == 1);
    CHECK(out.mime[0].first == "webmanifest");
    CHECK_FALSE(mime.entry_name("a.b", name, error));
    CHECK_FALSE(mime.entry_name(".", name, error));
    CHECK_FALSE(mime.entry_name("x/y", name, error));
    CHECK_FALSE(mime.add(out, "js", "bad\x01", error));
    CHECK(out.mime.size() == 1);
}
