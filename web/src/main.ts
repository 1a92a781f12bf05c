// The dashboard's entry point: builds the page, connects to the gateway, and routes each
// pushed change to the views it concerns.

import { Actions, Toasts, Token, TokenDialog } from "./actions";
import { ArchiveLoader } from "./archive";
import { Banner } from "./banner";
import { Connection } from "./connection";
import { criticalPath, CriticalPath } from "./critical";
import { DagView } from "./dag";
import { TaskPanel } from "./detail";
import { h, frameCoalescer } from "./dom";
import { fmtFailover } from "./format";
import { ErrorsPanel } from "./errors";
import { ExecutorsView } from "./executors";
import { HistoryView } from "./history";
import { RunGraph, runGraph } from "./model";
import { ServerMsg, TASK_STATES } from "./protocol";
import { RunBar } from "./runbar";
import { Sidebar } from "./sidebar";
import { STATE_GROUPS } from "./states";
import { Change, Store, runKey } from "./store";
import { TimelineView } from "./timeline";
import { Ui, VIEWS, ViewName } from "./ui";

const VIEW_LABEL: Record<ViewName, string> = {
  graph: "Graph", timeline: "Timeline", history: "History", executors: "Executors",
};

function boot(): void {
  const store = new Store();
  const ui = new Ui();
  const token = new Token();
  const fromHash = ui.loadHash();
  if (fromHash) token.set(fromHash);

  const toasts = new Toasts();
  const wsUrl = () => {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const t = token.get();
    // With read-only viewing closed the upgrade itself needs the token; with it open the
    // gateway ignores it.
    return `${proto}//${location.host}/ws${t ? `?token=${encodeURIComponent(t)}` : ""}`;
  };
  const banner = new Banner(() => conn.reconnectNow(), () => !token.get());
  const status = h("span", { class: "status", "data-testid": "connection-status" });
  const onMessage = (m: ServerMsg) => {
    // A refusal not tied to a request of ours (id 0: a frame the gateway could not read).
    if (m.t === "reply" && !m.ok) {
      store.addError({ time: Date.now(), service: "gateway", message: m.message || "a frame was refused" }, true);
      return;
    }
    // A failover seen live: said once, at once; the errors panel keeps it as a notice.
    if (m.t === "failover") toasts.show("info", fmtFailover(m));
    store.apply(m);
  };
  const conn = new Connection(wsUrl, onMessage, (s) => {
    banner.set(s);
    status.dataset.status = s.status;
    status.textContent = s.status === "open" ? "live" : s.status === "connecting" ? "connecting" : "offline";
    document.body.classList.toggle("stale", s.status !== "open" && s.everOpened);
  }, (why) => store.addError({ time: Date.now(), service: "dashboard", message: `The gateway sent ${why}; ignored.` }, true));

  const actions = new Actions(conn, store, token, toasts, (flow, date) => {
    ui.want = { flow, date };
    if (store.run(flow, date)) {
      ui.want = null;
      ui.selectRun(flow, date);
    }
  });
  // Archived runs' tasks, read from the archive when such a run is shown.
  const archive = new ArchiveLoader(conn, store, () => showRun());
  const tokenDialog = new TokenDialog(token, () => {
    if (!store.readOnlyOpen || !conn.isOpen) conn.reconnectNow();
    renderTokenButton();
  });

  // Header: title, views, filters, token and connection status.
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "Views" });
  const tabButtons = new Map<ViewName, HTMLButtonElement>();
  for (const v of VIEWS) {
    const b = h("button", { class: "tab", role: "tab", "data-testid": `tab-${v}` }, VIEW_LABEL[v]);
    b.addEventListener("click", () => ui.setView(v));
    tabButtons.set(v, b);
    tabs.append(b);
  }
  const filter = h("input", {
    type: "search", class: "filter", placeholder: "Filter tasks (id or executor)", "data-testid": "filter",
    "aria-label": "Filter tasks by id or executor",
  });
  const stateFilter = h("select", { "data-testid": "state-filter", "aria-label": "Filter tasks by state" },
    ...Object.keys(STATE_GROUPS).map((g) => h("option", { value: g }, g === "all" ? "all states" : g)),
    h("option", { disabled: true }, "──────"),
    ...TASK_STATES.map((s) => h("option", { value: s }, s.replace("_", " "))));
  const critToggle = h("input", { type: "checkbox", "data-testid": "critical-toggle", checked: true });
  const matchCount = h("span", { class: "muted small", "data-testid": "match-count" });
  const onFilter = () => ui.setFilter(filter.value, stateFilter.value);
  filter.addEventListener("input", onFilter);
  stateFilter.addEventListener("change", onFilter);
  critToggle.addEventListener("change", () => ui.setCritical(critToggle.checked));
  filter.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || !match) return;
    const first = [...match][0];
    if (first) {
      ui.setView("graph");
      ui.selectTask(first);
      dag.reveal(first);
    }
  });
  const tokenBtn = h("button", { class: "btn btn-small", "data-testid": "token-button" });
  tokenBtn.addEventListener("click", () => tokenDialog.open());
  const renderTokenButton = () => {
    tokenBtn.textContent = token.get() ? "Token ✓" : "Set token";
    tokenBtn.title = token.get() ? "A token is set for actions (click to change)" : "Actions need the gateway's token";
  };
  token.subscribe(renderTokenButton);
  renderTokenButton();
  const header = h("header", { class: "top" },
    h("div", { class: "brand" }, "zflow"), tabs,
    h("div", { class: "filters" }, filter, stateFilter,
      h("label", { class: "check", title: "Highlight the critical path" }, critToggle, " critical path"), matchCount),
    h("div", { class: "right" }, tokenBtn, status));

  // Views.
  const sidebar = new Sidebar(store, ui, (flow) => void actions.run("start", { flow }));
  const runbar = new RunBar(store, ui, actions, archive);
  const select = (id: string) => ui.selectTask(id);
  const dag = new DagView(select);
  const timeline = new TimelineView(select);
  const historyView = new HistoryView(conn, store, ui);
  const executorsView = new ExecutorsView(store, ui);
  const panel = new TaskPanel(conn, actions, () => ui.selectTask(null), select);
  const errors = new ErrorsPanel(store, ui);
  const views: Record<ViewName, HTMLElement> = {
    graph: dag.el, timeline: timeline.el, history: historyView.el, executors: executorsView.el,
  };
  const stage = h("div", { class: "stage" }, ...Object.values(views));
  const main = h("main", { class: "main" }, runbar.el, stage);
  document.body.append(header, banner.el,
    h("div", { class: "layout" }, sidebar.el, main, panel.el), errors.el, toasts.el,
    actions.dialog.el, tokenDialog.el);

  // Derived state of the selected run, refreshed on changes.
  let graph: RunGraph | null = null;
  let match: Set<string> | null = null;
  let crit: CriticalPath = { ids: [], total: 0 };
  const selectedRun = () => (ui.flow && ui.date ? store.run(ui.flow, ui.date) ?? null : null);

  const computeMatch = () => {
    const run = selectedRun();
    const text = ui.filterText.trim().toLowerCase();
    const group = STATE_GROUPS[ui.stateFilter];
    if (!run || (!text && ui.stateFilter === "all")) {
      match = null;
      matchCount.textContent = "";
      return;
    }
    const m = new Set<string>();
    for (const t of run.tasks.values()) {
      const stateOk = group ? group(t.state) : t.state === ui.stateFilter;
      const textOk = !text || t.id.toLowerCase().includes(text) || (t.executor ?? "").toLowerCase().includes(text);
      if (stateOk && textOk) m.add(t.id);
    }
    match = m;
    matchCount.textContent = `${m.size} of ${run.tasks.size}`;
  };
  const computeCrit = () => {
    const run = selectedRun();
    crit = run && graph && ui.showCritical
      ? criticalPath(graph.ids, graph.layout.preds, run.tasks, Date.now())
      : { ids: [], total: 0 };
  };

  const emptyText = () => {
    if (!store.haveSnapshot) return "Waiting for the gateway…";
    const run = selectedRun();
    if (run?.archived && !run.fromArchive) {
      const s = archive.state(run);
      return s.status === "failed"
        ? `The tasks of this archived run could not be read from the archive: ${s.message}`
        : "This run is archived: reading its tasks from the archive…";
    }
    if (!ui.flow) return store.flows.size ? "Select a flow on the left." : "No flows yet. Submit one with `zflow submit FILE`.";
    if (!ui.date) return `No run of ${ui.flow} selected. Start a business date with “Start a date…”.`;
    return `No run of ${ui.flow} for ${ui.date}.`;
  };

  // Redraws everything that depends on the selected run. An archived run is shown once its
  // tasks came from the archive; until then (or if they cannot come) the graph says why.
  const showRun = () => {
    const selected = selectedRun();
    archive.show(selected);
    const run = selected && selected.archived && !selected.fromArchive ? null : selected;
    graph = run ? runGraph(run, store.flows.get(run.flow)) : null;
    computeMatch();
    computeCrit();
    dag.show(run, graph, emptyText());
    dag.setMatch(match);
    dag.setCritical(crit.ids);
    dag.setSelected(ui.task);
    if (ui.view === "timeline") timeline.show(run, match, crit, ui.task);
    runbar.render();
    panel.show(run, run ? store.flows.get(run.flow) : undefined, ui.task);
  };

  // Task changes of the selected run, coalesced to one pass per frame.
  const changedTasks = new Set<string>();
  let runChanged = false;
  const flushRun = frameCoalescer(() => {
    const run = selectedRun();
    if (!run) return;
    if (runChanged) {
      runChanged = false;
      changedTasks.clear();
      showRun();
      return;
    }
    if (match) computeMatch();
    computeCrit();
    dag.tasksChanged(changedTasks);
    if (match) dag.setMatch(match);
    dag.setCritical(crit.ids);
    changedTasks.clear();
    if (ui.view === "timeline") timeline.show(run, match, crit, ui.task);
    runbar.render();
    panel.update();
  });

  let sidebarTimer = 0;
  const sidebarSoon = () => {
    if (sidebarTimer) return;
    sidebarTimer = window.setTimeout(() => {
      sidebarTimer = 0;
      sidebar.render();
    }, 500);
  };
  const renderErrors = frameCoalescer(() => errors.render());
  const renderExecutors = frameCoalescer(() => ui.view === "executors" && executorsView.render());

  // Keeps the selection pointing at something that exists.
  const fixSelection = () => {
    if (ui.want && store.run(ui.want.flow, ui.want.date)) {
      const w = ui.want;
      ui.want = null;
      ui.selectRun(w.flow, w.date);
      return;
    }
    if (ui.flow && !store.flows.has(ui.flow) && !store.runsOf(ui.flow).length) ui.selectRun(null, null);
    if (!ui.flow) {
      const first = [...store.flows.keys()].sort()[0];
      if (first) ui.selectRun(first, store.runsOf(first)[0]?.date ?? null);
    } else if (!ui.date || !store.run(ui.flow, ui.date)) {
      const newest = store.runsOf(ui.flow)[0]?.date ?? null;
      if (newest !== ui.date && (!ui.date || store.haveSnapshot)) ui.selectRun(ui.flow, newest);
    }
  };

  store.subscribe((c: Change) => {
    if (errors.note(c) || c.full || c.errors) renderErrors();
    if (c.executors || c.full || c.tasks.size) renderExecutors();
    if (c.errors && !c.full && !c.runs.size && !c.tasks.size && !c.flows.size) return;
    const selKey = ui.flow && ui.date ? runKey(ui.flow, ui.date) : "";
    if (c.full) {
      archive.forgetFailures();
      fixSelection();
      sidebar.render();
      showRun();
      if (ui.view === "history") historyView.refresh();
      return;
    }
    if (c.flows.size || c.runs.size) {
      sidebar.render();
      if (ui.want || (ui.flow && !ui.date)) fixSelection();
    } else if (c.tasks.size) {
      sidebarSoon();
    }
    if (ui.flow && c.flows.has(ui.flow)) runChanged = true;
    if (c.runs.has(selKey)) runChanged = true;
    const ids = c.tasks.get(selKey);
    if (ids) for (const id of ids) changedTasks.add(id);
    if (runChanged || ids) flushRun();
    if (ui.view === "history" && ui.flow && [...c.runs].some((k) => k.startsWith(`${ui.flow}\u0000`))) {
      historyView.refresh(500);
    }
  });

  const showView = () => {
    for (const v of VIEWS) {
      views[v].hidden = v !== ui.view;
      const b = tabButtons.get(v)!;
      b.setAttribute("aria-selected", String(v === ui.view));
      b.classList.toggle("active", v === ui.view);
    }
    if (ui.view === "graph") dag.schedule();
    if (ui.view === "timeline") timeline.show(selectedRun(), match, crit, ui.task);
    if (ui.view === "history") historyView.refresh();
    if (ui.view === "executors") executorsView.render();
  };

  ui.subscribe((c) => {
    if (c.run) {
      sidebar.render();
      showRun();
      if (ui.view === "history") historyView.refresh();
      return;
    }
    if (c.view) showView();
    if (c.filter) {
      computeMatch();
      computeCrit();
      dag.setMatch(match);
      dag.setCritical(crit.ids);
      if (ui.view === "timeline") timeline.show(selectedRun(), match, crit, ui.task);
    }
    if (c.task) {
      dag.setSelected(ui.task);
      const run = selectedRun();
      panel.show(run, run ? store.flows.get(run.flow) : undefined, ui.task);
      if (ui.view === "timeline") timeline.show(run, match, crit, ui.task);
    }
  });

  // Once a second: local clocks only (countdown, growing durations); nothing is fetched.
  window.setInterval(() => {
    banner.tick();
    const run = selectedRun();
    const live = !!run && run.state === "running";
    if (!live || document.hidden) return;
    if (ui.showCritical && graph) {
      computeCrit();
      dag.setCritical(crit.ids);
    }
    if (ui.view === "graph") dag.refreshTimes();
    if (ui.view === "timeline") timeline.show(run, match, crit, ui.task);
    panel.refreshTimes();
    runbar.render();
  }, 1000);

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && ui.task && !document.querySelector("dialog[open]")) ui.selectTask(null);
    if (e.key === "/" && document.activeElement?.tagName !== "INPUT") {
      e.preventDefault();
      filter.focus();
    }
  });

  sidebar.render();
  showView();
  showRun();
  conn.start();
}

boot();
