"""test_pair.py - `zflow up --pair`: the active registry killed or stopped, the passive one takes over.

A task of 300 shards, each appending a line to a file of its own (a rollback removes it), runs
while the active registry is killed with SIGKILL twice: each time the passive registry takes
over from the events it followed, when a client turns to it, and the killed one, restarted by
`zflow up`, follows the new active; each takeover is on the bus as the new term's EPOCH event,
naming the registry that took it and how. In the second test the active registry is stopped with
SIGSTOP instead, and resumed once the other has taken over: it must step down. Each run ends with
every shard's file holding exactly one line. The registries run with -v, so that their log says
when a passive one follows the active one.
"""
import os
import re
import signal
import subprocess
import time
import unittest

from harness import BIN, ZflowTest, day

SHARDS = 300


def _flow():
    return "\n".join([
        "flow: pair",
        "defaults: {retries: 0}",
        "tasks:",
        "  - id: fan",
        "    shards: %d" % SHARDS,
        '    run: echo "$ZFLOW_SHARD_INDEX $ZFLOW_ATTEMPT" >> "out/$ZFLOW_SHARD_INDEX"; sleep 0.15',
        '    rollback: rm -f "out/$ZFLOW_SHARD_INDEX"',
    ]) + "\n"


class PairTests(ZflowTest):
    up_args = ("--pair", "-v")

    def _registry(self, role):
        """The pid of the registry of a role ("primary" or "backup") that zflow up runs."""
        return self.z.service_pid("zflow-registry", role)

    def _shards_not_once(self, out):
        """The shards whose file does not hold exactly one line, with their lines."""
        bad = {}
        for i in range(SHARDS):
            try:
                with open(os.path.join(out, str(i))) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                lines = []
            if len(lines) != 1:
                bad[i] = lines
        return bad

    def _activations(self):
        """The terms the registries took on becoming active, in order, from zflow up's log."""
        return [int(m) for m in re.findall(r"registry active epoch=(\d+)", self._log())]

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

    def _active(self):
        """The role of the registry that answers as active ("primary" or "backup"): the
        passive one answers ERROR passive, which a client with this one endpoint reports."""
        env = dict(self.z.env, ZFLOW_REQUEST_TIMEOUT="500ms")
        for role, offset in (("primary", 10), ("backup", 12)):
            r = subprocess.run([os.path.join(BIN, "zflow"), "status", "--registry",
                                "tcp://127.0.0.1:%d" % (self.z.base + offset)],
                               env=env, capture_output=True, text=True, timeout=30)
            if r.returncode == 0:
                return role
        return None

    def _log(self):
        with open(os.path.join(self.z.dir, "up.log")) as f:
            return f.read()

    def _wait_steady(self, timeout=30):
        """Waits until the pair is steady: one registry answers as active, and the other, since
        its latest start, follows it (the log at -v says which endpoint a passive registry
        follows; zflow up says when it restarts one). A busy machine can fail a pair over on
        its own, and a registry that was just restarted has heard no active one yet. Returns
        the active one's role."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active = self._active()
            other = "backup" if active == "primary" else "primary"
            service = "registry-backup" if other == "backup" else "registry"
            followed = self.z.base + (10 if other == "backup" else 12)
            log = self._log()
            started = [m.end() for m in re.finditer(r"service restarted service=%s pid" % service, log)]
            follows = [m.end() for m in re.finditer(r"following the active registry seq=\d+ "
                                                    r"endpoint=tcp://127\.0\.0\.1:%d\b" % followed,
                                                    log)]
            if follows and (not started or follows[-1] > started[-1]) and self._active() == active:
                return active
            time.sleep(0.1)
        self.fail("the pair did not settle: no passive registry follows the active one")

    def _vote(self, terms_before):
        """A request is the client's vote: the passive registry takes over once the active one
        has been silent for its liveness (two heartbeats of 250 ms). Returns the seconds the
        request took, once the new term is in the log."""
        start = time.monotonic()
        self.z.ok("status", "pair", "--date", self.date, timeout=30)
        took = time.monotonic() - start
        # Its log line reaches zflow up's log through a pipe.
        deadline = time.monotonic() + 5
        while len(self._activations()) <= terms_before and time.monotonic() < deadline:
            time.sleep(0.05)
        terms = self._activations()
        self.assertGreater(len(terms), terms_before, "no takeover")
        self.assertEqual(terms, sorted(terms), "a takeover with an older term")
        return took

    def _takeover_event(self, tap, role):
        """The EPOCH event of the newest term, which the registry that did not have role took
        over with: it names that registry and says it took over from the events it followed,
        up to the event before it."""
        term = self._activations()[-1]
        other = "backup" if role == "primary" else "primary"
        event = tap.wait_for(lambda e: e.get("kind") == "epoch" and e.get("value") == term)
        self.assertIsNotNone(event, "no EPOCH event of term %d on the bus" % term)
        self.assertEqual(event["executor"], other)
        self.assertRegex(event["detail"], r'^took over from=the active\'s events at seq %d '
                                          r'reason="[^"]+"$' % (event["seq"] - 1))
        return event

    def _kill_active(self):
        """Kills the active registry of a steady pair with SIGKILL; returns its role."""
        # The registry found steady may be between a step-down and its restart when its pid
        # is looked for: then the pair is waited for again.
        for _ in range(20):
            role = self._wait_steady()
            terms = len(self._activations())
            pid = self._registry(role)
            if pid:
                break
        self.assertIsNotNone(pid, "no process for the active %s registry" % role)
        os.kill(pid, signal.SIGKILL)
        took = self._vote(terms)
        self.assertLess(took, 5, "the takeover took %.1f s" % took)
        return role

    def test_active_killed_twice(self):
        z = self.z
        self.date = day(-1)
        out = os.path.join(z.dir, "flow/out")
        os.makedirs(out)
        z.ok("submit", z.write("flow/pair.yaml", _flow()))
        z.ok("start", "pair", "--date", self.date)
        tap = z.tap("--filter", "epoch.")
        self._wait_shards(self.date, 60)
        self._takeover_event(tap, self._kill_active())
        # The killed registry comes back (zflow up restarts it) and follows the new active,
        # which is the one killed next (or, on a machine so busy that the pair failed over on
        # its own meanwhile, whichever is active then).
        done = self._wait_shards(self.date, 150)
        self.assertLess(done, SHARDS, "the run ended before the second kill")
        self._takeover_event(tap, self._kill_active())
        z.ok("wait", "pair", "--date", self.date, "--timeout", "120s", timeout=150)
        st = z.status("pair", self.date)
        self.assertEqual(st["state"], "succeeded")
        self.assertEqual(st["tasks"][0]["shards_done"], SHARDS)
        self.assertEqual(self._shards_not_once(out), {}, "shards without exactly one line")
        # The flow and the run are the new active's too, and status says which registry
        # answered: the active one, under the newest term, with its peer.
        text = z.ok("status")
        self.assertIn("pair", text)
        terms = self._activations()
        first = text.splitlines()[0]
        self.assertRegex(first, r"^registry: active since \d{4}-\d\d-\d\dT[\d:.]+Z, term %d; "
                                r"peer (passive at seq \d+|silent|primary|backup)$" % terms[-1])
        info = z.status("pair", self.date)["registry"]
        self.assertEqual((info["state"], info["epoch"]), ("active", terms[-1]))

    def test_old_active_stopped_and_resumed(self):
        """Two registries that both think they are active: the active one is stopped (SIGSTOP)
        past its liveness, the passive one takes over with a newer term, and the old one,
        resumed, still believes it is active. It is refused and steps down: it stops, zflow up
        starts it again, and it joins as passive. Every shard's side effect is there once."""
        z = self.z
        self.date = day(-1)
        out = os.path.join(z.dir, "flow/out")
        os.makedirs(out)
        z.ok("submit", z.write("flow/pair.yaml", _flow()))
        z.ok("start", "pair", "--date", self.date)
        self._wait_shards(self.date, 60)
        role = self._wait_steady()
        old = self._registry(role)
        terms = len(self._activations())
        os.kill(old, signal.SIGSTOP)
        try:
            self._vote(terms)
            self._wait_shards(self.date, 120)
        finally:
            os.kill(old, signal.SIGCONT)
        # The old active hears a newer active (or is refused by the dispatcher) and stops.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self._registry(role) == old:
            time.sleep(0.05)
        self.assertNotEqual(self._registry(role), old, "the old active did not step down")
        self.assertIn("stepped down", self._log())
        terms = self._activations()
        self.assertNotEqual(terms[-1] % 2, terms[-2] % 2, "the pair took terms of one parity")
        z.ok("wait", "pair", "--date", self.date, "--timeout", "120s", timeout=150)
        self.assertEqual(self._shards_not_once(out), {}, "shards without exactly one line")


if __name__ == "__main__":
    unittest.main()
