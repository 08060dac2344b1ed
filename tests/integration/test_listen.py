"""--listen forms: host:port, [v6]:port, unix:/path, repeated."""

import os
import socket
import stat
import unittest

from brisk_harness import HELLO, BriskTestCase, curl, free_port, get, ipv6_available


class ListenTest(BriskTestCase):
    def test_unix_socket_with_curl(self):
        srv = self.start(kind="unix")
        self.assertTrue(stat.S_ISSOCK(os.stat(srv.addr).st_mode))
        p = curl("--unix-socket", srv.addr, "-D", "-", "http://localhost/plaintext")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(b"HTTP/1.1 200"), p.stdout)
        self.assertTrue(p.stdout.endswith(HELLO), p.stdout)
        p = curl("--unix-socket", srv.addr, "-o", "/dev/null", "-w", "%{http_code}",
                 "http://localhost/nope")
        self.assertEqual(p.stdout, b"404")

    def test_unix_socket_raw_pipelined(self):
        srv = self.start(kind="unix")
        _, rs = self.exchange(srv, get() * 3, n=3)
        self.assertEqual([r.body for r in rs], [HELLO] * 3)

    def test_unix_socket_stale_file_or_removed(self):
        # Start, stop, start again on the same path: a leftover socket file
        # must not stop the second start.
        srv = self.start(kind="unix")
        path = srv.addr
        self.stop_and_check(srv)
        p2 = self.start("--listen", "unix:" + path, kind="none",
                        probe=(socket.AF_UNIX, path))
        self.assert_still_serving(p2)

    @unittest.skipUnless(ipv6_available(), "::1 not available")
    def test_ipv6(self):
        srv = self.start(kind="tcp6")
        _, (r,) = self.exchange(srv, get(host="[::1]"))
        self.assertEqual((r.status, r.body), (200, HELLO))
        p = curl("-g", srv.url("/plaintext"))
        self.assertEqual((p.returncode, p.stdout), (0, HELLO), p.stderr)

    def test_repeated_listen(self):
        p2 = free_port()
        srv = self.start("--listen", "127.0.0.1:%d" % p2)
        for port in (srv.port, p2):
            with self.subTest(port=port):
                p = curl("http://127.0.0.1:%d/plaintext" % port)
                self.assertEqual((p.returncode, p.stdout), (0, HELLO), p.stderr)

    def test_tcp_and_unix_together(self):
        srv = self.start(kind="unix")
        port = free_port()
        srv2 = self.start("--listen", "127.0.0.1:%d" % port, "--listen", "unix:@TMP@/b.sock",
                          kind="none", probe=(socket.AF_INET, ("127.0.0.1", port)))
        p = curl("http://127.0.0.1:%d/plaintext" % port)
        self.assertEqual((p.returncode, p.stdout), (0, HELLO), p.stderr)
        p = curl("--unix-socket", os.path.join(srv2.tmp, "b.sock"), "http://localhost/plaintext")
        self.assertEqual((p.returncode, p.stdout), (0, HELLO), p.stderr)
        self.assert_still_serving(srv)

    def test_default_listen_address(self):
        # Without --listen the server binds 127.0.0.1:8080; run only when that
        # port is free so that the test never disturbs another server.
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 8080))
        except OSError:
            self.skipTest("127.0.0.1:8080 is in use")
        srv = self.start(kind="none", probe=(socket.AF_INET, ("127.0.0.1", 8080)))
        _, (r,) = self.exchange(srv, get())
        self.assertEqual((r.status, r.body), (200, HELLO))


if __name__ == "__main__":
    unittest.main()
