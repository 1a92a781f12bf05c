// A stand-in for zflow-gateway that speaks the dashboard's WebSocket protocol (zflow.v1) and
// serves web/dist/. Behind it sits a small simulation of flows, runs, tasks, shards and
// executors, so the dashboard can be developed and tested without the C services.
//
//   node mock/server.mjs [--port 8090] [--token T] [--big 2000] [--churn]
//
// Used in-process by ui-mock.test.mjs through startMock().

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { join, dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encode, decode } from "@msgpack/msgpack";
import { WebSocketServer } from "ws";

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_WEB = resolve(HERE, "../../../web/dist");
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css" };
const DONE = new Set(["succeeded", "confirmed", "skipped"]);

// A flow like the one the real browser test submits: a gated task, a sharded task, plain tasks.
export function demoFlow(name = "demo") {
  return {
    name, version: 1, paused: false, timezone: "UTC",
    tasks: [
      { id: "start", kind: "start", after: [], ms: 0 },
      { id: "prepare", kind: "run", after: ["start"], ms: 300 },
      { id: "flaky", kind: "run", after: ["prepare"], ms: 300, gate: "flaky" },
      { id: "split", kind: "run", after: ["prepare"], ms: 900, shards: 3, shard_keys: ["north", "south", "east"] },
      { id: "report", kind: "run", after: ["flaky", "split", "report@-1"], ms: 300 },
      { id: "publish", kind: "service", service: "publish", after: ["report"], ms: 200 },
    ],
  };
}

// A generated flow of n tasks in layers, each after one to three tasks of earlier layers.
export function bigFlow(n, name = "big") {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const tasks = [{ id: "start", kind: "start", after: [], ms: 0 }];
  const width = Math.ceil(Math.sqrt(n) * 1.5);
  const layers = [["start"]];
  for (let i = 1; i < n; i++) {
    const l = Math.floor((i - 1) / width) + 1;
    if (!layers[l]) layers[l] = [];
    const deps = new Set();
    const k = 1 + Math.floor(rnd() * 3);
    for (let j = 0; j < k; j++) {
      const from = layers[Math.max(0, l - 1 - Math.floor(rnd() * Math.min(l, 3)))];
      deps.add(from[Math.floor(rnd() * from.length)]);
    }
    const id = `t${String(i).padStart(4, "0")}`;
    const sharded = rnd() < 0.05;
    tasks.push({
      id, kind: "run", after: [...deps], ms: 200 + Math.floor(rnd() * 800),
      ...(sharded ? { shards: 4, shard_keys: null } : {}),
    });
    layers[l].push(id);
  }
  return { name, version: 1, paused: false, timezone: "UTC", tasks };
}

function taskDefOut(t) {
  return {
    id: t.id, kind: t.kind, service: t.service ?? null, after: t.after, shards: t.shards ?? 0,
    shard_keys: t.shard_keys ?? null, not_before: t.not_before ?? null, speculative: !!t.speculative,
  };
}

function flowOut(f) {
  return { name: f.name, version: f.version, paused: f.paused, timezone: f.timezone, tasks: f.tasks.map(taskDefOut) };
}

function taskOut(t) {
  const total = t.shards.length || 1;
  const count = (s) => (t.shards.length ? t.shards.filter((x) => x.state === s || (s === "done" && DONE.has(x.state))).length
    : s === "done" ? (DONE.has(t.state) ? 1 : 0) : t.state === s ? 1 : 0);
  return {
    id: t.id, state: t.state, attempt: t.attempt, shards_total: total, shards_done: count("done"),
    shards_failed: count("failed"), shards_running: count("running"), started: t.started, ended: t.ended,
    executor: t.executor, exit_status: t.exit_status, detail: t.detail, due: 0,
  };
}

export class Sim {
  constructor() {
    this.flows = new Map();
    this.runs = new Map();
    this.executors = new Map([
      ["executor-1", { name: "executor-1", live: true, services: ["shell"], slots: 4, running: 0, joined: Date.now(), lost: 0 }],
      ["executor-2", { name: "executor-2", live: true, services: ["shell", "publish"], slots: 4, running: 0, joined: Date.now(), lost: 0 }],
    ]);
    this.errors = [];
    this.failovers = []; // the latest 16, as the gateway keeps them for snapshots
    this.epoch = 1;
    this.gates = new Set();
    this.seq = 1;
    this.onChange = () => {};
    this.timers = new Set();
    this.speed = 1;
    this.archiveDown = false; // run_status of an archived run: refused as the registry would
    this.requests = new Map(); // requests received by type
  }

