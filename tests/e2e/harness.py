"""harness.py - a private zflow for end-to-end tests, driven as a user drives it.

Starts `zflow up` on free 127.0.0.1 ports in a temporary folder, runs `zflow` verbs
against it and follows the bus with `zflow-tap --json`. Every wait has a deadline;
everything started is stopped, even when a test fails.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

# The programs: $ZF_BIN_DIR (CTest sets it), else $ZF_BUILD_DIR/bin, else build/bin of this
# checkout, so a test file run directly from any folder finds them.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ZF_BIN_DIR") or os.path.join(ROOT, os.environ.get("ZF_BUILD_DIR", "build"), "bin")
PORTS = 30  # zflow up uses offsets 0..29 from its base port


def _port_range():
    """Where to look for ports: below the kernel's ephemeral range, whose ports any outgoing
    connection (every service makes many) may take between our check and a service's bind."""
    low, high = 32768, 60999
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(x) for x in f.read().split())
    except (OSError, ValueError):
        pass
    if low - PORTS > 10000:
        return 10000, low - PORTS
    return high + 1, 65535 - PORTS


def _free_base():
    """A base port whose 30 ports are all free now, outside the ephemeral range."""
    first, last = _port_range()
    for _ in range(200):
        base = random.randrange(first, last)
        socks = []
        try:
            for port in range(base, base + PORTS):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def _store_options(name):
    """--store for `zflow up`: with ZF_PG_DIR (the PostgreSQL fixture of the build), a fresh
    database on that server; otherwise nothing (the embedded SQLite store in --dir)."""
    pg_dir = os.environ.get("ZF_PG_DIR")
    if not pg_dir:
        return ()
    with open(os.path.join(pg_dir, "pg.base")) as f:
        base = f.read().strip()
    database = "e2e_" + "".join(c if c.isalnum() else "_" for c in name).lower()
    subprocess.run(["psql", "-q", "-d", base + "/postgres", "-c", "CREATE DATABASE %s" % database],
                   check=True, capture_output=True)
    return ("--store", base + "/" + database)


