// A flow across business dates: state and duration of each run, newest first. The list comes
// from a `history` request, asked when the view opens and when a run of the flow changes
// state; until it answers, the runs the page already holds are shown. Archived runs (their
// tasks in the archive) are marked; opening one reads its tasks from there.

import { Connection } from "./connection";
import { h, fill, stateBadge } from "./dom";
import { fmtDateTime, fmtDuration } from "./format";
import { HistoryRun } from "./protocol";
import { stateColor } from "./states";
import { Store } from "./store";
import { Ui } from "./ui";

export class HistoryView {
  readonly el = h("div", { class: "history", "data-testid": "history" });
  private flow: string | null = null;
  private rows: HistoryRun[] | null = null;
  private gen = 0;
  private timer = 0;
  private note = "";

  constructor(private conn: Connection, private store: Store, private ui: Ui) {}

  // Asks for the selected flow's history (soon, coalescing bursts of changes).
  refresh(delay = 0): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.load(), delay);
  }

  private async load(): Promise<void> {
    const flow = this.ui.flow;
    if (flow !== this.flow) this.rows = null;
    this.flow = flow;
    this.render();
    if (!flow) return;
    const gen = ++this.gen;
    try {
      const a = await this.conn.request({ t: "history", flow });
      if (gen !== this.gen) return;
      if (a.t === "history") {
        this.rows = a.runs;
        this.note = "";
      } else if (a.t === "reply") {
        this.note = `History not available: ${a.message}`;
      }
    } catch (e) {
      if (gen === this.gen) this.note = `History not loaded: ${(e as Error).message}`;
    }
    this.render();
  }

  render(): void {
    const flow = this.ui.flow;
    if (!flow) {
      fill(this.el, h("p", { class: "muted placeholder" }, "Select a flow to see its history."));
      return;
    }
    const rows: HistoryRun[] = this.rows ?? this.store.runsOf(flow).map((r) => ({
      date: r.date, state: r.state, started: r.started, ended: r.ended, archived: r.archived,
    }));
    const now = Date.now();
    const longest = Math.max(1, ...rows.map((r) => (r.started ? (r.ended || now) - r.started : 0)));
    const body = h("tbody");
    for (const r of rows) {
      const d = r.started ? (r.ended || now) - r.started : 0;
      const open = h("button", { class: "link", "data-testid": `history-${r.date}` }, r.date);
      open.addEventListener("click", () => {
        this.ui.selectRun(flow, r.date);
        this.ui.setView("graph");
      });
      body.append(h("tr", {
        "data-state": r.state, "data-archived": r.archived ? "true" : null, class: r.date === this.ui.date ? "sel" : null,
      },
        h("td", null, open), h("td", null, stateBadge(r.state), r.archived ? h("span", {
          class: "badge s-archived", title: "Its tasks are read from the archive when the run is opened",
        }, "archived") : null),
        h("td", null, fmtDateTime(r.started)), h("td", null, fmtDateTime(r.ended)),
        h("td", { class: "num" }, r.started ? fmtDuration(d) : "—"),
        h("td", { class: "bar-cell" }, h("span", {
          class: "hbar", style: `width:${(100 * d) / longest}%;background:${stateColor(r.state)}`,
        }))));
    }
    const refresh = h("button", { class: "btn btn-small", "data-testid": "history-refresh" }, "Refresh");
    refresh.addEventListener("click", () => this.refresh());
    fill(this.el,
      h("div", { class: "section-head" }, h("h2", null, `History of ${flow}`), refresh),
      this.note ? h("p", { class: "muted small" }, this.note) : null,
      rows.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "table" },
          h("thead", null, h("tr", null, ...["Date", "State", "Started", "Ended", "Duration", ""].map((x) => h("th", null, x)))),
          body))
        : h("p", { class: "muted placeholder" }, "No runs of this flow yet."));
  }
}
