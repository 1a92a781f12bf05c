"""fault.py - one fault scenario: `zflow up --pair`, a run of short shell tasks, faults injected
at random moments of it, and the checks that every task's side effect is there exactly once.

A scenario is one random schedule of one kind (KINDS). Everything random in it comes from
random.Random(seed): the flow's slow tasks, the moments of the faults, their targets and
durations. The same seed and kind give the same schedule (the machine's timing does not
repeat, so a replay is the same schedule, not necessarily the same interleaving).

The flow: ZF_FAULT_TASKS tasks in chains after a start task. Each task appends a line
"TASK ATTEMPT" to out/TASK, its own file; its rollback removes that file. Both also note what
they do in j/TASK, the task's journal ("run A EXECUTOR PID", "done A PID", "rollback A
EXECUTOR PID"), so a failure shows which attempts ran, in which order, and where. One task in
a hundred sleeps before its append, so that some attempts are in the middle of their work when
a fault strikes.

Checks once the run has ended (docs/FAULTS.md, "The checks"): the run succeeded; every task's
file holds exactly one line, of the attempt the registry reports; no attempt number ran twice;
no attempt began before an earlier one had finished; every attempt after the first had a
rollback before it; the store, read through the archiver as `zflow status` reads it, agrees with
the registry; and once `zflow up` has stopped, no process of the scenario is left.
"""
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e"))
from harness import BIN, PORTS, Zflow, day  # noqa: E402
from proxy import Proxy  # noqa: E402

FLOW = "fault"
CHAINS = 20
SLOW_EVERY = 100          # one task in this many sleeps before its side effect
SLOW_SECONDS = (0.5, 1.5)
RUN_TIMEOUT = 300         # seconds for the run to end once the faults are over
STORE_TIMEOUT = 30        # seconds for the store to agree with the registry
LEFTOVER_TIMEOUT = 5      # seconds for processes to go once zflow up has stopped
SERVICE_TIMEOUT = 20      # seconds to wait for a service zflow up restarts (backoff up to 10 s)

# Port offsets of `zflow up` (tools/zflow/up.c) and the ones the pair's link proxies use.
REGISTRY, BACKUP, ARCHIVER, PEER_PRIMARY, PEER_BACKUP = 10, 12, 14, 20, 21
PROXY_PEER_PRIMARY, PROXY_PEER_BACKUP, PROXY_PRIMARY, PROXY_BACKUP = 22, 23, 24, 26

# Liveness: a registry of a pair counts its peer silent after two heartbeats of 250 ms;
# the dispatcher and the executors after three of 1 s (docs/REGISTRY.md, docs/DISPATCHER.md).
PEER_LIVENESS = 0.5
WORKER_LIVENESS = 3.0

KINDS = ("kill_active", "kill_passive", "kill_dispatcher", "kill_executor", "kill_archiver",
         "kill_gateway", "sigstop", "cold_pair", "burst", "partition")


