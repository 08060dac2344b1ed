"""Handler plugins through the real binary: every refusal of the loader (one
line on stderr, exit 1), and the plugins that load answering real clients
(http.client, curl, raw sockets): hello, echo, the examples, and the fixture
plugins of tests/plugins/fixtures/ (declining, failing, blocking, an older
ABI minor).

The .so files are found next to the binary: <dir of brisk>/plugins/lib*.so
and <dir of brisk>/plugins/fixtures/libfx_*.so. A test whose .so was not
built is skipped, saying which.
"""

import glob
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from brisk_harness import (HELLO, IO_TIMEOUT, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_SYN_RECV, BriskTestCase, Server,
                           brisk_bin, curl, decode, free_port, get, ipv6_available, parse_curl_head, request,
                           run_brisk, server_end_by_port, unread_by_server)

HELLO_JSON = b'{"message":"Hello, World!"}'
REFUSE_TIMEOUT = 10.0  # seconds a refusing brisk may take to exit


# --------------------------------------------------------------------------
# Where the plugins are
# --------------------------------------------------------------------------

def plugins_dir():
    return os.path.join(os.path.dirname(os.path.abspath(brisk_bin())), "plugins")


def plugin_so(name):
    """<build>/plugins/lib<name>.so (first-party and example plugins)."""
    return os.path.join(plugins_dir(), "lib%s.so" % name)


def fixture_so(name):
    """<build>/plugins/fixtures/libfx_<name>.so."""
    return os.path.join(plugins_dir(), "fixtures", "libfx_%s.so" % name)


def find_plugin(name, pattern):
    """lib<name>.so, else the first .so in <build>/plugins/ matching `pattern`
    (the Rust example's file name is cargo's business)."""
    path = plugin_so(name)
    if os.path.isfile(path):
        return path
    found = sorted(glob.glob(os.path.join(plugins_dir(), pattern)))
    return found[0] if found else path


def toml_str(text):
    """A TOML basic string (JSON's escapes are TOML's for what paths hold)."""
    return json.dumps(text)


def sha256_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def body_line(resp):
    return decode(resp.body).strip()


class CwdServer(Server):
    """A Server started in the directory `cwd` (for plugin paths relative to it)."""

    def __init__(self, args, cwd, **kw):
        super().__init__(args, **kw)
        self.cwd = cwd

    def start(self, wait=True):
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                     start_new_session=True, cwd=self.cwd)
        self.pid = self.proc.pid
        if wait:
            self.wait_ready()
        return self


