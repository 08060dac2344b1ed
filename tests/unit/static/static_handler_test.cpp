// The static-files handler, called the way a loop calls it: parsed requests
// in, replies (head lines and pieces) out; files in a temporary directory.
#include "static/static_handler.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "brisk/server.hpp"
#include "http/parser.hpp"
#include "server/connection.hpp"
#include "server/router.hpp"

namespace fs = std::filesystem;
using brisk::Reply;
using brisk::Segment;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/brisk-static-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    void write(const std::string& rel, const std::string& data) const {
        fs::create_directories((path / rel).parent_path());
        std::ofstream(path / rel, std::ios::binary) << data;
    }
};

struct Answer {
    std::uint16_t status = 0;
    std::string headers;
    std::string body;
    std::uint64_t length = 0;      // what Content-Length would say
    bool borrowed_fd = false;      // a file piece borrowing a cached descriptor
    bool borrowed_memory = false;  // a ref piece borrowing cached bytes or a mapping
    bool declined = false;

    std::string header(std::string_view name) const {
        std::string needle = std::string(name) + ": ";
        std::size_t at = 0;
        while (at < headers.size()) {
            std::size_t eol = headers.find("\r\n", at);
            std::string line = headers.substr(at, eol - at);
            if (line.size() >= needle.size() && strncasecmp(line.c_str(), needle.c_str(), needle.size()) == 0)
                return line.substr(needle.size());
            at = eol + 2;
        }
        return "<none>";
    }
};

class Site {
public:
    explicit Site(brisk::StaticConfig sc, std::string prefix = "/", unsigned loops = 1) {
        brisk::RouteConfig r;
        r.kind = brisk::RouteKind::static_files;
        r.path = std::move(prefix);
        r.prefix = true;
        r.static_files = std::move(sc);
        cfg_.loops = loops;
        cfg_.routes.push_back(r);
        router_ = std::make_unique<brisk::Router>(cfg_);
    }

    Answer run(std::string_view method, std::string_view target, std::string extra = {}, unsigned loop = 0) {
        raw_ = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
        brisk::http::Request req;
        brisk::http::HeadResult hr = brisk::http::parse_head(raw_.data(), raw_.size(), 65536, req);
        REQUIRE(hr.kind == brisk::http::HeadResult::complete);
        Answer a;
        std::size_t cursor = 0;
        brisk::Handler* h = router_->match(req, cursor);
        if (!h) {
            a.declined = true;
            return a;
        }
        brisk::HandlerCall call{req, reply_, conn_, loop};
        brisk::Outcome o = h->handle(call);
        if (o == brisk::Outcome::decline) {
            a.declined = true;
            reply_.reset();
            return a;
        }
        REQUIRE(o == brisk::Outcome::done);
        REQUIRE(reply_.kind == Reply::Kind::built);
        a.status = reply_.status;
        a.headers.assign(reply_.headers.data() ? reply_.headers.data() : "", reply_.headers_len);
        a.length = reply_.body_size();
        if (method != "HEAD") {
            for (const Segment& p : reply_.pieces) {
                switch (p.kind) {
                case Segment::Kind::bytes:
                    a.body.append(reply_.body.data() + p.pos, p.len);
                    break;
                case Segment::Kind::ref:
                    a.body.append(reinterpret_cast<const char*>(p.pos), p.len);
                    a.borrowed_memory = a.borrowed_memory || p.release != nullptr;
                    break;
                case Segment::Kind::file: {
                    std::string buf(p.len, '\0');
                    REQUIRE(::pread(p.fd, buf.data(), p.len, static_cast<off_t>(p.pos)) == static_cast<ssize_t>(p.len));
                    a.body += buf;
                    a.borrowed_fd = a.borrowed_fd || p.release != nullptr;
                    break;
                }
                }
            }
        }
        reply_.reset();  // releases the pieces, as the output does once sent
        return a;
    }

    Answer get(std::string_view target, std::string extra = {}) { return run("GET", target, std::move(extra)); }

private:
    brisk::Config cfg_;
    std::unique_ptr<brisk::Router> router_;
    std::string raw_;
    Reply reply_;
    brisk::Conn conn_;
};

brisk::StaticConfig config(const TempDir& d) {
    brisk::StaticConfig sc;
    sc.root = d.path.string();
    return sc;
}

