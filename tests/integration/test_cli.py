"""Command line: --help, --version, usage errors (exit 2), startup errors
(exit 1, one line on stderr), value forms."""

import os
import re
import shutil
import socket
import tempfile
import unittest

from brisk_harness import CRASH_MARKERS, BriskTestCase, decode, free_port, run_brisk

FLAGS = [
    "--listen", "--loops", "--io", "--concurrency", "--max-idle-worker-duration",
    "--read-timeout", "--write-timeout", "--idle-timeout", "--defer-accept", "--max-requests-per-conn",
    "--max-request-body-size", "--max-header-size", "--max-conns-per-ip",
    "--disable-keepalive", "--server-name", "--no-server-header", "--no-date-header",
    "--respond", "--log-level", "--error-log", "--log-all-errors", "--config",
    "--check-config", "--version", "--help",
]

# flag -> a default the help must show for it
DEFAULTS = {
    "--listen": "127.0.0.1:8080",
    "--io": "auto",
    "--concurrency": "262144",
    "--max-idle-worker-duration": "10s",
    "--max-request-body-size": "4MiB",
    "--max-header-size": "16KiB",
    "--server-name": "brisk",
    "--defer-accept": "1s",
}


def help_segments(text):
    """Maps each --flag to the help text from it up to the next option line."""
    segs = {}
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if re.match(r"^\s*(-\w\s*,\s*)?--[a-z]", ln)]
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        seg = "\n".join(lines[i:end])
        m = re.search(r"--[a-z][a-z0-9-]*", lines[i])
        if m:
            segs.setdefault(m.group(0), seg)
    return segs


