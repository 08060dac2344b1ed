"""Plugin ABI 1.1 upgrades through the real binary: plugins/websocket
(libwebsocket.so, an echo server on the C++ kit's brisk/websocket.hpp)
against a real client (Debian's python3-websockets) and raw frames: the
handshake and its refusals, masking, fragmentation, ping/pong, the close
handshake and its codes, the UTF-8 check (1007), the message size limit
(1009), bytes behind the handshake, clients that leave, the idle timeout,
and the gauge of upgraded connections."""

import asyncio
import base64
import os
import signal
import socket
import struct
import time
import unittest

from brisk_harness import HELLO, decode, get
from test_plugins import PluginTestCase, plugin_so, toml_str

import websockets

EVENT_TIMEOUT = 10.0
KEY = base64.b64encode(b"0123456789abcdef").decode()


def handshake(path="/ws", key=KEY, version="13", extra=""):
    lines = ["GET %s HTTP/1.1" % path, "Host: x", "Upgrade: websocket", "Connection: Upgrade"]
    if key is not None:
        lines.append("Sec-WebSocket-Key: " + key)
    if version is not None:
        lines.append("Sec-WebSocket-Version: " + version)
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def frame(opcode, payload, fin=True, mask=True, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | opcode
    n = len(payload)
    head = bytes([b0])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 65536:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


class RawWs:
    """A WebSocket client on a plain socket, for frames a library would not send."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def need(self, n, deadline):
        while len(self.buf) < n:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed with %r buffered" % self.buf)
            self.buf += chunk

    def read_head(self, timeout=EVENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            self.need(len(self.buf) + 1, deadline)
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        return decode(head)

    def read_frame(self, timeout=EVENT_TIMEOUT):
        deadline = time.monotonic() + timeout
        self.need(2, deadline)
        b0, b1 = self.buf[0], self.buf[1]
        assert not b1 & 0x80, "a server frame must not be masked"
        n, at = b1 & 0x7F, 2
        if n == 126:
            self.need(4, deadline)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self.need(10, deadline)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        self.need(at + n, deadline)
        payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
        return b0 & 0x0F, bool(b0 & 0x80), payload

    def read_close(self):
        opcode, _, payload = self.read_frame()
        assert opcode == 8, (opcode, payload)
        return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


class WebSocketTest(PluginTestCase):

    def setUp(self):
        self.so = self.need(plugin_so("websocket"))

    def start_ws(self, *args, config="max_message = 1048576"):
        return self.start_plugins("--metrics", "/metrics", *args, config=(
            "[plugins.ws]\nfile = %s\nconfig = { %s }\n\n"
            "[[route]]\nprefix = \"/ws\"\nplugin = \"ws\"\n" % (toml_str(self.so), config)))

    def url(self, srv):
        return "ws://127.0.0.1:%d/ws" % srv.port

    def gauge(self, srv):
        body = decode(self.get_one(srv, "/metrics").body)
        for line in body.splitlines():
            if line.startswith("brisk_upgraded_connections "):
                return int(line.split()[1])
        raise AssertionError("no brisk_upgraded_connections in:\n" + body)

    def wait_gauge(self, srv, value):
        deadline = time.monotonic() + EVENT_TIMEOUT
        while self.gauge(srv) != value and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.gauge(srv), value)

    def raw(self, srv, data=b"", path="/ws"):
        s = socket.create_connection(srv.addr, timeout=EVENT_TIMEOUT)
        self.addCleanup(s.close)
        s.sendall(handshake(path) + data)
        ws = RawWs(s)
        head = ws.read_head()
        self.assertTrue(head.startswith("HTTP/1.1 101 "), head)
        return ws

    def run_client(self, coro):
        asyncio.run(asyncio.wait_for(coro, EVENT_TIMEOUT * 3))

    def test_echo_with_a_real_client(self):
        srv = self.start_ws()

        async def client():
            async with websockets.connect(self.url(srv), max_size=None) as ws:
                await ws.send("héllo, wörld")
                self.assertEqual(await ws.recv(), "héllo, wörld")
                big = os.urandom(300000)
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                await ws.send(["frag", "men", "ted"])
                self.assertEqual(await ws.recv(), "fragmented")
                await asyncio.wait_for(await ws.ping(b"are you there"), EVENT_TIMEOUT)
                for i in range(200):
                    await ws.send("m%d" % i)
                for i in range(200):
                    self.assertEqual(await ws.recv(), "m%d" % i)
                self.assertEqual(self.gauge(srv), 1)
                await ws.close(4000, "bye")
                self.assertEqual(ws.close_code, 4000)

        self.run_client(client())
        self.wait_gauge(srv, 0)
        self.assert_still_serving(srv)

    def test_many_connections_at_once(self):
        srv = self.start_ws("--loops", "2")

        async def one(i):
            async with websockets.connect(self.url(srv)) as ws:
                for j in range(20):
                    await ws.send("%d-%d" % (i, j))
                    self.assertEqual(await ws.recv(), "%d-%d" % (i, j))

        async def all_of_them():
            await asyncio.gather(*(one(i) for i in range(40)))

        self.run_client(all_of_them())
        self.wait_gauge(srv, 0)

    def test_handshake_refusals(self):
        srv = self.start_ws()
        cases = [
            (handshake(key=None), 400),
            (handshake(key="c2hvcnQ="), 400),  # base64 of 5 bytes
            (handshake(key="!!!!!!!!!!!!!!!!!!!!!!=="), 400),
            (handshake(version=None), 400),
            (handshake(version="8"), 426),
            (get("/ws"), 400),
        ]
        for data, status in cases:
            with srv.connect() as c:
                c.send(data)
                r = c.read_response()
                self.assertEqual(r.status, status, (data, r))
                if status == 426:
                    self.assertEqual(r.header("sec-websocket-version"), "13")
        # A route that does not upgrade answers as usual, whatever the Upgrade field says.
        with srv.connect() as c:
            c.send(handshake(path="/plaintext"))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
        self.assertEqual(self.gauge(srv), 0)

    def test_the_accept_value_and_bytes_behind_the_handshake(self):
        srv = self.start_ws()
        s = socket.create_connection(srv.addr, timeout=EVENT_TIMEOUT)
        self.addCleanup(s.close)
        # The RFC 6455 1.3 example key, and a frame in the same write as the handshake.
        s.sendall(handshake(key="dGhlIHNhbXBsZSBub25jZQ==") + frame(1, b"early"))
        ws = RawWs(s)
        head = ws.read_head()
        self.assertIn("\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", head)
        self.assertIn("\r\nConnection: Upgrade", head)
        self.assertIn("\r\nUpgrade: websocket", head)
        self.assertEqual(ws.read_frame(), (1, True, b"early"))

    def test_protocol_errors_get_their_close_codes(self):
        srv = self.start_ws(config="max_message = 1000")
        cases = [
            ("unmasked", frame(1, b"x", mask=False), 1002),
            ("reserved bits", frame(1, b"x", rsv=0x40), 1002),
            ("bad utf-8", frame(1, b"\xc3\x28"), 1007),
            ("surrogate", frame(1, b"\xed\xa0\x80"), 1007),
            ("too big", frame(2, b"y" * 1001), 1009),
            ("too big in fragments", frame(2, b"y" * 600, fin=False) + frame(0, b"y" * 600), 1009),
            ("long ping", frame(9, b"p" * 126), 1002),
            ("continuation first", frame(0, b"x"), 1002),
            ("new message inside one", frame(1, b"a", fin=False) + frame(1, b"b"), 1002),
            ("unknown opcode", frame(3, b""), 1002),
            ("close code 1005", frame(8, struct.pack("!H", 1005)), 1002),
            ("close of one byte", frame(8, b"\x03"), 1002),
        ]
        for name, data, code in cases:
            with self.subTest(name):
                ws = self.raw(srv, data)
                self.assertEqual(ws.read_close(), code)
        self.wait_gauge(srv, 0)
        self.assert_still_serving(srv)

    def test_ping_close_and_a_message_of_exactly_the_limit(self):
        srv = self.start_ws(config="max_message = 1000")
        ws = self.raw(srv)
        ws.sock.sendall(frame(9, b"hi"))
        self.assertEqual(ws.read_frame(), (10, True, b"hi"))
        ws.sock.sendall(frame(2, b"z" * 1000))
        self.assertEqual(ws.read_frame(), (2, True, b"z" * 1000))
        ws.sock.sendall(frame(8, struct.pack("!H", 1000) + b"done"))
        self.assertEqual(ws.read_close(), 1000)
        ws.sock.settimeout(EVENT_TIMEOUT)
        self.assertEqual(ws.sock.recv(100), b"")  # and the server closes the connection

    def test_a_client_that_leaves_is_cancelled(self):
        srv = self.start_ws()
        ws = self.raw(srv, frame(1, b"x"))
        self.assertEqual(ws.read_frame(), (1, True, b"x"))
        self.assertEqual(self.gauge(srv), 1)
        ws.sock.close()
        self.wait_gauge(srv, 0)
        self.assert_still_serving(srv)

    def test_a_stop_closes_with_1001(self):
        srv = self.start_ws("--shutdown-timeout", "20s")
        ws = self.raw(srv, frame(1, b"before"))
        self.assertEqual(ws.read_frame(), (1, True, b"before"))
        t0 = time.monotonic()
        srv.send_signal(signal.SIGTERM)
        self.assertEqual(ws.read_close(), 1001)
        ws.sock.settimeout(EVENT_TIMEOUT)
        self.assertEqual(ws.sock.recv(100), b"")
        self.assertEqual(srv.wait_exit(EVENT_TIMEOUT), 0, srv.stderr()[-2000:])
        self.assertLess(time.monotonic() - t0, 5)

    def test_the_idle_timeout(self):
        srv = self.start_ws(config="idle_timeout = 300")
        ws = self.raw(srv)
        t0 = time.monotonic()
        ws.sock.settimeout(EVENT_TIMEOUT)
        self.assertEqual(ws.sock.recv(100), b"")
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.wait_gauge(srv, 0)


if __name__ == "__main__":
    unittest.main()
