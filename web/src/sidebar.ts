// The sidebar: every flow and its business dates, newest first, each with its run's state.
// An archived run (succeeded, its tasks in the archive) is marked so instead of counting tasks.

import { h, fill, stateBadge } from "./dom";
import { Store, Run } from "./store";
import { Ui } from "./ui";
import { DONE_OK } from "./states";

export class Sidebar {
  readonly el = h("nav", { class: "sidebar", "data-testid": "sidebar", "aria-label": "Flows and business dates" });

  constructor(private store: Store, private ui: Ui, private onStart: (flow: string) => void) {}

  render(): void {
    const flows = [...this.store.flows.values()].sort((a, b) => a.name.localeCompare(b.name));
    // Runs of flows the gateway sent no definition for still deserve a place.
    const names = new Set(flows.map((f) => f.name));
    const orphans = [...new Set([...this.store.runs.values()].map((r) => r.flow))].filter((n) => !names.has(n));
    const list = h("div", { class: "flows" });
    for (const name of [...flows.map((f) => f.name), ...orphans.sort()]) {
      const def = this.store.flows.get(name);
      const runs = this.store.runsOf(name);
      const selectedFlow = this.ui.flow === name;
      const head = h("button", {
        class: `flow-name${selectedFlow && !this.ui.date ? " sel" : ""}`, "data-testid": `flow-${name}`,
        "aria-current": selectedFlow ? "true" : null,
      }, name);
      head.addEventListener("click", () => this.ui.selectRun(name, runs[0]?.date ?? null));
      const start = h("button", {
        class: "btn btn-small", "data-testid": `flow-start-${name}`, title: `Start a business date of ${name}`,
      }, "Start…");
      start.addEventListener("click", () => this.onStart(name));
      const meta = h("div", { class: "flow-meta muted small" },
        def ? `v${def.version} · ${def.timezone}` : "no definition",
        def?.paused ? h("span", { class: "badge s-paused", "data-testid": `paused-${name}` }, "paused") : null);
      const dates = h("ul", { class: "dates" });
      for (const r of runs) dates.append(h("li", null, this.dateButton(r)));
      if (!runs.length) dates.append(h("li", { class: "muted small" }, "no runs yet"));
      list.append(h("section", { class: "flow" }, h("div", { class: "flow-head" }, head, start), meta, dates));
    }
    if (!flows.length && !orphans.length) {
      list.append(h("p", { class: "muted small" },
        this.store.haveSnapshot ? "No flows yet. Submit one with `zflow submit FILE`." : "Waiting for the gateway…"));
    }
    fill(this.el, h("h2", { class: "side-title" }, "Flows"), list);
  }

  private dateButton(r: Run): HTMLElement {
    let done = 0;
    for (const t of r.tasks.values()) if (DONE_OK.has(t.state)) done++;
    const sel = this.ui.flow === r.flow && this.ui.date === r.date;
    const title = r.archived
      ? `${r.flow} ${r.date}: ${r.state}, archived (its tasks are read from the archive)`
      : `${r.flow} ${r.date}: ${r.state}, ${done}/${r.tasks.size} tasks done`;
    const b = h("button", {
      class: `date-btn${sel ? " sel" : ""}`, "data-testid": `run-${r.flow}-${r.date}`, "data-state": r.state,
      "data-archived": r.archived ? "true" : null, "aria-current": sel ? "true" : null, title,
    }, h("span", { class: "date" }, r.date), stateBadge(r.state),
    r.archived
      ? h("span", { class: "muted small archived-mark", "data-testid": `archived-${r.flow}-${r.date}` }, "archived")
      : h("span", { class: "muted small" }, `${done}/${r.tasks.size}`));
    b.addEventListener("click", () => this.ui.selectRun(r.flow, r.date));
    return b;
  }
}
