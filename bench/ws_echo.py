#!/usr/bin/python3
"""WebSocket echo against keep-alive plaintext, on the same connections
count: brisk's CPU per message and per request.

    bench/ws_echo.py [--brisk build/brisk] [--io io_uring|epoll] [-c 64] [-d 5] [--size 32]

Starts brisk (pinned to CPU 0, one loop) with plugins/websocket on /ws and a
fixed /plaintext answer, then, from this process (pinned to CPU 1), keeps
`-c` connections busy for `-d` seconds twice: each WebSocket connection
sends a masked `--size`-byte text message and reads its echo, one at a
time; each HTTP connection sends a GET /plaintext and reads the answer,
one at a time. brisk's CPU time (utime + stime from /proc) over each run,
divided by the messages or requests, is the figure; the client is the
bottleneck in both runs alike, so the ratio is what to read. Loopback
only; every run is bounded in time; brisk is stopped by its PID.
"""
import argparse
import asyncio
import os
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def masked_text(payload):
    key = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


async def ws_client(port, size, until, counts):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    await r.readuntil(b"\r\n\r\n")
    frame = masked_text(b"x" * size)
    n = 0
    while time.monotonic() < until:
        w.write(frame)
        await r.readexactly(2 + size)
        n += 1
    counts.append(n)
    w.close()


async def http_client(port, until, counts):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    req = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
    n = 0
    while time.monotonic() < until:
        w.write(req)
        head = await r.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        await r.readexactly(length)
        n += 1
    counts.append(n)
    w.close()


async def run(kind, port, conns, seconds, size):
    counts = []
    until = time.monotonic() + seconds
    if kind == "ws":
        await asyncio.gather(*(ws_client(port, size, until, counts) for _ in range(conns)))
    else:
        await asyncio.gather(*(http_client(port, until, counts) for _ in range(conns)))
    return sum(counts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--brisk", default=os.path.join(ROOT, "build", "brisk"))
    ap.add_argument("--io", default="io_uring")
    ap.add_argument("-c", type=int, default=64, help="connections")
    ap.add_argument("-d", type=float, default=5.0, help="seconds per run")
    ap.add_argument("--size", type=int, default=32, help="bytes per message (at most 125)")
    args = ap.parse_args()
    so = os.path.join(os.path.dirname(args.brisk), "plugins", "libwebsocket.so")
    port = free_port()
    cmd = ["taskset", "-c", "0", args.brisk, "--listen", "127.0.0.1:%d" % port, "--loops", "1", "--io", args.io,
           "--respond", "/plaintext=Hello, World!", "--plugin", "/ws=" + so]
    srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        os.sched_setaffinity(0, {1})
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("brisk did not start: " + " ".join(cmd))
                time.sleep(0.05)
        results = {}
        for kind in ("plaintext", "ws", "plaintext", "ws"):
            before = cpu_seconds(srv.pid)
            n = asyncio.run(run(kind, port, args.c, args.d, args.size))
            used = cpu_seconds(srv.pid) - before
            results.setdefault(kind, []).append((n, used))
            print("%-9s %8d ops  %6.2f s CPU  %6.2f us CPU/op" % (kind, n, used, 1e6 * used / max(n, 1)))
        per = {k: 1e6 * sum(u for _, u in v) / max(1, sum(n for n, _ in v)) for k, v in results.items()}
        print("ws/plaintext CPU per op: %.2f (%s, %d connections, %d-byte messages)"
              % (per["ws"] / per["plaintext"], args.io, args.c, args.size))
    finally:
        os.kill(srv.pid, signal.SIGTERM)
        srv.wait(timeout=10)


if __name__ == "__main__":
    main()
