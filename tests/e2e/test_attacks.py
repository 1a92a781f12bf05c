"""test_attacks.py - a running `zflow up` against peers that misbehave on purpose.

Each test starts its own `zflow up` on free 127.0.0.1 ports and attacks it with a few lines
of pyzmq, as anyone who can reach its ports could: oversized frames, requests whose replies
are never read, HELLOs with absurd terms, clients that never come back. After each attack the
services must still answer promptly, stay within their memory bounds, and run a flow.

Needs Debian's python3-zmq and python3-msgpack (deploy/install-deps.sh installs them).
"""
import os
import socket
import struct
import time
import unittest

import msgpack
import zmq

from harness import ZflowTest, day

# Offsets from zflow up's base port (DESIGN.md, "Default ports").
DISPATCHER, DISPATCHER_EVENTS, REGISTRY, REGISTRY_EVENTS, ARCHIVER = 0, 1, 10, 11, 14
BACKUP, BACKUP_EVENTS, PEER_PRIMARY, PEER_BACKUP = 12, 13, 20, 21   # zflow up --pair

# Wire constants (docs/PROTOCOL.md).
MDPC = b"MDPC02"
HELLO, REQUEST, HEARTBEAT, ERROR = b"\x12", b"\x01", b"\x13", b"\x14"
BODY_HELLO, BODY_DISPATCH, BODY_REFUSED = 56, 50, 58
SUBMIT, SNAPSHOT, PING, OK, ERROR_BODY, EVENTS_REPLY = 10, 15, 19, 30, 31, 33
ERR_UNAVAILABLE = 6
ERR_PASSIVE = 8
PEER_QUEUE_MIB = 64            # ZF_PEER_QUEUE
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
        # Memory is measured here: in a sanitizer build, the quarantine of freed blocks (256 MiB
        # by default) would count as growth. The services of these tests keep a small one.
        saved = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = (saved + ":" if saved else "") + "quarantine_size_mb=16"
        try:
            super().setUp()
        finally:
            if saved is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = saved
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


def zmtp_frames(socket_type, frames):
    """Bytes a ZMTP 3.0 peer of socket_type sends (RFC 23): greeting, READY, then frames."""
    greeting = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" * 32
    name = b"Socket-Type"
    ready = b"\x05READY" + bytes([len(name)]) + name + struct.pack(">I", len(socket_type)) + socket_type
    out = [greeting, b"\x04" + bytes([len(ready)]) + ready]
    for i, frame in enumerate(frames):
        more = 1 if i + 1 < len(frames) else 0
        out.append(bytes([0x02 | more]) + struct.pack(">Q", len(frame)))
        out.append(frame)
    return out


class OversizedFrameTests(AttackTest):
    """A frame larger than any zflow sends costs the sender its connection, not the service
    its memory: every socket has a maximum message size. The attacker speaks ZMTP over a
    plain TCP socket, so nothing on its side keeps or checks what it sends."""

    def attack(self, offset, socket_type, frames):
        """Sends frames to port +offset; True if the service dropped the connection."""
        conn = socket.create_connection(("127.0.0.1", self.z.base + offset), timeout=10)
        try:
            for part in zmtp_frames(socket_type, frames):
                conn.sendall(part)
            # All of it went out: the service took it; it must still drop us.
            conn.settimeout(5)
            while conn.recv(65536):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        finally:
            conn.close()

    def test_fifty_megabytes_at_every_port(self):
        programs = ("zflow-registry", "zflow-dispatcher", "zflow-archiver")
        pids = {p: self.z.service_pid(p) for p in programs}
        self.assertNotIn(None, pids.values(), pids)
        before = {p: rss_mib(pid) for p, pid in pids.items()}
        big = b"x" * (50 * 1024 * 1024)
        # A subscription that size to each events port (libzmq would keep it
        # as a tree of one node per byte)...
        for offset in (REGISTRY_EVENTS, DISPATCHER_EVENTS):
            self.assertTrue(self.attack(offset, b"SUB", [b"\x01" + big]),
                            "port +%d kept a 50 MB subscriber" % offset)
        # ...and a request that size to each request port.
        for offset in (REGISTRY, DISPATCHER, ARCHIVER):
            self.assertTrue(self.attack(offset, b"DEALER", [b"", big]),
                            "port +%d kept a 50 MB frame" % offset)
        self.assert_prompt("after 50 MB frames")
        for p, pid in pids.items():
            grew = rss_mib(pid) - before[p]
            self.assertLess(grew, 40, "%s grew by %.0f MiB" % (p, grew))
        self.run_flow("after")


