#!/usr/bin/python3
"""Soak test: mixed, partly hostile traffic against a brisk it starts, for a
long time (30 minutes by default), watching brisk's memory and descriptors.

    bench/soak.py [--brisk build/brisk] [--duration 30m] [--csv soak.csv]

Every 10 s (--interval) one CSV row: elapsed seconds, brisk's RSS (KiB), its
open fds, its CPU seconds, requests answered and client errors so far. At the
end a summary: RSS after warm-up and at the end, the slope of RSS after
warm-up (linear fit), fds at start and after the traffic stopped, client
errors by kind. Exit status: 0 when RSS after warm-up grew by no more than
the tolerance, brisk stayed up and stopped cleanly, the fds went back to the
baseline and no client saw an unexpected answer; 1 otherwise.

The traffic (threads, each one action after another with a short pause, so
that the client stays well under one core; brisk runs one event loop):
keep-alive GETs, pipelined bursts, static files (whole and ranges), POST
bodies by length and chunked, bad requests, resets (SO_LINGER 0), half-closes
(after a full and after a partial request), slow senders inside and past the
read timeout, readers that stop reading until the write timeout, clients that
vanish mid-request and mid-response, connection churn.

Standard library only; reuses the integration tests' harness for starting
brisk and reading responses. Loopback only.
"""

import argparse
import csv
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import brisk_harness as bh  # noqa: E402

HELLO = bh.HELLO
BIG = 64 * 1024
READ_TIMEOUT = 3.0
WRITE_TIMEOUT = 2.0
IDLE_TIMEOUT = 5.0
IO = 15.0   # bound for one client read; generous: the machine may be busy


def parse_duration(text):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?|(\d+)", text.strip())
    if not m or not any(m.groups()):
        raise argparse.ArgumentTypeError("duration like 30m, 90s, 1h, 1m30s or seconds")
    if m.group(4):
        return int(m.group(4))
    h, mi, s = (int(g) if g else 0 for g in m.groups()[:3])
    return h * 3600 + mi * 60 + s


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Unexpected(Exception):
    """A client saw something brisk must not do."""


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.actions = {}
        self.errors = {}
        self.examples = {}

    def ok(self, action, requests):
        with self.lock:
            self.requests += requests
            self.actions[action] = self.actions.get(action, 0) + 1

    def error(self, action, what):
        with self.lock:
            self.errors[action] = self.errors.get(action, 0) + 1
            self.examples.setdefault(action, what[:300])

    def total_errors(self):
        with self.lock:
            return sum(self.errors.values())


