// A run's graph: its tasks in flow order, edges from the flow definition's `after` lists, and
// the cross-date dependencies (`id@-N`), which are shown as markers rather than edges.
// The layout is cached by flow, version and task list, so state changes never re-lay it out.

import { Layout, layoutDag } from "./layout";
import { FlowDef, FlowTaskDef, parseDep } from "./protocol";
import { Run } from "./store";

export interface RunGraph {
  signature: string;
  ids: string[];
  defs: Map<string, FlowTaskDef>;
  xdeps: Map<string, string[]>; // task id -> its "id@-N" dependencies
  layout: Layout;
}

let cache: RunGraph | null = null;

export function runGraph(run: Run, flow: FlowDef | undefined): RunGraph {
  // A run pins the version it opened with; the definition we hold may be newer. Edges are
  // taken from it for the tasks both share, which is right unless `after` lists were edited.
  // With the same version, the definition's task list is the run's, even before an update has
  // carried every task's view.
  let ids: string[];
  if (flow && (flow.version === run.version || !run.tasks.size)) {
    ids = flow.tasks.map((t) => t.id);
    const known = new Set(ids);
    for (const id of run.tasks.keys()) if (!known.has(id)) ids.push(id);
  } else {
    ids = [...run.tasks.keys()];
  }
  const signature = `${run.flow}\u0000${flow?.version ?? 0}\u0000${ids.join("\u0001")}`;
  if (cache && cache.signature === signature) return cache;
  const defs = new Map<string, FlowTaskDef>((flow?.tasks ?? []).map((t) => [t.id, t]));
  const xdeps = new Map<string, string[]>();
  const preds = new Map<string, string[]>();
  for (const id of ids) {
    const same: string[] = [];
    const cross: string[] = [];
    for (const dep of defs.get(id)?.after ?? []) {
      const d = parseDep(dep);
      if (d.offset < 0) cross.push(dep);
      else same.push(d.id);
    }
    preds.set(id, same);
    if (cross.length) xdeps.set(id, cross);
  }
  const layout = layoutDag(ids, (id) => preds.get(id) ?? []);
  cache = { signature, ids, defs, xdeps, layout };
  return cache;
}
