"""Test harness for brisk's integration tests.

Starts the real binary (``$BRISK_BIN``, default ``<repo>/build/brisk``) on a
free loopback port, waits until it accepts connections, and stops it by PID
(SIGTERM, then SIGKILL after a bound). A graceful stop must exit with 0 and
leave no sanitizer report on stderr.

Also: raw-socket clients with timeouts and a minimal HTTP/1.1 response reader
(status line, fields, Content-Length / chunked / until-EOF bodies) that reads
pipelined responses one after another.

Standard library only. Every wait is bounded in time.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))

START_TIMEOUT = 10.0   # seconds until the server must accept connections
STOP_TIMEOUT = 10.0    # seconds a graceful stop may take before SIGKILL
IO_TIMEOUT = 5.0       # default bound for one read of a response

HELLO = b"Hello, World!"
# Every server the tests start answers GET /plaintext with HELLO unless the
# test says otherwise (routes=False).
DEFAULT_ROUTES = ["--respond", "/plaintext=Hello, World!"]

# What must never show up on stderr: crashes, aborts, sanitizer reports.
CRASH_MARKERS = (
    "terminate called",
    "Aborted",
    "Segmentation fault",
    "core dumped",
    "Traceback",
    "AddressSanitizer",
    "LeakSanitizer",
    "UndefinedBehaviorSanitizer",
    "ThreadSanitizer",
    "runtime error:",
    "what():",
)


def brisk_bin():
    path = os.environ.get("BRISK_BIN") or os.path.join(REPO, "build", "brisk")
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        raise RuntimeError(
            "brisk binary not found at %r: build it and set BRISK_BIN" % path)
    return path


def ipv6_available():
    """True when [::1] can be bound on this machine."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


_handed_out = set()


