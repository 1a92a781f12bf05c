// The errors panel. Whenever there is an error (an ERROR event from the bus, an action the
// gateway refused) or a failed task in any run, the panel is on screen with a count; it can
// be folded to its header line but not hidden while something is wrong. Notices (a registry
// failover) are listed with the messages, marked as such: a panel holding only notices says
// so and is not coloured as an error. Newest first.

import { h, fill } from "./dom";
import { fmtDateTime } from "./format";
import { Change, Store, runKey } from "./store";
import { Ui } from "./ui";

export class ErrorsPanel {
  readonly el = h("section", { class: "errors", "data-testid": "errors-panel", "aria-label": "Errors" });
  private failed = new Map<string, Set<string>>(); // run key -> ids of failed tasks
  private folded = false;
  private dismissedUpTo = 0; // messages at or below this arrival number are dismissed

  constructor(private store: Store, private ui: Ui) {}

  // Keeps the failed-task index current from a store change; true if it changed.
  note(c: Change): boolean {
    let changed = false;
    if (c.full) {
      this.failed.clear();
      for (const [key, r] of this.store.runs) {
        for (const t of r.tasks.values()) if (t.state === "failed") this.mark(key, t.id, true);
      }
      return true;
    }
    for (const key of c.runs) {
      const r = this.store.runs.get(key);
      if (!r) continue;
      const before = [...(this.failed.get(key) ?? [])].join("\u0000");
      this.failed.delete(key);
      for (const t of r.tasks.values()) if (t.state === "failed") this.mark(key, t.id, true);
      changed ||= before !== [...(this.failed.get(key) ?? [])].join("\u0000");
    }
    for (const [key, ids] of c.tasks) {
      const r = this.store.runs.get(key);
      if (!r) continue;
      for (const id of ids) changed = this.mark(key, id, r.tasks.get(id)?.state === "failed") || changed;
    }
    return changed;
  }

  private mark(key: string, id: string, on: boolean): boolean {
    let set = this.failed.get(key);
    if (on) {
      if (!set) this.failed.set(key, (set = new Set()));
      if (set.has(id)) return false;
      set.add(id);
      return true;
    }
    if (!set || !set.delete(id)) return false;
    if (!set.size) this.failed.delete(key);
    return true;
  }

  render(): void {
    const messages = this.store.errors.filter((e) => e.n > this.dismissedUpTo);
    const failed: Array<{ flow: string; date: string; id: string; detail: string | null; ended: number }> = [];
    for (const [key, ids] of this.failed) {
      const [flow, date] = key.split("\u0000");
      const r = this.store.runs.get(runKey(flow, date));
      for (const id of ids) {
        const t = r?.tasks.get(id);
        failed.push({ flow, date, id, detail: t?.detail ?? null, ended: t?.ended ?? 0 });
      }
    }
    failed.sort((a, b) => b.ended - a.ended);
    const notices = messages.filter((e) => e.notice).length;
    const total = messages.length + failed.length;
    const onlyNotices = total > 0 && notices === total;
    this.el.hidden = total === 0;
    this.el.dataset.count = String(total);
    this.el.classList.toggle("notices-only", onlyNotices);
    if (!total) {
      fill(this.el);
      return;
    }

    const toggle = h("button", { class: "errors-toggle", "aria-expanded": String(!this.folded), "data-testid": "errors-toggle" },
      this.folded ? "▸ " : "▾ ", onlyNotices ? "Notices " : "Errors ",
      h("span", { class: "count", "data-testid": "errors-count" }, String(total)));
    toggle.addEventListener("click", () => {
      this.folded = !this.folded;
      this.render();
    });
    const dismiss = h("button", { class: "btn btn-small", "data-testid": "errors-dismiss", title: "Hide the messages shown now; failed tasks stay until they are retried or skipped" }, "Dismiss messages");
    dismiss.addEventListener("click", () => {
      this.dismissedUpTo = Math.max(0, ...this.store.errors.map((e) => e.n));
      this.render();
    });
    const errorCount = messages.length - notices;
    const summary = `${failed.length} failed task${failed.length === 1 ? "" : "s"}, ${errorCount} message${errorCount === 1 ? "" : "s"}` +
      (notices ? `, ${notices} notice${notices === 1 ? "" : "s"}` : "");
    const head = h("div", { class: "errors-head" }, toggle, h("span", { class: "muted small", "data-testid": "errors-summary" }, summary),
      messages.length ? dismiss : null);
    if (this.folded) {
      fill(this.el, head);
      return;
    }
    const body = h("div", { class: "errors-body" });
    if (failed.length) {
      const ul = h("ul", { class: "errors-list", "data-testid": "failed-tasks" });
      for (const f of failed.slice(0, 100)) {
        const b = h("button", { class: "link", "data-testid": `failed-${f.flow}-${f.date}-${f.id}` }, `${f.flow} ${f.date} ${f.id}`);
        b.addEventListener("click", () => {
          this.ui.selectRun(f.flow, f.date);
          this.ui.selectTask(f.id);
        });
        ul.append(h("li", { class: "error-item" }, h("span", { class: "badge s-failed" }, "failed"), b,
          f.detail ? h("span", { class: "msg" }, f.detail) : null));
      }
      if (failed.length > 100) ul.append(h("li", { class: "muted small" }, `and ${failed.length - 100} more`));
      body.append(ul);
    }
    if (messages.length) {
      const ol = h("ol", { class: "errors-list", "data-testid": "errors-list" });
      for (const e of messages) {
        ol.append(h("li", {
          class: e.notice ? "error-item notice" : "error-item", "data-testid": "error-item",
          "data-service": e.service, "data-kind": e.notice ? "notice" : "error",
        },
        h("time", { class: "muted small" }, fmtDateTime(e.time)),
        e.notice ? h("span", { class: "badge notice-badge", "data-testid": "notice-badge" }, "notice") : null,
        h("span", { class: "service" }, e.service),
        h("span", { class: "msg" }, e.message)));
      }
      body.append(ol);
    }
    fill(this.el, head, body);
  }
}
