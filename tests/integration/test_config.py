"""--config FILE (TOML): every flag is a key, [[route]] tables, flags override
the file, --check-config reports every problem as file:line:column."""

import os
import re
import shutil
import struct
import socket
import tempfile
import time
import unittest

from brisk_harness import (CRASH_MARKERS, HELLO, BriskTestCase, brisk_bin, decode, free_port, get,
                           request, run_brisk)

EVERY_KEY = """\
listen = ["127.0.0.1:@PORT@"]
loops = 1
concurrency = 1000
max_idle_worker_duration = "5s"
read_timeout = "5s"
write_timeout = "5s"
idle_timeout = "5s"
max_requests_per_conn = 2
max_request_body_size = "8KiB"
max_header_size = "4KiB"
max_conns_per_ip = 100
disable_keepalive = false
server_name = "tomlsrv"
no_server_header = false
no_date_header = true
respond = ["/r=from-respond", "/plaintext=Hello, World!"]
log_level = "info"
error_log = "@TMP@/error.log"
log_all_errors = true

[[route]]
path = "/json"
respond = '{"message":"Hello, World!"}'
status = 201
content_type = "application/json"

[[route]]
path = "/plain"
respond = "plain text"
"""


class ConfigFileTest(BriskTestCase):
    def test_every_key(self):
        srv = self.start(config=EVERY_KEY, routes=False, listen_flag=False)
        # respond list, route table with status and content type
        with srv.connect() as c:
            c.send(get("/r") + get("/json"))
            r1, r2 = c.read_responses(2)
        self.assertEqual((r1.status, r1.body), (200, b"from-respond"))
        self.assertEqual((r2.status, r2.body), (201, b'{"message":"Hello, World!"}'))
        self.assertEqual(r2.header("content-type"), "application/json")
        self.assertTrue(r2.closes(), "max_requests_per_conn = 2: %r" % r2)
        # server_name / no_date_header
        self.assertEqual(r1.header("server"), "tomlsrv")
        self.assertIsNone(r1.header("date"))
        # route defaults: 200 text/plain
        _, (r,) = self.exchange(srv, get("/plain"))
        self.assertEqual((r.status, r.body), (200, b"plain text"))
        self.assertTrue((r.header("content-type") or "").startswith("text/plain"), r)
        # sizes
        self.assert_rejected(srv, request("POST", headers=[("Content-Length", "8193")]), 413)
        self.assert_rejected(srv, get(headers=[("X-Pad", "p" * 5000)]), 431)
        # error_log: the file is created
        self.assertTrue(os.path.exists(os.path.join(srv.tmp, "error.log")))

    def test_booleans_true(self):
        srv = self.start(config='disable_keepalive = true\nno_server_header = true\n')
        with srv.connect() as c:
            c.send(get() + get())
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            self.assertIsNone(r.header("server"))
            self.assertIsNotNone(r.header("date"))
            self.assertTrue(r.closes())
            self.assert_closes(c)

    def test_timeouts_from_file(self):
        srv = self.start(config='read_timeout = "1s"\nidle_timeout = "1s"\n')
        with srv.connect() as c:
            t0 = time.monotonic()
            c.send(b"GET /plaintext HTTP/1.1\r\n")
            r = c.read_response(timeout=5)
            self.assertEqual(r.status, 408)
            self.assertLess(time.monotonic() - t0, 4)
        with srv.connect() as c:
            c.send(get())
            self.assertEqual(c.read_response().status, 200)
            self.assertEqual(c.read_until_eof(timeout=4), b"")

    def assert_second_connection_refused(self, config, status):
        """With one connection held, the next one gets `status` and is closed."""
        srv = self.start(config=config)
        with srv.connect() as held:
            held.send(get())
            self.assertEqual(held.read_response().status, 200)
            with srv.connect() as c:
                c.send(get())
                r = c.read_response()
                self.assertEqual(r.status, status)
                self.assertTrue(r.closes(), r)
        self.assert_served_again(srv)

    def test_concurrency_from_file(self):
        self.assert_second_connection_refused("concurrency = 1\nloops = 1\n", 503)

    def test_max_conns_per_ip_from_file(self):
        self.assert_second_connection_refused("max_conns_per_ip = 1\nloops = 1\n", 429)

    def test_unix_listen_in_file(self):
        # kind="unix" probes @TMP@/s.sock; the file (not a flag) says to listen there
        cfg = 'listen = ["unix:@TMP@/s.sock"]\n'
        srv = self.start(config=cfg, kind="unix", listen_flag=False)
        self.assert_still_serving(srv)

    def test_flags_override_file(self):
        cfg = ('server_name = "fromfile"\nmax_request_body_size = "1KiB"\n'
               'no_date_header = true\n')
        srv = self.start("--server-name", "fromflag", "--max-request-body-size", "8KiB",
                         config=cfg)
        _, (r,) = self.exchange(srv, request("POST", headers=[("Content-Length", "4000")],
                                             body=b"b" * 4000))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("server"), "fromflag")
        self.assertIsNone(r.header("date"), "a file key not given as a flag still applies")

    def test_respond_flag_wins_over_file_route(self):
        cfg = '[[route]]\npath = "/x"\nrespond = "from file"\n'
        srv = self.start("--respond", "/x=from flag", config=cfg)
        _, (r,) = self.exchange(srv, get("/x"))
        self.assertEqual((r.status, r.body), (200, b"from flag"))

    def test_listen_flag_replaces_file_listen(self):
        p_file = free_port()
        cfg = 'listen = ["127.0.0.1:%d"]\n' % p_file
        srv = self.start(config=cfg)   # the harness adds --listen 127.0.0.1:<other port>
        self.assert_still_serving(srv)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", p_file), timeout=1).close()

    def test_file_listen_used_without_flag(self):
        srv = self.start(config='listen = ["127.0.0.1:@PORT@"]\n', listen_flag=False)
        self.assert_still_serving(srv)


