// What the operator is looking at: the selected flow, date, task and view, and the filters.
// Kept in the address bar's fragment (#flow=..&date=..) so a link opens the same place.

export type ViewName = "graph" | "timeline" | "history" | "executors";
export const VIEWS: ViewName[] = ["graph", "timeline", "history", "executors"];

export interface UiChange {
  run: boolean;      // flow or date changed
  task: boolean;
  view: boolean;
  filter: boolean;
}

export class Ui {
  flow: string | null = null;
  date: string | null = null;
  task: string | null = null;
  view: ViewName = "graph";
  filterText = "";
  stateFilter = "all";
  showCritical = true;
  // A run the operator just started: select it as soon as it exists.
  want: { flow: string; date: string } | null = null;
  private listeners: Array<(c: UiChange) => void> = [];

  subscribe(fn: (c: UiChange) => void): void {
    this.listeners.push(fn);
  }

  private emit(c: Partial<UiChange>): void {
    const full = { run: false, task: false, view: false, filter: false, ...c };
    this.saveHash();
    for (const fn of this.listeners) fn(full);
  }

  selectRun(flow: string | null, date: string | null): void {
    if (flow === this.flow && date === this.date) return;
    const flowChanged = flow !== this.flow;
    this.flow = flow;
    this.date = date;
    if (this.task) this.task = null;
    this.emit({ run: true, task: true, filter: flowChanged });
  }

  selectTask(id: string | null): void {
    if (id === this.task) return;
    this.task = id;
    this.emit({ task: true });
  }

  setView(v: ViewName): void {
    if (v === this.view) return;
    this.view = v;
    this.emit({ view: true });
  }

  setFilter(text: string, state: string): void {
    this.filterText = text;
    this.stateFilter = state;
    this.emit({ filter: true });
  }

  setCritical(on: boolean): void {
    this.showCritical = on;
    this.emit({ filter: true });
  }

  // Reads the selection from the fragment; returns a token found there (and removes it).
  loadHash(): string | null {
    const params = new URLSearchParams(location.hash.replace(/^#/, ""));
    const token = params.get("token");
    this.flow = params.get("flow");
    this.date = params.get("date");
    this.task = params.get("task");
    const v = params.get("view") as ViewName | null;
    if (v && VIEWS.includes(v)) this.view = v;
    if (token !== null) this.saveHash();
    return token;
  }

  private saveHash(): void {
    const params = new URLSearchParams();
    if (this.flow) params.set("flow", this.flow);
    if (this.date) params.set("date", this.date);
    if (this.task) params.set("task", this.task);
    if (this.view !== "graph") params.set("view", this.view);
    const hash = params.toString();
    const url = location.pathname + location.search + (hash ? `#${hash}` : "");
    history.replaceState(null, "", url);
  }
}
