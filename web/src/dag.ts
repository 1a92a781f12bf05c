// The task graph of the selected run, with pan and zoom.
// Edges are drawn on a canvas. Nodes near the viewport are real buttons (focusable, clickable,
// with data-testid="task-<id>" and data-state) placed in a layer that moves with one CSS
// transform; when zoomed out so far that many nodes are in view, the canvas draws them as
// coloured boxes instead and clicks are hit-tested. So 2,000 tasks cost at most a few hundred
// DOM nodes, and a state change touches only the nodes that changed.

import { h, frameCoalescer } from "./dom";
import { fmtDuration, fmtHourMinute } from "./format";
import { NODE_H, NODE_W } from "./layout";
import { RunGraph } from "./model";
import { TaskView } from "./protocol";
import { stateColor } from "./states";
import { Run } from "./store";

const DOM_CAP = 600;        // most node buttons at once
const OVERVIEW_SCALE = 0.3; // below this zoom the canvas draws the nodes
const MIN_SCALE = 0.01;
const MAX_SCALE = 3;
const DRAG_SLOP = 4;

interface NodeEl {
  el: HTMLButtonElement;
  label: HTMLElement;
  meta: HTMLElement;
  bar: HTMLElement | null;
  done: HTMLElement | null;
  bad: HTMLElement | null;
}

export class DagView {
  readonly el: HTMLElement;
  private canvas = h("canvas", { class: "dag-canvas", "aria-hidden": "true" });
  private layer = h("div", { class: "dag-nodes" });
  private empty = h("p", { class: "dag-empty muted" });
  private ctx: CanvasRenderingContext2D;
  private graph: RunGraph | null = null;
  private run: Run | null = null;
  private k = 1;
  private tx = 0;
  private ty = 0;
  private needFit = true;
  private autoFit = false; // fitted and not moved since: stays fitted when the view resizes
  private els = new Map<string, NodeEl>();
  private match: Set<string> | null = null;
  private crit = new Set<string>();
  private critEdges = new Set<string>();
  private selected: string | null = null;
  private overview = false;
  private edgeColour = "#b4bac3";
  private drag: { x: number; y: number; tx: number; ty: number; moved: boolean; id: number } | null = null;
  private suppressClick = false;
  readonly schedule = frameCoalescer(() => this.draw());

  constructor(private onSelect: (id: string) => void) {
    const zoomIn = h("button", { class: "btn btn-icon", title: "Zoom in (+)", "aria-label": "Zoom in", "data-testid": "zoom-in" }, "+");
    const zoomOut = h("button", { class: "btn btn-icon", title: "Zoom out (−)", "aria-label": "Zoom out", "data-testid": "zoom-out" }, "−");
    const fit = h("button", { class: "btn", title: "Zoom to fit (0)", "data-testid": "zoom-fit" }, "Fit");
    zoomIn.addEventListener("click", () => this.zoomBy(1.25));
    zoomOut.addEventListener("click", () => this.zoomBy(0.8));
    fit.addEventListener("click", () => this.fit());
    this.el = h("div", {
      class: "dag", "data-testid": "dag", tabindex: 0, role: "region",
      "aria-label": "Task graph: drag to pan, wheel or +/− to zoom, 0 to fit",
    }, this.canvas, this.layer, this.empty, h("div", { class: "dag-controls" }, zoomOut, zoomIn, fit));
    this.ctx = this.canvas.getContext("2d")!;
    new ResizeObserver(() => {
      if (this.needFit || this.autoFit) this.fit();
      else this.schedule();
    }).observe(this.el);
    this.bindInput();
  }

  // Shows a run (or nothing). A different run is fitted to the view; the same one keeps it.
  show(run: Run | null, graph: RunGraph | null, emptyText: string): void {
    const newRun = !run || !this.run || run.flow !== this.run.flow || run.date !== this.run.date;
    const newGraph = graph !== this.graph;
    this.run = run;
    this.graph = graph;
    this.empty.textContent = emptyText;
    this.empty.hidden = !!(graph && graph.ids.length);
    if (newGraph) {
      for (const n of this.els.values()) n.el.remove();
      this.els.clear();
    } else if (run) {
      for (const [id, n] of this.els) {
        const t = run.tasks.get(id);
        if (t) this.paint(n, t);
      }
    }
    if (newRun || (newGraph && this.autoFit)) this.needFit = true;
    if (this.needFit) this.fit();
    else this.schedule();
  }

