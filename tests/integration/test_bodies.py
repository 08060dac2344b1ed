"""Request bodies: Content-Length, chunked, Expect: 100-continue, size limit."""

import os
import time
import unittest

from brisk_harness import HELLO, BriskTestCase, curl, get, request


def post(body=b"", headers=(), target="/plaintext", **kw):
    return request("POST", target, headers=list(headers), body=body, **kw)


def chunked(*chunks, trailers=(), ext=""):
    out = b""
    for c in chunks:
        out += b"%x%s\r\n%s\r\n" % (len(c), ext.encode(), c)
    out += b"0\r\n"
    for k, v in trailers:
        out += ("%s: %s\r\n" % (k, v)).encode()
    return out + b"\r\n"


TE_CHUNKED = [("Transfer-Encoding", "chunked")]


class ContentLengthBodyTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start()

    def test_body_then_pipelined_request(self):
        self.assert_ok(self.srv, post(b"hello", [("Content-Length", "5")]), n_follow=2)

    def test_body_that_looks_like_a_request(self):
        # The body is a complete request; answering it would mean the body
        # was parsed as the next request.
        inner = get("/nope")
        r = self.assert_ok(self.srv, post(inner, [("Content-Length", str(len(inner)))]))
        self.assertEqual(r.status, 200)

    def test_zero_length_body(self):
        self.assert_ok(self.srv, post(b"", [("Content-Length", "0")]))

    def test_get_with_body(self):
        self.assert_ok(self.srv, request("GET", "/plaintext", headers=[
            ("Content-Length", "4")], body=b"abcd"))

    def test_body_sent_in_pieces(self):
        with self.srv.connect() as c:
            c.send(post(b"", [("Content-Length", "10")]))
            time.sleep(0.1)
            c.send(b"01234")
            time.sleep(0.1)
            c.send(b"56789" + get())
            rs = c.read_responses(2)
        self.assertEqual([(r.status, r.body) for r in rs], [(200, HELLO)] * 2)

    def test_large_body_within_limit(self):
        body = os.urandom(1 << 20)
        self.assert_ok(self.srv, post(body, [("Content-Length", str(len(body)))]))

    def test_leading_zeros_content_length(self):
        self.assert_ok(self.srv, post(b"hello", [("Content-Length", "005")]))

    def test_curl_post(self):
        p = curl("--data-binary", "some=data&more", self.srv.url("/plaintext"))
        self.assertEqual((p.returncode, p.stdout), (0, HELLO), p.stderr)


class ChunkedBodyTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start()

    def test_chunked_then_pipelined_request(self):
        self.assert_ok(self.srv, post(chunked(b"hello", b" world"), TE_CHUNKED), n_follow=2)

    def test_chunk_extensions_and_trailers(self):
        body = (b"5;ext=1\r\nhello\r\n"
                b"6;a=b;c=\"d e\"\r\n world\r\n"
                b"0;last\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n")
        self.assert_ok(self.srv, post(body, TE_CHUNKED))

    def test_uppercase_hex_and_leading_zeros(self):
        data = b"x" * 0xAB
        body = b"00AB\r\n" + data + b"\r\n0\r\n\r\n"
        self.assert_ok(self.srv, post(body, TE_CHUNKED))

    def test_chunked_case_insensitive(self):
        self.assert_ok(self.srv, post(chunked(b"abc"), [("Transfer-Encoding", "Chunked")]))

    def test_chunk_data_looks_like_a_request(self):
        inner = get("/nope")
        self.assert_ok(self.srv, post(chunked(inner), TE_CHUNKED))

    def test_chunked_in_pieces(self):
        data = post(chunked(b"hello", b"world", trailers=[("T", "1")]), TE_CHUNKED) + get()
        with self.srv.connect() as c:
            c.send_slowly(data, step=3, pause=0.001)
            rs = c.read_responses(2)
        self.assertEqual([(r.status, r.body) for r in rs], [(200, HELLO)] * 2)

    def test_many_chunks(self):
        body = chunked(*[bytes([65 + i % 26]) * (i + 1) for i in range(200)])
        self.assert_ok(self.srv, post(body, TE_CHUNKED))

    def test_http_client_chunked_upload(self):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=5)
        try:
            conn.request("PUT", "/plaintext", body=iter([b"part1", b"part2", b"part3"]),
                         encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, HELLO))
            conn.request("GET", "/plaintext")
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, HELLO))
        finally:
            conn.close()

    def test_curl_chunked_upload(self):
        p = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "abc" * 1000,
                 self.srv.url("/plaintext"))
        self.assertEqual((p.returncode, p.stdout), (0, HELLO), p.stderr)


class ExpectContinueTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start()

    def _continue_then_body(self, expect_value, headers, body):
        with self.srv.connect() as c:
            c.send(post(b"", [("Expect", expect_value)] + headers))
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 100, "want 100 Continue before the body: %r" % r)
            self.assertEqual(r.version, "HTTP/1.1")
            self.assertEqual(r.body, b"")
            c.send(body + get())
            final = c.read_response()
            self.assertEqual((final.status, final.body), (200, HELLO))
            nxt = c.read_response()
            self.assertEqual((nxt.status, nxt.body), (200, HELLO))

    def test_100_continue_content_length(self):
        self._continue_then_body("100-continue", [("Content-Length", "5")], b"hello")

    def test_100_continue_chunked(self):
        self._continue_then_body("100-continue", TE_CHUNKED, chunked(b"hello"))

    def test_100_continue_case_insensitive(self):
        self._continue_then_body("100-Continue", [("Content-Length", "3")], b"abc")

    def test_100_continue_raw_status_line(self):
        with self.srv.connect() as c:
            c.send(post(b"", [("Expect", "100-continue"), ("Content-Length", "2")]))
            deadline = time.monotonic() + 3
            while b"\r\n\r\n" not in c.buf and time.monotonic() < deadline:
                if not c._fill(deadline):
                    break
            self.assertTrue(bytes(c.buf).startswith(b"HTTP/1.1 100 Continue\r\n"), bytes(c.buf))
            c.buf.clear()
            c.send(b"ok")
            r = c.read_response()
            self.assertEqual(r.status, 200)

    def test_body_already_sent_with_expect(self):
        # The client did not wait: a 100 is optional, the framing must hold.
        data = post(b"hello", [("Expect", "100-continue"), ("Content-Length", "5")]) + get()
        with self.srv.connect() as c:
            c.send(data)
            _, r1 = c.read_final()
            _, r2 = c.read_final()
        self.assertEqual([(r1.status, r1.body), (r2.status, r2.body)], [(200, HELLO)] * 2)

    def test_http10_expect_is_ignored(self):
        # RFC 9110 10.1.1: a 100-continue expectation in HTTP/1.0 is ignored
        with self.srv.connect() as c:
            c.send(post(b"", [("Expect", "100-continue"), ("Content-Length", "2")],
                        version="HTTP/1.0"))
            self.assertTrue(c.is_open_after(0.5) or not c.buf.startswith(b"HTTP/1.1 100"),
                            "100 Continue sent to an HTTP/1.0 client: %r" % bytes(c.buf))
            c.send(b"ok")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))

    def test_expectation_failed(self):
        r = self.assert_rejected(self.srv, post(b"hello", [
            ("Expect", "something-else"), ("Content-Length", "5")]), 417)
        self.assertEqual(r.status, 417)

    def test_curl_expect_100(self):
        data_path = os.path.join(self.srv.tmp, "upload.bin")
        with open(data_path, "wb") as f:
            f.write(os.urandom(200000))
        t0 = time.monotonic()
        p = curl("-H", "Expect: 100-continue", "--expect100-timeout", "4",
                 "--data-binary", "@" + data_path, "-D", "-", self.srv.url("/plaintext"),
                 timeout=15)
        elapsed = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"100 Continue", p.stdout)
        self.assertTrue(p.stdout.endswith(HELLO), p.stdout[-200:])
        self.assertLess(elapsed, 3.5, "curl waited for its expect100 timeout")


class BodyLimitTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start("--max-request-body-size", "8KiB")

    def test_content_length_at_limit(self):
        self.assert_ok(self.srv, post(b"a" * 8192, [("Content-Length", "8192")]))

    def test_content_length_over_limit(self):
        self.assert_rejected(self.srv, post(b"", [("Content-Length", "8193")]), 413)

    def test_content_length_over_limit_with_body(self):
        self.assert_rejected(self.srv, post(b"a" * 8193, [("Content-Length", "8193")]), 413)

    def test_huge_content_length(self):
        self.assert_rejected(self.srv, post(b"", [("Content-Length", "99999999999999")]), 413)

    def test_chunked_at_limit(self):
        self.assert_ok(self.srv, post(chunked(b"a" * 4096, b"b" * 4096), TE_CHUNKED))

    def test_chunked_over_limit(self):
        self.assert_rejected(self.srv, post(chunked(b"a" * 4096, b"b" * 4097), TE_CHUNKED), 413)

    def test_chunked_one_big_chunk_over_limit(self):
        self.assert_rejected(self.srv, post(b"4000\r\n" + b"z" * 0x4000 + b"\r\n0\r\n\r\n",
                                            TE_CHUNKED), 413)

    def test_413_without_waiting_for_body(self):
        # The declared length alone is enough: the server must not wait for
        # 8193 bytes before answering.
        with self.srv.connect() as c:
            c.send(post(b"", [("Content-Length", "8193")]))
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 413)
            self.assertTrue(r.closes(), r)


class BodyLimitFormsTest(BriskTestCase):
    def test_default_limit_is_4mib(self):
        srv = self.start()
        big = 4 << 20
        self.assert_rejected(srv, post(b"", [("Content-Length", str(big + 1))]), 413)
        self.assert_ok(srv, post(b"q" * big, [("Content-Length", str(big))]))

    def test_k_suffix(self):
        srv = self.start("--max-request-body-size", "8k")
        self.assert_ok(srv, post(b"a" * 8000, [("Content-Length", "8000")]))
        self.assert_rejected(srv, post(b"", [("Content-Length", "8193")]), 413)

    def test_mib_suffix(self):
        srv = self.start("--max-request-body-size", "1MiB")
        self.assert_ok(srv, post(b"a" * (1 << 20), [("Content-Length", str(1 << 20))]))
        self.assert_rejected(srv, post(b"", [("Content-Length", str((1 << 20) + 1))]), 413)


if __name__ == "__main__":
    unittest.main()
