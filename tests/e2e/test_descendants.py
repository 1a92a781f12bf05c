"""test_descendants.py - a task's descendants die with the task, even those that left its
process group.

The task starts `setsid sleep 300` (its own session, so no signal to the task's process group
reaches it) and hands its pid to the test through a FIFO. The test then cancels the task, or
kills the executor with SIGKILL, and checks that the sleep is gone within a deadline.
"""
import os
import select
import signal
import threading
import unittest

from harness import ZflowTest, day

# The task: a daemon in a session of its own, which says its pid through the FIFO and becomes
# `sleep 300`; the task's shell waits for it.
FLOW = """\
flow: {flow}
tasks:
  - id: start
    type: start
  - id: spawn
    after: [start]
    run: setsid sh -c 'echo $$ > {fifo}; exec sleep 300' & wait
"""


def _read_fifo(path, timeout):
    """What a writer puts into the FIFO at path, or None if none came within timeout seconds.
    Opening a FIFO for reading waits for a writer; if none comes, the test opens it for
    writing itself, which ends the wait."""
    got = {}

    def reader():
        with open(path) as f:
            got["text"] = f.read()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5)
        return None
    return got.get("text")


def _gone(pid, timeout):
    """True if the process pid ends within timeout seconds (or was gone already)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


class DescendantTests(ZflowTest):
    executors = 1

    def _start_daemon(self, flow):
        """Starts the flow on yesterday and returns (date, the daemon's pid) once it runs."""
        z = self.z
        d = day(-1)
        fifo = os.path.join(z.dir, "daemon.fifo")
        os.mkfifo(fifo)
        path = z.write("flow/%s.yaml" % flow, FLOW.format(flow=flow, fifo=fifo))
        z.ok("submit", path)
        z.ok("start", flow, "--date", d)
        text = _read_fifo(fifo, 30)
        self.assertIsNotNone(text, "the task did not start its daemon")
        pid = int(text)
        # It did leave the task's session and process group.
        self.assertEqual(os.getsid(pid), pid)
        self.addCleanup(self._kill_if_left, pid)
        return d, pid

    def _kill_if_left(self, pid):
        """Ends a daemon this test started if it outlived the test (it failed then)."""
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def test_cancel_kills_a_setsid_daemon(self):
        z = self.z
        d, pid = self._start_daemon("detach")
        z.ok("cancel", "detach", "spawn", "--date", d)
        self.assertEqual(z.run("wait", "detach", "--date", d, "--timeout", "30s", timeout=60).returncode, 1)
        self.assertEqual({t["id"]: t for t in z.status("detach", d)["tasks"]}["spawn"]["state"], "cancelled")
        self.assertTrue(_gone(pid, 10), "the cancelled task's daemon still runs")

    def test_executor_killed_kills_a_setsid_daemon(self):
        z = self.z
        d, pid = self._start_daemon("orphan")
        executor = z.service_pid("zflow-executor")
        self.assertIsNotNone(executor)
        os.kill(executor, signal.SIGKILL)
        self.assertTrue(_gone(pid, 10), "the daemon outlived its executor")


if __name__ == "__main__":
    unittest.main()
