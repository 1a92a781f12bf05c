"""test_flows.py - flows run end to end through registry, dispatcher and executors.

Each test starts its own `zflow up`, submits a flow with `zflow submit`, starts dates,
waits with `zflow wait` (which blocks on events) and checks the outcome through
`zflow status --json`, the files the tasks wrote, and the events `zflow-tap` received.
"""
import collections
import json
import os
import select
import signal
import unittest

from harness import ZflowTest, day

DONE = ("succeeded", "confirmed", "skipped")

FULL = """\
flow: full
timezone: Asia/Shanghai
calendar:
  weekdays: [mon, tue, wed, thu, fri, sat, sun]
  holidays: [{holiday}]
defaults: {{timeout: 1m, retries: 0, retry_delay: 200ms}}
tasks:
  - id: start
    type: start
  - id: extract
    after: [start]
    not_before: "00:01"
    run: echo "$ZFLOW_FLOW $ZFLOW_DATE $ZFLOW_TASK $ZFLOW_ATTEMPT" >> out/extract
  - id: load
    after: [extract]
    shards: [bonds, fx, equities]
    run: echo "$ZFLOW_SHARD_KEY $ZFLOW_SHARD_INDEX/$ZFLOW_SHARD_COUNT" >> "out/load.$ZFLOW_DATE"
    rollback: rm -f "out/load.$ZFLOW_DATE"
  - id: compute
    after: [load]
    shards: 4
    service: noop
    speculative: true
  - id: flaky
    after: [start]
    retries: 2
    retry_delay: 300ms
    run: echo "attempt $ZFLOW_ATTEMPT"; test "$ZFLOW_ATTEMPT" -ge 2
  - id: bounded
    after: [start]
    timeout: 30s
    run: sleep 0.2
  - id: report
    after: [compute, flaky, bounded, report@-1]
    run: echo "$ZFLOW_DATE" >> out/report
  - id: roll
    type: day_roll
    after: [report]
"""


def _by_id(status):
    """A run's tasks by id; a task listed twice is an error, not one entry."""
    ids = collections.Counter(t["id"] for t in status["tasks"])
    twice = sorted(i for i, n in ids.items() if n > 1)
    if twice:
        raise AssertionError("tasks listed more than once: %s" % twice)
    return {t["id"]: t for t in status["tasks"]}


def _lines(path):
    """The lines a task appended to a file: one per run of it."""
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def _transitions(events, flow, date):
    """(task, shard) -> the states its TASK events moved it through, in order.
    A whole-task event (shard -1) moves every shard seen for that task."""
    seen = {}
    for e in events:
        if e.get("kind") != "task" or e.get("flow") != flow or e.get("date") != date:
            continue
        shard = e.get("shard")
        seen.setdefault((e["task"], -1 if shard is None else shard), []).append(e["state"])
    return seen


def _contains_in_order(states, wanted):
    it = iter(states)
    return all(any(s == w for s in it) for w in wanted)


