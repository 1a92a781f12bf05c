"""test_recovery.py - the registry killed with SIGKILL at random moments of a run, again and again.

Every task appends a line to its own file (and takes a tenth of a second, so the run outlasts
the kills) and its rollback removes the file, so an attempt that
ran twice without its rollback leaves two lines. `zflow up` restarts the registry after each kill
and the registry recovers from the archiver (invariant 5): confirmed work stays done, work the
dispatcher still holds is taken back, the rest goes through its rollback and runs again. At the
end every task has succeeded and every file holds exactly one line.
"""
import os
import random
import signal
import unittest

from harness import ZflowTest, day

CHAINS = 25
LENGTH = 80          # 2,000 tasks in 25 chains
KILLS = 20


def _flow():
    lines = ["flow: recover", "defaults: {retries: 0}", "tasks:", "  - id: start", "    type: start"]
    for c in range(CHAINS):
        for i in range(LENGTH):
            after = "start" if i == 0 else "c%d_%d" % (c, i - 1)
            lines += ["  - id: c%d_%d" % (c, i),
                      "    after: [%s]" % after,
                      '    run: echo "$ZFLOW_TASK $ZFLOW_ATTEMPT" >> "out/$ZFLOW_TASK"; sleep 0.1',
                      '    rollback: rm -f "out/$ZFLOW_TASK"']
    return "\n".join(lines) + "\n"


class RecoveryTests(ZflowTest):

    def test_registry_killed_at_random_moments(self):
        z = self.z
        d = day(-1)
        # The supervisor's restart backoff doubles with each quick death (up
        # to 10 s): give requests that long to be answered.
        z.env["ZFLOW_REQUEST_TIMEOUT"] = "30s"
        out = os.path.join(z.dir, "flow/out")
        os.makedirs(out)
        path = z.write("flow/recover.yaml", _flow())
        z.ok("submit", path)
        tap = z.tap("--filter", "task.recover", "--filter", "confirm.")
        z.ok("start", "recover", "--date", d)
        # The archiver follows once it has confirmed something; before that a
        # restarted registry would start from nothing durable.
        self.assertIsNotNone(tap.wait_for(lambda e: e.get("kind") == "confirm", timeout=30))
        rng = random.Random(os.environ.get("ZF_SEED", "zflow"))
        kills = 0
        for k in range(KILLS):
            # A random moment: after some number of further task successes.
            target = rng.randrange(5, 60)
            seen = len([e for e in tap.events() if e.get("state") == "succeeded"])
            tap.wait_for(lambda e, n=[0]: e.get("state") == "succeeded" and
                         (n.__setitem__(0, n[0] + 1) or n[0] > seen + target), timeout=20)
            pid = z.service_pid("zflow-registry")
            self.assertIsNotNone(pid, "no registry to kill")
            os.kill(pid, signal.SIGKILL)
            kills += 1
            # Back once it answers again (the supervisor restarts it and it recovers).
            r = z.run("status", "recover", "--date", d, timeout=60)
            self.assertEqual(r.returncode, 0, "the registry did not come back after kill %d: %s"
                             % (kills, r.stderr))
            st = z.status("recover", d)
            if st["state"] == "succeeded":
                break
        self.assertGreaterEqual(kills, 10, "the run ended before enough kills")
        z.ok("wait", "recover", "--date", d, "--timeout", "180s", timeout=240)
        st = z.status("recover", d)
        self.assertEqual(st["state"], "succeeded")
        self.assertEqual(len(st["tasks"]), CHAINS * LENGTH + 1)
        bad = []
        for c in range(CHAINS):
            for i in range(LENGTH):
                task = "c%d_%d" % (c, i)
                try:
                    with open(os.path.join(out, task)) as f:
                        lines = f.read().splitlines()
                except FileNotFoundError:
                    lines = []
                if len(lines) != 1:
                    bad.append((task, lines))
        self.assertEqual(bad, [], "tasks without exactly one line: %s" % bad[:10])


if __name__ == "__main__":
    unittest.main(verbosity=2)
