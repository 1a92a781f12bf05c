// The bar above the main view: the selected run's state and progress, and the run and flow
// actions (start a date, pause or resume the flow, cancel the run). An archived run is marked
// so, read-only: its tasks come from the archive, and nothing of it can be acted on.

import { Actions } from "./actions";
import { ArchiveLoader } from "./archive";
import { h, fill, stateBadge } from "./dom";
import { fmtDateTime, fmtDuration } from "./format";
import { stateColor } from "./states";
import { Run, Store } from "./store";
import { Ui } from "./ui";

const ORDER = ["succeeded", "confirmed", "skipped", "running", "dispatched", "ready", "retrying", "failed",
  "rolled_back", "cancelled", "waiting"];

export class RunBar {
  readonly el = h("div", { class: "runbar", "data-testid": "runbar" });
  private title = h("div", { class: "run-title" });
  private bar = h("div", { class: "run-progress", role: "img" });
  private buttons = h("div", { class: "actions" });
  private buttonsKey = "";

  constructor(private store: Store, private ui: Ui, private actions: Actions, private archive: ArchiveLoader) {
    fill(this.el, this.title, this.buttons, this.bar);
  }

  render(): void {
    const flow = this.ui.flow;
    const def = flow ? this.store.flows.get(flow) : undefined;
    const run = flow && this.ui.date ? this.store.run(flow, this.ui.date) : undefined;
    if (!flow) {
      fill(this.title, h("span", { class: "muted" }, "No flow selected"));
      fill(this.buttons);
      this.buttonsKey = "";
      fill(this.bar);
      return;
    }
    const when = run
      ? [run.started ? `started ${fmtDateTime(run.started)}` : "not started",
        run.started ? fmtDuration((run.ended || Date.now()) - run.started) : ""].filter(Boolean).join(" · ")
      : "";
    fill(this.title,
      h("h1", { class: "run-name" }, flow, run ? h("span", { class: "run-date" }, ` ${run.date}`) : null),
      run ? stateBadge(run.state, "run-state") : h("span", { class: "muted small" }, "no date selected"),
      run ? h("span", { class: "muted small" }, `v${run.version}`) : null,
      def?.paused || run?.paused ? h("span", { class: "badge s-paused" }, "paused") : null,
      run?.archived ? h("span", {
        class: "badge s-archived", "data-testid": "run-archived",
        title: "This run succeeded and left the registry's memory: its tasks are read from the archive",
      }, "archived") : null,
      h("span", { class: "muted small", "data-testid": "run-times" }, when),
      run?.archived ? this.archiveNote(run) : null);

    const paused = def?.paused ?? false;
    const active = !!run && (run.state === "running" || run.state === "waiting");
    // Rebuilt only when they change, so keyboard focus on them survives pushed updates.
    const key = `${flow}|${run?.date ?? ""}|${paused}|${active}`;
    if (key !== this.buttonsKey) {
      this.buttonsKey = key;
      this.renderButtons(flow, run?.date ?? null, paused, active);
    }
    this.renderProgress();
  }

  // Where an archived run's tasks stand: read-only, loading, or not loaded (with a retry).
  private archiveNote(run: Run): HTMLElement {
    const s = this.archive.state(run);
    if (s.status === "failed") {
      const again = h("button", { class: "btn btn-small", "data-testid": "archive-retry" }, "Read again");
      again.addEventListener("click", () => this.archive.retry(run));
      return h("span", { class: "muted small archive-note", "data-testid": "archive-state", "data-status": s.status },
        "tasks not read from the archive ", again);
    }
    return h("span", { class: "muted small archive-note", "data-testid": "archive-state", "data-status": s.status },
      s.status === "loaded" ? "read-only, from the archive" : "reading its tasks from the archive…");
  }

  private renderButtons(flow: string, date: string | null, paused: boolean, active: boolean): void {
    const btn = (label: string, testid: string, fn: () => void, cls = "", enabled = true) => {
      const b = h("button", { class: `btn ${cls}`, "data-testid": testid, disabled: !enabled }, label);
      b.addEventListener("click", fn);
      return b;
    };
    fill(this.buttons,
      btn("Start a date…", "action-start", () => void this.actions.run("start", { flow }), "btn-primary"),
      paused
        ? btn("Resume flow", "action-resume", () => void this.actions.run("resume", { flow }))
        : btn("Pause flow", "action-pause", () => void this.actions.run("pause", { flow })),
      btn("Cancel run", "action-cancel-run",
        () => date && void this.actions.run("cancel", { flow, date }), "btn-danger", active));
  }

  // A bar of task states, in proportion.
  renderProgress(): void {
    const run = this.ui.flow && this.ui.date ? this.store.run(this.ui.flow, this.ui.date) : undefined;
    fill(this.bar);
    if (run && run.tasks.size) {
      const counts = new Map<string, number>();
      for (const t of run.tasks.values()) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
      const parts: string[] = [];
      for (const s of ORDER) {
        const n = counts.get(s);
        if (!n) continue;
        parts.push(`${n} ${s.replace("_", " ")}`);
        this.bar.append(h("span", {
          class: `seg s-${s}`, style: `flex-grow:${n};background:${stateColor(s)}`, title: `${n} ${s}`,
        }));
      }
      this.bar.setAttribute("aria-label", parts.join(", "));
      this.bar.title = parts.join(", ");
    }
  }
}
