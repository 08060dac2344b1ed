"""HTTP/1.1 conformance runner: raw sockets against any server at host:port.

A case (see cases.py) is a table row: the bytes a client sends (with pauses,
half-closes and waits for an interim answer), and the outcome RFC 9112 /
RFC 9110 call for — final statuses in order, whether the connection is then
closed or still usable, and checks of bodies and header fields.

Running a case gives an observation, summarised in one line such as
"400 closed", "100 200 open" or "- closed" (no answer): interim and final
statuses, then what the connection did after the expected answers:

  open    a GET /plaintext sent on the same connection got 200 "Hello, World!"
  open:N  it got status N (or a wrong body: "open:bad")
  closed  EOF or reset
  hung    neither an answer nor a close within the case's wait

After every case a fresh connection must still be served (GET /plaintext
gives 200 "Hello, World!"), and no answer may ever carry the marker of the
file kept outside the static root.

    python3 conformance.py 127.0.0.1:8080 [CASE_ID...]

prints each case's observation and whether it meets the expectation.
The server must answer GET /plaintext, /second and /third with fixed text
and serve the files servers.make_site() creates at /.
Standard library only; every wait is bounded.
"""

import re
import socket
import sys
import time

HELLO = b"Hello, World!"
SECOND = b"second"
THIRD = b"third"
SECRET = b"SECRET-OUTSIDE-ROOT"
ALPHABET = b"abcdefghijklmnopqrstuvwxyz"
INDEX_HTML = b"<!doctype html><title>index</title>\n"
SUB_INDEX = b"<!doctype html><title>sub</title>\n"
SUB_B = b"bee\n"

TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT$")
ENTITY_TAG = re.compile(r'^(W/)?"[\x21\x23-\x7e\x80-\xff]*"$')

IO_TIMEOUT = 5.0       # one answer must arrive within this (generous for ASan)
PROBE_TIMEOUT = 5.0


# --------------------------------------------------------------------------
# Building requests
# --------------------------------------------------------------------------

def req(method="GET", target="/plaintext", version="HTTP/1.1", host="x",
        headers=(), body=b"", eol=b"\r\n"):
    """One request as bytes. headers: (name, value) pairs of str or bytes."""
    def b(s):
        return s if isinstance(s, bytes) else s.encode("latin-1")
    lines = [b(method) + b" " + b(target) + b" " + b(version)]
    if host is not None:
        lines.append(b"Host: " + b(host))
    for k, v in headers:
        lines.append(b(k) + b": " + b(v))
    return eol.join(lines) + eol + eol + b(body)


GET_OK = req()  # the pipelined follow-up many cases send after theirs


def chunked(*pieces, trailer=b""):
    """A chunked body of the given pieces (bytes), then the last chunk."""
    out = b""
    for p in pieces:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n" + trailer + b"\r\n"


# Step markers for Case.send lists (besides bytes to send and float pauses).
SHUT = "shutdown-write"          # half-close: shutdown(SHUT_WR)
INTERIM = "read-interim"         # wait for (and record) one 1xx answer


# --------------------------------------------------------------------------
# Cases and observations
# --------------------------------------------------------------------------

class Case:
    """One row of the table.

    send:    bytes, a list of steps (bytes, float pause, SHUT, INTERIM), or a
             callable(ctx) returning either (ctx.etag(path) etc. for validators)
    status:  expected final statuses: an int, a tuple of ints, or None (no answer)
    close:   True: closed after them; False: the same connection is reused
    heads:   indexes of the final answers that answer HEAD (no body)
    body:    expected body of the first answer (bytes), or a tuple, one per answer
    headers: {name: expected} for the first answer: str exact (case-insensitive
             for names), a compiled regex (search), None (absent), True (present)
    interim: expected 1xx statuses (tuple), or None for "not checked"
    echo:    bytes the echo plugin's answer must contain (checked where the
             target has the echo plugin behind /echo/)
    check:   callable(obs) -> problem string or None
    probe:   False: send nothing after the answers, only wait for the close
    wait:    bound (seconds) for each answer and for the close
    close_header: False when a closing case need not announce it with
             `Connection: close` (the close comes later: a timeout, a half-close)
    """

    def __init__(self, id, rfc, send, status, close=False, heads=(), body=None,
                 headers=None, interim=None, echo=None, check=None, probe=True,
                 wait=IO_TIMEOUT, close_header=None, note=""):
        self.id = id
        self.rfc = rfc
        self.send = send
        if status is None:
            self.status = ()
        elif isinstance(status, int):
            self.status = (status,)
        else:
            self.status = tuple(status)
        self.close = close
        self.heads = set(heads)
        self.body = body
        self.headers = headers or {}
        self.interim = interim
        self.echo = echo
        self.check = check
        self.probe = probe
        self.wait = wait
        self.close_header = close_header
        self.note = note

    def expected_summary(self):
        parts = [str(s) for s in (self.interim or ())] + [str(s) for s in self.status]
        return "%s %s" % (" ".join(parts) or "-", "closed" if self.close else "open")

    def __repr__(self):
        return "Case(%s)" % self.id


