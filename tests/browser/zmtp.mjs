// A minimal ZMTP 3.0 DEALER (NULL security) that sends one multi-frame message and hangs up.
// The browser test uses it to hand the registry a malformed request, which the registry must
// report on the bus as an ERROR event (and the dashboard must then show).

import { connect } from "node:net";

function greeting() {
  const g = Buffer.alloc(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3; // version 3.0
  g[11] = 0;
  g.write("NULL", 12, "ascii");
  return g;
}

function frame(flags, body) {
  if (body.length > 255) {
    const head = Buffer.alloc(9);
    head[0] = flags | 0x02;
    head.writeBigUInt64BE(BigInt(body.length), 1);
    return Buffer.concat([head, body]);
  }
  return Buffer.concat([Buffer.from([flags, body.length]), body]);
}

function ready(socketType) {
  const name = Buffer.from("Socket-Type");
  const value = Buffer.from(socketType);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(value.length);
  const body = Buffer.concat([Buffer.from([5]), Buffer.from("READY"), Buffer.from([name.length]), name, len, value]);
  return frame(0x04, body);
}

// Sends `frames` (Buffers or strings) as one message to a ROUTER at host:port.
export function sendDealerMessage(host, port, frames, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let got = Buffer.alloc(0);
    let sent = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`ZMTP handshake with ${host}:${port} timed out`));
    }, timeoutMs);
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on("connect", () => sock.write(Buffer.concat([greeting(), ready("DEALER")])));
    sock.on("data", (d) => {
      got = Buffer.concat([got, d]);
      // The peer's greeting (64 bytes) and its READY command: then we may talk.
      if (sent || got.length < 64 + 2) return;
      sent = true;
      const parts = frames.map((f, i) => frame(i < frames.length - 1 ? 0x01 : 0x00, Buffer.from(f)));
      sock.write(Buffer.concat(parts), () => {
        clearTimeout(timer);
        // Give the bytes a moment to leave before closing; end() flushes them.
        sock.end();
        resolve();
      });
    });
  });
}