class PluginTestCase(BriskTestCase):

    def need(self, *paths):
        """Fails the test unless every .so exists (each is built by default); returns the paths."""
        for p in paths:
            self.assertTrue(os.path.isfile(p), "%s was not built: it is part of the build" % p)
        return paths[0] if len(paths) == 1 else paths

    def tmpdir(self):
        d = tempfile.mkdtemp(prefix="brisk-plugin-it-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def start_plugins(self, *args, config=None, **kw):
        """A server with `args`; with a TOML `config`, its [plugins.*] and
        [[route]]s come from the file (the harness adds --listen and the
        /plaintext route in both cases)."""
        return self.start(*args, config=config, **kw)

    def get_one(self, srv, target, method="GET", headers=(), body=b"", host="x", timeout=IO_TIMEOUT):
        """A fresh connection, one request, one response."""
        with srv.connect(timeout=timeout) as c:
            c.send(request(method, target, host=host, headers=headers, body=body))
            return c.read_response(head=(method == "HEAD"), timeout=timeout)

    def assert_logged(self, srv, text, timeout=3.0):
        """`text` shows up on the server's stderr (start-up lines are
        written once the loops are up, maybe after the first answer)."""
        deadline = time.monotonic() + timeout
        while text not in srv.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn(text, srv.stderr())

    def assert_text(self, resp, status, body, content_type=None):
        self.assertEqual(resp.status, status, resp)
        self.assertEqual(resp.body, body if isinstance(body, bytes) else body.encode(), resp)
        if content_type is not None:
            self.assertEqual(resp.header("content-type"), content_type, resp)
        self.assertEqual(resp.header_all("content-length"), [str(len(resp.body))], resp)
        self.assertIsNotNone(resp.header("date"), "no Date: %r" % resp)
        self.assertIsNotNone(resp.header("server"), "no Server: %r" % resp)


# --------------------------------------------------------------------------
# Refusals: exit 1, one line, nothing served
# --------------------------------------------------------------------------

class RefusalTest(PluginTestCase):
    """brisk refuses a plugin it cannot or must not load before it serves
    anything: exit code 1 and one line `brisk: plugin "NAME": ...`."""

    def refuse(self, args, config=None, timeout=REFUSE_TIMEOUT):
        """Runs brisk to its exit; returns its one stderr line."""
        cmd = ["--listen", "127.0.0.1:%d" % free_port()]
        if config is not None:
            path = os.path.join(self.tmpdir(), "brisk.toml")
            with open(path, "w") as f:
                f.write(config)
            cmd = ["--config", path] + cmd
        try:
            proc = run_brisk(cmd + list(args), timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.fail("brisk did not exit within %.0f s (it should refuse to start); stderr: %r"
                      % (timeout, decode(e.stderr or b"")))
        return self.assert_one_line_error(proc, code=1)

    def refuse_flag(self, so, expected, prefix="/"):
        """--plugin PREFIX=so; the instance is named after the file."""
        line = self.refuse(["--plugin", "%s=%s" % (prefix, so)])
        self.assertEqual(line, "brisk: " + expected)

    def test_missing_file(self):
        so = os.path.join(self.tmpdir(), "libnope.so")
        self.refuse_flag(so, 'plugin "nope": cannot load %s: No such file or directory' % so)

    def test_directory(self):
        so = os.path.join(self.tmpdir(), "libdir.so")
        os.mkdir(so)
        self.refuse_flag(so, 'plugin "dir": cannot load %s: not a regular file' % so)

    def test_not_elf(self):
        so = os.path.join(self.tmpdir(), "libjunk.so")
        with open(so, "w") as f:
            f.write("this is not a shared object\n" * 200)
        os.chmod(so, 0o644)
        line = self.refuse(["--plugin", "/=" + so])
        self.assertTrue(line.startswith('brisk: plugin "junk": cannot load %s: ' % so), line)
        self.assertIn("invalid ELF header", line)

    def test_no_entry_symbol(self):
        so = self.need(fixture_so("no_entry"))
        self.refuse_flag(so, 'plugin "fx_no_entry": %s is not a brisk plugin: it exports no '
                             'brisk_plugin_entry_v1' % so)

    def test_entry_v2_only(self):
        so = self.need(fixture_so("abi_v2"))
        self.refuse_flag(so, 'plugin "fx_abi_v2": %s was built for plugin ABI 2.x; this brisk speaks 1.x' % so)

    def test_descriptor_major_2(self):
        so = self.need(fixture_so("major2"))
        self.refuse_flag(so, 'plugin "fx_major2": %s was built for plugin ABI 2.0; this brisk speaks 1.x' % so)

    def test_needs_newer_minor(self):
        so = self.need(fixture_so("new_minor"))
        self.refuse_flag(so, 'plugin "fx_new_minor": %s needs plugin ABI 1.3 or newer; this brisk speaks 1.2' % so)

    def test_entry_returns_null(self):
        so = self.need(fixture_so("null_entry"))
        self.refuse_flag(so, 'plugin "fx_null_entry": %s declined to load (its entry point returned NULL)' % so)

    def test_malformed_descriptor(self):
        so = self.need(fixture_so("malformed"))
        self.refuse_flag(so, 'plugin "fx_malformed": %s has a malformed descriptor (size 8)' % so)

    def test_body_stream_and_blocking_do_not_combine(self):
        so = self.need(fixture_so("two_caps"))
        self.refuse_flag(so, 'plugin "fx_two_caps": %s asks for BRISK_CAP_BODY_STREAM with BRISK_CAP_BLOCKING, '
                             'which do not combine' % so)

    def test_no_handle_callback(self):
        so = self.need(fixture_so("no_handle"))
        self.refuse_flag(so, 'plugin "fx_no_handle": %s has no create or handle callback' % so)

    def test_group_or_world_writable(self):
        good = self.need(fixture_so("old_minor"))
        d = self.tmpdir()
        for mode in (0o666, 0o664, 0o646):
            so = os.path.join(d, "libwritable.so")
            shutil.copyfile(good, so)
            os.chmod(so, mode)
            with self.subTest(mode=oct(mode)):
                self.refuse_flag(so, 'plugin "writable": %s is group- or world-writable; refusing to load it '
                                     '(chmod go-w %s)' % (so, so))

    def test_sha256_mismatch(self):
        so = self.need(fixture_so("old_minor"))
        pinned = "0" * 64
        line = self.refuse([], config=(
            "[plugins.old]\nfile = %s\nsha256 = %s\n\n[[route]]\nprefix = \"/old/\"\nplugin = \"old\"\n"
            % (toml_str(so), toml_str(pinned))))
        self.assertEqual(line, 'brisk: plugin "old": %s has sha256 %s, but the config pins %s'
                         % (so, sha256_of(so), pinned))

    def test_create_fails_with_place_in_file(self):
        so = self.need(fixture_so("create_fails"))
        d = self.tmpdir()
        path = os.path.join(d, "brisk.toml")
        text = ("[plugins.cf]\nfile = %s\nconfig = { mode = \"medium\" }\n\n"
                "[[route]]\nprefix = \"/cf/\"\nplugin = \"cf\"\n" % toml_str(so))
        with open(path, "w") as f:
            f.write(text)
        line_no = 3
        col = text.splitlines()[line_no - 1].index('"medium"') + 1
        proc = run_brisk(["--config", path, "--listen", "127.0.0.1:%d" % free_port()], timeout=REFUSE_TIMEOUT)
        line = self.assert_one_line_error(proc, code=1)
        self.assertEqual(line, 'brisk: plugin "cf" (%s): %s:%d:%d: mode must be fast or slow'
                         % (so, path, line_no, col))

    def test_create_fails_without_the_key(self):
        # No `mode` at all: config_where() names the [plugins.cf] table.
        so = self.need(fixture_so("create_fails"))
        d = self.tmpdir()
        path = os.path.join(d, "brisk.toml")
        with open(path, "w") as f:
            f.write("[[route]]\nprefix = \"/cf/\"\nplugin = \"cf\"\n\n[plugins.cf]\nfile = %s\n" % toml_str(so))
        proc = run_brisk(["--config", path, "--listen", "127.0.0.1:%d" % free_port()], timeout=REFUSE_TIMEOUT)
        line = self.assert_one_line_error(proc, code=1)
        self.assertEqual(line, 'brisk: plugin "cf" (%s): %s:5:1: mode must be fast or slow' % (so, path))

    def test_create_fails_example_c_plugin(self):
        # A real plugin's create() failure: greet wants a string greeting.
        so = self.need(plugin_so("greet"))
        d = self.tmpdir()
        path = os.path.join(d, "brisk.toml")
        with open(path, "w") as f:
            f.write("[plugins.g]\nfile = %s\nconfig = { greeting = 7 }\n\n"
                    "[[route]]\nprefix = \"/g/\"\nplugin = \"g\"\n" % toml_str(so))
        proc = run_brisk(["--config", path, "--listen", "127.0.0.1:%d" % free_port()], timeout=REFUSE_TIMEOUT)
        line = self.assert_one_line_error(proc, code=1)
        self.assertEqual(line, 'brisk: plugin "g" (%s): %s:3:23: greeting: must be a string' % (so, path))

    def test_loop_init_failure_fails_start_up(self):
        # plugin_abi.h: "loop_init ... Non-zero fails start-up."
        so = self.need(fixture_so("loop_fails"))
        line = self.refuse(["--plugin", "/=" + so, "--loops", "1"], timeout=5.0)
        self.assertEqual(line, 'brisk: plugin "fx_loop_fails": loop_init failed on loop 0')

    def test_every_failing_instance_is_listed_at_start_up_and_by_check_config(self):
        # brisk(1): --check-config loads every plugin and runs its create(), as start-up does.
        d = self.tmpdir()
        missing = os.path.join(d, "libmissing.so")
        path = os.path.join(d, "brisk.toml")
        with open(path, "w") as f:
            f.write("[plugins.a]\nfile = %s\n\n[plugins.b]\nfile = %s\nconfig = { interval = \"soon\" }\n\n"
                    "[plugins.c]\nfile = %s\n\n[plugins.d]\nfile = %s\nconfig = { greeting = 5 }\n"
                    % (toml_str(missing), toml_str(plugin_so("sse")), toml_str(plugin_so("hello")),
                       toml_str(plugin_so("hello"))))
        for extra in (["--check-config"], ["--listen", "127.0.0.1:%d" % free_port()]):
            proc = run_brisk(["--config", path] + extra, timeout=REFUSE_TIMEOUT)
            self.assertEqual(proc.returncode, 1, decode(proc.stderr))
            self.assertEqual(proc.stdout, b"")
            lines = decode(proc.stderr).splitlines()
            self.assertEqual(len(lines), 3, lines)
            self.assertTrue(lines[0].startswith('brisk: plugin "a": cannot load %s' % missing), lines)
            self.assertIn('plugin "b" (%s): %s:6:23: interval: ' % (plugin_so("sse"), path), lines[1])
            self.assertIn('plugin "d" (%s): %s:13:23: greeting: expected a string, found an integer'
                          % (plugin_so("hello"), path), lines[2])
        with open(path, "w") as f:
            f.write("[plugins.c]\nfile = %s\n" % toml_str(plugin_so("hello")))
        proc = run_brisk(["--config", path, "--check-config"], timeout=REFUSE_TIMEOUT)
        self.assertEqual((proc.returncode, proc.stdout), (0, b"configuration OK\n"), decode(proc.stderr))

    def test_pins_and_permissions_that_are_fine_load(self):
        # A copy that is 0644 and pinned with the right digest (upper case) loads.
        good = self.need(fixture_so("old_minor"))
        d = self.tmpdir()
        so = os.path.join(d, "libpinned.so")
        shutil.copyfile(good, so)
        os.chmod(so, 0o644)
        srv = self.start_plugins(config=(
            "[plugins.pinned]\nfile = %s\nsha256 = %s\n\n[[route]]\nprefix = \"/old/\"\nplugin = \"pinned\"\n"
            % (toml_str(so), toml_str(sha256_of(so).upper()))))
        self.assert_text(self.get_one(srv, "/old/x"), 200, "old minor: /old/x\n")
        self.assert_logged(srv, 'plugin "pinned": fx_old_minor 0.0.1 from %s' % so)

    def test_bare_file_name_is_opened_in_the_working_directory(self):
        # A name without '/' is ./NAME, never a search of the library path.
        good = self.need(fixture_so("old_minor"))
        d = self.tmpdir()
        try:
            proc = subprocess.run([brisk_bin(), "--listen", "127.0.0.1:%d" % free_port(), "--plugin", "/=libc.so.6"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                  timeout=REFUSE_TIMEOUT, cwd=d, start_new_session=True)
        except subprocess.TimeoutExpired:
            self.fail("brisk loaded libc.so.6 from the library path and kept running")
        line = self.assert_one_line_error(proc, code=1)
        self.assertEqual(line, 'brisk: plugin "c": cannot load libc.so.6: No such file or directory')
        shutil.copyfile(good, os.path.join(d, "libhere.so"))
        srv = CwdServer(["--plugin", "/old/=libhere.so"], cwd=d)
        self.addCleanup(srv.cleanup)
        srv.start()
        self.addCleanup(self.stop_and_check, srv)
        self.assertEqual(self.get_one(srv, "/old/x").body, b"old minor: /old/x\n")


# --------------------------------------------------------------------------
# First-party plugins
# --------------------------------------------------------------------------

class HelloTest(PluginTestCase):

    def setUp(self):
        self.so = self.need(plugin_so("hello"))

    def test_plaintext_and_json(self):
        srv = self.start_plugins("--plugin", "/h/=" + self.so)
        # raw socket, both pipelined
        with srv.connect() as c:
            c.send(get("/h/plaintext") + get("/h/json"))
            r1, r2 = c.read_responses(2)
        self.assert_text(r1, 200, HELLO, "text/plain")
        self.assert_text(r2, 200, HELLO_JSON, "application/json")
        # http.client
        hc = http.client.HTTPConnection(srv.host, srv.port, timeout=IO_TIMEOUT)
        try:
            hc.request("GET", "/h/json")
            r = hc.getresponse()
            self.assertEqual((r.status, r.read()), (200, HELLO_JSON))
            self.assertEqual(r.getheader("Content-Type"), "application/json")
            self.assertIsNotNone(r.getheader("Date"))
            self.assertEqual(r.getheader("Server"), "brisk")
            hc.request("GET", "/h/deeper/plaintext")  # same connection
            r = hc.getresponse()
            self.assertEqual((r.status, r.read()), (200, HELLO))
        finally:
            hc.close()
        # curl
        p = curl("-D", "-", "-o", "/dev/null", srv.url("/h/plaintext"))
        self.assertEqual(p.returncode, 0, p.stderr)
        (status, fields), = parse_curl_head(p.stdout)
        self.assertEqual((status, fields.get("content-type"), fields.get("content-length")),
                         (200, "text/plain", "13"))
        p = curl(srv.url("/h/json"))
        self.assertEqual(p.stdout, HELLO_JSON)

    def test_declines_others(self):
        srv = self.start_plugins("--plugin", "/h/=" + self.so)
        self.assertEqual(self.get_one(srv, "/h/other").status, 404)
        self.assertEqual(self.get_one(srv, "/h/plaintext", method="POST", body=b"x",
                                      headers=[("Content-Length", "1")]).status, 404)
        self.assert_still_serving(srv)

    def test_head_has_length_but_no_body(self):
        srv = self.start_plugins("--plugin", "/h/=" + self.so)
        with srv.connect() as c:
            # The GET after the HEAD only parses right if the HEAD sent no body.
            c.send(request("HEAD", "/h/plaintext") + request("HEAD", "/h/json") + get("/h/plaintext"))
            r1, r2, r3 = c.read_responses(3, heads={0, 1})
            self.assertTrue(c.is_open_after(0.2), "bytes after the answers: %r" % bytes(c.buf))
        self.assertEqual((r1.status, r1.header("content-length"), r1.header("content-type")),
                         (200, "13", "text/plain"), r1)
        self.assertEqual(r2.header("content-length"), str(len(HELLO_JSON)), r2)
        self.assertEqual(r3.body, HELLO)
        # http.client and curl agree
        hc = http.client.HTTPConnection(srv.host, srv.port, timeout=IO_TIMEOUT)
        try:
            hc.request("HEAD", "/h/plaintext")
            r = hc.getresponse()
            self.assertEqual((r.status, r.getheader("Content-Length"), r.read()), (200, "13", b""))
        finally:
            hc.close()
        p = curl("-I", srv.url("/h/json"))
        (status, fields), = parse_curl_head(p.stdout)
        self.assertEqual((status, fields.get("content-length")), (200, str(len(HELLO_JSON))))

    def test_instances_of_one_file_with_their_own_config(self):
        srv = self.start_plugins(config=(
            "[plugins.en]\nfile = {so}\n\n"
            "[plugins.fr]\nfile = {so}\nconfig = {{ greeting = \"Bonjour\" }}\n\n"
            "[plugins.quoted]\nfile = {so}\n[plugins.quoted.config]\ngreeting = 'say \"hi\"\\'\n\n"
            "[[route]]\nprefix = \"/en/\"\nplugin = \"en\"\n\n"
            "[[route]]\nprefix = \"/fr/\"\nplugin = \"fr\"\n\n"
            "[[route]]\nprefix = \"/q/\"\nplugin = \"quoted\"\n").format(so=toml_str(self.so)))
        with srv.connect() as c:
            c.send(get("/en/plaintext") + get("/fr/plaintext") + get("/fr/json") + get("/q/json"))
            en, fr, fr_json, q_json = c.read_responses(4)
        self.assertEqual(en.body, HELLO)
        self.assertEqual(fr.body, b"Bonjour")
        self.assertEqual(fr_json.body, b'{"message":"Bonjour"}')
        self.assertEqual(q_json.body, b'{"message":"say \\"hi\\"\\\\"}')
        self.assertEqual(json.loads(q_json.body), {"message": 'say "hi"\\'})

    def test_same_file_twice_on_the_command_line(self):
        srv = self.start_plugins("--plugin", "/a/=" + self.so, "--plugin", "/b/=" + self.so)
        self.assertEqual(self.get_one(srv, "/a/plaintext").body, HELLO)
        self.assertEqual(self.get_one(srv, "/b/json").body, HELLO_JSON)
        self.assert_logged(srv, 'plugin "hello": hello 1.0.0 from ' + self.so)
        self.assert_logged(srv, 'plugin "hello-2": hello 1.0.0 from ' + self.so)


class EchoTest(PluginTestCase):

    def setUp(self):
        self.so = self.need(plugin_so("echo"))

    def test_round_trip(self):
        srv = self.start_plugins("--plugin", "/echo/=" + self.so)
        r = self.get_one(srv, "/echo/a/b?x=1&y=%20", method="POST",
                         headers=[("X-One", "1"), ("x-two", "  spaced  "), ("Content-Length", "5")],
                         body=b"hello")
        self.assert_text(r, 200, b"POST /echo/a/b?x=1&y=%20 HTTP/1.1\nHost: x\nX-One: 1\nx-two: spaced\n"
                                 b"Content-Length: 5\n\nhello", "text/plain")

    def test_chunked_request_body(self):
        srv = self.start_plugins("--plugin", "/echo/=" + self.so)
        body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
        with srv.connect() as c:
            c.send(request("PUT", "/echo/c", headers=[("Transfer-Encoding", "chunked")], body=body)
                   + get("/echo/after"))
            r, after = c.read_responses(2)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b"PUT /echo/c HTTP/1.1\n"), r)
        self.assertIn(b"\nTransfer-Encoding: chunked\n", r.body)
        self.assertTrue(r.body.endswith(b"\n\nhello world"), r)
        self.assertEqual(after.body, b"GET /echo/after HTTP/1.1\nHost: x\n\n")

    def test_binary_and_large_bodies(self):
        srv = self.start_plugins("--plugin", "/echo/=" + self.so)
        data = bytes(range(256)) * 400  # 100 KiB with NULs and high bytes
        hc = http.client.HTTPConnection(srv.host, srv.port, timeout=IO_TIMEOUT)
        try:
            hc.request("POST", "/echo/bin", body=data, headers={"Content-Type": "application/octet-stream"})
            r = hc.getresponse()
            got = r.read()
        finally:
            hc.close()
        self.assertEqual(r.status, 200)
        head, sep, echoed = got.partition(b"\n\n")
        self.assertEqual(sep, b"\n\n")
        self.assertEqual(echoed, data)
        self.assertTrue(head.startswith(b"POST /echo/bin HTTP/1.1\n"), head)
        self.assertIn(b"\nContent-Length: %d" % len(data), head)
        # curl, from a file, chunked
        path = os.path.join(self.tmpdir(), "body.bin")
        with open(path, "wb") as f:
            f.write(data)
        p = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "@" + path, srv.url("/echo/curl"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith(b"\n\n" + data), p.stdout[:300])

    def test_bad_bodies_never_reach_the_plugin(self):
        srv = self.start_plugins("--max-request-body-size", "1KiB", "--plugin", "/echo/=" + self.so)
        self.assert_rejected(srv, request("POST", "/echo/x", headers=[("Transfer-Encoding", "chunked")],
                                          body=b"zz\r\nhello\r\n0\r\n\r\n"), 400)
        self.assert_rejected(srv, request("POST", "/echo/x", headers=[("Content-Length", "2048")],
                                          body=b"x" * 2048), 413)
        r = self.get_one(srv, "/echo/ok")
        self.assertEqual(r.body, b"GET /echo/ok HTTP/1.1\nHost: x\n\n")

    def test_http10(self):
        srv = self.start_plugins("--plugin", "/echo/=" + self.so)
        with srv.connect() as c:
            c.send(request("GET", "/echo/old", version="HTTP/1.0", host=None))
            r = c.read_response()
            self.assertEqual(r.body, b"GET /echo/old HTTP/1.0\n\n")
            self.assertEqual(c.read_until_eof(), b"")

    def test_head(self):
        srv = self.start_plugins("--plugin", "/echo/=" + self.so)
        with srv.connect() as c:
            c.send(request("HEAD", "/echo/h") + get("/echo/g"))
            h, g = c.read_responses(2, heads={0})
        self.assertEqual(h.status, 200)
        self.assertEqual(h.header("content-length"), str(len(b"HEAD /echo/h HTTP/1.1\nHost: x\n\n")), h)
        self.assertEqual(g.body, b"GET /echo/g HTTP/1.1\nHost: x\n\n")


# --------------------------------------------------------------------------
# Routing: decline, methods, host
# --------------------------------------------------------------------------

class RoutingTest(PluginTestCase):

    def test_decline_falls_through(self):
        dec, blk = self.need(fixture_so("decline"), fixture_so("blocking"))
        srv = self.start_plugins(config=(
            "[plugins.dec]\nfile = {dec}\n\n"
            "[plugins.blk]\nfile = {blk}\n\n"
            # same prefix: the plugin first (file order), then the fixed answer
            "[[route]]\nprefix = \"/d/\"\nplugin = \"dec\"\nmethods = [\"GET\", \"HEAD\"]\n\n"
            "[[route]]\nprefix = \"/d/\"\nrespond = \"fallback\\n\"\n\n"
            # a longer prefix declining goes on to a shorter one
            "[[route]]\nprefix = \"/p/q/\"\nplugin = \"dec\"\n\n"
            "[[route]]\nprefix = \"/p/\"\nrespond = \"shorter\\n\"\n\n"
            # a blocking plugin declining, from its pool thread
            "[[route]]\nprefix = \"/bd/\"\nplugin = \"blk\"\n\n"
            "[[route]]\nprefix = \"/bd\"\nrespond = \"after the blocking one\\n\"\n\n"
            # nobody else: 404
            "[[route]]\nprefix = \"/only/\"\nplugin = \"dec\"\n"
        ).format(dec=toml_str(dec), blk=toml_str(blk)))
        with srv.connect() as c:
            c.send(get("/d/mine") + get("/d/other") + request("POST", "/d/mine", headers=[("Content-Length", "0")])
                   + get("/p/q/mine") + get("/p/q/x") + get("/bd/x?decline=1") + get("/bd/x?ms=1")
                   + get("/only/x") + get("/only/mine") + get("/plaintext"))
            rs = c.read_responses(10)
        got = [(r.status, r.body) for r in rs]
        self.assertEqual(got[0], (200, b"mine: /d/mine\n"))
        self.assertEqual(got[1], (200, b"fallback\n"))
        self.assertEqual(got[2], (200, b"fallback\n"))  # POST: the plugin's route takes GET and HEAD only
        self.assertEqual(got[3], (200, b"mine: /p/q/mine\n"))
        self.assertEqual(got[4], (200, b"shorter\n"))
        self.assertEqual(got[5], (200, b"after the blocking one\n"))
        self.assertEqual(got[6][0], 200)
        self.assertTrue(got[6][1].startswith(b"path=/bd/x tid="), got[6])
        self.assertEqual(got[7], (404, b"Not Found\n"))
        self.assertEqual(got[8], (200, b"mine: /only/mine\n"))
        self.assertEqual(got[9], (200, HELLO))
        self.assert_still_serving(srv)

    def test_methods_and_host(self):
        hello, echo = self.need(plugin_so("hello"), plugin_so("echo"))
        srv = self.start_plugins(config=(
            "[plugins.hello]\nfile = {hello}\n\n"
            "[plugins.echo]\nfile = {echo}\n\n"
            "[[route]]\nprefix = \"/v/\"\nplugin = \"hello\"\nhost = \"api.example\"\n\n"
            "[[route]]\nprefix = \"/v/\"\nrespond = \"other host\\n\"\n\n"
            "[[route]]\nprefix = \"/m/\"\nplugin = \"echo\"\nmethods = [\"POST\", \"PUT\"]\n\n"
            "[[route]]\nprefix = \"/m/\"\nrespond = \"not posted\\n\"\n"
        ).format(hello=toml_str(hello), echo=toml_str(echo)))
        self.assertEqual(self.get_one(srv, "/v/plaintext", host="api.example").body, HELLO)
        self.assertEqual(self.get_one(srv, "/v/plaintext", host="API.Example:8080").body, HELLO)
        self.assertEqual(self.get_one(srv, "/v/plaintext", host="other.example").body, b"other host\n")
        self.assertEqual(self.get_one(srv, "http://api.example/v/json", host="ignored").body, HELLO_JSON)
        r = self.get_one(srv, "/m/x", method="POST", body=b"ab", headers=[("Content-Length", "2")])
        self.assertEqual(r.body, b"POST /m/x HTTP/1.1\nHost: x\nContent-Length: 2\n\nab")
        self.assertEqual(self.get_one(srv, "/m/x").body, b"not posted\n")
        self.assertEqual(self.get_one(srv, "/m/x", method="DELETE").body, b"not posted\n")

    def test_a_path_whose_routes_take_other_methods_is_405_with_allow(self):
        echo = self.need(plugin_so("echo"))
        srv = self.start_plugins("--access-log", "-", config=(
            "[plugins.echo]\nfile = {echo}\n\n"
            "[[route]]\nprefix = \"/w/\"\nplugin = \"echo\"\nmethods = [\"POST\", \"PUT\"]\n\n"
            "[[route]]\npath = \"/w/x\"\nrespond = \"read\\n\"\nmethods = [\"GET\", \"HEAD\"]\n\n"
            "[[route]]\npath = \"/any\"\nrespond = \"any\\n\"\n"
        ).format(echo=toml_str(echo)))
        with srv.connect() as c:
            c.send(request("DELETE", "/w/x") + request("PATCH", "/w/y") + request("GET", "/w/x")
                   + request("DELETE", "/any") + request("GET", "/nowhere"))
            rs = c.read_responses(5)
        self.assertEqual([r.status for r in rs], [405, 405, 200, 200, 404], rs)
        self.assertEqual(rs[0].header("allow"), "GET, HEAD, POST, PUT")
        self.assertEqual(rs[0].body, b"Method Not Allowed\n")
        self.assertEqual(rs[1].header("allow"), "POST, PUT")
        self.assertFalse(rs[0].closes(), rs[0])
        self.assertIsNone(rs[4].header("allow"))
        self.assertEqual(rs[2].body, b"read\n")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # the access log (stdout) is written by a thread of its own
            with open(srv.stdout_path) as f:
                log = f.read()
            if '"DELETE /w/x HTTP/1.1" 405 ' in log:
                break
            time.sleep(0.02)
        self.assertIn('"DELETE /w/x HTTP/1.1" 405 ', log)


# --------------------------------------------------------------------------
# Failing and misbehaving plugins
# --------------------------------------------------------------------------

class FailureTest(PluginTestCase):

    def setUp(self):
        self.so = self.need(fixture_so("crashy"))

    def test_error_is_500_and_the_server_stays_up(self):
        srv = self.start_plugins("--plugin", "/c/=" + self.so)
        with srv.connect() as c:
            c.send(get("/c/error") + get("/c/ok") + get("/c/error-after-body") + get("/c/ok"))
            rs = c.read_responses(4)
        for i in (0, 2):
            self.assertEqual((rs[i].status, rs[i].body), (500, b"Internal Server Error\n"), rs[i])
            self.assertNotIn(b"partial", rs[i].body)
            self.assertEqual(rs[i].header("transfer-encoding"), None, rs[i])
        self.assertEqual(rs[1].status, 200)
        self.assertTrue(rs[3].body.startswith(b"ok tid="), rs[3])
        # http.client on a fresh connection, then the server is still fine
        hc = http.client.HTTPConnection(srv.host, srv.port, timeout=IO_TIMEOUT)
        try:
            hc.request("GET", "/c/error")
            r = hc.getresponse()
            self.assertEqual((r.status, r.read()), (500, b"Internal Server Error\n"))
        finally:
            hc.close()
        self.assert_still_serving(srv)
        self.assertTrue(srv.alive())

    def test_error_after_streaming(self):
        # plugin_abi.h: BRISK_ERROR is "500 if nothing was sent yet, else the
        # connection is closed". Either is fine here; a 500 after a sent head
        # or a stream that looks complete is not.
        srv = self.start_plugins("--plugin", "/c/=" + self.so)
        with srv.connect() as c:
            c.send(get("/c/stream-error") + get("/c/ok"))
            r = c.read_response()
            if r.status == 500:
                self.assertEqual(r.body, b"Internal Server Error\n")
                self.assertTrue(c.read_response().body.startswith(b"ok tid="))
            else:
                self.assertEqual(r.status, 200, r)
                raise AssertionError("a stream that ended in an error was framed as complete: %r" % r)
        self.assert_still_serving(srv)

    def test_host_refuses_misuse(self):
        srv = self.start_plugins("--plugin", "/c/=" + self.so)
        r = self.get_one(srv, "/c/misuse")
        self.assertEqual(r.status, 200, r)
        # one digit per wrong call, 1 = refused (see fx_crashy.c)
        self.assertEqual(r.body, b"misuse:111111111\n")
        self.assertEqual(r.header("x-fixture"), "misuse")
        self.assertIsNone(r.header("injected"))
        self.assertEqual(r.header_all("content-length"), [str(len(r.body))])
        self.assertEqual(r.header_all("connection"), [])
        self.assert_still_serving(srv)

    def test_log_is_prefixed_with_the_instance_and_the_request(self):
        srv = self.start_plugins("--plugin", "/c/=" + self.so, "--loops", "1")
        with srv.connect() as c:
            # The second request of a connection: its number, and the connection's id ($connection).
            c.send(get("/plaintext") + get("/c/log"))
            self.assertEqual(c.read_response().status, 200)
            self.assertEqual(c.read_response().body, b"logged\n")
        self.assert_logged(srv, " req=2: fx_crashy says hi")
        self.assertRegex(srv.stderr(), r"\[warning\] \[fx_crashy\] conn=[1-9][0-9]* req=2: fx_crashy says hi\n")


class KeptViewTest(PluginTestCase):
    """plugin_abi.h: the request's views live until handle() returns;
    sanitizer builds poison them then, so a plugin that keeps one faults."""

    def test_a_kept_view_faults_in_sanitizer_builds(self):
        so = self.need(fixture_so("kept_view"))
        if "address" not in os.environ.get("BRISK_SANITIZE", ""):
            self.skipTest("brisk is not built with AddressSanitizer (BRISK_SANITIZE)")
        srv = Server(("--plugin", "/k/=" + so))  # not self.start(): this one must crash
        self.addCleanup(srv.cleanup)
        srv.start()
        self.assertEqual(self.get_one(srv, "/k/first").body, b"previous: \n")
        # The plugin now reads the first request's path: poisoned memory.
        try:
            self.get_one(srv, "/k/second")
        except (OSError, AssertionError, ValueError):
            pass  # the server died mid-answer, as it should
        self.assertIsNotNone(srv.wait_exit(timeout=10), "brisk survived a read of a dead view")
        self.assertNotEqual(srv.returncode, 0)
        self.assertIn("use-after-poison", srv.stderr())


class OldMinorTest(PluginTestCase):

    def test_older_minor_descriptor_loads_and_serves(self):
        so = self.need(fixture_so("old_minor"))
        srv = self.start_plugins("--plugin", "/old/=" + so)
        self.assert_text(self.get_one(srv, "/old/a?b=c"), 200, "old minor: /old/a\n", "text/plain")
        p = curl(srv.url("/old/curl"))
        self.assertEqual(p.stdout, b"old minor: /old/curl\n")

    def test_create_succeeds_with_good_config(self):
        so = self.need(fixture_so("create_fails"))
        srv = self.start_plugins(config=(
            "[plugins.cf]\nfile = %s\nconfig = { mode = \"slow\" }\n\n"
            "[[route]]\nprefix = \"/cf/\"\nplugin = \"cf\"\n" % toml_str(so)))
        self.assertEqual(self.get_one(srv, "/cf/x").body, b"mode=slow\n")


# --------------------------------------------------------------------------
# Blocking handlers
# --------------------------------------------------------------------------

def has_data(conn):
    """True when bytes from the server are waiting on `conn` (or buffered)."""
    if conn.buf:
        return True
    conn.sock.setblocking(False)
    try:
        return bool(conn.sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return False
    finally:
        conn.sock.setblocking(True)


def tid_of(resp):
    for word in decode(resp.body).split():
        if word.startswith("tid="):
            return int(word[4:])
    raise AssertionError("no tid in %r" % resp)


class BlockingTest(PluginTestCase):

    SLOW_MS = 1000

    def setUp(self):
        self.blk, self.crashy = self.need(fixture_so("blocking"), fixture_so("crashy"))

    def test_slow_request_does_not_hold_up_others(self):
        srv = self.start_plugins("--loops", "1", "--blocking-threads", "2",
                                 "--plugin", "/b/=" + self.blk, "--plugin", "/c/=" + self.crashy)
        slow = srv.connect(timeout=10)
        self.addCleanup(slow.close)
        t0 = time.monotonic()
        slow.send(get("/b/slow?ms=%d" % self.SLOW_MS))
        time.sleep(0.05)
        fast = {}
        for path in ("/plaintext", "/c/ok", "/b/fast?ms=0"):
            with srv.connect() as c:
                c.send(get(path))
                fast[path] = c.read_response()
            self.assertEqual(fast[path].status, 200, fast[path])
        fast_done = time.monotonic() - t0
        self.assertFalse(has_data(slow), "the slow answer came before the fast ones")
        self.assertLess(fast_done, self.SLOW_MS / 1000.0 * 0.8,
                        "fast requests took %.2f s while a blocking one slept" % fast_done)
        r = slow.read_response(timeout=10)
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b"path=/b/slow tid="), r)
        self.assertGreaterEqual(elapsed, self.SLOW_MS / 1000.0 * 0.95)
        # blocking handlers run on pool threads, not on the (single) loop thread
        loop_tid = tid_of(fast["/c/ok"])
        self.assertNotEqual(tid_of(r), loop_tid)
        self.assertNotEqual(tid_of(fast["/b/fast?ms=0"]), loop_tid)

    def test_pipelined_answers_keep_their_order(self):
        srv = self.start_plugins("--loops", "1", "--blocking-threads", "4", "--plugin", "/b/=" + self.blk,
                                 "--plugin", "/c/=" + self.crashy)
        with srv.connect(timeout=10) as c:
            t0 = time.monotonic()
            c.send(get("/b/one?ms=600") + get("/b/two?ms=0") + get("/plaintext") + get("/c/ok")
                   + get("/b/three?ms=100"))
            rs = c.read_responses(5, timeout=10)
            elapsed = time.monotonic() - t0
        self.assertEqual([r.status for r in rs], [200] * 5, rs)
        self.assertRegex(decode(rs[0].body), r"^path=/b/one tid=\d+ n=1\n$")
        self.assertRegex(decode(rs[1].body), r"^path=/b/two tid=\d+ n=2\n$")
        self.assertEqual(rs[2].body, HELLO)
        self.assertTrue(rs[3].body.startswith(b"ok tid="), rs[3])
        self.assertRegex(decode(rs[4].body), r"^path=/b/three tid=\d+ n=5\n$")
        self.assertGreaterEqual(elapsed, 0.65)

    def test_input_while_a_blocking_handler_runs_leaves_its_request_alone(self):
        # The handler reads its request after the gate opens. Meanwhile the
        # client sends more than the worker's buffer has room for: io_uring
        # receives it at once, and it must not move the request's bytes.
        d = tempfile.mkdtemp(prefix="brisk-gate-")
        self.addCleanup(shutil.rmtree, d, True)
        started, gate = os.path.join(d, "started"), os.path.join(d, "gate")
        self.addCleanup(lambda: os.path.isdir(d) and open(gate, "w").close())
        srv = self.start_plugins("--loops", "1", "--blocking-threads", "1", "--plugin", "/b/=" + self.blk)
        path = "/b/" + "p" * 150
        follow = [get("/plaintext?" + "q" * 1000) for _ in range(12)]
        with srv.connect(timeout=10) as c:
            c.send(get("%s?started=%s&gate=%s" % (path, started, gate)))
            deadline = time.monotonic() + 10
            while not os.path.exists(started) and time.monotonic() < deadline:
                time.sleep(0.005)
            self.assertTrue(os.path.exists(started), "the handler did not start")
            c.send(b"".join(follow))
            if os.environ.get("BRISK_IO") != "epoll":  # epoll reads nothing while the handler runs
                while unread_by_server(srv, c.sock) and time.monotonic() < deadline:
                    time.sleep(0.005)
                self.assertEqual(unread_by_server(srv, c.sock), 0, "brisk did not receive the pipelined requests")
            open(gate, "w").close()
            rs = c.read_responses(1 + len(follow), timeout=10)
        self.assertRegex(decode(rs[0].body), r"^path=%s tid=\d+ n=1\n$" % path)
        self.assertEqual([r.status for r in rs], [200] * (1 + len(follow)), rs)
        self.assertEqual([r.body for r in rs[1:]], [HELLO] * len(follow))

    def test_stream_from_a_blocking_thread(self):
        # One chunk per stream_write(); in ABI 1.0 they leave when handle()
        # returns (plugin_abi.h), so no timing is asserted here.
        srv = self.start_plugins("--plugin", "/b/=" + self.blk)
        with srv.connect(timeout=10) as c:
            c.send(get("/b/s?stream=1&ms=300") + get("/b/s?stream=1&ms=0", headers=[("Connection", "close")]))
            raw = c.read_until_eof(timeout=10)
        answers = raw.split(b"HTTP/1.1 ")[1:]
        self.assertEqual(len(answers), 2, raw)
        for a in answers:
            head, _, body = a.partition(b"\r\n\r\n")
            self.assertTrue(head.startswith(b"200 OK\r\n"), raw)
            self.assertIn(b"\r\nTransfer-Encoding: chunked", head)
            self.assertIn(b"\r\nContent-Type: text/plain", head)
            self.assertEqual(body, b"6\r\nfirst\n\r\n7\r\nsecond\n\r\n0\r\n\r\n")

    def test_full_queue_answers_503_and_recovers(self):
        srv = self.start_plugins("--loops", "1", "--blocking-threads", "1", "--blocking-queue", "1",
                                 "--plugin", "/b/=" + self.blk)
        n = 5
        conns = []
        for _ in range(n):
            c = srv.connect(timeout=10)
            self.addCleanup(c.close)
            conns.append(c)
        t0 = time.monotonic()
        for c in conns:
            c.send(get("/b/s?ms=700"))
        results = [None] * n
        errors = []

        def read(i):
            try:
                r = conns[i].read_response(timeout=10)
                results[i] = (r, time.monotonic() - t0)
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=read, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(12)
        self.assertEqual(errors, [])
        statuses = [r.status for r, _ in results]
        ok = statuses.count(200)
        busy = statuses.count(503)
        self.assertEqual(ok + busy, n, statuses)
        self.assertIn(ok, (1, 2), "1 thread + a queue of 1: %r" % statuses)
        for r, when in results:
            if r.status == 503:
                self.assertEqual(r.body, b"Service Unavailable\n")
                self.assertLess(when, 0.6, "a 503 should not wait for the pool")
        self.assert_still_serving(srv)
        # the pool drains; a refused connection is served again
        retry = conns[statuses.index(503)]
        retry.send(get("/b/again?ms=0"))
        r = retry.read_response(timeout=10)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b"path=/b/again "), r)


