"""SIGINT/SIGTERM: stop accepting, finish in-flight requests, give idle
keep-alive connections a moment for a request already on its way, exit 0."""

import select
import signal
import socket
import time
import unittest

from brisk_harness import HELLO, TCP_SYN_RECV, BriskTestCase, get, listening, request, server_end


class SignalTest(BriskTestCase):
    def _stop_quickly(self, srv, sig, bound=3.0):
        t0 = time.monotonic()
        srv.send_signal(sig)
        code = srv.wait_exit(timeout=bound)
        self.assertIsNotNone(code, "still running %.0f s after %s" % (bound, sig.name))
        self.assertEqual(code, 0, srv.stderr())
        self.assertIsNone(srv.crash_report(), srv.stderr())
        return time.monotonic() - t0

    def test_sigterm_exits_0(self):
        srv = self.start()
        self.assert_still_serving(srv)
        self._stop_quickly(srv, signal.SIGTERM)

    def test_sigint_exits_0(self):
        srv = self.start()
        self.assert_still_serving(srv)
        self._stop_quickly(srv, signal.SIGINT)

    def test_idle_keepalive_connections_closed_without_bytes(self):
        # --defer-accept 0: the silent connection is brisk's from the handshake on
        srv = self.start("--idle-timeout", "60s", "--loops", "2", "--defer-accept", "0")
        conns = []
        for _ in range(10):
            c = srv.connect()
            self.addCleanup(c.close)
            c.send(get())
            self.assertEqual(c.read_response().body, HELLO)
            conns.append(c)
        # one connection that has not sent anything yet
        fresh = srv.connect()
        self.addCleanup(fresh.close)
        time.sleep(0.1)
        elapsed = self._stop_quickly(srv, signal.SIGTERM)
        self.assertLess(elapsed, 3.0)
        for c in conns + [fresh]:
            self.assertEqual(c.read_until_eof(timeout=2), b"",
                             "an idle connection got bytes at shutdown")

    def test_idle_keepalive_connection_gets_its_next_request_answered(self):
        # A keep-alive connection idle when the stop begins is not closed
        # under a request that may be on its way: the next request is
        # answered, with Connection: close.
        srv = self.start("--idle-timeout", "60s", "--loops", "1", "--defer-accept", "0")
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(get())
        first = c.read_response()
        self.assertEqual(first.body, HELLO)
        self.assertFalse(first.closes())
        srv.send_signal(signal.SIGTERM)
        self.wait_until_not_accepting(srv)
        c.send(get())
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, HELLO))
        self.assertTrue(r.closes(), "the answer while stopping must close: %r" % r)
        self.assertEqual(c.read_until_eof(timeout=3), b"")
        self.assertEqual(srv.wait_exit(timeout=5), 0, srv.stderr())

    def test_connection_handshaken_before_sigterm_is_served(self):
        # With --defer-accept a connection whose handshake completed is still
        # the kernel's until its first bytes arrive. Its client has seen it
        # connect: the stop keeps the listener open for those bytes.
        srv = self.start("--loops", "1")
        c = srv.connect()
        self.addCleanup(c.close)
        srv.send_signal(signal.SIGTERM)
        self.wait_for_stop_log(srv)
        self.wait_until_not_accepting(srv)  # the stop is under way: new SYNs are dropped
        c.send(get())
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, HELLO))
        self.assertTrue(r.closes(), r)
        self.assertEqual(srv.wait_exit(timeout=5), 0, srv.stderr())

    def test_new_connections_after_sigterm_are_not_served(self):
        # Once the stop has begun, a new handshake is not completed by the
        # listener that is about to close, even while it waits for a held one.
        srv = self.start("--loops", "1")
        held = srv.connect()
        self.addCleanup(held.close)
        srv.send_signal(signal.SIGTERM)
        self.wait_for_stop_log(srv)
        self.wait_until_not_accepting(srv)
        s2 = socket.socket(srv.family, socket.SOCK_STREAM)
        self.addCleanup(s2.close)
        s2.setblocking(False)
        s2.connect_ex(srv.addr)  # its SYN goes out now, while the listener waits for `held`
        held.send(get())
        self.assertEqual(held.read_response().status, 200)
        # s2's handshake is never completed: refused once the listener has
        # closed (its SYN is repeated after 1 s), or still unanswered.
        served = False
        _, writable, _ = select.select([], [s2], [], 3.0)
        if writable and s2.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            s2.setblocking(True)
            s2.settimeout(2)
            try:
                s2.sendall(get())
                served = s2.recv(100).startswith(b"HTTP/1.1 200")
            except OSError:
                pass
        self.assertFalse(served, "a connection made after SIGTERM was served")
        self.assertEqual(srv.wait_exit(timeout=5), 0, srv.stderr())

    def test_silent_connection_still_deferred_is_refused(self):
        # With --defer-accept a connection that has sent nothing is still the
        # kernel's when the listener closes (the stop waits up to 1 s for it,
        # the kernel holds it for 3): its first bytes get a reset, never a
        # response, and it is not left hanging.
        srv = self.start("--loops", "1", "--defer-accept", "3s")
        fresh = srv.connect()
        self.addCleanup(fresh.close)
        self.assertEqual((server_end(srv, fresh.sock) or ("gone",))[0], TCP_SYN_RECV, "not deferred")
        self._stop_quickly(srv, signal.SIGTERM)
        try:
            fresh.send(get())
            got = fresh.read_until_eof(timeout=2)
        except (ConnectionResetError, BrokenPipeError):
            got = b""
        self.assertEqual(got, b"")

    def test_in_flight_request_is_finished(self):
        srv = self.start("--read-timeout", "20s", "--loops", "1")
        with srv.connect() as c:
            c.send(request("POST", headers=[("Content-Length", "10")], body=b"01234"))
            time.sleep(0.3)   # the request is in the server's hands
            srv.send_signal(signal.SIGTERM)
            self.wait_for_stop_log(srv)
            self.wait_until_not_accepting(srv)
            self.assertTrue(srv.alive(), "exited before the in-flight request finished: %s"
                            % srv.stderr())
            c.send(b"56789")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertTrue(r.closes(), "the last response before exit must close: %r" % r)
            self.assert_closes(c)
        code = srv.wait_exit(timeout=5)
        self.assertEqual(code, 0, srv.stderr())

    def test_stops_accepting_after_signal(self):
        # While a request is still in flight after SIGTERM, new connections
        # must be refused (listeners closed), not left hanging in a backlog.
        srv = self.start("--read-timeout", "20s", "--loops", "1")
        with srv.connect() as c:
            c.send(request("POST", headers=[("Content-Length", "10")], body=b"01234"))
            time.sleep(0.3)
            srv.send_signal(signal.SIGTERM)
            self.wait_for_stop_log(srv)
            # The stop closes the listening socket (the kernel's view), then one
            # new connection must be refused.
            deadline = time.monotonic() + 2.3
            while listening(srv) and time.monotonic() < deadline:
                time.sleep(0.01)
            still_alive = srv.alive()
            refused, served, hung = False, False, 0
            try:
                with socket.create_connection(srv.addr, timeout=1) as s2:
                    s2.sendall(get())
                    s2.settimeout(0.3)
                    try:
                        served = s2.recv(100).startswith(b"HTTP/1.1 200")
                    except (socket.timeout, ConnectionResetError):
                        pass
                    hung += 1
            except ConnectionRefusedError:
                refused = True
            except socket.timeout:
                hung += 1
            # finish the in-flight request so that the server can exit
            c.send(b"56789")
            r = c.read_response()
            self.assertEqual(r.status, 200)
        self.assertEqual(srv.wait_exit(timeout=5), 0, srv.stderr())
        self.assertTrue(still_alive, "exited with a request in flight")
        self.assertFalse(served, "a connection made after SIGTERM was served")
        self.assertTrue(refused, "after SIGTERM the listener still completes connections "
                        "(%d connected and got no answer): listening sockets not closed" % hung)

    def test_in_flight_partial_headers(self):
        srv = self.start("--read-timeout", "20s")
        with srv.connect() as c:
            c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.3)
            srv.send_signal(signal.SIGTERM)
            self.wait_for_stop_log(srv)
            self.wait_until_not_accepting(srv)
            self.assertTrue(srv.alive(), "exited with a request in flight: %s" % srv.stderr())
            c.send(b"X-Last: 1\r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assert_closes(c)
        self.assertEqual(srv.wait_exit(timeout=5), 0, srv.stderr())

    def test_sigterm_under_load(self):
        srv = self.start("--loops", "2")
        conns = [srv.connect() for _ in range(20)]
        try:
            for c in conns:
                c.send(get() * 5)
            srv.send_signal(signal.SIGTERM)
            for c in conns:
                # whatever was answered is complete and correct; then EOF
                while True:
                    try:
                        r = c.read_response(timeout=3)
                    except AssertionError as e:
                        self.assertIn("without a response", str(e))
                        break
                    self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertEqual(srv.wait_exit(timeout=5), 0, srv.stderr())
        finally:
            for c in conns:
                c.close()


if __name__ == "__main__":
    unittest.main()
