// The dashboard against the protocol mock (mock/server.mjs): no zflow services needed, so it is
// fast and covers what a real run can hardly provoke — reconnection, bad frames, bus errors,
// and a run of 2,000 tasks under a stream of updates.
//
//   node tests/browser/ui-mock.test.mjs        (web/dist must be built: ./web/build.sh)

import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startMock, demoFlow } from "./mock/server.mjs";
import { launch, screenshotDir, sel, waitTaskState, watchPage, confirmAction, waitToast, CHROMIUM, ROOT } from "./lib.mjs";

for (const [need, why] of [[CHROMIUM, "Chromium (./deploy/install-deps.sh browser)"], [join(ROOT, "web/dist/index.html"), "web/dist (./web/build.sh)"]]) {
  if (!existsSync(need)) {
    console.log(`# SKIP no ${why}`);
    process.exit(77);
  }
}

const TOKEN = "mock-token";
const shots = screenshotDir();
let mock;
let browser;
let page;
let problems;

before(async () => {
  mock = await startMock({ token: TOKEN });
  mock.sim.addFlow(demoFlow("demo"));
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  problems = watchPage(page);
});

after(async () => {
  await browser?.close();
  await mock?.close();
});

test("the page connects and shows the snapshot", async () => {
  await page.goto(`${mock.url}#token=${TOKEN}`);
  await page.waitForSelector(`${sel("connection-status")}[data-status="open"]`, { timeout: 10000 });
  assert.equal(await page.isHidden(sel("connection-banner")), true);
  assert.match(await page.textContent(sel("sidebar")), /demo/);
  // The token left the address bar and stayed in the tab.
  assert.doesNotMatch(await page.evaluate(() => location.href), /token/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem("zflow.token")), TOKEN);
});

test("a date started from the page runs live; a failed task is retried from the page", async () => {
  await confirmAction(page, "action-start", { date: "2026-03-02" });
  assert.equal((await waitToast(page, /Start/)).kind, "ok");
  await page.waitForSelector(sel("run-demo-2026-03-02"), { timeout: 10000 });
  await waitTaskState(page, "prepare", "succeeded");
  // Retry only offers what the registry would run again.
  await page.click(sel("task-prepare"));
  await page.waitForSelector(`${sel("panel-state")}[data-state="succeeded"]`);
  assert.equal(await page.isDisabled(sel("action-retry")), true, "no retry of a success");
  await waitTaskState(page, "flaky", "failed");
  await waitTaskState(page, "split", "succeeded");
  await page.waitForSelector(sel("failed-demo-2026-03-02-flaky"), { timeout: 5000 });
  assert.equal(await page.getAttribute(sel("task-report"), "data-state"), "waiting");
  assert.equal(await page.isVisible(sel("xdate-report")), true, "report@-1 shows as a marker");
  await page.screenshot({ path: join(shots, "mock-dag-failed.png") });

  mock.sim.gates.add("flaky");
  await page.click(sel("task-flaky"));
  await page.waitForSelector(`${sel("panel-state")}[data-state="failed"]`);
  await page.waitForFunction((s) => /gate flaky missing/.test(document.querySelector(s)?.textContent ?? ""), sel("log-tail"));
  await confirmAction(page, "action-retry");
  await waitToast(page, /Retry flaky/);
  await waitTaskState(page, "flaky", "succeeded");
  await waitTaskState(page, "report", "succeeded");
  await waitTaskState(page, "publish", "succeeded");
  await page.waitForSelector(`${sel("run-state")}[data-state="succeeded"]`);
  await page.waitForFunction((s) => /output of flaky attempt 2/.test(document.querySelector(s)?.textContent ?? ""), sel("log-tail"));
  await page.waitForSelector(sel("failed-demo-2026-03-02-flaky"), { state: "hidden", timeout: 5000 });
  await page.screenshot({ path: join(shots, "mock-task-panel.png") });

  await page.click(sel("task-split"));
  await page.waitForSelector(`${sel("shards-table")} ${sel("shard-2")}[data-state="succeeded"]`);

  await page.click(sel("tab-timeline"));
  await page.waitForSelector(`${sel("timeline")}[data-rows="6"]`);
  const critical = await page.getAttribute(sel("timeline"), "data-critical");
  assert.ok(critical.includes("split"), `critical path ${critical} goes through the longest task`);
  await page.screenshot({ path: join(shots, "mock-timeline.png") });

  await page.click(sel("tab-history"));
  await page.waitForSelector(sel("history-2026-03-02"));
  await page.click(sel("tab-executors"));
  await page.waitForSelector(`${sel("executor-executor-1")}[data-live="true"]`);
  await page.click(sel("tab-graph"));
});

