"""The HTTP/1.1 conformance table (cases.py), run against brisk and nginx.

  BriskConformance  every case must meet its expectation exactly.
  NginxConformance  the same cases against /usr/sbin/nginx (skipped when it
                    is absent): every case meets its expectation, except the
                    ones listed in NGINX_DIFFERENCES, where nginx must give
                    exactly the recorded answer (and must still fail the
                    expectation, so a stale entry shows). Each difference is
                    explained in docs/CONFORMANCE.md, which the test checks.

For both: after every case a fresh connection must still be served, and no
answer may carry the file kept outside the static root.

    cd tests/conformance && BRISK_BIN=$PWD/../../build/brisk \\
        /usr/bin/python3 -m unittest -v test_conformance.BriskConformance
    CONFORMANCE_RECORD=/tmp/nginx.txt ... test_conformance.NginxConformance  # writes nginx's answers
"""

import os
import re
import unittest

import cases
import servers
from conformance import Runner

# case id -> nginx 1.22's answer, as Obs.summary() writes it. Why each one
# differs from brisk, and which answer the RFCs call for: docs/CONFORMANCE.md.
NGINX_DIFFERENCES = {
    # framing
    "cl_trailing_ows": "400 closed",
    "cl_overflow": "400 closed",
    "te_chunked_ows": "501 closed",
    "te_chunked_empty_list_element": "501 closed",
    "te_chunked_not_last": "501 closed",
    "te_chunked_twice": "501 closed",
    "te_empty": "501 closed",
    "te_vertical_tab": "501 closed",
    "chunk_size_over_limit": "200 closed",
    "chunk_bare_lf": "200 open",
    "chunk_ext_ctl": "200 open",
    "chunk_trailer_obs_fold": "200 open",
    # request line
    "method_lowercase": "400 closed",
    "method_unknown": "200 open",
    "method_long": "200 open",
    "request_line_double_space": "200 open",
    "request_line_trailing_space": "200 open",
    "request_line_bare_lf": "200 open",
    "connect_authority_form": "400 closed",
    "options_asterisk": "400 closed",
    "absolute_form_ftp": "200 open",
    "target_fragment": "200 open",
    "target_8bit": "404 open",
    "version_http09": "raw closed",
    "version_missing": "raw closed",
    "version_two_digits": "200 open",
    # fields
    "field_bare_lf": "200 open",
    "field_ctl": "200 open",
    "field_del": "200 open",
    "field_name_not_token": "200 open",
    "field_name_8bit": "200 open",
    "field_line_too_long": "400 closed",
    "field_too_many": "200 open",
    # Host
    "host_empty": "400 closed",
    "host_bad_port": "200 open",
    "host_userinfo": "200 open",
    "host_unclosed_bracket": "200 open",
    # Expect
    "expect_unknown": "200 open",
    # static files
    "static_post": "405 open",
    "range_invalid_ignored": "416 open",
    "if_match_wrong": "412 closed",
    "if_match_weak_never_matches": "412 closed",
    "if_unmodified_since_old": "412 closed",
    "if_unmodified_since_ignored_with_if_match": "412 closed",
    # paths
    "traversal_dotdot": "400 closed",
    "traversal_dotdot_deep": "400 closed",
    "traversal_dotdot_many": "400 closed",
    "traversal_pct_dots": "400 closed",
    "traversal_pct_dots_upper": "400 closed",
    "traversal_pct_mixed": "400 closed",
    "traversal_pct_slash": "400 closed",
    "traversal_absolute_form": "400 closed",
    "traversal_encoded_slash_inside": "200 open",
    "traversal_nul": "400 closed",
    "traversal_bad_escape": "400 closed",
    # timeouts and half-closed connections
    "timeout_partial_head": "- closed",
    "timeout_trickled_head": "- closed",
    "timeout_partial_body": "200 closed",
    "timeout_partial_chunked": "200 closed",
    "half_close_partial_body": "200 closed",
}

HERE = os.path.dirname(os.path.abspath(__file__))
CONFORMANCE_MD = os.path.join(HERE, "..", "..", "docs", "CONFORMANCE.md")