# --------------------------------------------------------------------------
# What a plugin sees of the request
# --------------------------------------------------------------------------

def fields(resp):
    """fx_inspect's "key=value" lines -> dict (h.NAME#I lines included)."""
    out = {}
    for line in decode(resp.body).splitlines():
        if line.endswith("!"):
            out[line[:-1]] = None
            continue
        k, _, v = line.partition("=")
        out[k] = v
    return out


class RequestViewTest(PluginTestCase):

    def setUp(self):
        self.so = self.need(fixture_so("inspect"))

    def test_request_fields_and_lookups(self):
        srv = self.start_plugins("--loops", "1", "--plugin", "/i/=" + self.so)
        with srv.connect() as c:
            port = c.sock.getsockname()[1]
            c.send(request("POST", "/i/a%2Fb?q=a%20b+c%2B&h=x-multi&x", host="Example.COM:81",
                           headers=[("X-Multi", "one"), ("x-multi", "two , three"), ("Content-Length", "4"),
                                    ("Cookie", "a=1; c=\"v w\""), ("Cookie", "d=4")], body=b"data")
                   + get("/i/second?h=nothing"))
            r1, r2 = c.read_responses(2)
        f = fields(r1)
        self.assertEqual(f["method"], "POST")
        self.assertEqual(f["target"], "/i/a%2Fb?q=a%20b+c%2B&h=x-multi&x")
        self.assertEqual(f["path"], "/i/a%2Fb")
        self.assertEqual(f["query"], "q=a%20b+c%2B&h=x-multi&x")
        self.assertEqual(f["host"], "Example.COM:81")
        self.assertEqual(f["http_minor"], "1")
        self.assertEqual(f["remote"], "127.0.0.1:%d" % port)
        self.assertEqual(f["loop"], "0")
        self.assertEqual(f["n"], "1")
        self.assertEqual(f["header_count"], "6")
        self.assertEqual(f["size_ok"], "1")
        self.assertEqual(f["version"], str(1 << 16 | 2))  # ABI 1.2
        self.assertEqual(f["body_len"], "4")
        self.assertEqual(f["h.x-multi#0"], "one")
        self.assertEqual(f["h.x-multi#1"], "two , three")
        self.assertNotIn("h.x-multi#2", f)
        self.assertEqual(f["arg"], "a b c+")
        self.assertEqual(f["cookie"], "v w")
        g = fields(r2)
        self.assertEqual(g["n"], "2")
        self.assertEqual(g["conn"], f["conn"])  # same connection
        self.assertEqual((g["arg"], g["cookie"], g["body_len"]), (None, None, "0"))
        self.assertNotIn("h.nothing#0", g)
        # another connection: another id, request_number starts again
        h = fields(self.get_one(srv, "/i/third"))
        self.assertNotEqual(h["conn"], f["conn"])
        self.assertEqual(h["n"], "1")

    def test_http10_and_absolute_form(self):
        srv = self.start_plugins("--plugin", "/i/=" + self.so)
        with srv.connect() as c:
            c.send(request("GET", "http://Absolute.example:8080/i/abs?q=1", version="HTTP/1.0", host=None))
            f = fields(c.read_response())
        self.assertEqual((f["http_minor"], f["path"], f["query"], f["arg"]), ("0", "/i/abs", "q=1", "1"))
        self.assertEqual(f["host"], "Absolute.example:8080")

    def test_unix_socket_peer(self):
        srv = self.start_plugins("--plugin", "/i/=" + self.so, kind="unix")
        self.assertEqual(fields(self.get_one(srv, "/i/u"))["remote"], "unix:0")

    def test_ipv6_peer(self):
        if not ipv6_available():
            self.skipTest("no IPv6 loopback")
        srv = self.start_plugins("--plugin", "/i/=" + self.so, kind="tcp6")
        with srv.connect() as c:
            port = c.sock.getsockname()[1]
            c.send(get("/i/6"))
            f = fields(c.read_response())
        self.assertEqual(f["remote"], "::1:%d" % port)


