"""Hostile and faulty clients: slowloris and slow bodies, readers that never
read, thousands of idle connections, slowhttptest, resets, half-closes,
clients that vanish, requests at exactly every limit and one byte over, and
a pipelined flood. brisk must keep serving everybody else, hold its memory
bounded and leak no descriptor.

Memory is brisk's RSS from /proc/PID/status; descriptors are the entries of
/proc/PID/fd. Sanitizer builds (BRISK_SANITIZE set) run the same counts
with looser time and memory bounds.
"""

import os
import re
import resource
import shutil
import socket
import struct
import subprocess
import threading
import time
import unittest

from brisk_harness import HELLO, BriskTestCase, Conn, Server, brisk_bin, get, request

SANITIZED = bool(os.environ.get("BRISK_SANITIZE", "").strip())
# Sanitizer builds are slower and allocate with redzones and a quarantine.
SLOW = 3.0 if SANITIZED else 1.0
MEM = 4 if SANITIZED else 1

KiB = 1024
MiB = 1024 * 1024


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def linger0(sock):
    """Makes close() send a RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class HostileCase(BriskTestCase):
    def fd_baseline(self, srv):
        """brisk's descriptor count with no client connected."""
        self.assert_still_serving(srv)
        deadline = time.monotonic() + 3
        n = open_fds(srv.pid)
        while time.monotonic() < deadline:
            time.sleep(0.1)
            m = open_fds(srv.pid)
            if m == n:
                return n
            n = m
        return n

    def assert_fds_back(self, srv, baseline, timeout=6.0, what=""):
        """brisk's descriptor count returns to `baseline` (lingering
        connections may take up to 2 s to go)."""
        deadline = time.monotonic() + timeout * SLOW
        n = open_fds(srv.pid)
        while n > baseline and time.monotonic() < deadline:
            time.sleep(0.1)
            n = open_fds(srv.pid)
        self.assertLessEqual(n, baseline, "%d descriptors open %s, %d before: a leak"
                             % (n, what, baseline))
        self.assertTrue(srv.alive(), "brisk died: %s" % srv.stderr()[-2000:])

    def timed_get(self, srv, bound):
        """A fresh connection gets 200 within `bound` seconds (scaled)."""
        t0 = time.monotonic()
        with srv.connect() as c:
            c.send(get())
            r = c.read_response(timeout=bound * SLOW + 2)
        elapsed = time.monotonic() - t0
        self.assertEqual((r.status, r.body), (200, HELLO), r)
        self.assertLess(elapsed, bound * SLOW, "a normal client waited %.2f s" % elapsed)
        return elapsed


# --------------------------------------------------------------------------
# Slow senders: answered 408 and closed at --read-timeout, others served
# --------------------------------------------------------------------------

