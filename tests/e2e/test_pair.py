"""test_pair.py - `zflow up --pair`: the active registry killed, the passive one takes over.

A task of 300 shards, each appending a line to a file of its own (a rollback removes it),
runs while the active registry is killed with SIGKILL twice: first the primary, then the
backup that took over from it (the primary, restarted by `zflow up`, has joined as passive
by then). Each time the passive registry takes over from the events it followed, when a client
turns to it: the run ends with every shard's file holding exactly one line, and the new active
registry holds the flows and runs the old one had, under a newer term.
"""
import os
import re
import signal
import time
import unittest

from harness import ZflowTest, day

SHARDS = 300


def _flow():
    return "\n".join([
        "flow: pair",
        "defaults: {retries: 0}",
        "tasks:",
        "  - id: fan",
        "    shards: %d" % SHARDS,
        '    run: echo "$ZFLOW_SHARD_INDEX $ZFLOW_ATTEMPT" >> "out/$ZFLOW_SHARD_INDEX"; sleep 0.05',
        '    rollback: rm -f "out/$ZFLOW_SHARD_INDEX"',
    ]) + "\n"


class PairTests(ZflowTest):
    up_args = ("--pair",)

    def setUp(self):
        super().setUp()
        self.z.env["ZFLOW_REGISTRY"] = "tcp://127.0.0.1:%d,tcp://127.0.0.1:%d" % (self.z.base + 10,
                                                                                 self.z.base + 12)

    def _registry(self, role):
        """The pid of the registry of a role ("primary" or "backup") that zflow up runs."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = f.read().split(b"\0")
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid != self.z.up.pid or os.path.basename(argv[0].decode()) != "zflow-registry":
                continue
            if role.encode() in argv:
                return int(entry)
        return None

    def _activations(self):
        """The terms the registries took on becoming active, in order, from zflow up's log."""
        with open(os.path.join(self.z.dir, "up.log")) as f:
            return [int(m) for m in re.findall(r"registry active epoch=(\d+)", f.read())]

    def _shards_done(self, date):
        task = self.z.status("pair", date)["tasks"][0]
        return task["shards_done"], task["state"]

    def _wait_shards(self, date, at_least, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done, state = self._shards_done(date)
            if done >= at_least or state in ("succeeded", "confirmed"):
                return done
            time.sleep(0.1)
        self.fail("fewer than %d shards done in %d s" % (at_least, timeout))

    def _kill_active(self, role, terms_before):
        pid = self._registry(role)
        self.assertIsNotNone(pid, "no %s registry to kill" % role)
        os.kill(pid, signal.SIGKILL)
        # A request is the client's vote: the passive registry takes over once the
        # active one has been silent for its liveness (two heartbeats of 250 ms).
        start = time.monotonic()
        self.z.ok("status", "pair", "--date", self.date, timeout=30)
        took = time.monotonic() - start
        # Its log line reaches zflow up's log through a pipe.
        deadline = time.monotonic() + 5
        while len(self._activations()) <= terms_before and time.monotonic() < deadline:
            time.sleep(0.05)
        terms = self._activations()
        self.assertEqual(len(terms), terms_before + 1, "no takeover after the %s was killed" % role)
        self.assertGreater(terms[-1], terms[-2] if len(terms) > 1 else 0)
        return took

    def test_active_killed_twice(self):
        z = self.z
        self.date = day(-1)
        out = os.path.join(z.dir, "flow/out")
        os.makedirs(out)
        z.ok("submit", z.write("flow/pair.yaml", _flow()))
        self.assertEqual(self._activations(), [1], "the primary is not the first active")
        z.ok("start", "pair", "--date", self.date)
        self._wait_shards(self.date, 60)
        took = self._kill_active("primary", 1)
        self.assertLess(took, 5, "the takeover took %.1f s" % took)
        # The primary comes back (zflow up restarts it) and joins as passive: it
        # answers nothing itself, but clients reach the backup through it.
        done = self._wait_shards(self.date, 150)
        self.assertLess(done, SHARDS, "the run ended before the second kill")
        deadline = time.monotonic() + 10
        while self._registry("primary") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        self._kill_active("backup", 2)
        z.ok("wait", "pair", "--date", self.date, "--timeout", "120s", timeout=150)
        st = z.status("pair", self.date)
        self.assertIn(st["state"], ("succeeded",))
        self.assertEqual(st["tasks"][0]["shards_done"], SHARDS)
        bad = {}
        for i in range(SHARDS):
            try:
                with open(os.path.join(out, str(i))) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) != 1:
                bad[i] = lines
        self.assertEqual(bad, {}, "shards without exactly one line")
        # The flow and the run are the new active's too.
        self.assertIn("pair", z.ok("status"))

    def test_old_active_stopped_and_resumed(self):
        """Two registries that both think they are active: the primary is stopped (SIGSTOP)
        past its liveness, the backup takes over with a newer term, and the primary, resumed,
        still believes it is active. It is refused and steps down: it stops, zflow up starts
        it again, and it joins as passive. Every shard's side effect is there once."""
        z = self.z
        self.date = day(-1)
        out = os.path.join(z.dir, "flow/out")
        os.makedirs(out)
        z.ok("submit", z.write("flow/pair.yaml", _flow()))
        z.ok("start", "pair", "--date", self.date)
        self._wait_shards(self.date, 60)
        old = self._registry("primary")
        os.kill(old, signal.SIGSTOP)
        try:
            z.ok("status", "pair", "--date", self.date, timeout=30)
            deadline = time.monotonic() + 5
            while len(self._activations()) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(len(self._activations()), 2, "the backup did not take over")
            self._wait_shards(self.date, 120)
        finally:
            os.kill(old, signal.SIGCONT)
        # The old active hears a newer active (or is refused by the dispatcher) and stops.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._registry("primary") == old:
            time.sleep(0.05)
        self.assertNotEqual(self._registry("primary"), old, "the old active did not step down")
        with open(os.path.join(z.dir, "up.log")) as f:
            self.assertIn("stepped down", f.read())
        terms = self._activations()
        self.assertEqual(len(terms), 2, "a registry took over again: %s" % terms)
        self.assertNotEqual(terms[0] % 2, terms[1] % 2, "the pair took terms of one parity")
        z.ok("wait", "pair", "--date", self.date, "--timeout", "120s", timeout=150)
        bad = {}
        for i in range(SHARDS):
            try:
                with open(os.path.join(out, str(i))) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) != 1:
                bad[i] = lines
        self.assertEqual(bad, {}, "shards without exactly one line")


if __name__ == "__main__":
    unittest.main()
