"""The servers the conformance suite runs against, each started by PID on a
free loopback port with the same site, and stopped by PID:

  brisk  $BRISK_BIN --root SITE --respond ... --plugin /echo/=libecho.so
         (the echo plugin when it was built next to the binary)
  nginx  /usr/sbin/nginx with a generated config and prefix in a temp dir,
         `daemon off; master_process off;`, `return 200` for the fixed answers

Both use short timeouts (2 s to receive a request, 2 s idle).
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from conformance import ALPHABET, HELLO, INDEX_HTML, SECOND, SECRET, SUB_B, SUB_INDEX, THIRD

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
NGINX = "/usr/sbin/nginx"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
READ_TIMEOUT_S = 2
CRASH_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                 "runtime error:", "terminate called", "Segmentation fault", "what():")


def make_site(tmp):
    """tmp/root/ is served at /; tmp/secret.txt sits outside it."""
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "sub"))
    files = {
        "index.html": INDEX_HTML,
        "a.txt": ALPHABET,
        "sub/index.html": SUB_INDEX,
        "sub/b.txt": SUB_B,
    }
    for name, data in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(data)
    with open(os.path.join(tmp, "secret.txt"), "wb") as f:
        f.write(SECRET + b"\n")
    # A fixed, old modification time: If-Modified-Since tests need one second
    # of distance from "now" on both sides.
    old = time.time() - 86400
    for name in files:
        os.utime(os.path.join(root, name), (old, old))
    return root


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A server process in its own temp dir; subclasses build `cmd`."""

    name = "server"
    caps = ()

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="brisk-conf-")
        self.root = make_site(self.tmp)
        self.port = free_port()
        self.addr = ("127.0.0.1", self.port)
        self.proc = None
        self.log_path = os.path.join(self.tmp, "stderr.log")

    def command(self):
        raise NotImplementedError

    def start(self):
        cmd = self.command()
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.tmp)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s at start: %s\ncommand: %r"
                                   % (self.name, self.proc.returncode, self.log()[-2000:], cmd))
            try:
                with socket.create_connection(self.addr, timeout=1.0) as s:
                    s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    data = b""
                    end = time.monotonic() + 3.0
                    while time.monotonic() < end:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if HELLO in data:
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not answer within %.0f s: %s" % (self.name, START_TIMEOUT,
                                                                     self.log()[-2000:]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM by PID, SIGKILL after a bound. Returns (exit code, killed)."""
        if self.proc is None:
            return None, False
        killed = False
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                killed = True
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
        self._log.close()
        return self.proc.returncode, killed

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        if self.alive():
            self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def brisk_bin():
    path = os.environ.get("BRISK_BIN") or os.path.join(REPO, "build", "brisk")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError("brisk binary not found at %r: build it and set BRISK_BIN" % path)
    return path


def echo_plugin():
    """<dir of brisk>/plugins/libecho.so, or None when it was not built."""
    path = os.path.join(os.path.dirname(os.path.abspath(brisk_bin())), "plugins", "libecho.so")
    return path if os.path.isfile(path) else None


class Brisk(Process):
    name = "brisk"

    def __init__(self):
        super().__init__()
        self.echo = echo_plugin()
        self.caps = ("echo",) if self.echo else ()

    def command(self):
        cmd = [brisk_bin(), "--listen", "127.0.0.1:%d" % self.port, "--loops", "1",
               "--read-timeout", "%ds" % READ_TIMEOUT_S, "--idle-timeout", "%ds" % READ_TIMEOUT_S,
               "--root", self.root,
               "--respond", "/plaintext=" + HELLO.decode(),
               "--respond", "/second=" + SECOND.decode(),
               "--respond", "/third=" + THIRD.decode()]
        if self.echo:
            cmd += ["--plugin", "/echo/=" + self.echo]
        return cmd


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid @TMP@/nginx.pid;
error_log @TMP@/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path @TMP@/body;
    proxy_temp_path @TMP@/proxy;
    fastcgi_temp_path @TMP@/fastcgi;
    uwsgi_temp_path @TMP@/uwsgi;
    scgi_temp_path @TMP@/scgi;
    types { text/html html; text/plain txt; }
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/plain;
    client_header_timeout @T@s;
    client_body_timeout @T@s;
    keepalive_timeout @T@s;
    lingering_timeout 1s;
    lingering_time 3s;
    send_timeout 10s;
    client_max_body_size 4m;
    large_client_header_buffers 4 16k;
    server {
        listen 127.0.0.1:@PORT@;
        server_name _;
        root @ROOT@;
        location = /plaintext { default_type text/plain; return 200 "@HELLO@"; }
        location = /second { default_type text/plain; return 200 "@SECOND@"; }
        location = /third { default_type text/plain; return 200 "@THIRD@"; }
        location /echo/ { default_type text/plain; return 200 "$request_method $request_uri\\n"; }
        location / { }
    }
}
"""


class Nginx(Process):
    name = "nginx"

    def command(self):
        conf = (NGINX_CONF.replace("@TMP@", self.tmp).replace("@ROOT@", self.root)
                .replace("@PORT@", str(self.port)).replace("@T@", str(READ_TIMEOUT_S))
                .replace("@HELLO@", HELLO.decode()).replace("@SECOND@", SECOND.decode())
                .replace("@THIRD@", THIRD.decode()))
        path = os.path.join(self.tmp, "nginx.conf")
        with open(path, "w") as f:
            f.write(conf)
        return [NGINX, "-p", self.tmp + "/", "-c", path, "-e", os.path.join(self.tmp, "error.log")]

    def error_log(self):
        try:
            with open(os.path.join(self.tmp, "error.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""