class SlowSenderTest(HostileCase):
    N_SLOW = 30
    TICK = 0.1

    def setUp(self):
        self.srv = self.start("--read-timeout", "1s", "--idle-timeout", "30s", "--loops", "1")
        self.baseline = self.fd_baseline(self.srv)

    def _attack(self, prefix, trickle):
        """N_SLOW connections send `prefix`, then one byte of `trickle` per
        tick. Meanwhile a normal client is served again and again. Every slow
        connection must get exactly one 408 with Connection: close, then EOF,
        between 0.7 and 4 s after its first byte."""
        slow = []
        for _ in range(self.N_SLOW):
            c = self.srv.connect()
            self.addCleanup(c.close)
            c.sock.setblocking(False)
            slow.append({"c": c, "t0": time.monotonic(), "pos": 0, "got": bytearray(),
                         "eof": None, "first": None})
            c.sock.send(prefix)
        normal = []
        deadline = time.monotonic() + 8 * SLOW
        next_tick = time.monotonic()  # ticks by the clock: a slow round does not stretch the next
        while time.monotonic() < deadline and any(s["eof"] is None for s in slow):
            for s in slow:
                if s["eof"] is not None:
                    continue
                sock = s["c"].sock
                try:
                    while True:
                        d = sock.recv(65536)
                        if not d:
                            s["eof"] = time.monotonic()
                            break
                        if s["first"] is None:
                            s["first"] = time.monotonic()
                        s["got"] += d
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    s["eof"] = time.monotonic()
                if s["eof"] is None and s["first"] is None and s["pos"] < len(trickle):
                    try:
                        sock.send(trickle[s["pos"]:s["pos"] + 1])
                        s["pos"] += 1
                    except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                        pass
            normal.append(self.timed_get(self.srv, 0.5))
            next_tick += self.TICK
            time.sleep(max(0.0, next_tick - time.monotonic()))
        for i, s in enumerate(slow):
            self.assertIsNotNone(s["eof"], "slow connection %d still open after %.0f s"
                                 % (i, 8 * SLOW))
            self.assertLess(s["pos"], len(trickle), "the trickle ran out before the timeout")
            self.assertGreaterEqual(s["pos"], 3, "connection %d hardly trickled" % i)
            head = bytes(s["got"])
            self.assertTrue(head.startswith(b"HTTP/1.1 408 "), "connection %d got %r" % (i, head[:200]))
            self.assertEqual(head.count(b"HTTP/1.1 "), 1, head)
            self.assertIn(b"\r\nConnection: close\r\n", head)
            waited = s["first"] - s["t0"]
            self.assertGreater(waited, 0.7, "408 before the read timeout (%.2f s)" % waited)
            self.assertLess(waited, 4.0 * SLOW, "408 came late (%.2f s)" % waited)
        self.assertGreaterEqual(len(normal), 5)
        self.assert_fds_back(self.srv, self.baseline, what="after the slow clients")
        self.assert_still_serving(self.srv)

    def test_slowloris_headers(self):
        # a header section that never ends, one byte per tick
        self._attack(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n",
                     b"".join(b"X-H%03d: v\r\n" % i for i in range(200)))

    def test_slow_request_line(self):
        self._attack(b"G", b"ET /plaintext?" + b"q" * 400)

    def test_slow_body_content_length(self):
        self._attack(request("POST", headers=[("Content-Length", "4000")]), b"b" * 4000)

    def test_slow_body_chunked(self):
        self._attack(request("POST", headers=[("Transfer-Encoding", "chunked")]),
                     b"".join(b"1\r\nz\r\n" for _ in range(500)))


# --------------------------------------------------------------------------
# Readers that never read: bounded memory, dropped at --write-timeout
# --------------------------------------------------------------------------

