// The task panel: everything about one task of the selected run, its shards (asked with a
// `shards` request), its log tail (asked with `logs`) and the operator actions. Shards and
// logs are asked again when the task's pushed state says they changed, never on a timer.
// A task of an archived run is read-only: no actions, and no shards table (the registry no
// longer holds its shards); its log is asked for by its attempt, which the registry serves
// from the log folder without the run in memory.

import { Actions } from "./actions";
import { Connection } from "./connection";
import { h, fill, stateBadge } from "./dom";
import { fmtDateTime, fmtDuration } from "./format";
import { FlowDef, ShardView, TaskView, parseDep } from "./protocol";
import { ACTIVE, RETRYABLE } from "./states";
import { Run } from "./store";

const REFRESH_DELAY_MS = 300;

export class TaskPanel {
  readonly el = h("aside", { class: "panel", "data-testid": "task-panel", "aria-label": "Task details" });
  private head = h("div", { class: "panel-head" });
  private facts = h("dl", { class: "facts" });
  private buttons = h("div", { class: "actions" });
  private shardsBox = h("section", { class: "shards" });
  private logBox = h("section", { class: "logs" });
  private logPre = h("pre", { class: "log", "data-testid": "log-tail", tabindex: 0 });
  private logNote = h("p", { class: "muted small" });
  private logShard = h("select", { "data-testid": "log-shard", "aria-label": "Shard" });
  private logAttempt = h("select", { "data-testid": "log-attempt", "aria-label": "Attempt" });
  private run: Run | null = null;
  private flow: FlowDef | undefined;
  private id: string | null = null;
  private seen = "";      // the task's last state/attempt/progress, to know when to re-ask
  private gen = 0;        // drops answers meant for an earlier selection
  private refreshTimer = 0;
  private shardRows: ShardView[] = [];
  private title = h("h2", { "data-testid": "panel-task" });
  private badge = stateBadge("waiting", "panel-state");
  private durEl = h("span");
  private factsKey = "";
  private shardsKey = "-";
  private retryBtn = h("button", { class: "btn btn-primary", "data-testid": "action-retry" }, "Retry");
  private skipBtn = h("button", { class: "btn", "data-testid": "action-skip" }, "Skip");
  private cancelBtn = h("button", { class: "btn btn-danger", "data-testid": "action-cancel" }, "Cancel");

  constructor(
    private conn: Connection,
    private actions: Actions,
    private onClose: () => void,
    private onSelect: (id: string) => void,
  ) {
    const refresh = h("button", { class: "btn btn-small", "data-testid": "logs-refresh" }, "Refresh");
    refresh.addEventListener("click", () => this.loadLogs());
    this.logShard.addEventListener("change", () => this.loadLogs());
    this.logAttempt.addEventListener("change", () => this.loadLogs());
    fill(this.logBox,
      h("div", { class: "section-head" }, h("h3", null, "Log tail"),
        h("div", { class: "row" }, this.logShard, this.logAttempt, refresh)),
      this.logPre, this.logNote);
    const close = h("button", { class: "btn btn-icon", "aria-label": "Close the task panel", "data-testid": "panel-close" }, "×");
    close.addEventListener("click", () => this.onClose());
    fill(this.head, this.title, this.badge, close);
    this.retryBtn.addEventListener("click", () => this.act("retry"));
    this.skipBtn.addEventListener("click", () => this.act("skip"));
    this.cancelBtn.addEventListener("click", () => this.act("cancel"));
    fill(this.buttons, this.retryBtn, this.skipBtn, this.cancelBtn);
    fill(this.el, this.head, this.facts, this.buttons, this.shardsBox, this.logBox);
    this.el.hidden = true;
  }

  // Shows a task (or hides the panel with null).
  show(run: Run | null, flow: FlowDef | undefined, id: string | null): void {
    const same = run === this.run && id === this.id;
    this.run = run;
    this.flow = flow;
    this.id = id;
    const t = id && run ? run.tasks.get(id) : undefined;
    this.el.hidden = !t;
    if (!t) return;
    if (same) {
      this.update();
      return;
    }
    this.gen++;
    this.seen = signature(t);
    this.shardRows = [];
    this.factsKey = "";
    this.shardsKey = "-";
    this.render(t);
    this.fillLogChoices(t);
    this.logPre.textContent = "Loading…";
    this.logNote.textContent = "";
    this.loadLogs();
    if (t.shards_total > 1 && !run!.archived) this.loadShards();
  }

  // The selected task changed (pushed update): redraw, and re-ask shards/logs if needed.
  update(): void {
    const t = this.current();
    if (!t) {
      this.el.hidden = true;
      return;
    }
    this.render(t);
    const sig = signature(t);
    if (sig !== this.seen) {
      const attemptChanged = sig.split("|")[1] !== this.seen.split("|")[1];
      this.seen = sig;
      if (attemptChanged) this.fillLogChoices(t);
      window.clearTimeout(this.refreshTimer);
      this.refreshTimer = window.setTimeout(() => {
        this.loadLogs();
        if (t.shards_total > 1) this.loadShards();
      }, REFRESH_DELAY_MS);
    }
  }

