"""Bad input gets the RFC's answer, with `Connection: close`, and nothing sent
after the bad request in the same write is answered. The server stays up.

Every case sends the bad request followed by a valid pipelined GET in ONE
write, expects exactly one response with the given status, then EOF, and
then checks a fresh connection still gets 200. Valid near-misses are checked
too, so that a server rejecting everything cannot pass.
"""

import unittest

from brisk_harness import HELLO, SharedServerTestCase

H = b"Host: x\r\n"
END = b"\r\n"
BODY_LIMIT = 8192      # --max-request-body-size 8KiB
HEADER_LIMIT = 4096    # --max-header-size 4KiB


def req(line, *fields, body=b""):
    """Request line + fields (bytes, without CRLF) + empty line + body."""
    out = line + b"\r\n"
    for f in fields:
        out += f + b"\r\n"
    return out + b"\r\n" + body


GET = b"GET /plaintext HTTP/1.1"
POST = b"POST /plaintext HTTP/1.1"
HOST = b"Host: x"

# (name, raw request, status)
BAD = [
    # -- request line ----------------------------------------------------
    ("line_missing_version", req(b"GET /plaintext", HOST), 400),
    ("line_missing_target", req(b"GET HTTP/1.1", HOST), 400),
    ("line_method_only", req(b"GET", HOST), 400),
    ("line_empty_target", req(b"GET  HTTP/1.1", HOST), 400),
    ("line_double_space_after_method", req(b"GET  /plaintext HTTP/1.1", HOST), 400),
    ("line_double_space_before_version", req(b"GET /plaintext  HTTP/1.1", HOST), 400),
    ("line_trailing_space", req(b"GET /plaintext HTTP/1.1 ", HOST), 400),
    ("line_leading_space", req(b" GET /plaintext HTTP/1.1", HOST), 400),
    ("line_extra_part", req(b"GET /plaintext HTTP/1.1 extra", HOST), 400),
    ("version_lowercase", req(b"GET /plaintext http/1.1", HOST), 400),
    ("version_no_minor", req(b"GET /plaintext HTTP/1", HOST), 400),
    ("version_letters", req(b"GET /plaintext HTTP/1.x", HOST), 400),
    ("version_no_dot", req(b"GET /plaintext HTTP/11", HOST), 400),
    ("version_three_parts", req(b"GET /plaintext HTTP/1.1.1", HOST), 400),
    ("version_wrong_name", req(b"GET /plaintext HTTX/1.1", HOST), 400),
    ("version_two_digit_major", req(b"GET /plaintext HTTP/10.1", HOST), 400),
    ("bare_cr_in_request_line", req(b"GET /plain\rtext HTTP/1.1", HOST), 400),
    ("bare_cr_ends_request_line", b"GET /plaintext HTTP/1.1\rHost: x\r\n\r\n", 400),
    ("nul_in_target", req(b"GET /plain\x00text HTTP/1.1", HOST), 400),
    ("ctl_in_target", req(b"GET /plain\x01text HTTP/1.1", HOST), 400),
    ("del_in_target", req(b"GET /plain\x7ftext HTTP/1.1", HOST), 400),
    # -- fields ------------------------------------------------------------
    ("field_without_colon", req(GET, HOST, b"NoColonHere"), 400),
    ("field_empty_name", req(GET, HOST, b": value"), 400),
    ("field_space_before_colon", req(GET, b"Host : x"), 400),
    ("field_tab_before_colon", req(GET, HOST, b"X-A\t: v"), 400),
    ("field_space_in_name", req(GET, HOST, b"X A: v"), 400),
    ("obs_fold_space", req(GET, HOST, b"X-A: one", b" two"), 400),
    ("obs_fold_tab", req(GET, HOST, b"X-A: one", b"\ttwo"), 400),
    ("first_field_starts_with_space", req(GET, b" Host: x"), 400),
    ("bare_cr_in_field_value", req(GET, HOST, b"X-A: a\rb"), 400),
    ("bare_cr_in_field_name", req(GET, HOST, b"X-\rA: b"), 400),
    ("nul_in_field_value", req(GET, HOST, b"X-A: a\x00b"), 400),
    ("ctl_in_field_value", req(GET, HOST, b"X-A: a\x01b"), 400),
    ("esc_in_field_value", req(GET, HOST, b"X-A: a\x1bb"), 400),
    ("del_in_field_value", req(GET, HOST, b"X-A: a\x7fb"), 400),
    ("nul_in_host_value", req(GET, b"Host: x\x00y"), 400),
    # -- Host --------------------------------------------------------------
    ("missing_host_http11", req(GET), 400),
    ("duplicate_host", req(GET, HOST, b"Host: y"), 400),
    ("duplicate_host_same_value", req(GET, HOST, HOST), 400),
    ("host_with_space", req(GET, b"Host: a b"), 400),
    ("host_unclosed_ipv6", req(GET, b"Host: [::1"), 400),
    ("host_bad_port", req(GET, b"Host: x:8o"), 400),
    # -- Content-Length / Transfer-Encoding --------------------------------
    ("cl_and_te", req(POST, HOST, b"Content-Length: 5", b"Transfer-Encoding: chunked",
                      body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    ("te_and_cl", req(POST, HOST, b"Transfer-Encoding: chunked", b"Content-Length: 5",
                      body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    ("cl_conflicting_fields", req(POST, HOST, b"Content-Length: 5", b"Content-Length: 6",
                                  body=b"hello!"), 400),
    ("cl_conflicting_list", req(POST, HOST, b"Content-Length: 5, 6", body=b"hello!"), 400),
    ("cl_negative", req(POST, HOST, b"Content-Length: -1"), 400),
    ("cl_trailing_letter", req(POST, HOST, b"Content-Length: 1a", body=b"x"), 400),
    ("cl_plus_sign", req(POST, HOST, b"Content-Length: +5", body=b"hello"), 400),
    ("cl_empty", req(POST, HOST, b"Content-Length: "), 400),
    ("cl_hex", req(POST, HOST, b"Content-Length: 0x5", body=b"hello"), 400),
    # too large to represent: malformed (400) or too large (413) are both right
    ("cl_overflow", req(POST, HOST, b"Content-Length: 99999999999999999999999"), (400, 413)),
    ("chunk_size_not_hex", req(POST, HOST, b"Transfer-Encoding: chunked",
                               body=b"zz\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_empty", req(POST, HOST, b"Transfer-Encoding: chunked",
                             body=b"\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_overflow", req(POST, HOST, b"Transfer-Encoding: chunked",
                                body=b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_size_negative", req(POST, HOST, b"Transfer-Encoding: chunked",
                                body=b"-5\r\nhello\r\n0\r\n\r\n"), 400),
    ("chunk_data_longer_than_size", req(POST, HOST, b"Transfer-Encoding: chunked",
                                        body=b"5\r\nhelloXX\r\n0\r\n\r\n"), 400),
    ("te_on_http10", req(b"POST /plaintext HTTP/1.0", HOST, b"Transfer-Encoding: chunked",
                         body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    ("te_chunked_not_final", req(POST, HOST, b"Transfer-Encoding: chunked, gzip",
                                 body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    ("te_chunked_not_final_two_fields", req(POST, HOST, b"Transfer-Encoding: chunked",
                                            b"Transfer-Encoding: gzip",
                                            body=b"5\r\nhello\r\n0\r\n\r\n"), 400),
    # -- 501 ---------------------------------------------------------------
    ("te_unknown", req(POST, HOST, b"Transfer-Encoding: foo", body=b"hello"), 501),
    ("te_gzip_chunked", req(POST, HOST, b"Transfer-Encoding: gzip, chunked",
                            body=b"5\r\nhello\r\n0\r\n\r\n"), 501),
    ("method_unknown", req(b"FOO /plaintext HTTP/1.1", HOST), 501),
    # -- 505 ---------------------------------------------------------------
    ("version_2_0", req(b"GET /plaintext HTTP/2.0", HOST), 505),
    ("version_3_0", req(b"GET /plaintext HTTP/3.0", HOST), 505),
    # -- sizes -------------------------------------------------------------
    ("body_over_limit_content_length",
     req(POST, HOST, b"Content-Length: %d" % (BODY_LIMIT + 1)), 413),
    ("body_over_limit_chunked",
     req(POST, HOST, b"Transfer-Encoding: chunked",
         body=b"1000\r\n" + b"a" * 4096 + b"\r\n1001\r\n" + b"b" * 4097 + b"\r\n0\r\n\r\n"), 413),
    ("target_too_long", req(b"GET /" + b"a" * (HEADER_LIMIT + 100) + b" HTTP/1.1", HOST), 414),
    ("target_too_long_without_line_end", b"GET /" + b"a" * (HEADER_LIMIT * 2), 414),
    ("header_section_too_large",
     req(GET, HOST, *[b"X-Pad-%03d: %s" % (i, b"p" * 50) for i in range(80)]), 431),
    ("one_field_too_large", req(GET, HOST, b"X-Big: " + b"b" * (HEADER_LIMIT + 10)), 431),
    # at most 100 field lines (Apache's LimitRequestFields default), however small
    ("field_101_lines", req(GET, HOST, *[b"F%d: v" % i for i in range(100)]), 431),
]

# Valid near-misses: each must get 200 and let the pipelined GET be answered.
GOOD = [
    ("plain", req(GET, HOST)),
    ("http10_without_host", req(b"GET /plaintext HTTP/1.0", b"Connection: keep-alive")),
    ("http10_with_host", req(b"GET /plaintext HTTP/1.0", HOST, b"Connection: keep-alive")),
    ("host_ipv6_literal", req(GET, b"Host: [::1]:8080")),
    ("host_with_port", req(GET, b"Host: example.com:80")),
    ("host_lowercase_name", req(GET, b"host: x")),
    ("field_names_any_case", req(POST, b"HOST: x", b"content-LENGTH: 5", body=b"hello")),
    ("te_name_upper_case", req(POST, HOST, b"TRANSFER-ENCODING: chunked",
                               body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("empty_line_before_request", b"\r\n" + req(GET, HOST)),
    ("field_value_with_tab", req(GET, HOST, b"X-A: a\tb")),
    ("field_value_obs_text", req(GET, HOST, b"X-A: caf\xc3\xa9")),
    ("field_value_empty", req(GET, HOST, b"X-Empty:")),
    ("field_value_surrounding_ws", req(GET, HOST, b"X-A: \t v \t")),
    ("field_name_tchars", req(GET, HOST, b"X-!#$%&'*+-.^_`|~09aZ: v")),
    ("cl_body", req(POST, HOST, b"Content-Length: 5", body=b"hello")),
    ("cl_zero", req(POST, HOST, b"Content-Length: 0")),
    ("te_chunked", req(POST, HOST, b"Transfer-Encoding: chunked",
                       body=b"5\r\nhello\r\n0\r\n\r\n")),
    ("header_section_under_limit",
     req(GET, HOST, *[b"X-Pad-%03d: %s" % (i, b"p" * 50) for i in range(50)])),
    ("target_under_limit", req(b"GET /" + b"a" * 3000 + b" HTTP/1.1", HOST)),
    # exactly 100 field lines: the most accepted
    ("field_100_lines", req(GET, HOST, *[b"F%d: v" % i for i in range(99)])),
    ("known_methods", b"".join(req(m + b" /plaintext HTTP/1.1", HOST, b"Content-Length: 0")
                               for m in (b"PUT", b"DELETE", b"OPTIONS", b"PATCH"))),
]


class BadRequestTest(SharedServerTestCase):
    server_args = ("--max-request-body-size", "8KiB", "--max-header-size", "4KiB")


def _bad(raw, status):
    def test(self):
        self.assert_rejected(self.srv, raw, status)
    return test


def _good(name, raw):
    def test(self):
        n = raw.count(b" HTTP/1.")
        # /aaaa... is not a route: 404 is the right answer there
        want = 404 if name == "target_under_limit" else 200
        with self.srv.connect() as c:
            c.send(raw + req(GET, HOST))
            for i in range(n):
                r = c.read_response()
                self.assertEqual(r.status, want, "%s (request %d): %r" % (name, i + 1, r))
            last = c.read_response()
        self.assertEqual((last.status, last.body), (200, HELLO),
                         "pipelined GET after %s: %r" % (name, last))
    return test


for _name, _raw, _status in BAD:
    _prefix = _status if isinstance(_status, int) else "_or_".join(map(str, _status))
    setattr(BadRequestTest, "test_%s_%s" % (_prefix, _name), _bad(_raw, _status))
for _name, _raw in GOOD:
    setattr(BadRequestTest, "test_ok_%s" % _name, _good(_name, _raw))


if __name__ == "__main__":
    unittest.main()