  // Repaints the nodes of tasks that changed state or progress.
  tasksChanged(ids: Iterable<string>): void {
    if (!this.run) return;
    for (const id of ids) {
      const n = this.els.get(id);
      const t = this.run.tasks.get(id);
      if (n && t) this.paint(n, t);
    }
    if (this.overview) this.schedule();
  }

  setMatch(match: Set<string> | null): void {
    this.match = match;
    for (const [id, n] of this.els) n.el.classList.toggle("dim", !!match && !match.has(id));
    this.schedule();
  }

  setCritical(ids: string[]): void {
    const same = ids.length === this.crit.size && ids.every((id) => this.crit.has(id));
    if (same) return;
    this.crit = new Set(ids);
    this.critEdges = new Set();
    for (let i = 1; i < ids.length; i++) this.critEdges.add(`${ids[i - 1]}>${ids[i]}`);
    for (const [id, n] of this.els) n.el.classList.toggle("crit", this.crit.has(id));
    this.schedule();
  }

  setSelected(id: string | null): void {
    if (this.selected) this.els.get(this.selected)?.el.classList.remove("sel");
    this.selected = id;
    if (id) this.els.get(id)?.el.classList.add("sel");
    this.schedule();
  }

  // Centres the view on a task (after a search, or from the errors panel).
  reveal(id: string): void {
    const nd = this.graph?.layout.byId.get(id);
    if (!nd) return;
    const w = this.el.clientWidth;
    const hgt = this.el.clientHeight;
    if (this.k < 0.6) this.k = 0.9;
    this.tx = w / 2 - (nd.x + NODE_W / 2) * this.k;
    this.ty = hgt / 2 - (nd.y + NODE_H / 2) * this.k;
    this.needFit = false;
    this.autoFit = false;
    this.schedule();
  }

  fit(): void {
    const w = this.el.clientWidth;
    const hgt = this.el.clientHeight;
    const lay = this.graph?.layout;
    if (!w || !hgt) return; // not laid out yet: the resize observer fits later
    this.needFit = false;
    this.autoFit = true;
    if (!lay || !lay.nodes.length) {
      this.k = 1;
      this.tx = this.ty = 0;
    } else {
      const pad = 28;
      this.k = clamp(Math.min((w - 2 * pad) / lay.width, (hgt - 2 * pad) / lay.height, 1.2), MIN_SCALE, MAX_SCALE);
      this.tx = (w - lay.width * this.k) / 2;
      this.ty = (hgt - lay.height * this.k) / 2;
    }
    this.schedule();
  }

  // Called about once a second while the view is visible: running durations grow.
  refreshTimes(): void {
    if (!this.run) return;
    for (const [id, n] of this.els) {
      const t = this.run.tasks.get(id);
      if (t && t.started && !t.ended) this.paint(n, t);
    }
  }

  private zoomBy(f: number, cx = this.el.clientWidth / 2, cy = this.el.clientHeight / 2): void {
    const k = clamp(this.k * f, MIN_SCALE, MAX_SCALE);
    this.tx = cx - ((cx - this.tx) * k) / this.k;
    this.ty = cy - ((cy - this.ty) * k) / this.k;
    this.k = k;
    this.needFit = false;
    this.autoFit = false;
    this.schedule();
  }