class FlowTests(ZflowTest):

    def test_every_feature_runs_to_completion(self):
        z = self.z
        first, holiday, today = day(-2), day(-1), day(0)
        os.makedirs(os.path.join(z.dir, "flow/out"))
        path = z.write("flow/full.yaml", FULL.format(holiday=holiday))
        tap = z.tap()
        self.assertIn("version 1", z.ok("submit", path))
        z.ok("start", "full", "--date", first)
        z.ok("wait", "full", "--date", first, "--timeout", "60s", timeout=90)
        # The day roll skips the holiday and opens today's run, whose report
        # waits for the report of the business date before it (report@-1).
        z.ok("wait", "full", "--date", today, "--timeout", "60s", timeout=90)
        self.assertEqual(z.run("status", "full", "--date", holiday, "--json").returncode, 1)

        runs = {d: z.status("full", d) for d in (first, today)}
        for d, st in runs.items():
            self.assertEqual(st["state"], "succeeded", st)
            self.assertEqual(st["flow"], "full")
            self.assertEqual(st["date"], d)
            self.assertEqual(st["version"], 1)
            tasks = _by_id(st)
            self.assertEqual(set(tasks), {"start", "extract", "load", "compute", "flaky", "bounded",
                                          "report", "roll"})
            for t in tasks.values():
                self.assertIn(t["state"], DONE, t)
            self.assertEqual((tasks["load"]["shards_total"], tasks["load"]["shards_done"]), (3, 3))
            self.assertEqual((tasks["compute"]["shards_total"], tasks["compute"]["shards_done"]), (4, 4))
            self.assertEqual(tasks["flaky"]["attempt"], 2)
            self.assertEqual(tasks["extract"]["attempt"], 1)
        self.assertGreaterEqual(_by_id(runs[today])["report"]["started"],
                                _by_id(runs[first])["report"]["ended"])

        out = os.path.join(z.dir, "flow/out")
        # Near midnight UTC, Shanghai is a day ahead and today's roll may have
        # run tomorrow's date too: the dates checked come first, each once.
        extract = _lines(os.path.join(out, "extract"))
        self.assertEqual(extract[:2], ["full %s extract 1" % d for d in (first, today)])
        self.assertEqual([extract.count("full %s extract 1" % d) for d in (first, today)], [1, 1], extract)
        self.assertEqual(sorted(_lines(os.path.join(out, "load." + first))),
                         sorted(["bonds 0/3", "fx 1/3", "equities 2/3"]))
        report = _lines(os.path.join(out, "report"))
        self.assertEqual(report[:2], [first, today])
        self.assertEqual([report.count(d) for d in (first, today)], [1, 1], report)

        # The bus: every event arrived, in order, with no gap, and every shard
        # went through ready, dispatched, running and succeeded.
        last = tap.wait_for(lambda e: e.get("kind") == "run" and e.get("date") == today
                            and e.get("state") == "succeeded")
        self.assertIsNotNone(last, "the tap never saw today's run succeed")
        events = [e for e in tap.events() if "seq" in e and e.get("source", "registry") == "registry"]
        seqs = [e["seq"] for e in events]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "gap or disorder in seqs")
        self.assertFalse([e for e in tap.events() if "gap" in e], "the tap reported a gap")
        for d in (first, today):
            moves = _transitions(events, "full", d)
            for (task, shard), states in moves.items():
                if task in ("start", "roll"):
                    wanted = ["succeeded"]
                elif shard == -1 and task in ("load", "compute"):
                    wanted = ["ready", "dispatched"]  # the whole task; its shards run alone
                elif task == "compute":
                    wanted = ["succeeded"]  # the built-in noop service ends as it starts
                else:
                    wanted = ["running", "succeeded"]
                self.assertTrue(_contains_in_order(states, wanted), "%s %s[%s]: %s" % (d, task, shard, states))
            flaky = moves[("flaky", -1)]
            self.assertTrue(_contains_in_order(flaky, ["ready", "dispatched", "running", "retrying",
                                                       "dispatched", "running", "succeeded"]),
                            "flaky on %s: %s" % (d, flaky))
            for shard in range(3):
                self.assertTrue(_contains_in_order(moves.get(("load", shard), []), ["running", "succeeded"]))
            runs_seen = [e["state"] for e in events if e.get("kind") == "run" and e.get("date") == d]
            self.assertTrue(_contains_in_order(runs_seen, ["running", "succeeded"]), runs_seen)

    def test_failed_task_then_retry(self):
        z = self.z
        d = day(-1)
        path = z.write("flow/retry.yaml", """\
flow: retry
tasks:
  - id: start
    type: start
  - id: needs_file
    after: [start]
    retries: 1
    retry_delay: 100ms
    run: test -f ready
  - id: after_it
    after: [needs_file]
    run: echo ran >> after_it.done
""")
        z.ok("submit", path)
        z.ok("start", "retry", "--date", d)
        r = z.run("wait", "retry", "--date", d, "--timeout", "30s", timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("needs_file", r.stderr)
        st = z.status("retry", d)
        self.assertEqual(st["state"], "failed")
        tasks = _by_id(st)
        self.assertEqual((tasks["needs_file"]["state"], tasks["needs_file"]["attempt"]), ("failed", 2))
        self.assertEqual(tasks["after_it"]["state"], "waiting")
        self.assertFalse(os.path.exists(os.path.join(z.dir, "flow/after_it.done")))

        open(os.path.join(z.dir, "flow/ready"), "w").close()
        z.ok("retry", "retry", "needs_file", "--date", d)
        z.ok("wait", "retry", "--date", d, "--timeout", "30s", timeout=60)
        tasks = _by_id(z.status("retry", d))
        self.assertIn(tasks["needs_file"]["state"], DONE)
        self.assertEqual(tasks["needs_file"]["attempt"], 3)
        self.assertIn(tasks["after_it"]["state"], DONE)
        self.assertEqual(_lines(os.path.join(z.dir, "flow/after_it.done")), ["ran"])

    def test_skip_lets_successors_run(self):
        z = self.z
        d = day(-1)
        path = z.write("flow/skip.yaml", """\
flow: skip
tasks:
  - id: start
    type: start
  - id: broken
    after: [start]
    shards: [a, b]
    run: test "$ZFLOW_SHARD_KEY" = a
  - id: after_it
    after: [broken]
    run: echo ran >> after_it.done
""")
        z.ok("submit", path)
        z.ok("start", "skip", "--date", d)
        self.assertEqual(z.run("wait", "skip", "--date", d, "--timeout", "30s", timeout=60).returncode, 1)
        tasks = _by_id(z.status("skip", d))
        self.assertEqual(tasks["broken"]["state"], "failed")
        self.assertEqual(tasks["broken"]["shards_done"], 1)
        z.ok("skip", "skip", "broken", "--date", d, "--shard", "b")
        z.ok("wait", "skip", "--date", d, "--timeout", "30s", timeout=60)
        tasks = _by_id(z.status("skip", d))
        self.assertIn(tasks["broken"]["state"], DONE)
        self.assertEqual(tasks["broken"]["shards_done"], 2)
        self.assertIn(tasks["after_it"]["state"], DONE)
        self.assertEqual(_lines(os.path.join(z.dir, "flow/after_it.done")), ["ran"])

    def test_pause_holds_dispatch_and_resume_releases_it(self):
        z = self.z
        d = day(-1)
        path = z.write("flow/pause.yaml", """\
flow: pause
tasks:
  - id: start
    type: start
  - id: work
    after: [start]
    run: echo ran >> work.done
""")
        z.ok("submit", path)
        tap = z.tap("--filter", "task.pause")
        z.ok("pause", "pause")
        z.ok("start", "pause", "--date", d)
        ready = tap.wait_for(lambda e: e.get("task") == "work" and e.get("state") == "ready")
        self.assertIsNotNone(ready, "work never became ready")
        # The registry decides dispatch in the same turn as readiness, so a
        # dispatch that pause failed to hold would already be on the bus.
        self.assertEqual(_by_id(z.status("pause", d))["work"]["state"], "ready")
        self.assertFalse([e for e in tap.events() if e.get("task") == "work" and e.get("state") == "dispatched"])
        self.assertFalse(os.path.exists(os.path.join(z.dir, "flow/work.done")))
        z.ok("resume", "pause")
        z.ok("wait", "pause", "--date", d, "--timeout", "30s", timeout=60)
        self.assertEqual(_lines(os.path.join(z.dir, "flow/work.done")), ["ran"])

    def test_cancel_stops_a_running_task(self):
        z = self.z
        d = day(-1)
        path = z.write("flow/cancel.yaml", """\
flow: cancel
tasks:
  - id: start
    type: start
  - id: long
    after: [start]
    run: echo $$ > long.pid; exec sleep 60
""")
        z.ok("submit", path)
        tap = z.tap("--filter", "task.cancel")
        z.ok("start", "cancel", "--date", d)
        self.assertIsNotNone(tap.wait_for(lambda e: e.get("task") == "long" and e.get("state") == "running"))
        z.ok("cancel", "cancel", "long", "--date", d)
        self.assertEqual(z.run("wait", "cancel", "--date", d, "--timeout", "30s", timeout=60).returncode, 1)
        self.assertEqual(_by_id(z.status("cancel", d))["long"]["state"], "cancelled")
        with open(os.path.join(z.dir, "flow/long.pid")) as f:
            pid = int(f.read())
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return  # already gone
        try:
            readable, _, _ = select.select([fd], [], [], 10)
            self.assertTrue(readable, "the cancelled command still runs")
        finally:
            os.close(fd)

    def test_dispatcher_killed_mid_run(self):
        z = self.z
        d = day(-1)
        # Work in flight when the dispatcher dies runs again, its rollback
        # first (docs/REGISTRY.md, "Lost work"): each task appends to a file
        # of its own, which its rollback removes.
        tasks = "".join("""\
  - id: t{i}
    after: [{after}]
    run: echo t{i} >> out/t{i}; sleep 0.1
    rollback: rm -f out/t{i}
""".format(i=i, after="start" if i < 4 else "t%d" % (i - 4)) for i in range(40))
        os.makedirs(os.path.join(z.dir, "flow/out"))
        path = z.write("flow/kill.yaml", "flow: kill\ntasks:\n  - id: start\n    type: start\n" + tasks)
        z.ok("submit", path)
        tap = z.tap("--filter", "task.kill")
        z.ok("start", "kill", "--date", d)
        tap.wait_for(lambda e: e.get("task") == "t8" and e.get("state") == "succeeded")
        pid = z.service_pid("zflow-dispatcher")
        self.assertIsNotNone(pid)
        os.kill(pid, signal.SIGKILL)
        z.ok("wait", "kill", "--date", d, "--timeout", "90s", timeout=120)
        st = z.status("kill", d)
        self.assertEqual(st["state"], "succeeded")
        # Exactly one line per task: an attempt run again without its rollback
        # shows here, where a set of names would hide it.
        lines = {"t%d" % i: _lines(os.path.join(z.dir, "flow/out/t%d" % i)) for i in range(40)}
        self.assertEqual({t: n for t, n in lines.items() if n != [t]}, {}, "tasks without exactly one line")
        self.assertNotEqual(z.service_pid("zflow-dispatcher"), pid, "the dispatcher was not restarted")


class HistoryTests(ZflowTest):
    """Runs beyond --keep-runs leave the registry's memory once durable; the
    command line still reads them, through the registry, from the store."""
    up_args = ("--keep-runs", "1")

    def test_archived_dates_read_from_the_store(self):
        z = self.z
        path = z.write("flow/hist.yaml", """\
flow: hist
timezone: UTC
calendar:
  weekdays: [mon, tue, wed, thu, fri, sat, sun]
tasks:
  - id: start
    type: start
  - id: work
    after: [start]
    shards: [north, south]
    run: echo "work $ZFLOW_SHARD_KEY $ZFLOW_DATE"
  - id: total
    after: [work]
    run: echo "total $ZFLOW_DATE"
""")
        z.ok("submit", path)
        tap = z.tap("--filter", "run.hist")
        dates = [day(-3), day(-2), day(-1)]
        for d in dates:
            z.ok("start", "hist", "--date", d)
            z.ok("wait", "hist", "--date", d, "--timeout", "30s", timeout=60)
        # Every date but the latest leaves memory once the store holds it.
        for d in dates[:2]:
            self.assertIsNotNone(tap.wait_for(lambda e, d=d: e.get("kind") == "run" and e.get("date") == d
                                              and e.get("state") == "archived"), d)
        self.assertFalse([e for e in tap.events() if e.get("date") == dates[2] and e.get("state") == "archived"])

        for d in dates:
            st = z.status("hist", d)
            self.assertEqual((st["flow"], st["date"], st["version"], st["state"]), ("hist", d, 1, "succeeded"))
            tasks = _by_id(st)
            self.assertEqual(set(tasks), {"start", "work", "total"})
            for t in tasks.values():
                self.assertIn(t["state"], DONE, (d, t))
                self.assertTrue(t["started"] and t["ended"], (d, t))
            self.assertEqual((tasks["work"]["shards_total"], tasks["work"]["shards_done"]), (2, 2))
            self.assertEqual(tasks["total"]["attempt"], 1)
        # The table too, and the latest run still comes from memory.
        self.assertIn("succeeded", z.ok("status", "hist", "--date", dates[0]))
        self.assertEqual(z.status("hist", dates[2])["date"], dates[2])
        self.assertEqual(json.loads(z.ok("status", "hist", "--json"))["date"], dates[2])

        # Logs of an archived date: the latest attempt on disk.
        self.assertIn("work south " + dates[0], z.ok("logs", "hist", "work", "--date", dates[0],
                                                      "--shard", "south"))
        self.assertIn("total " + dates[1], z.ok("logs", "hist", "total", "--date", dates[1]))
        # An archived run is history: actions say so, clearly.
        r = z.run("retry", "hist", "total", "--date", dates[0])
        self.assertEqual(r.returncode, 1)
        self.assertIn("archived", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        # A date never run is still unknown, archive or not.
        self.assertEqual(z.run("status", "hist", "--date", day(-9), "--json").returncode, 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
