// Cluster selection shared by every view of one explorer (and synced to Python).
//
// Ids are strings (the grouping factor's level names, as in res.ranef). The selection keeps
// insertion order so the UI can list the first few ids the user picked.

export class Selection {
  /** @param {string[]} validIds ids that exist in the state (others are ignored) */
  constructor(validIds) {
    this.valid = new Set(validIds);
    this.ids = new Set();
    this.listeners = new Set();
  }

  /** Replace the selection; `source` tells listeners who changed it (to avoid echo loops). */
  set(ids, source = "local") {
    const next = new Set();
    for (const id of ids) if (this.valid.has(String(id))) next.add(String(id));
    if (sameSet(next, this.ids)) return false;
    this.ids = next;
    this.emit(source);
    return true;
  }

  toggle(id, source = "local") {
    const next = new Set(this.ids);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return this.set(next, source);
  }

  add(ids, source = "local") {
    return this.set([...this.ids, ...ids], source);
  }

  clear(source = "local") {
    return this.set([], source);
  }

  has(id) {
    return this.ids.has(id);
  }

  get size() {
    return this.ids.size;
  }

  list() {
    return [...this.ids];
  }

  /** Plain object {id: true} for Vega expressions (`sel[datum.id]`). */
  asObject() {
    const o = {};
    for (const id of this.ids) o[id] = true;
    return o;
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(source) {
    for (const fn of this.listeners) fn(this, source);
  }
}

function sameSet(a, b) {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/**
 * Ids of the points inside a brush rectangle (bounds in data units, either order).
 * @param {string[]} ids
 * @param {ArrayLike<number>} xs
 * @param {ArrayLike<number>} ys
 * @param {[number, number] | null} xr x interval, or null for no constraint
 * @param {[number, number] | null} yr y interval, or null for no constraint
 */
export function idsInBox(ids, xs, ys, xr, yr) {
  const [x0, x1] = xr ? [Math.min(...xr), Math.max(...xr)] : [-Infinity, Infinity];
  const [y0, y1] = yr ? [Math.min(...yr), Math.max(...yr)] : [-Infinity, Infinity];
  const out = [];
  for (let i = 0; i < ids.length; i++) {
    if (xs[i] >= x0 && xs[i] <= x1 && ys[i] >= y0 && ys[i] <= y1) out.push(ids[i]);
  }
  return out;
}

/**
 * Find clusters by id: exact match first, then case-insensitive exact, then ids that start
 * with the query, then ids that contain it. Returns at most `limit` ids.
 */
export function findClusters(ids, query, limit = 20) {
  const q = String(query).trim();
  if (!q) return [];
  if (ids.includes(q)) return [q];
  const lower = q.toLowerCase();
  const exact = ids.filter((id) => id.toLowerCase() === lower);
  if (exact.length) return exact.slice(0, limit);
  const starts = ids.filter((id) => id.toLowerCase().startsWith(lower));
  const contains = ids.filter((id) => !id.toLowerCase().startsWith(lower) && id.toLowerCase().includes(lower));
  return [...starts, ...contains].slice(0, limit);
}

/** Indices that sort `values` ascending (ties keep input order): caterpillar ranks. */
export function rankOrder(values) {
  const idx = Array.from(values, (_, i) => i);
  idx.sort((a, b) => values[a] - values[b] || a - b);
  return idx;
}

/** Short human summary of a selection: "3 schools: 1224, 1288, 1296". */
export function describeSelection(ids, noun = "clusters", shown = 6) {
  if (!ids.length) return `No ${noun} selected`;
  const head = ids.slice(0, shown).join(", ");
  const more = ids.length > shown ? `, … (+${ids.length - shown})` : "";
  const label = ids.length === 1 ? singular(noun) : noun;
  return `${ids.length} ${label} selected: ${head}${more}`;
}

function singular(noun) {
  return noun.endsWith("s") ? noun.slice(0, -1) : noun;
}
