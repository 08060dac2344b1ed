"""The conformance table: one Case per row, each naming the RFC section it
checks. Expectations are what RFC 9112 / RFC 9110 require of an origin
server and, where the RFCs leave a choice, brisk's choice (documented in
docs/CONFORMANCE.md).

Many cases send a valid GET /plaintext right behind theirs, in the same
write (`+ GET_OK`): a server that frames the first request correctly
answers the second one too (or, after an error, answers nothing more), so
framing is checked the same way on any server.
"""

import re

from conformance import (ALPHABET, GET_OK, HELLO, INDEX_HTML, INTERIM, SECOND, SHUT, SUB_B,
                         SUB_INDEX, THIRD, Case, chunked, req)

POST = "POST"
CL = "Content-Length"
TE = "Transfer-Encoding"
LONG_WAIT = 8.0   # for cases that wait for a server timeout (2 s) under sanitizers


def post(headers, body=b"", target="/plaintext", version="HTTP/1.1", host="x"):
    return req(POST, target, version=version, host=host, headers=headers, body=body)


def raw(*lines, body=b""):
    """A request from raw lines (bytes), CRLF-terminated, then an empty line."""
    return b"".join(l + b"\r\n" for l in lines) + b"\r\n" + body


def not_found(status=404):
    return dict(status=status, close=False)


def bad(status=400):
    """Refused, the connection closed, the pipelined request not answered."""
    return dict(status=status, close=True)


def check_multipart(obs):
    r = obs.finals[0] if obs.finals else None
    if r is None:
        return None
    ctype = r.header("content-type") or ""
    m = re.match(r"multipart/byteranges;\s*boundary=(\S+)", ctype)
    if not m:
        return "Content-Type %r is not multipart/byteranges" % ctype
    if r.header("content-range") is not None:
        return "Content-Range in the head of a multipart answer (RFC 9110 14.6)"
    b = m.group(1).strip('"').encode()
    parts = r.body.split(b"--" + b)
    if len(parts) != 4 or not parts[3].startswith(b"--"):
        return "want two parts and a closing delimiter: %r" % r.body[:300]
    for part, (rng, data) in zip(parts[1:3], ((b"0-1", b"ab"), (b"4-5", b"ef"))):
        head, _, content = part.partition(b"\r\n\r\n")
        if b"bytes " + rng + b"/26" not in head or not content.startswith(data + b"\r\n"):
            return "part %r wrong" % part[:200]
    return None


def no_body_304(obs):
    if obs.finals and obs.finals[0].status == 304:
        r = obs.finals[0]
        if r.body:
            return "304 with a body"
        if r.header("etag") is None:
            return "304 without the ETag a 200 would carry (RFC 9110 15.4.5)"
        if r.header("content-length") not in (None, str(len(ALPHABET))):
            return "304 with Content-Length %r, not the 200's (RFC 9110 8.6)" % r.header("content-length")
    return None


def head_matches_get(obs):
    if obs.finals:
        r = obs.finals[0]
        if r.header("content-length") != str(len(ALPHABET)):
            return "HEAD Content-Length %r, GET would send %d" % (r.header("content-length"), len(ALPHABET))
    return None


def ordered_bodies(*bodies):
    def check(obs):
        got = tuple(r.body for r in obs.finals)
        if got != bodies:
            return "answers out of order: %r" % (got,)
        return None
    return check


def http11_status_line(obs):
    for r in obs.finals:
        if r.version != "HTTP/1.1":
            return "answered with %s; a server sends its own version (RFC 9110 6.2)" % r.version
    return None


