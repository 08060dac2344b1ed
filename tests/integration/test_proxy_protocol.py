"""PROXY protocol listeners (--listen ADDR,proxy) and trusted proxies
(--trusted-proxy CIDR) through the real binary and raw sockets: the client
address of a v1 or v2 header reaches plugins (the echo plugin's X-Echo-Peer
header), the access log and --max-conns-per-ip; LOCAL and UNKNOWN keep the
socket's peer; malformed, truncated and oversized headers are closed without
an answer and without a log line; a trusted peer's X-Forwarded-For names the
client for plugins and the log.
"""

import os
import signal
import socket
import struct
import time
import unittest

from brisk_harness import IO_TIMEOUT, BriskTestCase, brisk_bin, free_port, get, request, run_brisk

LOG_WAIT = 5.0  # seconds the access log writer may take to write a line


def echo_so():
    return os.path.join(os.path.dirname(os.path.abspath(brisk_bin())), "plugins", "libecho.so")


def v1(src, dst="127.0.0.1", sport=51234, dport=80, proto="TCP4"):
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode()


SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(src=None, sport=0, dst=None, dport=0, command=1, tlvs=b""):
    """A version 2 header; src/dst IPv4 or IPv6 text, None for AF_UNSPEC."""
    if src is None:
        fam, block = 0x00, b""
    elif ":" in src:
        fam = 0x21
        block = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst or "::1")
                 + struct.pack("!HH", sport, dport))
    else:
        fam = 0x11
        block = (socket.inet_aton(src) + socket.inet_aton(dst or "127.0.0.1") + struct.pack("!HH", sport, dport))
    body = block + tlvs
    return SIG + bytes([0x20 | command, fam]) + struct.pack("!H", len(body)) + body


