"""--read-timeout (408), --idle-timeout (silent close), --write-timeout."""

import socket
import time
import unittest

from brisk_harness import HELLO, TCP_ESTABLISHED, BriskTestCase, get, request, server_end


class ReadTimeoutTest(BriskTestCase):
    def setUp(self):
        self.srv = self.start("--read-timeout", "1s", "--idle-timeout", "10s")

    def _assert_408(self, partial):
        with self.srv.connect() as c:
            t0 = time.monotonic()
            c.send(partial)
            r = c.read_response(timeout=6)
            elapsed = time.monotonic() - t0
            self.assertEqual(r.status, 408, r)
            self.assertTrue(r.closes(), r)
            self.assertGreater(elapsed, 0.7, "408 came before the read timeout")
            self.assertLess(elapsed, 4.0)
            self.assert_closes(c, what="after the 408")
        self.assert_still_serving(self.srv)

    def test_408_partial_request_line(self):
        self._assert_408(b"GET /plain")

    def test_408_partial_headers(self):
        self._assert_408(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n")

    def test_408_partial_body(self):
        self._assert_408(request("POST", headers=[("Content-Length", "10")], body=b"abc"))

    def test_408_partial_chunked_body(self):
        self._assert_408(request("POST", headers=[("Transfer-Encoding", "chunked")],
                                 body=b"5\r\nhel"))

    def test_408_trickled_request(self):
        # Bytes keep arriving (one every 150 ms), but the request as a whole
        # takes longer than the 1 s read timeout.
        data = get()
        with self.srv.connect() as c:
            t0 = time.monotonic()
            for i in range(len(data)):
                try:
                    c.send(data[i:i + 1])
                except OSError:
                    break
                if not c.is_open_after(0.15):   # bytes or EOF arrived
                    break
            r = c.read_response(timeout=3)
            self.assertEqual(r.status, 408, r)
            self.assertLess(time.monotonic() - t0, 4.0)
        self.assert_still_serving(self.srv)

    def test_idle_no_408(self):
        # A keep-alive connection waiting for its next request is governed by
        # the idle timeout (10 s here), not the read timeout.
        with self.srv.connect() as c:
            c.send(get())
            self.assertEqual(c.read_response().status, 200)
            self.assertTrue(c.is_open_after(1.8), "closed by the read timeout while idle")
            c.send(get())
            self.assertEqual(c.read_response().body, HELLO)


class IdleTimeoutTest(BriskTestCase):
    def _assert_silent_close(self, c, timeout, hi, t_send, t_resp):
        """The idle timer is armed once the request has arrived, after t_send:
        the close can never come before t_send + timeout (less a tick of the
        coarse clock), and must come within `hi` of the response."""
        rest = c.read_until_eof(timeout=hi + 2)
        t_eof = time.monotonic()
        self.assertEqual(rest, b"", "an idle connection must close silently, got %r" % rest[:200])
        self.assertGreater(t_eof - t_send, timeout - 0.05, "closed before the idle timeout")
        self.assertLess(t_eof - t_resp, hi, "closed too late")

    def _idle_after_one_request(self, srv, timeout, hi):
        with srv.connect() as c:
            t_send = time.monotonic()
            c.send(get())
            self.assertEqual(c.read_response().status, 200)
            self._assert_silent_close(c, timeout, hi, t_send, time.monotonic())

    def test_idle_keepalive_closes_silently(self):
        srv = self.start("--idle-timeout", "1s", "--read-timeout", "10s")
        self._idle_after_one_request(srv, 1.0, 4.0)
        self.assert_still_serving(srv)

    def test_idle_defaults_to_read_timeout(self):
        srv = self.start("--read-timeout", "1s")
        self._idle_after_one_request(srv, 1.0, 4.0)

    def test_idle_timeout_ms_form(self):
        srv = self.start("--idle-timeout", "500ms", "--read-timeout", "10s")
        self._idle_after_one_request(srv, 0.5, 3.0)

    def test_fresh_connection_without_bytes_closes_silently(self):
        srv = self.start("--idle-timeout", "1s", "--read-timeout", "1s")
        t_conn = time.monotonic()  # the timer starts at brisk's accept, after this
        with srv.connect() as c:   # (--defer-accept 1s by default: the close comes at about 2 s)
            self._assert_silent_close(c, 1.0, 4.0, t_conn, time.monotonic())

    def test_activity_keeps_connection(self):
        # Requests 0.5 s apart on a 1 s idle timeout keep the connection.
        # The client knows how long brisk saw it idle at most (from before
        # one send to after the next); a run in which this machine held the
        # client past the timeout proves nothing and is done again.
        srv = self.start("--idle-timeout", "1s", "--read-timeout", "10s")
        for _ in range(3):
            with srv.connect() as c:
                t_prev = time.monotonic()
                c.send(get())
                self.assertEqual(c.read_response().body, HELLO)
                fair = True
                for _ in range(4):
                    time.sleep(0.5)
                    t_before = time.monotonic()
                    try:
                        c.send(get())
                        sent = None
                    except OSError as e:
                        sent = e
                    gap = time.monotonic() - t_prev
                    t_prev = t_before
                    if gap >= 0.95:
                        fair = False
                        break
                    self.assertIsNone(sent, "closed after %.2f s idle (timeout 1 s): %r" % (gap, sent))
                    self.assertEqual(c.read_response().body, HELLO)
                if fair:
                    return
        self.fail("the client was held past the 1 s idle timeout in 3 runs out of 3")


class WriteTimeoutTest(BriskTestCase):
    def test_client_that_does_not_read_is_dropped(self):
        big = "w" * 65536
        srv = self.start("--write-timeout", "1s", "--read-timeout", "10s",
                         "--respond", "/big=" + big)
        n = 200   # 200 x 64 KiB = 12.5 MiB, far more than the socket buffers hold
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5)
        s.connect(srv.addr)
        try:
            try:
                s.sendall(get("/big") * n)
            except OSError:
                pass
            # The server's writes stall; 1 s later it must give up: wait for its
            # end to leave ESTABLISHED (closed, or gone after a reset) without reading.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                end = server_end(srv, s)
                if end is None or end[0] != TCP_ESTABLISHED:
                    break
                time.sleep(0.02)
            end = server_end(srv, s)
            self.assertTrue(end is None or end[0] != TCP_ESTABLISHED,
                            "brisk still holds the connection 10 s after its writes stalled")
            total = 0
            deadline = time.monotonic() + 10
            closed = False
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
            self.assertTrue(closed, "connection still open after 10 s of reading")
            self.assertLess(total, n * len(big),
                            "every response was delivered: the write timeout did not fire")
        finally:
            s.close()
        self.assert_still_serving(srv)

    def test_slow_reader_within_timeout_gets_everything(self):
        big = "r" * 65536
        srv = self.start("--write-timeout", "3s", "--respond", "/big=" + big)
        with srv.connect() as c:
            c.send(get("/big") * 4)
            time.sleep(0.5)
            rs = c.read_responses(4)
        self.assertEqual([len(r.body) for r in rs], [65536] * 4)


if __name__ == "__main__":
    unittest.main()