class Tap:
    """zflow-tap --json --snapshot in the background, its lines collected.

    The tap subscribes, then takes a snapshot; from the snapshot's sequence
    number on it misses nothing (a gap is repaired from the registry). The
    constructor returns once the snapshot has ended, so whatever a test does
    afterwards is seen. Snapshot items are kept apart from the events."""

    def __init__(self, env, *args):
        self.proc = subprocess.Popen([os.path.join(BIN, "zflow-tap"), "--json", "--snapshot", *args],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.lines = []
        self.snapshot = []
        self.subscribed = False
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 20
        with self.cond:
            while not self.subscribed and self.proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
        if not self.subscribed:
            self.stop()
            raise RuntimeError("zflow-tap did not take its snapshot")

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                try:
                    event = json.loads(line)
                except ValueError:
                    event = {"unparsed": line}
                if event.get("snapshot") is True:
                    self.snapshot.append(event)
                elif event.get("kind") == "snapshot_end":
                    self.subscribed = True
                else:
                    self.lines.append(event)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, predicate, timeout=30):
        """Waits until some collected event satisfies predicate; returns it or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for event in self.lines:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def events(self):
        with self.cond:
            return list(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(5)
        self.proc.stdout.close()


def _private_bin(folder, programs):
    """A folder of programs for `zflow up` to start: every program of BIN, with those named in
    programs (name -> the text of an executable script) replaced. `zflow up` starts the
    services from the folder it runs from (its /proc/self/exe, symbolic links resolved), so
    `zflow` itself is a hard link (or a copy) there and the others symbolic links."""
    os.makedirs(folder)
    for name in sorted(os.listdir(BIN)):
        if not name.startswith("zflow"):
            continue
        path = os.path.join(folder, name)
        if name in programs:
            with open(path, "w") as f:
                f.write(programs[name])
            os.chmod(path, 0o755)
        elif name == "zflow":
            try:
                os.link(os.path.join(BIN, name), path)
            except OSError:
                shutil.copy2(os.path.join(BIN, name), path)
        else:
            os.symlink(os.path.join(BIN, name), path)
    return folder


class Zflow:
    """A zflow instance of its own: `zflow up` plus the command line.

    programs (optional) replaces services `zflow up` starts: name -> the text of an executable
    script, which typically execs the real program (BIN/name) with other arguments. Its process
    keeps the name it was started as, so service_pid finds it."""

    def __init__(self, executors=2, extra=(), programs=None):
        self.dir = tempfile.mkdtemp(prefix="zflow-e2e.")
        self.base = _free_base()
        up_bin = _private_bin(os.path.join(self.dir, "bin"), programs) if programs else BIN
        extra = tuple(extra) + _store_options(os.path.basename(self.dir))
        self.env = dict(os.environ)
        # With --pair, the primary's and the backup's requests, as `zflow up` prints them.
        self.env["ZFLOW_REGISTRY"] = ",".join("tcp://127.0.0.1:%d" % (self.base + offset)
                                              for offset in ((10, 12) if "--pair" in extra else (10,)))
        self.env["PATH"] = BIN + ":" + self.env.get("PATH", "")
        self.log = open(os.path.join(self.dir, "up.log"), "w")
        self.up = subprocess.Popen([os.path.join(up_bin, "zflow"), "up", "--dir", os.path.join(self.dir, "var"),
                                    "--base-port", str(self.base), "--executors", str(executors),
                                    "--http", "127.0.0.1:%d" % (self.base + PORTS - 1), *extra],
                                   env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.taps = []
        # A request to a registry that is not bound yet waits in ZeroMQ's queue
        # until it is, so each call below blocks until the registry answers or
        # the command gives up; no sleeping in between.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.up.poll() is None:
            if self.run("status").returncode == 0:
                return
        # The log first: stop() removes the folder.
        with open(os.path.join(self.dir, "up.log"), errors="replace") as f:
            log = f.read()
        self.stop()
        raise RuntimeError("zflow up did not come up:\n" + log)

    def run(self, *args, timeout=60):
        return subprocess.run([os.path.join(BIN, "zflow"), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def ok(self, *args, timeout=60):
        r = self.run(*args, timeout=timeout)
        if r.returncode != 0:
            raise AssertionError("zflow %s -> %d\nstdout: %s\nstderr: %s" % (" ".join(args), r.returncode,
                                                                             r.stdout, r.stderr))
        return r.stdout

    def status(self, flow, date):
        return json.loads(self.ok("status", flow, "--date", date, "--json"))

    def tap(self, *args):
        t = Tap(self.env, *args)
        self.taps.append(t)
        return t

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def service_pid(self, program, arg=None):
        """The pid of a service that zflow up started (by program name, and with arg among its
        arguments if given)."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    argv = f.read().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if (ppid == self.up.pid and os.path.basename(argv[0].decode()) == program and
                    (arg is None or arg.encode() in argv)):
                return int(entry)
        return None

    def stop(self, keep=None):
        """Stops everything; the folder stays if keep (default: when ZF_KEEP is set)."""
        for t in self.taps:
            t.stop()
        if self.up.poll() is None:
            self.up.send_signal(signal.SIGTERM)
            try:
                self.up.wait(15)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.up.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.up.wait()
        self.log.close()
        if keep is None:
            keep = os.environ.get("ZF_KEEP") is not None
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class ZflowTest(unittest.TestCase):
    """A test case with a fresh zflow per test; up_args go to `zflow up`."""
    executors = 2
    up_args = ()

    def setUp(self):
        self.z = Zflow(executors=self.executors, extra=self.up_args)
        self.addCleanup(self.z.stop)


def day(offset):
    """A UTC date offset days from today, as YYYY-MM-DD."""
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset * 86400))
