// The dashboard against a real, private zflow, in headless Chromium.
//
// Starts `zflow up` (2 executors) on free ports in a temporary folder, with the gateway that
// `zflow up` starts (it prints "dashboard http://...") or, for builds where it does not, one
// started here. Submits a small flow, then in the page: starts a run, watches states change
// live, sees a task fail, makes its input appear, retries it with confirmation, sees it and
// its successors succeed, reads its log tail, starts an older date that the registry archives
// once it is durable (`--keep-runs 1`) and reads that run's tasks and log back from the archive,
// and checks that errors surface (a refused action, and an ERROR event provoked on the bus). Screenshots go to $ZF_BUILD_DIR/screenshots.
//
//   ZF_BIN_DIR=build/bin ZF_BUILD_DIR=build node tests/browser/dashboard.test.mjs
//
// Exit 77 (CTest: skipped) when the binaries or Chromium are missing.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launch, screenshotDir, sel, waitTaskState, watchPage, confirmAction, waitToast, ROOT, CHROMIUM } from "./lib.mjs";
import { sendDealerMessage } from "./zmtp.mjs";

const BIN = process.env.ZF_BIN_DIR;
const GATEWAY = process.env.ZF_GATEWAY || (BIN && join(BIN, "zflow-gateway")); // for a gateway started here
const WEB = join(ROOT, "web", "dist");
const DEADLINE_MS = 240_000; // under CTest's 300 s, so cleanup always gets to run
const FLOW = "webtest";

function skip(why) {
  console.log(`# SKIP ${why}`);
  process.exit(77);
}
if (!BIN || !existsSync(join(BIN, "zflow"))) skip("no zflow binary (set ZF_BIN_DIR)");
if (!existsSync(GATEWAY)) skip(`no zflow-gateway at ${GATEWAY}`);
if (!existsSync(CHROMIUM)) skip(`no Chromium at ${CHROMIUM} (./deploy/install-deps.sh browser)`);
if (!existsSync(join(WEB, "index.html"))) skip("web/dist is not built (./web/build.sh)");

const work = mkdtempSync(join(tmpdir(), "zflow-browser-"));
const shots = screenshotDir();
const groups = []; // process groups started here
let guard = null;
let browser = null;
let broken = false;
const logs = {};

// A watchdog outside this process: if node dies without cleaning up (even by SIGKILL), its
// stdin closes and it stops every process group started here.
const GUARD = `
const groups = process.argv.slice(1).map(Number);
const hit = (sig) => groups.forEach((g) => { try { process.kill(-g, sig); } catch {} });
process.stdin.on("data", () => {});
process.stdin.on("end", () => { hit("SIGTERM"); setTimeout(() => { hit("SIGKILL"); process.exit(0); }, 3000); });
`;

function startGuard() {
  guard = spawn(process.execPath, ["-e", GUARD, ...groups.map(String)], { stdio: ["pipe", "ignore", "ignore"], detached: true });
  guard.unref();
}

function restartGuard() {
  if (guard) guard.kill("SIGKILL");
  startGuard();
}

// Starts a program in its own process group; its output goes to logs[name].
function start(name, program, args) {
  const child = spawn(program, args, {
    cwd: work, detached: true, stdio: ["ignore", "pipe", "pipe"],
  });
  logs[name] = "";
  const keep = (d) => (logs[name] = (logs[name] + d.toString()).slice(-20000));
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  groups.push(child.pid);
  restartGuard();
  return child;
}

