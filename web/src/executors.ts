// Executors: which are live, their services and slots, and the tasks they run now.

import { h, fill } from "./dom";
import { fmtDateTime } from "./format";
import { Store } from "./store";
import { Ui } from "./ui";

const RUNNING = new Set(["dispatched", "running"]);

export class ExecutorsView {
  readonly el = h("div", { class: "executors", "data-testid": "executors" });

  constructor(private store: Store, private ui: Ui) {}

  render(): void {
    // Who runs what, from the tasks' executor fields across all runs held.
    const busy = new Map<string, Array<{ flow: string; date: string; id: string; shards: string }>>();
    for (const r of this.store.runs.values()) {
      if (r.state !== "running") continue;
      for (const t of r.tasks.values()) {
        if (!RUNNING.has(t.state) || !t.executor) continue;
        const list = busy.get(t.executor) ?? [];
        list.push({ flow: r.flow, date: r.date, id: t.id, shards: t.shards_total > 1 ? ` (${t.shards_running}/${t.shards_total} shards running)` : "" });
        busy.set(t.executor, list);
      }
    }
    const execs = [...this.store.executors.values()].sort((a, b) => Number(b.live) - Number(a.live) || a.name.localeCompare(b.name));
    const body = h("tbody");
    for (const e of execs) {
      const jobs = h("ul", { class: "jobs" });
      for (const j of busy.get(e.name) ?? []) {
        const b = h("button", { class: "link" }, `${j.flow} ${j.date} ${j.id}`);
        b.addEventListener("click", () => {
          this.ui.selectRun(j.flow, j.date);
          this.ui.selectTask(j.id);
          this.ui.setView("graph");
        });
        jobs.append(h("li", null, b, j.shards));
      }
      const used = e.slots ? Math.min(1, e.running / e.slots) : 0;
      body.append(h("tr", { "data-testid": `executor-${e.name}`, "data-live": String(e.live) },
        h("td", null, e.name),
        h("td", null, h("span", { class: `badge ${e.live ? "s-succeeded" : "s-failed"}` }, e.live ? "live" : "lost")),
        h("td", null, e.services.join(", ") || "—"),
        h("td", null, e.slots
          ? [h("span", { class: "slots" }, h("span", { class: "slots-used", style: `width:${used * 100}%` })), ` ${e.running}/${e.slots}`]
          : h("span", { class: "muted", title: "not reported yet" }, `${e.running} running`)),
        h("td", null, fmtDateTime(e.joined)),
        h("td", null, e.lost ? fmtDateTime(e.lost) : "—"),
        h("td", null, jobs.children.length ? jobs : h("span", { class: "muted" }, "idle"))));
    }
    fill(this.el, h("h2", null, `Executors (${execs.filter((e) => e.live).length} live)`),
      execs.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "table" },
          h("thead", null, h("tr", null, ...["Name", "State", "Services", "Slots", "Joined", "Lost", "Running now"].map((x) => h("th", null, x)))),
          body))
        : h("p", { class: "muted placeholder" }, "No executor has joined."));
  }
}
