// Rows of the Diagnostics panel, built in the browser from state.diagnostics (everything
// else is precomputed in Python): one row per cluster for the influence index plot, one per
// sampled observation for residuals vs fitted, one per cluster for the QQ plot, plus the
// lookups that turn a selection into highlight rows and a brush into cluster ids. A
// selection update thus touches O(selected) rows, never all of them.
//
// Unit-tested in js/tests/diagnostics.test.js.

/**
 * Influence rows: one per cluster in state order, `index` 1-based. `label` marks the flagged
 * clusters that get a text label: the `maxLabels` largest Cook's distances (more would overlap).
 */
export function influenceRows(inf, maxLabels = 12) {
  const rows = new Array(inf.ids.length);
  for (let i = 0; i < inf.ids.length; i++) {
    rows[i] = {
      id: inf.ids[i], index: i + 1, cooks: inf.cooks[i], covratio: inf.covratio[i],
      leverage: inf.leverage[i], n: inf.n[i], flag: !!inf.flag[i], note: inf.note?.[i] || "",
      label: false,
    };
  }
  const ranked = rows.filter((r) => r.flag).sort((a, b) => b.cooks - a.cooks);
  for (const r of ranked.slice(0, maxLabels)) r.label = true;
  return rows;
}

/** Ids of flagged clusters, largest Cook's distance first. */
export function flaggedIds(inf) {
  const out = [];
  for (let i = 0; i < inf.ids.length; i++) if (inf.flag[i]) out.push(i);
  out.sort((a, b) => (inf.cooks[b] ?? -Infinity) - (inf.cooks[a] ?? -Infinity));
  return out.map((i) => inf.ids[i]);
}

/** The `k` most influential clusters (largest Cook's distance; missing values last). */
export function topInfluential(inf, k = 8) {
  const idx = inf.ids.map((_, i) => i).filter((i) => Number.isFinite(inf.cooks[i]));
  idx.sort((a, b) => inf.cooks[b] - inf.cooks[a]);
  return idx.slice(0, k);
}

/** Residual rows; `id` is the cluster id (residuals.cluster indexes influence.ids). */
export function residualRows(diag) {
  const r = diag.residuals;
  const ids = diag.influence.ids;
  const rows = new Array(r.fitted.length);
  for (let i = 0; i < rows.length; i++) {
    rows[i] = { id: ids[r.cluster[i]], fitted: r.fitted[i], resid: r.residual[i] };
  }
  return rows;
}

/** Map id -> array of row positions (to highlight a cluster's rows in O(its rows)). */
export function rowsById(rows) {
  const map = new Map();
  rows.forEach((row, i) => {
    const list = map.get(row.id);
    if (list) list.push(i);
    else map.set(row.id, [i]);
  });
  return map;
}

/** QQ rows of one random effect; `out` marks points outside the pointwise envelope. */
export function qqRows(qq) {
  const rows = new Array(qq.ids.length);
  for (let i = 0; i < rows.length; i++) {
    const s = qq.sample[i];
    rows[i] = {
      id: qq.ids[i], theo: qq.theoretical[i], sample: s, lower: qq.lower[i], upper: qq.upper[i],
      out: s < qq.lower[i] || s > qq.upper[i],
    };
  }
  return rows;
}

/** Rows of `rows` (via `index` from rowsById) belonging to the selected ids. */
export function highlight(rows, index, selectedIds) {
  const out = [];
  for (const id of selectedIds) {
    const list = index.get(id);
    if (list) for (const i of list) out.push(rows[i]);
  }
  return out;
}

/** Unique ids of rows whose x (and y) lie in a brush interval (either order; null = any). */
export function idsInBrush(rows, xField, yField, xr, yr) {
  const inside = (v, r) => !r || (v >= Math.min(r[0], r[1]) && v <= Math.max(r[0], r[1]));
  const seen = new Set();
  for (const row of rows) {
    if (inside(row[xField], xr) && (!yField || inside(row[yField], yr))) seen.add(row.id);
  }
  return [...seen];
}

/** Selected clusters named on the influence plot: a few labels help, hundreds only cost time. */
export function labelRows(rows, max = 20) {
  return rows.length <= max ? rows : [];
}