test("an archived run shows as archived and read-only; its tasks are read when it is shown", async () => {
  mock.sim.gates.add("flaky");
  // A run seen live, then archived while it is on screen: its pushed tasks go, and the page
  // reads them from the archive (run_status) at once.
  mock.sim.start("demo", "2026-02-27");
  await page.waitForSelector(`${sel("run-demo-2026-02-27")}[data-state="succeeded"]`, { timeout: 15000 });
  await page.click(sel("run-demo-2026-02-27"));
  await waitTaskState(page, "publish", "succeeded");
  const asked = () => mock.sim.requests.get("run_status") ?? 0;
  const before = asked();
  assert.equal(mock.sim.archive("demo", "2026-02-27"), null);
  await page.waitForSelector(`${sel("run-demo-2026-02-27")}[data-archived="true"]`, { timeout: 5000 });
  await page.waitForSelector(sel("archived-demo-2026-02-27"));
  assert.equal(await page.getAttribute(sel("run-demo-2026-02-27"), "data-state"), "succeeded");
  await page.waitForSelector(sel("run-archived"));
  await page.waitForSelector(`${sel("archive-state")}[data-status="loaded"]`, { timeout: 5000 });
  await waitTaskState(page, "publish", "succeeded");
  await waitTaskState(page, "split", "succeeded");
  assert.equal(asked(), before + 1, "one run_status for the run shown");

  // Read-only: no actions on its tasks, no shards table (not held), the log by attempt.
  await page.click(sel("task-flaky"));
  await page.waitForSelector(`${sel("panel-state")}[data-state="succeeded"]`);
  assert.equal(await page.isHidden(sel("action-retry")), true);
  assert.equal(await page.isHidden(sel("action-skip")), true);
  await page.waitForFunction((s) => /output of flaky attempt 1/.test(document.querySelector(s)?.textContent ?? ""), sel("log-tail"));
  await page.click(sel("task-split"));
  await page.waitForSelector(sel("shards-archived"));
  assert.equal(await page.isVisible(sel("shards-table")), false);
  assert.equal(await page.isEnabled(sel("action-cancel-run")), false);
  await page.screenshot({ path: join(shots, "mock-archived.png") });

  // History marks it too.
  await page.click(sel("tab-history"));
  await page.waitForSelector(`tr[data-archived="true"] ${sel("history-2026-02-27")}`);
  await page.click(sel("tab-graph"));

  // Another run archived while not shown, with the archive down: selecting it says why, in
  // the graph and in the errors panel; reading again once the archive is back shows it.
  mock.sim.start("demo", "2026-02-26");
  await page.waitForSelector(`${sel("run-demo-2026-02-26")}[data-state="succeeded"]`, { timeout: 15000 });
  mock.sim.archiveDown = true;
  assert.equal(mock.sim.archive("demo", "2026-02-26"), null);
  await page.waitForSelector(`${sel("run-demo-2026-02-26")}[data-archived="true"]`, { timeout: 5000 });
  await page.click(sel("run-demo-2026-02-26"));
  await page.waitForSelector(`${sel("archive-state")}[data-status="failed"]`, { timeout: 5000 });
  await page.waitForFunction((s) => [...document.querySelectorAll(s)].some((e) => /2026-02-26.*archive did not answer/.test(e.textContent)), sel("error-item"));
  assert.match(await page.textContent(sel("dag")), /could not be read from the archive/);
  assert.equal(await page.locator(`${sel("dag")} .node`).count(), 0);
  mock.sim.archiveDown = false;
  await page.click(sel("archive-retry"));
  await page.waitForSelector(`${sel("archive-state")}[data-status="loaded"]`, { timeout: 5000 });
  await waitTaskState(page, "report", "succeeded");

  // Back to the first: its tasks come from the page's cache, not the archive again.
  const again = asked();
  await page.click(sel("run-demo-2026-02-27"));
  await page.waitForSelector(`${sel("archive-state")}[data-status="loaded"]`, { timeout: 5000 });
  await waitTaskState(page, "publish", "succeeded");
  assert.equal(asked(), again);
});

