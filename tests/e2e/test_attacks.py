"""test_attacks.py - a running `zflow up` against peers that misbehave on purpose.

Each test starts its own `zflow up` on free 127.0.0.1 ports and attacks it with a few lines
of pyzmq, as anyone who can reach its ports could: oversized frames, requests whose replies
are never read, HELLOs with absurd terms, clients that never come back. After each attack the
services must still answer promptly, stay within their memory bounds, and run a flow.

Needs Debian's python3-zmq and python3-msgpack (deploy/install-deps.sh installs them).
"""
import os
import time
import unittest

import msgpack
import zmq

from harness import ZflowTest, day

# Offsets from zflow up's base port (DESIGN.md, "Default ports").
DISPATCHER, DISPATCHER_EVENTS, REGISTRY, REGISTRY_EVENTS = 0, 1, 10, 11

# Wire constants (docs/PROTOCOL.md).
MDPC = b"MDPC02"
HELLO, REQUEST, HEARTBEAT, ERROR = b"\x12", b"\x01", b"\x13", b"\x14"
BODY_HELLO, BODY_DISPATCH, BODY_REFUSED = 56, 50, 58
SNAPSHOT, PING, OK = 15, 19, 30
REFUSE_BAD_REQUEST, REFUSE_OVERLOADED = 1, 4
MAX_EPOCH = (1 << 53) - 1      # ZF_MAX_EPOCH
DISPATCHER_CLIENTS = 1024      # ZF_DISP_MAX_CLIENTS

NOOPS = """\
flow: noops
tasks:
  - id: start
    type: start
{tasks}
"""


def noop_flow(name, count):
    tasks = "".join("  - id: t%d\n    after: [start]\n    service: noop\n" % i for i in range(count))
    return NOOPS.replace("noops", name).format(tasks=tasks)


def rss_mib(pid):
    """Resident memory of a process, MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS for pid %d" % pid)


class AttackTest(ZflowTest):
    """A zflow up, a ZeroMQ context for the attacker, and the helpers every attack needs."""
    executors = 1

    def setUp(self):
        super().setUp()
        self.ctx = zmq.Context()
        self.ctx.max_sockets = 4096
        self.addCleanup(self.ctx.destroy, 0)

    def endpoint(self, offset):
        return "tcp://127.0.0.1:%d" % (self.z.base + offset)

    def dealer(self, offset, identity=None, **options):
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        if identity is not None:
            s.setsockopt(zmq.ROUTING_ID, identity)
        for name, value in options.items():
            s.setsockopt(getattr(zmq, name.upper()), value)
        s.connect(self.endpoint(offset))
        return s

    def ping(self, timeout=2.0):
        """Seconds the registry takes to answer PING on a fresh connection; None if it does not."""
        s = self.dealer(REGISTRY)
        try:
            start = time.monotonic()
            s.send_multipart([b"", msgpack.packb([1, PING, 7])])
            if not s.poll(int(timeout * 1000)):
                return None
            reply = msgpack.unpackb(s.recv_multipart()[-1])
            self.assertEqual(reply[1], OK)
            return time.monotonic() - start
        finally:
            s.close()

    def assert_prompt(self, what):
        took = self.ping()
        self.assertIsNotNone(took, "the registry does not answer %s" % what)
        self.assertLess(took, 0.5, "the registry answers slowly %s" % what)

    def run_flow(self, name, count=3):
        """Submits and runs a flow of no-op tasks; fails unless every task succeeds."""
        path = self.z.write(name + ".yaml", noop_flow(name, count))
        self.z.ok("submit", path)
        self.z.ok("start", name, "--date", day(0))
        self.z.ok("wait", name, "--date", day(0), "--timeout", "60s")
        states = {t["state"] for t in self.z.status(name, day(0))["tasks"]}
        self.assertTrue(states <= {"succeeded", "confirmed"}, states)

    def epoch(self):
        """The registry's term, from its file."""
        with open(os.path.join(self.z.dir, "var", "registry.epoch")) as f:
            return int(f.read())

    def mdp(self, socket, command, *frames):
        socket.send_multipart([b"", MDPC, command, *frames])

    def hello(self, socket, epoch, name):
        self.mdp(socket, HELLO, msgpack.packb([1, BODY_HELLO, epoch, name]))

    def answer(self, socket, timeout=5.0):
        """The next message from the dispatcher that is not a heartbeat: (command, body)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            self.assertGreater(left, 0, "the dispatcher did not answer")
            if not socket.poll(int(left * 1000)):
                continue
            frames = socket.recv_multipart()
            if frames[2] != HEARTBEAT:
                return frames[2], msgpack.unpackb(frames[-1]) if len(frames) > 3 else None


class EpochTests(AttackTest):
    """Only the registry moves the dispatcher's fence, and terms never wrap."""

    def test_absurd_terms_move_nothing(self):
        term = self.epoch()
        # The client table fills up (the registry is one of its clients),
        # with clients that stay alive: the dispatcher forgets quiet ones.
        fillers = []
        while True:
            self.assertLess(len(fillers), DISPATCHER_CLIENTS, "the client table has no end")
            s = self.dealer(DISPATCHER)
            self.hello(s, term, "filler-%d" % len(fillers))
            command, body = self.answer(s)
            if command == ERROR:
                self.assertEqual(body[2], REFUSE_OVERLOADED)
                s.close()
                break
            fillers.append(s)
            if len(fillers) % 100 == 0:
                for f in fillers:
                    self.mdp(f, HEARTBEAT)
        for s in fillers:
            self.mdp(s, HEARTBEAT)
        # A valid but far newer term finds no room; the largest term of all
        # is no registry's. Both are refused and move no fence.
        late = self.dealer(DISPATCHER)
        self.hello(late, MAX_EPOCH, "late")
        command, refused = self.answer(late)
        self.assertEqual((command, refused[1], refused[2]), (ERROR, BODY_REFUSED, REFUSE_OVERLOADED))
        self.assertEqual(refused[3], term)
        wild = self.dealer(DISPATCHER)
        self.hello(wild, 2 ** 64 - 1, "wild")
        command, refused = self.answer(wild)
        self.assertEqual((command, refused[2], refused[3]), (ERROR, REFUSE_BAD_REQUEST, term))
        # Orders from a term no registry announced are refused too, so no
        # job carries it to the executors.
        rogue = self.dealer(DISPATCHER)
        order = ["noops", 20000, "x", 1, 1, 0, None, [], None, None, [], None, 0, False, 0, []]
        self.mdp(rogue, REQUEST, b"noop", msgpack.packb([1, BODY_DISPATCH, MAX_EPOCH, [order]]))
        command, refused = self.answer(rogue)
        self.assertEqual((command, refused[2], refused[3]), (ERROR, REFUSE_BAD_REQUEST, term))
        for s in fillers + [late, wild, rogue]:
            s.close()
        # The registry kept its term and dispatches.
        self.run_flow("after")
        self.assertEqual(self.epoch(), term)


