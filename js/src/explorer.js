// The explorer shell: header, tab strip, lazily mounted panels, shared UI state, selection
// and theme. Panels are plug-ins (see panels/index.js and STATE.md "Panels").

import { h, fmtInt, plural, nextId } from "./dom.js";
import { prepare } from "./model.js";
import { Selection } from "./selection.js";
import { readTheme, watchTheme } from "./theme.js";
import { PANELS } from "./panels/index.js";
import { defaultAt } from "./variables.js";

export const STATE_VERSION = 1;

/** Small observable store for UI settings shared by the panels. */
class Store {
  constructor(values) {
    this.values = values;
    this.listeners = new Set();
  }
  get(key) {
    return this.values[key];
  }
  set(patch) {
    Object.assign(this.values, patch);
    for (const fn of this.listeners) fn(patch);
  }
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

function initialUi(state) {
  const init = state.initial || {};
  const predictor = init.predictor && state.predictors.some((p) => p.name === init.predictor)
    ? init.predictor
    : state.predictors[0]?.name ?? null;
  const at = defaultAt(state);
  Object.assign(at, init.at || {});
  return { predictor, at, showFan: true, showSpread: false };
}

/**
 * Validate the parts of the state every panel relies on; throws a readable error.
 * @param {object} state
 */
export function checkState(state) {
  if (!state || typeof state !== "object") throw new Error("explorer state is empty");
  if (state.version !== STATE_VERSION) {
    throw new Error(
      `explorer state version ${state.version} is not supported by this front end ` +
      `(expects ${STATE_VERSION}); reinstall mlm_jupyter so Python and JavaScript match`,
    );
  }
  for (const key of ["fixed", "variables", "predictors", "clusters"]) {
    if (!(key in state)) throw new Error(`explorer state has no "${key}" section`);
  }
}

/**
 * Build the explorer inside `el`.
 * @param {HTMLElement} el
 * @param {{get:Function, set:Function, on:Function, off:Function, save_changes:Function}} model
 *   an anywidget model, or the in-memory stand-in used by renderStatic
 * @returns {() => void} cleanup
 */
export function createExplorer(el, model) {
  const state = model.get("state");
  const root = h("div", { class: "mlm-explorer" });
  el.replaceChildren(root);
  try {
    checkState(state);
  } catch (err) {
    root.append(h("div", { class: "mlm-error", role: "alert", text: String(err.message || err) }));
    return () => {};
  }

  const cleanups = [];
  const m = prepare(state);
  const selection = new Selection(state.clusters.ids);
  selection.set(model.get("selected") || [], "python");
  const noun = plural(state.group || "cluster");
  const ctx = {
    state,
    model: m,
    selection,
    ui: new Store(initialUi(state)),
    theme: readTheme(root),
    noun,
    root,
    perf: [],
    views: {},
    /** Record how long an update took (read by the browser tests). */
    timed(what, t0) {
      const ms = performance.now() - t0;
      this.perf.push({ what, ms });
      if (this.perf.length > 500) this.perf.splice(0, this.perf.length - 500);
      return ms;
    },
  };

  // Python <-> browser selection sync; `source` stops echoes.
  cleanups.push(selection.subscribe((sel, source) => {
    if (source === "python") return;
    model.set("selected", sel.list());
    model.save_changes();
  }));
  const onPython = () => selection.set(model.get("selected") || [], "python");
  model.on("change:selected", onPython);
  cleanups.push(() => model.off("change:selected", onPython));

  root.classList.toggle("mlm-is-dark", ctx.theme.dark);
  root.append(header(state, noun));
  const tabs = h("div", { class: "mlm-tabs", role: "tablist", "aria-label": "Explorer panels" });
  const body = h("div", { class: "mlm-body" });
  root.append(tabs, body);

  const panels = PANELS.filter((p) => p.available(state));
  const mounted = new Map();
  const tabButtons = [];
  let active = null;

  function activate(id, focus = false) {
    if (active === id) return;
    active = id;
    for (const b of tabButtons) {
      const on = b.dataset.panel === id;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    for (const [pid, entry] of mounted) entry.section.hidden = pid !== id;
    const shown = mounted.get(id);
    if (shown?.stale) {
      // Re-themed while hidden: rebuild now that the panel has its real width.
      shown.stale = false;
      shown.ready = shown.ready.then((inst) => inst?.retheme?.()).then(() => shown.instance);
    }
    if (!mounted.has(id)) {
      const panel = panels.find((p) => p.id === id);
      const section = body.querySelector(`[data-panel="${id}"]`);
      section.hidden = false;
      const entry = { section, instance: null };
      mounted.set(id, entry);
      entry.ready = Promise.resolve(panel.mount(section, ctx)).then((inst) => {
        entry.instance = inst;
        return inst;
      }).catch((err) => {
        section.append(h("div", { class: "mlm-error", role: "alert", text: `This panel failed: ${err.message || err}` }));
        console.error(err);
      });
    }
  }

  for (const panel of panels) {
    const tabId = nextId("mlm-tab");
    const sectionId = nextId("mlm-panel");
    const b = h("button", {
      class: "mlm-tab", role: "tab", id: tabId, type: "button", "aria-controls": sectionId,
      "aria-selected": "false", tabIndex: -1, text: panel.label, dataset: { panel: panel.id },
      onClick: () => activate(panel.id),
    });
    tabButtons.push(b);
    tabs.append(b);
    body.append(h("section", {
      class: "mlm-panel", role: "tabpanel", id: sectionId, "aria-labelledby": tabId, hidden: true,
      dataset: { panel: panel.id },
    }));
  }
  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  tabs.addEventListener("keydown", (ev) => {
    const i = tabButtons.indexOf(document.activeElement);
    if (i < 0) return;
    let j = null;
    if (ev.key === "ArrowRight") j = (i + 1) % tabButtons.length;
    else if (ev.key === "ArrowLeft") j = (i - 1 + tabButtons.length) % tabButtons.length;
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = tabButtons.length - 1;
    if (j === null) return;
    ev.preventDefault();
    activate(tabButtons[j].dataset.panel, true);
  });

  // Theme: rebuild mounted panels when the resolved palette changes.
  let themeKey = JSON.stringify(ctx.theme);
  let themeTimer = 0;
  // Hosts swap stylesheets after flipping their theme flag: wait for the styles to settle
  // before reading colours and re-laying out charts.
  cleanups.push(watchTheme(() => {
    clearTimeout(themeTimer);
    themeTimer = setTimeout(() => {
      const t = readTheme(root);
      const key = JSON.stringify(t);
      if (key === themeKey) return;
      themeKey = key;
      ctx.theme = t;
      root.classList.toggle("mlm-is-dark", t.dark);
      for (const [pid, entry] of mounted) {
        if (pid === active) entry.ready = entry.ready.then((inst) => inst?.retheme?.()).then(() => entry.instance);
        else entry.stale = true;
      }
    }, 250);
  }));
  cleanups.push(() => clearTimeout(themeTimer));

  const first = firstPanel(state, panels);
  // Charts need a laid-out, styled container: widget views may render before being attached.
  let disposed = false;
  const started = whenConnected(root).then(() => {
    if (disposed) return;
    ctx.theme = readTheme(root);
    themeKey = JSON.stringify(ctx.theme);
    root.classList.toggle("mlm-is-dark", ctx.theme.dark);
    if (first) activate(first);
  });

  // Hooks for tests and for the report/diagnostics helpers.
  el.__mlm = {
    ctx,
    activate,
    ready: async () => {
      await started;
      return Promise.all([...mounted.values()].map((e) => e.ready));
    },
    selection,
  };

  return () => {
    disposed = true;
    for (const fn of cleanups) fn();
    for (const entry of mounted.values()) entry.instance?.destroy?.();
    delete el.__mlm;
  };
}

/**
 * The panel shown first: `state.initial.tab` when given; else Clusters for a model whose
 * slopes are neither random nor moderated (a random-intercept model has no interaction to
 * show, but its clusters are the point); else the first panel.
 */
export function firstPanel(state, panels) {
  const has = (id) => panels.some((p) => p.id === id);
  if (state.initial?.tab && has(state.initial.tab)) return state.initial.tab;
  const slopes = (state.predictors || []).some((p) => p.random || p.moderators?.length);
  if (!slopes && has("clusters")) return "clusters";
  return panels[0]?.id;
}

/** Resolve once `el` is in the document and has a width (or after ~10 s regardless). */
function whenConnected(el) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const check = () => {
      if ((el.isConnected && el.getBoundingClientRect().width > 0) || Date.now() - t0 > 10000) resolve();
      else requestAnimationFrame(check);
    };
    check();
  });
}

