"""test_demo.py - `zflow demo --exit` runs the example end-of-day flow to success."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, _free_base


class DemoTest(unittest.TestCase):

    def test_demo_runs_the_example_flow(self):
        work = tempfile.mkdtemp(prefix="zflow-demo.")
        self.addCleanup(shutil.rmtree, work, True)
        base = _free_base()
        r = subprocess.run([os.path.join(BIN, "zflow"), "demo", "--exit", "--base-port", str(base),
                            "--dir", os.path.join(work, "var"), "--http", "127.0.0.1:%d" % (base + 29)],
                           capture_output=True, text=True, timeout=240, start_new_session=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        out = r.stdout
        self.assertRegex(out, r"eod succeeded: 20 of 20 tasks done")
        # The gate held load_prices, the flaky step failed once and then
        # succeeded, the example C worker ran the settle shards.
        self.assertRegex(out, r"load_prices\s+waiting\s+until")
        self.assertRegex(out, r"risk_var\s+(retrying|failed)")
        self.assertRegex(out, r"settle\s+(succeeded|confirmed)")
        for line in out.splitlines():
            if re.match(r"^\S+\s+\S+\s+(failed|cancelled)\s", line):
                self.fail("a task ended badly in the summary: " + line)
        # Every service stopped with the demo.
        left = subprocess.run(["pgrep", "-f", os.path.join(work, "var")], capture_output=True, text=True)
        self.assertEqual(left.stdout.strip(), "", "services left running")


if __name__ == "__main__":
    unittest.main(verbosity=2)
