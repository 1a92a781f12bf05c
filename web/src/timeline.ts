// The day's timeline: one bar per started task from `started` to `ended` (running bars reach
// "now" and grow), drawn on a canvas with only the rows in view, so 2,000 rows scroll freely.
// The critical path (longest chain of durations through `after` edges) is outlined, and its
// task ids are exposed in data-critical for tests and tools.

import { CriticalPath } from "./critical";
import { h, frameCoalescer } from "./dom";
import { fmtDuration, fmtTime } from "./format";
import { TaskView } from "./protocol";
import { stateColor } from "./states";
import { Run } from "./store";

const ROW = 22;
const HEAD = 28;
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200].map((s) => s * 1000);

export class TimelineView {
  readonly el: HTMLElement;
  private info = h("p", { class: "tl-info", "data-testid": "critical-path" });
  private canvas = h("canvas", { class: "tl-canvas", "aria-hidden": "true" });
  private spacer = h("div", { class: "tl-spacer" });
  private scroller = h("div", { class: "tl-scroller", tabindex: 0, "aria-label": "Timeline rows" }, this.spacer);
  private tip = h("div", { class: "tl-tip", role: "tooltip" });
  private ctx: CanvasRenderingContext2D;
  private rows: TaskView[] = [];
  private crit = new Set<string>();
  private selected: string | null = null;
  private t0 = 0;
  private t1 = 0;
  readonly schedule = frameCoalescer(() => this.draw());

  constructor(private onSelect: (id: string) => void) {
    const wrap = h("div", { class: "tl-wrap" }, this.canvas, this.scroller, this.tip);
    this.el = h("div", { class: "timeline", "data-testid": "timeline" }, this.info, wrap);
    this.ctx = this.canvas.getContext("2d")!;
    this.scroller.addEventListener("scroll", () => this.schedule(), { passive: true });
    new ResizeObserver(() => this.schedule()).observe(wrap);
    this.scroller.addEventListener("click", (e) => {
      const t = this.rowAt(e);
      if (t) this.onSelect(t.id);
    });
    this.scroller.addEventListener("mousemove", (e) => this.hover(e));
    this.scroller.addEventListener("mouseleave", () => (this.tip.hidden = true));
    this.tip.hidden = true;
  }

  // Recomputes the rows; `match` filters them, `crit` is the run's critical path.
  show(run: Run | null, match: Set<string> | null, crit: CriticalPath, selected: string | null): void {
    this.selected = selected;
    this.crit = new Set(crit.ids);
    const rows: TaskView[] = [];
    let waiting = 0;
    if (run) {
      for (const t of run.tasks.values()) {
        if (match && !match.has(t.id)) continue;
        if (t.started) rows.push(t);
        else waiting++;
      }
    }
    rows.sort((a, b) => a.started - b.started || (a.ended || Infinity) - (b.ended || Infinity));
    this.rows = rows;
    this.spacer.style.height = `${HEAD + rows.length * ROW}px`;
    this.el.dataset.critical = crit.ids.join(" ");
    this.el.dataset.rows = String(rows.length);
    this.info.replaceChildren();
    if (!run) {
      this.info.append("Select a run to see its timeline.");
    } else {
      this.info.append(
        h("span", null, `${rows.length} started, ${waiting} not started`),
        crit.ids.length
          ? h("span", { class: "tl-crit" }, `Critical path ${fmtDuration(crit.total)}: ${crit.ids.join(" → ")}`)
          : h("span", { class: "muted" }, "No critical path yet"));
    }
    this.schedule();
  }

  private range(now: number): void {
    let t0 = Infinity;
    let t1 = 0;
    for (const t of this.rows) {
      t0 = Math.min(t0, t.started);
      t1 = Math.max(t1, t.ended || now);
    }
    if (!this.rows.length) {
      t0 = now - 60000;
      t1 = now;
    }
    const span = Math.max(1000, t1 - t0);
    this.t0 = t0 - span * 0.01;
    this.t1 = t1 + span * 0.03;
  }

