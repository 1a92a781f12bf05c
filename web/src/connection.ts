// The WebSocket to the gateway: connects, decodes frames, matches answers to requests by id,
// and reconnects with exponential backoff after any loss. It never polls: the gateway pushes a
// snapshot on every (re)connect and updates after it.

import { decode, encode } from "@msgpack/msgpack";
import { ClientMsg, SUBPROTOCOL, ServerMsg, readServerMsg } from "./protocol";

export type LinkStatus = "connecting" | "open" | "reconnecting";

export interface LinkState {
  status: LinkStatus;
  attempt: number;     // failed attempts since the last good connection
  retryAt: number;     // when the next attempt starts (ms epoch), while reconnecting
  reason: string;      // why the last connection ended, for the banner
  everOpened: boolean; // whether this page has had a connection at all
}

// Answers the page waits for: everything with an id except update/snapshot.
export type Answer = Extract<ServerMsg, { id: number }>;

interface Pending {
  resolve: (a: Answer) => void;
  reject: (e: Error) => void;
  timer: number;
}

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const REQUEST_TIMEOUT_MS = 15000;

// Requests that carry an id; the connection assigns it.
type Request = ClientMsg extends infer M ? (M extends { id: number } ? Omit<M, "id"> : never) : never;

export class Connection {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private retryTimer = 0;
  private stopped = false;
  state: LinkState = { status: "connecting", attempt: 0, retryAt: 0, reason: "", everOpened: false };

  constructor(
    private url: () => string,
    private onMessage: (m: ServerMsg) => void,
    private onState: (s: LinkState) => void,
    private onBadFrame: (why: string) => void,
  ) {
    window.addEventListener("online", () => this.reconnectNow());
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  // Closes the current socket (if any) and connects at once, e.g. after a new token.
  reconnectNow(): void {
    if (this.stopped) return;
    window.clearTimeout(this.retryTimer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
      this.failPending("connection restarted");
    }
    this.open();
  }

  get isOpen(): boolean {
    return this.state.status === "open";
  }

  private setState(patch: Partial<LinkState>): void {
    this.state = { ...this.state, ...patch };
    this.onState(this.state);
  }

  private open(): void {
    this.setState({ status: this.state.everOpened || this.state.attempt ? "reconnecting" : "connecting", retryAt: 0 });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url(), SUBPROTOCOL);
    } catch (e) {
      this.scheduleRetry(String(e));
      return;
    }
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => {
      this.setState({ status: "open", attempt: 0, reason: "", everOpened: true });
    };
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failPending("disconnected");
      const why = ev.code === 1000 ? "closed by the gateway"
        : ev.reason ? ev.reason
        : this.state.status === "open" ? `connection lost, code ${ev.code}`
        : "gateway unreachable";
      this.scheduleRetry(why);
    };
  }

  private scheduleRetry(reason: string): void {
    if (this.stopped) return;
    const attempt = this.state.attempt + 1;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt - 1, 10));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.setState({ status: "reconnecting", attempt, reason, retryAt: Date.now() + delay });
    this.retryTimer = window.setTimeout(() => this.open(), delay);
  }

  private receive(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.onBadFrame("a text frame (the protocol sends binary msgpack only)");
      return;
    }
    let raw: unknown;
    try {
      raw = decode(new Uint8Array(data));
    } catch (e) {
      this.onBadFrame(`a frame that is not msgpack (${(e as Error).message})`);
      return;
    }
    const msg = readServerMsg(raw);
    if (!msg) {
      const t = typeof raw === "object" && raw && "t" in raw ? String((raw as { t: unknown }).t) : "?";
      this.onBadFrame(`a frame of unknown type "${t}"`);
      return;
    }
    if ("id" in msg && msg.id !== 0) {
      const p = this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        window.clearTimeout(p.timer);
        p.resolve(msg);
        return;
      }
    }
    this.onMessage(msg);
  }

  // Sends a request and resolves with the gateway's answer (reply, shards, logs or history).
  request(msg: Request): Promise<Answer> {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error("not connected to the gateway"));
        return;
      }
      const id = this.nextId++;
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error("no answer from the gateway"));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(encode({ ...msg, id }));
    });
  }

  private failPending(why: string): void {
    for (const [, p] of this.pending) {
      window.clearTimeout(p.timer);
      p.reject(new Error(why));
    }
    this.pending.clear();
  }
}