class QuietClientTests(AttackTest):
    """Clients that go quiet are forgotten, and what they held with them."""

    def test_anonymous_clients_that_never_acknowledge(self):
        term = self.epoch()
        # 1,100 anonymous clients each order a no-op task and never
        # acknowledge its result, nor say anything else.
        quiet = [self.dealer(DISPATCHER) for _ in range(1100)]
        for i, s in enumerate(quiet):
            order = ["quiet", 20000, "q%d" % i, 1, 1, 0, None, [], None, None, [], None, 0,
                     False, 0, []]
            self.mdp(s, REQUEST, b"noop", msgpack.packb([1, BODY_DISPATCH, term, [order]]))
        answers = {}
        poller = zmq.Poller()
        for s in quiet:
            poller.register(s, zmq.POLLIN)
        deadline = time.monotonic() + 60
        while len(answers) < len(quiet) and time.monotonic() < deadline:
            for s, _ in poller.poll(1000):
                frames = s.recv_multipart()
                answers.setdefault(s, frames)
        self.assertEqual(len(answers), len(quiet))
        # The table filled up.
        full = [f for f in answers.values() if f[2] == ERROR]
        self.assertGreater(len(full), 0)
        self.assertIn(b"too many clients", full[0][-1])
        # Past liveness the quiet ones are forgotten: a new client is taken.
        newcomer = self.dealer(DISPATCHER)
        deadline = time.monotonic() + 30
        while True:
            self.hello(newcomer, term, "newcomer")
            command, _ = self.answer(newcomer)
            if command == HELLO:
                break
            self.assertLess(time.monotonic(), deadline, "the dispatcher never forgot its quiet clients")
            # Nothing comes after a refusal: this only paces the next HELLO.
            newcomer.poll(250)
        newcomer.close()
        for s in quiet:
            s.close()
        # The registry, which heartbeats, was never forgotten.
        self.run_flow("after")
        self.assert_prompt("after the quiet clients")


if __name__ == "__main__":
    unittest.main()
