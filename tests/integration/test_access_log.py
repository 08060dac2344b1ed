"""Access log: built-in formats, templates, JSON, refused requests, SIGUSR1
reopen, and dropped lines when the log does not keep up."""

import json
import os
import re
import shutil
import signal
import socket
import tempfile
import time
import unittest

from brisk_harness import (BriskTestCase, brisk_bin, get, request, run_brisk, HELLO)

UA = "probe-ua/1.0"


def wait_lines(path, n, timeout=5.0, keep=lambda line: True):
    """Lines of `path` (the harness probe's left out) once at least n are there."""
    deadline = time.monotonic() + timeout
    lines = []
    while time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                lines = [ln.decode("utf-8", "replace") for ln in f.read().split(b"\n") if ln]
        except FileNotFoundError:
            lines = []
        lines = [ln for ln in lines if "/__probe" not in ln and keep(ln)]
        if len(lines) >= n:
            return lines
        time.sleep(0.05)
    raise AssertionError("want %d lines in %s, got %d: %r" % (n, path, len(lines), lines[-5:]))


def response_size(r):
    return len(r.head_raw) + 2 + len(r.body)


class FormatsTest(BriskTestCase):

    def log_path(self, srv):
        return os.path.join(srv.tmp, "access.log")

    def test_common(self):
        srv = self.start("--access-log", "@TMP@/access.log", "--loops", "1")
        self.exchange(srv, get("/plaintext?a=1", headers=[("User-Agent", UA)]))
        self.exchange(srv, get("/nope"))
        lines = wait_lines(self.log_path(srv), 2)
        self.assertRegex(lines[0], r'^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] '
                                   r'"GET /plaintext\?a=1 HTTP/1\.1" 200 13$')
        self.assertRegex(lines[1], r'"GET /nope HTTP/1\.1" 404 10$')

    def test_combined_escapes_quotes(self):
        srv = self.start("--access-log", "@TMP@/access.log", "--access-log-format", "combined")
        self.exchange(srv, get("/plaintext", headers=[("User-Agent", 'a "quoted" \\ ua'),
                                                      ("Referer", "http://example.org/x")]))
        line = wait_lines(self.log_path(srv), 1)[0]
        self.assertTrue(line.endswith(' 200 13 "http://example.org/x" "a \\x22quoted\\x22 \\x5C ua"'), line)

    def test_json_fields_and_validity(self):
        srv = self.start("--access-log", "@TMP@/access.log", "--access-log-format", "json",
                         "--respond", "/other=x")
        c = srv.connect()
        self.addCleanup(c.close)
        local_port = c.sock.getsockname()[1]
        reqs = [get("/plaintext?q=%22x%22", host="Example.org:8080", headers=[("User-Agent", UA)]),
                request("HEAD", "/plaintext"),
                get("/missing", headers=[("User-Agent", "caf\xe9 \x7e \xff")])]
        sizes = []
        for i, data in enumerate(reqs):
            c.send(data)
            sizes.append(response_size(c.read_response(head=(i == 1))))
        lines = wait_lines(self.log_path(srv), 3)
        recs = [json.loads(ln) for ln in lines]  # every line parses
        first, head, missing = recs
        self.assertEqual(first["status"], 200)
        self.assertEqual(first["method"], "GET")
        self.assertEqual(first["path"], "/plaintext")
        self.assertEqual(first["query"], 'q=%22x%22')
        self.assertEqual(first["request"], 'GET /plaintext?q=%22x%22 HTTP/1.1')
        self.assertEqual(first["protocol"], "HTTP/1.1")
        self.assertEqual(first["host"], "Example.org:8080")
        self.assertEqual(first["user_agent"], UA)
        self.assertEqual(first["referer"], "")
        self.assertEqual(first["remote_addr"], "127.0.0.1")
        self.assertEqual(first["remote_port"], local_port)
        self.assertEqual(first["route"], "/plaintext")
        self.assertEqual(first["body_bytes_sent"], 13)
        self.assertEqual([r["bytes_sent"] for r in recs], sizes)
        self.assertEqual([r["request_length"] for r in recs], [len(d) for d in reqs])
        self.assertEqual([r["connection_requests"] for r in recs], [1, 2, 3])
        self.assertEqual(len({r["connection"] for r in recs}), 1)
        self.assertEqual(head["body_bytes_sent"], 0)
        self.assertEqual(missing["status"], 404)
        self.assertEqual(missing["route"], "")
        self.assertEqual(missing["user_agent"], "caf\xe9 ~ \xff")  # Latin-1 bytes as \u00XX
        for r in recs:
            self.assertIsInstance(r["request_time_us"], int)
            self.assertRegex(r["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")

    def test_custom_template_every_variable(self):
        names = ["remote_addr", "remote_port", "time_local", "time_iso8601", "msec", "request", "method",
                 "path", "query", "protocol", "status", "body_bytes_sent", "bytes_sent", "request_length",
                 "request_time", "request_time_us", "host", "connection", "connection_requests", "route",
                 "loop", "http_x_trace_id"]
        fmt = "|".join("%s=${%s}" % (n, n) for n in names) + "|$$"
        srv = self.start("--access-log", "@TMP@/access.log", "--access-log-format", fmt, "--loops", "1")
        data = get("/plaintext?k=v", host="h.test", headers=[("X-Trace-Id", "t-42")])
        c, (r,) = self.exchange(srv, data)
        line = wait_lines(self.log_path(srv), 1)[0]
        self.assertTrue(line.endswith("|$"), line)
        fields = dict(p.split("=", 1) for p in line[:-2].split("|"))
        self.assertEqual(set(fields), set(names))
        self.assertEqual(fields["remote_port"], str(c.sock.getsockname()[1]))
        self.assertRegex(fields["time_local"], r"^\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}$")
        self.assertRegex(fields["msec"], r"^\d{10}\.\d{3}$")
        self.assertLess(abs(float(fields["msec"]) - time.time()), 60)
        self.assertEqual(fields["request"], "GET /plaintext?k=v HTTP/1.1")
        self.assertEqual((fields["method"], fields["path"], fields["query"], fields["protocol"]),
                         ("GET", "/plaintext", "k=v", "HTTP/1.1"))
        self.assertEqual((fields["status"], fields["body_bytes_sent"]), ("200", "13"))
        self.assertEqual(fields["bytes_sent"], str(response_size(r)))
        self.assertEqual(fields["request_length"], str(len(data)))
        self.assertRegex(fields["request_time"], r"^\d+\.\d{3}$")
        self.assertRegex(fields["request_time_us"], r"^\d+$")
        self.assertEqual(fields["host"], "h.test")
        self.assertEqual(fields["connection_requests"], "1")
        self.assertEqual(fields["route"], "/plaintext")
        self.assertEqual(fields["loop"], "0")
        self.assertEqual(fields["http_x_trace_id"], "t-42")

    def test_bytes_sent_counts_bodies_sent_by_reference_and_from_files(self):
        # A small static file leaves from the open-file cache (by reference),
        # a large one by sendfile; a plugin body by reference. Each line's
        # bytes_sent is the whole response as the client read it.
        root = os.path.join(self.tmp_dir(), "site")
        os.makedirs(root)
        with open(os.path.join(root, "small.txt"), "wb") as f:
            f.write(b"s" * 700)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(os.urandom(3 << 20))
        echo = os.path.join(os.path.dirname(os.path.abspath(brisk_bin())), "plugins", "libecho.so")
        self.assertTrue(os.path.isfile(echo), "%s was not built" % echo)
        srv = self.start("--access-log", "@TMP@/access.log", "--access-log-format",
                         "$path $status $body_bytes_sent $bytes_sent", "--loops", "1",
                         "--static", "/s/=" + root, "--plugin", "/e/=" + echo)
        sizes = {}
        for path in ("/s/small.txt", "/s/big.bin", "/e/x"):
            _, (r,) = self.exchange(srv, get(path), timeout=20)
            self.assertEqual(r.status, 200, r)
            sizes[path] = (len(r.body), response_size(r))
        lines = wait_lines(self.log_path(srv), 3)
        for line in lines:
            path, status, body, sent = line.split()
            self.assertEqual(status, "200", line)
            self.assertEqual((int(body), int(sent)), sizes[path], line)

    def tmp_dir(self):
        d = tempfile.mkdtemp(prefix="brisk-alog-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_standard_output_and_toml_keys(self):
        srv = self.start(config='access_log = "-"\naccess_log_format = "$status $path"\n')
        self.exchange(srv, get("/plaintext"))
        self.assertEqual(wait_lines(srv.stdout_path, 1), ["200 /plaintext"])

    def test_check_config_refuses_unknown_variables(self):
        p = run_brisk(["--check-config", "--access-log-format", "$remote_addr $nope"])
        self.assertEqual(p.returncode, 1)
        err = p.stderr.decode()
        self.assertIn("--access-log-format: unknown variable $nope", err)
        self.assertIn("$request_time_us", err)  # the known ones are listed
        p = run_brisk(["--check-config", "--access-log-format", "$status $"])
        self.assertEqual(p.returncode, 1)
        self.assertIn("'$' must be followed by a variable name", p.stderr.decode())
        p = run_brisk(["--check-config", "--access-log-format", "escape=json {\"s\":$status}",
                       "--access-log", "/tmp/x.log"])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unopenable_file_is_one_line_error(self):
        p = run_brisk(["--listen", "127.0.0.1:0", "--access-log", "/nonexistent-dir/a.log"])
        self.assert_one_line_error(p, 1, mention="cannot open access log")


class ErrorAnswersTest(BriskTestCase):

    def test_parser_errors_timeouts_and_limits_are_logged(self):
        srv = self.start("--access-log", "@TMP@/access.log", "--access-log-format", "json",
                         "--max-request-body-size", "10", "--max-header-size", "1KiB", "--read-timeout", "500ms")
        log = os.path.join(srv.tmp, "access.log")
        self.assert_rejected(srv, b"BAD REQUEST LINE\r\n\r\n", 400)
        self.assert_rejected(srv, get("/" + "a" * 2000), 414)
        self.assert_rejected(srv, get("/plaintext", headers=[("X-Big", "b" * 2000)]), 431)
        self.assert_rejected(srv, request("POST", "/plaintext", headers=[("Content-Length", "100")],
                                          body=b"x" * 100), 413, follow=False)
        with srv.connect() as c:
            c.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
            r = c.read_response(timeout=5)
            self.assertEqual(r.status, 408)
        keep = lambda ln: json.loads(ln)["status"] != 200
        recs = [json.loads(ln) for ln in wait_lines(log, 5, keep=keep)]
        by_status = {r["status"]: r for r in recs}
        self.assertEqual(sorted(by_status), [400, 408, 413, 414, 431])
        self.assertEqual(by_status[400]["request"], "BAD REQUEST LINE")
        self.assertEqual(by_status[400]["method"], "")
        self.assertEqual(by_status[414]["request"][:20], "GET /" + "a" * 15)
        self.assertEqual(by_status[413]["method"], "POST")
        self.assertEqual(by_status[413]["path"], "/plaintext")
        self.assertEqual(by_status[408]["request"], "GET /slow HTTP/1.1")
        self.assertGreaterEqual(by_status[408]["request_time_us"], 400000)
        for r in recs:
            self.assertEqual(r["route"], "")
            self.assertEqual(r["connection_requests"], 1)
            self.assertGreater(r["bytes_sent"], r["body_bytes_sent"])

    def test_refused_connections_are_logged(self):
        srv = self.start("--access-log", "@TMP@/access.log", "--access-log-format", "$status [$request] $bytes_sent",
                         "--max-conns-per-ip", "1", "--loops", "1")
        log = os.path.join(srv.tmp, "access.log")
        with srv.connect() as held:
            held.send(get("/plaintext"))
            held.read_response()
            with srv.connect() as c:
                data = c.read_until_eof()
        self.assertTrue(data.startswith(b"HTTP/1.1 429 "), data)
        lines = wait_lines(log, 2)
        self.assertIn("429 [-] %d" % len(data), lines)


class ReopenTest(BriskTestCase):

    def test_sigusr1_reopens_access_and_error_logs(self):
        srv = self.start("--access-log", "@TMP@/access.log", "--error-log", "@TMP@/error.log",
                         "--access-log-format", "$path")
        log = os.path.join(srv.tmp, "access.log")
        err = os.path.join(srv.tmp, "error.log")
        self.exchange(srv, get("/plaintext?1"))
        wait_lines(log, 1)
        os.rename(log, log + ".1")
        os.rename(err, err + ".1")
        srv.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        while not (os.path.exists(log) and os.path.exists(err)) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertTrue(os.path.exists(log), "access log not reopened")
        self.exchange(srv, get("/nope"))
        self.assertEqual(wait_lines(log, 1), ["/nope"])
        with open(log + ".1") as f:
            self.assertEqual([ln for ln in f.read().splitlines() if ln != "/__probe"], ["/plaintext"])
        deadline = time.monotonic() + 5
        text = ""
        while "reopened" not in text and time.monotonic() < deadline:
            with open(err) as f:
                text = f.read()
            time.sleep(0.02)
        self.assertIn("log files reopened", text)
        self.assert_still_serving(srv)


class DropTest(BriskTestCase):

    def test_lines_are_dropped_and_counted_when_nobody_reads(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="brisk-fifo-")
        fifo = os.path.join(d, "log.fifo")
        os.mkfifo(fifo)
        # A reader that never reads: brisk may open the FIFO, and its pipe fills up.
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, rfd)
        srv = self.start("--access-log", fifo, "--access-log-buffer", "64KiB", "--loops", "1",
                         "--metrics", "/metrics")
        batch = get("/plaintext?" + "p" * 200) * 100
        with srv.connect() as c:
            for _ in range(40):  # 4000 lines of about 250 bytes: far more than 64 KiB of pipe and 64 KiB of ring
                c.send(batch)
                c.read_responses(100)
            c.send(get("/metrics"))
            metrics = c.read_response().body.decode()
        m = re.search(r"^brisk_access_log_dropped_lines_total (\d+)$", metrics, re.M)
        self.assertIsNotNone(m, metrics)
        self.assertGreater(int(m.group(1)), 1000)
        deadline = time.monotonic() + 5
        while "lines dropped" not in srv.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("lines dropped", srv.stderr())
        self.assert_still_serving(srv)
        # The stop must not wait for the pipe forever (the harness asserts a clean exit).


if __name__ == "__main__":
    unittest.main()
