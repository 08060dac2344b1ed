"""Plugin ABI 1.1 through the real binary: requests a plugin answers later
(suspend/resume, from a loop timer or a thread of its own), their cancel
callbacks, the instance's handler_timeout, and a plugin built from the 1.0
header. Plugins: plugins/delay (libdelay.so) and the fixtures fx_later and
fx_abi10 (tests/plugins/fixtures)."""

import os
import shutil
import tempfile
import time
import unittest

from brisk_harness import HELLO, curl, decode, get, run_brisk
from test_plugins import PluginTestCase, fixture_so, has_data, plugin_so, toml_str

EVENT_TIMEOUT = 10.0  # seconds a test waits for an event of the server's


def wait_for_file(path, timeout=EVENT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)
    return os.path.exists(path)


def read_file(path, timeout=EVENT_TIMEOUT):
    """The file's text once it is there and ends with a newline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                text = f.read()
            if text.endswith("\n"):
                return text
        except FileNotFoundError:
            pass
        time.sleep(0.005)
    raise AssertionError("%s was not written" % path)


class LaterTestCase(PluginTestCase):

    def events(self):
        """A directory for the fixtures' event files; gates are opened at cleanup."""
        d = tempfile.mkdtemp(prefix="brisk-later-")
        self.addCleanup(shutil.rmtree, d, True)
        self.addCleanup(self.open_gates, d)
        return d

    @staticmethod
    def open_gates(d):
        if os.path.isdir(d):
            open(os.path.join(d, "gate"), "w").close()


