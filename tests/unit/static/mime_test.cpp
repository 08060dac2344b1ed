#include "static/mime.hpp"

#include <catch2/catch.hpp>

using namespace brisk::files;

TEST_CASE("the built-in table is sorted, lower case, without duplicates", "[static][mime]") {
    std::size_t n = 0;
    const MimeEntry* t = mime_table(n);
    REQUIRE(n > 100);
    for (std::size_t i = 0; i < n; ++i) {
        INFO(t[i].ext);
        for (char c : t[i].ext) CHECK(!(c >= 'A' && c <= 'Z'));
        if (i > 0) CHECK(t[i - 1].ext < t[i].ext);
        // Text types, and only they, carry the charset.
        CHECK(is_text_type(t[i].type) == (t[i].type.find("charset=utf-8") != std::string_view::npos));
    }
}

TEST_CASE("lookup by extension", "[static][mime]") {
    MimeTable m;
    CHECK(m.lookup("index.html").type == "text/html; charset=utf-8");
    CHECK(m.lookup("a/b/INDEX.HTM").type == "text/html; charset=utf-8");
    CHECK(m.lookup("app.js").type == "text/javascript; charset=utf-8");
    CHECK(m.lookup("app.mjs").type == "text/javascript; charset=utf-8");
    CHECK(m.lookup("data.json").type == "application/json; charset=utf-8");
    CHECK(m.lookup("style.css").type == "text/css; charset=utf-8");
    CHECK(m.lookup("readme.txt").type == "text/plain; charset=utf-8");
    CHECK(m.lookup("logo.svg").type == "image/svg+xml");
    CHECK(m.lookup("photo.JPG").type == "image/jpeg");
    CHECK(m.lookup("font.woff2").type == "font/woff2");
    CHECK(m.lookup("module.wasm").type == "application/wasm");
    CHECK(m.lookup("video.mp4").type == "video/mp4");
    CHECK(m.lookup("archive.tar.gz").type == "application/gzip");
    CHECK(m.lookup("doc.pdf").type == "application/pdf");
    CHECK(m.lookup("Makefile").type == kDefaultMime);
    CHECK(m.lookup(".bashrc").type == kDefaultMime);
    CHECK(m.lookup("x.unknownext").type == kDefaultMime);
    CHECK(m.lookup("dir.d/file").type == kDefaultMime);
    CHECK(m.lookup("x.").type == kDefaultMime);
}

TEST_CASE("compressible types", "[static][mime]") {
    MimeTable m;
    CHECK(m.lookup("a.html").compressible);
    CHECK(m.lookup("a.js").compressible);
    CHECK(m.lookup("a.svg").compressible);
    CHECK_FALSE(m.lookup("a.png").compressible);
    CHECK_FALSE(m.lookup("a.woff2").compressible);
    CHECK_FALSE(m.lookup("a.bin").compressible);
    CHECK_FALSE(m.lookup("a").compressible);
}

TEST_CASE("extra entries win and get a charset when they are text", "[static][mime]") {
    MimeTable m({{"md", "text/x-markdown"},
                 {".WASM", "application/x-wasm"},
                 {"foo", "application/foo+json"},
                 {"bar", "text/plain; charset=latin1"},
                 {"bin", "application/x-custom"}});
    CHECK(m.lookup("a.md").type == "text/x-markdown; charset=utf-8");
    CHECK(m.lookup("a.md").compressible);
    CHECK(m.lookup("a.wasm").type == "application/x-wasm");
    CHECK(m.lookup("a.foo").type == "application/foo+json; charset=utf-8");
    CHECK(m.lookup("a.bar").type == "text/plain; charset=latin1");
    CHECK(m.lookup("a.bin").type == "application/x-custom");
    CHECK(m.lookup("a.html").type == "text/html; charset=utf-8");
}
