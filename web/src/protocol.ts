// The gateway's WebSocket protocol (zflow.v1): message shapes and a defensive reader.
// Every frame is one msgpack map with a type key "t". The reader never trusts a frame: each
// field is checked and replaced by a neutral value when missing or of the wrong type, so a
// bad frame can show odd data but never break the page.

export const SUBPROTOCOL = "zflow.v1";

export const TASK_STATES = [
  "waiting", "ready", "dispatched", "running", "succeeded", "confirmed",
  "failed", "retrying", "skipped", "cancelled", "rolled_back",
] as const;
export const RUN_STATES = ["waiting", "running", "succeeded", "failed", "cancelled"] as const;

export interface TaskView {
  id: string;
  state: string;
  attempt: number;
  shards_total: number;
  shards_done: number;
  shards_failed: number;
  shards_running: number;
  started: number;
  ended: number;
  executor: string | null;
  exit_status: number;
  detail: string | null;
  due: number;
}

export interface RunView {
  flow: string;
  date: string;
  version: number;
  state: string;
  paused: boolean;
  started: number;
  ended: number;
  // The run succeeded and its tasks left the registry's memory for the archive: the gateway
  // sends none (ask them with `run_status`). Absent on the wire means false.
  archived: boolean;
  tasks: TaskView[];
}

export interface FlowTaskDef {
  id: string;
  kind: string;
  service: string | null;
  after: string[];
  shards: number;
  shard_keys: string[] | null;
  not_before: string | null;
  speculative: boolean;
}

export interface FlowDef {
  name: string;
  version: number;
  paused: boolean;
  timezone: string;
  tasks: FlowTaskDef[];
}

export interface Executor {
  name: string;
  live: boolean;
  services: string[];
  slots: number;
  running: number;
  joined: number;
  lost: number;
}

export interface BusError {
  time: number;
  service: string;
  message: string;
}

// A registry took a new term while the gateway followed it: in a pair, a failover.
export interface Failover {
  time: number;
  epoch: number;
  registry: string | null; // "primary" or "backup" of a pair, "registry" alone
  detail: string | null;   // how it took the term ("took over from=… reason=…")
}

export interface ShardView {
  shard: number;
  key: string | null;
  state: string;
  attempt: number;
  started: number;
  ended: number;
  executor: string | null;
  exit_status: number;
  detail: string | null;
}

export interface HistoryRun {
  date: string;
  state: string;
  started: number;
  ended: number;
  archived: boolean;
}

export type ServerMsg =
  | { t: "hello"; version: number; seq: number; epoch: number; read_only_open: boolean; actions_need_token: boolean }
  | { t: "snapshot"; seq: number; flows: FlowDef[]; runs: RunView[]; executors: Executor[]; errors: BusError[];
      failovers: Failover[] }
  | { t: "update"; seq: number; flows: FlowDef[]; runs: RunRead[]; executors: Executor[] }
  | ({ t: "error" } & BusError)
  | ({ t: "failover" } & Failover)
  | { t: "reply"; id: number; ok: boolean; message: string }
  | { t: "shards"; id: number; flow: string; date: string; task: string; shards: ShardView[] }
  | { t: "logs"; id: number; text: string; truncated: boolean }
  | { t: "history"; id: number; flow: string; runs: HistoryRun[] }
  | { t: "run_status"; id: number; flow: string; date: string; run: RunView | null };

export type ActionName = "retry" | "skip" | "cancel" | "pause" | "resume" | "start";

export type ClientMsg =
  | { t: "action"; id: number; token: string | null; action: ActionName; flow: string; date: string | null;
      task: string | null; shard: string | number | null }
  | { t: "shards"; id: number; flow: string; date: string; task: string }
  | { t: "logs"; id: number; flow: string; date: string; task: string; shard: number | null; attempt: number }
  | { t: "history"; id: number; flow: string }
  | { t: "run_status"; id: number; flow: string; date: string };

type Raw = Record<string, unknown>;

function isMap(v: unknown): v is Raw {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function str(v: unknown, fallback = ""): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return fallback;
}

function strOrNull(v: unknown): string | null {
  return typeof v === "string" || v instanceof Uint8Array ? str(v) : null;
}

function num(v: unknown): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "bigint") return Number(v);
  return 0;
}

function bool(v: unknown): boolean {
  return v === true;
}

function list<T>(v: unknown, item: (x: unknown) => T | null): T[] {
  if (!Array.isArray(v)) return [];
  const out: T[] = [];
  for (const x of v) {
    const y = item(x);
    if (y !== null) out.push(y);
  }
  return out;
}

export function readTask(v: unknown): TaskView | null {
  if (!isMap(v) || typeof v.id !== "string") return null;
  return {
    id: v.id,
    state: str(v.state, "waiting"),
    attempt: num(v.attempt),
    shards_total: num(v.shards_total),
    shards_done: num(v.shards_done),
    shards_failed: num(v.shards_failed),
    shards_running: num(v.shards_running),
    started: num(v.started),
    ended: num(v.ended),
    executor: strOrNull(v.executor),
    exit_status: num(v.exit_status),
    detail: strOrNull(v.detail),
    due: num(v.due),
  };
}