async function stopAll() {
  for (const g of groups) {
    try { process.kill(-g, "SIGTERM"); } catch { /* gone */ }
  }
  const until = Date.now() + 5000;
  for (const g of groups) {
    while (Date.now() < until) {
      try { process.kill(-g, 0); } catch { break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    try { process.kill(-g, "SIGKILL"); } catch { /* gone */ }
  }
  if (guard) guard.kill("SIGKILL");
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

// A base port with the 30 ports above it free, and a separate HTTP port.
async function pickPorts() {
  for (let tries = 0; tries < 50; tries++) {
    const base = 30000 + Math.floor(Math.random() * 2000) * 10;
    let ok = true;
    for (let p = base; p < base + 30 && ok; p++) ok = await portFree(p);
    if (ok && (await portFree(base + 35))) return { base, http: base + 35 };
  }
  throw new Error("no free ports");
}

// Waits until fn() resolves truthy, retrying on a short backoff: a process is ready when it
// answers, and nothing else can tell us when that is.
async function until(what, fn, ms) {
  const end = Date.now() + ms;
  let delay = 50;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(500, delay * 2);
  }
}

function zflow(args, env) {
  const r = spawnSync(join(BIN, "zflow"), args, { cwd: work, env: { ...process.env, ...env }, encoding: "utf8", timeout: 10000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function dumpLogs() {
  for (const [name, text] of Object.entries(logs)) {
    console.log(`# --- last output of ${name} ---`);
    for (const line of text.trim().split("\n").slice(-25)) console.log(`# ${line}`);
  }
  console.log(`# work folder kept: ${work}`);
}

const watchdog = setTimeout(() => {
  console.log(`# the test ran past ${DEADLINE_MS / 1000} s; stopping`);
  broken = true;
  void (async () => {
    await browser?.close().catch(() => {});
    await stopAll();
    dumpLogs();
    process.exit(1);
  })();
}, DEADLINE_MS);

after(async () => {
  clearTimeout(watchdog);
  await browser?.close().catch(() => {});
  await stopAll();
  if (broken) dumpLogs();
  else rmSync(work, { recursive: true, force: true });
});

const FLOW_YAML = `flow: ${FLOW}
calendar:
  weekdays: [mon, tue, wed, thu, fri, sat, sun]
tasks:
  - id: start
    type: start
  - id: prepare
    after: [start]
    run: echo "prepare for $ZFLOW_DATE"
  - id: flaky
    after: [prepare]
    run: if [ -f gate ]; then echo "flaky passed on attempt $ZFLOW_ATTEMPT"; else echo "gate missing, attempt $ZFLOW_ATTEMPT"; exit 3; fi
  - id: split
    after: [prepare]
    shards: [north, south, east]
    run: echo "shard $ZFLOW_SHARD_KEY of $ZFLOW_SHARD_COUNT"; sleep 2
  - id: report
    after: [flaky, split, report@-1]
    run: echo "report for $ZFLOW_DATE"
  - id: publish
    after: [report]
    run: echo published
`;

let env;
let dashboard;
let token;
let page;
let problems;
let base;
const today = new Date().toISOString().slice(0, 10); // the flow's zone is UTC

// Each step runs only if the ones before it passed.
function step(name, fn) {
  test(name, async (t) => {
    if (broken) return t.skip("an earlier step failed");
    try {
      await fn(t);
    } catch (e) {
      broken = true;
      if (page) await page.screenshot({ path: join(shots, "failure.png") }).catch(() => {});
      throw e;
    }
  });
}

step("a private zflow with its gateway comes up", async () => {
  const ports = await pickPorts();
  base = ports.base;
  env = { ZFLOW_REGISTRY: `tcp://127.0.0.1:${base + 10}` };
  // One run per flow stays in the registry's memory: an older date is archived once durable.
  start("zflow up", join(BIN, "zflow"), ["up", "--dir", join(work, "var"), "--base-port", String(base), "--executors", "2",
    "--http", `127.0.0.1:${ports.http}`, "--keep-runs", "1"]);
  const said = await until("zflow up to print its endpoints", () => /export ZFLOW_REGISTRY/.test(logs["zflow up"]), 20000)
    .then(() => logs["zflow up"]);
  const m = said.match(/dashboard (http:\/\/\S+)/);
  if (m) {
    dashboard = m[1];
    token = new URL(dashboard).hash.match(/token=([^&]+)/)?.[1];
    if (!token && existsSync(join(work, "var", "gateway.token"))) {
      token = readFileSync(join(work, "var", "gateway.token"), "utf8").trim();
      dashboard = `${dashboard.replace(/#.*$/, "")}#token=${token}`;
    }
  } else {
    // This build's `zflow up` does not start the gateway: run one beside it.
    token = "browser-test-token";
    start("zflow-gateway", GATEWAY, ["--http", `127.0.0.1:${ports.http}`, "--registry", `tcp://127.0.0.1:${base + 10}`,
      "--dispatcher-events", `tcp://127.0.0.1:${base + 1}`, "--web", WEB, "--token", token]);
    dashboard = `http://127.0.0.1:${ports.http}/#token=${token}`;
  }
  assert.ok(token, "a token for actions");
  const origin = new URL(dashboard).origin;
  await until("the gateway to serve the dashboard", async () => (await fetch(`${origin}/`, { signal: AbortSignal.timeout(2000) })).ok, 20000);
  await until("the registry to answer", () => zflow(["status"], env).code === 0, 20000);
  mkdirSync(join(work, "flow"));
  writeFileSync(join(work, "flow", `${FLOW}.yaml`), FLOW_YAML);
  const r = zflow(["submit", join(work, "flow", `${FLOW}.yaml`)], env);
  assert.equal(r.code, 0, `zflow submit: ${r.out}`);
});

step("the dashboard opens live and lists the flow", async () => {
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  problems = watchPage(page);
  await page.goto(dashboard);
  await page.waitForSelector(`${sel("connection-status")}[data-status="open"]`, { timeout: 15000 });
  await page.waitForSelector(sel(`flow-${FLOW}`), { timeout: 15000 });
  assert.doesNotMatch(await page.evaluate(() => location.href), /token=/, "the token left the address bar");
  await page.click(sel(`flow-${FLOW}`));
});

step("a run started from the page changes state live", async () => {
  // Every state a node shows is recorded, to prove changes arrive without a reload.
  await page.evaluate(() => {
    const w = window;
    w.__seen = [];
    w.__loads = performance.getEntriesByType("navigation").length;
    new MutationObserver((list) => {
      for (const m of list) {
        const els = m.type === "childList" ? [...m.addedNodes] : [m.target];
        for (const el of els) {
          if (el.dataset?.testid?.startsWith("task-") && el.dataset.state) w.__seen.push(`${m.type === "childList" ? "+" : ""}${el.dataset.id}:${el.dataset.state}`);
        }
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
  });
  await confirmAction(page, "action-start", { date: today });
  const toast = await waitToast(page, /Start/);
  assert.equal(toast.kind, "ok", toast.text);
  await page.waitForSelector(sel(`run-${FLOW}-${today}`), { timeout: 15000 });
  await waitTaskState(page, "prepare", "succeeded|confirmed");
  await waitTaskState(page, "flaky", "failed");
  await waitTaskState(page, "split", "running|succeeded|confirmed");
  await page.waitForSelector(sel("progress-split"));
  await waitTaskState(page, "split", "succeeded|confirmed");
  const seen = await page.evaluate(() => window.__seen);
  // "+id:state" is a node appearing, "id:state" a node changing in place.
  assert.ok(seen.some((s) => /^\+?split:(running|dispatched|ready)$/.test(s)), `split seen before it ended: ${seen.join(" ")}`);
  assert.ok(seen.some((s) => /^split:(succeeded|confirmed)$/.test(s)), `split changed in place: ${seen.join(" ")}`);
  assert.equal(await page.evaluate(() => performance.getEntriesByType("navigation").length), 1, "no reload");
  assert.equal(await page.getAttribute(sel("task-report"), "data-state"), "waiting");
  assert.ok(await page.isVisible(sel("xdate-report")), "report@-1 is shown as a marker");
  await page.waitForSelector(sel(`failed-${FLOW}-${today}-flaky`), { timeout: 10000 });
});

step("the failed task is retried from the page and its successors run", async () => {
  await page.click(sel("task-flaky"));
  await page.waitForSelector(`${sel("panel-state")}[data-state="failed"]`);
  await page.waitForFunction((s) => /gate missing/.test(document.querySelector(s)?.textContent ?? ""), sel("log-tail"), { timeout: 15000 });
  await page.screenshot({ path: join(shots, "dag-failed.png") });
  writeFileSync(join(work, "flow", "gate"), "open\n");
  await confirmAction(page, "action-retry");
  const toast = await waitToast(page, /Retry flaky/);
  assert.equal(toast.kind, "ok", toast.text);
  await waitTaskState(page, "flaky", "succeeded|confirmed");
  await waitTaskState(page, "report", "succeeded|confirmed");
  await waitTaskState(page, "publish", "succeeded|confirmed");
  await page.waitForSelector(`${sel("run-state")}[data-state="succeeded"]`, { timeout: 15000 });
  await page.waitForFunction((s) => /flaky passed on attempt 2/.test(document.querySelector(s)?.textContent ?? ""),
    sel("log-tail"), { timeout: 15000 });
  await page.waitForSelector(sel(`failed-${FLOW}-${today}-flaky`), { state: "hidden", timeout: 10000 });
  await page.locator(sel("task-panel")).screenshot({ path: join(shots, "task-panel.png") });
  await page.screenshot({ path: join(shots, "dag.png") });
});

step("shards, timeline, history and executors show the run", async () => {
  await page.click(sel("task-split"));
  for (const i of [0, 1, 2]) await page.waitForSelector(`${sel(`shard-${i}`)}[data-state="succeeded"], ${sel(`shard-${i}`)}[data-state="confirmed"]`, { timeout: 10000 });
  await page.waitForFunction((s) => /shard north of 3/.test(document.querySelector(s)?.textContent ?? ""), sel("log-tail"), { timeout: 10000 });
  await page.click(sel("tab-timeline"));
  // Every task that ran has a bar (the built-in start task may carry no times).
  await page.waitForFunction((s) => Number(document.querySelector(s)?.dataset.rows) >= 5, sel("timeline"), { timeout: 10000 });
  // The longest chain ends in report → publish, through flaky (its span includes the retry) or split.
  const critical = (await page.getAttribute(sel("timeline"), "data-critical")).split(" ");
  assert.deepEqual(critical.slice(-2), ["report", "publish"], `critical path ${critical.join(" → ")}`);
  assert.ok(critical.includes("flaky") || critical.includes("split"), `critical path ${critical.join(" → ")}`);
  await page.screenshot({ path: join(shots, "timeline.png") });
  await page.click(sel("tab-history"));
  await page.waitForSelector(sel(`history-${today}`), { timeout: 10000 });
  await page.click(sel("tab-executors"));
  await page.waitForSelector(`${sel("executor-executor-1")}[data-live="true"]`, { timeout: 10000 });
  await page.screenshot({ path: join(shots, "executors.png") });
  await page.click(sel("tab-graph"));
});

step("an older date, archived once durable, shows read-only with its tasks read from the archive", async () => {
  const old = new Date(Date.parse(`${today}T00:00:00Z`) - 5 * 86400000).toISOString().slice(0, 10);
  await confirmAction(page, "action-start", { date: old });
  const toast = await waitToast(page, new RegExp(`Start .*${old}`));
  assert.equal(toast.kind, "ok", toast.text);
  // It runs, the archiver makes it durable, and the registry lets it go (today's run is later).
  await page.waitForSelector(`${sel(`run-${FLOW}-${old}`)}[data-archived="true"]`, { timeout: 60000 });
  assert.equal(await page.getAttribute(sel(`run-${FLOW}-${old}`), "data-state"), "succeeded");
  assert.equal(await page.getAttribute(sel(`run-${FLOW}-${today}`), "data-archived"), null);
  await page.click(sel(`run-${FLOW}-${old}`));
  await page.waitForSelector(`${sel("archive-state")}[data-status="loaded"]`, { timeout: 15000 });
  await waitTaskState(page, "split", "succeeded|confirmed");
  await waitTaskState(page, "publish", "succeeded|confirmed");
  await page.click(sel("task-prepare"));
  assert.equal(await page.isHidden(sel("action-retry")), true, "no actions on an archived run");
  await page.waitForFunction(([s, d]) => (document.querySelector(s)?.textContent ?? "").includes(`prepare for ${d}`),
    [sel("log-tail"), old], { timeout: 15000 });
  await page.screenshot({ path: join(shots, "archived.png") });
  await page.click(sel(`run-${FLOW}-${today}`));
});

step("a refused action shows an error toast and lands in the errors panel", async () => {
  await page.click(sel("token-button"));
  await page.fill(sel("token-input"), "not-the-token");
  await page.click(sel("token-save"));
  await confirmAction(page, "action-pause");
  const toast = await waitToast(page, /Pause flow/);
  assert.equal(toast.kind, "error", toast.text);
  await page.waitForFunction((s) => [...document.querySelectorAll(s)].some((e) => /Pause flow/.test(e.textContent)),
    sel("error-item"), { timeout: 5000 });
  await page.click(sel("token-button"));
  await page.fill(sel("token-input"), token);
  await page.click(sel("token-save"));
  await page.waitForSelector(`${sel("connection-status")}[data-status="open"]`, { timeout: 15000 });
});

step("an ERROR event on the bus appears in the errors panel", async () => {
  // A request the registry cannot decode: it must say so on the bus.
  await sendDealerMessage("127.0.0.1", base + 10, ["this is not a zflow request"]);
  await page.waitForFunction((s) => [...document.querySelectorAll(s)].some((e) => e.dataset.service === "registry"),
    sel("error-item"), { timeout: 15000 });
  const text = await page.textContent(sel("errors-list"));
  assert.match(text, /malformed/i);
  await page.screenshot({ path: join(shots, "errors.png") });
});

step("the page had no script errors", () => {
  assert.deepEqual(problems, []);
});
