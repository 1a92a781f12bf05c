"""proxy.py - a TCP relay on 127.0.0.1 that can cut the link it carries.

The two registries of a pair talk over three links: each one's state PUB (--peer), and the
passive's requests and event subscription to the active (--peer-registry, and the port after
it). A Proxy relays one listening port to one target; a scenario puts one on each of those
links and cuts them all at once, while clients still reach both registries directly.

Two ways to cut, as a network fails:
- "stall": bytes stop moving both ways, connections stay open (packets dropped, TCP waits);
  when the link heals, what was queued flows on;
- "reset": every connection is closed and new ones are closed as soon as they are accepted
  (a peer that answers with RST); when the link heals, connections are made afresh.
"""
import selectors
import socket
import threading

CHUNK = 65536


class Proxy:
    """Relays 127.0.0.1:listen to 127.0.0.1:target in a thread of its own."""

    def __init__(self, listen, target):
        self.target = target
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", listen))
        self.server.listen(64)
        self.server.setblocking(False)
        self.mode = "up"          # "up", "stall" or "reset"
        self.pairs = {}           # socket -> the socket it relays to
        self.pending = {}         # socket -> bytes read but not yet written to its pair
        self.lock = threading.Lock()
        self.wake_r, self.wake_w = socket.socketpair()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.server, selectors.EVENT_READ, "accept")
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.running = True
        self.relayed = 0          # bytes relayed, for the report
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def cut(self, mode):
        """Cuts the link ("stall" or "reset") until heal()."""
        assert mode in ("stall", "reset")
        with self.lock:
            self.mode = mode
        self.wake_w.send(b"x")

    def heal(self):
        with self.lock:
            self.mode = "up"
        self.wake_w.send(b"x")

    def close(self):
        self.running = False
        self.wake_w.send(b"x")
        self.thread.join(5)
        for sock in list(self.pairs):
            sock.close()
        self.server.close()
        self.wake_r.close()
        self.wake_w.close()
        self.selector.close()

    def _drop(self, sock):
        """Closes a connection and the one it relays to."""
        for s in (sock, self.pairs.get(sock)):
            if s is None or s not in self.pairs:
                continue
            try:
                self.selector.unregister(s)
            except (KeyError, ValueError):
                pass
            self.pairs.pop(s, None)
            self.pending.pop(s, None)
            s.close()

    def _watch(self, sock, mode):
        """What to wait for on sock: reading while the link is up and nothing waits to be
        written to its pair; writing while bytes for it wait."""
        events = 0
        peer = self.pairs.get(sock)
        if mode == "up":
            if peer is not None and not self.pending.get(peer):
                events |= selectors.EVENT_READ
            if self.pending.get(sock):
                events |= selectors.EVENT_WRITE
        registered = sock in self._registered()
        try:
            if events and registered:
                self.selector.modify(sock, events, "relay")
            elif events:
                self.selector.register(sock, events, "relay")
            elif registered:
                self.selector.unregister(sock)
        except (ValueError, OSError):
            self._drop(sock)

    def _registered(self):
        return {key.fileobj for key in self.selector.get_map().values()}

    def _loop(self):
        while self.running:
            with self.lock:
                mode = self.mode
            if mode == "reset":
                for sock in list(self.pairs):
                    self._drop(sock)
            for sock in list(self.pairs):
                self._watch(sock, mode)
            for key, _ in self.selector.select(timeout=0.5):
                if key.data == "wake":
                    key.fileobj.recv(4096)
                elif key.data == "accept":
                    self._accept(mode)
                elif key.fileobj in self.pairs:
                    self._relay(key.fileobj, mode)

    def _accept(self, mode):
        try:
            client, _ = self.server.accept()
        except OSError:
            return
        if mode == "reset":
            client.close()
            return
        upstream = socket.socket()
        try:
            upstream.connect(("127.0.0.1", self.target))
        except OSError:
            client.close()
            upstream.close()
            return
        client.setblocking(False)
        upstream.setblocking(False)
        self.pairs[client] = upstream
        self.pairs[upstream] = client

    def _relay(self, sock, mode):
        if mode != "up":
            return
        peer = self.pairs.get(sock)
        try:
            if self.pending.get(sock):
                sent = sock.send(self.pending[sock])
                self.pending[sock] = self.pending[sock][sent:]
            if peer is not None and not self.pending.get(peer):
                data = sock.recv(CHUNK)
                if not data:
                    self._drop(sock)
                    return
                self.relayed += len(data)
                self.pending[peer] = data
        except BlockingIOError:
            pass
        except OSError:
            self._drop(sock)