  // Live durations of a running task.
  refreshTimes(): void {
    const t = this.current();
    if (t && t.started && !t.ended) this.render(t);
  }

  private current(): TaskView | undefined {
    return this.id && this.run ? this.run.tasks.get(this.id) : undefined;
  }

  private render(t: TaskView): void {
    const run = this.run!;
    const def = this.flow?.tasks.find((d) => d.id === t.id);
    this.title.textContent = t.id;
    this.badge.replaceWith((this.badge = stateBadge(t.state, "panel-state")));
    this.durEl.textContent = t.started ? fmtDuration((t.ended || Date.now()) - t.started) : "—";

    // The facts are rebuilt only when they change, so focus on a link in them survives updates.
    const rows: Array<[string, Node | string]> = [
      ["Run", `${run.flow} ${run.date}`],
      ["Attempt", String(t.attempt || "—")],
      ["Started", fmtDateTime(t.started)],
      ["Ended", fmtDateTime(t.ended)],
      ["Duration", this.durEl],
      ["Executor", t.executor ?? "—"],
      ["Exit status", t.ended || t.state === "failed" ? String(t.exit_status) : "—"],
    ];
    if (t.shards_total > 1) {
      rows.push(["Shards", `${t.shards_done}/${t.shards_total} done` +
        (t.shards_running ? `, ${t.shards_running} running` : "") + (t.shards_failed ? `, ${t.shards_failed} failed` : "")]);
    }
    if (t.due) rows.push(["Not before", fmtDateTime(t.due)]);
    const same = def ? def.after.filter((d) => parseDep(d).offset === 0) : [];
    const cross = def ? def.after.filter((d) => parseDep(d).offset < 0) : [];
    if (def) rows.push(["Kind", def.kind === "service" && def.service ? `service ${def.service}` : def.kind]);
    if (cross.length) rows.push(["Earlier dates", cross.join(", ")]);
    if (def?.speculative) rows.push(["Speculative", "yes"]);
    const key = JSON.stringify([rows.map(([k, v]) => [k, typeof v === "string" ? v : ""]), same, t.detail]);
    if (key !== this.factsKey) {
      this.factsKey = key;
      fill(this.facts, ...rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
      if (same.length) {
        const links = h("dd", { class: "links" });
        for (const d of same) {
          const b = h("button", { class: "link" }, d);
          b.addEventListener("click", () => this.onSelect(d));
          links.append(b, " ");
        }
        this.facts.append(h("dt", null, "After"), links);
      }
      if (t.detail) {
        this.facts.append(h("dt", null, "Detail"), h("dd", { class: "detail", "data-testid": "panel-detail" }, t.detail));
      }
    }

    this.buttons.hidden = run.archived;
    const active = ACTIVE.has(t.state) || t.state === "waiting";
    // A sharded task can hold failed shards while others still run.
    this.retryBtn.disabled = !RETRYABLE.has(t.state) && !(t.shards_failed > 0);
    this.skipBtn.disabled = t.state === "succeeded" || t.state === "confirmed" || t.state === "skipped";
    this.cancelBtn.disabled = !active;
    this.renderShards(t);
  }

  private act(action: "retry" | "skip" | "cancel"): void {
    const run = this.run;
    if (!run || !this.id) return;
    void this.actions.run(action, { flow: run.flow, date: run.date, task: this.id });
  }

  private renderShards(t: TaskView): void {
    const archived = !!this.run?.archived;
    const key = t.shards_total > 1 ? JSON.stringify([this.shardRows, t.shards_done, t.shards_total, archived]) : "";
    if (key === this.shardsKey) return;
    this.shardsKey = key;
    if (t.shards_total <= 1) {
      fill(this.shardsBox);
      return;
    }
    if (archived) {
      fill(this.shardsBox, h("div", { class: "section-head" }, h("h3", null, `Shards (${t.shards_done}/${t.shards_total})`)),
        h("p", { class: "muted small", "data-testid": "shards-archived" },
          `${t.shards_done} of ${t.shards_total} shards done${t.shards_failed ? `, ${t.shards_failed} failed` : ""}. ` +
          "The shards of an archived run are not kept; the log of each is below."));
      return;
    }
    const refresh = h("button", { class: "btn btn-small", "data-testid": "shards-refresh" }, "Refresh");
    refresh.addEventListener("click", () => this.loadShards());
    const body = h("tbody");
    const run = this.run!;
    for (const s of this.shardRows) {
      const logBtn = h("button", { class: "btn btn-small", title: "Show this shard's log" }, "Log");
      logBtn.addEventListener("click", () => {
        this.logShard.value = String(s.shard);
        this.loadLogs();
      });
      const retry = h("button", {
        class: "btn btn-small", "data-testid": `shard-retry-${s.shard}`,
        disabled: !RETRYABLE.has(s.state),
      }, "Retry");
      retry.addEventListener("click", () => void this.actions.run("retry", {
        flow: run.flow, date: run.date, task: t.id, shard: s.key ?? s.shard,
      }));
      body.append(h("tr", { "data-testid": `shard-${s.shard}`, "data-state": s.state },
        h("td", null, s.key ?? String(s.shard)),
        h("td", null, stateBadge(s.state)),
        h("td", null, String(s.attempt)),
        h("td", null, s.started ? fmtDuration((s.ended || Date.now()) - s.started) : "—"),
        h("td", null, s.executor ?? "—"),
        h("td", null, s.ended || s.state === "failed" ? String(s.exit_status) : "—"),
        h("td", { class: "detail" }, s.detail ?? ""),
        h("td", { class: "row" }, logBtn, retry)));
    }
    fill(this.shardsBox,
      h("div", { class: "section-head" }, h("h3", null, `Shards (${t.shards_done}/${t.shards_total})`), refresh),
      this.shardRows.length
        ? h("div", { class: "table-wrap" }, h("table", { class: "table", "data-testid": "shards-table" },
          h("thead", null, h("tr", null, ...["Shard", "State", "Try", "Time", "Executor", "Exit", "Detail", ""].map((x) => h("th", null, x)))),
          body))
        : h("p", { class: "muted small" }, "Loading shards…"));
  }

  // A sharded task's log is per shard: the choice lists its shards (the first by default).
  private fillLogChoices(t: TaskView): void {
    const shardVal = this.logShard.value;
    const def = this.flow?.tasks.find((d) => d.id === t.id);
    const n = t.shards_total > 1 ? t.shards_total : 0;
    fill(this.logShard);
    if (!n) this.logShard.append(h("option", { value: "" }, "whole task"));
    for (let i = 0; i < n; i++) {
      const key = def?.shard_keys?.[i];
      this.logShard.append(h("option", { value: String(i) }, key ? `shard ${key}` : `shard ${i}`));
    }
    this.logShard.hidden = n === 0;
    if ([...this.logShard.options].some((o) => o.value === shardVal)) this.logShard.value = shardVal;
    fill(this.logAttempt, h("option", { value: "0" }, "latest attempt"));
    for (let a = 1; a <= t.attempt; a++) this.logAttempt.append(h("option", { value: String(a) }, `attempt ${a}`));
    this.logAttempt.hidden = t.attempt <= 1;
  }

  private async loadShards(): Promise<void> {
    const run = this.run;
    const id = this.id;
    if (!run || !id || run.archived) return;
    const gen = this.gen;
    try {
      const a = await this.conn.request({ t: "shards", flow: run.flow, date: run.date, task: id });
      if (gen !== this.gen) return;
      if (a.t === "shards") this.shardRows = a.shards;
      const t = this.current();
      if (t) this.renderShards(t);
    } catch {
      // Not connected: the next pushed change or the Refresh button asks again.
    }
  }

  private async loadLogs(): Promise<void> {
    const run = this.run;
    const id = this.id;
    if (!run || !id) return;
    const gen = this.gen;
    const shard = this.logShard.value === "" ? null : Number(this.logShard.value);
    // "The latest attempt" needs the run in the registry's memory; an archived run's latest
    // attempt is known here, and a log asked for by attempt is read from the folder.
    const latest = run.archived ? run.tasks.get(id)?.attempt ?? 0 : 0;
    const attempt = Number(this.logAttempt.value) || latest;
    try {
      const a = await this.conn.request({ t: "logs", flow: run.flow, date: run.date, task: id, shard, attempt });
      if (gen !== this.gen) return;
      const atEnd = this.logPre.scrollTop + this.logPre.clientHeight >= this.logPre.scrollHeight - 4;
      if (a.t === "logs") {
        this.logPre.textContent = a.text || "(empty)";
        this.logPre.dataset.state = "ok";
        this.logNote.textContent = a.truncated ? "Only the end of the log is shown." : "";
      } else if (a.t === "reply") {
        this.logPre.textContent = a.message || "no log";
        this.logPre.dataset.state = "error";
        this.logNote.textContent = "";
      }
      if (atEnd) this.logPre.scrollTop = this.logPre.scrollHeight;
    } catch (e) {
      if (gen === this.gen) {
        this.logPre.textContent = `Log not loaded: ${(e as Error).message}`;
        this.logPre.dataset.state = "error";
      }
    }
  }
}

// What makes shards and logs worth asking for again.
function signature(t: TaskView): string {
  return `${t.state}|${t.attempt}|${t.shards_done}|${t.shards_failed}|${t.shards_running}|${t.ended}`;
}
