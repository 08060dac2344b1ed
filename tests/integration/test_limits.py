"""Connection limits (--concurrency, --max-conns-per-ip, --defer-accept) and header size limits."""

import socket
import time
import unittest

from brisk_harness import (HELLO, TCP_ESTABLISHED, TCP_SYN_RECV, BriskTestCase, decode, get, ipv6_available,
                           run_brisk, server_end)


class LimitMixin:
    def hold(self, srv, n, source=None):
        """Opens n connections that each got a 200; they stay open."""
        conns = []
        for _ in range(n):
            c = srv.connect(source=source)
            self.addCleanup(c.close)
            c.send(get())
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO), "held connection %d: %r"
                             % (len(conns) + 1, r))
            conns.append(c)
        return conns

    def assert_refused_with(self, srv, status, source=None):
        c = srv.connect(source=source)
        self.addCleanup(c.close)
        try:
            c.send(get() + get())
        except OSError:
            pass   # the server may answer and close before the request is written
        r = c.read_response()
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.closes(), "%d without Connection: close: %r" % (status, r))
        self.assert_closes(c, what="after the %d" % status)
        # brisk lingers on a refused connection until our FIN (or 2 s), and it
        # counts towards --concurrency meanwhile: let it go, so that the next
        # check waits for the held connection's release, not for the linger.
        c.close()
        return r


class ConcurrencyTest(LimitMixin, BriskTestCase):
    def test_503_over_concurrency(self):
        srv = self.start("--concurrency", "2", "--loops", "1")
        held = self.hold(srv, 2)
        self.assert_refused_with(srv, 503)
        # the held connections are untouched
        for c in held:
            c.send(get())
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
        held[0].close()
        self.assert_served_again(srv)

    def test_503_with_two_loops(self):
        srv = self.start("--concurrency", "3", "--loops", "2")
        held = self.hold(srv, 3)
        self.assert_refused_with(srv, 503)
        held[2].close()
        self.assert_served_again(srv)


class ConnsPerIpTest(LimitMixin, BriskTestCase):
    def test_429_ipv4(self):
        srv = self.start("--max-conns-per-ip", "2", "--loops", "1")
        held = self.hold(srv, 2)
        self.assert_refused_with(srv, 429)
        held[1].close()
        self.assert_served_again(srv)

    def test_limit_is_per_address(self):
        # 127.0.0.2 is another client address on the loopback interface
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.2", 0))
        except OSError:
            self.skipTest("127.0.0.2 not usable here")
        srv = self.start("--max-conns-per-ip", "1", "--loops", "1")
        (a,) = self.hold(srv, 1, source="127.0.0.1")
        (b,) = self.hold(srv, 1, source="127.0.0.2")
        self.assert_refused_with(srv, 429, source="127.0.0.1")
        self.assert_refused_with(srv, 429, source="127.0.0.2")
        a.close()
        self.assert_served_again(srv, source="127.0.0.1")
        b.close()
        self.assert_served_again(srv, source="127.0.0.2")

    @unittest.skipUnless(ipv6_available(), "::1 not available")
    def test_429_ipv6(self):
        srv = self.start("--max-conns-per-ip", "2", "--loops", "1", kind="tcp6")
        held = self.hold(srv, 2)
        self.assert_refused_with(srv, 429)
        held[0].close()
        self.assert_served_again(srv)


class DeferAcceptTest(LimitMixin, BriskTestCase):
    """--defer-accept: a TCP connection is taken when its first bytes arrive.
    A per-address limit of 1 shows whether a silent connection was taken."""

    def test_silent_connection_is_not_taken_by_default(self):
        srv = self.start("--max-conns-per-ip", "1", "--loops", "1")
        silent = srv.connect()
        self.addCleanup(silent.close)
        # The silent connection holds no place: another client is served.
        self.hold(srv, 1)
        self.assertEqual((server_end(srv, silent.sock) or ("gone",))[0], TCP_SYN_RECV,
                         "the silent connection is not deferred")

    def test_silent_connection_is_taken_after_the_deferral(self):
        srv = self.start("--max-conns-per-ip", "1", "--loops", "1", "--defer-accept", "1s")
        silent = srv.connect()
        self.addCleanup(silent.close)
        # Deferred: brisk's end is still a request socket in the kernel, and holds no place.
        self.assertEqual((server_end(srv, silent.sock) or ("gone",))[0], TCP_SYN_RECV, "not deferred")
        with srv.connect() as c:
            c.send(get())
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        # After about a second the kernel repeats its SYN-ACK and the client's
        # ACK hands the connection over: wait for that with no connection of
        # ours in the only place.
        deadline = time.monotonic() + 10
        while (server_end(srv, silent.sock) or ("gone",))[0] != TCP_ESTABLISHED:
            self.assertLess(time.monotonic(), deadline, "the silent connection was never accepted")
            time.sleep(0.02)
        # It is ahead of any new connection in the accept queue: brisk counts it first.
        with srv.connect() as c:
            c.send(get())
            r = c.read_response()
        self.assertEqual(r.status, 429, r)
        silent.send(get())
        r = silent.read_response()
        self.assertEqual((r.status, r.body), (200, HELLO))

    def test_zero_accepts_at_the_handshake(self):
        srv = self.start("--max-conns-per-ip", "1", "--loops", "1", "--defer-accept", "0")
        silent = srv.connect()
        self.addCleanup(silent.close)
        self.assert_refused_with(srv, 429)
        silent.send(get())
        r = silent.read_response()
        self.assertEqual((r.status, r.body), (200, HELLO))

    def test_in_the_config_file(self):
        srv = self.start("--max-conns-per-ip", "1", "--loops", "1", config='defer_accept = "0s"\n')
        silent = srv.connect()
        self.addCleanup(silent.close)
        self.assert_refused_with(srv, 429)

    def test_bad_value(self):
        p = run_brisk(["--defer-accept", "soon", "--check-config"])
        err = decode(p.stderr)
        self.assertEqual(p.returncode, 1, err)
        self.assertIn('--defer-accept: bad duration "soon"', err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)


class HeaderSizeDefaultTest(BriskTestCase):
    def test_default_header_limit_is_16kib(self):
        srv = self.start()
        ok = get(headers=[("X-Pad", "p" * (15 << 10))])
        with srv.connect() as c:
            c.send(ok)
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assert_rejected(srv, get(headers=[("X-Pad", "p" * (17 << 10))]), 431)
        self.assert_rejected(srv, get("/" + "t" * (17 << 10)), 414)

    def test_header_size_flag(self):
        srv = self.start("--max-header-size", "32KiB")
        with srv.connect() as c:
            c.send(get(headers=[("X-Pad", "p" * (24 << 10))]))
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assert_rejected(srv, get(headers=[("X-Pad", "p" * (33 << 10))]), 431)


if __name__ == "__main__":
    unittest.main()