CASES = [
    # ------------------------------------------------------------------
    # Baseline
    # ------------------------------------------------------------------
    Case("get_plaintext", "RFC 9112 3", GET_OK, 200, body=HELLO,
         headers={"Content-Length": "13", "Date": True}),
    Case("head_plaintext", "RFC 9110 9.3.2", req("HEAD") + GET_OK, (200, 200), heads=(0,),
         body=(b"", HELLO), headers={"Content-Length": "13"}),
    Case("not_found", "RFC 9110 15.5.5", req("GET", "/nothing-here") + GET_OK, (404, 200)),

    # ------------------------------------------------------------------
    # Message framing: Content-Length (RFC 9112 6.2, 6.3; RFC 9110 8.6)
    # ------------------------------------------------------------------
    Case("cl_body", "RFC 9112 6.3 (6)", post([(CL, "5")], b"hello") + GET_OK, (200, 200),
         body=(HELLO, HELLO)),
    Case("cl_zero", "RFC 9112 6.3 (6)", post([(CL, "0")]) + GET_OK, (200, 200)),
    Case("cl_leading_zeros", "RFC 9110 8.6", post([(CL, "005")], b"hello") + GET_OK, (200, 200)),
    Case("cl_trailing_ows", "RFC 9110 5.5", post([(CL, "5 \t")], b"hello") + GET_OK, (200, 200)),
    Case("cl_duplicate_same", "RFC 9112 6.3 (5)", post([(CL, "5"), (CL, "5")], b"hello") + GET_OK, **bad()),
    Case("cl_duplicate_differ", "RFC 9112 6.3 (5)", post([(CL, "5"), (CL, "6")], b"hello!") + GET_OK, **bad()),
    Case("cl_list_same", "RFC 9110 8.6", post([(CL, "5, 5")], b"hello") + GET_OK, **bad()),
    Case("cl_list_differ", "RFC 9112 6.3 (5)", post([(CL, "5, 6")], b"hello!") + GET_OK, **bad()),
    Case("cl_plus_sign", "RFC 9110 8.6", post([(CL, "+5")], b"hello") + GET_OK, **bad()),
    Case("cl_negative", "RFC 9110 8.6", post([(CL, "-1")]) + GET_OK, **bad()),
    Case("cl_hex", "RFC 9110 8.6", post([(CL, "0x5")], b"hello") + GET_OK, **bad()),
    Case("cl_inner_space", "RFC 9110 8.6", post([(CL, "1 0")], b"0123456789") + GET_OK, **bad()),
    Case("cl_empty", "RFC 9112 6.3 (5)", post([(CL, "")]) + GET_OK, **bad()),
    Case("cl_overflow", "RFC 9110 8.6", post([(CL, "99999999999999999999999999")]) + GET_OK,
         **bad(413), note="overflow must not wrap to a small length"),
    Case("cl_over_limit", "RFC 9110 15.5.14", post([(CL, "5000000")]) + GET_OK, **bad(413)),
    Case("no_length_no_body", "RFC 9112 6.3 (7)", post([]) + GET_OK, (200, 200)),
    Case("cl_http10_closes", "RFC 9112 6.3, 9.3", post([(CL, "5")], b"hello", version="HTTP/1.0"), 200,
         close=True, probe=False, body=HELLO),
    Case("cl_http10_keepalive", "RFC 9112 6.3, 9.3",
         post([(CL, "5"), ("Connection", "keep-alive")], b"hello", version="HTTP/1.0") + GET_OK,
         (200, 200), headers={"Connection": "keep-alive"}),

    # ------------------------------------------------------------------
    # Message framing: Transfer-Encoding (RFC 9112 6.1, 6.3, 7)
    # ------------------------------------------------------------------
    Case("te_chunked", "RFC 9112 7.1", post([(TE, "chunked")], chunked(b"hello"), target="/echo/x") + GET_OK, (200, 200),
         echo=b"\n\nhello"),
    Case("te_chunked_many", "RFC 9112 7.1", post([(TE, "chunked")], chunked(b"hel", b"lo", b" world"), target="/echo/x") + GET_OK,
         (200, 200), echo=b"\n\nhello world"),
    Case("te_chunked_uppercase", "RFC 9112 7", post([(TE, "CHUNKED")], chunked(b"hello")) + GET_OK, (200, 200)),
    Case("te_chunked_ows", "RFC 9110 5.5", post([(TE, " \tchunked\t ")], chunked(b"hello")) + GET_OK, (200, 200)),
    Case("te_chunked_empty_list_element", "RFC 9110 5.6.1", post([(TE, ", chunked")], chunked(b"hello")) + GET_OK,
         (200, 200), note="a recipient MUST accept empty list elements"),
    Case("te_xchunked", "RFC 9112 6.1", post([(TE, "xchunked")], chunked(b"hello")) + GET_OK, **bad(501)),
    Case("te_chunked_suffix", "RFC 9112 6.1", post([(TE, "chunkedx")], chunked(b"hello")) + GET_OK, **bad(501)),
    Case("te_identity", "RFC 9112 6.1", post([(TE, "identity")], b"") + GET_OK, **bad(501)),
    Case("te_gzip_chunked", "RFC 9112 6.1", post([(TE, "gzip, chunked")], chunked(b"hello")) + GET_OK,
         **bad(501)),
    Case("te_chunked_not_last", "RFC 9112 6.3 (4)", post([(TE, "chunked, gzip")], chunked(b"hello")) + GET_OK,
         **bad()),
    Case("te_chunked_twice", "RFC 9112 6.1", post([(TE, "chunked, chunked")], chunked(b"hello")) + GET_OK,
         **bad()),
    Case("te_two_fields", "RFC 9112 6.1", post([(TE, "chunked"), (TE, "chunked")], chunked(b"hello")) + GET_OK,
         **bad()),
    Case("te_empty", "RFC 9112 6.1", post([(TE, "")], chunked(b"hello")) + GET_OK, **bad()),
    Case("te_and_cl", "RFC 9112 6.1, 6.3 (3)", post([(TE, "chunked"), (CL, "5")], chunked(b"hello")) + GET_OK,
         **bad()),
    Case("cl_and_te", "RFC 9112 6.1, 6.3 (3)", post([(CL, "5"), (TE, "chunked")], chunked(b"hello")) + GET_OK,
         **bad()),
    Case("te_http10", "RFC 9112 6.1", post([(TE, "chunked")], chunked(b"hello"), version="HTTP/1.0") + GET_OK,
         **bad()),
    Case("te_http10_with_cl", "RFC 9112 6.1",
         post([(TE, "chunked"), (CL, "5")], chunked(b"hello"), version="HTTP/1.0") + GET_OK, **bad()),
    Case("te_space_before_colon", "RFC 9112 5.1",
         raw(b"POST /plaintext HTTP/1.1", b"Host: x", b"Transfer-Encoding : chunked",
             body=chunked(b"hello")) + GET_OK, **bad()),
    Case("te_obs_fold", "RFC 9112 5.2",
         raw(b"POST /plaintext HTTP/1.1", b"Host: x", b"Transfer-Encoding:", b" chunked",
             body=chunked(b"hello")) + GET_OK, **bad()),
    Case("te_vertical_tab", "RFC 9110 5.5", post([(TE, "\x0bchunked")], chunked(b"hello")) + GET_OK, **bad()),
    Case("te_underscore_name", "RFC 9110 5.1", post([("Transfer_Encoding", "chunked")]) + GET_OK, (200, 200),
         note="another field: the request has no body"),
    Case("te_name_uppercase", "RFC 9110 5.1", post([("TRANSFER-ENCODING", "chunked")], chunked(b"hello"),
                                                      target="/echo/x") + GET_OK,
         (200, 200), echo=b"\n\nhello", note="field names are case-insensitive"),
    Case("te_name_mixed_case", "RFC 9110 5.1", post([("tRaNsFeR-eNcOdInG", "chunked")], chunked(b"hello"))
         + GET_OK, (200, 200)),
    Case("te_quoted", "RFC 9112 6.1", post([(TE, '"chunked"')], chunked(b"hello")) + GET_OK, **bad(501)),
    Case("te_nul", "RFC 9110 5.5", post([(TE, "chunked\x00")], chunked(b"hello")) + GET_OK, **bad()),
    Case("te_and_cl_name_case", "RFC 9112 6.1",
         post([("transfer-encoding", "chunked"), ("CONTENT-LENGTH", "5")], chunked(b"hello")) + GET_OK, **bad()),
    Case("cl_duplicate_name_case", "RFC 9112 6.3 (5)", post([(CL, "5"), ("content-length", "5")], b"hello")
         + GET_OK, **bad()),
    Case("cl_name_uppercase", "RFC 9110 5.1", post([("CONTENT-LENGTH", "5")], b"hello", target="/echo/x")
         + GET_OK, (200, 200), echo=b"\n\nhello"),
    Case("chunk_extension", "RFC 9112 7.1.1",
         post([(TE, "chunked")], b"5;name=value;q=\"a b\"\r\nhello\r\n0\r\n\r\n", target="/echo/x") + GET_OK, (200, 200),
         echo=b"\n\nhello"),
    Case("chunk_extension_bws", "RFC 9112 7.1.1",
         post([(TE, "chunked")], b"5 ;a=b\r\nhello\r\n0\r\n\r\n") + GET_OK, (200, 200)),
    Case("chunk_trailer", "RFC 9112 7.1.2",
         post([(TE, "chunked")], chunked(b"hello", trailer=b"X-Sum: 1\r\n")) + GET_OK, (200, 200)),
    Case("chunk_size_uppercase_hex", "RFC 9112 7.1",
         post([(TE, "chunked")], b"A\r\n0123456789\r\n0\r\n\r\n", target="/echo/x") + GET_OK, (200, 200), echo=b"\n\n0123456789"),
    Case("chunk_size_overflow", "RFC 9112 7.1",
         post([(TE, "chunked")], b"10000000000000000005\r\nhello\r\n0\r\n\r\n") + GET_OK, **bad(),
         note="a size that overflows 64 bits must not wrap"),
    Case("chunk_size_over_limit", "RFC 9110 15.5.14",
         post([(TE, "chunked")], b"10000000\r\nhello") + GET_OK, **bad(413)),
    Case("chunk_size_negative", "RFC 9112 7.1", post([(TE, "chunked")], b"-5\r\nhello\r\n0\r\n\r\n") + GET_OK,
         **bad()),
    Case("chunk_size_0x", "RFC 9112 7.1", post([(TE, "chunked")], b"0x5\r\nhello\r\n0\r\n\r\n") + GET_OK,
         **bad()),
    Case("chunk_size_missing", "RFC 9112 7.1", post([(TE, "chunked")], b"\r\nhello\r\n0\r\n\r\n") + GET_OK,
         **bad()),
    Case("chunk_data_too_long", "RFC 9112 7.1", post([(TE, "chunked")], b"3\r\nhello\r\n0\r\n\r\n") + GET_OK,
         **bad()),
    Case("chunk_bare_lf", "RFC 9112 7.1", post([(TE, "chunked")], b"5\nhello\n0\n\n") + GET_OK, **bad()),
    Case("chunk_ext_ctl", "RFC 9112 7.1.1", post([(TE, "chunked")], b"5;a\x01\r\nhello\r\n0\r\n\r\n") + GET_OK,
         **bad()),
    Case("chunk_trailer_obs_fold", "RFC 9112 7.1.2",
         post([(TE, "chunked")], b"5\r\nhello\r\n0\r\nX-A: 1\r\n b\r\n\r\n") + GET_OK, **bad()),

    # ------------------------------------------------------------------
    # Request line (RFC 9112 3, 2.2, 2.3; RFC 9110 9.1)
    # ------------------------------------------------------------------
    Case("leading_empty_line", "RFC 9112 2.2", b"\r\n" + GET_OK, 200, body=HELLO),
    Case("method_lowercase", "RFC 9110 9.1", req("get") + GET_OK, **bad(501),
         note="methods are case-sensitive: 'get' is an unknown method"),
    Case("method_unknown", "RFC 9110 9.1", req("FROB") + GET_OK, **bad(501)),
    Case("method_not_token", "RFC 9112 3.1", req("GE(T") + GET_OK, **bad()),
    Case("method_empty", "RFC 9112 3", b" /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" + GET_OK, **bad()),
    Case("request_line_double_space", "RFC 9112 3", b"GET  /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" + GET_OK,
         **bad()),
    Case("request_line_tabs", "RFC 9112 3", b"GET\t/plaintext\tHTTP/1.1\r\nHost: x\r\n\r\n" + GET_OK, **bad()),
    Case("request_line_trailing_space", "RFC 9112 3",
         b"GET /plaintext HTTP/1.1 \r\nHost: x\r\n\r\n" + GET_OK, **bad()),
    Case("request_line_bare_lf", "RFC 9112 2.2", req(eol=b"\n") + GET_OK, **bad(),
         note="a bare LF is a MAY; brisk refuses it"),
    Case("request_line_bare_cr", "RFC 9112 2.2", b"GET /plaintext HTTP/1.1\rHost: x\r\n\r\n" + GET_OK, **bad()),
    Case("connect_authority_form", "RFC 9112 3.2.3", req("CONNECT", "x:443") + GET_OK, **bad(501)),
    Case("authority_form_get", "RFC 9112 3.2.3", req("GET", "x:80") + GET_OK, **bad()),
    Case("asterisk_form_get", "RFC 9112 3.2.4", req("GET", "*") + GET_OK, **bad()),
    Case("absolute_form", "RFC 9112 3.2.2", req("GET", "http://x/plaintext") + GET_OK, (200, 200), body=HELLO),
    Case("absolute_form_other_host", "RFC 9112 3.2.2",
         req("GET", "http://a.example/echo/x", host="b.example") + GET_OK, (200, 200),
         echo=b"GET http://a.example/echo/x HTTP/1.1\n"),
    Case("absolute_form_uppercase_scheme", "RFC 9110 4.2.3", req("GET", "HTTP://x/plaintext") + GET_OK,
         (200, 200), body=HELLO),
    Case("absolute_form_no_host", "RFC 9112 3.2", req("GET", "http://x/plaintext", host=None) + GET_OK,
         **bad(), note="an HTTP/1.1 request without Host is a 400, whatever the target"),
    Case("absolute_form_userinfo", "RFC 9110 4.2.4", req("GET", "http://u:p@x/plaintext") + GET_OK, **bad()),
    Case("absolute_form_ftp", "RFC 9112 3.2.2", req("GET", "ftp://x/plaintext") + GET_OK, **bad()),
    Case("target_query", "RFC 9112 3.2.1", req("GET", "/plaintext?a=b&c") + GET_OK, (200, 200), body=HELLO),
    Case("target_fragment", "RFC 9112 3.2", req("GET", "/plaintext#frag") + GET_OK, **bad()),
    Case("target_space", "RFC 9112 3.2", req("GET", "/plain text") + GET_OK, **bad()),
    Case("target_ctl", "RFC 9112 3.2", req("GET", "/plain\x01text") + GET_OK, **bad()),
    Case("target_nul", "RFC 9112 3.2", req("GET", "/plain\x00text") + GET_OK, **bad()),
    Case("empty_lines_only_then_request", "RFC 9112 2.2", b"\r\n\r\n" + GET_OK, 200, body=HELLO),
    Case("target_8bit", "RFC 9112 3.2", req("GET", "/caf\xe9") + GET_OK, **bad()),
    Case("target_too_long", "RFC 9112 3", req("GET", "/" + "a" * 20000) + GET_OK, **bad(414)),
    Case("method_long", "RFC 9112 3", req("A" * 2000) + GET_OK, **bad(501),
         note="a method longer than any implemented: 501"),
    Case("options_asterisk", "RFC 9112 3.2.4", req("OPTIONS", "*") + GET_OK, (404, 200),
         note="well formed; no route serves '*' (docs/CONFORMANCE.md)"),
    Case("request_line_8000", "RFC 9112 3", req("GET", "/plaintext?" + "q" * 8000) + GET_OK, (200, 200),
         body=HELLO, note="request lines of at least 8000 octets SHOULD be supported"),
    Case("absolute_form_port", "RFC 9112 3.2.2", req("GET", "http://x:80/plaintext") + GET_OK, (200, 200),
         body=HELLO),
    Case("absolute_form_empty_path", "RFC 9112 3.3", req("GET", "http://x") + GET_OK, (200, 200),
         body=(INDEX_HTML, HELLO)),
    Case("absolute_form_query_only", "RFC 9112 3.3", req("GET", "http://x?a=b") + GET_OK, (200, 200),
         body=(INDEX_HTML, HELLO)),
    Case("host_duplicate_http10", "RFC 9112 3.2", req(version="HTTP/1.0", headers=[("Host", "y")]) + GET_OK,
         **bad(), note="more than one Host is a 400 in any request"),
    Case("host_invalid_http10", "RFC 9112 3.2", req(version="HTTP/1.0", host="a b") + GET_OK, **bad()),
    Case("get_with_chunked_body", "RFC 9110 9.3.1", req("GET", "/second", headers=[(TE, "chunked")],
                                                         body=chunked(b"ignored")) + GET_OK, (200, 200),
         body=(SECOND, HELLO)),
    Case("te_two_fields_differ", "RFC 9112 6.3 (4)",
         post([(TE, "chunked"), ("Transfer-encoding", "x")], chunked(b"hello")) + GET_OK, **bad()),
    Case("version_http10", "RFC 9112 2.3", req(version="HTTP/1.0", host=None), 200, close=True, body=HELLO,
         check=http11_status_line),
    Case("version_http12", "RFC 9110 2.5", req(version="HTTP/1.2") + GET_OK, (200, 200), body=HELLO),
    Case("version_http20", "RFC 9110 15.6.6", req(version="HTTP/2.0") + GET_OK, **bad(505)),
    Case("version_http30", "RFC 9110 15.6.6", req(version="HTTP/3.0") + GET_OK, **bad(505)),
    Case("version_http09", "RFC 9112 2.3", b"GET /plaintext\r\n" + GET_OK, **bad(),
         note="no HTTP/0.9: a line without a version is malformed"),
    Case("version_lowercase", "RFC 9112 2.3", req(version="http/1.1") + GET_OK, **bad()),
    Case("version_two_digits", "RFC 9112 2.3", req(version="HTTP/1.10") + GET_OK, **bad()),
    Case("version_missing_minor", "RFC 9112 2.3", req(version="HTTP/1") + GET_OK, **bad()),
    Case("version_missing", "RFC 9112 3", b"GET /plaintext \r\nHost: x\r\n\r\n" + GET_OK, **bad()),

    # ------------------------------------------------------------------
    # Field syntax (RFC 9112 5, 2.2; RFC 9110 5)
    # ------------------------------------------------------------------
    Case("field_space_before_colon", "RFC 9112 5.1",
         raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A : b") + GET_OK, **bad()),
    Case("host_space_before_colon", "RFC 9112 5.1",
         raw(b"GET /plaintext HTTP/1.1", b"Host : x") + GET_OK, **bad()),
    Case("field_obs_fold", "RFC 9112 5.2",
         raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: a", b" b") + GET_OK, **bad()),
    Case("field_obs_fold_tab", "RFC 9112 5.2",
         raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: a", b"\tb") + GET_OK, **bad()),
    Case("space_after_request_line", "RFC 9112 2.2",
         raw(b"GET /plaintext HTTP/1.1", b" X-A: a", b"Host: x") + GET_OK, **bad()),
    Case("field_bare_cr", "RFC 9112 2.2", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: a\rb") + GET_OK,
         **bad()),
    Case("field_bare_lf", "RFC 9112 2.2", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: a\nX-B: b") + GET_OK,
         **bad()),
    Case("field_nul", "RFC 9110 5.5", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: a\x00b") + GET_OK,
         **bad()),
    Case("field_ctl", "RFC 9110 5.5", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: a\x01b") + GET_OK,
         **bad()),
    Case("field_del", "RFC 9110 5.5", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: a\x7fb") + GET_OK,
         **bad()),
    Case("field_obs_text", "RFC 9110 5.5", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: caf\xe9") + GET_OK,
         (200, 200), body=HELLO),
    Case("field_empty_value", "RFC 9110 5.5", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A:") + GET_OK,
         (200, 200)),
    Case("field_empty_name", "RFC 9110 5.1", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b": b") + GET_OK,
         **bad()),
    Case("field_name_not_token", "RFC 9110 5.1",
         raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X(A): b") + GET_OK, **bad()),
    Case("field_name_8bit", "RFC 9110 5.1",
         raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-\xe9: b") + GET_OK, **bad()),
    Case("field_no_colon", "RFC 9112 5", raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A b") + GET_OK,
         **bad()),
    Case("field_underscore_name", "RFC 9110 5.1",
         raw(b"GET /echo/x HTTP/1.1", b"Host: x", b"X_A: b") + GET_OK, (200, 200),
         echo=b"X_A: b\n"),
    Case("field_value_ows_trimmed", "RFC 9112 5.1",
         raw(b"GET /echo/ows HTTP/1.1", b"Host: x", b"X-A: \t v a l \t ") + GET_OK, (200, 200),
         echo=b"X-A: v a l\n"),
    Case("field_line_too_long", "RFC 9110 15.5.20",
         raw(b"GET /plaintext HTTP/1.1", b"Host: x", b"X-A: " + b"a" * 20000) + GET_OK, **bad(431)),
    Case("field_too_many", "RFC 9110 15.5.20",
         raw(b"GET /plaintext HTTP/1.1", b"Host: x", *[b"X-%d: v" % i for i in range(120)]) + GET_OK,
         **bad(431)),

    # ------------------------------------------------------------------
    # Host (RFC 9112 3.2; RFC 9110 7.2)
    # ------------------------------------------------------------------
    Case("host_missing_http11", "RFC 9112 3.2", req(host=None) + GET_OK, **bad()),
    Case("host_missing_http10", "RFC 9112 3.2", req(host=None, version="HTTP/1.0"), 200, close=True, body=HELLO),
    Case("host_duplicate", "RFC 9112 3.2", req(headers=[("Host", "y")]) + GET_OK, **bad()),
    Case("host_duplicate_same", "RFC 9112 3.2", req(headers=[("Host", "x")]) + GET_OK, **bad()),
    Case("host_empty", "RFC 9110 7.2", req(host="") + GET_OK, (200, 200), body=HELLO),
    Case("host_with_port", "RFC 9110 7.2", req(host="x:8080") + GET_OK, (200, 200)),
    Case("host_ipv6", "RFC 9110 7.2", req(host="[::1]:80") + GET_OK, (200, 200)),
    Case("host_ipv4", "RFC 9110 7.2", req(host="127.0.0.1") + GET_OK, (200, 200)),
    Case("host_space", "RFC 9112 3.2", req(host="a b") + GET_OK, **bad()),
    Case("host_slash", "RFC 9112 3.2", req(host="a/b") + GET_OK, **bad()),
    Case("host_bad_port", "RFC 9112 3.2", req(host="x:abc") + GET_OK, **bad()),
    Case("host_userinfo", "RFC 9112 3.2", req(host="u@x") + GET_OK, **bad()),
    Case("host_unclosed_bracket", "RFC 9112 3.2", req(host="[::1") + GET_OK, **bad()),
    Case("absolute_form_bad_host_field", "RFC 9112 3.2",
         req("GET", "http://x/plaintext", host="a b") + GET_OK, **bad(),
         note="the Host field is ignored for routing, not for validity"),

    # ------------------------------------------------------------------
    # Persistence and pipelining (RFC 9112 9)
    # ------------------------------------------------------------------
    Case("keepalive_default_http11", "RFC 9112 9.3", GET_OK, 200),
    Case("connection_close", "RFC 9112 9.6", req(headers=[("Connection", "close")]) + GET_OK, 200,
         close=True, headers={"Connection": "close"}),
    Case("connection_close_uppercase", "RFC 9110 7.6.1", req(headers=[("Connection", "CLOSE")]) + GET_OK, 200,
         close=True),
    Case("connection_close_in_list", "RFC 9110 7.6.1",
         req(headers=[("Connection", "foo, close")]) + GET_OK, 200, close=True),
    Case("connection_close_second_field", "RFC 9110 5.3",
         req(headers=[("Connection", "foo"), ("Connection", "close")]) + GET_OK, 200, close=True),
    Case("http10_closes", "RFC 9112 9.3", req(version="HTTP/1.0") + GET_OK, 200, close=True, probe=False),
    Case("http10_keepalive", "RFC 9112 9.3", req(version="HTTP/1.0", headers=[("Connection", "keep-alive")]),
         200, headers={"Connection": re.compile(r"(?i)keep-alive")}),
    Case("http10_keepalive_and_close", "RFC 9112 9.3",
         req(version="HTTP/1.0", headers=[("Connection", "keep-alive, close")]), 200, close=True, probe=False),
    Case("pipeline_in_order", "RFC 9112 9.3.2",
         req("GET", "/second") + req("GET", "/a.txt") + req("GET", "/third") + GET_OK, (200, 200, 200, 200),
         check=ordered_bodies(SECOND, ALPHABET, THIRD, HELLO)),
    Case("pipeline_head_get", "RFC 9112 9.3.2", req("HEAD", "/a.txt") + req("GET", "/a.txt"), (200, 200),
         heads=(0,), body=(b"", ALPHABET)),
    Case("pipeline_post_get", "RFC 9112 9.3.2",
         post([(CL, "5")], b"hello", target="/second") + post([(TE, "chunked")], chunked(b"hi"), target="/third"),
         (200, 200), check=ordered_bodies(SECOND, THIRD)),
    Case("pipeline_many", "RFC 9112 9.3.2",
         b"".join(req("GET", "/second" if i % 2 else "/third") for i in range(100)), (200,) * 100,
         check=ordered_bodies(*[SECOND if i % 2 else THIRD for i in range(100)]),
         note="more answers than one flush holds, still in order"),
    Case("pipeline_large_bodies", "RFC 9112 9.3.2",
         post([(CL, "300000")], b"b" * 300000, target="/echo/x") + post([(TE, "chunked")],
                                                                         chunked(*[b"c" * 10] * 3000))
         + GET_OK, (200, 200, 200), echo=b"\n\n" + b"b" * 300000,
         check=lambda obs: None if len(obs.finals) < 3 or obs.finals[2].body == HELLO else "third answer wrong"),
    Case("body_at_limit", "RFC 9110 15.5.14", post([(CL, str(4 << 20))], b"z" * (4 << 20)) + GET_OK, (200, 200),
         wait=15.0, note="exactly --max-request-body-size (4 MiB) is accepted"),
    Case("body_over_limit_by_one", "RFC 9110 15.5.14", post([(CL, str((4 << 20) + 1))]) + GET_OK, **bad(413)),
    Case("pipeline_stops_at_close", "RFC 9112 9.6",
         req("GET", "/second", headers=[("Connection", "close")]) + req("GET", "/third"), 200, close=True,
         body=SECOND, probe=False),
    Case("request_in_pieces", "RFC 9112 2.1",
         [b"GE", 0.05, b"T /second HT", 0.05, b"TP/1.1\r\nHo", 0.05, b"st: x\r", 0.05, b"\n\r\n"], 200, body=SECOND),
    Case("head_end_split_crlf_crlf", "RFC 9112 2.1", [b"GET /second HTTP/1.1\r\nHost: x\r\n", 0.05, b"\r\n"],
         200, body=SECOND),
    Case("head_end_split_before_last_lf", "RFC 9112 2.1",
         [b"GET /second HTTP/1.1\r\nHost: x\r\n\r", 0.05, b"\n" + GET_OK], (200, 200), body=(SECOND, HELLO)),
    Case("cl_body_in_pieces", "RFC 9112 6.2",
         [post([(CL, "10")], target="/echo/x"), 0.05, b"01234", 0.05, b"56789" + GET_OK], (200, 200),
         echo=b"\n\n0123456789"),
    Case("expect_continue_then_pipeline", "RFC 9110 10.1.1",
         [post([(CL, "5"), ("Expect", "100-continue")], target="/second"), INTERIM, b"hello" + GET_OK], (200, 200),
         interim=(100,), body=(SECOND, HELLO)),
    Case("body_in_pieces", "RFC 9112 6",
         [post([(TE, "chunked")], target="/echo/x"), 0.05, b"5\r\nhel", 0.05, b"lo\r\n", 0.05, b"0\r\n\r\n"], 200,
         echo=b"\n\nhello"),

    # ------------------------------------------------------------------
    # Expect (RFC 9110 10.1.1)
    # ------------------------------------------------------------------
    Case("expect_continue", "RFC 9110 10.1.1",
         [post([(CL, "5"), ("Expect", "100-continue")]), INTERIM, b"hello"], 200, interim=(100,), body=HELLO),
    Case("expect_continue_chunked", "RFC 9110 10.1.1",
         [post([(TE, "chunked"), ("Expect", "100-continue")]), INTERIM, chunked(b"hello")], 200,
         interim=(100,)),
    Case("expect_continue_case", "RFC 9110 10.1.1",
         [post([(CL, "5"), ("Expect", "100-Continue")]), INTERIM, b"hello"], 200, interim=(100,)),
    Case("expect_continue_http10_ignored", "RFC 9110 10.1.1",
         [post([(CL, "5"), ("Expect", "100-continue"), ("Connection", "keep-alive")], version="HTTP/1.0"),
          0.3, b"hello"], 200, interim=()),
    Case("expect_continue_body_sent", "RFC 9110 10.1.1",
         post([(CL, "5"), ("Expect", "100-continue")], b"hello") + GET_OK, (200, 200)),
    Case("expect_continue_too_large", "RFC 9110 10.1.1",
         post([(CL, "5000000"), ("Expect", "100-continue")]), 413, close=True, interim=(),
         note="a final status instead of 100, no body read"),
    Case("expect_unknown", "RFC 9110 10.1.1", post([(CL, "5"), ("Expect", "202-accepted")], b"hello") + GET_OK,
         **bad(417)),

    # ------------------------------------------------------------------
    # Static files: methods, ranges, conditionals (RFC 9110 9.3, 13, 14)
    # ------------------------------------------------------------------
    Case("static_get", "RFC 9110 9.3.1", req("GET", "/a.txt"), 200, body=ALPHABET,
         headers={"Content-Type": re.compile(r"^text/plain"), "ETag": True, "Last-Modified": True,
                  "Content-Length": "26"}),
    Case("static_head", "RFC 9110 9.3.2", req("HEAD", "/a.txt"), 200, heads=(0,), body=b"",
         check=head_matches_get),
    Case("static_index", "RFC 9110 9.3.1", req("GET", "/"), 200, body=INDEX_HTML),
    Case("static_dir_redirect", "RFC 9110 15.4.2", req("GET", "/sub"), 301,
         headers={"Location": re.compile(r"/sub/$")}),
    Case("static_subdir_index", "RFC 9110 9.3.1", req("GET", "/sub/"), 200, body=SUB_INDEX),
    Case("static_post", "RFC 9110 15.5.6", post([(CL, "0")], target="/a.txt"), 405,
         headers={"Allow": re.compile(r"GET")}),
    Case("range_first_bytes", "RFC 9110 14.1.2", req("GET", "/a.txt", headers=[("Range", "bytes=0-4")]), 206,
         body=b"abcde", headers={"Content-Range": "bytes 0-4/26"}),
    Case("range_suffix", "RFC 9110 14.1.2", req("GET", "/a.txt", headers=[("Range", "bytes=-3")]), 206,
         body=b"xyz", headers={"Content-Range": "bytes 23-25/26"}),
    Case("range_open_ended", "RFC 9110 14.1.2", req("GET", "/a.txt", headers=[("Range", "bytes=20-")]), 206,
         body=b"uvwxyz", headers={"Content-Range": "bytes 20-25/26"}),
    Case("range_past_end_clipped", "RFC 9110 14.1.2", req("GET", "/a.txt", headers=[("Range", "bytes=24-99")]),
         206, body=b"yz", headers={"Content-Range": "bytes 24-25/26"}),
    Case("range_list_ows", "RFC 9110 14.1.1", req("GET", "/a.txt", headers=[("Range", "bytes=0-1 , 4-5")]), 206,
         check=check_multipart, note="range-set is a list: OWS around commas"),
    Case("range_unit_case", "RFC 9110 14.1", req("GET", "/a.txt", headers=[("Range", "Bytes=0-4")]), 206,
         body=b"abcde", note="range units compare case-insensitively"),
    Case("range_on_missing_file", "RFC 9110 14.2", req("GET", "/missing.txt", headers=[("Range", "bytes=0-4")]),
         404),
    Case("range_unsatisfiable", "RFC 9110 15.5.17", req("GET", "/a.txt", headers=[("Range", "bytes=30-40")]),
         416, headers={"Content-Range": "bytes */26"}),
    Case("range_multiple", "RFC 9110 14.6", req("GET", "/a.txt", headers=[("Range", "bytes=0-1,4-5")]), 206,
         check=check_multipart),
    Case("range_invalid_ignored", "RFC 9110 14.2", req("GET", "/a.txt", headers=[("Range", "bytes=5-2")]), 200,
         body=ALPHABET),
    Case("range_unknown_unit", "RFC 9110 14.2", req("GET", "/a.txt", headers=[("Range", "items=0-1")]), 200,
         body=ALPHABET),
    Case("range_on_head", "RFC 9110 14.2", req("HEAD", "/a.txt", headers=[("Range", "bytes=0-4")]), 206,
         heads=(0,), headers={"Content-Range": "bytes 0-4/26"}),
    Case("if_none_match_etag", "RFC 9110 13.1.2",
         lambda ctx: req("GET", "/a.txt", headers=[("If-None-Match", ctx.etag("/a.txt"))]), 304,
         check=no_body_304),
    Case("if_none_match_star", "RFC 9110 13.1.2", req("GET", "/a.txt", headers=[("If-None-Match", "*")]), 304),
    Case("if_none_match_other", "RFC 9110 13.1.2",
         req("GET", "/a.txt", headers=[("If-None-Match", '"nope"')]), 200, body=ALPHABET),
    Case("if_none_match_list", "RFC 9110 13.1.2",
         lambda ctx: req("GET", "/a.txt", headers=[("If-None-Match", '"nope", ' + ctx.etag("/a.txt"))]), 304),
    Case("if_modified_since_same", "RFC 9110 13.1.3",
         lambda ctx: req("GET", "/a.txt", headers=[("If-Modified-Since", ctx.last_modified("/a.txt"))]), 304),
    Case("if_modified_since_old", "RFC 9110 13.1.3",
         req("GET", "/a.txt", headers=[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")]), 200,
         body=ALPHABET),
    Case("if_modified_since_ignored_with_inm", "RFC 9110 13.1.3",
         lambda ctx: req("GET", "/a.txt", headers=[("If-None-Match", '"nope"'),
                                                   ("If-Modified-Since", ctx.last_modified("/a.txt"))]),
         200, body=ALPHABET, note="If-Modified-Since is ignored when If-None-Match is present"),
    Case("if_match_wrong", "RFC 9110 13.1.1", req("GET", "/a.txt", headers=[("If-Match", '"nope"')]), 412),
    Case("if_match_star", "RFC 9110 13.1.1", req("GET", "/a.txt", headers=[("If-Match", "*")]), 200),
    Case("if_match_etag", "RFC 9110 13.1.1",
         lambda ctx: req("GET", "/a.txt", headers=[("If-Match", ctx.etag("/a.txt"))]), 200, body=ALPHABET),
    Case("if_unmodified_since_old", "RFC 9110 13.1.4",
         req("GET", "/a.txt", headers=[("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")]), 412),
    Case("precondition_ignored_on_404", "RFC 9110 13.2.1",
         req("GET", "/missing.txt", headers=[("If-Match", '"nope"')]), 404,
         note="preconditions apply only where the answer would be 2xx or 412"),
    Case("if_match_weak_never_matches", "RFC 9110 13.1.1",
         lambda ctx: req("GET", "/a.txt", headers=[("If-Match", "W/" + ctx.etag("/a.txt"))]), 412,
         note="If-Match compares strongly"),
    Case("if_none_match_weak_matches", "RFC 9110 13.1.2",
         lambda ctx: req("GET", "/a.txt", headers=[("If-None-Match", "W/" + ctx.etag("/a.txt"))]), 304,
         note="If-None-Match compares weakly"),
    Case("if_match_then_if_none_match", "RFC 9110 13.2.2",
         req("GET", "/a.txt", headers=[("If-Match", "*"), ("If-None-Match", "*")]), 304),
    Case("if_unmodified_since_ignored_with_if_match", "RFC 9110 13.1.4",
         req("GET", "/a.txt", headers=[("If-Match", "*"),
                                       ("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")]), 200,
         body=ALPHABET),
    Case("if_modified_since_invalid_date", "RFC 9110 13.1.3",
         req("GET", "/a.txt", headers=[("If-Modified-Since", "yesterday")]), 200, body=ALPHABET),
    Case("if_range_weak_etag", "RFC 9110 13.1.5",
         lambda ctx: req("GET", "/a.txt", headers=[("Range", "bytes=0-2"),
                                                   ("If-Range", "W/" + ctx.etag("/a.txt"))]),
         200, body=ALPHABET, note="a weak validator never makes If-Range true"),
    Case("range_with_if_none_match", "RFC 9110 13.2.2",
         lambda ctx: req("GET", "/a.txt", headers=[("Range", "bytes=0-2"), ("If-None-Match", ctx.etag("/a.txt"))]),
         304, check=no_body_304),
    Case("if_range_etag_match", "RFC 9110 13.1.5",
         lambda ctx: req("GET", "/a.txt", headers=[("Range", "bytes=0-2"), ("If-Range", ctx.etag("/a.txt"))]),
         206, body=b"abc"),
    Case("if_range_etag_mismatch", "RFC 9110 13.1.5",
         req("GET", "/a.txt", headers=[("Range", "bytes=0-2"), ("If-Range", '"nope"')]), 200, body=ALPHABET),
    Case("if_range_date_match", "RFC 9110 13.1.5",
         lambda ctx: req("GET", "/a.txt", headers=[("Range", "bytes=0-2"),
                                                   ("If-Range", ctx.last_modified("/a.txt"))]),
         206, body=b"abc"),

    # ------------------------------------------------------------------
    # Path traversal in every encoding (RFC 9110 17.3; RFC 3986 5.2.4)
    # ------------------------------------------------------------------
    Case("path_dot_segments_inside", "RFC 3986 5.2.4", req("GET", "/sub/../a.txt"), 200, body=ALPHABET),
    Case("path_single_dot", "RFC 3986 5.2.4", req("GET", "/./sub/./b.txt"), 200, body=SUB_B),
    Case("path_encoded_name", "RFC 3986 2.1", req("GET", "/%61.txt"), 200, body=ALPHABET),
    Case("traversal_dotdot", "RFC 9110 17.3", req("GET", "/../secret.txt"), 404),
    Case("traversal_dotdot_deep", "RFC 9110 17.3", req("GET", "/sub/../../secret.txt"), 404),
    Case("traversal_dotdot_many", "RFC 9110 17.3", req("GET", "/" + "../" * 12 + "secret.txt"), 404),
    Case("traversal_pct_dots", "RFC 9110 17.3", req("GET", "/%2e%2e/secret.txt"), 404),
    Case("traversal_pct_dots_upper", "RFC 9110 17.3", req("GET", "/%2E%2E/secret.txt"), 404),
    Case("traversal_pct_mixed", "RFC 9110 17.3", req("GET", "/.%2e/secret.txt"), 404),
    Case("traversal_pct_slash", "RFC 9110 17.3", req("GET", "/sub%2f..%2f..%2fsecret.txt"), 404),
    Case("traversal_encoded_slash_inside", "RFC 9110 17.3", req("GET", "/sub%2fb.txt"), 404,
         note="an encoded '/' is part of a name, never a separator"),
    Case("traversal_pct_backslash", "RFC 9110 17.3", req("GET", "/..%5csecret.txt"), 404),
    Case("traversal_backslash", "RFC 9110 17.3", req("GET", "/..\\secret.txt"), 404),
    Case("traversal_double_encoding", "RFC 9110 17.3", req("GET", "/%252e%252e/secret.txt"), 404),
    Case("traversal_overlong_utf8", "RFC 9110 17.3", req("GET", "/%c0%ae%c0%ae/secret.txt"), 404),
    Case("traversal_overlong_slash", "RFC 9110 17.3", req("GET", "/sub%c0%af..%c0%af..%c0%afsecret.txt"), 404),
    Case("traversal_nul", "RFC 9110 17.3", req("GET", "/a.txt%00.html") + GET_OK, (400, 200),
         note="refused by the file handler: the request itself was well framed"),
    Case("traversal_bad_escape", "RFC 3986 2.1", req("GET", "/a%zz.txt") + GET_OK, (400, 200)),
    Case("traversal_absolute_form", "RFC 9110 17.3", req("GET", "http://x/../secret.txt"), 404),

    # ------------------------------------------------------------------
    # Timeouts (RFC 9112 9.5; RFC 9110 15.5.9); the servers use 2 s
    # ------------------------------------------------------------------
    Case("timeout_idle_no_request", "RFC 9112 9.5", [], None, close=True, probe=False, wait=LONG_WAIT),
    Case("timeout_idle_after_answer", "RFC 9112 9.5", GET_OK, 200, close=True, probe=False, wait=LONG_WAIT,
         close_header=False),
    Case("timeout_partial_head", "RFC 9110 15.5.9", b"GET /plaintext HTTP/1.1\r\nHost: x\r\n", 408,
         close=True, probe=False, wait=LONG_WAIT),
    Case("timeout_trickled_head", "RFC 9110 15.5.9",
         [b"GET /pl", 0.6, b"ain", 0.6, b"text HTTP/1.1\r\n", 0.6, b"Host: x\r\n", 0.6, b"X-A: b\r\n", 0.6,
          b"\r\n"], 408, close=True, probe=False, wait=LONG_WAIT,
         note="the read timeout runs from a request's first byte, not from its last"),
    Case("timeout_partial_body", "RFC 9110 15.5.9", post([(CL, "10")], b"abc"), 408, close=True,
         probe=False, wait=LONG_WAIT),
    Case("timeout_partial_chunked", "RFC 9110 15.5.9", post([(TE, "chunked")], b"5\r\nhel"), 408, close=True,
         probe=False, wait=LONG_WAIT),

    # ------------------------------------------------------------------
    # Half-closed connections (RFC 9112 9.6)
    # ------------------------------------------------------------------
    Case("half_close_after_request", "RFC 9112 9.6", [GET_OK, SHUT], 200, close=True, close_header=False, body=HELLO),
    Case("half_close_after_pipeline", "RFC 9112 9.6", [req("GET", "/second") + GET_OK, SHUT], (200, 200),
         close=True, close_header=False, body=(SECOND, HELLO)),
    Case("half_close_after_body", "RFC 9112 9.6", [post([(CL, "5")], b"hello"), SHUT], 200, close=True, close_header=False),
    Case("half_close_partial_head", "RFC 9112 9.6", [b"GET /plaintext HTTP/1.1\r\nHo", SHUT], None,
         close=True),
    Case("half_close_partial_body", "RFC 9112 9.6", [post([(CL, "10")], b"abc"), SHUT], None, close=True, close_header=False),
]


def _unique():
    seen = set()
    for c in CASES:
        if c.id in seen:
            raise ValueError("duplicate case id %s" % c.id)
        seen.add(c.id)


_unique()
