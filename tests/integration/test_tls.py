"""HTTPS through the real binary: a ",tls" listener next to the harness's
plain one, with certificates made here by the openssl command. curl, Python's
ssl and `openssl s_client` as clients: requests and keep-alive, pipelining,
request bodies, static files and ranges (files are encrypted from pooled
reads, not sendfile), SNI with a wildcard and a default certificate, ALPN,
the protocol floor (TLS 1.0/1.1 refused), plain HTTP sent to the TLS port
(400), garbage and truncated handshakes, a handshake that stalls (closed at
--tls-handshake-timeout), a client that leaves mid-record, and the
configuration errors (a missing file, a key that does not match, an expired
certificate, a TLS listener without a certificate, unpaired flags), each one
line naming the file, at start-up and in --check-config."""

import hashlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from brisk_harness import HELLO, IO_TIMEOUT, BriskTestCase, Conn, curl, free_port, get, run_brisk
from test_reload import wait_for

EVENT_TIMEOUT = 10.0


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace")))


def make_cert(d, name, cn, sans, days=30):
    """A self-signed ECDSA P-256 certificate and its key: (cert, key) paths."""
    cert, key = os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", cert, "-days", str(days), "-subj", "/CN=" + cn,
            "-addext", "subjectAltName=" + ",".join("DNS:" + s for s in sans), cwd=d)
    return cert, key


def make_expired_cert(d):
    """A certificate whose validity ended in 2020, signed by a throw-away CA (openssl ca sets the dates)."""
    ca_cert, ca_key = make_cert(d, "ca", "brisk test CA", ["ca.test"])
    key = os.path.join(d, "expired.key")
    csr = os.path.join(d, "expired.csr")
    cert = os.path.join(d, "expired.crt")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=expired.test", cwd=d)
    db = os.path.join(d, "ca-db")
    os.makedirs(db, exist_ok=True)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "serial"), "w") as f:
        f.write("1000\n")
    conf = os.path.join(d, "ca.cnf")
    with open(conf, "w") as f:
        f.write("[ca]\ndefault_ca = test\n[test]\ndir = %s\ndatabase = $dir/index.txt\nserial = $dir/serial\n"
                "new_certs_dir = $dir\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n" % db)
    openssl("ca", "-batch", "-config", conf, "-cert", ca_cert, "-keyfile", ca_key, "-in", csr, "-out", cert,
            "-startdate", "20200101000000Z", "-enddate", "20200201000000Z", "-notext", cwd=d)
    return cert, key


