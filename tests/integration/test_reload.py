"""The process's life beyond a plain stop: SIGHUP reloads (a new generation
takes over the listening sockets, the old one finishes its requests),
--shutdown-timeout, systemd notification and socket activation, and the
prefork master of --processes."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from brisk_harness import (HELLO, IO_TIMEOUT, BriskTestCase, Server, brisk_bin, free_port, get, listener_fds,
                           request)

SLOW_SANITIZER = bool(os.environ.get("BRISK_SANITIZE"))


def plugins_dir():
    return os.path.join(os.path.dirname(os.path.abspath(brisk_bin())), "plugins")


def plugin_file(*parts):
    return os.path.join(plugins_dir(), *parts)


def route_config(body, extra=""):
    return ('[[route]]\npath = "/v"\nrespond = "%s"\n' % body) + extra


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_for(predicate, timeout=5.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def handler_events(test):
    """Paths for fx_blocking's started= and gate= (its handler makes the first
    as it begins, then waits for the second). The gate is opened at cleanup,
    so that no pool thread is left waiting."""
    d = tempfile.mkdtemp(prefix="brisk-gate-")
    started, gate = os.path.join(d, "started"), os.path.join(d, "gate")
    test.addCleanup(shutil.rmtree, d, True)
    test.addCleanup(lambda: os.path.isdir(d) and open(gate, "w").close())
    return started, gate


def one_request(addr, family, target, timeout=IO_TIMEOUT):
    """A fresh connection, one request with Connection: close; (status, body)."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(addr)
        s.sendall(request("GET", target, headers=[("Connection", "close")]))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else None
    return status, body


class Traffic:
    """Clients that keep sending until stopped: one opens a connection per
    request, one keeps a connection alive and never sends a request again
    (it opens a new connection only after a response that closes). Every
    request that was sent and not answered with 200 is a failure."""

    def __init__(self, srv, target="/plaintext", body=HELLO):
        self.srv, self.target, self.body = srv, target, body
        self.sent = 0
        self.failures = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._fresh), threading.Thread(target=self._keepalive)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def _count(self, ok, what):
        self.sent += 1
        if not ok:
            self.failures.append(what)

    def _fresh(self):
        deadline = time.monotonic() + 60
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                status, body = one_request(self.srv.addr, self.srv.family, self.target)
                self._count(status == 200 and body == self.body, (status, body[:80]))
            except OSError as e:
                self._count(False, repr(e))

    def _keepalive(self):
        deadline = time.monotonic() + 60
        conn = None
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = self.srv.connect()
                conn.send(get(self.target))
                r = conn.read_response()
                self._count(r.status == 200 and r.body == self.body, r)
                if r.closes():
                    conn.close()
                    conn = None
            except (AssertionError, OSError) as e:
                self._count(False, repr(e))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