  key(flow, date) {
    return `${flow}|${date}`;
  }

  later(ms, fn) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms / this.speed);
    this.timers.add(t);
  }

  stop() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  changed(run, ids, runFields = false) {
    this.seq++;
    this.onChange({ run, ids, runFields });
  }

  addFlow(def) {
    this.flows.set(def.name, def);
    this.seq++;
    this.onChange({ flow: def.name });
  }

  addError(service, message) {
    const e = { time: Date.now(), service, message };
    this.errors.unshift(e);
    this.errors.length = Math.min(this.errors.length, 100);
    this.seq++;
    this.onChange({ error: e });
  }

  // A registry takes a new term while the gateway follows it (a failover in a pair): every
  // page gets a "failover" message, and later snapshots list it.
  failover(registry, detail) {
    const f = { time: Date.now(), epoch: ++this.epoch, registry, detail };
    this.failovers.push(f);
    this.failovers = this.failovers.slice(-16);
    this.onChange({ failover: f });
    return f;
  }

  start(flowName, date) {
    const flow = this.flows.get(flowName);
    if (!flow) return `unknown flow ${flowName}`;
    const key = this.key(flowName, date);
    if (this.runs.has(key)) return `run ${flowName} ${date} already exists`;
    const run = {
      flow: flowName, date, version: flow.version, state: "running", paused: false, started: Date.now(), ended: 0,
      tasks: new Map(),
    };
    for (const d of flow.tasks) {
      run.tasks.set(d.id, {
        id: d.id, def: d, state: "waiting", attempt: 0, started: 0, ended: 0, executor: null, exit_status: 0,
        detail: null, logs: [],
        shards: d.shards ? Array.from({ length: d.shards }, (_, i) => ({
          shard: i, key: d.shard_keys?.[i] ?? null, state: "waiting", attempt: 0, started: 0, ended: 0,
          executor: null, exit_status: 0, detail: null,
        })) : [],
      });
    }
    this.runs.set(key, run);
    this.changed(run, [...run.tasks.keys()], true);
    this.later(20, () => this.advance(run));
    return null;
  }

  // Puts every waiting task whose predecessors are done on its way.
  advance(run) {
    if (run.state === "cancelled" || run.frozen) return;
    const flow = this.flows.get(run.flow);
    for (const t of run.tasks.values()) {
      if (t.state !== "waiting") continue;
      const ok = t.def.after.every((dep) => dep.includes("@") || DONE.has(run.tasks.get(dep)?.state));
      if (!ok) continue;
      if (t.def.kind === "start" || t.def.kind === "day_roll") {
        this.set(run, t, { state: "succeeded", started: Date.now(), ended: Date.now(), attempt: 1 });
        continue;
      }
      this.set(run, t, { state: "ready" });
      if (!flow.paused) this.dispatch(run, t);
    }
    this.checkRun(run);
  }

  dispatch(run, t) {
    this.later(40, () => {
      if (t.state !== "ready" || run.state === "cancelled") return;
      const attempt = t.attempt + 1;
      const executor = `executor-${1 + (t.id.length % 2)}`;
      for (const s of t.shards) Object.assign(s, { state: "running", attempt, started: Date.now(), ended: 0, executor });
      this.set(run, t, { state: "running", attempt, started: Date.now(), ended: 0, executor, detail: null, exit_status: 0 });
      const ms = t.def.ms ?? 300;
      if (t.shards.length) {
        t.shards.forEach((s, i) => this.later((ms * (i + 1)) / t.shards.length, () => {
          if (t.state !== "running" || t.attempt !== attempt) return;
          Object.assign(s, { state: "succeeded", ended: Date.now(), exit_status: 0 });
          t.logs[attempt - 1] = (t.logs[attempt - 1] ?? "") + `shard ${s.key ?? s.shard} done\n`;
          if (t.shards.every((x) => DONE.has(x.state))) this.finish(run, t, attempt);
          else this.changed(run, [t.id]);
        }));
      } else {
        this.later(ms, () => this.finish(run, t, attempt));
      }
    });
  }

  finish(run, t, attempt) {
    if (t.state !== "running" || t.attempt !== attempt) return;
    const fail = t.def.gate && !this.gates.has(t.def.gate);
    const log = fail ? `${t.id}: gate ${t.def.gate} missing\n` : `output of ${t.id} attempt ${attempt}\n`;
    t.logs[attempt - 1] = (t.logs[attempt - 1] ?? "") + log;
    if (fail) this.set(run, t, { state: "failed", ended: Date.now(), exit_status: 3, detail: "exit status 3" });
    else this.set(run, t, { state: "succeeded", ended: Date.now(), exit_status: 0 });
    this.advance(run);
  }

  set(run, t, patch) {
    Object.assign(t, patch);
    this.changed(run, [t.id]);
  }

  checkRun(run) {
    const tasks = [...run.tasks.values()];
    let state = run.state;
    if (tasks.every((t) => DONE.has(t.state))) state = "succeeded";
    else if (tasks.some((t) => t.state === "failed") && !tasks.some((t) => ["ready", "dispatched", "running"].includes(t.state))) state = "failed";
    else if (run.state !== "cancelled") state = "running";
    if (state !== run.state) {
      run.state = state;
      run.ended = state === "running" ? 0 : Date.now();
      this.changed(run, [], true);
    }
  }

  action(a) {
    const flow = this.flows.get(a.flow);
    if (!flow) return `unknown flow ${a.flow}`;
    switch (a.action) {
      case "start":
        return this.start(a.flow, a.date ?? new Date().toISOString().slice(0, 10));
      case "pause":
      case "resume":
        flow.paused = a.action === "pause";
        flow.version = flow.version; // a pause is not a new version
        this.seq++;
        this.onChange({ flow: flow.name });
        if (!flow.paused) for (const run of this.runs.values()) if (run.flow === flow.name) {
          for (const t of run.tasks.values()) if (t.state === "ready") this.dispatch(run, t);
        }
        return null;
      default:
        break;
    }
    const run = this.runs.get(this.key(a.flow, a.date ?? ""));
    if (!run) return `no run of ${a.flow} for ${a.date}`;
    if (run.archived) return `the run of ${a.flow} on ${a.date} succeeded and is archived`;
    if (!a.task) {
      if (a.action !== "cancel") return `${a.action} needs a task`;
      for (const t of run.tasks.values()) if (!DONE.has(t.state) && t.state !== "failed") this.set(run, t, { state: "cancelled", ended: Date.now() });
      run.state = "cancelled";
      run.ended = Date.now();
      this.changed(run, [], true);
      return null;
    }
    const t = run.tasks.get(a.task);
    if (!t) return `unknown task ${a.task}`;
    if (a.action === "retry") {
      if (!["failed", "cancelled", "rolled_back", "succeeded", "skipped"].includes(t.state)) return `task ${a.task} is ${t.state}`;
      for (const s of t.shards) Object.assign(s, { state: "waiting" });
      this.set(run, t, { state: "waiting", ended: 0, detail: null });
      run.state = "running";
      run.ended = 0;
      this.changed(run, [], true);
      this.later(20, () => this.advance(run));
      return null;
    }
    if (a.action === "skip") {
      this.set(run, t, { state: "skipped", ended: Date.now() });
      this.later(20, () => this.advance(run));
      return null;
    }
    if (a.action === "cancel") {
      this.set(run, t, { state: "cancelled", ended: Date.now() });
      this.checkRun(run);
      return null;
    }
    return `unknown action ${a.action}`;
  }

  // Archives a run that succeeded, as the registry does past --keep-runs: the gateway then
  // sends its fields with archived: true and no tasks; run_status reads them from the archive.
  archive(flowName, date) {
    const run = this.runs.get(this.key(flowName, date));
    if (!run || run.state !== "succeeded" || run.archived) return `run ${flowName} ${date} cannot be archived`;
    run.archived = true;
    this.changed(run, [], true);
    return null;
  }

  // The answer to a run_status request: the run with every task, or an error text.
  runStatus(flowName, date) {
    if (!this.flows.has(flowName)) return { error: `no flow ${flowName}` };
    const run = this.runs.get(this.key(flowName, date));
    if (!run) return { error: `flow ${flowName} has no run on ${date}` };
    if (run.archived && this.archiveDown) return { error: "the archive did not answer in 5000 ms" };
    const out = this.runOut({ ...run, archived: false }, [...run.tasks.keys()]);
    return { run: out };
  }

  // A run with n tasks and a mix of states, for load tests; returns its key.
  bigRun(n, date = "2026-01-05") {
    const flow = bigFlow(n);
    flow.tasks.forEach((t) => (t.ms = 1e9)); // never finishes by itself
    this.addFlow(flow);
    this.start(flow.name, date);
    const run = this.runs.get(this.key(flow.name, date));
    run.frozen = true;
    const now = Date.now();
    let i = 0;
    for (const t of run.tasks.values()) {
      const r = (i++ * 7919) % 100;
      const state = r < 40 ? "succeeded" : r < 55 ? "running" : r < 58 ? "failed" : r < 62 ? "ready" : "waiting";
      Object.assign(t, {
        state, attempt: state === "waiting" ? 0 : 1,
        started: state === "waiting" || state === "ready" ? 0 : now - 60000 + (i % 50) * 900,
        ended: state === "succeeded" || state === "failed" ? now - 30000 + (i % 40) * 500 : 0,
        executor: state === "waiting" ? null : `executor-${1 + (i % 2)}`,
      });
    }
    this.changed(run, [...run.tasks.keys()], true);
    return run;
  }

  // Changes `count` random tasks of a run (for update-load measurements).
  churn(run, count) {
    const ids = [...run.tasks.keys()];
    const states = ["running", "succeeded", "waiting", "ready", "failed"];
    for (let i = 0; i < count; i++) {
      const t = run.tasks.get(ids[Math.floor(Math.random() * ids.length)]);
      t.state = states[Math.floor(Math.random() * states.length)];
      if (t.state === "running") t.started = Date.now();
      this.changed(run, [t.id]);
    }
  }

  snapshot() {
    return {
      t: "snapshot", seq: this.seq, flows: [...this.flows.values()].map(flowOut),
      runs: [...this.runs.values()].map((r) => this.runOut(r, [...r.tasks.keys()])),
      executors: [...this.executors.values()], errors: this.errors.slice(), failovers: this.failovers.slice(),
    };
  }

  // A RUNVIEW; an archived run's has archived: true and never any task.
  runOut(r, ids) {
    return {
      flow: r.flow, date: r.date, version: r.version, state: r.state, paused: this.flows.get(r.flow)?.paused ?? false,
      started: r.started, ended: r.ended, ...(r.archived ? { archived: true } : {}),
      tasks: r.archived ? [] : ids.map((id) => taskOut(r.tasks.get(id))),
    };
  }
}

