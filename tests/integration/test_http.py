"""HTTP/1.1 semantics: routes, headers, keep-alive, pipelining, HEAD."""

import datetime
import email.utils
import http.client
import re
import socket
import struct
import time
import unittest

from brisk_harness import HELLO, BriskTestCase, curl, get, parse_curl_head, request

IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} GMT$")


class RoutesTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start("--respond", "/a=one", "--respond", "/b=two",
                              "--respond", "/eq=x=y")

    def test_respond_route_body_and_headers(self):
        _, (r,) = self.exchange(self.srv, get("/plaintext"))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, HELLO)
        self.assertEqual(r.header("content-length"), str(len(HELLO)))
        self.assertTrue((r.header("content-type") or "").startswith("text/plain"), r)
        self.assertEqual(r.version, "HTTP/1.1")

    def test_several_respond_routes(self):
        _, rs = self.exchange(self.srv, get("/a") + get("/b") + get("/plaintext"), n=3)
        self.assertEqual([r.body for r in rs], [b"one", b"two", HELLO])

    def test_respond_splits_at_first_equals(self):
        _, (r,) = self.exchange(self.srv, get("/eq"))
        self.assertEqual((r.status, r.body), (200, b"x=y"))

    def test_unknown_path_is_404(self):
        for target in ("/nope", "/plaintext/", "/plaintextx", "/a/b", "/"):
            with self.subTest(target=target):
                with self.srv.connect() as c:
                    c.send(get(target))
                    r = c.read_response()
                self.assertEqual(r.status, 404, (target, r))
                self.assertNotEqual(r.body, HELLO)
        self.assert_still_serving(self.srv)

    def test_query_string_is_not_part_of_the_path(self):
        _, (r,) = self.exchange(self.srv, get("/a?x=1&y=2"))
        self.assertEqual((r.status, r.body), (200, b"one"))

    def test_absolute_form_target(self):
        # RFC 9112 3.2.2: a server MUST accept the absolute-form
        _, (r,) = self.exchange(self.srv, get("http://x/a"))
        self.assertEqual((r.status, r.body), (200, b"one"))

    def test_error_responses_carry_date_and_server(self):
        with self.srv.connect() as c:
            c.send(b"GET /a HTTP/1.1\r\n\r\n")   # no Host: 400
            r = c.read_response()
        self.assertEqual(r.status, 400)
        self.assertEqual(r.header("server"), "brisk")
        self.assertRegex(r.header("date") or "", IMF_FIXDATE)

    def test_route_answers_any_method(self):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
            with self.subTest(method=method):
                _, (r,) = self.exchange(
                    self.srv, request(method, "/a", headers=[("Content-Length", "0")]))
                self.assertEqual((r.status, r.body), (200, b"one"))

    def test_http_client(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=5)
        try:
            conn.request("GET", "/b")
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"two"))
        finally:
            conn.close()

    def test_curl(self):
        p = curl("-D", "-", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                 self.srv.url("/plaintext"))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertTrue(out.rstrip().endswith("200 %d" % len(HELLO)), out)
        ((status, fields),) = parse_curl_head(out)
        self.assertEqual(status, 200)
        self.assertEqual(fields.get("server"), "brisk")
        self.assertIn("date", fields)

    def test_curl_body(self):
        p = curl(self.srv.url("/a"))
        self.assertEqual((p.returncode, p.stdout), (0, b"one"), p.stderr)


class HeadersTest(BriskTestCase):
    def test_default_server_and_date(self):
        srv = self.start()
        _, (r,) = self.exchange(srv, get())
        self.assertEqual(r.header_all("server"), ["brisk"])
        dates = r.header_all("date")
        self.assertEqual(len(dates), 1, r)
        self.assertRegex(dates[0], IMF_FIXDATE)
        when = email.utils.parsedate_to_datetime(dates[0])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 5, (dates[0], now))

    def test_date_advances(self):
        srv = self.start()
        with srv.connect() as c:
            c.send(get())
            d1 = email.utils.parsedate_to_datetime(c.read_response().header("date"))
            time.sleep(2.1)
            c.send(get())
            d2 = email.utils.parsedate_to_datetime(c.read_response().header("date"))
        self.assertGreaterEqual((d2 - d1).total_seconds(), 1, (d1, d2))

    def test_no_server_header(self):
        srv = self.start("--no-server-header")
        _, (r,) = self.exchange(srv, get())
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("server"), r)
        self.assertIsNotNone(r.header("date"), r)

    def test_server_name(self):
        srv = self.start("--server-name", "edge-7")
        _, (r,) = self.exchange(srv, get())
        self.assertEqual(r.header_all("server"), ["edge-7"])

    def test_no_date_header(self):
        srv = self.start("--no-date-header")
        _, (r,) = self.exchange(srv, get())
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("date"), r)
        self.assertEqual(r.header("server"), "brisk")

    def test_headers_on_404_too(self):
        srv = self.start()
        _, (r,) = self.exchange(srv, get("/missing"))
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("server"), "brisk")
        self.assertRegex(r.header("date") or "", IMF_FIXDATE)
        self.assertIsNotNone(r.header("content-length"), r)


class KeepAliveTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start()

    def test_http11_keeps_alive(self):
        with self.srv.connect() as c:
            for i in range(5):
                c.send(get())
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, HELLO), i)
                self.assertFalse(r.closes(), r)
            self.assertTrue(c.is_open_after(0.3), "server closed a keep-alive connection")

    def test_http_client_reuses_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=5)
        try:
            conn.request("GET", "/plaintext")
            r = conn.getresponse()
            self.assertEqual(r.read(), HELLO)
            self.assertFalse(r.will_close)
            sock = conn.sock
            local = sock.getsockname()
            conn.request("GET", "/plaintext")
            r = conn.getresponse()
            self.assertEqual(r.read(), HELLO)
            self.assertIs(conn.sock, sock)
            self.assertEqual(conn.sock.getsockname(), local)
        finally:
            conn.close()

    def test_http10_closes_by_default(self):
        with self.srv.connect() as c:
            c.send(get(version="HTTP/1.0", host=None) + get(version="HTTP/1.0", host=None))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertNotIn("keep-alive", r.tokens("connection"))
            self.assert_closes(c, what="after an HTTP/1.0 response without keep-alive")

    def test_http10_keep_alive_on_request(self):
        ka = [("Connection", "keep-alive")]
        with self.srv.connect() as c:
            c.send(get(version="HTTP/1.0", headers=ka))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertIn("keep-alive", r.tokens("connection"), r)
            self.assertIsNotNone(r.header("content-length"), r)
            c.send(get(version="HTTP/1.0", headers=ka))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertIn("keep-alive", r.tokens("connection"), r)
            # without keep-alive the next one closes
            c.send(get(version="HTTP/1.0"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assert_closes(c)

    def test_connection_close(self):
        with self.srv.connect() as c:
            c.send(get(headers=[("Connection", "close")]) + get())
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertTrue(r.closes(), r)
            self.assert_closes(c, what="after Connection: close (pipelined request answered?)")
        self.assert_still_serving(self.srv)

    def test_connection_close_token_in_list(self):
        with self.srv.connect() as c:
            c.send(get(headers=[("Connection", "foo, Close")]))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertTrue(r.closes(), r)
            self.assert_closes(c)

    def test_curl_http10(self):
        p = curl("--http1.0", "-D", "-", self.srv.url("/plaintext"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith(HELLO), p.stdout)
        self.assertTrue(p.stdout.startswith(b"HTTP/1."), p.stdout)


class PipeliningTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start("--respond", "/a=one", "--respond", "/b=two",
                              "--respond", "/c=three")

    def test_pipelined_in_order(self):
        reqs = [get("/a"), get("/b"), get("/c"), get("/b"), get("/a"), get("/c")]
        _, rs = self.exchange(self.srv, b"".join(reqs), n=len(reqs))
        self.assertEqual([r.body for r in rs], [b"one", b"two", b"three", b"two", b"one", b"three"])
        self.assertTrue(all(r.status == 200 for r in rs), rs)

    def test_pipelined_many(self):
        names = [b"one", b"two", b"three"]
        paths = ["/a", "/b", "/c"]
        n = 100
        data = b"".join(get(paths[i % 3]) for i in range(n))
        _, rs = self.exchange(self.srv, data, n=n)
        self.assertEqual([r.body for r in rs], [names[i % 3] for i in range(n)])

    def test_pipelined_mixed_methods_and_404_last(self):
        data = (get("/a") + request("HEAD", "/b") + request("POST", "/c", headers=[
            ("Content-Length", "5")], body=b"hello") + get("/a") + get("/zzz"))
        _, rs = self.exchange(self.srv, data, n=5, heads={1})
        self.assertEqual([r.status for r in rs], [200, 200, 200, 200, 404])
        self.assertEqual([r.body for r in rs[:4]], [b"one", b"", b"three", b"one"])
        self.assertEqual(rs[1].header("content-length"), "3")

    def test_pipelined_2000(self):
        n = 2000
        data = b"".join(get(("/a", "/b", "/c")[i % 3]) for i in range(n))
        _, rs = self.exchange(self.srv, data, n=n, timeout=10)
        names = [b"one", b"two", b"three"]
        bad = [i for i, r in enumerate(rs) if r.body != names[i % 3]]
        self.assertEqual(bad, [], "responses out of order or wrong")

    def test_requests_split_byte_by_byte(self):
        data = get("/a") + get("/b")
        with self.srv.connect() as c:
            c.send_slowly(data, step=1, pause=0.001)
            rs = c.read_responses(2)
        self.assertEqual([r.body for r in rs], [b"one", b"two"])

    def test_every_split_point(self):
        # One chunked POST (extension + trailer) and a GET, cut in two at
        # every byte: the parser must resume correctly wherever a read ends.
        data = (request("POST", "/a", headers=[("Transfer-Encoding", "chunked")],
                        body=b"3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\n") + get("/b"))
        for k in range(1, len(data)):
            with self.srv.connect() as c:
                c.send(data[:k])
                time.sleep(0.002)
                c.send(data[k:])
                rs = c.read_responses(2)
            self.assertEqual([r.body for r in rs], [b"one", b"two"], "split at %d" % k)

    def test_many_connections_at_once(self):
        conns = []
        try:
            for _ in range(300):
                conns.append(self.srv.connect())
            for i, c in enumerate(conns):
                c.send(get(("/a", "/b", "/c")[i % 3]) * 3)
            names = [b"one", b"two", b"three"]
            for i, c in enumerate(conns):
                rs = c.read_responses(3)
                self.assertEqual([r.body for r in rs], [names[i % 3]] * 3)
        finally:
            for c in conns:
                c.close()

    def test_half_closed_client_still_answered(self):
        with self.srv.connect() as c:
            c.send(get("/a") + get("/b"))
            c.shutdown_write()
            rs = c.read_responses(2)
            self.assertEqual([r.body for r in rs], [b"one", b"two"])
            self.assert_closes(c, what="after the client's FIN")

    def test_client_reset_mid_response(self):
        big = self.start("--respond", "/big=" + "z" * 65536)
        for _ in range(5):
            c = big.connect()
            c.send(get("/big") * 50)
            time.sleep(0.05)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
        self.assert_still_serving(big)

    def test_second_request_split_across_writes(self):
        a, b = get("/a"), get("/b")
        with self.srv.connect() as c:
            c.send(a + b[:7])
            r1 = c.read_response()
            time.sleep(0.1)
            c.send(b[7:])
            r2 = c.read_response()
        self.assertEqual((r1.body, r2.body), (b"one", b"two"))


class HeadTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start("--respond", "/a=one")

    def test_head_has_length_and_no_body(self):
        # HEAD then GET in one write: body bytes after the HEAD response would
        # be read as the next status line.
        _, (h, g) = self.exchange(self.srv, request("HEAD", "/plaintext") + get("/a"),
                                  n=2, heads={0})
        self.assertEqual(h.status, 200)
        self.assertEqual(h.header("content-length"), str(len(HELLO)))
        self.assertEqual(g.body, b"one")

    def test_head_then_eof_has_no_body(self):
        with self.srv.connect() as c:
            c.send(request("HEAD", "/plaintext", headers=[("Connection", "close")]))
            r = c.read_response(head=True)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("content-length"), str(len(HELLO)))
            self.assert_closes(c, what="after a HEAD response (body bytes?)")

    def test_head_404(self):
        _, (h, g) = self.exchange(self.srv, request("HEAD", "/nope") + get("/a"),
                                  n=2, heads={0})
        self.assertEqual(h.status, 404)
        self.assertEqual(g.body, b"one")

    def test_curl_head(self):
        p = curl("-I", self.srv.url("/plaintext"))
        self.assertEqual(p.returncode, 0, p.stderr)
        ((status, fields),) = parse_curl_head(p.stdout)
        self.assertEqual(status, 200)
        self.assertEqual(fields.get("content-length"), str(len(HELLO)))


class PerConnectionLimitsTest(BriskTestCase):
    def test_max_requests_per_conn(self):
        srv = self.start("--max-requests-per-conn", "3")
        with srv.connect() as c:
            for i in range(1, 4):
                c.send(get())
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, HELLO))
                self.assertEqual(r.closes(), i == 3, "response %d: %r" % (i, r))
            self.assert_closes(c, what="after the 3rd response")
        self.assert_still_serving(srv)

    def test_max_requests_per_conn_pipelined(self):
        srv = self.start("--max-requests-per-conn", "3")
        with srv.connect() as c:
            c.send(get() * 5)
            rs = c.read_responses(3)
            self.assertEqual([r.closes() for r in rs], [False, False, True])
            self.assert_closes(c, what="after the 3rd response (4th request answered?)")

    def test_disable_keepalive(self):
        srv = self.start("--disable-keepalive")
        for req in (get(), get(version="HTTP/1.0", headers=[("Connection", "keep-alive")]),
                    get(headers=[("Connection", "keep-alive")])):
            with self.subTest(req=req):
                with srv.connect() as c:
                    c.send(req + get())
                    r = c.read_response()
                    self.assertEqual((r.status, r.body), (200, HELLO))
                    self.assertTrue(r.closes(), r)
                    self.assert_closes(c)
        self.assert_still_serving(srv)

    def test_disable_keepalive_http_client(self):
        srv = self.start("--disable-keepalive")
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        try:
            conn.request("GET", "/plaintext")
            r = conn.getresponse()
            self.assertEqual(r.read(), HELLO)
            self.assertTrue(r.will_close)
        finally:
            conn.close()


class LoopsTest(BriskTestCase):
    def test_several_loops_serve_many_connections(self):
        srv = self.start("--loops", "2")
        conns = [srv.connect() for _ in range(20)]
        try:
            for c in conns:
                c.send(get())
            for c in conns:
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, HELLO))
        finally:
            for c in conns:
                c.close()


if __name__ == "__main__":
    unittest.main()
