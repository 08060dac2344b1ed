"""examples/haproxy/rolling-restart.sh, short: three brisks behind HAProxy
(PROXY protocol v2, health checks) restarted one at a time under traffic,
with no failed request. Skipped when haproxy or curl is not installed.
"""

import os
import shutil
import subprocess
import unittest

from brisk_harness import REPO, brisk_bin

SCRIPT = os.path.join(REPO, "examples", "haproxy", "rolling-restart.sh")
TIMEOUT = 180  # seconds the whole run may take


class RollingRestartTest(unittest.TestCase):
    def test_rolling_restart_loses_no_request(self):
        for tool in ("haproxy", "curl"):
            if shutil.which(tool) is None and not os.path.exists("/usr/sbin/" + tool):
                self.skipTest("%s is not installed" % tool)
        env = dict(os.environ, BRISK=brisk_bin())
        if shutil.which("haproxy") is None:
            env["HAPROXY"] = "/usr/sbin/haproxy"
        p = subprocess.Popen([SCRIPT, "--quick"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGTERM lets the script stop what it started (its EXIT trap).
            p.terminate()
            try:
                out, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            self.fail("rolling-restart.sh took longer than %d s" % TIMEOUT)
        out, err = out.decode(errors="replace"), err.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out + err)
        self.assertRegex(out, r"requests sent: [1-9][0-9]*, failed: 0\n")


if __name__ == "__main__":
    unittest.main()