class ReloadTest(BriskTestCase):
    def reload(self, srv, generation):
        srv.send_signal(signal.SIGHUP)
        line = "reloaded: generation %d serves" % generation
        self.assertTrue(wait_for(lambda: line in srv.stderr(), timeout=10), srv.stderr()[-2000:])

    def rewrite(self, srv, text):
        tmp = srv.config_path + ".new"
        with open(tmp, "w") as f:
            f.write(srv.expand(text))
        os.rename(tmp, srv.config_path)

    def get_body(self, srv, target):
        status, body = one_request(srv.addr, srv.family, target)
        self.assertEqual(status, 200, body)
        return body

    def test_sighup_applies_the_changed_file(self):
        srv = self.start("--metrics", "/metrics", config=route_config("one"))
        self.assertEqual(self.get_body(srv, "/v"), b"one")
        self.assertIn(b"\nbrisk_config_reloads_total 0\n", self.get_body(srv, "/metrics"))
        self.rewrite(srv, route_config("two", '[[route]]\npath = "/w"\nrespond = "new route"\n'))
        self.reload(srv, 1)
        self.assertEqual(self.get_body(srv, "/v"), b"two")
        self.assertEqual(self.get_body(srv, "/w"), b"new route")
        self.rewrite(srv, route_config("three"))
        self.reload(srv, 2)
        self.assertEqual(self.get_body(srv, "/v"), b"three")
        status, _ = one_request(srv.addr, srv.family, "/w")
        self.assertEqual(status, 404)
        self.assertIn(b"\nbrisk_config_reloads_total 2\n", self.get_body(srv, "/metrics"))

    def test_invalid_file_is_refused_and_the_old_one_keeps_serving(self):
        srv = self.start(config=route_config("one"))
        self.rewrite(srv, route_config("two") + "no_such_key = 1\n")
        srv.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload refused" in srv.stderr()), srv.stderr())
        self.assertIn('unknown key "no_such_key"', srv.stderr())
        self.assertEqual(self.get_body(srv, "/v"), b"one")
        # A later good file is taken.
        self.rewrite(srv, route_config("two"))
        self.reload(srv, 1)
        self.assertEqual(self.get_body(srv, "/v"), b"two")

    def test_a_reload_that_cannot_start_keeps_the_old_one(self):
        srv = self.start(config=route_config("one"))
        missing = os.path.join(srv.tmp, "missing.so")
        self.rewrite(srv, route_config("two", '[plugins.p]\nfile = "%s"\n[[route]]\nprefix = "/p/"\nplugin = "p"\n'
                                       % missing))
        srv.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload failed" in srv.stderr()), srv.stderr())
        self.assertIn("missing.so", srv.stderr())
        self.assertEqual(self.get_body(srv, "/v"), b"one")

    def test_no_request_fails_across_reloads(self):
        srv = self.start("--loops", "2", config=route_config("one"))
        with Traffic(srv) as traffic:
            time.sleep(0.2)
            for generation in range(1, 6):
                self.rewrite(srv, route_config("gen%d" % generation))
                self.reload(srv, generation)
                time.sleep(0.15)
        self.assertGreater(traffic.sent, 20)
        self.assertEqual(traffic.failures, [], "%d of %d requests failed" % (len(traffic.failures), traffic.sent))
        self.assertEqual(self.get_body(srv, "/v"), b"gen5")

    def test_idle_keepalive_connection_is_answered_by_the_old_generation(self):
        # An idle keep-alive connection of the retiring generation is not
        # closed under a request that may be on its way: its next request is
        # answered (by the old configuration) with Connection: close.
        srv = self.start("--defer-accept", "0", config=route_config("one"))
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(get("/v"))
        self.assertEqual(c.read_response().body, b"one")
        before = listener_fds(srv)
        self.rewrite(srv, route_config("two"))
        self.reload(srv, 1)
        # Every loop of generation 0 has begun to drain once it has closed its
        # descriptors of the listening sockets (generation 1 holds as many).
        self.assertTrue(wait_for(lambda: listener_fds(srv) == before, timeout=10, step=0.005),
                        "generation 0 never began to drain")
        c.send(get("/v"))
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"one"))
        self.assertTrue(r.closes(), "the retiring generation keeps no connection: %r" % r)
        self.assertEqual(c.read_until_eof(timeout=3), b"")
        self.assertEqual(self.get_body(srv, "/v"), b"two")

    def test_in_flight_request_finishes_on_the_old_generation(self):
        blocking = plugin_file("fixtures", "libfx_blocking.so")
        self.assertTrue(os.path.isfile(blocking), "fixture not built: %s" % blocking)
        extra = '[plugins.b]\nfile = "%s"\n[[route]]\nprefix = "/b/"\nplugin = "b"\n' % blocking
        srv = self.start(config=route_config("one", extra))
        started, gate = handler_events(self)
        slow = srv.connect()
        self.addCleanup(slow.close)
        slow.send(get("/b/x?started=%s&gate=%s" % (started, gate)))
        self.assertTrue(wait_for(lambda: os.path.exists(started), timeout=10), "the handler never started")
        before = listener_fds(srv)
        self.rewrite(srv, route_config("two", extra))
        self.reload(srv, 1)
        self.assertEqual(self.get_body(srv, "/v"), b"two")
        self.assertTrue(wait_for(lambda: listener_fds(srv) == before, timeout=10, step=0.005),
                        "generation 0 never began to drain")
        open(gate, "w").close()  # the handler answers now, on the retiring generation
        r = slow.read_response(timeout=10)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.body.startswith(b"path=/b/x"), r.body)
        self.assertTrue(r.closes(), "the retiring generation keeps no connection: %r" % r)

    def test_a_plugin_file_replaced_by_rename_is_loaded_anew(self):
        hello, echo = plugin_file("libhello.so"), plugin_file("libecho.so")
        for p in (hello, echo):
            self.assertTrue(os.path.isfile(p), "%s not built" % p)
        d = tempfile.mkdtemp(prefix="brisk-reload-")
        self.addCleanup(shutil.rmtree, d, True)
        so = os.path.join(d, "handler.so")
        shutil.copy(hello, so)
        os.chmod(so, 0o755)
        config = '[plugins.h]\nfile = "%s"\n[[route]]\nprefix = "/h/"\nplugin = "h"\n' % so
        srv = self.start(config=config)
        self.assertEqual(self.get_body(srv, "/h/plaintext"), HELLO)
        shutil.copy(echo, so + ".tmp")
        os.chmod(so + ".tmp", 0o755)
        os.rename(so + ".tmp", so)
        self.reload(srv, 1)
        body = self.get_body(srv, "/h/plaintext")
        self.assertNotEqual(body, HELLO)
        self.assertIn(b"/h/plaintext", body)  # the echo plugin tells the request back

    def test_a_plugin_file_overwritten_in_place_never_touches_running_code(self):
        # `cp new.so live.so` rewrites the loaded file in place (same inode).
        # brisk runs a private copy: it keeps serving the old code until a
        # reload loads the new bytes, and a deleted file changes nothing.
        hello, echo = plugin_file("libhello.so"), plugin_file("libecho.so")
        for p in (hello, echo):
            self.assertTrue(os.path.isfile(p), "%s not built" % p)
        d = tempfile.mkdtemp(prefix="brisk-reload-")
        self.addCleanup(shutil.rmtree, d, True)
        so = os.path.join(d, "handler.so")
        shutil.copy(hello, so)
        os.chmod(so, 0o755)
        config = '[plugins.h]\nfile = "%s"\n[[route]]\nprefix = "/h/"\nplugin = "h"\n' % so
        srv = self.start(config=config)
        self.assertEqual(self.get_body(srv, "/h/plaintext"), HELLO)
        inode = os.stat(so).st_ino
        with open(echo, "rb") as src, open(so, "r+b") as dst:
            dst.write(src.read())
            dst.truncate()
        self.assertEqual(os.stat(so).st_ino, inode)
        for _ in range(20):
            self.assertEqual(self.get_body(srv, "/h/plaintext"), HELLO)
        self.reload(srv, 1)
        self.assertIn(b"/h/plaintext", self.get_body(srv, "/h/plaintext"))  # the echo plugin now
        os.unlink(so)
        self.assertIn(b"/h/plaintext", self.get_body(srv, "/h/plaintext"))
        self.stop_and_check(srv)

    def test_unix_socket_survives_reloads(self):
        srv = self.start(kind="unix", config=route_config("one"))
        self.rewrite(srv, route_config("two"))
        self.reload(srv, 1)
        self.assertTrue(os.path.exists(srv.addr))
        self.assertEqual(self.get_body(srv, "/v"), b"two")
        code, _ = srv.stop()
        self.assertEqual(code, 0)
        self.assertFalse(os.path.exists(srv.addr), "the socket file outlived brisk")

    def test_loops_may_change_on_reload(self):
        srv = self.start(config="loops = 1\n" + route_config("one"))
        self.rewrite(srv, "loops = 3\n" + route_config("two"))
        self.reload(srv, 1)
        for _ in range(20):
            self.assertEqual(self.get_body(srv, "/v"), b"two")
        self.rewrite(srv, "loops = 1\n" + route_config("three"))
        self.reload(srv, 2)
        for _ in range(20):
            self.assertEqual(self.get_body(srv, "/v"), b"three")