class SlowReaderTest(HostileCase):
    def test_non_readers_bounded_and_dropped(self):
        big = 64 * KiB
        srv = self.start("--write-timeout", "2s", "--read-timeout", "30s", "--idle-timeout", "30s",
                         "--loops", "1", "--respond", "/big=" + "w" * big)
        baseline = self.fd_baseline(srv)
        rss0 = rss_kib(srv.pid)
        n_conn, n_req = 8, 1000   # 8 x 1000 x 64 KiB = 500 MiB asked for, never read
        socks = []
        for _ in range(n_conn):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(3)
            s.connect(srv.addr)
            try:
                s.sendall(get("/big") * n_req)
            except OSError:
                pass   # the server stopped reading: fine, it has plenty to answer
            socks.append(s)
        t_sent = time.monotonic()
        peak = 0
        # the writes stall at once; the write timeout (2 s) then drops them all
        while time.monotonic() - t_sent < 1.5:
            peak = max(peak, rss_kib(srv.pid) - rss0)
            self.timed_get(srv, 0.5)
            time.sleep(0.1)
        self.assertLess(peak, 16 * KiB * MEM,
                        "RSS grew by %d KiB for clients that do not read: unbounded output" % peak)
        self.assert_fds_back(srv, baseline, timeout=5.0, what="after the write timeout")
        peak = max(peak, rss_kib(srv.pid) - rss0)
        for i, s in enumerate(socks):
            total, deadline = 0, time.monotonic() + 10
            closed = False
            s.settimeout(2)
            while time.monotonic() < deadline:
                try:
                    d = s.recv(1 << 20)
                except ConnectionResetError:
                    closed = True
                    break
                if not d:
                    closed = True
                    break
                total += len(d)
            self.assertTrue(closed, "non-reader %d: still open" % i)
            self.assertLess(total, n_req * big, "non-reader %d got every answer" % i)
        self.assertLess(peak, 16 * KiB * MEM, "RSS grew by %d KiB" % peak)
        self.assert_still_serving(srv)


    def test_static_file_non_readers_and_resets(self):
        # large files leave by sendfile, borrowing the open-file cache's
        # descriptor: a dropped or reset client must give it back
        srv = Server(["--write-timeout", "2s", "--read-timeout", "30s", "--loops", "1",
                      "--static", "/f/=@TMP@/files"])
        self.addCleanup(srv.cleanup)
        os.mkdir(os.path.join(srv.tmp, "files"))
        size = 8 * MiB
        with open(os.path.join(srv.tmp, "files", "big.bin"), "wb") as f:
            f.write(b"s" * size)
        srv.start()
        self.addCleanup(self.stop_and_check, srv)
        with srv.connect() as c:   # the cache now holds the file
            c.send(get("/f/big.bin"))
            r = c.read_response(timeout=10 * SLOW)
            self.assertEqual((r.status, len(r.body)), (200, size))
        baseline = self.fd_baseline(srv)
        rss0 = rss_kib(srv.pid)
        socks = []
        for i in range(6):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(s.close)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(3)
            s.connect(srv.addr)
            s.sendall(get("/f/big.bin") * 20)
            if i % 2:
                s.recv(1000)
                linger0(s)
                s.close()   # reset mid-sendfile
            else:
                socks.append(s)   # never reads: dropped at the write timeout
        time.sleep(0.5)
        self.timed_get(srv, 0.5)
        self.assert_fds_back(srv, baseline, timeout=6.0, what="after the static-file non-readers")
        self.assertLess(rss_kib(srv.pid) - rss0, 16 * KiB * MEM,
                        "RSS grew while files waited for clients that do not read")
        for i, s in enumerate(socks):
            got, closed, deadline = 0, False, time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    d = s.recv(1 << 20)
                except ConnectionResetError:
                    closed = True
                    break
                if not d:
                    closed = True
                    break
                got += len(d)
            self.assertTrue(closed, "non-reader %d still open" % i)
            self.assertLess(got, 20 * size)
        with srv.connect() as c:
            c.send(get("/f/big.bin"))
            r = c.read_response(timeout=10 * SLOW)
            self.assertEqual((r.status, len(r.body)), (200, size))
        self.assert_still_serving(srv)


# --------------------------------------------------------------------------
# Many idle connections
# --------------------------------------------------------------------------