class DelayTest(LaterTestCase):

    def setUp(self):
        self.so = self.need(plugin_so("delay"))

    def test_answers_after_the_delay(self):
        srv = self.start_plugins("--loops", "1", "--plugin", "/delay=" + self.so)
        t0 = time.monotonic()
        r = self.get_one(srv, "/delay?ms=200")
        elapsed = time.monotonic() - t0
        self.assert_text(r, 200, "waited 200 ms\n", "text/plain; charset=utf-8")
        self.assertGreaterEqual(elapsed, 0.19)
        self.assert_text(self.get_one(srv, "/delay?ms=0"), 200, "waited 0 ms\n")
        r = self.get_one(srv, "/delay?ms=10", method="HEAD")
        self.assertEqual((r.status, r.header("content-length"), r.body), (200, "13", b""))

    def test_curl_and_keep_alive(self):
        # curl reuses its connection for both URLs: the second waits behind the first.
        srv = self.start_plugins("--plugin", "/delay=" + self.so)
        p = curl("-w", "%{http_code} %{num_connects}\\n", srv.url("/delay?ms=100"), srv.url("/delay?ms=0"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"waited 100 ms\n200 1\nwaited 0 ms\n200 0\n")

    def test_bad_delays_get_400(self):
        srv = self.start_plugins("--plugin", "/delay=" + self.so)
        for target in ("/delay", "/delay?ms=", "/delay?ms=abc", "/delay?ms=-1", "/delay?ms=60001",
                       "/delay?ms=1.5", "/delay?ms=999999999999"):
            r = self.get_one(srv, target)
            self.assertEqual(r.status, 400, (target, r))
            self.assertIn(b"0 to 60000", r.body)
        self.assert_still_serving(srv)

    def test_the_loop_serves_others_while_requests_wait(self):
        # One loop: three requests wait on its timers while others are answered.
        srv = self.start_plugins("--loops", "1", "--plugin", "/delay=" + self.so)
        waiting = []
        for _ in range(3):
            c = srv.connect(timeout=10)
            self.addCleanup(c.close)
            c.send(get("/delay?ms=1500"))
            waiting.append(c)
        for _ in range(5):
            self.assertEqual(self.get_one(srv, "/plaintext").body, HELLO)
        for c in waiting:
            self.assertFalse(has_data(c), "an answer came before its delay")
        for c in waiting:
            self.assert_text(c.read_response(timeout=10), 200, "waited 1500 ms\n")

    def test_pipelined_requests_keep_their_order(self):
        srv = self.start_plugins("--loops", "1", "--plugin", "/delay=" + self.so)
        with srv.connect(timeout=10) as c:
            c.send(get("/delay?ms=300") + get("/plaintext") + get("/delay?ms=0") + get("/delay?ms=bad"))
            rs = c.read_responses(4, timeout=10)
        self.assertEqual([r.status for r in rs], [200, 200, 200, 400], rs)
        self.assertEqual(rs[0].body, b"waited 300 ms\n")
        self.assertEqual(rs[1].body, HELLO)
        self.assertEqual(rs[2].body, b"waited 0 ms\n")

    def test_a_client_that_leaves_is_cancelled_and_the_stop_does_not_wait(self):
        # The request would wait 20 s; its client leaves, the plugin drops its
        # timer, and a graceful stop finds nothing left to wait for (the
        # harness kills a stop that takes longer than 10 s).
        srv = self.start_plugins("--loops", "1", "--shutdown-timeout", "30s", "--plugin", "/delay=" + self.so)
        c = srv.connect(timeout=10)
        c.send(get("/delay?ms=20000"))
        self.assert_still_serving(srv)  # the request has reached the plugin: the loop is past it
        c.close()
        self.assert_still_serving(srv)
        self.stop_and_check(srv)


class ThreadResumeTest(LaterTestCase):

    def setUp(self):
        self.so = self.need(fixture_so("later"))

    def test_resumed_from_another_thread_once(self):
        d = self.events()
        result = os.path.join(d, "result")
        srv = self.start_plugins("--plugin", "/l/=" + self.so)
        with srv.connect(timeout=10) as c:
            c.send(get("/l/a?ms=50&result=" + result) + get("/plaintext") + get("/l/b?ms=0"))
            rs = c.read_responses(3, timeout=10)
        self.assert_text(rs[0], 200, "later n=1 second_suspend=0\n", "text/plain")
        self.assertEqual(rs[1].body, HELLO)
        self.assert_text(rs[2], 200, "later n=3 second_suspend=0\n")
        # A second resume() of the same handle is refused.
        self.assertEqual(read_file(result), "resume=0 second=-1\n")

    def test_a_second_suspend_is_refused(self):
        srv = self.start_plugins("--plugin", "/l/=" + self.so)
        self.assert_text(self.get_one(srv, "/l/x?twice=1"), 200, "later n=1 second_suspend=0\n")

    def test_an_error_after_suspend_undoes_it(self):
        d = self.events()
        cancelled = os.path.join(d, "cancelled")
        srv = self.start_plugins("--plugin", "/l/=" + self.so)
        with srv.connect(timeout=10) as c:
            c.send(get("/l/x?fail=1&cancelled=" + cancelled) + get("/plaintext"))
            rs = c.read_responses(2, timeout=10)
        self.assertEqual([r.status for r in rs], [500, 200], rs)
        self.assertFalse(os.path.exists(cancelled), "cancel called for a suspension the handler undid")

    def test_client_leaves_the_plugin_is_told_once_and_a_late_resume_fails(self):
        d = self.events()
        started, gate = os.path.join(d, "started"), os.path.join(d, "gate")
        cancelled, result = os.path.join(d, "cancelled"), os.path.join(d, "result")
        srv = self.start_plugins("--loops", "1", "--plugin", "/l/=" + self.so)
        c = srv.connect(timeout=10)
        c.send(get("/l/x?gate=%s&started=%s&cancelled=%s&result=%s" % (gate, started, cancelled, result)))
        self.assertTrue(wait_for_file(started), "the request was not suspended")
        c.close()
        self.assertTrue(wait_for_file(cancelled), "the plugin was not told that the client left")
        open(gate, "w").close()
        self.assertEqual(read_file(result), "resume=-1 second=-1\n")
        self.assert_still_serving(srv)
        self.stop_and_check(srv)

    def test_many_requests_resumed_from_threads(self):
        srv = self.start_plugins("--loops", "2", "--plugin", "/l/=" + self.so)
        conns = []
        for i in range(20):
            c = srv.connect(timeout=10)
            self.addCleanup(c.close)
            c.send(get("/l/%d?ms=%d" % (i, i % 5)) * 3)
            conns.append(c)
        for c in conns:
            rs = c.read_responses(3, timeout=10)
            self.assertEqual([r.body for r in rs],
                             [b"later n=%d second_suspend=0\n" % n for n in (1, 2, 3)], rs)


class HandlerTimeoutTest(LaterTestCase):

    def test_unanswered_request_gets_503_and_the_connection_goes_on(self):
        so = self.need(fixture_so("later"))
        d = self.events()
        gate, cancelled, result = (os.path.join(d, n) for n in ("gate", "cancelled", "result"))
        srv = self.start_plugins(config=(
            "[plugins.slow]\nfile = %s\nhandler_timeout = \"200ms\"\n\n"
            "[[route]]\nprefix = \"/slow/\"\nplugin = \"slow\"\n" % toml_str(so)))
        with srv.connect(timeout=10) as c:
            t0 = time.monotonic()
            c.send(get("/slow/x?gate=%s&cancelled=%s&result=%s" % (gate, cancelled, result)))
            r = c.read_response(timeout=10)
            elapsed = time.monotonic() - t0
            self.assert_text(r, 503, "Service Unavailable\n")
            self.assertFalse(r.closes(), r)
            self.assertGreaterEqual(elapsed, 0.19)
            self.assertTrue(wait_for_file(cancelled), "the plugin was not told of the timeout")
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().body, HELLO)
        open(gate, "w").close()
        self.assertEqual(read_file(result), "resume=-1 second=-1\n")

    def test_answer_within_the_timeout_is_sent(self):
        so = self.need(fixture_so("later"))
        srv = self.start_plugins(config=(
            "[plugins.slow]\nfile = %s\nhandler_timeout = \"5s\"\n\n"
            "[[route]]\nprefix = \"/slow/\"\nplugin = \"slow\"\n" % toml_str(so)))
        self.assert_text(self.get_one(srv, "/slow/x?ms=20"), 200, "later n=1 second_suspend=0\n")

    def test_bad_handler_timeout_is_one_line_exit_1(self):
        so = self.need(fixture_so("later"))
        d = tempfile.mkdtemp(prefix="brisk-later-cfg-")
        self.addCleanup(shutil.rmtree, d, True)
        for value, mention in (("\"soon\"", "handler_timeout"), ("true", "handler_timeout"), ("5", "handler_timeout")):
            path = os.path.join(d, "brisk.toml")
            with open(path, "w") as f:
                f.write("[plugins.slow]\nfile = %s\nhandler_timeout = %s\n" % (toml_str(so), value))
            proc = run_brisk(["--config", path, "--check-config"])
            self.assert_one_line_error(proc, mention=mention)