def free_port(family=socket.AF_INET):
    """A port that was free a moment ago (bind port 0 on a throwaway socket),
    and not one this process was given before: the kernel may hand the same
    ephemeral port out twice in a row, and a test asking for two ports (a
    plain and a PROXY or TLS listener) would get the same one."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    for _ in range(100):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise AssertionError("no fresh free port after 100 tries")


def run_brisk(args, timeout=10.0, input_bytes=None):
    """Runs the binary to completion (for --help, --check-config, errors).

    Returns a CompletedProcess with str stdout/stderr. Bounded by `timeout`.
    """
    return subprocess.run([brisk_bin()] + list(args), input=input_bytes,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, start_new_session=True,
                          stdin=None if input_bytes is not None else subprocess.DEVNULL)


def decode(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


# --------------------------------------------------------------------------
# The server process
# --------------------------------------------------------------------------

class Server:
    """One brisk process.

    kind: "tcp4" (default, 127.0.0.1:free port), "tcp6" ([::1]:free port),
    "unix" (a socket in the temp dir), or "none" (no --listen from the
    harness: the config or args say where; then pass probe=(family, addr)).
    listen_flag=False: pick the address as for `kind` but do not pass
    --listen (the config says `listen = ["127.0.0.1:@PORT@"]`).
    config: TOML text; "@PORT@", "@TMP@" and "@HOST@" are replaced.
    """

    def __init__(self, args=(), config=None, kind="tcp4", routes=True,
                 probe=None, alive_path="/plaintext", alive_body=HELLO,
                 listen_flag=True):
        self.tmp = tempfile.mkdtemp(prefix="brisk-it-")
        self.kind = kind
        self.alive_path = alive_path
        self.alive_body = alive_body
        self.proc = None
        self.returncode = None
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.stdout_path = os.path.join(self.tmp, "stdout.log")
        listen = []
        if kind == "tcp4":
            self.family, self.host, self.port = socket.AF_INET, "127.0.0.1", free_port()
            self.addr = (self.host, self.port)
            listen = ["--listen", "127.0.0.1:%d" % self.port]
        elif kind == "tcp6":
            self.family, self.host = socket.AF_INET6, "::1"
            self.port = free_port(socket.AF_INET6)
            self.addr = (self.host, self.port)
            listen = ["--listen", "[::1]:%d" % self.port]
        elif kind == "unix":
            self.family, self.host, self.port = socket.AF_UNIX, None, None
            self.addr = os.path.join(self.tmp, "s.sock")
            listen = ["--listen", "unix:" + self.addr]
        elif kind == "none":
            self.host, self.port = None, None
            if probe is not None:
                self.family, self.addr = probe
            else:
                self.family, self.addr = None, None
        else:
            raise ValueError(kind)
        self.config_path = None
        cmd = [brisk_bin()]
        if config is not None:
            self.config_path = os.path.join(self.tmp, "brisk.toml")
            with open(self.config_path, "w") as f:
                f.write(self.expand(config))
            cmd += ["--config", self.config_path]
        if listen_flag:
            cmd += listen
        if routes:
            cmd += DEFAULT_ROUTES
        cmd += [self.expand(a) for a in args]
        self.cmd = cmd

    def expand(self, text):
        return (text.replace("@PORT@", str(self.port or 0))
                .replace("@TMP@", self.tmp)
                .replace("@HOST@", self.host or ""))

    # -- lifecycle ---------------------------------------------------------

    def start(self, wait=True):
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err,
                                     start_new_session=True)
        self.pid = self.proc.pid
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=START_TIMEOUT):
        """Waits until the server accepts a connection and answers it.

        The probe sends one `Connection: close` request and reads to EOF, so
        the connection is gone from the server's books when this returns.
        """
        if self.addr is None:
            raise ValueError("no address to probe")
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("brisk exited with %s before accepting connections: %s\n"
                                     "command: %r" % (self.proc.returncode, self.stderr().strip(),
                                                      self.cmd))
            try:
                s = socket.socket(self.family, socket.SOCK_STREAM)
                s.settimeout(1.0)
                s.connect(self.addr)
            except OSError as e:
                last = e
                s.close()
                time.sleep(0.02)
                continue
            held = None
            try:
                s.sendall(b"GET /__probe HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
                end = time.monotonic() + 3.0
                while time.monotonic() < end:
                    if not s.recv(65536):
                        break
                if self.family in (socket.AF_INET, socket.AF_INET6):
                    held = server_end(self, s)  # an inode while brisk still holds its descriptor
            except OSError:
                pass
            finally:
                s.close()
            # brisk lingers on the probe until our FIN and counts it until then
            # (per address, --concurrency): wait until it has let the probe's
            # descriptor go, so that a test that fills a limit starts from zero.
            target = "socket:[%d]" % held[1] if held and held[1] else None
            fd_dir = "/proc/%d/fd" % self.pid
            while target and time.monotonic() < deadline:
                links = []
                for name in os.listdir(fd_dir):
                    try:
                        links.append(os.readlink(os.path.join(fd_dir, name)))
                    except OSError:
                        pass
                if target not in links:
                    break
                time.sleep(0.005)
            return
        self.kill()
        raise AssertionError("brisk did not accept connections within %.0f s (%s): %s"
                             % (timeout, last, self.stderr().strip()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for the process to exit; returns its code or None on timeout."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """SIGTERM (by PID), then SIGKILL after `timeout`. Returns (code, killed)."""
        if self.proc is None:
            return None, False
        killed = False
        if self.proc.poll() is None:
            os.kill(self.pid, sig)
            if self.wait_exit(timeout) is None:
                killed = True
                self.kill()
        self.returncode = self.proc.wait(timeout=STOP_TIMEOUT)
        self._close_files()
        return self.returncode, killed

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=STOP_TIMEOUT)
        self._close_files()

    def _close_files(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f is not None and not f.closed:
                f.close()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return decode(f.read())
        except OSError:
            return ""

    def crash_report(self):
        """The first crash/sanitizer marker found on stderr, or None."""
        err = self.stderr()
        for m in CRASH_MARKERS:
            if m in err:
                return m
        return None

    # -- clients -----------------------------------------------------------

    def connect(self, timeout=IO_TIMEOUT, source=None):
        s = socket.socket(self.family, socket.SOCK_STREAM)
        s.settimeout(timeout)
        if source is not None:
            s.bind((source, 0))
        try:
            s.connect(self.addr)
        except OSError:
            s.close()
            raise
        if self.family != socket.AF_UNIX:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return Conn(s)

    def url(self, path="/"):
        if self.family == socket.AF_INET6:
            return "http://[%s]:%d%s" % (self.host, self.port, path)
        if self.family == socket.AF_UNIX:
            return "http://localhost" + path
        return "http://%s:%d%s" % (self.host, self.port, path)


# --------------------------------------------------------------------------
# Raw HTTP/1.1 client side
# --------------------------------------------------------------------------

def request(method="GET", target="/plaintext", version="HTTP/1.1", host="x",
            headers=(), body=b""):
    """Builds one request. headers: (name, value) pairs; body: bytes as-is."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: " + host)
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body if isinstance(body, bytes) else body.encode())


