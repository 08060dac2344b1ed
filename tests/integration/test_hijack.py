"""Plugin ABI 1.1 hijack through the real binary: a plugin takes the socket
out of brisk (like fasthttp's Hijack) with the bytes read past the request,
speaks its own protocol on it from a thread of its own, and closes it with
hijack_close(). Answers to earlier pipelined requests leave first; the
taken connection stays counted by --max-conns-per-ip and in the gauge of
upgraded connections until it is closed; calls that do not apply to a taken
handle refuse, with a reason from last_error(); a stop waits for a taken
connection until --shutdown-timeout. Fixture: fx_hijack
(tests/plugins/fixtures)."""

import os
import time
import unittest

from brisk_harness import HELLO, Server, decode, get
from test_later import LaterTestCase, read_file
from test_plugins import fixture_so

EVENT_TIMEOUT = 10.0
REFUSED = b"again=-1 send=-1 why=the handle is not an open stream (ended, cancelled, taken, or never valid)\n"


class HijackTest(LaterTestCase):

    def setUp(self):
        self.so = self.need(fixture_so("hijack"))

    def start_hijack(self, *args):
        return self.start_plugins("--metrics", "/metrics", "--plugin", "/hj=" + self.so, *args)

    def read_until(self, c, text):
        deadline = time.monotonic() + EVENT_TIMEOUT
        while text not in c.buf:
            if not c._fill(deadline):
                break
        self.assertIn(text, bytes(c.buf))
        at = c.buf.find(text) + len(text)
        got = bytes(c.buf[:at])
        del c.buf[:at]
        return got

    def gauge(self, srv):
        for line in decode(self.get_one(srv, "/metrics").body).splitlines():
            if line.startswith("brisk_upgraded_connections "):
                return int(line.split()[1])
        raise AssertionError("no brisk_upgraded_connections in the metrics")

    def wait_gauge(self, srv, value):
        deadline = time.monotonic() + EVENT_TIMEOUT
        while self.gauge(srv) != value and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.gauge(srv), value)

    def test_the_plugin_speaks_on_the_socket_and_closes_it(self):
        d = self.events()
        result = os.path.join(d, "result")
        srv = self.start_hijack()
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            # The bytes behind the request were read by brisk: the plugin gets them.
            c.send(get("/hj?result=" + result) + b"abc")
            self.assertEqual(self.read_until(c, b"\n"), b"TAKEN ahead=abc\n")
            # A second hijack and a stream_send on the taken handle refuse, and say why.
            self.assertEqual(self.read_until(c, b"\n"), REFUSED)
            self.assertEqual(self.gauge(srv), 1)
            c.send(b"one\ntwo\n")
            self.assertEqual(self.read_until(c, b"echo: two\n"), b"echo: one\necho: two\n")
            c.send(b"bye\n")
            self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), b"")
        self.assertEqual(read_file(result), "close=0 again=-1\n")
        self.wait_gauge(srv, 0)
        self.assert_text(self.get_one(srv, "/plaintext"), 200, HELLO)

    def test_earlier_pipelined_answers_leave_first(self):
        srv = self.start_hijack()
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(get("/plaintext") + get("/plaintext") + get("/hj") + b"tail")
            for _ in range(2):
                r = c.read_response(timeout=EVENT_TIMEOUT)
                self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertEqual(self.read_until(c, b"\n"), b"TAKEN ahead=tail\n")
            self.read_until(c, REFUSED)
            c.send(b"bye\n")
            self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), b"")

    def test_a_request_with_a_body_read_whole_may_be_taken(self):
        srv = self.start_hijack()
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(b"POST /hj HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
            self.assertEqual(self.read_until(c, b"\n"), b"TAKEN ahead=\n")
            c.shutdown_write()  # EOF: the plugin's thread closes it
            self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), REFUSED)

    def test_a_taken_connection_counts_under_max_conns_per_ip_until_closed(self):
        srv = self.start_hijack("--max-conns-per-ip", "1")
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(get("/hj"))
            self.read_until(c, REFUSED)
            with srv.connect(timeout=EVENT_TIMEOUT) as other:
                other.send(get("/plaintext"))
                self.assertEqual(other.read_response(timeout=EVENT_TIMEOUT).status, 429)
            c.send(b"bye\n")
            self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), b"")
        # Closed by hijack_close: its place is free again (the close is on its way to the loop).
        deadline = time.monotonic() + EVENT_TIMEOUT
        while True:
            r = self.get_one(srv, "/plaintext")
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assert_text(r, 200, HELLO)

    def test_a_stop_waits_for_a_taken_connection_until_the_shutdown_timeout(self):
        srv = Server(["--plugin", "/hj=" + self.so, "--shutdown-timeout", "1s"])
        self.addCleanup(srv.cleanup)
        srv.start()
        c = srv.connect(timeout=EVENT_TIMEOUT)
        self.addCleanup(c.close)
        c.send(get("/hj"))
        self.read_until(c, REFUSED)
        t0 = time.monotonic()
        code, killed = srv.stop()
        # Counted like any open connection: the stop waited for it, then gave up (exit 1).
        self.assertEqual((code, killed), (1, False), srv.stderr()[-2000:])
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertIn("shutdown timeout", srv.stderr())
        self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), b"")

if __name__ == "__main__":
    unittest.main()