class CheckConfigFileTest(BriskTestCase):
    def write(self, text, name="brisk.toml"):
        d = tempfile.mkdtemp(prefix="brisk-cfg-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, text):
        path = self.write(text)
        p = run_brisk(["--check-config", "--config", path])
        err = decode(p.stderr) + decode(p.stdout)
        for m in CRASH_MARKERS:
            self.assertNotIn(m, err)
        return path, p.returncode, decode(p.stderr)

    def test_valid_file(self):
        _, code, err = self.check(EVERY_KEY.replace("@PORT@", "1").replace("@TMP@", "/tmp"))
        self.assertEqual(code, 0, err)

    def test_examples_file(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "brisk.toml")
        self.assertTrue(os.path.exists(example), "examples/brisk.toml is part of the tree")
        # --check-config loads its plugin: the file's build/plugins/ is this build's plugins directory.
        with open(example) as f:
            text = f.read().replace('"build/plugins/', '"%s/' % os.path.join(os.path.dirname(brisk_bin()), "plugins"))
        d = tempfile.mkdtemp(prefix="brisk-example-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "brisk.toml")
        with open(path, "w") as f:
            f.write(text)
        p = run_brisk(["--check-config", "--config", path])
        self.assertEqual(p.returncode, 0, decode(p.stderr))

    def test_syntax_error_has_line_and_column(self):
        path, code, err = self.check('server_name = "a"\nloops = = 2\n')
        self.assertEqual(code, 1, err)
        self.assertRegex(err, re.escape(path) + r":2:\d+", err)

    def test_unterminated_string(self):
        path, code, err = self.check('loops = 1\n\nserver_name = "abc\n')
        self.assertEqual(code, 1, err)
        self.assertRegex(err, re.escape(path) + r":3:\d+", err)

    def test_unknown_key(self):
        path, code, err = self.check('loops = 1\nno_such_key = 3\n')
        self.assertEqual(code, 1, err)
        self.assertIn("no_such_key", err)
        self.assertRegex(err, re.escape(path) + r":2:\d+", err)

    def test_dashed_key_is_unknown(self):
        path, code, err = self.check('read-timeout = "1s"\n')
        self.assertEqual(code, 1, err)
        self.assertIn("read-timeout", err)

    def test_every_problem_listed(self):
        text = ('loops = 1\n'
                'bogus_one = 1\n'             # 2: unknown key
                'read_timeout = "10x"\n'      # 3: bad duration
                'max_header_size = "4XB"\n'   # 4: bad size
                'listen = ["nohost"]\n'       # 5: bad address
                'loops2 = 2\n'                # 6: unknown key
                'server_name = 5\n'           # 7: wrong type
                '\n[[route]]\npath = "/a"\nrespond = "x"\nbogus_two = 1\n')  # 12
        path, code, err = self.check(text)
        self.assertEqual(code, 1, err)
        for line, word in ((2, "bogus_one"), (3, "10x"), (4, "4XB"), (5, "nohost"),
                           (6, "loops2"), (7, "server_name"), (12, "bogus_two")):
            with self.subTest(line=line, word=word):
                self.assertIn(word, err)
                self.assertRegex(err, re.escape(path) + r":%d:\d+" % line)

    def test_route_without_path(self):
        path, code, err = self.check('[[route]]\nrespond = "x"\n')
        self.assertEqual(code, 1, err)
        self.assertIn("path", err)

    def test_bad_route_status(self):
        path, code, err = self.check('[[route]]\npath = "/a"\nrespond = "x"\nstatus = 1000\n')
        self.assertEqual(code, 1, err)
        self.assertRegex(err, re.escape(path) + r":4:\d+")

    def test_starting_with_bad_file_fails_cleanly(self):
        path = self.write('no_such_key = 1\n')
        p = run_brisk(["--config", path, "--listen", "127.0.0.1:%d" % free_port()])
        self.assertEqual(p.returncode, 1, decode(p.stderr))
        self.assertIn("no_such_key", decode(p.stderr))
        for m in CRASH_MARKERS:
            self.assertNotIn(m, decode(p.stderr))


class LoggingTest(BriskTestCase):
    def test_error_log_file_gets_the_log(self):
        log = "@TMP@/err.log"
        srv = self.start("--error-log", log, "--log-level", "debug", "--log-all-errors")
        path = os.path.join(srv.tmp, "err.log")
        self.assertTrue(os.path.exists(path), "--error-log file not created")
        # some client noise: a reset mid-request and a bad request
        c = srv.connect()
        c.send(b"GET /plain")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        self.assert_rejected(srv, b"BAD\r\n\r\n", 400)
        self.stop_and_check(srv)
        with open(path, "rb") as f:
            text = f.read()
        self.assertTrue(text.strip(), "nothing logged at debug level")
        self.assertEqual(srv.stderr().strip(), "",
                         "with --error-log, stderr must stay empty")

    def test_quiet_by_default_on_stderr(self):
        # Client noise (resets) is not logged without --log-all-errors.
        srv = self.start("--log-level", "error")
        c = srv.connect()
        c.send(b"GET /plain")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        self.assert_still_serving(srv)
        self.stop_and_check(srv)
        self.assertEqual(srv.stderr().strip(), "", "a client reset was logged at level error")


if __name__ == "__main__":
    unittest.main()