class Traffic:
    def __init__(self, srv, files, rng_seed):
        self.srv = srv
        self.files = files          # name -> bytes
        self.rng = random.Random(rng_seed)

    # -- helpers -----------------------------------------------------------

    def conn(self):
        return self.srv.connect(timeout=IO)

    def expect(self, r, status, body=None, what=""):
        if r.status != status or (body is not None and r.body != body):
            raise Unexpected("%s: got %d (%d body bytes), want %d"
                             % (what, r.status, len(r.body), status))

    def expect_eof(self, c, what):
        rest = c.read_until_eof(timeout=IO)
        if rest:
            raise Unexpected("%s: bytes before close: %r" % (what, rest[:100]))

    # -- actions: each returns the number of answers it checked -------------

    def keepalive(self):
        n = self.rng.randint(2, 30)
        with self.conn() as c:
            for _ in range(n):
                c.send(bh.get("/plaintext"))
                self.expect(c.read_response(timeout=IO), 200, HELLO, "keep-alive GET")
        return n

    def pipeline(self):
        n = self.rng.randint(10, 200)
        with self.conn() as c:
            c.send(bh.get("/plaintext") * n)
            for i in range(n):
                self.expect(c.read_response(timeout=IO), 200, HELLO, "pipelined GET %d" % i)
        return n

    def static(self):
        name = self.rng.choice(sorted(self.files))
        data = self.files[name]
        with self.conn() as c:
            c.send(bh.get("/files/" + name))
            self.expect(c.read_response(timeout=IO), 200, data, "static " + name)
            a = self.rng.randrange(len(data))
            b = self.rng.randrange(a, len(data))
            c.send(bh.get("/files/" + name, headers=[("Range", "bytes=%d-%d" % (a, b))]))
            self.expect(c.read_response(timeout=IO), 206, data[a:b + 1], "range of " + name)
            c.send(bh.request("HEAD", "/files/" + name))
            r = c.read_response(head=True, timeout=IO)
            self.expect(r, 200, None, "HEAD " + name)
            c.send(bh.get("/files/missing-" + name))
            self.expect(c.read_response(timeout=IO), 404, None, "missing file")
        return 4

    def post_length(self):
        size = self.rng.choice((0, 1, 100, 4096, 65536, 300000))
        body = os.urandom(size)
        with self.conn() as c:
            c.send(bh.request("POST", "/plaintext", headers=[("Content-Length", str(size))],
                              body=body) + bh.get("/plaintext"))
            self.expect(c.read_response(timeout=IO), 200, HELLO, "POST by length")
            self.expect(c.read_response(timeout=IO), 200, HELLO, "GET after POST")
        return 2

    def post_chunked(self):
        chunks = [os.urandom(self.rng.choice((1, 10, 1000, 8000)))
                  for _ in range(self.rng.randint(1, 40))]
        body = b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in chunks) + b"0\r\nT: 1\r\n\r\n"
        with self.conn() as c:
            data = bh.request("POST", "/plaintext", headers=[("Transfer-Encoding", "chunked")],
                              body=body) + bh.get("/plaintext")
            if self.rng.random() < 0.3:
                c.send_slowly(data, step=max(1, len(data) // 20), pause=0.01)
            else:
                c.send(data)
            self.expect(c.read_response(timeout=IO), 200, HELLO, "chunked POST")
            self.expect(c.read_response(timeout=IO), 200, HELLO, "GET after chunked POST")
        return 2

    BAD = [
        (b"GET /plaintext HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (b"GET /plaintext HTTP/1.1\r\nX: a\nb\r\n\r\n", 400),
        (b"FOO /plaintext HTTP/1.1\r\nHost: x\r\n\r\n", 501),
        (b"GET /plaintext HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        (b"POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
        (b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"b" * 20000 + b"\r\n\r\n", 431),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
    ]

    def bad(self):
        data, status = self.rng.choice(self.BAD)
        with self.conn() as c:
            try:
                c.send(data + bh.get("/plaintext"))
            except OSError:
                pass   # the answer may come (and the socket close) before all is sent
            r = c.read_response(timeout=IO)
            self.expect(r, status, None, "bad request")
            if not r.closes():
                raise Unexpected("%d without Connection: close" % status)
            self.expect_eof(c, "after %d" % status)
        return 1

    def reset(self):
        c = self.conn()
        try:
            c.send(bh.get("/big") * self.rng.randint(1, 40))
            time.sleep(self.rng.random() * 0.05)
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            c.close()
        return 0

    def half_close(self):
        n = self.rng.randint(1, 5)
        with self.conn() as c:
            c.send(bh.get("/plaintext") * n)
            c.shutdown_write()
            for _ in range(n):
                self.expect(c.read_response(timeout=IO), 200, HELLO, "half-closed GET")
            self.expect_eof(c, "after half-close")
        return n

    def half_close_partial(self):
        with self.conn() as c:
            c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Part")
            c.shutdown_write()
            rest = c.read_until_eof(timeout=IO)
            # an incomplete request may be answered 400 before the close, or not at all
            if rest and not rest.startswith(b"HTTP/1.1 400 "):
                raise Unexpected("partial request then FIN: got %r" % rest[:100])
        return 0

    def slow_ok(self):
        data = bh.get("/plaintext", headers=[("X-Slow", "s" * 20)])
        with self.conn() as c:
            c.send_slowly(data, step=4, pause=(READ_TIMEOUT * 0.4) / (len(data) / 4))
            self.expect(c.read_response(timeout=IO), 200, HELLO, "slow but in time")
        return 1

    def slow_408(self):
        with self.conn() as c:
            c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n")
            t0 = time.monotonic()
            try:
                while time.monotonic() - t0 < READ_TIMEOUT * 3:
                    c.send(b"X")
                    if not c.is_open_after(0.5):
                        break
            except OSError:
                pass
            r = c.read_response(timeout=IO)
            self.expect(r, 408, None, "trickled past the read timeout")
        return 1

    def non_reader(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(IO)
            s.connect(self.srv.addr)
            try:
                s.sendall(bh.get("/big") * 100)
            except OSError:
                pass
            time.sleep(WRITE_TIMEOUT + 1.5)
            got, deadline = 0, time.monotonic() + IO
            while time.monotonic() < deadline:
                try:
                    d = s.recv(1 << 20)
                except ConnectionResetError:
                    break
                if not d:
                    break
                got += len(d)
            else:
                raise Unexpected("a client that did not read was never dropped")
            if got >= 100 * BIG:
                raise Unexpected("the write timeout did not fire")
        finally:
            s.close()
        return 0

    def vanish_mid_request(self):
        c = self.conn()
        try:
            if self.rng.random() < 0.5:
                c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Half: yes")
            else:
                c.send(bh.request("POST", "/plaintext", headers=[("Content-Length", "50000")],
                                  body=b"x" * 20000))
            time.sleep(0.01)
        finally:
            c.close()
        return 0

    def vanish_mid_response(self):
        c = self.conn()
        try:
            c.send(bh.get("/big") * 4 + bh.get("/files/" + self.rng.choice(sorted(self.files))))
            c.sock.recv(self.rng.randint(1, 100000))
        finally:
            c.close()
        return 0

    def churn(self):
        n = self.rng.randint(5, 30)
        for _ in range(n):
            with self.conn() as c:
                c.send(bh.get("/plaintext", headers=[("Connection", "close")]))
                self.expect(c.read_response(timeout=IO), 200, HELLO, "Connection: close")
                self.expect_eof(c, "after Connection: close")
        return n

    # name, weight
    ACTIONS = [
        ("keepalive", 20), ("pipeline", 8), ("static", 12), ("post_length", 8),
        ("post_chunked", 8), ("bad", 8), ("reset", 5), ("half_close", 5),
        ("half_close_partial", 3), ("slow_ok", 2), ("slow_408", 1), ("non_reader", 1),
        ("vanish_mid_request", 4), ("vanish_mid_response", 4), ("churn", 6),
    ]

    def pick(self):
        total = sum(w for _, w in self.ACTIONS)
        x = self.rng.uniform(0, total)
        for name, w in self.ACTIONS:
            x -= w
            if x <= 0:
                return name
        return self.ACTIONS[-1][0]


def client_thread(srv, files, seed, deadline, stats, pause):
    t = Traffic(srv, files, seed)
    while time.monotonic() < deadline and srv.alive():
        name = t.pick()
        try:
            n = getattr(t, name)()
            stats.ok(name, n)
        except (Unexpected, AssertionError, OSError) as e:
            if not srv.alive():
                return
            stats.error(name, "%s: %s" % (type(e).__name__, e))
        except Exception:  # a bug in this script: report it as such
            stats.error(name, "script: " + traceback.format_exc(limit=3))
        time.sleep(pause * (0.5 + t.rng.random()))


def linear_slope(points):
    """Least-squares slope of [(x, y)]; 0 for fewer than two points."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--brisk", default=os.environ.get("BRISK_BIN") or os.path.join(REPO, "build", "brisk"),
                    help="the brisk binary (default $BRISK_BIN or build/brisk)")
    ap.add_argument("--duration", type=parse_duration, default=1800, help="total time (30m)")
    ap.add_argument("--warmup", type=parse_duration, default=None,
                    help="warm-up excluded from the growth check (default: a sixth of the duration, "
                         "at most 5m)")
    ap.add_argument("--interval", type=parse_duration, default=10, help="sampling interval (10s)")
    ap.add_argument("--csv", default="soak.csv", help="where the samples go (soak.csv)")
    ap.add_argument("--threads", type=int, default=12, help="client threads (12)")
    ap.add_argument("--pause", type=float, default=0.005,
                    help="mean pause between one thread's actions, seconds (0.005)")
    ap.add_argument("--tolerance-kib", type=int, default=2048,
                    help="RSS growth after warm-up still accepted, KiB (2048)")
    ap.add_argument("--tolerance-pct", type=float, default=5.0,
                    help="... or this share of the warm RSS, whichever is larger (5)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    warmup = args.warmup if args.warmup is not None else min(300, args.duration // 6)

    os.environ["BRISK_BIN"] = os.path.abspath(args.brisk)
    srv = bh.Server(["--loops", "1",
                     "--read-timeout", "%ds" % READ_TIMEOUT,
                     "--write-timeout", "%ds" % WRITE_TIMEOUT,
                     "--idle-timeout", "%ds" % IDLE_TIMEOUT,
                     "--max-request-body-size", "1MiB",
                     "--log-level", "warn",
                     "--respond", "/big=" + "b" * BIG,
                     "--static", "/files/=@TMP@/files"])
    files_dir = os.path.join(srv.tmp, "files")
    os.mkdir(files_dir)
    rng = random.Random(args.seed)
    files = {}
    for name, size in (("small.txt", 700), ("page.html", 12000), ("mid.bin", 150000),
                       ("big.bin", 3 << 20)):
        data = bytes(rng.getrandbits(8) for _ in range(min(size, 4096)))
        data = (data * (size // len(data) + 1))[:size]
        with open(os.path.join(files_dir, name), "wb") as f:
            f.write(data)
        files[name] = data
    srv.start()
    pid = srv.pid
    print("brisk pid %d on %s:%d: %s for %ds (warm-up %ds), samples every %ds into %s"
          % (pid, srv.host, srv.port, args.brisk, args.duration, warmup, args.interval, args.csv),
          flush=True)

    # The open-file cache keeps a descriptor per large file: ask for every
    # file once, so that the baseline counts them.
    with srv.connect(timeout=IO) as c:
        for name in sorted(files):
            c.send(bh.get("/files/" + name))
            r = c.read_response(timeout=IO)
            if (r.status, r.body) != (200, files[name]):
                print("FAIL: /files/%s answered %d" % (name, r.status))
                srv.cleanup()
                return 1
    time.sleep(0.5)

    stats = Stats()
    t_start = time.monotonic()
    deadline = t_start + args.duration
    fds_start = proc_fds(pid)
    rss_start = proc_rss_kib(pid)
    threads = [threading.Thread(target=client_thread, daemon=True,
                                args=(srv, files, args.seed * 1000 + i, deadline, stats, args.pause))
               for i in range(args.threads)]
    for t in threads:
        t.start()

    samples = []   # (elapsed s, rss KiB, fds, cpu s, requests, errors)
    died = None
    with open(args.csv, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["elapsed_s", "rss_kib", "fds", "cpu_s", "requests", "client_errors"])
        next_at = t_start
        while True:
            now = time.monotonic()
            if not srv.alive():
                died = srv.proc.poll()
                break
            if now >= next_at:
                try:
                    row = (round(now - t_start, 1), proc_rss_kib(pid), proc_fds(pid),
                           round(proc_cpu_s(pid), 2), stats.requests, stats.total_errors())
                except OSError:
                    continue
                samples.append(row)
                out.writerow(row)
                f.flush()
                print("%7.0fs rss %6d KiB fds %4d cpu %7.1fs requests %9d errors %d" % row, flush=True)
                next_at += args.interval
            if now >= deadline:
                break
            time.sleep(min(1.0, max(0.05, next_at - now)))
        for t in threads:
            t.join(timeout=IO * 3)
        # every client is gone: once the idle/linger timers have run, brisk
        # holds only its listener(s) and what it held at the start
        settle_deadline = time.monotonic() + IDLE_TIMEOUT + READ_TIMEOUT + 5
        fds_end = None
        while srv.alive() and time.monotonic() < settle_deadline:
            fds_end = proc_fds(pid)
            if fds_end <= fds_start:
                break
            time.sleep(0.5)
        if srv.alive():
            row = (round(time.monotonic() - t_start, 1), proc_rss_kib(pid), proc_fds(pid),
                   round(proc_cpu_s(pid), 2), stats.requests, stats.total_errors())
            out.writerow(row)
        else:
            died = srv.proc.poll()

    client_cpu = sum(os.times()[:2])
    code, killed = srv.stop() if died is None else (died, False)
    crash = srv.crash_report()
    err_tail = srv.stderr()[-2000:]
    srv.cleanup()

    elapsed = (samples[-1][0] if samples else 0) or 1
    after = [(s[0], s[1]) for s in samples if s[0] >= warmup]
    rss_warm = after[0][1] if after else None
    rss_end = samples[-1][1] if samples else None
    rss_max = max((s[1] for s in samples), default=None)
    slope = linear_slope(after) * 60.0   # KiB per minute
    brisk_cpu = samples[-1][3] if samples else 0

    print()
    print("== soak summary ==")
    print("duration            %d s, %d samples" % (elapsed, len(samples)))
    print("requests answered   %d (%.0f/s)" % (stats.requests, stats.requests / elapsed))
    print("actions             " + ", ".join("%s %d" % kv for kv in sorted(stats.actions.items())))
    print("RSS start           %s KiB" % rss_start)
    print("RSS after warm-up   %s KiB (at %ds)" % (rss_warm, after[0][0] if after else -1))
    print("RSS end             %s KiB (max %s KiB)" % (rss_end, rss_max))
    print("RSS slope           %.1f KiB/min after warm-up" % slope)
    print("fds                 %d at start, max %d, %s after the traffic stopped"
          % (fds_start, max((s[2] for s in samples), default=0), fds_end))
    print("CPU                 brisk %.0f s (%.0f%% of a core), client %.0f s (%.0f%%)"
          % (brisk_cpu, 100 * brisk_cpu / elapsed, client_cpu, 100 * client_cpu / elapsed))
    print("client errors       %d %s" % (stats.total_errors(), stats.errors or ""))
    for action, example in sorted(stats.examples.items()):
        print("  e.g. %s: %s" % (action, example))

    problems = []
    if died is not None:
        problems.append("brisk exited during the soak with %s" % died)
    elif killed or code != 0:
        problems.append("brisk did not stop cleanly (exit %s, killed %s)" % (code, killed))
    if crash:
        problems.append("crash report on brisk's stderr (%s)" % crash)
    if rss_warm is not None and rss_end is not None:
        allowed = max(args.tolerance_kib, rss_warm * args.tolerance_pct / 100.0)
        if rss_end - rss_warm > allowed:
            problems.append("RSS grew by %d KiB after warm-up (allowed %d)"
                            % (rss_end - rss_warm, allowed))
    else:
        problems.append("no samples after the warm-up")
    if fds_end is None or fds_end > fds_start:
        problems.append("fds did not return to the baseline (%d at start, %s at the end)"
                        % (fds_start, fds_end))
    if stats.total_errors():
        problems.append("%d client errors" % stats.total_errors())
    if problems:
        print("FAIL: " + "; ".join(problems))
        if crash or died is not None:
            print("brisk stderr (tail):\n" + err_tail)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