def get(target="/plaintext", **kw):
    return request("GET", target, **kw)


class Response:
    def __init__(self, version, status, reason, headers, body, head_raw):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # [(name, value)] in wire order
        self.body = body
        self.head_raw = head_raw

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def tokens(self, name):
        out = []
        for v in self.header_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def closes(self):
        return "close" in self.tokens("connection")

    def __repr__(self):
        return "<Response %s %d %r headers=%r body=%r>" % (
            self.version, self.status, self.reason, self.headers, self.body[:200])


class Conn:
    """A client socket with a read buffer. Reads are bounded by a deadline."""

    MAX_RESPONSE = 64 << 20

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def send_slowly(self, data, step=1, pause=0.002):
        """Sends `data` in pieces of `step` bytes (each its own segment)."""
        for i in range(0, len(data), step):
            self.sock.sendall(data[i:i + step])
            time.sleep(pause)

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def _fill(self, deadline):
        """Reads more bytes into buf. Returns False at EOF (or reset)."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            self.eof = self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        if len(self.buf) > self.MAX_RESPONSE:
            raise AssertionError("response larger than %d bytes" % self.MAX_RESPONSE)
        return True

    def _read_line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if not self._fill(deadline):
                raise AssertionError("connection closed in the middle of a line; got %r"
                                     % bytes(self.buf))

    def _read_exact(self, n, deadline):
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise AssertionError("connection closed after %d of %d body bytes"
                                     % (len(self.buf), n))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_response(self, head=False, timeout=IO_TIMEOUT):
        """Reads one response. head=True: the request was HEAD (no body).

        Interim (1xx) responses are returned like any other; call again for
        the final one. Raises AssertionError on EOF before a full response or
        on timeout.
        """
        deadline = time.monotonic() + timeout
        try:
            # the status line; EOF before any byte is reported as such
            while b"\r\n" not in self.buf:
                if not self._fill(deadline):
                    if self.buf:
                        raise AssertionError("EOF inside the status line: %r" % bytes(self.buf))
                    raise AssertionError("connection closed (%s) without a response"
                                         % ("reset" if self.reset else "EOF"))
            status_line = self._read_line(deadline)
            m = re.match(rb"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", status_line)
            if not m:
                raise AssertionError("malformed status line %r" % status_line)
            version, status, reason = m.group(1).decode(), int(m.group(2)), decode(m.group(3))
            headers = []
            raw = [status_line]
            while True:
                line = self._read_line(deadline)
                raw.append(line)
                if not line:
                    break
                if b":" not in line:
                    raise AssertionError("malformed response field %r" % line)
                k, v = line.split(b":", 1)
                headers.append((decode(k), decode(v.strip(b" \t"))))
            resp = Response(version, status, reason, headers, b"", b"\r\n".join(raw))
            if head or 100 <= status < 200 or status in (204, 304):
                return resp
            if "chunked" in resp.tokens("transfer-encoding"):
                resp.body = self._read_chunked(deadline)
            elif resp.header("content-length") is not None:
                n = int(resp.header("content-length"))
                resp.body = self._read_exact(n, deadline)
            else:
                while self._fill(deadline):
                    pass
                resp.body = bytes(self.buf)
                self.buf.clear()
            return resp
        except socket.timeout:
            raise AssertionError("timed out after %.1f s waiting for a response; "
                                 "bytes so far: %r" % (timeout, bytes(self.buf[:300])))

    def _read_chunked(self, deadline):
        body = bytearray()
        while True:
            line = self._read_line(deadline)
            size = int(line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self._read_line(deadline):
                    pass
                return bytes(body)
            body += self._read_exact(size, deadline)
            if self._read_line(deadline) != b"":
                raise AssertionError("chunk data not followed by CRLF")

    def read_final(self, head=False, timeout=IO_TIMEOUT):
        """Reads responses until a non-1xx one; returns (interim list, final)."""
        interim = []
        for _ in range(10):
            r = self.read_response(head=head, timeout=timeout)
            if r.status >= 200:
                return interim, r
            interim.append(r)
        raise AssertionError("more than 10 interim responses")

    def read_responses(self, n, heads=(), timeout=IO_TIMEOUT):
        """Reads n responses; `heads` is the set of indexes that answer HEAD."""
        return [self.read_response(head=(i in heads), timeout=timeout) for i in range(n)]

    def read_until_eof(self, timeout=IO_TIMEOUT):
        """Returns every byte that arrives before EOF/reset (buffered ones too).

        Raises AssertionError when the peer keeps the connection open longer
        than `timeout`.
        """
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
        except socket.timeout:
            raise AssertionError("the server did not close the connection within %.1f s "
                                 "(bytes received: %r)" % (timeout, bytes(self.buf[:300])))
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def is_open_after(self, wait):
        """True when nothing (no EOF, no bytes) arrives within `wait` seconds.
        Bytes that do arrive stay in the buffer."""
        deadline = time.monotonic() + wait
        try:
            self._fill(deadline)
        except socket.timeout:
            return True
        return False


# --------------------------------------------------------------------------
# What the kernel says of brisk's sockets (/proc/net/tcp): events a test can
# wait on instead of sleeping
# --------------------------------------------------------------------------

TCP_ESTABLISHED, TCP_SYN_RECV, TCP_CLOSE_WAIT, TCP_LISTEN = "01", "03", "08", "0A"


def _tcp_table(srv):
    path = "/proc/net/tcp6" if srv.family == socket.AF_INET6 else "/proc/net/tcp"
    with open(path) as f:
        next(f)
        return [line.split() for line in f]


def server_end(srv, client_sock):
    """(state, inode) of brisk's end of client_sock's TCP connection, or None
    once the kernel has no such socket. States (hex): TCP_SYN_RECV (a
    deferred connection, in no accept queue yet), TCP_ESTABLISHED,
    TCP_CLOSE_WAIT (the client closed, brisk not yet), '04' FIN_WAIT1 and
    '05' FIN_WAIT2 (closed by brisk)."""
    local = client_sock.getsockname()[1]
    try:
        server_port = client_sock.getpeername()[1]
    except OSError:  # reset: the kernel keeps no connection for it
        server_port = srv.port
    if server_port is None:
        return None
    for p in _tcp_table(srv):
        if p[1].endswith(":%04X" % server_port) and p[2].endswith(":%04X" % local):
            return p[3], int(p[9])
    return None


def unread_by_server(srv, client_sock):
    """Bytes client_sock sent that brisk has not read yet (the receive queue
    of its end), or None once the kernel has no such connection."""
    local = client_sock.getsockname()[1]
    for p in _tcp_table(srv):
        if p[1].endswith(":%04X" % srv.port) and p[2].endswith(":%04X" % local):
            return int(p[4].split(":")[1], 16)
    return None


def server_end_by_port(srv, client_port):
    """The state of brisk's end of the connection from local port `client_port`, or None."""
    for p in _tcp_table(srv):
        if p[1].endswith(":%04X" % srv.port) and p[2].endswith(":%04X" % client_port) and p[3] != TCP_LISTEN:
            return p[3]
    return None


