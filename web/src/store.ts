// The page's replica of the gateway's state: a snapshot replaces it, an update merges into it.
// Listeners learn what changed, so each view redraws only what it must.

import { fmtFailover } from "./format";
import { BusError, Executor, Failover, FlowDef, RunRead, RunView, ServerMsg, TaskView } from "./protocol";

export interface Run {
  flow: string;
  date: string;
  version: number;
  state: string;
  paused: boolean;
  started: number;
  ended: number;
  archived: boolean;            // succeeded, its tasks in the archive: the gateway pushes none
  fromArchive: boolean;         // tasks holds what a run_status read from the archive (read-only)
  tasks: Map<string, TaskView>; // by id, in flow order (Map keeps insertion order)
}

// A message of the errors list: an ERROR of the bus, a local error (an action the gateway
// refused, a frame the page could not read), or a notice (a registry failover), which is news
// rather than something wrong.
export interface ShownError extends BusError {
  local: boolean;
  notice: boolean;
  n: number; // arrival order, newest highest
}

export interface Change {
  full: boolean;                        // a snapshot: everything may have changed
  flows: Set<string>;
  runs: Set<string>;                    // run keys whose own fields or task set changed
  tasks: Map<string, Set<string>>;      // run key -> ids of tasks that changed
  executors: boolean;
  errors: boolean;
}

const MAX_ERRORS = 200;

export function runKey(flow: string, date: string): string {
  return `${flow}\u0000${date}`;
}

export function emptyChange(): Change {
  return { full: false, flows: new Set(), runs: new Set(), tasks: new Map(), executors: false, errors: false };
}

export class Store {
  flows = new Map<string, FlowDef>();
  runs = new Map<string, Run>();
  executors = new Map<string, Executor>();
  errors: ShownError[] = []; // newest first
  seq = 0;
  epoch = 0;
  haveSnapshot = false;
  readOnlyOpen = true;
  actionsNeedToken = true;
  private errorCount = 0;
  private listeners: Array<(c: Change) => void> = [];

  subscribe(fn: (c: Change) => void): void {
    this.listeners.push(fn);
  }

  private emit(c: Change): void {
    for (const fn of this.listeners) fn(c);
  }

  apply(msg: ServerMsg): void {
    switch (msg.t) {
      case "hello":
        this.epoch = msg.epoch;
        this.readOnlyOpen = msg.read_only_open;
        this.actionsNeedToken = msg.actions_need_token;
        break;
      case "snapshot":
        this.applySnapshot(msg);
        break;
      case "update":
        this.applyUpdate(msg);
        break;
      case "error":
        this.addError({ time: msg.time, service: msg.service, message: msg.message }, false);
        break;
      case "failover":
        if (msg.epoch > this.epoch) this.epoch = msg.epoch;
        this.add({ ...failoverNotice(msg), local: false, notice: true });
        break;
      default:
        break;
    }
  }

  private applySnapshot(msg: Extract<ServerMsg, { t: "snapshot" }>): void {
    this.seq = msg.seq;
    this.flows = new Map(msg.flows.map((f) => [f.name, f]));
    this.runs = new Map();
    for (const r of msg.runs) this.runs.set(runKey(r.flow, r.date), toRun(r));
    this.executors = new Map(msg.executors.map((e) => [e.name, e]));
    // Bus errors and failovers come whole with the snapshot; the page's own errors stay.
    const local = this.errors.filter((e) => e.local);
    const bus = msg.errors.map((e) => ({ ...e, local: false, notice: false, n: ++this.errorCount }));
    const notices = msg.failovers.map((f) => ({ ...failoverNotice(f), local: false, notice: true, n: ++this.errorCount }));
    this.errors = [...bus, ...notices, ...local].sort(newestFirst).slice(0, MAX_ERRORS);
    this.haveSnapshot = true;
    const c = emptyChange();
    c.full = true;
    this.emit(c);
  }