def flow_text(tasks, rng):
    """The flow: a start task, then tasks in CHAINS chains; returns (text, names, slow)."""
    chains = max(1, min(CHAINS, tasks // 10))
    lines = ["flow: %s" % FLOW, "defaults: {retries: 0}", "tasks:", "  - id: start", "    type: start"]
    names, slow = [], {}
    for c in range(chains):
        length = tasks // chains + (1 if c < tasks % chains else 0)
        for i in range(length):
            name = "c%d_%d" % (c, i)
            after = "start" if i == 0 else "c%d_%d" % (c, i - 1)
            pause = ""
            if rng.randrange(SLOW_EVERY) == 0:
                slow[name] = round(rng.uniform(*SLOW_SECONDS), 2)
                pause = "sleep %s; " % slow[name]
            lines += ["  - id: %s" % name,
                      "    after: [%s]" % after,
                      '    run: echo "run $ZFLOW_ATTEMPT $ZFLOW_EXECUTOR $$" >> "j/$ZFLOW_TASK"; %s'
                      'echo "$ZFLOW_TASK $ZFLOW_ATTEMPT" >> "out/$ZFLOW_TASK"; '
                      'echo "done $ZFLOW_ATTEMPT $$" >> "j/$ZFLOW_TASK"' % pause,
                      '    rollback: rm -f "out/$ZFLOW_TASK"; '
                      'echo "rollback $ZFLOW_ATTEMPT $ZFLOW_EXECUTOR $$" >> "j/$ZFLOW_TASK"']
            names.append(name)
    return "\n".join(lines) + "\n", names, slow


def registry_wrapper():
    """The script that starts a registry of the pair with its links to the peer through the
    proxies: --peer (the peer's state PUB) and --peer-registry (the peer's requests, its events
    on the next port) name the proxy's port instead, a fixed distance from the port `zflow up`
    gives (`zflow up --pair` has no option for other peer endpoints)."""
    shift = {"--peer": PROXY_PEER_PRIMARY - PEER_PRIMARY, "--peer-registry": PROXY_PRIMARY - REGISTRY}
    assert PROXY_PEER_BACKUP - PEER_BACKUP == shift["--peer"]
    assert PROXY_BACKUP - BACKUP == shift["--peer-registry"]
    return "\n".join([
        "#!%s" % sys.executable,
        "# A registry of a fault scenario: its links to the peer go through the test's proxies.",
        "import os, sys",
        "SHIFT = %r" % shift,
        "args = sys.argv[1:]",
        "for i in range(len(args) - 1):",
        "    if args[i] in SHIFT:",
        "        host, port = args[i + 1].rsplit(':', 1)",
        "        args[i + 1] = '%s:%d' % (host, int(port) + SHIFT[args[i]])",
        "os.execv(%r, [sys.argv[0]] + args)" % os.path.join(BIN, "zflow-registry"),
    ]) + "\n"


class Failure(AssertionError):
    pass


class Scenario:
    """One scenario: run() starts zflow, injects, checks, stops; raises Failure with the
    evidence when a check fails. log(...) lines go to stdout as they happen."""

    def __init__(self, kind, seed, tasks):
        assert kind in KINDS
        self.kind, self.seed, self.tasks = kind, seed, tasks
        self.rng = random.Random(seed)
        self.actions = []
        self.notes = []
        self.t0 = time.monotonic()
        self.z = None
        self.proxies = []
        self.stopped = []   # pids under SIGSTOP, resumed whatever happens

    # ---- the course of a scenario

    def log(self, text):
        now = time.time()
        line = "  [%6.2f %s.%03dZ] %s" % (time.monotonic() - self.t0, time.strftime("%H:%M:%S", time.gmtime(now)),
                                          int(now * 1000) % 1000, text)
        self.actions.append(line)
        print(line, flush=True)

    def run(self):
        print("scenario=%s seed=%d tasks=%d  (replay: ZF_FAULT_SCENARIO=%s ZF_FAULT_SEED=%d)"
              % (self.kind, self.seed, self.tasks, self.kind, self.seed), flush=True)
        self.text, self.names, self.slow = flow_text(self.tasks, self.rng)
        failure = None
        try:
            self._start()
            self._inject()
            self._check_run()
        except Failure as e:
            failure = e
        except Exception as e:   # a scenario that breaks is reported like a failed check
            failure = Failure("%s: %s" % (type(e).__name__, e))
        finally:
            for pid in self.stopped:
                _signal(pid, signal.SIGCONT)
            if self.z:
                self.z.stop(keep=True)
            for p in self.proxies:
                p.close()
        if self.z:
            try:
                self._check_leftovers()
            except Failure as e:
                failure = e if failure is None else Failure("%s\n%s" % (failure, e))
        if failure is None:
            takeovers = len([t for t in self._turns() if "registry active" in t])
            self.z.stop(keep=None)
            self.log("passed (a registry became active %d times, the first start included)" % takeovers)
        else:
            failure = Failure("scenario=%s seed=%d failed; folder kept: %s\n%s\nactions:\n%s\n"
                              "what the services said (up.log):\n%s"
                              % (self.kind, self.seed, self.z.dir if self.z else "-", failure,
                                 "\n".join(self.actions), "\n".join(self._turns()[:40])))
            raise failure

    def _start(self):
        partition = self.kind == "partition"
        wrappers = {"zflow-registry": registry_wrapper()} if partition else None
        self.z = Zflow(executors=2, extra=("--pair", "-v"), programs=wrappers)
        z = self.z
        z.env["ZFLOW_REQUEST_TIMEOUT"] = "30s"
        if partition:
            b = z.base
            for listen, target in ((PROXY_PEER_PRIMARY, PEER_PRIMARY), (PROXY_PEER_BACKUP, PEER_BACKUP),
                                   (PROXY_PRIMARY, REGISTRY), (PROXY_PRIMARY + 1, REGISTRY + 1),
                                   (PROXY_BACKUP, BACKUP), (PROXY_BACKUP + 1, BACKUP + 1)):
                self.proxies.append(Proxy(b + listen, b + target))
        self.log("zflow up --pair in %s, base port %d" % (z.dir, z.base))
        self.flow_dir = os.path.join(z.dir, "flow")
        self.out = os.path.join(self.flow_dir, "out")
        self.journal = os.path.join(self.flow_dir, "j")
        os.makedirs(self.out)
        os.makedirs(self.journal)
        z.ok("submit", z.write("flow/%s.yaml" % FLOW, self.text))
        self.date = day(-1)
        z.ok("start", FLOW, "--date", self.date)
        self.log("started %s for %s: %d tasks, %d slow" % (FLOW, self.date, self.tasks, len(self.slow)))

    # ---- moments and targets

    def _progress(self):
        """Tasks whose side effect is there now (their file exists)."""
        try:
            return len(os.listdir(self.out))
        except OSError:
            return 0

    def _wait_progress(self, at_least, timeout=120):
        """Waits until at_least tasks have their file; False if the run got no further."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._progress() >= at_least:
                return True
            time.sleep(0.02)
        return False

    def _moments(self, count, low=0.05, high=0.8):
        """count progress marks (task counts) at random fractions of the run, ascending."""
        return sorted(int(self.tasks * self.rng.uniform(low, high)) for _ in range(count))

    def _pid(self, service, timeout=SERVICE_TIMEOUT):
        """The pid of a service of zflow up: dispatcher, primary, backup, executor-N, archiver,
        gateway. Waits (bounded) for one that zflow up is restarting."""
        program, arg = {"dispatcher": ("zflow-dispatcher", None), "primary": ("zflow-registry", "primary"),
                        "backup": ("zflow-registry", "backup"), "archiver": ("zflow-archiver", None),
                        "gateway": ("zflow-gateway", None)}.get(service, ("zflow-executor", service))
        deadline = time.monotonic() + timeout
        while True:
            pid = self.z.service_pid(program, arg)
            if pid is not None or time.monotonic() > deadline:
                return pid
            time.sleep(0.05)

    def _active(self, timeout):
        """The role of the registry that answers as active, waiting at most timeout; None if
        neither does. The passive one answers ERROR passive, which a client of that one
        endpoint reports as a failure."""
        env = dict(self.z.env, ZFLOW_REQUEST_TIMEOUT="500ms")
        deadline = time.monotonic() + timeout
        while True:
            for role, offset in (("primary", REGISTRY), ("backup", BACKUP)):
                r = subprocess.run([os.path.join(BIN, "zflow"), "status", "--registry",
                                    "tcp://127.0.0.1:%d" % (self.z.base + offset)],
                                   env=env, capture_output=True, text=True, timeout=30)
                if r.returncode == 0:
                    return role
            if time.monotonic() > deadline:
                return None

    def _vote(self):
        """A client request, as a user makes: it is also the vote that lets a passive registry
        take over from a silent active one. Its outcome is noted, not checked."""
        start = time.monotonic()
        r = self.z.run("status", FLOW, "--date", self.date, "--json", timeout=60)
        self.log("zflow status -> %d in %.2f s%s" % (r.returncode, time.monotonic() - start,
                                                     "" if r.returncode == 0 else ": " + r.stderr.strip()))

    def _kill(self, service, sig=signal.SIGKILL):
        pid = self._pid(service)
        if pid is None:
            self.log("no %s to signal (zflow up did not restart it within %d s)" % (service, SERVICE_TIMEOUT))
            return None
        _signal(pid, sig)
        self.log("%s %s pid %d" % (signal.Signals(sig).name, service, pid))
        return pid

    def _registry_role(self, want_active, timeout=10):
        active = self._active(timeout)
        if active is None:
            role = self.rng.choice(("primary", "backup"))
            self.log("no registry answers as active; taking the %s" % role)
            return role
        return active if want_active else ("backup" if active == "primary" else "primary")

    # ---- the kinds

    def _inject(self):
        getattr(self, "_inject_" + self.kind)()

    def _each_moment(self, count, action, low=0.05, high=0.8):
        done = 0
        for mark in self._moments(count, low, high):
            if not self._wait_progress(mark):
                raise Failure("the run made no progress to %d tasks in 120 s (at %d)" % (mark, self._progress()))
            self.log("moment: %d of %d tasks have their file" % (self._progress(), self.tasks))
            action()
            done += 1
        return done

    def _inject_kill_active(self):
        def act():
            self._kill(self._registry_role(True))
            self._vote()
        self._each_moment(self.rng.randint(2, 4), act)

    def _inject_kill_passive(self):
        def act():
            self._kill(self._registry_role(False))
        self._each_moment(self.rng.randint(2, 4), act)

    def _simple(self, service):
        self._each_moment(self.rng.randint(2, 4), lambda: self._kill(service))

    def _inject_kill_dispatcher(self):
        self._simple("dispatcher")

    def _inject_kill_executor(self):
        self._each_moment(self.rng.randint(2, 4),
                          lambda: self._kill(self.rng.choice(("executor-1", "executor-2"))))

    def _inject_kill_archiver(self):
        self._simple("archiver")

    def _inject_kill_gateway(self):
        self._simple("gateway")

    def _inject_sigstop(self):
        def act():
            target = self.rng.choice(("active", "passive", "dispatcher", "executor-1", "executor-2",
                                      "archiver", "gateway"))
            registry = target in ("active", "passive")
            service = self._registry_role(target == "active") if registry else target
            liveness = PEER_LIVENESS if registry else WORKER_LIVENESS
            hold = self.rng.uniform(liveness + 0.5, liveness + 3.0)
            pid = self._kill(service, signal.SIGSTOP)
            if pid is None:
                return
            self.stopped.append(pid)
            until = time.monotonic() + hold
            if target == "active":
                self._vote()
            time.sleep(max(0.0, until - time.monotonic()))   # the fault itself: stopped this long
            _signal(pid, signal.SIGCONT)
            self.stopped.remove(pid)
            self.log("SIGCONT %s pid %d after %.2f s (%s liveness %.1f s)"
                     % (service, pid, hold, target, liveness))
        self._each_moment(self.rng.randint(2, 3), act)

    def _inject_cold_pair(self):
        def act():
            first = self.rng.choice(("primary", "backup"))
            self._kill(first)
            self._kill("backup" if first == "primary" else "primary")
            self._vote()
        self._each_moment(self.rng.randint(1, 3), act)

    def _inject_burst(self):
        """The active registry three times, then the archiver, the dispatcher and an executor,
        all within 15 s."""
        def act():
            start = time.monotonic()
            for i in range(3):
                self._kill(self._registry_role(True, timeout=2))
                time.sleep(self.rng.uniform(0.2, 1.5))   # the schedule's gap, not a wait for anything
            for service in ("archiver", "dispatcher", self.rng.choice(("executor-1", "executor-2"))):
                self._kill(service)
                time.sleep(self.rng.uniform(0.2, 1.0))
            took = time.monotonic() - start
            self.log("burst of six kills in %.1f s" % took)
            if took > 15:
                self.notes.append("the burst took %.1f s, more than 15 s" % took)
            self._vote()
        self._each_moment(self.rng.randint(1, 2), act, high=0.6)

    def _inject_partition(self):
        def act():
            mode = self.rng.choice(("stall", "reset"))
            hold = self.rng.uniform(1.0, 5.0)
            for p in self.proxies:
                p.cut(mode)
            self.log("link between the registries cut (%s) for %.2f s" % (mode, hold))
            until = time.monotonic() + hold
            self._vote()
            time.sleep(max(0.0, until - time.monotonic()))   # the fault itself: cut this long
            for p in self.proxies:
                p.heal()
            self.log("link healed (%d bytes relayed so far)" % sum(p.relayed for p in self.proxies))
        self._each_moment(self.rng.randint(1, 3), act)

    # ---- checks

    def _check_run(self):
        z = self.z
        self.log("faults done; waiting for the run to end")
        r = z.run("wait", FLOW, "--date", self.date, "--timeout", "%ds" % RUN_TIMEOUT, timeout=RUN_TIMEOUT + 60)
        self.log("zflow wait -> %d: %s" % (r.returncode, (r.stdout + r.stderr).strip()))
        status = z.status(FLOW, self.date)
        problems = []
        if r.returncode != 0 or status["state"] != "succeeded":
            problems.append("the run did not succeed: zflow wait -> %d %s; state %s; tasks not done: %s"
                            % (r.returncode, (r.stdout + r.stderr).strip(), status["state"],
                               [(t["id"], t["state"], t["attempt"], t["detail"]) for t in status["tasks"]
                                if t["state"] not in ("succeeded", "confirmed", "skipped")][:10]))
        attempts = {t["id"]: t["attempt"] for t in status["tasks"]}
        bad = {}
        for name in self.names:
            why = self._check_task(name, attempts.get(name))
            if why:
                bad[name] = why
        if bad:
            problems.append("%d tasks broke the invariants:\n%s" % (len(bad), "\n".join(
                self._evidence(name, why) for name, why in list(bad.items())[:8])))
        store = self._check_store(status)
        if store:
            problems.append(store)
        if problems:
            raise Failure("\n".join(problems))
        self.log("run succeeded; every task's file holds one line of the attempt the registry "
                 "reports; the store agrees")

    def _lines(self, folder, name):
        try:
            with open(os.path.join(folder, name)) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def _check_task(self, name, attempt):
        """What is wrong with one task's side effect and journal, or None."""
        out = self._lines(self.out, name)
        journal = [line.split() for line in self._lines(self.journal, name)]
        why = []
        if len(out) != 1:
            why.append("%d lines in its file" % len(out))
        elif out[0] != "%s %s" % (name, attempt):
            why.append("its line is %r, the registry says attempt %s" % (out[0], attempt))
        runs = [j[1] for j in journal if len(j) >= 2 and j[0] == "run"]
        if len(set(runs)) != len(runs):
            why.append("an attempt ran twice: %s" % runs)
        working = None        # the attempt that began last and has not said done
        latest = None         # the attempt that began last
        rolled_back = True    # a rollback since that attempt began
        for j in journal:
            if len(j) < 2:
                why.append("a torn journal line %r" % " ".join(j))
                continue
            if j[0] == "run":
                if working is not None:
                    why.append("attempt %s began while attempt %s was still working" % (j[1], working))
                elif not rolled_back:
                    why.append("attempt %s ran after attempt %s without a rollback between" % (j[1], latest))
                working, latest, rolled_back = j[1], j[1], False
            elif j[0] == "done":
                if j[1] != latest:
                    why.append("attempt %s finished after attempt %s had begun" % (j[1], latest))
                elif rolled_back:
                    why.append("attempt %s finished after the rollback of the next one" % j[1])
                else:
                    working = None
            elif j[0] == "rollback":
                # An attempt that never said done was interrupted, or is still working: the
                # rollback is where the next attempt takes over, and a later "done" of the old
                # one shows they overlapped.
                working, rolled_back = None, True
        return "; ".join(why) or None

    def _evidence(self, name, why):
        """What a failed task left: its file, its journal, the log lines that name it."""
        z = self.z
        lines = ["  task %s: %s" % (name, why),
                 "    out/%s: %r" % (name, self._lines(self.out, name)),
                 "    j/%s: %r" % (name, self._lines(self.journal, name))]
        if name in self.slow:
            lines.append("    (a slow task: sleeps %s s before its line)" % self.slow[name])
        logs = os.path.join(z.dir, "var", "logs", FLOW, self.date)
        if os.path.isdir(logs):
            files = sorted(f for f in os.listdir(logs) if f.startswith(name + "."))
            if files:
                lines.append("    task logs: %s" % files)
        with open(os.path.join(z.dir, "up.log"), errors="replace") as f:
            hits = [line.rstrip() for line in f if (" %s " % name) in line or ("=%s " % name) in line
                    or line.rstrip().endswith(name)]
        lines += ["    up.log: " + h for h in hits[:12]]
        return "\n".join(lines)

    def _check_store(self, status):
        """Polls the archiver's STATUS until it agrees with the registry's (bounded): the run's
        state, and each task's state and attempt. Returns the disagreement, or None."""
        z = self.z
        archiver = "tcp://127.0.0.1:%d" % (z.base + ARCHIVER)
        deadline = time.monotonic() + STORE_TIMEOUT
        while True:
            registry = z.status(FLOW, self.date)
            r = z.run("status", FLOW, "--date", self.date, "--json", "--registry", archiver)
            diff = "the archiver's STATUS failed: %s" % r.stderr.strip()
            if r.returncode == 0:
                store = json.loads(r.stdout)
                diff = _status_diff(registry, store)
                if diff is None:
                    return None
            if time.monotonic() > deadline:
                return "the store disagrees with the registry after %d s: %s" % (STORE_TIMEOUT, diff)
            time.sleep(0.2)

    def _turns(self):
        """The lines of up.log that say who drove the run: takeovers, step-downs, restarts,
        lost sessions, recoveries, lost work."""
        if not self.z:
            return []
        keys = ("registry active", "stepped down", "service restarted", "session lost", "recovered run",
                "requeue", "executor lost", "new registry history", "cannot go from")
        try:
            with open(os.path.join(self.z.dir, "up.log"), errors="replace") as f:
                return ["  " + line.rstrip() for line in f if any(k in line for k in keys)]
        except OSError:
            return []

    def _check_leftovers(self):
        """No process of the scenario once zflow up has stopped: none whose cwd or command line
        points into its folder or names one of its ports."""
        marks = [self.z.dir.encode()] + [b"127.0.0.1:%d" % p for p in range(self.z.base, self.z.base + PORTS)]
        deadline = time.monotonic() + LEFTOVER_TIMEOUT
        while True:
            left = _processes_with(self.z.dir, marks)
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if left:
            raise Failure("processes left behind after stop:\n%s" % "\n".join("  %d %s" % p for p in left))
        self.log("no process left behind")


def _status_diff(registry, store):
    """None if the two STATUS replies agree on the run and every task, else what differs."""
    if registry["state"] != store["state"]:
        return "run state: registry %s, store %s" % (registry["state"], store["state"])
    reg = {t["id"]: (t["state"], t["attempt"]) for t in registry["tasks"]}
    sto = {t["id"]: (t["state"], t["attempt"]) for t in store["tasks"]}
    differ = sorted(set(reg) | set(sto), key=lambda k: (k not in reg, k))
    differ = [(k, reg.get(k), sto.get(k)) for k in differ if reg.get(k) != sto.get(k)]
    if differ:
        return "%d tasks differ (task, registry, store): %s" % (len(differ), differ[:10])
    return None


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _processes_with(folder, marks):
    """(pid, command line) of every process but this one whose cwd is in folder or whose
    command line holds one of marks; zombies are left out."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmdline = f.read()
            try:
                cwd = os.readlink("/proc/%s/cwd" % entry)
            except OSError:
                cwd = ""
        except (OSError, IndexError):
            continue
        if cwd == folder or cwd.startswith(folder + "/") or any(m in cmdline for m in marks):
            found.append((int(entry), cmdline.replace(b"\0", b" ").decode(errors="replace").strip()))
    return found