class Resp:
    def __init__(self, version, status, headers, body, raw=b""):
        self.version = version
        self.status = status          # 0: not an HTTP/1.x status line
        self.headers = headers        # [(name, value)] as received
        self.body = body
        self.raw = raw

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def tokens(self, name):
        out = []
        for k, v in self.headers:
            if k.lower() == name.lower():
                out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def __repr__(self):
        return "<%s %d %r body=%r>" % (self.version, self.status, self.headers, self.body[:120])


class Obs:
    def __init__(self):
        self.interim = []
        self.finals = []
        self.after = "hung"
        self.error = None
        self.probe = None

    def summary(self):
        parts = [str(r.status) if r.status else "raw" for r in self.interim + self.finals]
        s = "%s %s" % (" ".join(parts) or "-", self.after)
        return s + (" !" + self.error if self.error else "")

    def __repr__(self):
        return "Obs(%s, finals=%r)" % (self.summary(), self.finals)


class Closed(Exception):
    pass


# --------------------------------------------------------------------------
# Client connection with a response reader
# --------------------------------------------------------------------------

class Conn:
    def __init__(self, addr, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False  # the server closed first: reading tells the rest

    def shut(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _fill(self, deadline):
        if self.eof:
            raise Closed()
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            raise Closed()
        self.buf += data

    def _line(self, deadline):
        for _ in range(100000):
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 1]
                return line[:-1] if line.endswith(b"\r") else line
            if len(self.buf) > 1 << 20:
                raise ValueError("response line over 1 MiB")
            self._fill(deadline)
        raise ValueError("no end of line")

    def _exact(self, n, deadline):
        while len(self.buf) < n:
            self._fill(deadline)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_response(self, head=False, timeout=IO_TIMEOUT):
        """One answer. Raises Closed (EOF before any byte), socket.timeout,
        or ValueError (malformed). A peer that speaks no HTTP/1.x status line
        gives a Resp with status 0 and everything up to EOF as its body."""
        deadline = time.monotonic() + timeout
        while len(self.buf) < 5:
            try:
                self._fill(deadline)
            except Closed:
                if not self.buf:
                    raise
                break
        if not self.buf.startswith(b"HTTP/"):
            try:
                while True:
                    self._fill(deadline)
            except (Closed, socket.timeout):
                pass
            body = bytes(self.buf)
            self.buf.clear()
            return Resp("", 0, [], body, body)
        first = self._line(deadline)
        m = re.match(rb"^HTTP/(\d\.\d) (\d{3})(?: .*)?$", first)
        if not m:
            raise ValueError("malformed status line %r" % first)
        headers = []
        raw = [first]
        for _ in range(1000):
            line = self._line(deadline)
            raw.append(line)
            if not line:
                break
            if b":" not in line:
                raise ValueError("malformed response field %r" % line)
            k, v = line.split(b":", 1)
            headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        resp = Resp("HTTP/" + m.group(1).decode(), int(m.group(2)), headers, b"",
                    b"\r\n".join(raw))
        if head or 100 <= resp.status < 200 or resp.status in (204, 304):
            return resp
        if "chunked" in resp.tokens("transfer-encoding"):
            body = bytearray()
            for _ in range(100000):
                size = int(self._line(deadline).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self._line(deadline):
                        pass
                    break
                body += self._exact(size, deadline)
                self._line(deadline)
            resp.body = bytes(body)
        elif resp.header("content-length") is not None:
            resp.body = self._exact(int(resp.header("content-length")), deadline)
        else:
            try:
                while True:
                    self._fill(deadline)
            except Closed:
                pass
            resp.body = bytes(self.buf)
            self.buf.clear()
        return resp

    def wait_close(self, timeout):
        """'closed' when EOF/reset arrives (bytes before it are kept), else 'hung'."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except Closed:
            return "closed"
        except socket.timeout:
            return "hung"


# --------------------------------------------------------------------------
# Runner
# --------------------------------------------------------------------------

class Context:
    """What a request may depend on: validators of the static files."""

    def __init__(self, addr):
        self.addr = addr
        self._meta = {}

    def _fetch(self, path):
        if path not in self._meta:
            c = Conn(self.addr)
            try:
                c.send(req("GET", path, headers=[("Connection", "close")]))
                r = c.read_response()
            finally:
                c.close()
            if r.status != 200:
                raise AssertionError("GET %s for its validators gave %d" % (path, r.status))
            self._meta[path] = r
        return self._meta[path]

    def etag(self, path):
        return self._fetch(path).header("etag")

    def last_modified(self, path):
        return self._fetch(path).header("last-modified")


class Runner:
    """Runs cases against the server at `addr` (host, port).

    caps: what the target has besides the common site: {"echo"} when /echo/
    is the echo plugin.
    """

    def __init__(self, addr, caps=()):
        self.addr = addr
        self.caps = set(caps)
        self.ctx = Context(addr)

    def run(self, case, finals=None):
        """Runs one case; reads `finals` final answers (default: as many as
        the case expects). Returns an Obs."""
        want = len(case.status) if finals is None else finals
        steps = case.send(self.ctx) if callable(case.send) else case.send
        if isinstance(steps, bytes):
            steps = [steps]
        obs = Obs()
        c = Conn(self.addr, timeout=case.wait)
        try:
            self._drive(c, case, steps, want, obs)
        finally:
            c.close()
        return obs

    def _drive(self, c, case, steps, want, obs):
        shut = False
        for step in steps:
            if isinstance(step, bytes):
                c.send(step)
            elif isinstance(step, float):
                time.sleep(step)
            elif step == SHUT:
                c.shut()
                shut = True
            elif step == INTERIM:
                try:
                    r = c.read_response(timeout=case.wait)
                except (Closed, socket.timeout, ValueError):
                    continue
                (obs.interim if 100 <= r.status < 200 else obs.finals).append(r)
            else:
                raise ValueError("unknown step %r" % (step,))
        heads = case.heads
        try:
            for _ in range(want + 10):
                if len(obs.finals) >= want:
                    break
                r = c.read_response(head=len(obs.finals) in heads, timeout=case.wait)
                (obs.interim if 100 <= r.status < 200 else obs.finals).append(r)
        except Closed:
            obs.after = "closed"
            return
        except socket.timeout:
            obs.after = "hung"
            return
        except ValueError as e:
            obs.error = str(e)
            obs.after = c.wait_close(case.wait)
            return
        if shut or not case.probe:
            obs.after = c.wait_close(case.wait)
            # Answers nobody asked for (beyond the expected count) count as finals.
            for _ in range(10):
                if not c.buf:
                    break
                try:
                    obs.finals.append(c.read_response(timeout=0.5))
                except (Closed, socket.timeout, ValueError):
                    obs.error = "unparsable bytes before the close"
                    break
            return
        # Is the connection still usable? Ask for a known answer on it.
        c.send(GET_OK)
        try:
            r = c.read_response(timeout=PROBE_TIMEOUT)
        except Closed:
            obs.after = "closed"
            return
        except socket.timeout:
            obs.after = "hung"
            return
        except ValueError as e:
            obs.after = "open:bad"
            obs.error = str(e)
            return
        obs.probe = r
        if r.status == 200 and r.body == HELLO:
            obs.after = "open"
        elif r.status == 200:
            obs.after = "open:bad"
        else:
            obs.after = "open:%d" % r.status

    def still_served(self):
        """A fresh connection gets 200 "Hello, World!" for GET /plaintext;
        returns a problem string or None."""
        try:
            c = Conn(self.addr)
        except OSError as e:
            return "fresh connection refused: %s" % e
        try:
            c.send(GET_OK)
            r = c.read_response()
        except (Closed, socket.timeout, ValueError, OSError) as e:
            return "fresh connection not served: %r" % (e,)
        finally:
            c.close()
        if r.status != 200 or r.body != HELLO:
            return "fresh connection answered %d %r" % (r.status, r.body[:80])
        return None

    # -- judging -----------------------------------------------------------

    def problems(self, case, obs):
        """Everything in `obs` that is not what `case` expects."""
        out = []
        got = tuple(r.status for r in obs.finals)
        if got != case.status:
            out.append("statuses %s, expected %s" % (got or "none", case.status or "none"))
        want_after = "closed" if case.close else "open"
        if obs.after != want_after:
            out.append("connection %s, expected %s" % (obs.after, want_after))
        if obs.error:
            out.append(obs.error)
        if case.interim is not None:
            ist = tuple(r.status for r in obs.interim)
            if ist != tuple(case.interim):
                out.append("interim answers %s, expected %s" % (ist, tuple(case.interim)))
        if obs.finals and got == case.status:
            bodies = case.body if isinstance(case.body, tuple) else (case.body,)
            for i, want in enumerate(bodies):
                if want is not None and i < len(obs.finals) and obs.finals[i].body != want:
                    out.append("answer %d body %r, expected %r" % (i, obs.finals[i].body[:120], want[:120]))
            first = obs.finals[0]
            for name, want in case.headers.items():
                have = first.header(name)
                if want is None:
                    if have is not None:
                        out.append("%s: %r, expected absent" % (name, have))
                elif want is True:
                    if have is None:
                        out.append("%s missing" % name)
                elif isinstance(want, re.Pattern):
                    if have is None or not want.search(have):
                        out.append("%s: %r, expected /%s/" % (name, have, want.pattern))
                elif have is None or have.lower() != want.lower():
                    out.append("%s: %r, expected %r" % (name, have, want))
            last = obs.finals[-1]
            if case.close and case.close_header is not False and self._is_11(case) \
                    and "close" not in last.tokens("connection"):
                out.append("closing answer without Connection: close")
            if case.echo is not None and "echo" in self.caps and case.echo not in first.body:
                out.append("echo %r lacks %r" % (first.body[:200], case.echo))
        for r in obs.finals:
            out += self.field_problems(r)
            # RFC 9110 6.6.1: an origin server with a clock MUST send Date in 2xx-4xx.
            if 200 <= r.status < 500 and r.header("date") is None:
                out.append("%d answer without Date (RFC 9110 6.6.1)" % r.status)
            if r.header("transfer-encoding") is not None and self._is_10(case):
                out.append("Transfer-Encoding in an answer to HTTP/1.0 (RFC 9112 6.1)")
        for r in obs.interim:
            if r.header("content-length") is not None or r.header("transfer-encoding") is not None:
                out.append("1xx answer with framing fields (RFC 9110 8.6, 6.4.1)")
        if case.check is not None:
            msg = case.check(obs)
            if msg:
                out.append(msg)
        return out

    @staticmethod
    def field_problems(r):
        """Syntax of the answer's fields: names are tokens (RFC 9110 5.1), dates
        are IMF-fixdate (RFC 9110 5.6.7), entity tags quoted (RFC 9110 8.8.3)."""
        out = []
        for k, v in r.headers:
            if not TOKEN.match(k):
                out.append("answer field name %r is not a token" % k)
            if k.lower() in ("date", "last-modified") and not IMF_FIXDATE.match(v):
                out.append("%s %r is not an IMF-fixdate" % (k, v))
            if k.lower() == "etag" and not ENTITY_TAG.match(v):
                out.append("ETag %r is not an entity-tag" % v)
        return out

    @staticmethod
    def _is_10(case):
        steps = case.send if isinstance(case.send, (bytes, list)) else None
        if steps is None:
            return False
        data = steps if isinstance(steps, bytes) else b"".join(s for s in steps if isinstance(s, bytes))
        line = data.lstrip(b"\r\n").split(b"\n", 1)[0]
        return line.rstrip(b"\r").endswith(b"HTTP/1.0")

    @staticmethod
    def _is_11(case):
        steps = case.send if isinstance(case.send, (bytes, list)) else None
        if steps is None:
            return False
        data = steps if isinstance(steps, bytes) else b"".join(s for s in steps if isinstance(s, bytes))
        line = data.lstrip(b"\r\n").split(b"\n", 1)[0]
        return line.rstrip(b"\r").endswith(b"HTTP/1.1")

    def leaks(self, obs):
        """The file outside the root must never be served."""
        for r in obs.interim + obs.finals + ([obs.probe] if obs.probe else []):
            if SECRET in r.body or SECRET in r.raw:
                return "the file outside the root was served: %r" % r
        return None


def main(argv):
    from cases import CASES
    if len(argv) < 2 or ":" not in argv[1]:
        print("usage: conformance.py HOST:PORT [CASE_ID...] [--echo]", file=sys.stderr)
        return 2
    host, port = argv[1].rsplit(":", 1)
    caps = {"echo"} if "--echo" in argv else set()
    only = {a for a in argv[2:] if not a.startswith("--")}
    runner = Runner((host.strip("[]"), int(port)), caps)
    failed = 0
    for case in CASES:
        if only and case.id not in only:
            continue
        obs = runner.run(case)
        probs = runner.problems(case, obs)
        for extra in (runner.leaks(obs), runner.still_served()):
            if extra:
                probs.append(extra)
        failed += bool(probs)
        print("%-4s %-34s %-22s %s" % ("ok" if not probs else "FAIL", case.id, obs.summary(),
                                       "; ".join(probs)))
    print("%d case(s) not as expected" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
