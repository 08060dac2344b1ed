"""Plugin ABI 1.1 through the real binary: responses a plugin streams over
time (stream_open, stream_send, stream_end), with backpressure (a refused
send, then the drain callback), the write timeout, HTTP/1.0 close-delimited
bodies, HEAD, clients that leave mid-stream, pipelined requests behind a
stream, and the calls brisk refuses. Plugins: plugins/sse (libsse.so) and
the fixture fx_stream (tests/plugins/fixtures)."""

import os
import re
import socket
import time
import unittest

from brisk_harness import HELLO, Conn, curl, decode, get, request, run_brisk
from test_later import LaterTestCase, read_file
from test_plugins import fixture_so, plugin_so, toml_str

EVENT_TIMEOUT = 10.0  # seconds a test waits for an event of the server's


def pattern(n, start=0):
    """fx_stream's body: byte i is 'a' + i % 26."""
    alphabet = bytes(range(ord("a"), ord("a") + 26))
    whole = alphabet * ((start + n) // 26 + 1)
    return whole[start:start + n]


def events(n):
    return b"".join(b"data: %d\n\n" % i for i in range(n))


class StreamTestCase(LaterTestCase):

    def gauge(self, srv, name="brisk_open_streams"):
        body = decode(self.get_one(srv, "/metrics").body)
        for line in body.splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        raise AssertionError("no %s in:\n%s" % (name, body))

    def wait_gauge(self, srv, value, name="brisk_open_streams", timeout=EVENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while self.gauge(srv, name) != value and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.gauge(srv, name), value)

    def slow_reader(self, srv, rcvbuf=4096):
        """A connection whose receive buffer is small, so that the server's output backs up."""
        s = socket.socket(srv.family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(EVENT_TIMEOUT)
        s.connect(srv.addr)
        c = Conn(s)
        self.addCleanup(c.close)
        return c


class SseTest(StreamTestCase):

    def setUp(self):
        self.so = self.need(plugin_so("sse"))

    def start_sse(self, *args, interval="\"50ms\"", count=4, extra=""):
        return self.start_plugins("--metrics", "/metrics", *args, config=(
            "[plugins.sse]\nfile = %s\n%sconfig = { interval = %s, count = %d }\n\n"
            "[[route]]\nprefix = \"/events\"\nplugin = \"sse\"\n" % (toml_str(self.so), extra, interval, count)))

    def test_events_with_curl_then_keep_alive(self):
        srv = self.start_sse()
        p = curl("-sS", "-N", "-D", "-", srv.url("/events"))
        self.assertEqual(p.returncode, 0, p.stderr)
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        self.assertIn(b"\r\ncontent-type: text/event-stream", head.lower())
        self.assertIn(b"\r\ncache-control: no-cache", head.lower())
        self.assertIn(b"\r\ntransfer-encoding: chunked", head.lower())
        self.assertEqual(body, events(4))
        # The stream ended cleanly: curl's second URL reuses the connection.
        p = curl("-sS", "-w", "%{num_connects}\\n", srv.url("/events"), srv.url("/events"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, events(4) + b"1\n" + events(4) + b"0\n")

    def test_interval_paces_the_events(self):
        srv = self.start_sse(interval="200", count=3)
        t0 = time.monotonic()
        r = self.get_one(srv, "/events")
        self.assertGreaterEqual(time.monotonic() - t0, 0.55)
        self.assertEqual((r.status, r.body), (200, events(3)))

    def test_http10_gets_a_close_delimited_body(self):
        srv = self.start_sse()
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(request("GET", "/events", version="HTTP/1.0"))
            data = c.read_until_eof(timeout=EVENT_TIMEOUT)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head)
        self.assertNotIn(b"transfer-encoding", head.lower())
        self.assertNotIn(b"content-length", head.lower())
        self.assertIn(b"connection: close", head.lower())
        self.assertEqual(body, events(4))

    def test_head_gets_the_head_and_the_connection_goes_on(self):
        srv = self.start_sse(count=0)
        with srv.connect() as c:
            c.send(request("HEAD", "/events") + get("/plaintext"))
            r = c.read_response(head=True)
            self.assertEqual((r.status, r.header("content-type"), r.body), (200, "text/event-stream", b""))
            self.assertEqual(c.read_response().body, HELLO)
        self.assertEqual(self.gauge(srv), 0)

    def test_client_that_leaves_ends_the_stream(self):
        srv = self.start_sse(interval="\"20ms\"", count=0)
        c = srv.connect(timeout=EVENT_TIMEOUT)
        c.send(get("/events"))
        deadline = time.monotonic() + EVENT_TIMEOUT
        while b"data: 2\n\n" not in c.buf and time.monotonic() < deadline:
            c._fill(deadline)
        self.assertIn(b"data: 2\n\n", c.buf)
        self.assertEqual(self.gauge(srv), 1)
        c.close()
        self.wait_gauge(srv, 0)
        self.assert_still_serving(srv)

    def test_the_handler_timeout_does_not_cut_a_stream(self):
        srv = self.start_sse(count=5, extra="handler_timeout = \"100ms\"\n")
        r = self.get_one(srv, "/events", timeout=EVENT_TIMEOUT)
        self.assertEqual((r.status, r.body), (200, events(5)))

    def test_other_methods_get_405(self):
        srv = self.start_sse()
        r = self.get_one(srv, "/events", method="POST", body=b"x")
        self.assertEqual((r.status, r.header("allow")), (405, "GET, HEAD"))

    def test_many_streams_on_one_loop(self):
        srv = self.start_sse("--loops", "1", interval="\"30ms\"", count=3)
        conns = []
        for _ in range(40):
            c = srv.connect(timeout=EVENT_TIMEOUT)
            self.addCleanup(c.close)
            c.send(get("/events"))
            conns.append(c)
        for c in conns:
            self.assertEqual(c.read_response(timeout=EVENT_TIMEOUT).body, events(3))
        self.assertEqual(self.gauge(srv), 0)

    def test_a_stop_ends_open_streams_at_once(self):
        srv = self.start_sse("--shutdown-timeout", "20s", interval="\"50ms\"", count=0)
        c = srv.connect(timeout=EVENT_TIMEOUT)
        self.addCleanup(c.close)
        c.send(get("/events"))
        deadline = time.monotonic() + EVENT_TIMEOUT
        while b"data: 1\n\n" not in c.buf and time.monotonic() < deadline:
            c._fill(deadline)
        t0 = time.monotonic()
        code, killed = srv.stop()
        # The plugin ended the stream (its stopping callback): the body is whole, and brisk did not wait.
        self.assertEqual((code, killed), (0, False), srv.stderr()[-2000:])
        self.assertLess(time.monotonic() - t0, 5)
        rest = c.read_until_eof(timeout=EVENT_TIMEOUT)
        self.assertTrue((bytes(c.buf) + rest).endswith(b"\r\n0\r\n\r\n") or rest.endswith(b"0\r\n\r\n"), rest[-40:])

    def test_bad_config_is_one_line_exit_1(self):
        d = self.tmpdir()
        path = os.path.join(d, "brisk.toml")
        for config in ("interval = \"soon\"", "interval = 0", "interval = true", "count = -1", "count = \"x\""):
            with open(path, "w") as f:
                f.write("[plugins.sse]\nfile = %s\nconfig = { %s }\n" % (toml_str(self.so), config))
            proc = run_brisk(["--config", path, "--listen", "127.0.0.1:0"])
            line = self.assert_one_line_error(proc, mention=config.split()[0])
            self.assertIn("brisk.toml:3", line)


class StreamTest(StreamTestCase):

    def setUp(self):
        self.so = self.need(fixture_so("stream"))

    def start_stream(self, *args):
        return self.start_plugins("--metrics", "/metrics", "--plugin", "/s=" + self.so, *args)

    def stats(self):
        d = self.events()
        return os.path.join(d, "stats")

    def assert_stats(self, path, how, sent):
        text = read_file(path, timeout=EVENT_TIMEOUT)
        m = re.match(r"^(\w+) sent=(\d+) refused=(\d+) drained=(\d+)\n$", text)
        self.assertIsNotNone(m, text)
        self.assertEqual((m.group(1), int(m.group(2))), (how, sent), text)
        return int(m.group(3)), int(m.group(4))

    def test_a_slow_reader_gets_every_byte_with_backpressure(self):
        srv = self.start_stream()
        stats = self.stats()
        n = 8 << 20
        c = self.slow_reader(srv)
        c.send(get("/s?bytes=%d&chunk=16384&stats=%s" % (n, stats)))
        time.sleep(0.5)  # the server's output backs up meanwhile
        self.assertEqual(self.gauge(srv), 1)
        r = c.read_response(timeout=60)
        self.assertEqual((r.status, r.header("transfer-encoding")), (200, "chunked"))
        self.assertEqual(len(r.body), n)
        self.assertEqual(r.body, pattern(n))
        refused, drained = self.assert_stats(stats, "ended", n)
        self.assertGreater(refused, 0, "the stream's bound never refused a send")
        self.assertEqual(drained, refused, "each refused send is followed by one drain callback")
        self.assertEqual(self.gauge(srv), 0)
        # The connection goes on.
        c.send(get("/plaintext"))
        self.assertEqual(c.read_response().body, HELLO)

    def test_a_thread_streams_from_outside_the_loop(self):
        srv = self.start_stream()
        stats = self.stats()
        n = 3 << 20
        c = self.slow_reader(srv, rcvbuf=16384)
        c.send(get("/s?bytes=%d&chunk=4000&thread=1&stats=%s" % (n, stats)))
        r = c.read_response(timeout=60)
        self.assertEqual(r.body, pattern(n))
        self.assert_stats(stats, "ended", n)

    def test_one_send_larger_than_the_bound_is_taken(self):
        srv = self.start_stream()
        stats = self.stats()
        n = 1 << 20
        r = self.get_one(srv, "/s?bytes=%d&chunk=%d&stats=%s" % (n, n, stats), timeout=30)
        self.assertEqual(r.body, pattern(n))
        self.assertEqual(self.assert_stats(stats, "ended", n), (0, 0))

    def test_http10_gets_a_close_delimited_body(self):
        srv = self.start_stream()
        n = 300000
        with srv.connect(timeout=30) as c:
            c.send(request("GET", "/s?bytes=%d" % n, version="HTTP/1.0"))
            data = c.read_until_eof(timeout=30)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertNotIn(b"transfer-encoding", head.lower())
        self.assertIn(b"connection: close", head.lower())
        self.assertEqual(body, pattern(n))

    def test_head_sends_the_head_only(self):
        srv = self.start_stream()
        stats = self.stats()
        with srv.connect() as c:
            c.send(request("HEAD", "/s?bytes=200000&stats=%s" % stats) + get("/plaintext"))
            r = c.read_response(head=True)
            self.assertEqual((r.status, r.header("transfer-encoding")), (200, "chunked"))
            # Nothing of the body came before the next answer.
            self.assertEqual(c.read_response().body, HELLO)
        self.assert_stats(stats, "ended", 200000)

    def test_a_status_without_a_body(self):
        srv = self.start_stream()
        with srv.connect() as c:
            c.send(get("/s?bytes=100&status=204") + get("/plaintext"))
            r = c.read_response()
            self.assertEqual((r.status, r.body, r.header("transfer-encoding")), (204, b"", None))
            self.assertEqual(c.read_response().body, HELLO)

    def test_pipelined_requests_wait_for_the_stream(self):
        srv = self.start_stream()
        n = 200000
        with srv.connect(timeout=30) as c:
            c.send(get("/s?bytes=%d&chunk=1000" % n) + get("/plaintext") + get("/s?bytes=10"))
            rs = c.read_responses(3, timeout=30)
        self.assertEqual([r.body for r in rs], [pattern(n), HELLO, pattern(10)])

    def test_a_client_that_leaves_cancels_the_stream(self):
        for thread in ("", "&thread=1"):
            with self.subTest(thread=bool(thread)):
                srv = self.start_stream()
                stats = self.stats()
                c = srv.connect(timeout=EVENT_TIMEOUT)
                c.send(get("/s?bytes=1000&hang=1&stats=%s%s" % (stats, thread)))
                deadline = time.monotonic() + EVENT_TIMEOUT
                while len(c.buf) < 1000 and time.monotonic() < deadline:
                    c._fill(deadline)
                c.close()
                self.assert_stats(stats, "cancelled", 1000)
                self.wait_gauge(srv, 0)
                self.assert_still_serving(srv)

    def test_the_write_timeout_cancels_a_stream_nobody_reads(self):
        srv = self.start_stream("--write-timeout", "1s")
        stats = self.stats()
        c = self.slow_reader(srv)
        t0 = time.monotonic()
        c.send(get("/s?bytes=%d&stats=%s" % (256 << 20, stats)))
        text = read_file(stats, timeout=EVENT_TIMEOUT)
        self.assertTrue(text.startswith("cancelled "), text)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(self.gauge(srv), 0)
        self.assert_still_serving(srv)

    def test_the_instance_knows_its_name_and_logs_outside_handle(self):
        srv = self.start_plugins(config=(
            "[plugins.fs]\nfile = %s\nconfig = { mode = 3 }\n\n"
            "[[route]]\nprefix = \"/s\"\nplugin = \"fs\"\n" % toml_str(self.so)))
        self.assert_logged(srv, "[fs] created as fs; mode is 2")
        c = srv.connect(timeout=EVENT_TIMEOUT)
        c.send(get("/s?bytes=10&hang=1"))
        c.read_response(head=True, timeout=EVENT_TIMEOUT)
        c.close()
        self.assert_logged(srv, "[fs] stream cancelled", timeout=EVENT_TIMEOUT)

    def test_calls_brisk_refuses_around_a_stream(self):
        srv = self.start_stream()
        d = self.events()
        result = os.path.join(d, "result")
        r = self.get_one(srv, "/s?misuse=1&result=%s" % result)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"bad_status=-1 own_field=-1 open=0 reopen=-1 resume=-1 null_send=-1 bad_handle=-1\n")
        self.assertEqual(read_file(result), "send=0 end=0 send_after_end=-1 end_again=-1\n")
        self.assert_still_serving(srv)


if __name__ == "__main__":
    unittest.main()
