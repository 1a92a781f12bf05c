// Layered layout of a run's task graph, left to right.
//   1. Layers by longest path from the sources (a task sits one layer after its latest predecessor).
//   2. Order within layers by barycentres, sweeping down and up a few times to cut crossings.
//   3. Very tall layers wrap into several columns so a wide fan keeps a sane aspect ratio.
//   4. Vertical positions pulled towards the neighbours' centres while keeping order and spacing
//      (isotonic regression, pool-adjacent-violators), which straightens chains.
// Linear or n log n per step: 2,000 tasks lay out in a few milliseconds.

export const NODE_W = 176;
export const NODE_H = 46;
export const GAP_X = 72;
export const GAP_Y = 14;
const PITCH = NODE_H + GAP_Y;
const SWEEPS = 4;

export interface LayoutNode {
  id: string;
  index: number; // position in the input list
  layer: number;
  x: number;     // top-left corner
  y: number;
}

export interface Layout {
  nodes: LayoutNode[];               // in input order
  byId: Map<string, LayoutNode>;
  edges: Array<[number, number]>;    // predecessor index -> successor index
  preds: number[][];
  succs: number[][];
  width: number;
  height: number;
}

export function layoutDag(ids: string[], predsOf: (id: string) => string[]): Layout {
  const n = ids.length;
  const index = new Map<string, number>();
  ids.forEach((id, i) => index.set(id, i));
  const preds: number[][] = ids.map(() => []);
  const succs: number[][] = ids.map(() => []);
  const edges: Array<[number, number]> = [];
  for (let v = 0; v < n; v++) {
    const seen = new Set<number>();
    for (const p of predsOf(ids[v])) {
      const u = index.get(p);
      if (u === undefined || u === v || seen.has(u)) continue;
      seen.add(u);
      preds[v].push(u);
      succs[u].push(v);
      edges.push([u, v]);
    }
  }

  const layer = assignLayers(n, preds, succs);
  const layers: number[][] = [];
  for (let v = 0; v < n; v++) (layers[layer[v]] ??= []).push(v);
  for (let l = 0; l < layers.length; l++) layers[l] ??= [];
  orderLayers(layers, preds, succs, n);

  // Wrap tall layers into columns of at most `cap` tasks.
  const cap = Math.max(40, Math.ceil(2 * Math.sqrt(n)));
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  let col = 0;
  const single: boolean[] = [];
  for (const members of layers) {
    const cols = Math.max(1, Math.ceil(members.length / cap));
    const perCol = Math.ceil(members.length / cols);
    single.push(cols === 1);
    members.forEach((v, i) => {
      const c = Math.floor(i / perCol);
      const r = i % perCol;
      x[v] = (col + c) * (NODE_W + GAP_X);
      y[v] = (r - (Math.min(perCol, members.length - c * perCol) - 1) / 2) * PITCH;
    });
    col += cols;
  }

  // Pull single-column layers towards their neighbours: down, up, down.
  const centre = (vs: number[]) => vs.reduce((s, u) => s + y[u], 0) / vs.length;
  const pass = (from: number, to: number, step: number, nb: number[][]) => {
    for (let l = from; l !== to; l += step) {
      if (!single[l]) continue;
      const members = layers[l];
      const want = members.map((v) => (nb[v].length ? centre(nb[v]) : y[v]));
      const placed = placeInOrder(want, PITCH);
      members.forEach((v, i) => (y[v] = placed[i]));
    }
  };
  const L = layers.length;
  pass(1, L, 1, preds);
  pass(L - 2, -1, -1, succs);
  pass(1, L, 1, preds);

  let minY = Infinity;
  let maxY = -Infinity;
  let maxX = 0;
  for (let v = 0; v < n; v++) {
    minY = Math.min(minY, y[v]);
    maxY = Math.max(maxY, y[v]);
    maxX = Math.max(maxX, x[v]);
  }
  if (n === 0) minY = maxY = 0;
  const nodes: LayoutNode[] = ids.map((id, v) => ({ id, index: v, layer: layer[v], x: x[v], y: y[v] - minY }));
  return {
    nodes,
    byId: new Map(nodes.map((nd) => [nd.id, nd])),
    edges, preds, succs,
    width: n ? maxX + NODE_W : 0,
    height: n ? maxY - minY + NODE_H : 0,
  };
}

// Longest path from the sources (Kahn's order). Tasks on a cycle, which a valid flow never
// has, go to the layers after the rest rather than being lost.
function assignLayers(n: number, preds: number[][], succs: number[][]): number[] {
  const layer = new Array<number>(n).fill(0);
  const indeg = preds.map((p) => p.length);
  const queue: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) queue.push(v);
  let done = 0;
  for (let h = 0; h < queue.length; h++) {
    const u = queue[h];
    done++;
    for (const v of succs[u]) {
      layer[v] = Math.max(layer[v], layer[u] + 1);
      if (--indeg[v] === 0) queue.push(v);
    }
  }
  if (done < n) {
    let top = 0;
    for (const v of queue) top = Math.max(top, layer[v]);
    for (let v = 0; v < n; v++) if (indeg[v] > 0) layer[v] = ++top;
  }
  return layer;
}

// Barycentre ordering: each task's key is the mean relative rank of its neighbours in the
// layers already placed; tasks without such neighbours keep their rank. Stable sorts.
function orderLayers(layers: number[][], preds: number[][], succs: number[][], n: number): void {
  const rank = new Float64Array(n);
  const setRanks = (members: number[]) => members.forEach((v, i) => (rank[v] = (i + 0.5) / members.length));
  layers.forEach(setRanks);
  const sweep = (l: number, nb: number[][]) => {
    const members = layers[l];
    const key = new Map<number, number>();
    for (const v of members) {
      const ns = nb[v];
      key.set(v, ns.length ? ns.reduce((s, u) => s + rank[u], 0) / ns.length : rank[v]);
    }
    members.sort((a, b) => key.get(a)! - key.get(b)!);
    setRanks(members);
  };
  for (let it = 0; it < SWEEPS; it++) {
    for (let l = 1; l < layers.length; l++) sweep(l, preds);
    for (let l = layers.length - 2; l >= 0; l--) sweep(l, succs);
  }
}

// Positions closest (least squares) to `want` that keep the order and at least `gap` apart.
// With z_i = y_i - i*gap the constraint is z non-decreasing: an isotonic regression.
export function placeInOrder(want: number[], gap: number): number[] {
  const blocks: Array<{ sum: number; count: number }> = [];
  for (let i = 0; i < want.length; i++) {
    blocks.push({ sum: want[i] - i * gap, count: 1 });
    while (blocks.length > 1) {
      const b = blocks[blocks.length - 1];
      const a = blocks[blocks.length - 2];
      if (a.sum / a.count <= b.sum / b.count) break;
      a.sum += b.sum;
      a.count += b.count;
      blocks.pop();
    }
  }
  const out: number[] = [];
  for (const b of blocks) {
    const z = b.sum / b.count;
    for (let k = 0; k < b.count; k++) out.push(z + out.length * gap);
  }
  return out;
}