class ShutdownTimeoutTest(BriskTestCase):
    def blocking(self):
        so = plugin_file("fixtures", "libfx_blocking.so")
        self.assertTrue(os.path.isfile(so), "fixture not built: %s" % so)
        return so

    def test_in_flight_request_finishes_before_the_timeout(self):
        srv = self.start("--plugin", "/b/=" + self.blocking(), "--shutdown-timeout", "10s")
        started, gate = handler_events(self)
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(get("/b/x?started=%s&gate=%s" % (started, gate)))
        self.assertTrue(wait_for(lambda: os.path.exists(started), timeout=10), "the handler never started")
        srv.send_signal(signal.SIGTERM)
        self.wait_for_stop_log(srv)
        self.wait_until_not_accepting(srv)
        open(gate, "w").close()  # the handler answers now, while brisk stops
        r = c.read_response(timeout=10)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.closes())
        self.assertEqual(srv.wait_exit(timeout=10), 0, srv.stderr())

    def test_timeout_closes_what_remains_and_exits_1(self):
        srv = Server(["--plugin", "/b/=" + self.blocking(), "--shutdown-timeout", "300ms"])
        self.addCleanup(srv.cleanup)
        srv.start()
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(get("/b/x?ms=8000"))
        time.sleep(0.3)
        t0 = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        code = srv.wait_exit(timeout=6)
        self.assertEqual(code, 1, srv.stderr())
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertIn("shutdown timeout", srv.stderr())
        self.assertEqual(c.read_until_eof(timeout=5), b"")

    def test_sigterm_under_load_drops_no_accepted_request(self):
        """Every connection whose handshake completed before SIGTERM was sent
        (on loopback, connect() returns once it is in the listen queue) gets
        its answer. One that connects while the listening sockets close may
        be refused or reset, as with any server: it was never accepted."""
        srv = self.start("--loops", "2")
        sent, failures, raced = [0], [], [0]
        signalled = [None]

        def client():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                s = socket.socket(srv.family, socket.SOCK_STREAM)
                s.settimeout(IO_TIMEOUT)
                try:
                    s.connect(srv.addr)
                except OSError:
                    s.close()
                    return  # no longer accepting: the stop has begun
                connected = time.monotonic()
                try:
                    s.sendall(get())
                    data = b""
                    while HELLO not in data:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    ok = data.startswith(b"HTTP/1.1 200") and HELLO in data
                    problem = data[:100]
                except OSError as e:
                    ok, problem = False, repr(e)
                finally:
                    s.close()
                sent[0] += 1
                if ok:
                    continue
                if signalled[0] is not None and connected >= signalled[0]:
                    raced[0] += 1
                else:
                    failures.append(problem)

        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        signalled[0] = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=40)
        self.assertEqual(srv.wait_exit(timeout=10), 0, srv.stderr())
        self.assertGreater(sent[0], 10)
        self.assertEqual(failures, [], "%d of %d accepted requests failed (%d more raced the close)"
                         % (len(failures), sent[0], raced[0]))