class ProxyCase(BriskTestCase):
    def setUp(self):
        self.assertTrue(os.path.isfile(echo_so()), "echo plugin not built: %s" % echo_so())

    def start_proxy(self, *extra, log=False, fmt="$remote_addr $remote_port $status $request"):
        """brisk with a plain listener (the harness's) and a PROXY one; /echo/ is the echo plugin."""
        self.pport = free_port()
        args = ["--listen", "127.0.0.1:%d,proxy" % self.pport, "--plugin", "/echo/=" + echo_so()]
        if log:
            args += ["--access-log", "@TMP@/access.log", "--access-log-format", fmt]
        srv = self.start(*args, *extra)
        self.log_path = os.path.join(srv.tmp, "access.log")
        return srv

    def pconnect(self, srv, timeout=IO_TIMEOUT):
        s = socket.create_connection(("127.0.0.1", self.pport), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        from brisk_harness import Conn
        return Conn(s)

    def peer_via(self, srv, header, target="/echo/x", headers=()):
        with self.pconnect(srv) as c:
            c.send(header + request("GET", target, headers=headers))
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        return r.header("x-echo-peer")

    def log_lines(self, want, timeout=LOG_WAIT):
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            if os.path.exists(self.log_path):
                with open(self.log_path) as f:
                    lines = [l for l in f.read().splitlines() if "/__probe" not in l]
                if len(lines) >= want:
                    break
            time.sleep(0.05)
        return lines

    def assert_closed_silently(self, conn, timeout=IO_TIMEOUT):
        data = conn.read_until_eof(timeout=timeout)
        self.assertEqual(data, b"", "a refused PROXY header got an answer")


class ProxyHeaderTest(ProxyCase):
    def test_v1_tcp4_and_tcp6_reach_the_plugin(self):
        srv = self.start_proxy()
        self.assertEqual(self.peer_via(srv, v1("203.0.113.7", sport=51234)), "203.0.113.7 51234")
        self.assertEqual(self.peer_via(srv, v1("2001:db8::7", "::1", 443, 80, "TCP6")), "2001:db8::7 443")

    def test_v2_inet_and_inet6_with_tlvs(self):
        srv = self.start_proxy()
        self.assertEqual(self.peer_via(srv, v2("198.51.100.20", 4000)), "198.51.100.20 4000")
        tlvs = b"\x01\x00\x02h2" + b"\x04\x00\x03pad"
        self.assertEqual(self.peer_via(srv, v2("2001:db8::20", 65535, tlvs=tlvs)), "2001:db8::20 65535")

    def test_local_unknown_and_unspec_keep_the_socket_peer(self):
        srv = self.start_proxy()
        for header in (v2(command=0), b"PROXY UNKNOWN\r\n", b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", v2(None)):
            peer = self.peer_via(srv, header)
            self.assertTrue(peer.startswith("127.0.0.1 "), (header, peer))

    def test_header_in_pieces_and_keep_alive(self):
        srv = self.start_proxy()
        with self.pconnect(srv) as c:
            c.send_slowly(v2("192.0.2.55", 1234) + get("/echo/a")[:5], step=1)
            c.send(get("/echo/a")[5:])
            r = c.read_response()
            self.assertEqual(r.header("x-echo-peer"), "192.0.2.55 1234")
            # The header comes once; the next request on the connection keeps its client.
            c.send(get("/echo/b"))
            r = c.read_response()
            self.assertEqual(r.header("x-echo-peer"), "192.0.2.55 1234")
        with self.pconnect(srv) as c:
            c.send_slowly(v1("192.0.2.56", sport=9), step=3)
            c.send(get("/echo/c"))
            self.assertEqual(c.read_response().header("x-echo-peer"), "192.0.2.56 9")

    def test_plain_listener_needs_no_header(self):
        srv = self.start_proxy()
        with srv.connect() as c:
            c.send(get("/echo/plain"))
            r = c.read_response()
        self.assertTrue(r.header("x-echo-peer").startswith("127.0.0.1 "), r)
        # A PROXY header on a plain listener is just a bad request.
        with srv.connect() as c:
            c.send(v1("203.0.113.7") + get("/echo/plain"))
            self.assertEqual(c.read_response().status, 400)

    def test_access_log_shows_the_real_client(self):
        srv = self.start_proxy(log=True)
        self.peer_via(srv, v1("203.0.113.99", sport=777), target="/echo/logged")
        lines = self.log_lines(1)
        self.assertEqual(lines, ["203.0.113.99 777 200 GET /echo/logged HTTP/1.1"])


class MalformedHeaderTest(ProxyCase):
    BAD = [
        b"GET /echo/x HTTP/1.1\r\nHost: x\r\n\r\n",          # no header at all
        b"PROXY TCP4 203.0.113.7 127.0.0.1 1\r\n",           # missing port
        b"PROXY TCP4 203.0.113.7 127.0.0.1 1 2 3\r\n",       # extra field
        b"PROXY TCP4 203.0.113.300 127.0.0.1 1 2\r\n",       # bad address
        b"PROXY TCP4 ::1 ::1 1 2\r\n",                       # IPv6 under TCP4
        b"PROXY TCP4 203.0.113.7 127.0.0.1 1 2\n",           # bare LF
        b"PROXY UNKNOWN " + b"x" * 120 + b"\r\n",            # longer than 107 bytes
        b"PROXY TCP9 1.2.3.4 5.6.7.8 1 2\r\n",
        SIG + b"\x22\x11\x00\x0c" + b"\x00" * 12,            # command 2
        SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12,            # version 3
        SIG + b"\x21\x51\x00\x0c" + b"\x00" * 12,            # family 5
        SIG + b"\x21\x11\x00\x08" + b"\x00" * 8,             # address block too short
        SIG + b"\x21\x11\x00\x0f" + b"\x00" * 12 + b"\x01\x00",  # TLV cut short
        SIG + b"\x21\x11\xff\xff",                           # longer than brisk accepts
    ]

    def test_malformed_headers_are_closed_without_answer_or_log(self):
        srv = self.start_proxy(log=True)
        for bad in self.BAD:
            with self.subTest(bad=bad[:40]):
                with self.pconnect(srv) as c:
                    c.send(bad + get("/echo/x"))
                    self.assert_closed_silently(c)
        # The server goes on; only the good request is logged.
        self.peer_via(srv, v1("203.0.113.1", sport=5), target="/echo/good")
        lines = self.log_lines(1)
        time.sleep(0.3)
        lines = self.log_lines(1)
        self.assertEqual(lines, ["203.0.113.1 5 200 GET /echo/good HTTP/1.1"])
        self.assertNotIn("203.0.113.7", srv.stderr())

    def test_truncated_header_times_out_silently(self):
        srv = self.start_proxy("--read-timeout", "1s", log=True)
        with self.pconnect(srv) as c:
            c.send(b"PROXY TCP4 203.0.113.7 127.0")
            t0 = time.monotonic()
            self.assert_closed_silently(c, timeout=5.0)
            self.assertLess(time.monotonic() - t0, 4.0)
        with self.pconnect(srv) as c:  # a v2 header that promises more than it sends
            c.send(SIG + b"\x21\x11\x00\x20" + b"\x00" * 12)
            self.assert_closed_silently(c, timeout=5.0)
        with self.pconnect(srv) as c:  # the client ends within the header
            c.send(b"PROXY TCP4 203.0")
            c.shutdown_write()
            self.assert_closed_silently(c)
        with self.pconnect(srv) as c:  # nothing at all
            self.assert_closed_silently(c, timeout=5.0)
        self.peer_via(srv, v1("203.0.113.2", sport=6), target="/echo/good")
        time.sleep(0.3)
        self.assertEqual(self.log_lines(1), ["203.0.113.2 6 200 GET /echo/good HTTP/1.1"])

    def test_stop_does_not_wait_for_a_header(self):
        srv = self.start_proxy("--read-timeout", "60s")
        c = self.pconnect(srv)
        self.addCleanup(c.close)
        c.send(b"PROXY TCP4 1.2")
        time.sleep(0.2)
        t0 = time.monotonic()
        self.stop_and_check(srv)
        self.assertLess(time.monotonic() - t0, 5.0)

    def test_stop_answers_a_header_that_completes_at_once(self):
        # Like a connection accepted just before the stop: a moment to finish.
        srv = self.start_proxy("--read-timeout", "60s", "--loops", "1")
        c = self.pconnect(srv)
        self.addCleanup(c.close)
        c.send(b"PROXY TCP4 203.0.113.4 127.0.0.1 1 2")
        time.sleep(0.2)
        srv.send_signal(signal.SIGTERM)
        self.wait_until_not_accepting(srv)  # the drain began (--loops 1): the header's moment starts now
        c.send(b"\r\n" + get("/echo/late"))
        r = c.read_response()
        self.assertEqual((r.status, r.header("x-echo-peer")), (200, "203.0.113.4 1"), r)
        self.assertTrue(r.closes(), r)
        c.close()
        self.assertEqual(srv.wait_exit(), 0, srv.stderr())


class PerIpLimitTest(ProxyCase):
    def test_the_real_client_is_counted(self):
        srv = self.start_proxy("--max-conns-per-ip", "1")
        a = self.pconnect(srv)
        self.addCleanup(a.close)
        a.send(v1("203.0.113.7", sport=1) + get("/echo/a"))
        self.assertEqual(a.read_response().status, 200)
        # Another connection of the same client: refused.
        with self.pconnect(srv) as b:
            b.send(v1("203.0.113.7", sport=2) + get("/echo/b"))
            self.assertEqual(b.read_response().status, 429)
        # Other clients behind the same proxy: not limited by the proxy's address.
        others = []
        for i in range(3):
            o = self.pconnect(srv)
            self.addCleanup(o.close)
            o.send(v2("198.51.100.%d" % (i + 1), 10 + i) + get("/echo/o"))
            self.assertEqual(o.read_response().status, 200)
            others.append(o)
        # A direct connection from 127.0.0.1 is not held back by them either.
        with srv.connect() as d:
            d.send(get("/echo/d"))
            self.assertEqual(d.read_response().status, 200)
        # Once the first connection is gone, its client may connect again.
        a.close()
        deadline = time.monotonic() + 3.0
        status = None
        while time.monotonic() < deadline:
            with self.pconnect(srv) as e:
                e.send(v1("203.0.113.7", sport=3) + get("/echo/e"))
                status = e.read_response().status
            if status == 200:
                break
            time.sleep(0.05)
        self.assertEqual(status, 200)


class TrustedProxyTest(ProxyCase):
    XFF = [("X-Forwarded-For", "192.0.2.200, 203.0.113.50, 127.0.0.5")]

    def test_trusted_peer_x_forwarded_for(self):
        srv = self.start_proxy("--trusted-proxy", "127.0.0.0/8", "--trusted-proxy", "10.0.0.0/8", log=True)
        with srv.connect() as c:
            c.send(request("GET", "/echo/xff", headers=self.XFF))
            self.assertEqual(c.read_response().header("x-echo-peer"), "203.0.113.50 0")
            # The next request on the connection without the field: the peer again.
            c.send(get("/echo/plain"))
            self.assertTrue(c.read_response().header("x-echo-peer").startswith("127.0.0.1 "))
        # Behind a PROXY header naming a trusted proxy, its X-Forwarded-For counts...
        self.assertEqual(self.peer_via(srv, v1("10.9.8.7"), headers=self.XFF), "203.0.113.50 0")
        # ...behind one naming an untrusted client, it does not.
        self.assertEqual(self.peer_via(srv, v1("198.51.100.3", sport=4), headers=self.XFF), "198.51.100.3 4")
        # Loops write their lines independently: compare without order.
        lines = self.log_lines(4)
        self.assertEqual(len(lines), 4, lines)
        self.assertIn("203.0.113.50 0 200 GET /echo/xff HTTP/1.1", lines)
        self.assertIn("203.0.113.50 0 200 GET /echo/x HTTP/1.1", lines)
        self.assertIn("198.51.100.3 4 200 GET /echo/x HTTP/1.1", lines)
        self.assertTrue(any(l.startswith("127.0.0.1 ") and "/echo/plain" in l for l in lines), lines)

    def test_unix_socket_peers_trusted_with_unix(self):
        srv = self.start("--trusted-proxy", "unix", "--plugin", "/echo/=" + echo_so(), kind="unix")
        with srv.connect() as c:
            # Only the socket's peer is trusted: the right-most address is the client.
            c.send(request("GET", "/echo/xff", headers=self.XFF))
            self.assertEqual(c.read_response().header("x-echo-peer"), "127.0.0.5 0")
        srv2 = self.start("--trusted-proxy", "127.0.0.0/8", "--plugin", "/echo/=" + echo_so(), kind="unix")
        with srv2.connect() as c:
            c.send(request("GET", "/echo/xff", headers=self.XFF))
            self.assertEqual(c.read_response().header("x-echo-peer"), "unix 0")

    def test_untrusted_peer_x_forwarded_for_is_ignored(self):
        srv = self.start_proxy("--trusted-proxy", "10.0.0.0/8")
        with srv.connect() as c:
            c.send(request("GET", "/echo/xff", headers=self.XFF))
            self.assertTrue(c.read_response().header("x-echo-peer").startswith("127.0.0.1 "))

    def test_toml_keys(self):
        port, pport = free_port(), free_port()
        config = ('listen = ["127.0.0.1:%d", "127.0.0.1:%d,proxy"]\ntrusted_proxies = ["127.0.0.1", "::1/128"]\n'
                  '[[route]]\npath = "/plaintext"\nrespond = "Hello, World!"\n' % (port, pport))
        srv = self.start(config=config, kind="none", probe=(socket.AF_INET, ("127.0.0.1", port)),
                         listen_flag=False)
        self.pport = pport
        with self.pconnect(srv) as c:
            c.send(v1("203.0.113.9") + get("/plaintext"))
            self.assertEqual(c.read_response().status, 200)

    def test_toml_listen_tables(self):
        port, pport = free_port(), free_port()
        config = ('[[listen]]\naddress = "127.0.0.1:%d"\n\n[[listen]]\naddress = "127.0.0.1:%d"\nproxy = true\n\n'
                  '[[route]]\npath = "/plaintext"\nrespond = "Hello, World!"\n' % (port, pport))
        srv = self.start(config=config, kind="none", probe=(socket.AF_INET, ("127.0.0.1", port)),
                         listen_flag=False)
        self.pport = pport
        with self.pconnect(srv) as c:
            c.send(v2("203.0.113.9", 7) + get("/plaintext"))
            self.assertEqual(c.read_response().status, 200)
        with self.pconnect(srv) as c:  # no header on the PROXY listener: closed, no answer
            c.send(get("/plaintext"))
            self.assert_closed_silently(c)

    def test_bad_ranges_and_listen_options_are_refused(self):
        for args, mention in (
                (["--trusted-proxy", "10.0.0.1/8"], "the range is 10.0.0.0/8"),
                (["--trusted-proxy", "10.0.0.0/33"], "at most 32"),
                (["--trusted-proxy", "proxy.example"], "not a numeric IPv4 or IPv6 address"),
                (["--listen", "127.0.0.1:0,prox"], "unknown option \"prox\"")):
            with self.subTest(args=args):
                p = run_brisk(args + ["--check-config"])
                self.assertNotEqual(p.returncode, 0, p)
                self.assertIn(mention, p.stderr if isinstance(p.stderr, str) else p.stderr.decode())


if __name__ == "__main__":
    unittest.main()