  private bindInput(): void {
    this.el.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.el.getBoundingClientRect();
      const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      this.zoomBy(Math.exp(-dy * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    this.el.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || (e.target as HTMLElement).closest(".dag-controls")) return;
      this.drag = { x: e.clientX, y: e.clientY, tx: this.tx, ty: this.ty, moved: false, id: e.pointerId };
    });
    this.el.addEventListener("pointermove", (e) => {
      const d = this.drag;
      if (!d || d.id !== e.pointerId) return;
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      if (!d.moved && Math.hypot(dx, dy) < DRAG_SLOP) return;
      if (!d.moved) {
        d.moved = true;
        this.el.setPointerCapture(e.pointerId);
        this.el.classList.add("panning");
      }
      this.tx = d.tx + dx;
      this.ty = d.ty + dy;
      this.needFit = false;
      this.autoFit = false;
      this.schedule();
    });
    const end = (e: PointerEvent) => {
      const d = this.drag;
      if (!d || d.id !== e.pointerId) return;
      this.drag = null;
      this.el.classList.remove("panning");
      if (d.moved) {
        this.suppressClick = true;
        window.setTimeout(() => (this.suppressClick = false), 0);
      }
    };
    this.el.addEventListener("pointerup", end);
    this.el.addEventListener("pointercancel", end);
    // A drag that ends over a node must not select it.
    this.el.addEventListener("click", (e) => {
      if (this.suppressClick) {
        e.stopPropagation();
        e.preventDefault();
        return;
      }
      const node = (e.target as HTMLElement).closest<HTMLElement>(".node");
      if (node?.dataset.id) {
        this.onSelect(node.dataset.id);
        return;
      }
      if (e.target === this.el || e.target === this.canvas || e.target === this.layer) {
        const id = this.hit(e.clientX, e.clientY);
        if (id) this.onSelect(id);
      }
    }, true);
    this.el.addEventListener("keydown", (e) => {
      if ((e.target as HTMLElement) !== this.el) return;
      const step = 60;
      const keys: Record<string, () => void> = {
        "+": () => this.zoomBy(1.25), "=": () => this.zoomBy(1.25), "-": () => this.zoomBy(0.8),
        "0": () => this.fit(), f: () => this.fit(),
        ArrowLeft: () => this.pan(step, 0), ArrowRight: () => this.pan(-step, 0),
        ArrowUp: () => this.pan(0, step), ArrowDown: () => this.pan(0, -step),
      };
      const fn = keys[e.key];
      if (fn) {
        e.preventDefault();
        fn();
      }
    });
  }

  private pan(dx: number, dy: number): void {
    this.tx += dx;
    this.ty += dy;
    this.needFit = false;
    this.autoFit = false;
    this.schedule();
  }

  private hit(clientX: number, clientY: number): string | null {
    if (!this.graph) return null;
    const r = this.el.getBoundingClientRect();
    const x = (clientX - r.left - this.tx) / this.k;
    const y = (clientY - r.top - this.ty) / this.k;
    const slop = 3 / this.k; // tiny boxes stay clickable
    for (const nd of this.graph.layout.nodes) {
      if (x >= nd.x - slop && x <= nd.x + NODE_W + slop && y >= nd.y - slop && y <= nd.y + NODE_H + slop) return nd.id;
    }
    return null;
  }

  private draw(): void {
    const w = this.el.clientWidth;
    const hgt = this.el.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${hgt}px`;
    }
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const g = this.graph;
    const run = this.run;
    if (!g || !run) {
      this.syncNodes([]);
      return;
    }
    const lay = g.layout;
    const { k, tx, ty } = this;
    // The part of the layout in view, with a margin so panning does not pop nodes in late.
    const m = 80 / k;
    const x0 = -tx / k - m;
    const y0 = -ty / k - m;
    const x1 = (w - tx) / k + m;
    const y1 = (hgt - ty) / k + m;
    const inView = lay.nodes.filter((nd) => nd.x + NODE_W >= x0 && nd.x <= x1 && nd.y + NODE_H >= y0 && nd.y <= y1);
    this.overview = k < OVERVIEW_SCALE || inView.length > DOM_CAP;
    this.el.classList.toggle("overview", this.overview);
    this.el.dataset.lod = k < 0.55 ? "0" : k < 0.95 ? "1" : "2";
    this.layer.style.transform = `translate(${tx}px, ${ty}px) scale(${k})`;

    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * tx, dpr * ty);
    this.edgeColour = getComputedStyle(this.el).getPropertyValue("--edge").trim() || "#b4bac3";
    this.drawEdges(ctx, x0, y0, x1, y1);
    if (this.overview) this.drawBoxes(ctx, inView.map((nd) => nd.index));
    this.syncNodes(this.overview ? [] : inView.map((nd) => nd.id));
  }

  // Ordinary edges are stroked one by one: a single path of thousands of curves makes the
  // rasteriser build one coverage mask over the whole view, many times slower in software.
  // The few highlighted edges (selection, critical path) are drawn on top.
  private drawEdges(ctx: CanvasRenderingContext2D, x0: number, y0: number, x1: number, y1: number): void {
    const g = this.graph!;
    const nodes = g.layout.nodes;
    const k = this.k;
    const near = new Path2D();
    const crit = new Path2D();
    const sel = this.selected;
    const straight = k < OVERVIEW_SCALE; // curves are invisible that small
    ctx.lineWidth = 1.2 / k;
    ctx.strokeStyle = this.edgeColour;
    for (const [u, v] of g.layout.edges) {
      const a = nodes[u];
      const b = nodes[v];
      const ax = a.x + NODE_W;
      const ay = a.y + NODE_H / 2;
      const bx = b.x;
      const by = b.y + NODE_H / 2;
      if (Math.max(ax, bx) < x0 || Math.min(ax, bx) > x1 || Math.max(ay, by) < y0 || Math.min(ay, by) > y1) continue;
      const special = this.critEdges.has(`${a.id}>${b.id}`) ? crit : sel && (a.id === sel || b.id === sel) ? near : null;
      if (special) {
        curve(special, ax, ay, bx, by, false);
        continue;
      }
      ctx.beginPath();
      curve(ctx, ax, ay, bx, by, straight);
      ctx.stroke();
    }
    ctx.lineWidth = 2.2 / k;
    ctx.strokeStyle = "#2f74e0";
    ctx.stroke(near);
    ctx.lineWidth = 3 / k;
    ctx.strokeStyle = "#f0780a";
    ctx.stroke(crit);
  }

  private drawBoxes(ctx: CanvasRenderingContext2D, indices: number[]): void {
    const g = this.graph!;
    const run = this.run!;
    const nodes = g.layout.nodes;
    const k = this.k;
    for (const i of indices) {
      const nd = nodes[i];
      const t = run.tasks.get(nd.id);
      ctx.globalAlpha = this.match && !this.match.has(nd.id) ? 0.15 : 1;
      ctx.fillStyle = stateColor(t?.state ?? "waiting");
      ctx.fillRect(nd.x, nd.y, NODE_W, NODE_H);
      if (t && t.shards_total > 1) {
        ctx.fillStyle = "rgba(255,255,255,0.8)";
        ctx.fillRect(nd.x, nd.y + NODE_H - 8, (NODE_W * t.shards_done) / t.shards_total, 8);
      }
    }
    ctx.globalAlpha = 1;
    const outline = (id: string, colour: string, width: number) => {
      const nd = g.layout.byId.get(id);
      if (!nd) return;
      ctx.lineWidth = width / k;
      ctx.strokeStyle = colour;
      ctx.strokeRect(nd.x, nd.y, NODE_W, NODE_H);
    };
    for (const id of this.crit) outline(id, "#f0780a", 2.5);
    if (this.selected) outline(this.selected, "#111", 3);
    // Readable labels as soon as the boxes are big enough to hold them.
    if (k * NODE_H >= 14 && indices.length <= 1500) {
      ctx.fillStyle = "#fff";
      ctx.font = `${Math.min(13, k * NODE_H * 0.45) / k}px system-ui, sans-serif`;
      ctx.textBaseline = "middle";
      for (const i of indices) {
        const nd = nodes[i];
        ctx.fillText(nd.id, nd.x + 6 / k, nd.y + NODE_H / 2, NODE_W - 12 / k);
      }
    }
  }

  // Keeps exactly the wanted node buttons in the DOM.
  private syncNodes(want: string[]): void {
    const keep = new Set(want);
    for (const [id, n] of this.els) {
      if (keep.has(id)) continue;
      if (n.el.contains(document.activeElement)) continue; // never yank focus away
      n.el.remove();
      this.els.delete(id);
    }
    const g = this.graph;
    const run = this.run;
    if (!g || !run) return;
    const frag = document.createDocumentFragment();
    for (const id of want) {
      if (this.els.has(id)) continue;
      const nd = g.layout.byId.get(id)!;
      const n = this.makeNode(id, nd.x, nd.y);
      const t = run.tasks.get(id) ?? placeholderTask(id);
      this.paint(n, t);
      this.els.set(id, n);
      frag.append(n.el);
    }
    this.layer.append(frag);
  }

  private makeNode(id: string, x: number, y: number): NodeEl {
    const g = this.graph!;
    const def = g.defs.get(id);
    const label = h("span", { class: "n-label" }, id);
    const meta = h("span", { class: "n-meta" });
    const el = h("button", {
      class: "node", type: "button", "data-testid": `task-${id}`, "data-id": id,
      style: `left:${x}px;top:${y}px`,
    }, label, meta) as HTMLButtonElement;
    let bar = null;
    let done = null;
    let bad = null;
    const sharded = (def && def.shards > 0) || (this.run?.tasks.get(id)?.shards_total ?? 0) > 1;
    if (sharded) {
      done = h("i", { class: "n-done" });
      bad = h("i", { class: "n-bad" });
      bar = h("span", { class: "n-bar", "data-testid": `progress-${id}` }, done, bad);
      el.append(bar);
    }
    const xd = g.xdeps.get(id);
    if (xd) {
      const offsets = xd.map((d) => d.slice(d.lastIndexOf("@") + 1));
      el.append(h("span", {
        class: "n-xdate", "data-testid": `xdate-${id}`,
        title: `Also waits for an earlier business date: ${xd.join(", ")}`,
      }, `⟲${[...new Set(offsets)].join(",")}`));
    }
    if (def && def.kind !== "run") el.classList.add(`k-${def.kind}`);
    if (this.crit.has(id)) el.classList.add("crit");
    if (this.selected === id) el.classList.add("sel");
    if (this.match && !this.match.has(id)) el.classList.add("dim");
    return { el, label, meta, bar, done, bad };
  }

  private paint(n: NodeEl, t: TaskView): void {
    const el = n.el;
    if (el.dataset.state !== t.state) {
      el.dataset.state = t.state;
      el.className = el.className.replace(/\bs-[a-z_]+/g, "").trim() + ` s-${t.state}`;
    }
    const parts: string[] = [t.state.replace("_", " ")];
    if (t.attempt > 1) parts.push(`try ${t.attempt}`);
    if (t.shards_total > 1) parts.push(`${t.shards_done}/${t.shards_total}`);
    if (t.started) parts.push(fmtDuration((t.ended || Date.now()) - t.started));
    else if (t.due && t.state === "waiting") parts.push(`not before ${fmtHourMinute(t.due)}`);
    const meta = parts.join(" · ");
    if (n.meta.textContent !== meta) n.meta.textContent = meta;
    el.setAttribute("aria-label", `${t.id}: ${meta}`);
    el.title = `${t.id}\n${meta}${t.detail ? `\n${t.detail}` : ""}`;
    if (n.done && n.bad && t.shards_total > 0) {
      n.done.style.width = `${(100 * t.shards_done) / t.shards_total}%`;
      n.bad.style.width = `${(100 * t.shards_failed) / t.shards_total}%`;
      n.bar!.title = `${t.shards_done} of ${t.shards_total} shards done` +
        (t.shards_failed ? `, ${t.shards_failed} failed` : "") + (t.shards_running ? `, ${t.shards_running} running` : "");
    }
  }
}

function placeholderTask(id: string): TaskView {
  return {
    id, state: "waiting", attempt: 0, shards_total: 0, shards_done: 0, shards_failed: 0, shards_running: 0,
    started: 0, ended: 0, executor: null, exit_status: 0, detail: null, due: 0,
  };
}

// An edge from the right side of one box to the left side of the next.
function curve(p: CanvasRenderingContext2D | Path2D, ax: number, ay: number, bx: number, by: number, straight: boolean): void {
  p.moveTo(ax, ay);
  if (bx > ax && !straight) {
    const c = Math.max(24, (bx - ax) / 2);
    p.bezierCurveTo(ax + c, ay, bx - c, by, bx, by);
  } else {
    p.lineTo(bx, by);
  }
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