class SuspendedGaugeTest(LaterTestCase):

    def test_metrics_count_suspended_requests(self):
        so = self.need(fixture_so("later"))
        d = self.events()
        started, gate = os.path.join(d, "started"), os.path.join(d, "gate")
        srv = self.start_plugins("--metrics", "/metrics", "--plugin", "/l/=" + so)

        def gauge():
            body = decode(self.get_one(srv, "/metrics").body)
            for line in body.splitlines():
                if line.startswith("brisk_suspended_requests "):
                    return int(line.split()[1])
            raise AssertionError("no brisk_suspended_requests in:\n" + body)

        self.assertEqual(gauge(), 0)
        with srv.connect(timeout=10) as c:
            c.send(get("/l/x?gate=%s&started=%s" % (gate, started)))
            self.assertTrue(wait_for_file(started))
            self.assertEqual(gauge(), 1)
            open(gate, "w").close()
            self.assertEqual(c.read_response(timeout=10).status, 200)
        self.assertEqual(gauge(), 0)


class OldPluginTest(PluginTestCase):

    def test_a_plugin_built_from_the_1_0_header_loads_and_serves(self):
        so = self.need(fixture_so("abi10"))
        srv = self.start_plugins("--plugin", "/old10/=" + so)
        self.assert_text(self.get_one(srv, "/old10/x"), 200, "abi 1.0 plugin: /old10/x host=1.2\n", "text/plain")


if __name__ == "__main__":
    unittest.main()