test("a refused action shows an error toast and stays in the errors panel", async () => {
  await page.click(sel("token-button"));
  await page.fill(sel("token-input"), "wrong-token");
  await page.click(sel("token-save"));
  await confirmAction(page, "action-pause");
  const toast = await waitToast(page, /token required/);
  assert.equal(toast.kind, "error");
  await page.waitForFunction((s) => [...document.querySelectorAll(s)].some((e) => /token required/.test(e.textContent)), sel("error-item"));
  await page.click(sel("token-button"));
  await page.fill(sel("token-input"), TOKEN);
  await page.click(sel("token-save"));
});

test("bus errors and unreadable frames land in the errors panel, newest first", async () => {
  mock.sendRaw({ t: "error", time: Date.now(), service: "dispatcher", message: "mock: worker refused" });
  await page.waitForFunction((s) => /worker refused/.test(document.querySelector(s)?.textContent ?? ""), sel("error-item"));
  mock.sendRaw({ t: "no-such-type" });
  await page.waitForFunction((s) => /unknown type/.test(document.querySelector(s)?.textContent ?? ""), sel("error-item"));
  mock.sendRaw({ t: "reply", id: 0, ok: false, message: "mock: frame refused" });
  await page.waitForFunction((s) => /frame refused/.test(document.querySelector(s)?.textContent ?? ""), sel("error-item"));
  const count = Number(await page.textContent(sel("errors-count")));
  assert.ok(count >= 3, `errors count ${count}`);
});

test("a registry failover shows a toast and a notice in the errors panel, kept across a reconnect", async () => {
  const how = 'took over from=the active\'s events at seq 1204 reason="the active peer is silent and a client turned here"';
  const f = mock.sim.failover("backup", how);
  const toast = await waitToast(page, /Registry failover/);
  assert.equal(toast.kind, "info");
  assert.match(toast.text, new RegExp(`^Registry failover: backup is active, term ${f.epoch}`));
  const notice = `${sel("error-item")}[data-kind="notice"]`;
  await page.waitForSelector(notice, { timeout: 5000 });
  assert.equal(await page.locator(notice).count(), 1);
  const item = page.locator(notice);
  assert.equal(await item.getAttribute("data-service"), "backup");
  assert.equal(await item.locator(sel("notice-badge")).textContent(), "notice");
  const text = await item.textContent();
  assert.ok(text.includes(`Registry failover: backup is active, term ${f.epoch}: ${how}`), text);
  // Errors stay errors: none of them is marked a notice.
  const kinds = await page.$$eval(sel("error-item"), (els) => els.map((e) => e.dataset.kind));
  assert.ok(kinds.includes("error") && kinds.filter((k) => k === "notice").length === 1, kinds.join());
  assert.match(await page.textContent(sel("errors-summary")), /, 1 notice$/);
  await page.screenshot({ path: join(shots, "mock-failover.png") });

  // The gateway's snapshot lists it: a page that connects again still shows it, once.
  mock.dropAll(500);
  await page.waitForSelector(`${sel("connection-banner")}[data-status="reconnecting"]`, { state: "visible", timeout: 5000 });
  await page.waitForSelector(`${sel("connection-status")}[data-status="open"]`, { timeout: 20000 });
  await page.waitForSelector(notice, { timeout: 5000 });
  assert.equal(await page.locator(notice).count(), 1);
  assert.equal(await page.locator(notice).getAttribute("data-service"), "backup");
});