# --------------------------------------------------------------------------
# Every way of sending a body
# --------------------------------------------------------------------------

def pattern(n):
    """Byte i is i % 251 (fx_bodies' big bodies)."""
    block = bytes(range(251))
    return (block * (n // 251 + 1))[:n]


class BodiesTest(PluginTestCase):

    def setUp(self):
        self.so = self.need(fixture_so("bodies"))

    def released(self, srv):
        r = self.get_one(srv, "/o/released")
        return int(decode(r.body).strip().split("=")[1])

    def wait_released(self, srv, at_least, timeout=5.0):
        deadline = time.monotonic() + timeout
        n = self.released(srv)
        while n < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.released(srv)
        self.assertGreaterEqual(n, at_least, "body_ref releases: %d, want %d" % (n, at_least))
        return n

    def test_stream_framing(self):
        srv = self.start_plugins("--plugin", "/o/=" + self.so)
        with srv.connect() as c:
            c.send(get("/o/stream", headers=[("Connection", "close")]))
            raw = c.read_until_eof()
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 206 Partial Content\r\n"), raw)
        self.assertIn(b"\r\nX-Stream: yes", head)
        self.assertIn(b"\r\nTransfer-Encoding: chunked", head)
        self.assertNotIn(b"Content-Length", head)
        # one chunk per stream_write() call
        self.assertEqual(body, b"3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n")
        # keep-alive after a stream; HEAD of a stream has no body
        with srv.connect() as c:
            c.send(get("/o/stream") + request("HEAD", "/o/stream") + get("/plaintext"))
            r1, r2, r3 = c.read_responses(3, heads={1})
        self.assertEqual((r1.status, r1.body), (206, b"onetwothree"))
        self.assertEqual((r2.status, r2.body), (206, b""))
        self.assertEqual(r3.body, HELLO)

    def test_stream_http10_is_close_delimited(self):
        srv = self.start_plugins("--plugin", "/o/=" + self.so)
        with srv.connect() as c:
            c.send(request("GET", "/o/stream", version="HTTP/1.0", host=None,
                           headers=[("Connection", "keep-alive")]))
            r = c.read_response()  # no length: read to EOF
        self.assertEqual((r.status, r.body), (206, b"onetwothree"))
        self.assertIsNone(r.header("transfer-encoding"))
        self.assertIsNone(r.header("content-length"))
        self.assertTrue(r.closes(), r)

    def test_ref_and_mixed_bodies_are_released(self):
        srv = self.start_plugins("--plugin", "/o/=" + self.so)
        before = self.released(srv)
        with srv.connect() as c:
            c.send(get("/o/ref") + get("/o/mixed") + request("HEAD", "/o/ref") + get("/o/mixed"))
            r1, r2, r3, r4 = c.read_responses(4, heads={2})
        self.assertEqual((r1.status, r1.body, r1.header("content-length")), (200, b"referenced body\n", "16"))
        self.assertEqual((r2.body, r2.header("content-length")), (b"abc", "3"))
        self.assertEqual((r3.body, r3.header("content-length")), (b"", "16"))
        self.assertEqual(r4.body, b"abc")
        # every body_ref is released once: 4 refs (ref, mixed, HEAD ref, mixed)
        n = self.wait_released(srv, before + 4)
        time.sleep(0.2)
        self.assertEqual(self.released(srv), n)
        self.assertEqual(n, before + 4)

    def test_ref_released_when_the_client_goes_away(self):
        srv = self.start_plugins("--plugin", "/o/=" + self.so)
        before = self.released(srv)
        for _ in range(3):
            c = srv.connect()
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.send(get("/o/big-ref?kb=8192"))
            time.sleep(0.05)
            c.close()  # 8 MiB unread
        self.wait_released(srv, before + 3, timeout=10.0)
        self.assert_still_serving(srv)

    def test_big_bodies(self):
        srv = self.start_plugins("--plugin", "/o/=" + self.so)
        with srv.connect(timeout=20) as c:
            c.send(get("/o/big?kb=4096") + get("/o/big-ref?kb=8192") + get("/o/big?kb=0"))
            r1, r2, r3 = c.read_responses(3, timeout=20)
        self.assertEqual(r1.body, pattern(4096 * 1024))
        self.assertEqual(r2.body, pattern(8192 * 1024))
        self.assertEqual((r3.status, r3.body, r3.header("content-length")), (200, b"", "0"))
        p = curl("-o", "-", srv.url("/o/big-ref?kb=1024"))
        self.assertEqual(p.stdout, pattern(1024 * 1024))

    def test_file_bodies_and_no_fd_leak(self):
        d = self.tmpdir()
        path = os.path.join(d, "data.bin")
        data = pattern(3 * 1024 * 1024 + 17)
        with open(path, "wb") as f:
            f.write(data)
        srv = self.start_plugins("--loops", "1", "--plugin", "/o/=" + self.so)
        q = "/o/file?path=" + path

        def fds():
            """brisk's descriptors open on `path` (a sanitizer runtime may open pipes of its own)."""
            d = "/proc/%d/fd" % srv.pid
            count = 0
            for name in os.listdir(d):
                try:
                    count += os.readlink(os.path.join(d, name)) == path
                except OSError:
                    pass  # closed meanwhile
            return count

        base = fds()
        with srv.connect(timeout=20) as c:
            c.send(get(q + "&off=0&len=%d" % len(data)) + get(q + "&off=5&len=10")
                   + request("HEAD", q + "&off=0&len=100") + get(q + "&off=%d&len=0" % len(data)))
            r1, r2, r3, r4 = c.read_responses(4, heads={2}, timeout=20)
        self.assertEqual(r1.body, data)
        self.assertEqual(r2.body, data[5:15])
        self.assertEqual((r3.body, r3.header("content-length")), (b"", "100"))
        self.assertEqual((r4.status, r4.body), (200, b""))
        self.assertEqual(self.get_one(srv, "/o/file?path=/nonexistent&len=1").status, 404)
        for _ in range(20):
            self.assertEqual(self.get_one(srv, q + "&off=1&len=3").body, data[1:4])
        # a client that leaves before the file is sent
        ports = []
        for _ in range(5):
            c = srv.connect()
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.send(get(q + "&off=0&len=%d" % len(data)))
            ports.append(c.sock.getsockname()[1])
            c.close()
        # Once brisk has closed its end of each (no new request can open the
        # file then), its descriptors on the file go back to what they were.
        deadline = time.monotonic() + 10.0
        while any(server_end_by_port(srv, p) in (TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_SYN_RECV) for p in ports):
            self.assertLess(time.monotonic(), deadline, "brisk kept a connection whose client left")
            time.sleep(0.02)
        while fds() > base and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertLessEqual(fds(), base, "descriptors of brisk grew: body_file fds not closed?")
        self.assert_still_serving(srv)

    def test_statuses_without_body(self):
        srv = self.start_plugins("--plugin", "/o/=" + self.so)
        with srv.connect() as c:
            c.send(get("/o/status?code=204") + get("/o/status?code=304") + get("/o/status?code=404")
                   + get("/o/status?code=599") + get("/plaintext"))
            rs = c.read_responses(5)
        self.assertEqual([r.status for r in rs], [204, 304, 404, 599, 200])
        for r in rs[:2]:
            self.assertEqual((r.body, r.header("content-length"), r.header("transfer-encoding")), (b"", None, None), r)
        for r in rs[2:4]:
            self.assertEqual((r.body, r.header("content-length")), (b"", "0"), r)
        self.assertEqual(rs[4].body, HELLO)
        # out of range: the host refuses it, the fixture returns BRISK_ERROR
        self.assertEqual(self.get_one(srv, "/o/status?code=600").status, 500)
        self.assertEqual(self.get_one(srv, "/o/status?code=100").status, 500)
        self.assert_still_serving(srv)

    def test_reason_phrases_registered_or_the_plugins_own(self):
        srv = self.start_plugins("--plugin", "/o/=" + self.so)
        with srv.connect() as c:
            c.send(get("/o/status?code=418") + get("/o/status?code=599") + get("/o/status?code=451")
                   + get("/o/status?code=299&reason=Quite%20Fine") + get("/o/status?code=404&reason=Nowhere"))
            rs = c.read_responses(5)
        self.assertEqual([(r.status, r.reason) for r in rs],
                         [(418, "I'm a teapot"), (599, ""), (451, "Unavailable For Legal Reasons"),
                          (299, "Quite Fine"), (404, "Nowhere")])
        # Control characters, CR LF or an over-long phrase are refused (the fixture then fails: 500).
        for bad in ("a%0d%0aX-Injected:%201", "tab%09ok%7f", "x" * 49):
            self.assertEqual(self.get_one(srv, "/o/status?code=200&reason=" + bad).status, 500, bad)
        self.assertEqual(self.get_one(srv, "/o/status?code=200&reason=" + "x" * 48).reason, "x" * 48)


# --------------------------------------------------------------------------
# The examples
# --------------------------------------------------------------------------

class ExamplesTest(PluginTestCase):

    def test_c_example_greet(self):
        so = self.need(plugin_so("greet"))
        srv = self.start_plugins(config=(
            "[plugins.greet]\nfile = %s\nconfig = { greeting = \"Hi\" }\n\n"
            "[[route]]\npath = \"/hello\"\nplugin = \"greet\"\n" % toml_str(so)))
        hc = http.client.HTTPConnection(srv.host, srv.port, timeout=IO_TIMEOUT)
        try:
            hc.request("GET", "/hello?name=Ada%20L")
            r = hc.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"Hi, Ada L! You are visitor 1.\n"))
            self.assertEqual(r.getheader("Content-Type"), "text/plain; charset=utf-8")
            hc.request("GET", "/hello")
            r = hc.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"Hi, world! You are visitor 2.\n"))
            hc.request("GET", "/hello?name=" + "x" * 65)
            r = hc.getresponse()
            self.assertEqual(r.status, 400)
            r.read()
            hc.request("POST", "/hello", body=b"")
            r = hc.getresponse()
            self.assertEqual(r.status, 404)  # declined
            r.read()
        finally:
            hc.close()

    def test_cpp_example_upper(self):
        so = self.need(plugin_so("upper"))
        srv = self.start_plugins("--plugin", "/upper=" + so)
        p = curl(srv.url("/upper?text=hello%20world"))
        self.assertEqual(p.stdout, b"HELLO WORLD")
        p = curl("--data-binary", "abc", srv.url("/upper"))
        self.assertEqual(p.stdout, b"ABC")
        r = self.get_one(srv, "/upper", method="PUT", body=b"x", headers=[("Content-Length", "1")])
        self.assertEqual((r.status, r.header("allow")), (405, "GET, POST"), r)

    def test_cpp_example_limit_from_config(self):
        so = self.need(plugin_so("upper"))
        srv = self.start_plugins(config=(
            "[plugins.upper]\nfile = %s\nconfig = { max_bytes = 4 }\n\n"
            "[[route]]\npath = \"/upper\"\nplugin = \"upper\"\n" % toml_str(so)))
        self.assertEqual(self.get_one(srv, "/upper?text=abcd").body, b"ABCD")
        self.assertEqual(self.get_one(srv, "/upper?text=abcde").status, 413)

    def test_rust_example(self):
        so = self.need(find_plugin("rust_example", "*rust*.so"))
        srv = self.start_plugins(config=(
            "[plugins.greeter]\nfile = %s\nconfig = { greeting = \"Hi\" }\n\n"
            "[[route]]\nprefix = \"/rust/\"\nplugin = \"greeter\"\n" % toml_str(so)))
        r = self.get_one(srv, "/rust/hello?name=x")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"Hi, x!")
        self.assertTrue(r.header("content-type").startswith("text/plain"), r)
        # a panic costs one request
        self.assertEqual(self.get_one(srv, "/rust/panic").status, 500)
        self.assertEqual(self.get_one(srv, "/rust/other").status, 404)
        self.assert_still_serving(srv)
        self.assertEqual(self.get_one(srv, "/rust/hello?name=y").body, b"Hi, y!")

    def test_rust_example_answers_later_and_streams_from_its_threads(self):
        # ABI 1.1 through the Rust kit: a Later resumed and a stream written from the plugin's threads.
        so = self.need(find_plugin("rust_example", "*rust*.so"))
        srv = self.start_plugins("--plugin", "/rust/=" + so)
        self.assert_text(self.get_one(srv, "/rust/later?ms=50"), 200, "waited 50 ms\n", "text/plain")
        self.assertEqual(self.get_one(srv, "/rust/later?ms=x").status, 400)
        p = curl("-sS", srv.url("/rust/count?n=60000"))
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().splitlines()
        self.assertEqual((len(lines), lines[0], lines[-1]), (60000, "line 1", "line 60000"))
        # A client that stops reading mid-stream and leaves: the plugin's thread stops, brisk goes on.
        with srv.connect() as c:
            c.send(get("/rust/count?n=100000"))
            c._fill(time.monotonic() + IO_TIMEOUT)
        self.assert_still_serving(srv)

    def test_rust_example_flag(self):
        so = self.need(find_plugin("rust_example", "*rust*.so"))
        srv = self.start_plugins("--plugin", "/rust/=" + so)
        r = self.get_one(srv, "/rust/hello?name=x")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.endswith(b", x!"), r)


if __name__ == "__main__":
    unittest.main()