  private draw(): void {
    const w = this.scroller.clientWidth;
    const hgt = this.scroller.clientHeight;
    if (!w || !hgt) return;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${hgt}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const style = getComputedStyle(this.el);
    const fg = style.getPropertyValue("--fg").trim() || "#222";
    const muted = style.getPropertyValue("--muted").trim() || "#777";
    const grid = style.getPropertyValue("--grid").trim() || "rgba(0,0,0,0.08)";
    const now = Date.now();
    this.range(now);
    const labelW = Math.min(220, Math.max(110, w * 0.25));
    const plotW = Math.max(10, w - labelW - 12);
    const X = (t: number) => labelW + ((t - this.t0) / (this.t1 - this.t0)) * plotW;

    // Rows in view.
    const top = this.scroller.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW));
    const last = Math.min(this.rows.length, Math.ceil((top + hgt - HEAD) / ROW) + 1);
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    for (let i = first; i < last; i++) {
      const t = this.rows[i];
      const y = HEAD + i * ROW - top;
      if (y + ROW < HEAD) continue;
      const isCrit = this.crit.has(t.id);
      if (t.id === this.selected) {
        ctx.fillStyle = "rgba(47,116,224,0.12)";
        ctx.fillRect(0, y, w, ROW);
      }
      ctx.fillStyle = isCrit ? "#f0780a" : fg;
      ctx.font = `${isCrit ? "600 " : ""}12px system-ui, sans-serif`;
      ctx.fillText(t.id, 8, y + ROW / 2, labelW - 14);
      const x0 = X(t.started);
      const x1 = Math.max(x0 + 2, X(t.ended || now));
      ctx.fillStyle = stateColor(t.state);
      ctx.fillRect(x0, y + 4, x1 - x0, ROW - 8);
      if (!t.ended) {
        // A running bar: its growing end is striped.
        ctx.fillStyle = "rgba(255,255,255,0.35)";
        ctx.fillRect(Math.max(x0, x1 - 6), y + 4, Math.min(6, x1 - x0), ROW - 8);
      }
      if (t.shards_total > 1) {
        ctx.fillStyle = "rgba(255,255,255,0.7)";
        ctx.fillRect(x0, y + ROW - 7, ((x1 - x0) * t.shards_done) / t.shards_total, 2);
      }
      if (isCrit) {
        ctx.lineWidth = 2;
        ctx.strokeStyle = "#f0780a";
        ctx.strokeRect(x0 - 1, y + 3, x1 - x0 + 2, ROW - 6);
      }
      const d = fmtDuration((t.ended || now) - t.started);
      ctx.fillStyle = muted;
      ctx.font = "11px system-ui, sans-serif";
      const tw = ctx.measureText(d).width;
      if (x1 + 6 + tw < w) ctx.fillText(d, x1 + 6, y + ROW / 2);
      else if (x0 - 6 - tw > labelW) ctx.fillText(d, x0 - 6 - tw, y + ROW / 2);
    }

    // Header with the time axis, drawn over the rows.
    ctx.fillStyle = style.getPropertyValue("--panel").trim() || "#fff";
    ctx.fillRect(0, 0, w, HEAD);
    const step = STEPS.find((s) => (s / (this.t1 - this.t0)) * plotW >= 90) ?? STEPS[STEPS.length - 1];
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.fillStyle = muted;
    ctx.font = "11px system-ui, sans-serif";
    for (let t = Math.ceil(this.t0 / step) * step; t <= this.t1; t += step) {
      const x = Math.round(X(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, HEAD - 6);
      ctx.lineTo(x, hgt);
      ctx.stroke();
      ctx.fillText(fmtTime(t), x + 3, HEAD / 2);
    }
    // "Now" line while something runs.
    if (this.rows.some((t) => !t.ended)) {
      const x = Math.round(X(now)) + 0.5;
      ctx.strokeStyle = "#2f74e0";
      ctx.beginPath();
      ctx.moveTo(x, HEAD - 8);
      ctx.lineTo(x, hgt);
      ctx.stroke();
    }
    ctx.strokeStyle = grid;
    ctx.beginPath();
    ctx.moveTo(0, HEAD - 0.5);
    ctx.lineTo(w, HEAD - 0.5);
    ctx.stroke();
  }

  // Whether a bar is still growing (the caller ticks a redraw once a second while so).
  get live(): boolean {
    return this.rows.some((t) => !t.ended);
  }

  private rowAt(e: MouseEvent): TaskView | null {
    const r = this.scroller.getBoundingClientRect();
    const y = e.clientY - r.top;
    if (y < HEAD) return null;
    const i = Math.floor((y - HEAD + this.scroller.scrollTop) / ROW);
    return this.rows[i] ?? null;
  }

  private hover(e: MouseEvent): void {
    const t = this.rowAt(e);
    if (!t) {
      this.tip.hidden = true;
      return;
    }
    const r = this.scroller.getBoundingClientRect();
    const d = fmtDuration((t.ended || Date.now()) - t.started);
    this.tip.textContent = `${t.id} · ${t.state} · ${fmtTime(t.started)} → ${t.ended ? fmtTime(t.ended) : "now"} · ${d}` +
      (t.executor ? ` · ${t.executor}` : "") +
      // A bar runs from the first start of any attempt to the end of the last.
      (t.attempt > 1 ? ` · ${t.attempt} attempts, all in this bar` : "") +
      (this.crit.has(t.id) ? " · critical path" : "");
    this.tip.hidden = false;
    this.tip.style.left = `${Math.min(e.clientX - r.left + 12, r.width - 260)}px`;
    this.tip.style.top = `${e.clientY - r.top + 14}px`;
  }
}