def listener_fds(srv):
    """How many of brisk's descriptors are its listening sockets on srv.port."""
    inodes = {"socket:[%s]" % p[9] for p in _tcp_table(srv) if p[3] == TCP_LISTEN and p[1].endswith(":%04X" % srv.port)}
    n = 0
    fd_dir = "/proc/%d/fd" % srv.pid
    for name in os.listdir(fd_dir):
        try:
            n += os.readlink(os.path.join(fd_dir, name)) in inodes
        except OSError:
            pass
    return n


def listening(srv):
    """Whether any socket listens on srv.port."""
    return any(p[3] == TCP_LISTEN and p[1].endswith(":%04X" % srv.port) for p in _tcp_table(srv))


# --------------------------------------------------------------------------
# unittest glue
# --------------------------------------------------------------------------

class BriskTestCase(unittest.TestCase):
    """Base class: start servers with self.start(...); they are stopped in
    cleanup, and the stop must be graceful (exit 0, no crash on stderr)."""

    maxDiff = 4000

    def start(self, *args, config=None, kind="tcp4", routes=True, probe=None,
              alive_path="/plaintext", alive_body=HELLO, wait=True, listen_flag=True):
        srv = Server(args, config=config, kind=kind, routes=routes, probe=probe,
                     alive_path=alive_path, alive_body=alive_body,
                     listen_flag=listen_flag)
        self.addCleanup(srv.cleanup)
        srv.start(wait=wait)
        self.addCleanup(self.stop_and_check, srv)
        return srv

    def wait_for_stop_log(self, srv, sig="SIGTERM", timeout=5.0):
        """Until brisk has logged that it received `sig` (the stop begins right after)."""
        deadline = time.monotonic() + timeout
        while "%s received" % sig not in srv.stderr():
            self.assertLess(time.monotonic(), deadline, srv.stderr()[-2000:])
            time.sleep(0.01)

    def wait_until_not_accepting(self, srv, timeout=5.0):
        """Until a new connection is refused, or its handshake is not answered
        within 0.2 s (a stopping listener drops new SYNs): the stop has begun
        on the loop of the probed socket (with --loops 1, the stop has begun).
        A listener that serves answers a loopback handshake at once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(srv.addr, timeout=0.2).close()
            except (ConnectionRefusedError, socket.timeout):
                return
            time.sleep(0.01)
        self.fail("new connections still accepted %.0f s after the stop began" % timeout)

    def stop_and_check(self, srv, sig=signal.SIGTERM):
        """Stops srv (if still running) and asserts a graceful exit."""
        if srv.proc is None:
            return
        if srv.returncode is None:
            code, killed = srv.stop(sig)
        else:
            code, killed = srv.returncode, False
        self.assertFalse(killed, "brisk did not exit within %.0f s of %s; stderr:\n%s"
                         % (STOP_TIMEOUT, sig.name, srv.stderr()[-3000:]))
        self.assertEqual(code, 0, "brisk exited with %s after %s; stderr:\n%s"
                         % (code, sig.name, srv.stderr()[-3000:]))
        self.assertIsNone(srv.crash_report(), "crash report on stderr:\n%s"
                          % srv.stderr()[-3000:])

    # -- assertions ------------------------------------------------------

    def exchange(self, srv, data, n=1, heads=(), timeout=IO_TIMEOUT):
        """Fresh connection, one write, n responses read. Returns (conn, responses)."""
        c = srv.connect()
        self.addCleanup(c.close)
        c.send(data)
        return c, c.read_responses(n, heads=heads, timeout=timeout)

    def assert_still_serving(self, srv, timeout=IO_TIMEOUT):
        """A fresh connection still gets 200 with the expected body."""
        self.assertTrue(srv.alive(), "brisk is no longer running (exit %s); stderr:\n%s"
                        % (srv.proc.poll(), srv.stderr()[-3000:]))
        with srv.connect() as c:
            c.send(get(srv.alive_path))
            r = c.read_response(timeout=timeout)
        self.assertEqual(r.status, 200, r)
        if srv.alive_body is not None:
            self.assertEqual(r.body, srv.alive_body)

    def assert_served_again(self, srv, source=None, timeout=3.0):
        """After a connection slot is released, a new connection gets 200
        (bounded retry: the server may see the close a moment later)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            with srv.connect(source=source) as c:
                try:
                    c.send(get(srv.alive_path))
                    last = c.read_response()
                except (AssertionError, OSError) as e:
                    last = e
            if getattr(last, "status", None) == 200:
                return
            time.sleep(0.05)
        self.fail("no 200 after a connection slot was released: %r" % (last,))

    def assert_closes(self, conn, timeout=IO_TIMEOUT, what="after the response"):
        """The server closes `conn` and sends nothing more."""
        rest = conn.read_until_eof(timeout=timeout)
        self.assertEqual(rest, b"", "bytes sent %s before closing: %r" % (what, rest[:300]))

    def assert_rejected(self, srv, data, status, follow=True, timeout=IO_TIMEOUT):
        """Sends `data` (+ a valid pipelined GET in the same write when follow)
        and asserts: exactly one response with `status`, `Connection: close`,
        then EOF with nothing else; a fresh connection is still served."""
        tail = get("/plaintext") if follow else b""
        with srv.connect() as c:
            c.send(data + tail)
            r = c.read_response(timeout=timeout)
            if isinstance(status, int):
                self.assertEqual(r.status, status, "request %r -> %r" % (data[:200], r))
            else:
                self.assertIn(r.status, status, "request %r -> %r" % (data[:200], r))
            self.assertTrue(r.closes(), "error response without Connection: close: %r" % r)
            self.assert_closes(c, timeout=timeout,
                               what="after the %d (the pipelined request was answered?)" % r.status)
        self.assert_still_serving(srv)
        return r

    def assert_ok(self, srv, data, body=HELLO, n_follow=1):
        """Sends `data` + a pipelined GET /plaintext; both answered with 200."""
        with srv.connect() as c:
            c.send(data + get("/plaintext") * n_follow)
            r = c.read_response()
            self.assertEqual(r.status, 200, "request %r -> %r" % (data[:200], r))
            if body is not None:
                self.assertEqual(r.body, body)
            for _ in range(n_follow):
                r2 = c.read_response()
                self.assertEqual(r2.status, 200, "pipelined request after %r -> %r"
                                 % (data[:200], r2))
                self.assertEqual(r2.body, HELLO)
        return r

    def assert_one_line_error(self, proc, code=1, mention=None):
        """A CLI failure: exit `code`, one clear line on stderr, no crash."""
        err = decode(proc.stderr)
        self.assertEqual(proc.returncode, code, "exit code %s (want %s); stderr: %r"
                         % (proc.returncode, code, err))
        lines = [ln for ln in err.splitlines() if ln.strip()]
        self.assertGreaterEqual(len(lines), 1, "no message on stderr")
        self.assertEqual(len(lines), 1, "want one line on stderr, got: %r" % err)
        for m in CRASH_MARKERS:
            self.assertNotIn(m, err)
        if mention is not None:
            self.assertIn(mention, err)
        return lines[0]