class HelpVersionTest(BriskTestCase):
    def test_help_lists_every_flag_with_defaults(self):
        p = run_brisk(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = decode(p.stdout)
        segs = help_segments(out)
        for flag in FLAGS:
            with self.subTest(flag=flag):
                self.assertIn(flag, segs, "--help does not list %s" % flag)
        for flag, default in DEFAULTS.items():
            with self.subTest(flag=flag, default=default):
                self.assertIn(default, segs.get(flag, ""),
                              "--help shows no default %r for %s" % (default, flag))

    def test_version(self):
        p = run_brisk(["--version"])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = decode(p.stdout)
        self.assertIn("brisk", out.lower())
        self.assertRegex(out, r"\d+\.\d+\.\d+")
        self.assertLessEqual(len(out.strip().splitlines()), 3, out)


class UsageErrorTest(BriskTestCase):
    def _usage_error(self, args, mention):
        p = run_brisk(args)
        err = decode(p.stderr)
        self.assertEqual(p.returncode, 2, "args %r: exit %s, stderr %r" % (args, p.returncode, err))
        lines = [ln for ln in err.splitlines() if ln.strip()]
        self.assertTrue(1 <= len(lines) <= 2, "want a short message, got %r" % err)
        self.assertIn(mention, err)
        for m in CRASH_MARKERS:
            self.assertNotIn(m, err)

    def test_unknown_flag(self):
        self._usage_error(["--no-such-flag"], "--no-such-flag")

    def test_missing_value(self):
        self._usage_error(["--read-timeout"], "read-timeout")

    def test_unexpected_argument(self):
        self._usage_error(["--listen", "127.0.0.1:%d" % free_port(), "stray"], "stray")


class StartupErrorTest(BriskTestCase):
    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            p = run_brisk(["--listen", "127.0.0.1:%d" % port, "--respond", "/a=b"])
        line = self.assert_one_line_error(p, 1, mention=str(port))
        self.assertRegex(line.lower(), r"in use|address")

    def test_port_in_use_second_listener(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            p = run_brisk(["--listen", "127.0.0.1:%d" % free_port(),
                           "--listen", "127.0.0.1:%d" % port])
        self.assert_one_line_error(p, 1, mention=str(port))

    def test_bad_addresses(self):
        for addr in ("127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:abc",
                     "999.0.0.1:80", "[::1:80", "::1:80", "unix:", "host.invalid:80"):
            with self.subTest(addr=addr):
                p = run_brisk(["--listen=" + addr])
                self.assert_one_line_error(p, 1)

    def test_unbindable_address(self):
        # a well-formed address that is not on this machine
        p = run_brisk(["--listen", "192.0.2.1:%d" % free_port()])
        self.assert_one_line_error(p, 1, mention="192.0.2.1")

    def test_bad_sizes(self):
        for flag in ("--max-request-body-size", "--max-header-size"):
            for value in ("4XB", "abc", "-1", "1.5.5MiB", "KiB", "99999999999999999999999"):
                with self.subTest(flag=flag, value=value):
                    p = run_brisk(["--listen", "127.0.0.1:%d" % free_port(),
                                   flag + "=" + value])
                    self.assert_one_line_error(p, 1, mention=value)

    def test_bad_durations(self):
        for flag in ("--read-timeout", "--write-timeout", "--idle-timeout",
                     "--max-idle-worker-duration"):
            for value in ("10x", "abc", "-5s", "s", "5 s"):
                with self.subTest(flag=flag, value=value):
                    p = run_brisk(["--listen", "127.0.0.1:%d" % free_port(),
                                   flag + "=" + value])
                    self.assert_one_line_error(p, 1, mention=value)

    def test_missing_config(self):
        path = "/nonexistent-dir/brisk.toml"
        p = run_brisk(["--config", path])
        self.assert_one_line_error(p, 1, mention=path)

    def test_config_is_a_directory(self):
        d = os.path.dirname(os.path.abspath(__file__))
        p = run_brisk(["--config", d])
        self.assert_one_line_error(p, 1, mention=d)

    def test_bad_respond(self):
        for value in ("noslash=x", "/no-equals-sign"):
            with self.subTest(value=value):
                p = run_brisk(["--listen", "127.0.0.1:%d" % free_port(), "--respond", value])
                self.assertIn(p.returncode, (1, 2), decode(p.stderr))
                self.assertTrue(decode(p.stderr).strip())
                for m in CRASH_MARKERS:
                    self.assertNotIn(m, decode(p.stderr))

    def test_bad_log_level(self):
        p = run_brisk(["--listen", "127.0.0.1:%d" % free_port(), "--log-level", "shouting"])
        self.assertIn(p.returncode, (1, 2), decode(p.stderr))
        self.assertIn("shouting", decode(p.stderr))

    def test_unwritable_error_log(self):
        p = run_brisk(["--listen", "127.0.0.1:%d" % free_port(),
                       "--error-log", "/nonexistent-dir/err.log"])
        self.assert_one_line_error(p, 1, mention="/nonexistent-dir/err.log")


class CheckConfigFlagsTest(BriskTestCase):
    def test_valid_flags(self):
        tmp = tempfile.mkdtemp(prefix="brisk-it-")
        self.addCleanup(shutil.rmtree, tmp, True)
        sock = os.path.join(tmp, "check.sock")
        p = run_brisk(["--check-config", "--listen", "127.0.0.1:1", "--listen", "[::1]:2",
                       "--listen", "unix:" + sock, "--loops", "2",
                       "--concurrency", "10", "--read-timeout", "500ms",
                       "--write-timeout", "10s", "--idle-timeout", "2m",
                       "--max-idle-worker-duration", "1s",
                       "--max-request-body-size", "8KiB", "--max-header-size", "8k",
                       "--max-requests-per-conn", "3", "--max-conns-per-ip", "4",
                       "--disable-keepalive", "--server-name", "x", "--no-server-header",
                       "--no-date-header", "--respond", "/a=b", "--log-level", "info",
                       "--log-all-errors"])
        self.assertEqual(p.returncode, 0, decode(p.stderr))
        self.assertFalse(os.path.exists(sock), "--check-config must not bind")

    def test_size_and_duration_forms(self):
        for flag, value in (("--max-request-body-size", "4MiB"), ("--max-request-body-size", "8k"),
                            ("--max-request-body-size", "8KiB"), ("--max-header-size", "16KiB"),
                            ("--read-timeout", "500ms"), ("--read-timeout", "10s"),
                            ("--read-timeout", "2m")):
            with self.subTest(flag=flag, value=value):
                p = run_brisk(["--check-config", flag, value])
                self.assertEqual(p.returncode, 0, decode(p.stderr))

    def test_invalid_flag_value(self):
        p = run_brisk(["--check-config", "--read-timeout", "10x"])
        self.assertEqual(p.returncode, 1, decode(p.stderr))
        self.assertIn("10x", decode(p.stderr))

    def test_check_config_does_not_serve(self):
        port = free_port()
        p = run_brisk(["--check-config", "--listen", "127.0.0.1:%d" % port], timeout=10)
        self.assertEqual(p.returncode, 0, decode(p.stderr))
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


if __name__ == "__main__":
    unittest.main()