class TlsCase(BriskTestCase):
    """A server with a plain listener (the harness's) and a TLS one on self.tls_port."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="brisk-tls-")
        cls.cert, cls.key = make_cert(cls.dir, "main", "localhost", ["localhost", "*.example.test"])
        cls.other_cert, cls.other_key = make_cert(cls.dir, "other", "other.test", ["other.test"])
        cls.www = os.path.join(cls.dir, "www")
        os.makedirs(cls.www)
        with open(os.path.join(cls.www, "big.bin"), "wb") as f:
            f.write(os.urandom(3 << 20))
        with open(os.path.join(cls.www, "small.txt"), "w") as f:
            f.write("small file\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, True)

    def start_tls(self, *args, certs=None):
        self.tls_port = free_port()
        flags = []
        for cert, key in certs or [(self.cert, self.key)]:
            flags += ["--tls-cert", cert, "--tls-key", key]
        return self.start("--listen", "127.0.0.1:%d,tls" % self.tls_port, *flags, *args)

    def client_context(self, cafile=None):
        ctx = ssl.create_default_context(cafile=cafile or self.cert)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        return ctx

    def tls_connect(self, server_hostname="localhost", cafile=None, timeout=IO_TIMEOUT):
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=timeout)
        return Conn(self.client_context(cafile).wrap_socket(raw, server_hostname=server_hostname))

    def url(self, path):
        return "https://localhost:%d%s" % (self.tls_port, path)

    def curl_tls(self, *args):
        return curl("--cacert", self.cert, "--resolve", "localhost:%d:127.0.0.1" % self.tls_port, *args)


class HttpsTest(TlsCase):

    def test_curl_gets_answers_over_one_connection(self):
        self.start_tls()
        p = self.curl_tls("-w", " %{http_code} %{num_connects} %{http_version}\n", self.url("/plaintext"),
                          self.url("/plaintext"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, HELLO + b" 200 1 1.1\n" + HELLO + b" 200 0 1.1\n")

    def test_alpn_protocol_and_cipher(self):
        self.start_tls()
        with self.tls_connect() as c:
            self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
            self.assertIn(c.sock.version(), ("TLSv1.2", "TLSv1.3"))
            self.assertRegex(c.sock.cipher()[0], "GCM|CHACHA20")
            c.send(get("/plaintext"))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))

    def test_pipelined_requests_and_a_request_body(self):
        srv = self.start_tls()
        body = os.urandom(200000)
        with self.tls_connect() as c:
            c.send(get("/plaintext") * 3)
            for _ in range(3):
                self.assertEqual(c.read_response().body, HELLO)
            # A body of many records, read through the session (the fixed answer ignores it); the next request parses.
            c.send(b"POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, HELLO))
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().body, HELLO)
        self.assert_still_serving(srv)

    def test_static_files_and_ranges_are_encrypted_whole(self):
        self.start_tls("--root", self.www)
        out = os.path.join(self.dir, "got.bin")
        p = self.curl_tls("-sS", "-o", out, self.url("/big.bin"))
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(out, "rb") as a, open(os.path.join(self.www, "big.bin"), "rb") as b:
            self.assertEqual(hashlib.sha256(a.read()).digest(), hashlib.sha256(b.read()).digest())
        p = self.curl_tls("-sS", "-r", "1000-1999", self.url("/big.bin"))
        with open(os.path.join(self.www, "big.bin"), "rb") as b:
            self.assertEqual(p.stdout, b.read()[1000:2000])
        p = self.curl_tls("-sS", self.url("/small.txt"))
        self.assertEqual(p.stdout, b"small file\n")

    def test_the_static_file_path_is_logged_once_at_start(self):
        srv = self.start_tls("--root", self.www)
        with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
            ktls = "tls" in f.read().split()
        self.assertEqual(self.curl_tls("-sS", self.url("/small.txt")).stdout, b"small file\n")
        srv.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reloaded: generation 1 serves" in srv.stderr()), srv.stderr())
        self.assertEqual(self.curl_tls("-sS", self.url("/small.txt")).stdout, b"small file\n")
        text = srv.stderr()
        lines = [line for line in text.splitlines() if "static files over TLS are read a record" in line]
        self.assertEqual(len(lines), 1, text)  # once, not again on the reload
        self.assertIn("the kernel offers kTLS" if ktls else "no kTLS in this kernel", lines[0])

    def test_ktls_sendfile_where_the_kernel_offers_it(self):
        with open("/proc/sys/net/ipv4/tcp_available_ulp") as f:
            ulps = f.read().split()
        if "tls" not in ulps:
            self.skipTest("this kernel has no tls ULP (tcp_available_ulp: %s): kTLS cannot be tried here"
                          % " ".join(ulps))
        self.skipTest("brisk keeps TLS in user space (memory BIOs): no kTLS path to test yet")

    def test_sni_picks_the_certificate_by_name(self):
        self.start_tls(certs=[(self.cert, self.key), (self.other_cert, self.other_key)])
        # Each name's certificate verifies against its own file: the server sent that one.
        for name, cafile in (("other.test", self.other_cert), ("a.example.test", self.cert),
                             ("localhost", self.cert)):
            with self.tls_connect(server_hostname=name, cafile=cafile) as c:
                c.send(get("/plaintext"))
                self.assertEqual(c.read_response().body, HELLO, name)
        # A name no certificate has gets the first one (the default), which then fails the name check.
        ctx = self.client_context()
        ctx.check_hostname = False
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=IO_TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname="nothing.invalid") as s:
            der = s.getpeercert(binary_form=True)
        with open(self.cert) as f:
            self.assertEqual(ssl.DER_cert_to_PEM_cert(der).strip(), f.read().strip())

    def test_a_plugin_cannot_hijack_a_tls_connection(self):
        from test_plugins import fixture_so
        so = fixture_so("hijack")
        self.assertTrue(os.path.isfile(so), so)
        srv = self.start_tls("--plugin", "/hj=" + so)
        with self.tls_connect() as c:
            c.send(get("/hj"))
            self.assertEqual(c.read_response().status, 500)  # hijack() refused: the fixture fails the request
        with srv.connect() as c:  # the plain listener's connections can be taken
            c.send(get("/hj"))
            deadline = time.monotonic() + EVENT_TIMEOUT
            while b"TAKEN" not in c.buf and c._fill(deadline):
                pass
            self.assertIn(b"TAKEN ahead=", bytes(c.buf))
            c.send(b"bye\n")
            c.read_until_eof(timeout=EVENT_TIMEOUT)
        self.assert_still_serving(srv)

    def test_a_plugin_sees_the_connections_tls(self):
        from test_plugins import plugin_so
        so = plugin_so("echo")
        self.assertTrue(os.path.isfile(so), so)
        srv = self.start_tls("--plugin", "/echo/=" + so)
        # Python's ssl: TLS 1.3 (the default), SNI a name of the certificate, ALPN offered.
        with self.tls_connect(server_hostname="a.example.test") as c:
            c.send(get("/echo/x"))
            r = c.read_response()
            self.assertEqual((r.status, r.header("x-echo-scheme")), (200, "https"))
            self.assertEqual(r.header("x-echo-tls"),
                             "%s %s http/1.1 a.example.test" % (c.sock.version(), c.sock.cipher()[0]))
        # curl over TLS 1.2 without ALPN, to an address (no SNI): the 1.2 cipher's OpenSSL name, "-" for the rest.
        p = self.curl_tls("-sS", "-D", "-", "-o", os.devnull, "--tls-max", "1.2", "--no-alpn", "--cacert", self.cert,
                          "-k", "https://127.0.0.1:%d/echo/y" % self.tls_port)
        self.assertEqual(p.returncode, 0, p.stderr)
        tls_line = [line for line in p.stdout.decode().splitlines() if line.lower().startswith("x-echo-tls:")]
        self.assertEqual(len(tls_line), 1, p.stdout)
        self.assertRegex(tls_line[0].split(":", 1)[1].strip(), r"^TLSv1\.2 ECDHE-(ECDSA|RSA)-\S+-GCM-\S+ - -$")
        # The plain listener: scheme http, no TLS line.
        with srv.connect() as c:
            c.send(get("/echo/z"))
            r = c.read_response()
            self.assertEqual((r.header("x-echo-scheme"), r.header("x-echo-tls")), ("http", None))

    def test_old_protocols_are_refused(self):
        srv = self.start_tls()
        for flag in ("-tls1", "-tls1_1"):
            p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port, flag,
                                "-cipher", "DEFAULT@SECLEVEL=0"], input=b"", capture_output=True, timeout=20)
            self.assertNotEqual(p.returncode, 0, flag)
            self.assertRegex(p.stdout + p.stderr, rb"alert protocol version|no protocols available", flag)
        self.assert_still_serving(srv)
        # TLS 1.3 only, by setting.
        srv.stop()
        self.start_tls("--tls-min-version", "1.3")
        ctx = self.client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=IO_TIMEOUT)
        with self.assertRaises(ssl.SSLError):
            ctx.wrap_socket(raw, server_hostname="localhost")
        raw.close()
        with self.tls_connect() as c:
            self.assertEqual(c.sock.version(), "TLSv1.3")


class TlsObservedTest(TlsCase):

    def metric(self, srv, line_start):
        with srv.connect() as c:
            c.send(get("/metrics"))
            body = c.read_response().body.decode()
        for line in body.splitlines():
            if line.startswith(line_start + " "):
                return int(line.split()[-1])
        raise AssertionError("no %s in:\n%s" % (line_start, body))

    def test_sessions_resume_and_metrics_and_the_access_log_tell(self):
        log = os.path.join(self.dir, "access-%d.log" % os.getpid())
        srv = self.start_tls("--metrics", "/metrics", "--access-log", log, "--access-log-format",
                             "$scheme|$ssl_protocol|$ssl_cipher|$ssl_server_name|$status")
        ctx = self.client_context()
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=IO_TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            c = Conn(s)
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().body, HELLO)  # the ticket came with it
            session = s.session
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=IO_TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            self.assertTrue(s.session_reused)
            c = Conn(s)
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().body, HELLO)
        with self.raw_plain() as c:  # plain HTTP on the TLS port
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().status, 400)
        self.assertGreaterEqual(self.metric(srv, "brisk_tls_handshakes_total"), 2)
        self.assertGreaterEqual(self.metric(srv, "brisk_tls_resumed_handshakes_total"), 1)
        self.assertEqual(self.metric(srv, 'brisk_tls_handshake_failures_total{reason="not_tls"}'), 1)
        deadline = time.monotonic() + EVENT_TIMEOUT
        lines = []
        while time.monotonic() < deadline:
            with open(log) as f:
                lines = [l for l in f.read().splitlines() if l.startswith("https|")]
            if len(lines) >= 2:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(len(lines), 2, lines)
        scheme, protocol, cipher, name, status = lines[0].split("|")
        self.assertEqual((scheme, protocol, name, status), ("https", "TLSv1.3", "localhost", "200"))
        self.assertRegex(cipher, "^TLS_")

    def raw_plain(self):
        return Conn(socket.create_connection(("127.0.0.1", self.tls_port), timeout=EVENT_TIMEOUT))

    def handshake(self, port, session=None):
        """One request over a new connection to `port`: (whether the session resumed, the session to resume)."""
        if not hasattr(self, "resuming_context"):
            self.resuming_context = self.client_context()  # a session resumes only in the context that made it
        raw = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        with self.resuming_context.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            c = Conn(s)
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().body, HELLO)  # the ticket comes before the answer
            return s.session_reused, s.session

    def test_every_worker_process_resumes_a_session_another_issued(self):
        # Connections spread over the workers' sockets by their source port:
        # with 2 workers, 16 resumptions all on one worker happen once in 30,000 runs.
        self.start_tls("--processes", "2")
        _, session = self.handshake(self.tls_port)
        for _ in range(16):
            reused, _ = self.handshake(self.tls_port, session)
            self.assertTrue(reused)

    def test_hosts_with_the_same_ticket_key_file_resume_each_other(self):
        shared = os.path.join(self.dir, "tickets-%d.key" % os.getpid())
        other = shared + ".other"
        for path in (shared, other):
            with open(path, "wb") as f:
                f.write(os.urandom(80))
        ports = []
        for key_file in (shared, shared, other, None):
            self.start_tls(*(["--tls-ticket-key-file", key_file] if key_file else []))
            ports.append(self.tls_port)
        _, session = self.handshake(ports[0])
        self.assertEqual(self.handshake(ports[1], session)[0], True)   # the same file
        self.assertEqual(self.handshake(ports[2], session)[0], False)  # another file: a full handshake
        self.assertEqual(self.handshake(ports[3], session)[0], False)  # a secret of its own
        self.assertEqual(self.handshake(ports[0], session)[0], True)


class HstsAndRedirectTest(TlsCase):
    """--hsts-max-age on answers over TLS only; a ",redirect" listener sends every request to https."""

    def redirect_conn(self):
        return Conn(socket.create_connection(("127.0.0.1", self.redirect_port), timeout=IO_TIMEOUT))

    def start_redirecting(self, *args):
        self.redirect_port = free_port()
        return self.start_tls("--listen", "127.0.0.1:%d,redirect" % self.redirect_port, "--root", self.www, *args)

    def test_hsts_goes_on_every_answer_over_tls_and_never_on_plain_ones(self):
        srv = self.start_tls("--root", self.www, "--hsts-max-age", "63072000", "--hsts-include-subdomains")
        hsts = "max-age=63072000; includeSubDomains"
        with self.tls_connect() as c:
            for request in (get("/small.txt"), get("/missing"), b"HEAD /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"):
                c.send(request)
                r = c.read_response(head=request.startswith(b"HEAD"))
                self.assertEqual(r.header_all("strict-transport-security"), [hsts], (request, r))
            c.send(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")  # refused: still over TLS
            r = c.read_response()
            self.assertEqual((r.status, r.header("strict-transport-security")), (400, hsts))
        p = self.curl_tls("-sS", "-D", "-", "-o", os.devnull, self.url("/small.txt"))
        self.assertIn(b"strict-transport-security: " + hsts.lower().encode(), p.stdout.lower())
        with srv.connect() as c:  # RFC 6797 7.2: not over plain HTTP
            c.send(get("/small.txt"))
            r = c.read_response()
            self.assertEqual((r.status, r.header("strict-transport-security")), (200, None))

    def test_every_request_is_redirected_to_the_tls_port(self):
        srv = self.start_redirecting()
        cases = [
            (get("/small.txt?a=1", host="localhost:%d" % self.redirect_port),
             "https://localhost:%d/small.txt?a=1" % self.tls_port),
            (get("/x", host="[::1]:8080"), "https://[::1]:%d/x" % self.tls_port),
            (b"GET http://example.test:81/p/q?z HTTP/1.1\r\nHost: example.test:81\r\n\r\n",
             "https://example.test:%d/p/q?z" % self.tls_port),
            (b"POST /form HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello",
             "https://example.test:%d/form" % self.tls_port),
        ]
        with self.redirect_conn() as c:  # one keep-alive connection for all of them
            for request, location in cases:
                c.send(request)
                r = c.read_response()
                self.assertEqual((r.status, r.header("location")), (308, location), request)
                self.assertEqual(r.body, ("Moved to %s\n" % location).encode())
                self.assertIsNone(r.header("strict-transport-security"))
        # HTTP/1.0 without a Host names nothing to redirect to.
        with self.redirect_conn() as c:
            c.send(b"GET / HTTP/1.0\r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (400, b"Bad Request: no Host to redirect to\n"))
        # A real client follows it to the TLS listener and gets the file.
        p = self.curl_tls("-sS", "-L", "--resolve", "localhost:%d:127.0.0.1" % self.redirect_port,
                          "http://localhost:%d/small.txt" % self.redirect_port)
        self.assertEqual((p.returncode, p.stdout), (0, b"small file\n"), p.stderr)
        # The other plain listener serves as before.
        with srv.connect() as c:
            c.send(get("/small.txt"))
            self.assertEqual(c.read_response().body, b"small file\n")

    def test_without_a_tls_listener_the_redirect_names_port_443(self):
        self.redirect_port = free_port()
        srv = self.start("--listen", "127.0.0.1:%d,redirect" % self.redirect_port)
        with self.redirect_conn() as c:
            c.send(get("/a", host="example.test:%d" % self.redirect_port))
            r = c.read_response()
            self.assertEqual((r.status, r.header("location")), (308, "https://example.test/a"))
        self.assert_still_serving(srv)

    def test_bad_options_are_refused(self):
        port = free_port()
        for args, message in (
                (["--listen", "127.0.0.1:%d,redirect,tls" % port], '"redirect" (to https) is for a plain listener'),
                (["--hsts-preload"], "need --hsts-max-age"),
                (["--hsts-max-age", "600", "--hsts-include-subdomains", "--hsts-preload"], "the preload list's terms")):
            p = run_brisk(args + ["--respond", "/=x"], timeout=20)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(message, p.stderr.decode())


class TlsReloadTest(TlsCase):

    def served_cert(self):
        ctx = self.client_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=IO_TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return ssl.DER_cert_to_PEM_cert(s.getpeercert(binary_form=True)).strip()

    def test_sighup_loads_renewed_files_and_keeps_the_old_on_a_broken_one(self):
        d = tempfile.mkdtemp(dir=self.dir)
        live_cert, live_key = os.path.join(d, "live.crt"), os.path.join(d, "live.key")
        shutil.copy(self.cert, live_cert)
        shutil.copy(self.key, live_key)
        srv = self.start_tls(certs=[(live_cert, live_key)])
        with open(self.cert) as f:
            self.assertEqual(self.served_cert(), f.read().strip())
        # Renewed in place (the other pair's files), then SIGHUP: new handshakes get the new certificate.
        with self.tls_connect() as kept:
            shutil.copy(self.other_cert, live_cert)
            shutil.copy(self.other_key, live_key)
            srv.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: "reloaded: generation 1 serves" in srv.stderr()), srv.stderr())
            with open(self.other_cert) as f:
                self.assertEqual(self.served_cert(), f.read().strip())
            # A connection of the old generation goes on.
            kept.send(get("/plaintext"))
            self.assertEqual(kept.read_response().body, HELLO)
        # A broken certificate: the reload fails, one line names the file, the running one stays.
        with open(live_cert, "w") as f:
            f.write("not a certificate\n")
        srv.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload failed" in srv.stderr()), srv.stderr())
        self.assertIn(live_cert + ": cannot load the certificate", srv.stderr())
        with open(self.other_cert) as f:
            self.assertEqual(self.served_cert(), f.read().strip())


class HostileTlsTest(TlsCase):

    def raw(self):
        s = socket.create_connection(("127.0.0.1", self.tls_port), timeout=EVENT_TIMEOUT)
        return Conn(s)

    def test_plain_http_to_the_tls_port_gets_400(self):
        srv = self.start_tls()
        with self.raw() as c:
            c.send(get("/plaintext"))
            r = c.read_response()
            self.assertEqual(r.status, 400)
            self.assertIn(b"HTTPS", r.body)
            self.assertEqual(c.read_until_eof(), b"")
        p = curl("-sS", "http://127.0.0.1:%d/plaintext" % self.tls_port)
        self.assertIn(b"This port speaks HTTPS", p.stdout)
        self.assert_still_serving(srv)

    def test_garbage_and_a_truncated_hello_are_closed(self):
        srv = self.start_tls()
        with self.raw() as c:
            c.send(b"\x00\x01\x02\x03" * 64)
            got = c.read_until_eof(timeout=EVENT_TIMEOUT)
            # An alert record at most, never an HTTP answer.
            self.assertFalse(got.startswith(b"HTTP/"), got)
        with self.raw() as c:
            # A ClientHello record header that promises 512 bytes, and 5 of them; then the client leaves.
            c.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03")
            c.shutdown_write()
            c.read_until_eof(timeout=EVENT_TIMEOUT)
        self.assert_still_serving(srv)

    def test_a_huge_record_gets_a_record_overflow_alert(self):
        srv = self.start_tls()
        with self.raw() as c:
            # A handshake record of 65535 bytes: more than TLS allows (RFC 8446, 5.1: 2^14).
            try:
                c.send(b"\x16\x03\x01\xff\xff" + b"\x01" * 65535)
            except OSError:
                pass  # the server may close before it took everything
            got = c.read_until_eof(timeout=EVENT_TIMEOUT)
            # A fatal alert (content type 21): record_overflow (22), or decode_error (50) on a reading that stops early.
            self.assertEqual(got[:1], b"\x15", got[:16])
            self.assertIn(got[6:7], (b"\x16", b"\x32"), got[:16])
        self.assert_still_serving(srv)
        with self.tls_connect() as c:  # and TLS still works
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().body, HELLO)

    def test_a_renegotiation_attempt_is_refused_and_the_server_stays_up(self):
        srv = self.start_tls()
        # openssl s_client over TLS 1.2: "R" on its input asks for a renegotiation once the session is up
        # (its input stays open a moment, or it leaves first).
        client = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port, "-tls1_2",
                                   "-servername", "localhost"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            client.stdin.write(b"R\n")
            client.stdin.flush()
            time.sleep(1)
            out, _ = client.communicate(timeout=20)
        finally:
            if client.poll() is None:
                client.kill()
                client.wait()
        out = out.decode(errors="replace")
        self.assertIn("RENEGOTIATING", out)
        # brisk refuses it: the client sees OpenSSL's "no renegotiation" (the server's alert), never a new handshake.
        self.assertIn("no renegotiation", out)
        self.assert_still_serving(srv)
        with self.tls_connect() as c:
            c.send(get("/plaintext"))
            self.assertEqual(c.read_response().body, HELLO)

    def test_connections_refused_at_accept_are_closed(self):
        # Over --concurrency (the harness's probe is gone by now): the TLS port closes what it cannot take.
        srv = self.start_tls("--concurrency", "1", "--loops", "1")
        with self.tls_connect() as first:
            first.send(get("/plaintext"))
            self.assertEqual(first.read_response().body, HELLO)
            with self.raw() as c:
                self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), b"")
            first.send(get("/plaintext"))
            self.assertEqual(first.read_response().body, HELLO)
        self.assertTrue(srv.alive(), srv.stderr()[-2000:])
        with self.tls_connect() as again:
            again.send(get("/plaintext"))
            self.assertEqual(again.read_response().body, HELLO)

    def test_a_stalled_handshake_is_closed_at_the_timeout(self):
        srv = self.start_tls("--tls-handshake-timeout", "1s")
        with self.raw() as c:
            c.send(b"\x16\x03\x01\x02\x00\x01")  # half a record header's promise
            t0 = time.monotonic()
            self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), b"")
            waited = time.monotonic() - t0
        self.assertGreaterEqual(waited, 0.9)
        self.assertLess(waited, 5.0)
        # A client that completes the handshake but never sends a request is closed too.
        with self.tls_connect() as c:
            t0 = time.monotonic()
            self.assertEqual(c.read_until_eof(timeout=EVENT_TIMEOUT), b"")
            self.assertLess(time.monotonic() - t0, 5.0)
        self.assert_still_serving(srv)

    def test_a_client_that_leaves_mid_record(self):
        srv = self.start_tls()
        c = self.tls_connect()
        c.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n")  # the request's head is not complete
        # Half of a new record, written past the client's TLS layer, then the socket goes without close_notify.
        os.write(c.sock.fileno(), b"\x17\x03\x03\x01\x00" + b"\xab" * 40)
        c.close()
        self.assert_still_serving(srv)
        with self.tls_connect() as again:
            again.send(get("/plaintext"))
            self.assertEqual(again.read_response().body, HELLO)


class TestsslTest(TlsCase):
    """Debian's testssl.sh against the listener: protocols (-p) and vulnerabilities (-U)."""

    def test_no_obsolete_protocol_and_no_vulnerability(self):
        testssl = shutil.which("testssl") or shutil.which("testssl.sh")
        self.assertIsNotNone(testssl, "testssl.sh is not installed (scripts/deps.sh installs it)")
        self.start_tls()
        p = subprocess.run([testssl, "--quiet", "--color", "0", "--warnings", "batch", "--connect-timeout", "5",
                            "--openssl-timeout", "5", "-p", "-U", "127.0.0.1:%d" % self.tls_port],
                           capture_output=True, timeout=300)
        out = p.stdout.decode(errors="replace")
        for proto in ("SSLv2", "SSLv3", "TLS 1 ", "TLS 1.1"):
            line = next((l for l in out.splitlines() if l.strip().startswith(proto.strip() + " ")
                         and (proto != "TLS 1 " or l.strip().startswith("TLS 1 "))), "")
            self.assertIn("not offered", line, "%s:\n%s" % (proto, out))
        self.assertRegex(out, r"TLS 1\.2 +offered")
        self.assertRegex(out, r"TLS 1\.3 +offered")
        bad = [l for l in out.splitlines() if "VULNERABLE" in l or "NOT ok" in l]
        self.assertEqual(bad, [], out)
        self.assertIn("Heartbleed", out)  # the vulnerability checks ran


