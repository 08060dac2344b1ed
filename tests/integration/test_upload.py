"""Plugin ABI 1.1 through the real binary: request bodies a plugin reads as
they arrive (BRISK_CAP_BODY_STREAM, body_read), with flow control,
`Expect: 100-continue` decided by the plugin, the body limits, malformed and
slow bodies, clients that leave mid-body, and pipelined requests behind an
upload. Plugin: plugins/upload (libupload.so)."""

import hashlib
import os
import time
import unittest

from brisk_harness import HELLO, curl, get, request, run_brisk
from test_plugins import PluginTestCase, plugin_so, toml_str

EVENT_TIMEOUT = 10.0
EMPTY = hashlib.sha256(b"").hexdigest().encode() + b"\n"


def digest(data):
    return hashlib.sha256(data).hexdigest().encode() + b"\n"


def chunked(data, size):
    out = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + size]), data[i:i + size]) for i in range(0, len(data), size))
    return out + b"0\r\n\r\n"


def upload_head(target="/up", length=None, expect=False, te=False):
    lines = ["POST %s HTTP/1.1" % target, "Host: x"]
    if length is not None:
        lines.append("Content-Length: %d" % length)
    if te:
        lines.append("Transfer-Encoding: chunked")
    if expect:
        lines.append("Expect: 100-continue")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def peak_rss_kb(srv):
    with open("/proc/%d/status" % srv.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


class UploadTest(PluginTestCase):

    def setUp(self):
        self.so = self.need(plugin_so("upload"))

    def start_upload(self, *args, max_size=0):
        return self.start_plugins(*args, config=(
            "[plugins.up]\nfile = %s\nconfig = { max_size = %d }\n\n"
            "[[route]]\nprefix = \"/up\"\nplugin = \"up\"\n" % (toml_str(self.so), max_size)))

    def test_a_large_body_is_hashed_in_bounded_memory(self):
        srv = self.start_upload("--max-request-body-size", "1G")
        data = os.urandom(64 << 20)
        path = os.path.join(self.tmpdir(), "body.bin")
        with open(path, "wb") as f:
            f.write(data)
        before = peak_rss_kb(srv)
        p = curl("--max-time", "60", "--data-binary", "@" + path, srv.url("/up"), timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, digest(data))
        p = curl("--max-time", "60", "-H", "Transfer-Encoding: chunked", "-T", path, srv.url("/up"), timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, digest(data))
        # 128 MiB went through; brisk's peak memory grew by far less than one body.
        self.assertLess(peak_rss_kb(srv) - before, 16 << 10)

    def test_small_chunks_and_no_body(self):
        srv = self.start_upload()
        data = os.urandom(100000)
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(upload_head(te=True) + chunked(data, 7))
            r = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual((r.status, r.body), (200, digest(data)))
            c.send(get("/up"))
            self.assertEqual(c.read_response().body, EMPTY)
            c.send(upload_head(length=0))
            self.assertEqual(c.read_response().body, EMPTY)

    def test_pipelined_uploads_are_answered_in_order(self):
        srv = self.start_upload()
        a, b = os.urandom(70000), os.urandom(3000)
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(upload_head(length=len(a)) + a + upload_head(te=True) + chunked(b, 1000) + get("/plaintext"))
            rs = c.read_responses(3, timeout=EVENT_TIMEOUT)
        self.assertEqual([r.body for r in rs], [digest(a), digest(b), HELLO])

    def test_100_continue_once_the_plugin_reads(self):
        srv = self.start_upload()
        data = os.urandom(5000)
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(upload_head(length=len(data), expect=True))
            interim = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual(interim.status, 100)
            c.send(data)
            r = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual((r.status, r.body), (200, digest(data)))
            self.assertFalse(r.closes(), r)

    def test_a_refusal_from_the_head_sends_no_100_and_closes(self):
        srv = self.start_upload(max_size=1000)
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(upload_head(length=5000, expect=True))
            r = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual((r.status, r.body), (413, b"Payload Too Large\n"))
            self.assertTrue(r.closes(), r)
        self.assert_still_serving(srv)

    def test_a_chunked_body_over_the_plugins_limit_gets_its_413(self):
        srv = self.start_upload(max_size=1000)
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            # More than the limit, and the body has not ended: the rest is never read.
            c.send(upload_head(te=True) + chunked(os.urandom(1500), 500)[:-5])
            r = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual(r.status, 413)
            self.assertTrue(r.closes(), r)
        self.assert_still_serving(srv)

    def test_brisks_body_limit_still_gives_413(self):
        srv = self.start_upload("--max-request-body-size", "1000")
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(upload_head(length=5000) + b"x" * 5000)
            self.assertEqual(c.read_response(timeout=EVENT_TIMEOUT).status, 413)
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(upload_head(te=True) + chunked(b"y" * 5000, 400))
            r = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual(r.status, 413)
            self.assertTrue(r.closes(), r)
        self.assert_still_serving(srv)

    def test_a_malformed_chunked_body_gets_400(self):
        srv = self.start_upload()
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            c.send(upload_head(te=True) + b"5\r\nabcde\r\nzz\r\n")
            r = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual(r.status, 400)
            self.assertTrue(r.closes(), r)
        self.assert_still_serving(srv)

    def test_a_body_that_stops_coming_gets_408(self):
        srv = self.start_upload("--read-timeout", "1s")
        with srv.connect(timeout=EVENT_TIMEOUT) as c:
            t0 = time.monotonic()
            c.send(upload_head(length=10000) + b"z" * 4000)
            r = c.read_response(timeout=EVENT_TIMEOUT)
            self.assertEqual(r.status, 408)
            self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assert_still_serving(srv)

    def test_a_client_that_leaves_mid_body(self):
        srv = self.start_upload()
        for head in (upload_head(length=1 << 20), upload_head(te=True)):
            c = srv.connect(timeout=EVENT_TIMEOUT)
            c.send(head + b"3e8\r\n" + b"q" * 1000 if b"chunked" in head else head + b"q" * 100000)
            time.sleep(0.2)
            c.close()
        self.assert_still_serving(srv)

    def test_bad_config_is_one_line_exit_1(self):
        path = os.path.join(self.tmpdir(), "brisk.toml")
        for value in ("-1", "\"big\"", "true"):
            with open(path, "w") as f:
                f.write("[plugins.up]\nfile = %s\nconfig = { max_size = %s }\n" % (toml_str(self.so), value))
            proc = run_brisk(["--config", path, "--listen", "127.0.0.1:0"])
            line = self.assert_one_line_error(proc, mention="max_size")
            self.assertIn("brisk.toml:3", line)


if __name__ == "__main__":
    unittest.main()
