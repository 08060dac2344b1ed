#!/usr/bin/env python3
"""bench/tls_idle.py -- server memory per idle TLS keep-alive connection, brisk next to nginx.

Usage: bench/tls_idle.py [-n N] [--brisk BIN] [--io epoll|io_uring] [--no-nginx]

For each server: make a throw-away ECDSA P-256 certificate, start the server
on 127.0.0.1 (one loop / one worker), read its RSS (VmRSS summed over its
processes), open N connections that each finish a TLS 1.3 handshake, send
one GET /plaintext and read the answer, then stay idle; wait 2 s, read RSS
again, close them, stop the server. Prints (RSS_open - RSS_base) / N.

Needs python3, openssl and (for the comparison) nginx. Loopback only; every
process it starts it stops by PID.
"""
import argparse
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

NGINX_CONF = """worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
user root root;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 1000000000;
    client_body_temp_path {dir}/tmp;
    server {{
        listen 127.0.0.1:{port} ssl backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets on;
        location = /plaintext {{ default_type text/plain; return 200 "Hello, World!"; }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    """VmRSS of pid and its children (nginx's master and worker)."""
    total = 0
    pids = [pid]
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for p in pids:
        with open("/proc/%d/status" % p) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def wait_port(port, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited with %s" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not listen on %d" % port)


def open_idle(port, n):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conns = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n")
        got = b""
        while b"Hello, World!" not in got:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("connection closed before the answer")
            got += chunk
        conns.append(s)
    return conns


def measure(name, cmd, port, n):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        open_idle(port, 1)[0].close()  # warm: the first handshake's allocations
        time.sleep(0.5)
        base = rss_kib(proc.pid)
        conns = open_idle(port, n)
        time.sleep(2)
        held = rss_kib(proc.pid)
        for c in conns:
            c.close()
        per = (held - base) * 1024 / n
        print("%-14s %6d idle TLS connections: RSS %7d -> %7d KiB, %6.0f bytes per connection"
              % (name, n, base, held, per))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="idle connections (default 2000)")
    ap.add_argument("--brisk", default=os.path.join(here, "..", "build", "brisk"))
    ap.add_argument("--io", default="epoll")
    ap.add_argument("--no-nginx", action="store_true")
    args = ap.parse_args()
    d = tempfile.mkdtemp(prefix="tls-idle-")
    try:
        cert, key = os.path.join(d, "c.pem"), os.path.join(d, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        port = free_port()
        measure("brisk-" + args.io, [args.brisk, "--listen", "127.0.0.1:%d,tls" % port, "--tls-cert", cert,
                                     "--tls-key", key, "--loops", "1", "--io", args.io,
                                     "--respond", "/plaintext=Hello, World!"], port, args.n)
        if not args.no_nginx and shutil.which("nginx"):
            port = free_port()
            os.makedirs(os.path.join(d, "tmp"))
            conf = os.path.join(d, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(dir=d, port=port, cert=cert, key=key))
            measure("nginx", ["nginx", "-p", d, "-e", os.path.join(d, "error.log"), "-c", conf], port, args.n)
    finally:
        shutil.rmtree(d, True)


if __name__ == "__main__":
    main()