class TlsConfigTest(TlsCase):

    def refused(self, *args):
        port = free_port()
        p = run_brisk(["--listen", "127.0.0.1:%d,tls" % port, "--respond", "/=x"] + list(args), timeout=20)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = [l for l in p.stderr.decode().splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, p.stderr)
        check = run_brisk(["--check-config", "--listen", "127.0.0.1:%d,tls" % port, "--respond", "/=x"] + list(args),
                          timeout=20)
        self.assertEqual(check.returncode, 1, check.stderr)
        self.assertIn(lines[0].split("brisk: ", 1)[-1], check.stderr.decode())
        return lines[0]

    def test_a_missing_file_is_named(self):
        missing = os.path.join(self.dir, "missing.crt")
        self.assertIn(missing + ": cannot load the certificate", self.refused("--tls-cert", missing, "--tls-key",
                                                                              self.key))

    def test_a_key_of_another_certificate_is_named(self):
        line = self.refused("--tls-cert", self.cert, "--tls-key", self.other_key)
        self.assertIn(self.other_key + ": the key does not match the certificate " + self.cert, line)

    def test_an_expired_certificate_is_named(self):
        cert, key = make_expired_cert(self.dir)
        self.assertIn(cert + ": the certificate has expired", self.refused("--tls-cert", cert, "--tls-key", key))

    def test_a_tls_listener_needs_a_certificate(self):
        self.assertIn("a TLS listener (\",tls\") needs a certificate", self.refused())
        self.assertIn("--tls-cert (tls_cert) is given 1 time and --tls-key (tls_key) 0 times", self.refused("--tls-cert", self.cert))

    def test_bad_settings(self):
        self.assertIn("the oldest TLS version offered is 1.2 or 1.3",
                      self.refused("--tls-cert", self.cert, "--tls-key", self.key, "--tls-min-version", "1.1"))
        self.assertIn("tls_ciphers \"NOTHING-REAL\"",
                      self.refused("--tls-cert", self.cert, "--tls-key", self.key, "--tls-ciphers", "NOTHING-REAL"))

    def test_a_bad_ticket_key_file_is_named(self):
        short = os.path.join(self.dir, "short.key")
        with open(short, "wb") as f:
            f.write(os.urandom(31))
        line = self.refused("--tls-cert", self.cert, "--tls-key", self.key, "--tls-ticket-key-file", short)
        self.assertIn(short + ": a ticket key file holds 32 to 4096 random bytes", line)
        missing = os.path.join(self.dir, "missing.key")
        line = self.refused("--tls-cert", self.cert, "--tls-key", self.key, "--tls-ticket-key-file", missing)
        self.assertIn(missing + ": cannot read the ticket key file", line)

    def test_check_config_accepts_a_good_pair(self):
        p = run_brisk(["--check-config", "--listen", "127.0.0.1:1,tls", "--tls-cert", self.cert, "--tls-key",
                       self.key, "--respond", "/=x"], timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"configuration OK", p.stdout)


if __name__ == "__main__":
    unittest.main()