  private applyUpdate(msg: Extract<ServerMsg, { t: "update" }>): void {
    if (msg.seq) this.seq = msg.seq;
    const c = emptyChange();
    for (const f of msg.flows) {
      this.flows.set(f.name, f);
      c.flows.add(f.name);
    }
    for (const r of msg.runs) {
      const key = runKey(r.flow, r.date);
      const held = this.runs.get(key);
      if (!held) {
        this.runs.set(key, toRun(r));
        c.runs.add(key);
        continue;
      }
      if (mergeRunFields(held, r)) c.runs.add(key);
      const ids = new Set<string>();
      for (const t of r.tasks) {
        if (!held.tasks.has(t.id)) c.runs.add(key);
        held.tasks.set(t.id, t);
        ids.add(t.id);
      }
      if (ids.size) c.tasks.set(key, ids);
    }
    for (const e of msg.executors) {
      this.executors.set(e.name, e);
      c.executors = true;
    }
    this.emit(c);
  }

  addError(e: BusError, local: boolean): void {
    this.add({ ...e, local, notice: false });
  }

  private add(e: Omit<ShownError, "n">): void {
    this.errors.unshift({ ...e, n: ++this.errorCount });
    this.errors.sort(newestFirst);
    if (this.errors.length > MAX_ERRORS) this.errors.length = MAX_ERRORS;
    const c = emptyChange();
    c.errors = true;
    this.emit(c);
  }

  // Gives an archived run the tasks the archive answered with (a `run_status`), read-only: an
  // archived run never changes. False if the run is not held or not archived.
  fillFromArchive(flow: string, date: string, tasks: TaskView[]): boolean {
    const key = runKey(flow, date);
    const r = this.runs.get(key);
    if (!r || !r.archived) return false;
    r.tasks = new Map(tasks.map((t) => [t.id, t]));
    r.fromArchive = true;
    const c = emptyChange();
    c.runs.add(key);
    this.emit(c);
    return true;
  }

  // Lets go of the tasks an archived run was given; they are asked again when it is shown.
  emptyArchived(key: string): void {
    const r = this.runs.get(key);
    if (!r || !r.fromArchive) return;
    r.tasks = new Map();
    r.fromArchive = false;
    const c = emptyChange();
    c.runs.add(key);
    this.emit(c);
  }

  // Dates of a flow's runs, newest first.
  runsOf(flow: string): Run[] {
    const out: Run[] = [];
    for (const r of this.runs.values()) if (r.flow === flow) out.push(r);
    return out.sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0));
  }

  run(flow: string, date: string): Run | undefined {
    return this.runs.get(runKey(flow, date));
  }
}

// A failover as an entry of the errors list: the registry that took the term, what happened,
// and how it took the term.
function failoverNotice(f: Failover): BusError {
  const what = fmtFailover(f);
  return { time: f.time, service: f.registry ?? "registry", message: f.detail ? `${what}: ${f.detail}` : what };
}

function newestFirst(a: ShownError, b: ShownError): number {
  return b.time - a.time || b.n - a.n;
}

function toRun(r: RunView): Run {
  return {
    flow: r.flow, date: r.date, version: r.version, state: r.state, paused: r.paused,
    started: r.started, ended: r.ended, archived: r.archived, fromArchive: false,
    tasks: new Map(r.archived ? [] : r.tasks.map((t) => [t.id, t])),
  };
}

// Copies the run-level fields an update carries; true if any changed. A run that becomes
// archived drops its tasks: they left the registry for the archive, and the gateway will send
// no more of them.
function mergeRunFields(held: Run, r: RunRead): boolean {
  let changed = false;
  const fields = ["version", "state", "paused", "started", "ended"] as const;
  for (const f of fields) {
    if (!r.present.has(f)) continue;
    if (held[f] !== r[f]) {
      (held as unknown as Record<string, unknown>)[f] = r[f];
      changed = true;
    }
  }
  if (r.archived && !held.archived) {
    held.archived = true;
    held.fromArchive = false;
    held.tasks = new Map();
    changed = true;
  }
  return changed;
}
