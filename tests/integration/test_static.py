"""Static files: --root, --static, [[route]] static tables and the default
route; path safety, conditional and range requests (checked byte for byte),
directories, precompressed and compressed variants, the open-file cache."""

import email.parser
import email.policy
import email.utils
import gzip
import hashlib
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from brisk_harness import BriskTestCase, curl, get, parse_curl_head, request, run_brisk

SITE = None       # the temporary tree: SITE/www is served, SITE/outside is not
WWW = None
SECRET = b"TOP SECRET outside the root"


def setUpModule():
    global SITE, WWW
    SITE = tempfile.mkdtemp(prefix="brisk-static-")
    WWW = os.path.join(SITE, "www")
    rnd = random.Random(4)

    def write(rel, data):
        path = os.path.join(WWW, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    os.makedirs(os.path.join(SITE, "outside"))
    with open(os.path.join(SITE, "outside", "secret.txt"), "wb") as f:
        f.write(SECRET)
    with open(os.path.join(SITE, "secret.txt"), "wb") as f:
        f.write(SECRET)
    write("hello.txt", "Hello, static!\n")
    write("empty.txt", b"")
    write("data.bin", bytes(rnd.getrandbits(8) for _ in range(100000)))
    write("big.bin", os.urandom(3 << 20))
    text = "".join("<p>brisk serves static files, line %d</p>\n" % i for i in range(2000))
    write("page.html", text)
    write("style.css", "body { color: #222 }\n" * 50)
    write("app.js", "console.log('plain');\n" * 40)
    write("app.js.gz", gzip.compress(b"console.log('from the .gz sibling');\n" * 40))
    write("app.js.br", b"BROTLI-SIBLING-BYTES")
    write("img.png", b"\x89PNG\r\n\x1a\n" + bytes(rnd.getrandbits(8) for _ in range(3000)))
    write("data.json", '{"a": 1}')
    write("pic.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>")
    write("mod.wasm", b"\0asm\1\0\0\0")
    write("noext", "no extension")
    write("sub/index.html", "<h1>sub index</h1>\n")
    write("nodex/x.txt", "x")
    write("nodex/a <b>&'\".txt", "tricky")
    write("nodex/B.txt", "B")
    write("nodex/zdir/inner.txt", "inner")
    write("nodex/.hidden", "h")
    write("sp ace.txt", "space")
    write("caf\u00e9.txt", "accent")
    write(".env", "SECRET=1")
    write(".git/config", "[core]")
    os.symlink("hello.txt", os.path.join(WWW, "link-in.txt"))
    os.symlink(os.path.join(SITE, "outside", "secret.txt"), os.path.join(WWW, "link-out.txt"))
    os.symlink(os.path.join(SITE, "outside"), os.path.join(WWW, "link-out-dir"))
    os.symlink("../secret.txt", os.path.join(WWW, "rel-out.txt"))


def tearDownModule():
    shutil.rmtree(SITE, ignore_errors=True)


def content(rel):
    with open(os.path.join(WWW, rel), "rb") as f:
        return f.read()


def http_date(path):
    return email.utils.formatdate(int(os.stat(path).st_mtime), usegmt=True)


class StaticCase(BriskTestCase):
    def fetch(self, srv, target, headers=(), method="GET", version="HTTP/1.1"):
        with srv.connect() as c:
            c.send(request(method, target, headers=headers, version=version))
            return c.read_response(head=(method == "HEAD"))

    def serve(self, *args, config=None):
        return self.start(*args, config=config)


class PathSafetyTest(StaticCase):
    def setUp(self):
        self.srv = self.serve("--root", WWW)

    def test_traversal_attempts_never_leave_the_root(self):
        targets = [
            "/../secret.txt", "/../outside/secret.txt", "/../../../../etc/passwd",
            "/%2e%2e/secret.txt", "/%2E%2E/outside/secret.txt", "/.%2e/secret.txt",
            "/%2e%2e%2fsecret.txt", "/..%2fsecret.txt", "/..%2Foutside%2Fsecret.txt",
            "/..%5csecret.txt", "/..\\secret.txt", "/..\\..\\secret.txt",
            "/%252e%252e/secret.txt", "/%252e%252e%252fsecret.txt",
            "/%c0%ae%c0%ae/secret.txt", "/%c0%ae%c0%ae%c0%afsecret.txt", "/%e0%80%ae%e0%80%ae/secret.txt",
            "/sub/../../secret.txt", "/sub/%2e%2e/%2e%2e/secret.txt", "/./../secret.txt",
            "//../secret.txt", "/sub//..//..//secret.txt",
            "/link-out.txt", "/link-out-dir/secret.txt", "/rel-out.txt",
            "http://x/../secret.txt",
        ]
        for target in targets:
            with self.subTest(target=target):
                r = self.fetch(self.srv, target)
                self.assertIn(r.status, (400, 404), (target, r))
                self.assertNotIn(b"SECRET", r.body)
        self.assert_still_serving(self.srv)

    def test_nul_and_bad_escapes_are_400(self):
        for target in ("/hello.txt%00", "/hello.txt%00.html", "/%00", "/%", "/a%4", "/%zz", "/a%g1b"):
            with self.subTest(target=target):
                r = self.fetch(self.srv, target)
                self.assertEqual(r.status, 400, (target, r))
                self.assertEqual(r.body, b"Bad Request\n")

    def test_decoding_happens_once(self):
        self.assertEqual(self.fetch(self.srv, "/sp%20ace.txt").body, b"space")
        self.assertEqual(self.fetch(self.srv, "/caf%C3%A9.txt").body, b"accent")
        self.assertEqual(self.fetch(self.srv, "/%68ello.txt").body, b"Hello, static!\n")
        self.assertEqual(self.fetch(self.srv, "/sub/%2e%2e/hello.txt").body, b"Hello, static!\n")
        # Double-encoded stays literal: "%2568" is the name "%68ello.txt", which does not exist.
        self.assertEqual(self.fetch(self.srv, "/%2568ello.txt").status, 404)

    def test_dot_segments_inside_the_root(self):
        for target in ("/sub/../hello.txt", "/./hello.txt", "//hello.txt", "/sub/./../hello.txt",
                       "/nodex/zdir/../../hello.txt"):
            with self.subTest(target=target):
                r = self.fetch(self.srv, target)
                self.assertEqual((r.status, r.body), (200, b"Hello, static!\n"))

    def test_symlinks_inside_the_root_are_followed(self):
        self.assertEqual(self.fetch(self.srv, "/link-in.txt").body, b"Hello, static!\n")

    def test_dotfiles_are_hidden(self):
        for target in ("/.env", "/.git/config", "/%2eenv", "/.git/", "/nodex/.hidden", "/.git"):
            with self.subTest(target=target):
                r = self.fetch(self.srv, target)
                self.assertEqual(r.status, 404, (target, r))
                self.assertNotIn(b"SECRET", r.body)

    def test_not_found_and_forbidden_are_small_plain(self):
        r = self.fetch(self.srv, "/nope.txt")
        self.assertEqual((r.status, r.body), (404, b"Not Found\n"))
        self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8")
        r = self.fetch(self.srv, "/nodex/")
        self.assertEqual((r.status, r.body), (403, b"Forbidden\n"))
        self.assertEqual(self.fetch(self.srv, "/hello.txt/").status, 404)


class SymlinkPolicyTest(StaticCase):
    def test_follow_symlinks_and_dotfiles_when_allowed(self):
        srv = self.serve(config='[[route]]\nprefix = "/"\nstatic = { root = "%s", follow_symlinks = true, '
                                'dotfiles = true }\n' % WWW)
        self.assertEqual(self.fetch(srv, "/link-out.txt").body, SECRET)
        self.assertEqual(self.fetch(srv, "/link-out-dir/secret.txt").body, SECRET)
        self.assertEqual(self.fetch(srv, "/../secret.txt").status, 404)  # ".." still never climbs
        self.assertEqual(self.fetch(srv, "/.env").body, b"SECRET=1")


class ResponsesTest(StaticCase):
    def setUp(self):
        self.srv = self.serve("--root", WWW)

    def test_get_and_head(self):
        r = self.fetch(self.srv, "/hello.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"Hello, static!\n")
        self.assertEqual(r.header("content-type"), "text/plain; charset=utf-8")
        self.assertEqual(r.header("content-length"), "15")
        self.assertEqual(r.header("accept-ranges"), "bytes")
        self.assertEqual(r.header("last-modified"), http_date(os.path.join(WWW, "hello.txt")))
        etag = r.header("etag")
        self.assertRegex(etag, r'^"[^"]+"$')  # strong
        h = self.fetch(self.srv, "/hello.txt", method="HEAD")
        self.assertEqual(h.status, 200)
        self.assertEqual(h.body, b"")
        for name in ("content-type", "content-length", "etag", "last-modified", "accept-ranges"):
            self.assertEqual(h.header(name), r.header(name), name)
        e = self.fetch(self.srv, "/empty.txt")
        self.assertEqual((e.status, e.body, e.header("content-length")), (200, b"", "0"))

    def test_content_types(self):
        want = {
            "/page.html": "text/html; charset=utf-8",
            "/style.css": "text/css; charset=utf-8",
            "/app.js": "text/javascript; charset=utf-8",
            "/data.json": "application/json; charset=utf-8",
            "/pic.svg": "image/svg+xml",
            "/img.png": "image/png",
            "/mod.wasm": "application/wasm",
            "/data.bin": "application/octet-stream",
            "/noext": "application/octet-stream",
            "/app.js.gz": "application/gzip",
            "/sub/": "text/html; charset=utf-8",
        }
        for target, ctype in want.items():
            with self.subTest(target=target):
                self.assertEqual(self.fetch(self.srv, target).header("content-type"), ctype)

    def test_other_methods_are_405(self):
        for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                r = self.fetch(self.srv, "/hello.txt", method=method,
                               headers=[("Content-Length", "0")])
                self.assertEqual(r.status, 405)
                self.assertEqual(r.header("allow"), "GET, HEAD")
                self.assertEqual(r.body, b"Method Not Allowed\n")

    def test_conditional_requests(self):
        path = os.path.join(WWW, "hello.txt")
        r = self.fetch(self.srv, "/hello.txt")
        etag, lm = r.header("etag"), r.header("last-modified")
        cases = [
            ([("If-None-Match", etag)], 304),
            ([("If-None-Match", "W/" + etag)], 304),
            ([("If-None-Match", '"other", ' + etag)], 304),
            ([("If-None-Match", "*")], 304),
            ([("If-None-Match", '"other"')], 200),
            ([("If-Modified-Since", lm)], 304),
            ([("If-Modified-Since", email.utils.formatdate(os.stat(path).st_mtime + 3600, usegmt=True))], 304),
            ([("If-Modified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")], 200),
            ([("If-Modified-Since", "not a date")], 200),
            ([("If-None-Match", '"other"'), ("If-Modified-Since", lm)], 200),  # INM wins
            ([("If-Match", etag)], 200),
            ([("If-Match", "*")], 200),
            ([("If-Match", '"other"')], 412),
            ([("If-Match", "W/" + etag)], 412),  # strong comparison
            ([("If-Unmodified-Since", lm)], 200),
            ([("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:00 GMT")], 412),
            ([("If-Match", '"other"'), ("If-None-Match", etag)], 412),
        ]
        for headers, status in cases:
            with self.subTest(headers=headers):
                resp = self.fetch(self.srv, "/hello.txt", headers=headers)
                self.assertEqual(resp.status, status, resp)
                if status == 304:
                    self.assertEqual(resp.body, b"")
                    self.assertIsNone(resp.header("content-length"))
                    self.assertEqual(resp.header("etag"), etag)
        h = self.fetch(self.srv, "/hello.txt", method="HEAD", headers=[("If-None-Match", etag)])
        self.assertEqual(h.status, 304)

    def test_ranges_byte_for_byte(self):
        data = content("data.bin")
        n = len(data)
        cases = [
            ("bytes=0-0", 0, 0), ("bytes=0-99", 0, 99), ("bytes=100-199", 100, 199),
            ("bytes=99990-", 99990, n - 1), ("bytes=-10", n - 10, n - 1),
            ("bytes=99000-200000", 99000, n - 1), ("bytes=-200000", 0, n - 1),
            ("Bytes=5-9", 5, 9),
        ]
        for spec, first, last in cases:
            with self.subTest(spec=spec):
                r = self.fetch(self.srv, "/data.bin", headers=[("Range", spec)])
                self.assertEqual(r.status, 206)
                self.assertEqual(r.header("content-range"), "bytes %d-%d/%d" % (first, last, n))
                self.assertEqual(r.body, data[first:last + 1])
                self.assertEqual(int(r.header("content-length")), last - first + 1)
        for spec in ("bytes=100000-", "bytes=200000-300000", "bytes=-0"):
            with self.subTest(spec=spec):
                r = self.fetch(self.srv, "/data.bin", headers=[("Range", spec)])
                self.assertEqual(r.status, 416)
                self.assertEqual(r.header("content-range"), "bytes */%d" % n)
        for spec in ("bytes=9-5", "items=0-1", "bytes=abc", "bytes"):
            with self.subTest(spec=spec):
                r = self.fetch(self.srv, "/data.bin", headers=[("Range", spec)])
                self.assertEqual((r.status, r.body), (200, data))

    def test_multiple_ranges_are_multipart(self):
        data = content("data.bin")
        m = r = self.fetch(self.srv, "/data.bin", headers=[("Range", "bytes=0-9, 500-599, -5")])
        self.assertEqual(r.status, 206)
        ctype = r.header("content-type")
        self.assertTrue(ctype.startswith("multipart/byteranges; boundary="), ctype)
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + r.body)
        parts = list(msg.iter_parts())
        self.assertEqual(len(parts), 3)
        n = len(data)
        for part, (first, last) in zip(parts, [(0, 9), (500, 599), (n - 5, n - 1)]):
            self.assertEqual(part["Content-Range"], "bytes %d-%d/%d" % (first, last, n))
            self.assertEqual(part["Content-Type"], "application/octet-stream")
            self.assertEqual(part.get_payload(decode=True), data[first:last + 1])
        # Overlapping ranges are coalesced into one.
        r = self.fetch(self.srv, "/data.bin", headers=[("Range", "bytes=0-99, 50-149")])
        self.assertEqual((r.status, r.header("content-range")), (206, "bytes 0-149/%d" % n))
        self.assertEqual(r.body, data[:150])
        # HEAD: same length, no body.
        h = self.fetch(self.srv, "/data.bin", method="HEAD", headers=[("Range", "bytes=0-9, 500-599, -5")])
        self.assertEqual((h.status, h.header("content-length")), (206, str(len(m.body))))

    def test_if_range(self):
        data = content("data.bin")
        r = self.fetch(self.srv, "/data.bin")
        etag, lm = r.header("etag"), r.header("last-modified")
        ok = self.fetch(self.srv, "/data.bin", headers=[("Range", "bytes=0-9"), ("If-Range", etag)])
        self.assertEqual((ok.status, ok.body), (206, data[:10]))
        ok = self.fetch(self.srv, "/data.bin", headers=[("Range", "bytes=0-9"), ("If-Range", lm)])
        self.assertEqual((ok.status, ok.body), (206, data[:10]))
        for stale in ('"changed"', "W/" + etag, "Thu, 01 Jan 1970 00:00:00 GMT"):
            with self.subTest(if_range=stale):
                full = self.fetch(self.srv, "/data.bin", headers=[("Range", "bytes=0-9"), ("If-Range", stale)])
                self.assertEqual((full.status, full.body), (200, data))

    def test_ranges_with_curl(self):
        data = content("big.bin")
        p = curl("-r", "1000000-1000999", self.srv.url("/big.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, data[1000000:1001000])
        p = curl("-D", "-", "-o", "/dev/null", "-r", "-100", self.srv.url("/big.bin"))
        (status, fields), = parse_curl_head(p.stdout)
        self.assertEqual((status, fields["content-range"]), (206, "bytes %d-%d/%d" % (len(data) - 100,
                                                                                       len(data) - 1, len(data))))

    def test_large_file_byte_for_byte_and_pipelined(self):
        big, small = content("big.bin"), content("hello.txt")
        r = self.fetch(self.srv, "/big.bin")
        self.assertEqual(r.status, 200)
        self.assertEqual(hashlib.sha256(r.body).digest(), hashlib.sha256(big).digest())
        with self.srv.connect(timeout=10) as c:
            c.send(get("/hello.txt") + get("/big.bin") + get("/data.bin", headers=[("Range", "bytes=5-9")]) +
                   request("HEAD", "/big.bin") + get("/hello.txt"))
            rs = [c.read_response(timeout=10, head=(i == 3)) for i in range(5)]
        self.assertEqual([x.status for x in rs], [200, 200, 206, 200, 200])
        self.assertEqual(rs[0].body, small)
        self.assertEqual(rs[1].body, big)
        self.assertEqual(rs[2].body, content("data.bin")[5:10])
        self.assertEqual(rs[3].header("content-length"), str(len(big)))
        self.assertEqual(rs[4].body, small)

    def test_many_keep_alive_requests_stay_correct(self):
        want = {"/hello.txt": content("hello.txt"), "/data.bin": content("data.bin"),
                "/sub/": content("sub/index.html")}
        with self.srv.connect() as c:
            for i in range(300):
                target = list(want)[i % 3]
                c.send(get(target))
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, want[target]), target)

    def test_http10_client(self):
        r = self.fetch(self.srv, "/hello.txt", version="HTTP/1.0")
        self.assertEqual((r.status, r.body), (200, b"Hello, static!\n"))


class DirectoryTest(StaticCase):
    def test_redirect_index_forbidden(self):
        srv = self.serve("--root", WWW)
        r = self.fetch(srv, "/sub")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("location"), "/sub/")
        self.assertEqual(self.fetch(srv, "/sub?a=1&b=2").header("location"), "/sub/?a=1&b=2")
        self.assertEqual(self.fetch(srv, "/nodex/zdir").header("location"), "/nodex/zdir/")
        r = self.fetch(srv, "/sub/")
        self.assertEqual((r.status, r.body), (200, b"<h1>sub index</h1>\n"))
        self.assertEqual(self.fetch(srv, "/nodex/").status, 403)
        self.assertEqual(self.fetch(srv, "/").status, 403)
        p = curl("-L", srv.url("/sub"))  # a real client follows the redirect
        self.assertEqual(p.stdout, b"<h1>sub index</h1>\n")

    def listing_server(self):
        return self.serve(config='[[route]]\nprefix = "/"\nstatic = { root = "%s", listing = true }\n' % WWW)

    def test_listing(self):
        srv = self.listing_server()
        r = self.fetch(srv, "/nodex/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        page = r.body.decode()
        self.assertIn("<title>Index of /nodex/</title>", page)
        self.assertIn("a &lt;b&gt;&amp;&#39;&quot;.txt", page)
        self.assertNotIn("<b>", page)
        self.assertNotIn(".hidden", page)
        hrefs = re.findall(r'<a href="([^"]*)">', page)
        self.assertEqual(hrefs[0], "../")
        names = [urllib.parse.unquote(h.replace("&amp;", "&").replace("&#39;", "'")) for h in hrefs[1:]]
        self.assertEqual(names, ["./zdir/", "./a <b>&'\".txt", "./B.txt", "./x.txt"])  # dirs first, case folded
        # Every link works.
        for href in hrefs[1:]:
            target = urllib.parse.urljoin("/nodex/", href.replace("&amp;", "&").replace("&#39;", "'"))
            with self.subTest(href=href):
                self.assertEqual(self.fetch(srv, target).status, 200, target)
        self.assertIn('title="6 bytes"', page)  # the tricky file's size
        self.assertRegex(page, r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
        root = self.fetch(srv, "/").body.decode()
        self.assertNotIn('href="../"', root)
        self.assertIn("./sub/", root)
        self.assertEqual(self.fetch(srv, "/sub/").body, b"<h1>sub index</h1>\n")  # an index wins

    def test_listing_in_headless_chromium(self):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            self.skipTest("chromium is not installed (apt-get install chromium)")
        srv = self.listing_server()
        profile = tempfile.mkdtemp(prefix="brisk-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        shot = os.path.join(profile, "listing.png")
        cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--user-data-dir=" + profile, "--window-size=1000,700"]
        p = subprocess.run(cmd + ["--dump-dom", srv.url("/nodex/")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120, start_new_session=True)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        dom = p.stdout.decode()
        # The browser parsed it as intended: the tricky name is text, not markup.
        self.assertIn("a &lt;b&gt;&amp;'\".txt</a>", dom)
        self.assertEqual(dom.count("<tr>"), 6)  # header + parent + 4 entries
        p = subprocess.run(cmd + ["--screenshot=" + shot, srv.url("/nodex/")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120, start_new_session=True)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertGreater(os.path.getsize(shot), 1000)
        if os.environ.get("BRISK_KEEP_SCREENSHOT"):
            shutil.copy(shot, os.environ["BRISK_KEEP_SCREENSHOT"])


class CompressionTest(StaticCase):
    def setUp(self):
        self.srv = self.serve("--root", WWW)

    def test_precompressed_siblings(self):
        r = self.fetch(self.srv, "/app.js", headers=[("Accept-Encoding", "gzip")])
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(r.header("vary"), "Accept-Encoding")
        self.assertEqual(r.header("content-type"), "text/javascript; charset=utf-8")
        self.assertEqual(r.body, content("app.js.gz"))
        r = self.fetch(self.srv, "/app.js", headers=[("Accept-Encoding", "gzip, deflate, br")])
        self.assertEqual((r.header("content-encoding"), r.body), ("br", b"BROTLI-SIBLING-BYTES"))
        r = self.fetch(self.srv, "/app.js", headers=[("Accept-Encoding", "br;q=0.5, gzip")])
        self.assertEqual(r.body, content("app.js.gz"))
        plain = self.fetch(self.srv, "/app.js")
        self.assertEqual(plain.body, content("app.js"))
        self.assertIsNone(plain.header("content-encoding"))
        self.assertEqual(plain.header("vary"), "Accept-Encoding")
        self.assertNotEqual(plain.header("etag"), r.header("etag"))

    def test_on_the_fly_gzip(self):
        text = content("page.html")
        r = self.fetch(self.srv, "/page.html", headers=[("Accept-Encoding", "gzip")])
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(r.header("vary"), "Accept-Encoding")
        self.assertLess(len(r.body), len(text) // 3)
        self.assertEqual(gzip.decompress(r.body), text)
        etag = r.header("etag")
        again = self.fetch(self.srv, "/page.html", headers=[("Accept-Encoding", "gzip"), ("If-None-Match", etag)])
        self.assertEqual(again.status, 304)
        self.assertEqual(again.header("vary"), "Accept-Encoding")
        # Never for ranges.
        rr = self.fetch(self.srv, "/page.html", headers=[("Accept-Encoding", "gzip"), ("Range", "bytes=0-99")])
        self.assertEqual((rr.status, rr.body), (206, text[:100]))
        self.assertIsNone(rr.header("content-encoding"))
        # Not for types that are compressed already, nor for tiny files.
        self.assertIsNone(self.fetch(self.srv, "/img.png", headers=[("Accept-Encoding", "gzip")])
                          .header("content-encoding"))
        self.assertIsNone(self.fetch(self.srv, "/hello.txt", headers=[("Accept-Encoding", "gzip")])
                          .header("content-encoding"))

    def test_br_and_zstd_decoded_by_curl(self):
        text = content("page.html")
        for coding in ("br", "zstd", "gzip"):
            with self.subTest(coding=coding):
                p = curl("--compressed", "-H", "Accept-Encoding: " + coding, "-D", "-",
                         self.srv.url("/page.html"))
                self.assertEqual(p.returncode, 0, p.stderr)
                head, _, body = p.stdout.partition(b"\r\n\r\n")
                self.assertIn(b"Content-Encoding: " + coding.encode(), head)
                self.assertEqual(body, text)

    def test_compressed_copy_follows_the_file(self):
        d = tempfile.mkdtemp(prefix="brisk-static-cc-")
        self.addCleanup(shutil.rmtree, d, True)
        cache = os.path.join(d, "cache")
        os.mkdir(cache)
        os.mkdir(os.path.join(d, "www"))
        path = os.path.join(d, "www", "a.css")
        with open(path, "w") as f:
            f.write("a { color: red }\n" * 100)
        srv = self.serve(config='[[route]]\nprefix = "/"\nstatic = { root = "%s/www", cache_duration = "100ms", '
                                'compress_cache = "%s" }\n' % (d, cache))
        r = self.fetch(srv, "/a.css", headers=[("Accept-Encoding", "gzip")])
        self.assertEqual(gzip.decompress(r.body), b"a { color: red }\n" * 100)
        self.assertEqual(len(os.listdir(cache)), 1)
        time.sleep(0.05)
        with open(path, "w") as f:
            f.write("b { color: blue }\n" * 100)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            r = self.fetch(srv, "/a.css", headers=[("Accept-Encoding", "gzip")])
            if gzip.decompress(r.body) != b"a { color: red }\n" * 100:
                break
            time.sleep(0.1)
        self.assertEqual(gzip.decompress(r.body), b"b { color: blue }\n" * 100)


class CacheTest(StaticCase):
    def test_changes_are_seen_after_the_cache_duration(self):
        d = tempfile.mkdtemp(prefix="brisk-static-cache-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "f.txt")
        with open(path, "w") as f:
            f.write("one")
        srv = self.serve(config='[[route]]\nprefix = "/"\nstatic = { root = "%s", cache_duration = "200ms" }\n' % d)
        self.assertEqual(self.fetch(srv, "/f.txt").body, b"one")
        etag = self.fetch(srv, "/f.txt").header("etag")
        with open(path + ".new", "w") as f:
            f.write("second")
        os.rename(path + ".new", path)
        time.sleep(0.6)
        r = self.fetch(srv, "/f.txt", headers=[("If-None-Match", etag)])
        self.assertEqual((r.status, r.body), (200, b"second"))
        os.unlink(path)
        time.sleep(0.6)
        self.assertEqual(self.fetch(srv, "/f.txt").status, 404)


class RoutesTest(StaticCase):
    def test_static_prefix_flag(self):
        srv = self.serve("--static", "/assets/=" + WWW, "--static", "/s=" + os.path.join(WWW, "sub"))
        self.assertEqual(self.fetch(srv, "/assets/hello.txt").body, b"Hello, static!\n")
        self.assertEqual(self.fetch(srv, "/assets/sub").header("location"), "/assets/sub/")
        self.assertEqual(self.fetch(srv, "/s").header("location"), "/s/")
        self.assertEqual(self.fetch(srv, "/s/").body, b"<h1>sub index</h1>\n")
        self.assertEqual(self.fetch(srv, "/s/index.html").body, b"<h1>sub index</h1>\n")
        self.assertEqual(self.fetch(srv, "/sx").status, 404)
        self.assertEqual(self.fetch(srv, "/assets/../hello.txt").status, 404)  # "/hello.txt" is no route
        self.assertEqual(self.fetch(srv, "/plaintext").status, 200)  # other routes still answer

    def test_toml_static_table(self):
        srv = self.serve(config='[[route]]\nprefix = "/t/"\nstatic = { root = "%s", listing = true, '
                                'cache_control = "max-age=60", mime = { txt = "text/x-custom" }, etag = false, '
                                'ranges = false, index = ["nope.html"] }\n' % WWW)
        r = self.fetch(srv, "/t/hello.txt", headers=[("Range", "bytes=0-1")])
        self.assertEqual((r.status, r.body), (200, b"Hello, static!\n"))
        self.assertEqual(r.header("content-type"), "text/x-custom; charset=utf-8")
        self.assertEqual(r.header("cache-control"), "max-age=60")
        self.assertIsNone(r.header("etag"))
        self.assertIsNone(r.header("accept-ranges"))
        self.assertIn(b"index.html", self.fetch(srv, "/t/sub/").body)  # listed: the index name is nope.html

    def test_no_route_serves_the_current_directory(self):
        here = os.getcwd()
        os.chdir(WWW)
        try:
            srv = self.start(routes=False, alive_path="/hello.txt", alive_body=b"Hello, static!\n")
        finally:
            os.chdir(here)
        self.assertEqual(self.fetch(srv, "/hello.txt").body, b"Hello, static!\n")
        listing = self.fetch(srv, "/")
        self.assertEqual(listing.status, 200)
        self.assertIn(b"hello.txt", listing.body)

    def test_bad_root_is_one_line_at_start(self):
        p = run_brisk(["--listen", "127.0.0.1:0", "--root", os.path.join(SITE, "missing")])
        line = self.assert_one_line_error(p, mention="missing")
        self.assertIn("No such file or directory", line)
        p = run_brisk(["--listen", "127.0.0.1:0", "--root", os.path.join(WWW, "hello.txt")])
        self.assert_one_line_error(p, mention="hello.txt")
        p = run_brisk(["--static", "nope"])
        self.assert_one_line_error(p, mention="PREFIX=DIR")


if __name__ == "__main__":
    unittest.main()
