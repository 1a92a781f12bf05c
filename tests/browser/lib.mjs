// Shared by the browser tests: launching Debian's Chromium through playwright-core, where
// screenshots go, and small waiting helpers built on Playwright's auto-waiting (no sleeps).

import { mkdirSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, "../..");
export const CHROMIUM = process.env.ZF_CHROMIUM || "/usr/bin/chromium";

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run", "--disable-dev-shm-usage"],
  });
}

// $ZF_BUILD_DIR/screenshots, or tests/browser/screenshots outside a build.
export function screenshotDir() {
  const dir = process.env.ZF_BUILD_DIR ? join(process.env.ZF_BUILD_DIR, "screenshots") : join(HERE, "screenshots");
  mkdirSync(dir, { recursive: true });
  return dir;
}

export const sel = (testid) => `[data-testid="${testid}"]`;

// Waits until a task node shows a state (any of several, with "a|b").
export async function waitTaskState(page, id, states, timeout = 30000) {
  const list = states.split("|").map((s) => `${sel(`task-${id}`)}[data-state="${s}"]`).join(", ");
  await page.waitForSelector(list, { timeout });
}

// Keeps the page's console errors and uncaught exceptions for the final check.
export function watchPage(page) {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource|WebSocket connection/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}

// Opens the confirmation dialog's flow: click, wait for the dialog, confirm.
export async function confirmAction(page, buttonTestid, { date } = {}) {
  await page.click(sel(buttonTestid));
  await page.waitForSelector(`${sel("confirm-dialog")}[open]`, { timeout: 5000 });
  if (date) await page.fill(sel("start-date"), date);
  await page.click(sel("dialog-confirm"));
  await page.waitForFunction((s) => !document.querySelector(s)?.open, sel("confirm-dialog"), { timeout: 5000 });
}

// The newest toast's kind and text once one appears whose text matches.
export async function waitToast(page, pattern, timeout = 15000) {
  const handle = await page.waitForFunction(([s, src]) => {
    const re = new RegExp(src, "i");
    for (const t of document.querySelectorAll(s)) if (re.test(t.textContent)) return { kind: t.dataset.kind, text: t.textContent };
    return null;
  }, [sel("toast"), pattern.source], { timeout });
  return handle.jsonValue();
}