class PairAttackTests(OversizedFrameTests):
    """The ports a Binary Star pair adds: the backup's requests and events, and the two
    registries' state ports. Oversized frames cost the sender its connection; a client that
    sends PING after PING to the passive registry and never reads its ERROR passive answers
    does not grow it; and the pair goes on serving with the same processes."""
    up_args = ("--pair",)

    def ping(self, timeout=2.0):
        """Seconds the active registry of the pair takes to answer PING; None if neither
        answers OK (a passive one answers ERROR passive)."""
        for offset in (REGISTRY, BACKUP):
            s = self.dealer(offset)
            try:
                start = time.monotonic()
                s.send_multipart([b"", msgpack.packb([1, PING, 7])])
                if s.poll(int(timeout * 1000)) and msgpack.unpackb(s.recv_multipart()[-1])[1] == OK:
                    return time.monotonic() - start
            finally:
                s.close()
        return None

    def registries(self):
        pids = {role: self.z.service_pid("zflow-registry", role) for role in ("primary", "backup")}
        self.assertNotIn(None, pids.values(), pids)
        return pids

    def test_fifty_megabytes_at_every_port(self):
        pids = self.registries()
        before = {role: rss_mib(pid) for role, pid in pids.items()}
        big = b"x" * (50 * 1024 * 1024)
        for offset in (BACKUP_EVENTS, PEER_PRIMARY, PEER_BACKUP):
            self.assertTrue(self.attack(offset, b"SUB", [b"\x01" + big]),
                            "port +%d kept a 50 MB subscriber" % offset)
        self.assertTrue(self.attack(BACKUP, b"DEALER", [b"", big]),
                        "port +%d kept a 50 MB frame" % BACKUP)
        self.assert_prompt("after 50 MB frames")
        self.assertEqual(self.registries(), pids, "a registry of the pair died")
        for role, pid in pids.items():
            grew = rss_mib(pid) - before[role]
            self.assertLess(grew, 40, "the %s grew by %.0f MiB" % (role, grew))
        self.run_flow("after")

    def test_passive_flooded_and_never_read(self):
        pids = self.registries()
        before = rss_mib(pids["backup"])
        s = self.dealer(BACKUP, rcvhwm=1, sndhwm=0)
        try:
            for i in range(200000):
                s.send_multipart([b"", msgpack.packb([1, PING, i])])
            # Its answers are ERROR passive; the passive registry has answered them all (or
            # dropped what its client does not read) once a fresh client is answered.
            # Each request is a client's vote too: on a machine so busy that the active one
            # missed its heartbeats, the backup may have taken over, and answers OK.
            s2 = self.dealer(BACKUP)
            s2.send_multipart([b"", msgpack.packb([1, PING, 1])])
            self.assertTrue(s2.poll(30000), "the passive registry stopped answering")
            reply = msgpack.unpackb(s2.recv_multipart()[-1])
            self.assertTrue(reply[1] == OK or (reply[1] == ERROR_BODY and reply[3] == ERR_PASSIVE),
                            reply)
            s2.close()
            grew = rss_mib(pids["backup"]) - before
            self.assertLess(grew, 64, "the passive registry grew by %.0f MiB" % grew)
        finally:
            s.close()
        self.assertEqual(self.registries(), pids, "a registry of the pair died")
        self.assert_prompt("after the flood")
        self.run_flow("after")


class UnreadRepliesTests(AttackTest):
    """What the registry queues for one client is bounded in bytes: a client that asks and
    never reads is refused, and its queue goes with it."""

    def snapshot(self, socket, req_id):
        socket.send_multipart([b"", msgpack.packb([1, SNAPSHOT, req_id])])

    def test_eighty_snapshots_never_read(self):
        # 40,000 tasks run: each snapshot is several megabytes.
        for name in ("big1", "big2"):
            path = self.z.write(name + ".yaml", noop_flow(name, 20000))
            self.z.ok("submit", path)
            self.z.ok("start", name, "--date", day(0))
        for name in ("big1", "big2"):
            self.z.ok("wait", name, "--date", day(0), "--timeout", "300s", timeout=400)
        pid = self.z.service_pid("zflow-registry")
        before = rss_mib(pid)
        # A client that reads (almost) nothing asks for 80 of them.
        greedy = self.dealer(REGISTRY, rcvhwm=1, rcvbuf=4096)
        for i in range(80):
            self.snapshot(greedy, 100 + i)
        # Its requests are handled in order: once the flow it submits last
        # exists, every snapshot was either queued for it or refused.
        marker = noop_flow("marker", 1)
        greedy.send_multipart([b"", msgpack.packb([1, SUBMIT, 999, marker, None])])
        deadline = time.monotonic() + 120
        while self.z.run("status", "marker").returncode != 0:
            self.assertLess(time.monotonic(), deadline, "the registry never reached the last request")
        for _ in range(3):
            self.assert_prompt("while a client leaves its replies unread")
        grew = rss_mib(pid) - before
        self.assertLess(grew, PEER_QUEUE_MIB + 100, "the registry grew by %.0f MiB" % grew)
        # When it reads at last: a few snapshots, then refusals that say why.
        served, refused, parts = 0, 0, {}
        deadline = time.monotonic() + 120
        while served + refused < 80:
            self.assertLess(time.monotonic(), deadline, "served %d refused %d" % (served, refused))
            if not greedy.poll(5000):
                break
            reply = msgpack.unpackb(greedy.recv_multipart()[-1], strict_map_key=False)
            if reply[1] == EVENTS_REPLY:
                parts[reply[2]] = parts.get(reply[2], 0) + 1
                if parts[reply[2]] == reply[5]:
                    served += 1
            else:
                self.assertEqual((reply[1], reply[3]), (ERROR_BODY, ERR_UNAVAILABLE), reply)
                self.assertIn("not read", reply[4])
                refused += 1
        self.assertEqual(served + refused, 80)
        # The marker's OK came last.
        self.assertTrue(greedy.poll(5000))
        self.assertEqual(msgpack.unpackb(greedy.recv_multipart()[-1])[1:3], [OK, 999])
        self.assertGreater(refused, 40)
        self.assertGreater(served, 0)
        greedy.close()
        self.assert_prompt("after the client left")
        self.run_flow("after")


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