// Fields absent from an update's RUNVIEW stay as they were; `present` lists those that came.
export interface RunRead extends RunView {
  present: Set<string>;
}

export function readRun(v: unknown): RunRead | null {
  if (!isMap(v) || typeof v.flow !== "string" || typeof v.date !== "string") return null;
  return {
    flow: v.flow,
    date: v.date,
    version: num(v.version),
    state: str(v.state, "waiting"),
    paused: bool(v.paused),
    started: num(v.started),
    ended: num(v.ended),
    archived: bool(v.archived),
    tasks: list(v.tasks, readTask),
    present: new Set(Object.keys(v)),
  };
}

function readFlowTask(v: unknown): FlowTaskDef | null {
  if (!isMap(v) || typeof v.id !== "string") return null;
  return {
    id: v.id,
    kind: str(v.kind, "run"),
    service: strOrNull(v.service),
    after: list(v.after, (x) => (typeof x === "string" ? x : null)),
    shards: num(v.shards),
    shard_keys: Array.isArray(v.shard_keys) ? list(v.shard_keys, (x) => (typeof x === "string" ? x : null)) : null,
    not_before: strOrNull(v.not_before),
    speculative: bool(v.speculative),
  };
}

export function readFlow(v: unknown): FlowDef | null {
  if (!isMap(v) || typeof v.name !== "string") return null;
  return {
    name: v.name,
    version: num(v.version),
    paused: bool(v.paused),
    timezone: str(v.timezone, "UTC"),
    tasks: list(v.tasks, readFlowTask),
  };
}

export function readExecutor(v: unknown): Executor | null {
  if (!isMap(v) || typeof v.name !== "string") return null;
  return {
    name: v.name,
    live: bool(v.live),
    services: list(v.services, (x) => (typeof x === "string" ? x : null)),
    slots: num(v.slots),
    running: num(v.running),
    joined: num(v.joined),
    lost: num(v.lost),
  };
}

function readError(v: unknown): BusError | null {
  if (!isMap(v)) return null;
  return { time: num(v.time), service: str(v.service, "?"), message: str(v.message) };
}

function readFailover(v: unknown): Failover | null {
  if (!isMap(v)) return null;
  return { time: num(v.time), epoch: num(v.epoch), registry: strOrNull(v.registry), detail: strOrNull(v.detail) };
}

function readShard(v: unknown): ShardView | null {
  if (!isMap(v)) return null;
  return {
    shard: num(v.shard),
    key: strOrNull(v.key),
    state: str(v.state, "waiting"),
    attempt: num(v.attempt),
    started: num(v.started),
    ended: num(v.ended),
    executor: strOrNull(v.executor),
    exit_status: num(v.exit_status),
    detail: strOrNull(v.detail),
  };
}

function readHistoryRun(v: unknown): HistoryRun | null {
  if (!isMap(v) || typeof v.date !== "string") return null;
  return {
    date: v.date, state: str(v.state, "waiting"), started: num(v.started), ended: num(v.ended),
    archived: bool(v.archived),
  };
}

// Turns a decoded frame into a typed message, or null when it is not one we know.
export function readServerMsg(v: unknown): ServerMsg | null {
  if (!isMap(v) || typeof v.t !== "string") return null;
  switch (v.t) {
    case "hello":
      return {
        t: "hello", version: num(v.version), seq: num(v.seq), epoch: num(v.epoch),
        read_only_open: v.read_only_open !== false, actions_need_token: v.actions_need_token !== false,
      };
    case "snapshot":
      return {
        t: "snapshot", seq: num(v.seq), flows: list(v.flows, readFlow), runs: list(v.runs, readRun),
        executors: list(v.executors, readExecutor), errors: list(v.errors, readError),
        failovers: list(v.failovers, readFailover),
      };
    case "update":
      return {
        t: "update", seq: num(v.seq), flows: list(v.flows, readFlow), runs: list(v.runs, readRun),
        executors: list(v.executors, readExecutor),
      };
    case "error":
      return { t: "error", time: num(v.time), service: str(v.service, "?"), message: str(v.message) };
    case "failover": {
      const f = readFailover(v);
      return f && { t: "failover", ...f };
    }
    case "reply":
      return { t: "reply", id: num(v.id), ok: bool(v.ok), message: str(v.message) };
    case "shards":
      return {
        t: "shards", id: num(v.id), flow: str(v.flow), date: str(v.date), task: str(v.task),
        shards: list(v.shards, readShard),
      };
    case "logs":
      return { t: "logs", id: num(v.id), text: str(v.text), truncated: bool(v.truncated) };
    case "history":
      return { t: "history", id: num(v.id), flow: str(v.flow), runs: list(v.runs, readHistoryRun) };
    case "run_status":
      return { t: "run_status", id: num(v.id), flow: str(v.flow), date: str(v.date), run: readRun(v.run) };
    default:
      return null;
  }
}

// Splits "id@-N" into its task and offset; a plain id has offset 0.
export function parseDep(dep: string): { id: string; offset: number } {
  const at = dep.lastIndexOf("@");
  if (at > 0) {
    const n = Number(dep.slice(at + 1));
    if (Number.isInteger(n) && n < 0) return { id: dep.slice(0, at), offset: n };
  }
  return { id: dep, offset: 0 };
}