def curl(*args, timeout=10.0):
    """Runs curl (no proxy, bounded); returns the CompletedProcess."""
    cmd = ["curl", "-sS", "--noproxy", "*", "--max-time", "5"] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def parse_curl_head(text):
    """curl -D - output -> list of (status, {lowercase name: value}) blocks."""
    blocks = []
    for block in re.split(r"\r?\n\r?\n", decode(text)):
        lines = block.strip("\r\n").splitlines()
        if not lines or not lines[0].startswith("HTTP/"):
            continue
        status = int(lines[0].split()[1])
        fields = {}
        for ln in lines[1:]:
            if ":" in ln:
                k, v = ln.split(":", 1)
                fields[k.strip().lower()] = v.strip()
        blocks.append((status, fields))
    return blocks


class SharedServerTestCase(BriskTestCase):
    """One server for the whole class (args in `server_args`), for many
    short tests against the same configuration. If a test leaves it dead,
    that test fails (assert_still_serving) and the next test gets a new one;
    the class then fails at tearDownClass."""

    server_args = ()
    server_kind = "tcp4"

    @classmethod
    def setUpClass(cls):
        cls.deaths = []
        cls.srv = Server(cls.server_args, kind=cls.server_kind).start()

    def setUp(self):
        cls = type(self)
        if not cls.srv.alive():
            cls.deaths.append("exit %s; stderr:\n%s" % (cls.srv.proc.poll(),
                                                         cls.srv.stderr()[-2000:]))
            cls.srv.cleanup()
            cls.srv = Server(cls.server_args, kind=cls.server_kind).start()

    @classmethod
    def tearDownClass(cls):
        srv = cls.srv
        code, killed = srv.stop()
        err = srv.stderr()
        crash = srv.crash_report()
        srv.cleanup()
        problems = list(cls.deaths)
        if killed:
            problems.append("did not exit within %.0f s of SIGTERM" % STOP_TIMEOUT)
        elif code != 0:
            problems.append("exit code %s after SIGTERM" % code)
        if crash:
            problems.append("crash report on stderr (%s)" % crash)
        if problems:
            raise AssertionError("brisk (%s): %s\nstderr:\n%s"
                                 % (" ".join(cls.server_args), "; ".join(problems), err[-3000:]))