std::string gunzip(const std::string& in) {
    z_stream zs{};
    REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
    std::string out(1 << 22, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    REQUIRE(inflate(&zs, Z_FINISH) == Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return out;
}

std::string text_of(std::size_t n) {
    std::string s;
    while (s.size() < n) s += "brisk serves static files; line " + std::to_string(s.size()) + "\n";
    s.resize(n);
    return s;
}

}  // namespace

TEST_CASE("GET and HEAD of a file", "[static][handler]") {
    TempDir d;
    d.write("hello.txt", "Hello, static!\n");
    Site site(config(d));
    Answer a = site.get("/hello.txt");
    CHECK(a.status == 200);
    CHECK(a.body == "Hello, static!\n");
    CHECK(a.header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(a.header("Accept-Ranges") == "bytes");
    CHECK(a.header("ETag").front() == '"');
    CHECK(a.header("Last-Modified").size() == 29);
    CHECK(a.header("Vary") == "<none>");  // too small to compress, no siblings
    Answer h = site.run("HEAD", "/hello.txt");
    CHECK(h.status == 200);
    CHECK(h.length == 15);
    CHECK(h.body.empty());
    CHECK(h.header("ETag") == a.header("ETag"));
    // The query string plays no part.
    CHECK(site.get("/hello.txt?v=3").body == "Hello, static!\n");
}

TEST_CASE("methods other than GET and HEAD get 405 with Allow", "[static][handler]") {
    TempDir d;
    d.write("a.txt", "a");
    Site site(config(d));
    for (std::string_view m : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
        Answer a = site.run(m, "/a.txt");
        CHECK(a.status == 405);
        CHECK(a.header("Allow") == "GET, HEAD");
    }
}

TEST_CASE("not found, bad paths, dotfiles", "[static][handler]") {
    TempDir d;
    d.write("a.txt", "a");
    d.write(".env", "SECRET=1");
    d.write(".git/config", "x");
    d.write("sub/.hidden", "h");
    Site site(config(d));
    CHECK(site.get("/nope").status == 404);
    CHECK(site.get("/nope").body == "Not Found\n");
    CHECK(site.get("/nope").header("Content-Type") == "text/plain; charset=utf-8");
    CHECK(site.get("/a.txt/").status == 404);  // a file is no directory
    CHECK(site.get("/.env").status == 404);
    CHECK(site.get("/%2eenv").status == 404);
    CHECK(site.get("/.git/config").status == 404);
    CHECK(site.get("/sub/.hidden").status == 404);
    CHECK(site.get("/a%00.txt").status == 400);
    CHECK(site.get("/a%zz").status == 400);
    CHECK(site.get("/a%2f..%2fa.txt").status == 404);

    auto sc = config(d);
    sc.dotfiles = true;
    Site open(sc);
    CHECK(open.get("/.env").body == "SECRET=1");
    CHECK(open.get("/sub/.hidden").body == "h");
}

TEST_CASE("traversal never leaves the root", "[static][handler]") {
    TempDir outside;
    outside.write("secret.txt", "top secret");
    TempDir d;
    d.write("www/index.html", "<p>home</p>");
    d.write("www/sub/file.txt", "file");
    fs::create_symlink(outside.path / "secret.txt", d.path / "www" / "link-out.txt");
    fs::create_symlink(outside.path, d.path / "www" / "dir-out");
    fs::create_symlink(d.path / "www" / "sub" / "file.txt", d.path / "www" / "link-in.txt");
    fs::create_symlink("../secret-sibling.txt", d.path / "www" / "rel-out.txt");
    d.write("secret-sibling.txt", "sibling secret");
    auto sc = config(d);
    sc.root = (d.path / "www").string();
    Site site(sc);
    for (std::string_view t : {"/../secret-sibling.txt", "/%2e%2e/secret-sibling.txt", "/sub/../../secret-sibling.txt",
                               "/..%2fsecret-sibling.txt", "/%2e%2e%2fsecret-sibling.txt", "/..\\secret-sibling.txt",
                               "/%252e%252e/secret-sibling.txt", "/%c0%ae%c0%ae/secret-sibling.txt", "/link-out.txt",
                               "/dir-out/secret.txt", "/rel-out.txt"}) {
        INFO(t);
        Answer a = site.get(t);
        CHECK(a.status == 404);
        CHECK(a.body.find("secret") == std::string::npos);
    }
    CHECK(site.get("/link-in.txt").body == "file");  // a symlink that stays inside is fine
    CHECK(site.get("/sub/../sub/./file.txt").body == "file");

    sc.follow_symlinks = true;
    Site follow(sc);
    CHECK(follow.get("/link-out.txt").body == "top secret");
    CHECK(follow.get("/dir-out/secret.txt").body == "top secret");
    CHECK(follow.get("/../secret-sibling.txt").status == 404);  // ".." still cannot climb
}

TEST_CASE("directories: redirect, index, listing, 403", "[static][handler]") {
    TempDir d;
    d.write("docs/index.html", "<h1>docs</h1>");
    d.write("empty/.keep", "");
    d.write("list/b.txt", "bb");
    d.write("list/A <&> \"q\".txt", "x");
    d.write("list/zdir/f", "f");
    d.write("list/.secret", "s");
    Site site(config(d));
    Answer r = site.get("/docs");
    CHECK(r.status == 301);
    CHECK(r.header("Location") == "/docs/");
    CHECK(site.get("/docs?x=1").header("Location") == "/docs/?x=1");
    CHECK(site.get("/a/../docs").header("Location") == "/docs/");
    Answer i = site.get("/docs/");
    CHECK(i.status == 200);
    CHECK(i.body == "<h1>docs</h1>");
    CHECK(i.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(site.get("/empty/").status == 403);
    CHECK(site.get("/list/").status == 403);
    CHECK(site.get("/").status == 403);

    auto sc = config(d);
    sc.listing = true;
    Site listing(sc);
    Answer l = listing.get("/list/");
    CHECK(l.status == 200);
    CHECK(l.header("Content-Type") == "text/html; charset=utf-8");
    CHECK(l.body.find("A &lt;&amp;&gt; &quot;q&quot;.txt") != std::string::npos);
    CHECK(l.body.find("href=\"./A%20%3C&amp;%3E%20%22q%22.txt\"") != std::string::npos);
    CHECK(l.body.find("<A ") == std::string::npos);
    CHECK(l.body.find(".secret") == std::string::npos);
    CHECK(l.body.find("href=\"../\"") != std::string::npos);
    // Directories first, then names case-folded.
    std::size_t zdir = l.body.find("zdir/"), a = l.body.find("A &lt;"), b = l.body.find(">b.txt<");
    CHECK(zdir < a);
    CHECK(a < b);
    CHECK(listing.get("/docs/").body == "<h1>docs</h1>");  // an index wins over the listing
    Answer root = listing.get("/");
    CHECK(root.status == 200);
    CHECK(root.body.find("href=\"../\"") == std::string::npos);

    sc.index = {"home.htm", "index.html"};
    d.write("docs/home.htm", "home");
    Site custom(sc);
    CHECK(custom.get("/docs/").body == "home");
}

TEST_CASE("a route under a prefix", "[static][handler]") {
    TempDir d;
    d.write("a.txt", "a");
    d.write("sub/index.html", "i");
    Site site(config(d), "/static/");
    CHECK(site.get("/static/a.txt").body == "a");
    CHECK(site.get("/static/sub").header("Location") == "/static/sub/");
    CHECK(site.get("/static/sub/").body == "i");
    CHECK(site.get("/static/../static/a.txt").body == "a");
    Site bare(config(d), "/s");
    CHECK(bare.get("/s").header("Location") == "/s/");
    CHECK(bare.get("/s/a.txt").body == "a");
    CHECK(bare.get("/sa.txt").declined);
}

TEST_CASE("conditional requests", "[static][handler]") {
    TempDir d;
    d.write("a.txt", "content");
    Site site(config(d));
    Answer a = site.get("/a.txt");
    std::string etag = a.header("ETag"), lm = a.header("Last-Modified");
    Answer nm = site.get("/a.txt", "If-None-Match: " + etag + "\r\n");
    CHECK(nm.status == 304);
    CHECK(nm.length == 0);
    CHECK(nm.header("ETag") == etag);
    CHECK(site.get("/a.txt", "If-None-Match: \"x\", W/" + etag + "\r\n").status == 304);
    CHECK(site.get("/a.txt", "If-None-Match: \"x\"\r\n").status == 200);
    CHECK(site.get("/a.txt", "If-Modified-Since: " + lm + "\r\n").status == 304);
    CHECK(site.get("/a.txt", "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n").status == 200);
    CHECK(site.get("/a.txt", "If-Match: " + etag + "\r\n").status == 200);
    Answer pf = site.get("/a.txt", "If-Match: \"nope\"\r\n");
    CHECK(pf.status == 412);
    CHECK(site.get("/a.txt", "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n").status == 412);
    CHECK(site.get("/a.txt", "If-Unmodified-Since: " + lm + "\r\n").status == 200);

    auto sc = config(d);
    sc.etag = false;
    Site plain(sc);
    Answer n = plain.get("/a.txt");
    CHECK(n.header("ETag") == "<none>");
    CHECK(plain.get("/a.txt", "If-None-Match: " + etag + "\r\n").status == 200);
}

TEST_CASE("ranges", "[static][handler]") {
    TempDir d;
    std::string data;
    for (int i = 0; i < 1000; ++i) data += static_cast<char>('a' + i % 26);
    d.write("r.bin", data);
    Site site(config(d));
    Answer a = site.get("/r.bin", "Range: bytes=10-19\r\n");
    CHECK(a.status == 206);
    CHECK(a.body == data.substr(10, 10));
    CHECK(a.header("Content-Range") == "bytes 10-19/1000");
    CHECK(site.get("/r.bin", "Range: bytes=-5\r\n").body == data.substr(995));
    CHECK(site.get("/r.bin", "Range: bytes=990-\r\n").body == data.substr(990));
    CHECK(site.get("/r.bin", "Range: bytes=990-5000\r\n").header("Content-Range") == "bytes 990-999/1000");
    Answer u = site.get("/r.bin", "Range: bytes=1000-\r\n");
    CHECK(u.status == 416);
    CHECK(u.header("Content-Range") == "bytes */1000");
    CHECK(site.get("/r.bin", "Range: bytes=x\r\n").status == 200);  // ignored

    std::string etag = site.get("/r.bin").header("ETag");
    CHECK(site.get("/r.bin", "Range: bytes=0-1\r\nIf-Range: " + etag + "\r\n").status == 206);
    Answer stale = site.get("/r.bin", "Range: bytes=0-1\r\nIf-Range: \"old\"\r\n");
    CHECK(stale.status == 200);
    CHECK(stale.body == data);

    Answer m = site.get("/r.bin", "Range: bytes=0-4, 100-104\r\n");
    CHECK(m.status == 206);
    std::string ct = m.header("Content-Type");
    REQUIRE(ct.rfind("multipart/byteranges; boundary=", 0) == 0);
    std::string boundary = ct.substr(std::strlen("multipart/byteranges; boundary="));
    std::string want = "--" + boundary +
                       "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-4/1000\r\n\r\n" +
                       data.substr(0, 5) + "\r\n--" + boundary +
                       "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 100-104/1000\r\n\r\n" +
                       data.substr(100, 5) + "\r\n--" + boundary + "--\r\n";
    CHECK(m.body == want);
    Answer mh = site.run("HEAD", "/r.bin", "Range: bytes=0-4, 100-104\r\n");
    CHECK(mh.length == want.size());

    auto sc = config(d);
    sc.ranges = false;
    Site off(sc);
    Answer o = off.get("/r.bin", "Range: bytes=0-1\r\n");
    CHECK(o.status == 200);
    CHECK(o.header("Accept-Ranges") == "<none>");
}

TEST_CASE("mid-size files go out from a mapping, large ones by sendfile", "[static][handler]") {
    TempDir d;
    std::string mid(300000, '\0');
    for (std::size_t i = 0; i < mid.size(); ++i) mid[i] = static_cast<char>(i * 7 % 251);
    d.write("mid.bin", mid);
    std::string big(9u << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 13 % 253);
    d.write("big.bin", big);
    d.write("small.bin", mid.substr(0, 20000));
    Site site(config(d));
    Answer s = site.get("/small.bin");
    CHECK(s.borrowed_memory);  // in memory, over the copy limit: by reference
    CHECK(s.body == mid.substr(0, 20000));
    Answer m = site.get("/mid.bin");
    CHECK(m.status == 200);
    CHECK(m.borrowed_memory);
    CHECK_FALSE(m.borrowed_fd);
    CHECK(m.body == mid);
    Answer r = site.get("/mid.bin", "Range: bytes=100000-100099, 299990-\r\n");
    CHECK(r.status == 206);
    CHECK(r.body.find(mid.substr(100000, 100)) != std::string::npos);
    CHECK(r.body.find(mid.substr(299990)) != std::string::npos);
    Answer b = site.get("/big.bin");
    CHECK(b.status == 200);
    CHECK(b.borrowed_fd);
    CHECK(b.length == big.size());
    CHECK(b.body == big);
    Answer br = site.get("/big.bin", "Range: bytes=-10\r\n");
    CHECK(br.borrowed_fd);
    CHECK(br.body == big.substr(big.size() - 10));
}

TEST_CASE("the cache serves until its duration is over, then revalidates", "[static][handler]") {
    TempDir d;
    d.write("a.txt", "one");
    auto sc = config(d);
    sc.cache_duration = std::chrono::milliseconds(300);
    Site site(sc);
    CHECK(site.get("/a.txt").body == "one");
    d.write("a.txt", "two!");
    CHECK(site.get("/a.txt").body == "one");  // cached: no stat
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    CHECK(site.get("/a.txt").body == "two!");
    fs::remove(d.path / "a.txt");
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    CHECK(site.get("/a.txt").status == 404);

    sc.cache_duration = std::chrono::milliseconds(0);  // revalidate every time
    Site eager(sc);
    d.write("b.txt", "1");
    CHECK(eager.get("/b.txt").body == "1");
    d.write("b.txt", "22");
    CHECK(eager.get("/b.txt").body == "22");
    // A new index file is seen: the directory changed.
    d.write("dir/index.htm", "htm");
    sc.index = {"index.html", "index.htm"};
    Site idx(sc);
    CHECK(idx.get("/dir/").body == "htm");
    d.write("dir/index.html", "html");
    CHECK(idx.get("/dir/").body == "html");
}

TEST_CASE("on-the-fly compression, cached, never for ranges", "[static][handler]") {
    TempDir d;
    std::string text = text_of(20000);
    d.write("page.html", text);
    d.write("small.txt", "tiny");
    d.write("img.png", std::string(5000, 'x'));
    Site site(config(d));
    Answer g = site.get("/page.html", "Accept-Encoding: gzip\r\n");
    CHECK(g.status == 200);
    CHECK(g.header("Content-Encoding") == "gzip");
    CHECK(g.header("Vary") == "Accept-Encoding");
    CHECK(g.body.size() < text.size());
    CHECK(gunzip(g.body) == text);
    std::string gz_etag = g.header("ETag");
    CHECK(gz_etag != site.get("/page.html").header("ETag"));
    CHECK(site.get("/page.html", "Accept-Encoding: gzip\r\nIf-None-Match: " + gz_etag + "\r\n").status == 304);

    Answer z = site.get("/page.html", "Accept-Encoding: zstd, gzip;q=0.5\r\n");
    CHECK(z.header("Content-Encoding") == "zstd");
    std::string back(text.size(), '\0');
    CHECK(ZSTD_decompress(back.data(), back.size(), z.body.data(), z.body.size()) == text.size());
    CHECK(back == text);

    Answer b = site.get("/page.html", "Accept-Encoding: gzip, deflate, br, zstd\r\n");
    CHECK(b.header("Content-Encoding") == "br");
    CHECK(b.body.size() < text.size());

    Answer plain = site.get("/page.html");
    CHECK(plain.header("Content-Encoding") == "<none>");
    CHECK(plain.header("Vary") == "Accept-Encoding");
    CHECK(plain.body == text);
    Answer ranged = site.get("/page.html", "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n");
    CHECK(ranged.status == 206);
    CHECK(ranged.header("Content-Encoding") == "<none>");
    CHECK(ranged.body == text.substr(0, 10));
    CHECK(site.get("/small.txt", "Accept-Encoding: gzip\r\n").header("Content-Encoding") == "<none>");
    CHECK(site.get("/img.png", "Accept-Encoding: gzip\r\n").header("Content-Encoding") == "<none>");
    CHECK(site.get("/page.html", "Accept-Encoding: gzip;q=0\r\n").header("Content-Encoding") == "<none>");

    auto sc = config(d);
    sc.compress = false;
    Site off(sc);
    CHECK(off.get("/page.html", "Accept-Encoding: gzip\r\n").header("Content-Encoding") == "<none>");
    sc.compress = true;
    sc.compress_max_size = 1000;
    Site capped(sc);
    CHECK(capped.get("/page.html", "Accept-Encoding: gzip\r\n").header("Content-Encoding") == "<none>");
}

TEST_CASE("the compressed copy follows the file", "[static][handler]") {
    TempDir d;
    d.write("a.css", text_of(5000));
    auto sc = config(d);
    sc.cache_duration = std::chrono::milliseconds(0);
    Site site(sc);
    CHECK(gunzip(site.get("/a.css", "Accept-Encoding: gzip\r\n").body) == text_of(5000));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    d.write("a.css", text_of(7000));
    CHECK(gunzip(site.get("/a.css", "Accept-Encoding: gzip\r\n").body) == text_of(7000));
}

TEST_CASE("compressed copies in a cache folder", "[static][handler]") {
    TempDir d, cache;
    std::string text = text_of(200000);
    d.write("big.js", text);
    auto sc = config(d);
    sc.compress_cache = cache.path.string();
    {
        Site site(sc);
        CHECK(gunzip(site.get("/big.js", "Accept-Encoding: gzip\r\n").body) == text);
    }
    std::size_t files = 0;
    for (const auto& f : fs::directory_iterator(cache.path)) {
        ++files;
        CHECK(f.path().extension() == ".gz");
    }
    CHECK(files == 1);
    Site again(sc);  // another process or loop finds it
    CHECK(gunzip(again.get("/big.js", "Accept-Encoding: gzip\r\n").body) == text);
}

TEST_CASE("precompressed siblings", "[static][handler]") {
    TempDir d;
    d.write("app.js", "console.log('plain');");
    d.write("app.js.gz", "GZIP-BYTES");
    d.write("app.js.br", "BR-BYTES");
    d.write("only.svg", "<svg/>");
    d.write("only.svg.zst", "ZSTD-BYTES");
    Site site(config(d));
    Answer br = site.get("/app.js", "Accept-Encoding: gzip, br\r\n");
    CHECK(br.body == "BR-BYTES");
    CHECK(br.header("Content-Encoding") == "br");
    CHECK(br.header("Content-Type") == "text/javascript; charset=utf-8");
    CHECK(br.header("Vary") == "Accept-Encoding");
    Answer gz = site.get("/app.js", "Accept-Encoding: gzip, br;q=0.5\r\n");
    CHECK(gz.body == "GZIP-BYTES");
    CHECK(gz.header("Content-Encoding") == "gzip");
    CHECK(site.get("/app.js").body == "console.log('plain');");
    CHECK(site.get("/app.js").header("Vary") == "Accept-Encoding");
    CHECK(site.get("/only.svg", "Accept-Encoding: zstd\r\n").body == "ZSTD-BYTES");
    CHECK(site.get("/only.svg", "Accept-Encoding: gzip\r\n").body == "<svg/>");  // too small for on-the-fly
    // The sibling itself is a plain file.
    Answer raw = site.get("/app.js.gz");
    CHECK(raw.header("Content-Type") == "application/gzip");
    CHECK(raw.header("Content-Encoding") == "<none>");
    auto sc = config(d);
    sc.precompressed = {"gz"};
    Site gz_only(sc);
    CHECK(gz_only.get("/app.js", "Accept-Encoding: br, gzip\r\n").body == "GZIP-BYTES");
}

TEST_CASE("extra MIME types and Cache-Control", "[static][handler]") {
    TempDir d;
    d.write("notes.md", "# hi");
    d.write("data.custom", "x");
    auto sc = config(d);
    sc.mime = {{"custom", "application/x-custom"}, {"md", "text/x-notes"}};
    sc.cache_control = "max-age=60";
    Site site(sc);
    CHECK(site.get("/data.custom").header("Content-Type") == "application/x-custom");
    CHECK(site.get("/notes.md").header("Content-Type") == "text/x-notes; charset=utf-8");
    CHECK(site.get("/notes.md").header("Cache-Control") == "max-age=60");
    std::string etag = site.get("/notes.md").header("ETag");
    CHECK(site.get("/notes.md", "If-None-Match: " + etag + "\r\n").header("Cache-Control") == "max-age=60");
}

TEST_CASE("a root that cannot be served is refused at start-up", "[static][handler]") {
    brisk::StaticConfig sc;
    sc.root = "/nonexistent/brisk-static-root";
    CHECK_THROWS_AS(Site(sc), brisk::Error);
    TempDir d;
    d.write("file", "x");
    sc.root = (d.path / "file").string();
    CHECK_THROWS_AS(Site(sc), brisk::Error);
}
