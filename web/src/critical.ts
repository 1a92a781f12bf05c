// The critical path of a run: the chain through `after` edges (within the run) whose task
// durations add up to the most. A running task counts up to now; a task not started counts 0.

import { TaskView } from "./protocol";

export interface CriticalPath {
  ids: string[];   // first to last
  total: number;   // ms
}

export function criticalPath(
  order: string[], preds: number[][], tasks: Map<string, TaskView>, now: number,
): CriticalPath {
  const n = order.length;
  // Each task that ran weighs its duration plus a hair, so that among chains of equal time the
  // one through more tasks wins (a task that took 0 ms still belongs on the path).
  const dur = new Float64Array(n);
  for (let v = 0; v < n; v++) {
    const t = tasks.get(order[v]);
    dur[v] = t && t.started ? duration(t, now) + 1e-3 : 0;
  }
  // Longest path over a DAG in topological order; `preds` may come in any order, so walk with
  // memoised depth-first search (iterative, so a long chain cannot overflow the stack).
  const best = new Float64Array(n).fill(-1);
  const via = new Int32Array(n).fill(-1);
  const onStack = new Uint8Array(n);
  for (let root = 0; root < n; root++) {
    if (best[root] >= 0) continue;
    const stack: number[] = [root];
    while (stack.length) {
      const v = stack[stack.length - 1];
      if (best[v] >= 0) { stack.pop(); continue; }
      onStack[v] = 1;
      let ready = true;
      for (const u of preds[v]) {
        if (best[u] < 0 && !onStack[u]) { stack.push(u); ready = false; }
      }
      if (!ready) continue;
      let top = 0;
      let from = -1;
      for (const u of preds[v]) {
        if (best[u] > top) { top = best[u]; from = u; }
      }
      best[v] = top + dur[v];
      via[v] = from;
      onStack[v] = 0;
      stack.pop();
    }
  }
  let end = -1;
  for (let v = 0; v < n; v++) if (best[v] > 0 && (end < 0 || best[v] > best[end])) end = v;
  if (end < 0) return { ids: [], total: 0 };
  // Walk back from the end; tasks that never started are not on the path.
  const ids: string[] = [];
  for (let v = end; v >= 0; v = via[v]) if (dur[v] > 0) ids.push(order[v]);
  ids.reverse();
  let total = 0;
  for (const id of ids) total += duration(tasks.get(id), now);
  return { ids, total };
}

export function duration(t: TaskView | undefined, now: number): number {
  if (!t || !t.started) return 0;
  const end = t.ended || now;
  return Math.max(0, end - t.started);
}