class IdleConnectionsTest(HostileCase):
    N = 5000

    def raise_nofile(self, want):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft >= want:
            return
        target = hard if hard == resource.RLIM_INFINITY else min(hard, 20000)
        if target != resource.RLIM_INFINITY and target < want:
            self.skipTest("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as e:
            self.skipTest("cannot raise RLIMIT_NOFILE: %s" % e)
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def test_5000_idle_connections(self):
        self.raise_nofile(self.N + 500)
        # brisk inherits the raised limit (and raises its own to the hard one)
        srv = self.start("--idle-timeout", "300s", "--read-timeout", "300s", "--loops", "1")
        baseline = self.fd_baseline(srv)
        for _ in range(50):
            self.timed_get(srv, 1.0)
        rss0 = rss_kib(srv.pid)
        conns = []

        def close_all():
            for c in conns:
                c.close()
        self.addCleanup(close_all)
        # two of every three send one request (idle keep-alive after it);
        # the others never send a byte
        for start in range(0, self.N, 250):
            batch = []
            for i in range(start, min(self.N, start + 250)):
                c = srv.connect(timeout=10)
                conns.append(c)
                if i % 3:
                    c.send(get())
                    batch.append(c)
            for c in batch:
                r = c.read_response(timeout=10)
                self.assertEqual((r.status, r.body), (200, HELLO), r)
        deadline = time.monotonic() + 5 * SLOW
        while open_fds(srv.pid) < baseline + self.N and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(open_fds(srv.pid), baseline + self.N,
                         "brisk does not hold the %d connections" % self.N)
        time.sleep(0.2)
        grown = rss_kib(srv.pid) - rss0
        per_conn = grown * 1024.0 / self.N
        # an idle connection holds a 72-byte record (and the kernel's socket);
        # a read buffer per idle connection would be several KiB each
        self.assertLess(per_conn, 1024 * MEM,
                        "RSS grew by %d KiB for %d idle connections (%.0f B each)"
                        % (grown, self.N, per_conn))
        # a normal client is still answered quickly, again and again
        worst = max(self.timed_get(srv, 0.5) for _ in range(30))
        # and idle connections anywhere in the list still work
        for c in (conns[1], conns[self.N // 2 + 1], conns[-1], conns[0]):
            c.send(get())
            r = c.read_response(timeout=5 * SLOW)
            self.assertEqual((r.status, r.body), (200, HELLO))
        close_all()
        self.assert_fds_back(srv, baseline, timeout=10.0, what="after closing 5000 connections")
        self.assert_still_serving(srv)
        print("\n5000 idle: RSS +%d KiB (%.0f B/conn), slowest normal GET %.1f ms"
              % (grown, per_conn, worst * 1000), end=" ")


# --------------------------------------------------------------------------
# slowhttptest as the attacker
# --------------------------------------------------------------------------

SLOWHTTPTEST = shutil.which("slowhttptest") or (
    "/usr/bin/slowhttptest" if os.path.exists("/usr/bin/slowhttptest") else None)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@unittest.skipUnless(SLOWHTTPTEST, "slowhttptest not installed (scripts/deps.sh installs it)")
class SlowHttpTestTest(HostileCase):
    def _run(self, mode, *extra):
        srv = self.start("--read-timeout", "2s", "--idle-timeout", "10s", "--loops", "1")
        baseline = self.fd_baseline(srv)
        cmd = [SLOWHTTPTEST, mode, "-c", "40", "-r", "40", "-i", "1", "-l", "6", "-x", "8",
               "-p", "2", "-u", srv.url("/plaintext")] + list(extra)
        out_path = os.path.join(srv.tmp, "slowhttptest.out")
        with open(out_path, "wb") as out:
            p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
            self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
            served, t0 = 0, time.monotonic()
            while p.poll() is None and time.monotonic() - t0 < 30:
                self.timed_get(srv, 0.5)
                served += 1
                time.sleep(0.1)
            code = p.wait(timeout=5)
        with open(out_path, "rb") as f:
            text = ANSI.sub("", f.read().decode("utf-8", "replace"))
        self.assertEqual(code, 0, "slowhttptest failed:\n" + text[-2000:])
        self.assertIn("Exit status", text, text[-2000:])
        # brisk closed every slow connection (at its 2 s read timeout) before
        # the 6 s attack was over, and stayed available
        self.assertIn("No open connections left", text, text[-2000:])
        self.assertNotIn("service available:   NO", text.replace("\t", " "))
        self.assertGreater(served, 10)
        self.assert_fds_back(srv, baseline, what="after slowhttptest")
        self.assert_still_serving(srv)

    def test_slow_headers(self):
        self._run("-H")

    def test_slow_body(self):
        self._run("-B", "-s", "8192")


# --------------------------------------------------------------------------
# Resets, half-closes, vanishing clients: nothing leaks
# --------------------------------------------------------------------------

class FaultyClientTest(HostileCase):
    def setUp(self):
        self.big = 100 * KiB   # one argument may hold at most 128 KiB
        self.srv = self.start("--read-timeout", "10s", "--idle-timeout", "10s", "--loops", "1",
                              "--respond", "/big=" + "r" * self.big)
        self.baseline = self.fd_baseline(self.srv)

    PARTIALS = [
        b"GET /plaint",
        b"GET /plaintext HTTP/1.1\r\nHost: x\r\n",
        request("POST", headers=[("Content-Length", "1000")], body=b"x" * 300),
        request("POST", headers=[("Transfer-Encoding", "chunked")], body=b"10\r\nabc"),
        request("POST", headers=[("Content-Length", "100"), ("Expect", "100-continue")]),
    ]

    def test_reset_at_every_stage(self):
        for rounds in range(3):
            for partial in self.PARTIALS:
                c = self.srv.connect()
                c.send(partial)
                time.sleep(0.01)
                linger0(c.sock)
                c.close()
            # after a complete request, before reading the answer
            c = self.srv.connect()
            c.send(get())
            linger0(c.sock)
            c.close()
            # mid-response: a large answer, partly read
            c = self.srv.connect()
            c.send(get("/big") * 20)
            c.sock.recv(10000)
            linger0(c.sock)
            c.close()
            # right after an error answer, while brisk lingers
            c = self.srv.connect()
            c.send(b"BAD\x01 / HTTP/1.1\r\n\r\n" + b"junk" * 1000)
            time.sleep(0.05)
            linger0(c.sock)
            c.close()
            # before sending anything
            c = self.srv.connect()
            linger0(c.sock)
            c.close()
        self.assert_fds_back(self.srv, self.baseline, what="after the resets")
        self.assert_still_serving(self.srv)

    def test_half_close_after_full_request_is_answered(self):
        cases = [
            (get(), HELLO),
            (request("POST", headers=[("Content-Length", "5")], body=b"hello"), HELLO),
            (request("POST", headers=[("Transfer-Encoding", "chunked")],
                     body=b"5\r\nhello\r\n0\r\n\r\n"), HELLO),
            (get("/big"), b"r" * self.big),
        ]
        for data, body in cases:
            with self.subTest(data=data[:40]):
                with self.srv.connect() as c:
                    c.send(data)
                    c.shutdown_write()
                    r = c.read_response()
                    self.assertEqual((r.status, r.body), (200, body))
                    self.assert_closes(c, what="after the answer to a half-closed client")
        self.assert_fds_back(self.srv, self.baseline, what="after the half-closes")

    def test_half_close_after_partial_request_closes_cleanly(self):
        # read timeout is 10 s: the close must come from the FIN, at once
        for partial in self.PARTIALS:
            with self.subTest(partial=partial[:40]):
                with self.srv.connect() as c:
                    c.send(partial)
                    c.shutdown_write()
                    t0 = time.monotonic()
                    rest = c.read_until_eof(timeout=3 * SLOW)
                    self.assertLess(time.monotonic() - t0, 2 * SLOW)
                    # nothing, or the interim 100 of an Expect, or a 400 for
                    # the incomplete request: never a 200 or a 408
                    rest = rest.replace(b"HTTP/1.1 100 Continue\r\n\r\n", b"")
                    self.assertTrue(rest == b"" or rest.startswith(b"HTTP/1.1 400 "),
                                    "partial request + FIN got %r" % rest[:200])
        self.assert_fds_back(self.srv, self.baseline, what="after partial half-closes")
        self.assert_still_serving(self.srv)

    def test_vanish_mid_request_and_mid_response(self):
        for _ in range(5):
            for partial in self.PARTIALS:
                c = self.srv.connect()
                c.send(partial)
                c.close()   # a plain FIN, nothing more
            # mid-response: ask for 2 MiB, read a little, go away
            c = self.srv.connect()
            c.send(get("/big") * 20)
            c.sock.recv(1000)
            c.close()
            # pipelined requests, then gone before any answer is read
            c = self.srv.connect()
            c.send(get() * 100 + get("/big") * 5)
            c.close()
        # brisk notices each departure on its next read or write
        self.assert_fds_back(self.srv, self.baseline, what="after the vanished clients")
        self.assert_still_serving(self.srv)


class BlockingHandlerFaultTest(HostileCase):
    """Clients that reset, half-close, vanish or stop reading while their
    request runs on the blocking pool (the fx_blocking fixture plugin)."""

    def test_faulty_clients_during_blocking_handlers(self):
        so = os.path.join(os.path.dirname(os.path.abspath(brisk_bin())), "plugins", "fixtures",
                          "libfx_blocking.so")
        self.assertTrue(os.path.isfile(so), "%s was not built: the fixture is part of the build" % so)
        srv = self.start("--loops", "1", "--blocking-threads", "2", "--blocking-queue", "4",
                         "--read-timeout", "5s", "--write-timeout", "1s", "--plugin", "/b/=" + so)
        baseline = self.fd_baseline(srv)
        for _ in range(2):
            conns = []
            for mode in range(8):
                c = srv.connect()
                self.addCleanup(c.close)
                c.send(get("/b/x?ms=300") + get() * 3 + (get("/b/y?ms=50") if mode % 2 else b""))
                conns.append((mode, c))
            # over the queue: some of these get 503; all of them reset
            for _ in range(8):
                c = srv.connect()
                c.send(get("/b/z?ms=200"))
                linger0(c.sock)
                c.close()
            time.sleep(0.05)
            for mode, c in conns:
                if mode < 2:
                    linger0(c.sock)
                    c.close()
                elif mode < 4:
                    c.shutdown_write()
                elif mode < 6:
                    c.close()
                # 6, 7: keep the connection and never read
            for mode, c in conns:
                if 2 <= mode < 4:
                    n = 4 + mode % 2
                    rs = c.read_responses(n, timeout=10 * SLOW)
                    # the third and fourth blocking requests wait in the queue;
                    # the last one may find the queue full (503)
                    self.assertEqual([r.status for r in rs[:4]], [200] * 4, rs)
                    self.assertIn(rs[-1].status, (200, 503), rs)
                    self.assert_closes(c, what="after the half-closed client's answers")
            self.timed_get(srv, 0.5)
        for mode, c in conns:
            c.close()
        self.assert_fds_back(srv, baseline, timeout=8.0, what="after the blocking-handler clients")
        self.assert_still_serving(srv)


# --------------------------------------------------------------------------
# Exactly at every limit, and one byte over
# --------------------------------------------------------------------------

HEAD_MAX = 1024


def head_of(size, target="/plaintext"):
    """A GET whose head (request line through the empty line) is exactly
    `size` bytes, padded with one X-Pad field."""
    pre = b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Pad: "
    post = b"\r\n\r\n"
    pad = size - len(pre) - len(post)
    assert pad >= 0
    return pre + b"p" * pad + post


def line_of(size, version=b"HTTP/1.1"):
    """A request line (with its CRLF) of exactly `size` bytes, for /plaintext
    with a query string that makes up the length."""
    pre = b"GET /plaintext?q="
    post = b" " + version + b"\r\n"
    return pre + b"a" * (size - len(pre) - len(post)) + post


class LimitBoundaryTest(HostileCase):
    def setUp(self):
        self.srv = self.start("--max-header-size", str(HEAD_MAX), "--max-request-body-size", "64KiB",
                              "--read-timeout", "10s")

    # -- --max-header-size: the head, request line to empty line -----------

    def test_head_exactly_at_limit(self):
        data = head_of(HEAD_MAX)
        self.assertEqual(len(data), HEAD_MAX)
        self.assert_ok(self.srv, data)

    def test_head_one_byte_over(self):
        self.assert_rejected(self.srv, head_of(HEAD_MAX + 1), 431)

    def test_head_at_limit_in_two_writes(self):
        data = head_of(HEAD_MAX)
        with self.srv.connect() as c:
            c.send(data[:-1])
            self.assertTrue(c.is_open_after(0.3), "brisk answered a head still within the limit")
            c.send(data[-1:])
            r = c.read_response()
        self.assertEqual((r.status, r.body), (200, HELLO))

    def test_unfinished_head_refused_at_first_byte_over(self):
        # no empty line yet: brisk waits while the head fits, and answers 431
        # as soon as one byte more arrives, without waiting for the end
        data = head_of(HEAD_MAX + 200)
        with self.srv.connect() as c:
            c.send(data[:HEAD_MAX])
            self.assertTrue(c.is_open_after(0.3), "answered before the limit was passed")
            c.send(data[HEAD_MAX:HEAD_MAX + 1])
            r = c.read_response(timeout=2)
            self.assertEqual(r.status, 431, r)
            self.assertTrue(r.closes())
        self.assert_still_serving(self.srv)

    # -- the request line (URI): 414 once the line alone is over the limit --

    def test_longest_target_accepted(self):
        # HTTP/1.0 needs no Host: the head is the line and the empty line
        line = line_of(HEAD_MAX - 2, b"HTTP/1.0")
        with self.srv.connect() as c:
            c.send(line + b"\r\n")
            r = c.read_response()
        self.assertEqual((r.status, r.body), (200, HELLO))

    def test_target_one_byte_longer_is_431(self):
        # the line still fits; the head does not
        self.assert_rejected(self.srv, line_of(HEAD_MAX - 1, b"HTTP/1.0") + b"\r\n", 431)

    def test_request_line_at_limit(self):
        # a line of exactly the limit is not a long URI; only the fields
        # after it push the head over
        self.assert_rejected(self.srv, line_of(HEAD_MAX) + b"Host: x\r\n\r\n", 431)

    def test_request_line_one_byte_over_is_414(self):
        self.assert_rejected(self.srv, line_of(HEAD_MAX + 1) + b"Host: x\r\n\r\n", 414)

    def test_unfinished_request_line_refused_at_first_byte_over(self):
        line = line_of(HEAD_MAX + 100)
        with self.srv.connect() as c:
            c.send(line[:HEAD_MAX])
            self.assertTrue(c.is_open_after(0.3), "answered before the limit was passed")
            c.send(line[HEAD_MAX:HEAD_MAX + 1])
            r = c.read_response(timeout=2)
            self.assertEqual(r.status, 414, r)
        self.assert_still_serving(self.srv)

    # -- --max-request-body-size, bodies arriving in pieces -----------------

    def test_body_at_limit_in_pieces(self):
        body = os.urandom(64 * KiB)
        data = request("POST", headers=[("Content-Length", str(len(body)))], body=body)
        with self.srv.connect() as c:
            for i in range(0, len(data), 7000):
                c.send(data[i:i + 7000])
                time.sleep(0.005)
            c.send(get())
            rs = c.read_responses(2)
        self.assertEqual([(r.status, r.body) for r in rs], [(200, HELLO)] * 2)

    def test_chunked_body_reaching_limit_byte_by_byte(self):
        # 64 KiB - 1 in big chunks, then 1-byte chunks: the first one that
        # passes the limit is refused
        head = request("POST", headers=[("Transfer-Encoding", "chunked")])
        start = b"%x\r\n%s\r\n" % (64 * KiB - 1, b"c" * (64 * KiB - 1))
        self.assert_ok(self.srv, head + start + b"1\r\nd\r\n0\r\n\r\n")
        self.assert_rejected(self.srv, head + start + b"1\r\nd\r\n1\r\ne\r\n0\r\n\r\n", 413)

    # -- chunk-size line and trailer section (the chunked decoder's limits) --

    def test_chunk_size_line_at_limit(self):
        # the size line with its extensions and CR: 4096 bytes at most
        head = request("POST", headers=[("Transfer-Encoding", "chunked")])
        ext = lambda n: b"5;e=" + b"x" * (n - len(b"5;e=") - 1) + b"\r\n"
        self.assertEqual(len(ext(4096)), 4097)   # 4096 with the CR, then LF
        self.assert_ok(self.srv, head + ext(4096) + b"hello\r\n0\r\n\r\n")
        self.assert_rejected(self.srv, head + ext(4097) + b"hello\r\n0\r\n\r\n", 400)

    def test_trailer_section_at_limit(self):
        # 16384 bytes from the LF that ends the last-chunk line through the
        # final LF
        head = request("POST", headers=[("Transfer-Encoding", "chunked")])

        def trailers(total):
            fields = b""
            n = total - 1 - 2          # the last-chunk line's LF, the final CRLF
            while n - len(fields) > 1000:
                fields += b"T%04d: %s\r\n" % (len(fields), b"t" * 980)
            rest = n - len(fields)
            fields += b"U: " + b"u" * (rest - 5) + b"\r\n"
            self.assertEqual(len(fields) + 3, total)
            return b"5\r\nhello\r\n0\r\n" + fields + b"\r\n"
        self.assert_ok(self.srv, head + trailers(16384))
        self.assert_rejected(self.srv, head + trailers(16385), 400)

    # -- --max-requests-per-conn at 1 ----------------------------------------

    def test_one_request_per_connection(self):
        srv = self.start("--max-requests-per-conn", "1")
        with srv.connect() as c:
            c.send(get() * 3)
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertTrue(r.closes(), r)
            self.assert_closes(c, what="after the only allowed request")

    # -- --max-conns-per-ip across several loops -----------------------------

    def test_conns_per_ip_exact_across_loops(self):
        srv = self.start("--max-conns-per-ip", "5", "--loops", "2")
        held = []
        for i in range(5):
            c = srv.connect()
            self.addCleanup(c.close)
            c.send(get())
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO), "connection %d of 5: %r" % (i + 1, r))
            held.append(c)
        for _ in range(3):
            with srv.connect() as c:
                try:
                    c.send(get())
                except OSError:
                    pass
                r = c.read_response()
                self.assertEqual(r.status, 429, r)
        held.pop().close()
        self.assert_served_again(srv)


# --------------------------------------------------------------------------
# A pipelined flood on one connection
# --------------------------------------------------------------------------

class PipelineFloodTest(HostileCase):
    N = 10000
    BODIES = [b"zero", b"one", b"two", b"three", b"four"]

    def test_10000_pipelined_requests(self):
        srv = self.start("--loops", "1", *sum((["--respond", "/r%d=%s" % (i, b.decode())]
                                               for i, b in enumerate(self.BODIES)), []))
        self.timed_get(srv, 1.0)
        rss0 = rss_kib(srv.pid)
        data = b"".join(get("/r%d" % (i % 5)) for i in range(self.N))
        c = srv.connect(timeout=30)
        self.addCleanup(c.close)
        errors = []

        def sender():
            try:
                c.sock.sendall(data)
            except OSError as e:
                errors.append(e)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        peak = 0
        t0 = time.monotonic()
        for i in range(self.N):
            r = c.read_response(timeout=10 * SLOW)
            if r.status != 200 or r.body != self.BODIES[i % 5]:
                self.fail("answer %d out of order or wrong: %r" % (i, r))
            if i % 500 == 0:
                peak = max(peak, rss_kib(srv.pid) - rss0)
        elapsed = time.monotonic() - t0
        t.join(timeout=10)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(bytes(c.buf), b"", "bytes after the last answer")
        # the connection is still usable
        c.send(get())
        self.assertEqual(c.read_response().body, HELLO)
        self.assertLess(peak, 8 * KiB * MEM, "RSS grew by %d KiB during the flood" % peak)
        print("\n10000 pipelined: %.2f s, RSS peak +%d KiB" % (elapsed, peak), end=" ")

    def test_flood_from_a_client_that_reads_late(self):
        # the same flood, but the client reads nothing until everything is
        # sent: brisk must stop reading while its answers cannot leave,
        # instead of buffering 10,000 answers
        srv = self.start("--loops", "1", "--write-timeout", "20s",
                         "--respond", "/r=" + "f" * 4000)
        self.timed_get(srv, 1.0)
        rss0 = rss_kib(srv.pid)
        # a small receive buffer, set before connecting (shrinking it on an
        # established connection makes TCP itself crawl)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(30)
        s.connect(srv.addr)
        c = Conn(s)
        self.addCleanup(c.close)
        data = get("/r") * self.N
        done = threading.Event()
        errors = []

        def sender():
            try:
                c.sock.sendall(data)
            except OSError as e:
                errors.append(e)
            done.set()
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        time.sleep(1.0)
        peak = rss_kib(srv.pid) - rss0
        for i in range(self.N):
            r = c.read_response(timeout=10 * SLOW)
            self.assertEqual((r.status, len(r.body)), (200, 4000), "answer %d" % i)
            if i % 1000 == 0:
                peak = max(peak, rss_kib(srv.pid) - rss0)
        t.join(timeout=10)
        self.assertEqual(errors, [])
        # 10,000 answers of 4 KiB are 40 MiB: held back, they would show
        self.assertLess(peak, 8 * KiB * (2 if SANITIZED else 1), "RSS grew by %d KiB" % peak)


if __name__ == "__main__":
    unittest.main()