class TableTest(unittest.TestCase):
    """The table itself: enough cases, each naming its RFC section; the
    difference list names only real cases, and the document explains each."""

    def test_table(self):
        self.assertGreaterEqual(len(cases.CASES), 80)
        for c in cases.CASES:
            self.assertRegex(c.rfc, r"^RFC (9110|9112|3986) \d", c.id)

    def test_differences_are_cases_and_documented(self):
        ids = {c.id for c in cases.CASES}
        unknown = sorted(set(NGINX_DIFFERENCES) - ids)
        self.assertEqual(unknown, [], "NGINX_DIFFERENCES names cases that do not exist")
        with open(CONFORMANCE_MD, encoding="utf-8") as f:
            doc = f.read()
        undocumented = [k for k in NGINX_DIFFERENCES if not re.search(r"`%s`" % re.escape(k), doc)]
        self.assertEqual(undocumented, [], "differences not explained in docs/CONFORMANCE.md")


class _Conformance(unittest.TestCase):
    server_class = None
    differences = {}

    @classmethod
    def setUpClass(cls):
        cls.srv = cls.server_class()
        cls.srv.start()
        cls.runner = Runner(cls.srv.addr, cls.srv.caps)
        cls.record = []

    @classmethod
    def tearDownClass(cls):
        code, killed = cls.srv.stop()
        log = cls.srv.log()
        cls.srv.cleanup()
        path = os.environ.get("CONFORMANCE_RECORD")
        if path:
            with open(path, "w") as f:
                f.write("".join("%-44s %s\n" % row for row in cls.record))
        if cls.server_class is servers.Brisk:
            problems = []
            if killed or code != 0:
                problems.append("exit %s%s after SIGTERM" % (code, " (killed)" if killed else ""))
            crash = [m for m in servers.CRASH_MARKERS if m in log]
            if crash:
                problems.append("crash report on stderr: %s" % crash)
            if problems:
                raise AssertionError("brisk: %s\n%s" % ("; ".join(problems), log[-3000:]))

    def run_case(self, case):
        if not self.srv.alive():
            self.fail("%s is not running: %s" % (self.srv.name, self.srv.log()[-2000:]))
        recorded = self.differences.get(case.id)
        finals = None
        if recorded is not None:
            finals = len([t for t in recorded.split()[:-1] if t != "-"]) - len(case.interim or ())
            finals = max(finals, 0)
        obs = self.runner.run(case, finals=finals)
        type(self).record.append((case.id, obs.summary()))
        leak = self.runner.leaks(obs)
        self.assertIsNone(leak, leak)
        problems = self.runner.problems(case, obs)
        if recorded is None:
            self.assertEqual(problems, [], "%s (%s): %s; observed %r" % (case.id, case.rfc, "; ".join(problems), obs))
        else:
            self.assertEqual(obs.summary(), recorded,
                             "%s answered differently from the recorded difference" % self.srv.name)
            self.assertNotEqual(problems, [], "%s now meets the expectation: drop it from the differences"
                                % case.id)
        gone = self.runner.still_served()
        self.assertIsNone(gone, "after %s: %s" % (case.id, gone))


def _add_case_tests(cls):
    for i, case in enumerate(cases.CASES):
        def test(self, case=case):
            self.run_case(case)
        test.__doc__ = "%s: %s" % (case.rfc, case.id)
        setattr(cls, "test_%03d_%s" % (i, case.id), test)
    return cls


@_add_case_tests
class BriskConformance(_Conformance):
    server_class = servers.Brisk


@_add_case_tests
class NginxConformance(_Conformance):
    server_class = servers.Nginx
    differences = NGINX_DIFFERENCES

    @classmethod
    def setUpClass(cls):
        if not os.access(servers.NGINX, os.X_OK):
            raise unittest.SkipTest("%s is not installed (scripts/deps.sh installs nginx-light)" % servers.NGINX)
        super().setUpClass()


if __name__ == "__main__":
    unittest.main()