// Starts the mock gateway. Returns { port, url, sim, close, dropAll, sendRaw }.
export async function startMock({ port = 0, token = "secret", webDir = DEFAULT_WEB, readOnlyOpen = true } = {}) {
  const sim = new Sim();
  const clients = new Set();
  let down = false;

  // Changes are gathered per client and sent at most every 50 ms, as the gateway does.
  const pending = { runs: new Map(), flows: new Set() };
  let flushTimer = null;
  sim.onChange = (c) => {
    if (c.error || c.failover) {
      const frame = encode(c.error ? { t: "error", ...c.error } : { t: "failover", ...c.failover });
      for (const ws of clients) ws.send(frame);
      return;
    }
    if (c.flow) pending.flows.add(c.flow);
    if (c.run) {
      const key = sim.key(c.run.flow, c.run.date);
      const ids = pending.runs.get(key) ?? new Set();
      for (const id of c.ids ?? []) ids.add(id);
      pending.runs.set(key, ids);
    }
    flushTimer ??= setTimeout(flush, 50);
  };
  function flush() {
    flushTimer = null;
    if (!pending.runs.size && !pending.flows.size) return;
    const msg = {
      t: "update", seq: sim.seq,
      flows: [...pending.flows].map((n) => flowOut(sim.flows.get(n))),
      runs: [...pending.runs].map(([key, ids]) => sim.runOut(sim.runs.get(key), [...ids])),
      executors: [],
    };
    pending.runs.clear();
    pending.flows.clear();
    const frame = encode(msg);
    for (const ws of clients) ws.send(frame);
  }

  const http = createServer(async (req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = path === "/" ? "index.html" : path.slice(1);
    if (file.includes("..") || file.includes("/")) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(webDir, file));
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  const wss = new WebSocketServer({
    noServer: true, maxPayload: 1 << 20,
    handleProtocols: (protocols) => (protocols.has("zflow.v1") ? "zflow.v1" : false),
  });
  http.on("upgrade", (req, socket, head) => {
    const url = new URL(req.url, "http://x");
    const refuse = (code) => {
      socket.write(`HTTP/1.1 ${code} Refused\r\nConnection: close\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== "/ws" || down) return refuse(503);
    if (!readOnlyOpen && url.searchParams.get("token") !== token) return refuse(403);
    wss.handleUpgrade(req, socket, head, (ws) => {
      clients.add(ws);
      ws.on("close", () => clients.delete(ws));
      ws.send(encode({ t: "hello", version: 1, seq: sim.seq, epoch: sim.epoch, read_only_open: readOnlyOpen, actions_need_token: true }));
      ws.send(encode(sim.snapshot()));
      ws.on("message", (data, isBinary) => {
        const reply = (id, ok, message) => ws.send(encode({ t: "reply", id, ok, message }));
        if (!isBinary) return reply(0, false, "frames must be binary");
        let m;
        try {
          m = decode(data);
        } catch {
          return reply(0, false, "not msgpack");
        }
        const id = typeof m?.id === "number" ? m.id : 0;
        sim.requests.set(m?.t, (sim.requests.get(m?.t) ?? 0) + 1);
        switch (m?.t) {
          case "action": {
            if (m.token !== token) return reply(id, false, "token required");
            const err = sim.action(m);
            return reply(id, !err, err ?? "");
          }
          case "shards": {
            const run = sim.runs.get(sim.key(m.flow, m.date));
            if (run?.archived) return reply(id, false, "the run is archived: its shards are not held, ask run_status");
            const t = run?.tasks.get(m.task);
            if (!t) return reply(id, false, "unknown task");
            return ws.send(encode({
              t: "shards", id, flow: m.flow, date: m.date, task: m.task,
              shards: t.shards.map(({ shard, key, state, attempt, started, ended, executor, exit_status, detail }) =>
                ({ shard, key, state, attempt, started, ended, executor, exit_status, detail })),
            }));
          }
          case "logs": {
            const t = sim.runs.get(sim.key(m.flow, m.date))?.tasks.get(m.task);
            if (!t) return reply(id, false, "unknown task");
            const a = m.attempt || t.attempt;
            if (!a || t.logs[a - 1] === undefined) return reply(id, false, "no log yet");
            return ws.send(encode({ t: "logs", id, text: t.logs[a - 1], truncated: false }));
          }
          case "history": {
            const runs = [...sim.runs.values()].filter((r) => r.flow === m.flow)
              .sort((a, b) => (a.date < b.date ? 1 : -1))
              .map((r) => ({ date: r.date, state: r.state, started: r.started, ended: r.ended, ...(r.archived ? { archived: true } : {}) }));
            return ws.send(encode({ t: "history", id, flow: m.flow, runs }));
          }
          case "run_status": {
            if (typeof m.flow !== "string") return reply(id, false, "flow: missing");
            if (typeof m.date !== "string") return reply(id, false, "date: missing");
            const a = sim.runStatus(m.flow, m.date);
            if (a.error) return reply(id, false, a.error);
            return ws.send(encode({ t: "run_status", id, flow: m.flow, date: m.date, run: a.run }));
          }
          default:
            return reply(id, false, `unknown type ${m?.t}`);
        }
      });
    });
  });
  await new Promise((ok) => http.listen(port, "127.0.0.1", ok));
  const actual = http.address().port;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}/`,
    sim,
    token,
    // Closes every socket and refuses new ones for `ms`.
    dropAll(ms) {
      down = true;
      for (const ws of clients) ws.terminate();
      setTimeout(() => (down = false), ms);
    },
    sendRaw(obj) {
      const frame = encode(obj);
      for (const ws of clients) ws.send(frame);
    },
    clientCount: () => clients.size,
    async close() {
      sim.stop();
      if (flushTimer) clearTimeout(flushTimer);
      for (const ws of clients) ws.terminate();
      wss.close();
      await new Promise((ok) => http.close(ok));
    },
  };
}

// Command line: a mock to look at in a browser.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, def) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : def;
  };
  const mock = await startMock({ port: Number(arg("port", 8090)), token: arg("token", "secret") });
  mock.sim.addFlow(demoFlow());
  const today = new Date().toISOString().slice(0, 10);
  mock.sim.start("demo", today);
  mock.sim.addError("registry", "mock: an example error");
  if (process.argv.includes("--big")) {
    const run = mock.sim.bigRun(Number(arg("big", 2000)));
    if (process.argv.includes("--churn")) setInterval(() => mock.sim.churn(run, 50), 100);
  }
  console.log(`mock gateway ${mock.url}#token=${mock.token}`);
}