test("a panel holding only a failover notice is not an error panel", async () => {
  const other = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const seen = watchPage(other);
  // A mock of its own, so no error of the earlier tests is on the page.
  const quiet = await startMock({ token: TOKEN });
  try {
    quiet.sim.addFlow(demoFlow("demo"));
    await other.goto(quiet.url);
    await other.waitForSelector(`${sel("connection-status")}[data-status="open"]`, { timeout: 10000 });
    assert.equal(await other.isHidden(sel("errors-panel")), true);
    quiet.sim.failover("primary", "took over from=the active's events at seq 7");
    await waitToast(other, /Registry failover: primary is active, term 2/);
    await other.waitForSelector(`${sel("errors-panel")}.notices-only`, { timeout: 5000 });
    assert.match(await other.textContent(sel("errors-toggle")), /Notices\s*1/);
    assert.equal(await other.textContent(sel("errors-summary")), "0 failed tasks, 0 messages, 1 notice");
    assert.deepEqual(seen, []);
  } finally {
    await other.close();
    await quiet.close();
  }
});

test("a lost connection shows the banner, reconnects and catches up", async () => {
  mock.dropAll(1500);
  await page.waitForSelector(`${sel("connection-banner")}[data-status="reconnecting"]`, { state: "visible", timeout: 5000 });
  assert.match(await page.textContent(sel("connection-banner")), /reconnecting/i);
  mock.sim.start("demo", "2026-03-03"); // happens while the page is away
  await page.waitForSelector(`${sel("connection-status")}[data-status="open"]`, { timeout: 20000 });
  assert.equal(await page.isHidden(sel("connection-banner")), true);
  await page.waitForSelector(sel("run-demo-2026-03-03"), { timeout: 5000 });
});

test("2,000 tasks stay responsive: layout, overview, zoom, filter and a stream of updates", async () => {
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push(e.duration))).observe({ type: "longtask" });
  });
  const run = mock.sim.bigRun(2000, "2026-01-05");
  await page.waitForSelector(sel("run-big-2026-01-05"), { timeout: 10000 });
  const t0 = Date.now();
  await page.click(sel("run-big-2026-01-05"));
  await page.waitForFunction((s) => document.querySelector(s)?.classList.contains("overview"), sel("dag"));
  const selectMs = Date.now() - t0;
  await page.screenshot({ path: join(shots, "mock-big-overview.png") });

  // Updates: 100 task changes every 50 ms for 3 s.
  const churn = setInterval(() => mock.sim.churn(run, 100), 50);
  const box = await page.locator(sel("dag")).boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 12; i++) await page.mouse.wheel(0, -240);
  await page.waitForFunction((s) => !document.querySelector(s)?.classList.contains("overview"), sel("dag"));
  const nodes = await page.locator(`${sel("dag")} .node`).count();
  assert.ok(nodes > 0 && nodes <= 600, `${nodes} node buttons in the DOM when zoomed in`);
  const lag = [];
  for (let i = 0; i < 10; i++) {
    const a = Date.now();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
    lag.push(Date.now() - a);
  }
  clearInterval(churn);
  await page.screenshot({ path: join(shots, "mock-big-zoomed.png") });

  await page.fill(sel("filter"), "t0100");
  await page.waitForFunction((s) => /^1 of 2000$/.test(document.querySelector(s)?.textContent ?? ""), sel("match-count"));
  await page.press(sel("filter"), "Enter");
  await page.waitForSelector(`${sel("panel-task")}:text("t0100")`);
  await page.fill(sel("filter"), "");
  await page.click(sel("zoom-fit"));

  const long = await page.evaluate(() => window.__long);
  const worst = Math.max(0, ...long);
  console.log(`# 2,000 tasks: select+layout+draw ${selectMs} ms; frame round-trips under updates ` +
    `max ${Math.max(...lag)} ms; long tasks ${long.length}, worst ${Math.round(worst)} ms`);
  assert.ok(selectMs < 5000, `selecting the 2,000-task run took ${selectMs} ms`);
  assert.ok(Math.max(...lag) < 1000, `frame round-trip ${Math.max(...lag)} ms under updates`);
});

test("no uncaught errors in the page", () => {
  assert.deepEqual(problems, []);
});