class SystemdTest(BriskTestCase):
    def notify_socket(self):
        d = tempfile.mkdtemp(prefix="brisk-notify-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(10)
        self.addCleanup(s.close)
        return s, path

    def expect(self, s, word):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            msg = s.recv(4096).decode()
            if word in msg.split("\n"):
                return msg
        self.fail("no %s from brisk" % word)

    def test_notify_ready_reloading_stopping(self):
        s, path = self.notify_socket()
        old = os.environ.get("NOTIFY_SOCKET")
        os.environ["NOTIFY_SOCKET"] = path
        try:
            srv = self.start(config=route_config("one"))
        finally:
            if old is None:
                del os.environ["NOTIFY_SOCKET"]
            else:
                os.environ["NOTIFY_SOCKET"] = old
        self.expect(s, "READY=1")
        srv.send_signal(signal.SIGHUP)
        msg = self.expect(s, "RELOADING=1")
        self.assertIn("MONOTONIC_USEC=", msg)
        self.expect(s, "READY=1")
        srv.send_signal(signal.SIGTERM)
        self.expect(s, "STOPPING=1")
        self.assertEqual(srv.wait_exit(), 0)

    def activated(self, *args):
        """brisk started as systemd starts a socket-activated service: the
        listening socket is descriptor 3, LISTEN_FDS=1, LISTEN_PID its pid."""
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(64)
        self.addCleanup(lsock.close)
        port = lsock.getsockname()[1]
        d = tempfile.mkdtemp(prefix="brisk-activated-")
        self.addCleanup(shutil.rmtree, d, True)
        err = open(os.path.join(d, "stderr"), "wb")
        self.addCleanup(err.close)
        fd = lsock.fileno()
        cmd = ["/bin/sh", "-c", 'exec 3<&%d; LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"' % fd, brisk_bin(),
               "--respond", "/plaintext=Hello, World!"] + list(args)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                pass_fds=(fd,), start_new_session=True)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
        self.addCleanup(stop)
        return proc, port, os.path.join(d, "stderr")

    def test_socket_activation_serves_the_passed_socket(self):
        other = free_port()
        proc, port, err = self.activated("--listen", "127.0.0.1:%d" % other)
        ok = wait_for(lambda: "listening on 127.0.0.1:%d" % port in read(err), timeout=10)
        self.assertTrue(ok, read(err))
        self.assertEqual(one_request(("127.0.0.1", port), socket.AF_INET, "/plaintext"), (200, HELLO))
        self.assertEqual(one_request(("127.0.0.1", other), socket.AF_INET, "/plaintext"), (200, HELLO))
        self.assertIn("1 listening sockets from systemd", read(err))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=10), 0)

    def test_socket_activation_matches_the_configured_address(self):
        proc, port, err = self.activated("--listen", "127.0.0.1:0", "--loops", "2")
        ok = wait_for(lambda: "listening on" in read(err), timeout=10)
        self.assertTrue(ok, read(err))
        text = read(err)
        # ":0" takes the inherited socket's port instead of binding another.
        self.assertIn("listening on 127.0.0.1:%d" % port, text)
        self.assertEqual(text.count("listening on"), 1, text)
        for _ in range(10):
            self.assertEqual(one_request(("127.0.0.1", port), socket.AF_INET, "/plaintext"), (200, HELLO))


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class PreforkTest(BriskTestCase):
    def start_master(self, *args, config=None, n=2):
        srv = self.start("--processes", str(n), "--loops", "1", *args, config=config)
        self.assertTrue(wait_for(lambda: "%d worker processes serving" % n in srv.stderr()), srv.stderr())
        self.assertEqual(len(children(srv.pid)), n)
        return srv

    def test_workers_serve_and_a_dead_one_is_replaced(self):
        srv = self.start_master()
        first = children(srv.pid)
        os.kill(first[0], signal.SIGKILL)
        self.assertTrue(wait_for(lambda: "killed by signal 9; starting another" in srv.stderr()), srv.stderr())
        now = wait_for(lambda: (lambda c: c if len(c) == 2 and first[0] not in c else None)(children(srv.pid)))
        self.assertTrue(now, children(srv.pid))
        self.assertIn(first[1], now)
        for _ in range(20):
            self.assertEqual(one_request(srv.addr, srv.family, "/plaintext"), (200, HELLO))

    def test_no_request_fails_while_a_worker_dies(self):
        srv = self.start_master()
        with Traffic(srv) as traffic:
            time.sleep(0.2)
            os.kill(children(srv.pid)[0], signal.SIGTERM)  # a worker's graceful stop
            time.sleep(0.5)
        self.assertGreater(traffic.sent, 10)
        self.assertEqual(traffic.failures, [])

    def test_sighup_reaches_the_workers(self):
        srv = self.start_master(config=route_config("one"))
        with open(srv.config_path, "w") as f:
            f.write(route_config("two"))
        srv.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: srv.stderr().count("reloaded: generation 1") == 2), srv.stderr())
        self.assertNotIn("only with a restart", srv.stderr())
        for _ in range(10):
            self.assertEqual(one_request(srv.addr, srv.family, "/v"), (200, b"two"))

    def test_sigterm_stops_master_and_workers(self):
        srv = self.start_master(n=3)
        workers = children(srv.pid)
        code, killed = srv.stop()
        self.assertFalse(killed)
        self.assertEqual(code, 0, srv.stderr())
        for w in workers:
            self.assertFalse(os.path.exists("/proc/%d" % w), "worker %d outlived the master" % w)

    def test_crash_loop_makes_the_master_give_up(self):
        srv = Server(["--processes", "1", "--loops", "1"])
        self.addCleanup(srv.cleanup)
        srv.start()
        self.assertTrue(wait_for(lambda: "1 worker processes serving" in srv.stderr()), srv.stderr())
        for _ in range(11):
            pids = wait_for(lambda: children(srv.pid), timeout=5)
            if not pids:
                break
            os.kill(pids[0], signal.SIGKILL)
            wait_for(lambda: pids[0] not in children(srv.pid), timeout=5)
        self.assertEqual(srv.wait_exit(timeout=10), 1, srv.stderr())
        self.assertIn("the master gives up", srv.stderr())

    def test_a_worker_that_cannot_start_fails_the_start(self):
        proc = subprocess.run([brisk_bin(), "--processes", "2", "--listen", "127.0.0.1:%d" % free_port(),
                               "--plugin", "/x/=/nonexistent/libnothing.so"],
                              capture_output=True, timeout=20)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn(b"cannot load /nonexistent/libnothing.so", proc.stderr)


if __name__ == "__main__":
    unittest.main()
