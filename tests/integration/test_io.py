"""The I/O backend: --io, the `io` key and BRISK_IO choose it; io_uring is
really used when chosen; `auto` falls back to epoll with one log line where
io_uring is refused (a seccomp filter here, as in many containers), and
`--io io_uring` then refuses to start.

The rest of the suite runs once per backend (see CMakeLists.txt); these
tests pin the backend with flags, so both passes check the same thing.
"""
import os
import re
import time
import unittest
from unittest import mock

from brisk_harness import (BriskTestCase, HELLO, Server, decode, get, run_brisk)

DENY = os.environ.get("BRISK_DENY_IO_URING", "")


def ring_fds(pid):
    """How many io_uring instances the process holds."""
    n = 0
    fd_dir = "/proc/%d/fd" % pid
    for name in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, name)) == "anon_inode:[io_uring]":
                n += 1
        except OSError:
            pass  # closed meanwhile
    return n


class BackendChoiceTest(BriskTestCase):
    def serve_some(self, srv):
        """Keep-alive, pipelined and closing requests all answered."""
        with srv.connect() as c:
            for _ in range(3):
                c.send(get())
                self.assertEqual(c.read_response().body, HELLO)
            c.send(get() * 8)
            self.assertEqual([r.status for r in c.read_responses(8)], [200] * 8)
        _, rs = self.exchange(srv, get(headers=[("Connection", "close")]))
        self.assertEqual(rs[0].body, HELLO)

    def test_io_uring_has_a_ring_per_loop(self):
        srv = self.start("--io", "io_uring", "--loops", "2")
        self.serve_some(srv)
        # Each loop sets its ring up as its thread starts: wait for the count to reach 2.
        deadline = time.monotonic() + 5
        while ring_fds(srv.pid) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(ring_fds(srv.pid), 2)

    def test_epoll_has_no_ring(self):
        srv = self.start("--io", "epoll", "--loops", "2")
        self.serve_some(srv)
        self.assertEqual(ring_fds(srv.pid), 0)

    def test_flag_beats_file_beats_environment(self):
        with mock.patch.dict(os.environ, {"BRISK_IO": "io_uring"}):
            srv = self.start("--loops", "1", config='io = "epoll"\n')
            self.assertEqual(ring_fds(srv.pid), 0, "the file's io beats BRISK_IO")
        with mock.patch.dict(os.environ, {"BRISK_IO": "epoll"}):
            srv = self.start("--io", "io_uring", "--loops", "1", config='io = "epoll"\n')
            self.assertEqual(ring_fds(srv.pid), 1, "--io beats the file")
            srv = self.start("--loops", "1")
            self.assertEqual(ring_fds(srv.pid), 0, "BRISK_IO applies without flag or key")

    def test_bad_values_are_refused(self):
        p = run_brisk(["--io", "kqueue", "--check-config"])
        self.assertEqual(p.returncode, 1, decode(p.stderr))
        self.assertIn('--io: unknown I/O backend "kqueue" (use auto, epoll or io_uring)', decode(p.stderr))
        with mock.patch.dict(os.environ, {"BRISK_IO": "uring"}):
            p = run_brisk(["--check-config"])
        self.assertEqual(p.returncode, 1, decode(p.stderr))
        self.assertIn('BRISK_IO: unknown I/O backend "uring"', decode(p.stderr))
        with mock.patch.dict(os.environ, {"BRISK_IO": "uring"}):
            p = run_brisk(["--io", "epoll", "--check-config"])
        self.assertEqual(p.returncode, 0, "a flag makes BRISK_IO irrelevant: %s" % decode(p.stderr))


class BurstTest(BriskTestCase):
    """Hundreds of connections with requests in one burst: under io_uring a
    send holds its connection's worker until it completes, so the loop caps
    the sends in flight (64) and sends the rest with plain calls."""

    CONNS = 300
    DEPTH = 4

    def burst(self, io):
        srv = self.start("--io", io, "--loops", "1", "--metrics", "/metrics")
        conns = [srv.connect() for _ in range(self.CONNS)]
        for c in conns:
            self.addCleanup(c.close)
        for c in conns:  # every request is out before any answer is read
            c.send(get() * self.DEPTH)
        for c in conns:
            self.assertEqual([r.body for r in c.read_responses(self.DEPTH)], [HELLO] * self.DEPTH)
        _, rs = self.exchange(srv, get("/metrics"))
        m = re.search(rb"^brisk_workers (\d+)$", rs[0].body, re.M)
        self.assertIsNotNone(m, rs[0].body[:500])
        return int(m.group(1))

    def test_io_uring_burst_is_answered_with_bounded_workers(self):
        self.assertLessEqual(self.burst("io_uring"), 66)  # the cap, the scrape, one being handled

    def test_epoll_burst_is_answered(self):
        self.assertGreaterEqual(self.burst("epoll"), 1)


@unittest.skipUnless(DENY and os.access(DENY, os.X_OK), "BRISK_DENY_IO_URING helper not built")
class RefusedTest(BriskTestCase):
    """io_uring_setup(2) fails with EPERM, as under a seccomp profile."""

    def start_denied(self, *args):
        srv = Server(args)
        srv.cmd = [DENY] + srv.cmd
        self.addCleanup(srv.cleanup)
        return srv

    def test_auto_falls_back_to_epoll_with_one_line(self):
        srv = self.start_denied("--io", "auto", "--loops", "2")
        srv.start()
        self.addCleanup(self.stop_and_check, srv)
        with srv.connect() as c:
            c.send(get() * 4)
            self.assertEqual([r.body for r in c.read_responses(4)], [HELLO] * 4)
        self.assertEqual(ring_fds(srv.pid), 0)
        lines = [ln for ln in srv.stderr().splitlines() if "io_uring" in ln]
        self.assertEqual(len(lines), 1, srv.stderr())
        self.assertIn("io_uring is not available", lines[0])
        self.assertIn("Operation not permitted", lines[0])
        self.assertIn("using epoll", lines[0])

    def test_io_uring_demanded_does_not_start(self):
        srv = self.start_denied("--io", "io_uring")
        srv.start(wait=False)
        code = srv.proc.wait(timeout=10)
        err = srv.stderr()
        self.assertEqual(code, 1, err)
        self.assertIn("--io io_uring: io_uring_setup: Operation not permitted", err)
        self.assertEqual(len([ln for ln in err.splitlines() if ln.strip()]), 1, err)


if __name__ == "__main__":
    unittest.main()
