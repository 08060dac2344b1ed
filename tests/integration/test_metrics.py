"""Metrics route (Prometheus text format 0.0.4) and health route: exact
values after known traffic, connection gauges, refusals, handler errors,
and the health route's 503 while draining."""

import os
import re
import signal
import time
import unittest

from brisk_harness import BriskTestCase, brisk_bin, get, request, run_brisk

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse(text):
    """Exposition text -> {(name, labels): value}; checks every line's form."""
    values, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, "malformed exposition line %r" % line
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, "no TYPE for %s" % name
        assert (name, labels) not in values, "duplicate series %s%s" % (name, labels)
        values[(name, labels)] = float(value)
    return values


def response_size(r):
    return len(r.head_raw) + 2 + len(r.body)


class MetricsTest(BriskTestCase):

    def scrape(self, srv, path="/metrics"):
        """(parsed values, request bytes, response bytes) of one scrape on a fresh connection."""
        data = get(path)
        with srv.connect() as c:
            c.send(data)
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        return parse(r.body.decode()), len(data), response_size(r)

    def test_exact_counts_after_known_traffic(self):
        srv = self.start("--metrics", "/metrics", "--loops", "2", "--respond", "/two=2")
        before, req1, resp1 = self.scrape(srv)
        sent = received = 0
        with srv.connect() as c:
            for data, head in [(get("/plaintext"), False)] * 5 + [(request("HEAD", "/plaintext"), True)] * 2 + \
                              [(get("/missing"), False)] * 3 + [(get("/two"), False)]:
                c.send(data)
                sent += len(data)
                received += response_size(c.read_response(head=head))
        bad = b"NOT HTTP\r\n\r\n"
        with srv.connect() as c:
            c.send(bad)
            sent += len(bad)
            received += len(c.read_until_eof())
        after, _, _ = self.scrape(srv)

        def delta(name, labels=""):
            return after.get((name, labels), 0) - before.get((name, labels), 0)

        req = "brisk_requests_total"
        self.assertEqual(delta(req, '{route="/plaintext",code="2xx"}'), 7)
        self.assertEqual(delta(req, '{route="/two",code="2xx"}'), 1)
        self.assertEqual(delta(req, '{route="-",code="4xx"}'), 4)  # 3 x 404 and the 400
        self.assertEqual(delta(req, '{route="/metrics",code="2xx"}'), 1)  # the first scrape
        for code in ("1xx", "3xx", "5xx"):
            self.assertEqual(delta(req, '{route="/plaintext",code="%s"}' % code), 0)
        total = sum(v for (n, _), v in after.items() if n == req)
        self.assertEqual(after[("brisk_request_duration_seconds_count", "")], total)
        self.assertEqual(after[("brisk_request_duration_seconds_bucket", '{le="+Inf"}')], total)
        self.assertEqual(delta("brisk_request_duration_seconds_count"), 13)
        buckets = [v for (n, l), v in sorted(after.items(), key=lambda kv: kv[0][1]) if n.endswith("_bucket")]
        self.assertTrue(all(b <= total for b in buckets))
        self.assertEqual(delta("brisk_request_bytes_total"), sent + req1)
        self.assertEqual(delta("brisk_response_bytes_total"), received + resp1)
        self.assertEqual(after[("brisk_loops", "")], 2)
        self.assertEqual(after[("brisk_config_reloads_total", "")], 0)
        self.assertEqual(after[("brisk_access_log_dropped_lines_total", "")], 0)
        self.assertEqual(after[("brisk_draining", "")], 0)

    def test_connection_and_worker_gauges(self):
        srv = self.start("--metrics", "/metrics", "--loops", "1")
        idle = []
        for _ in range(3):
            c = srv.connect()
            self.addCleanup(c.close)
            c.send(get("/plaintext"))
            c.read_response()
            idle.append(c)
        values, _, _ = self.scrape(srv)
        self.assertEqual(values[("brisk_connections_open", "")], 4)
        self.assertEqual(values[("brisk_connections_busy", "")], 1)  # the scrape itself
        self.assertEqual(values[("brisk_connections_idle", "")], 3)
        workers = values[("brisk_workers", "")]
        self.assertGreaterEqual(workers, 1)
        self.assertEqual(values[("brisk_workers_idle", "")], workers - 1)
        self.assertGreaterEqual(values[("brisk_connections_accepted_total", "")], 5)
        for c in idle:
            c.close()

    def test_refused_connections(self):
        srv = self.start("--metrics", "/metrics", "--loops", "1", "--concurrency", "2")
        with srv.connect() as a, srv.connect() as b:
            a.send(get("/plaintext"))
            a.read_response()
            b.send(get("/plaintext"))
            b.read_response()
            with srv.connect() as c:
                self.assertTrue(c.read_until_eof().startswith(b"HTTP/1.1 503 "))
        values, refused = self.scrape_when_served(srv)
        self.assertEqual(values[("brisk_rejected_connections_total", '{reason="concurrency"}')], 1 + refused)
        self.assertEqual(values[("brisk_rejected_connections_total", '{reason="per_ip"}')], 0)
        self.assertEqual(values[("brisk_requests_total", '{route="-",code="5xx"}')], 1 + refused)

    def test_refused_per_ip(self):
        srv = self.start("--metrics", "/metrics", "--loops", "1", "--max-conns-per-ip", "1")
        with srv.connect() as a:
            a.send(get("/plaintext"))
            a.read_response()
            with srv.connect() as c:
                self.assertTrue(c.read_until_eof().startswith(b"HTTP/1.1 429 "))
        values, refused = self.scrape_when_served(srv)
        self.assertEqual(values[("brisk_rejected_connections_total", '{reason="per_ip"}')], 1 + refused)
        self.assertEqual(values[("brisk_requests_total", '{route="-",code="4xx"}')], 1 + refused + 1)  # + the probe

    def scrape_when_served(self, srv, timeout=3.0):
        """Scrapes once the server saw a held connection go: (values, scrapes refused before)."""
        deadline = time.monotonic() + timeout
        refused = 0
        while True:
            try:
                return self.scrape(srv)[0], refused
            except AssertionError:
                refused += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def test_handler_errors_by_plugin(self):
        so = os.path.join(os.path.dirname(brisk_bin()), "plugins", "fixtures", "libfx_crashy.so")
        self.assertTrue(os.path.exists(so), "fixture plugin not built: %s" % so)
        srv = self.start("--metrics", "/metrics", "--plugin", "/c/=" + so)
        _, (r,) = self.exchange(srv, get("/c/error"))
        self.assertEqual(r.status, 500)
        values, _, _ = self.scrape(srv)
        self.assertEqual(values[("brisk_handler_errors_total", '{route="fx_crashy"}')], 1)
        self.assertEqual(values[("brisk_requests_total", '{route="fx_crashy",code="5xx"}')], 1)
        self.assertEqual(values[("brisk_handler_errors_total", '{route="/plaintext"}')], 0)

    def test_routes_from_the_config_file(self):
        srv = self.start(config='[[route]]\npath = "/m"\ntype = "metrics"\n\n'
                                '[[route]]\npath = "/h"\ntype = "health"\n')
        values, _, _ = self.scrape(srv, "/m")
        self.assertIn(("brisk_requests_total", '{route="/h",code="2xx"}'), values)
        _, (r,) = self.exchange(srv, get("/h"))
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        self.assertEqual(r.header("cache-control"), "no-store")

    def test_bad_route_type_is_refused(self):
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write('[[route]]\npath = "/m"\ntype = "stats"\n')
        self.addCleanup(os.unlink, f.name)
        p = run_brisk(["--check-config", "--config", f.name])
        self.assertEqual(p.returncode, 1)
        self.assertIn('type: unknown route type "stats" (use "metrics" or "health")', p.stderr.decode())


class HealthTest(BriskTestCase):

    def test_ok_while_serving_then_503_while_draining(self):
        srv = self.start("--health", "/healthz", "--loops", "1")
        _, (r,) = self.exchange(srv, get("/healthz"))
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        # A request in progress when the stop begins is still answered.
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.2)
        srv.send_signal(signal.SIGTERM)
        self.wait_until_not_accepting(srv)  # the loop drains: 503 and Connection: close from now on
        self.assertTrue(srv.alive(), "brisk exited with a request in flight")
        c.send(b"\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (503, b"draining\n"))
        self.assertTrue(r.closes())
        self.assertEqual(srv.wait_exit(), 0)

    def test_ok_from_the_old_generation_during_a_reload(self):
        srv = self.start("--health", "/healthz", "--loops", "1")
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # in progress in generation 0
        time.sleep(0.2)
        srv.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "reloaded: generation 1" not in srv.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("reloaded: generation 1", srv.stderr())
        c.send(b"\r\n")
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"ok\n"))  # the process still serves
        _, (r,) = self.exchange(srv, get("/healthz"))
        self.assertEqual((r.status, r.body), (200, b"ok\n"))


if __name__ == "__main__":
    unittest.main()