/** "REML fit", "binomial GLMM, logit link · ML (Laplace)" or "Bayesian fit · 4,000 draws". */
export function fitLabel(state) {
  const g = state.glmm;
  if (g) {
    const family = g.family.replace("_", " ");
    const how = g.nagq > 1 ? `ML (AGQ, ${g.nagq} points)` : "ML (Laplace)";
    return `${family} GLMM, ${g.link} link · ${how}`;
  }
  const post = state.posterior;
  if (post?.method === "bayes") {
    return `Bayesian fit · slopes from ${fmtInt(post.beta_draws.length)} posterior draws`;
  }
  return state.reml === false ? "ML fit" : "REML fit";
}

function header(state, noun) {
  const meta = [
    fitLabel(state),
    `${fmtInt(state.n_obs)} observations`,
    `${fmtInt(state.n_clusters)} ${noun}`,
  ];
  const head = h("div", { class: "mlm-header" }, [
    h("div", { class: "mlm-title-row" }, [
      h("span", { class: "mlm-title", text: "Model explorer" }),
      h("code", { class: "mlm-formula", text: state.formula }),
    ]),
    h("div", { class: "mlm-meta", text: meta.join(" · ") }),
  ]);
  const cl = state.clusters;
  if (cl.sampled) {
    head.append(h("div", {
      class: "mlm-note", role: "note",
      text: `Cluster views show a random sample of ${fmtInt(cl.ids.length)} of ${fmtInt(cl.total)} ` +
        `${noun} (seed ${cl.seed}); model summaries use all ${noun}.`,
    }));
  }
  return head;
}
