// The explorer's offline copy in a notebook output, and its hand-over with the live widget.
//
// Every displayed explorer is two outputs (mlm_jupyter/display/fallback.py): the widget view,
// then a self-contained copy (`.mlm-fallback`: a static picture, the state as JSON, a boot
// script). Where the widget cannot render (kernel restarted, notebook reopened without a
// kernel, nbconvert, VS Code after reopening) the copy renders the same explorer from the
// same state. Where the live widget renders, it announces itself and the copy hides, so one
// explorer is shown. The two sides share `id` (the widget's `_fallback_id` trait and the
// copy's `data-mlm-fallback`), and they may come from different copies of this bundle, so
// the registry lives on globalThis and changes travel as document events.

const REGISTRY = "__mlmLiveExplorers";
const EVENT = "mlm-explorer-live";

function registry() {
  globalThis[REGISTRY] ??= new Map();
  return globalThis[REGISTRY];
}

/** True while a live widget view with this id is rendered in the page. */
export function isLive(id) {
  return (registry().get(id) || 0) > 0;
}

function announce(id, delta) {
  const reg = registry();
  reg.set(id, Math.max(0, (reg.get(id) || 0) + delta));
  document.dispatchEvent(new CustomEvent(EVENT, { detail: { id, live: isLive(id) } }));
}

/**
 * Called by the live widget view: hide the offline copies of `id` while the view lives.
 * @param {string} id
 * @returns {() => void} call when the view is removed (the copy comes back)
 */
export function claimLive(id) {
  if (!id) return () => {};
  announce(id, +1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    announce(id, -1);
  };
}

/**
 * Boot an offline copy: render the explorer into `el` unless the live widget is there, and
 * follow the live widget appearing and disappearing.
 * @param {HTMLElement} el the `.mlm-fallback` element
 * @param {object} state explorer state
 * @param {object} options renderStatic options
 * @param {(el: HTMLElement, state: object, options: object) => {destroy: () => void}} renderStatic
 */
export function bootFallback(el, state, options, renderStatic) {
  const id = el.dataset.mlmFallback || "";
  const host = el.querySelector(".mlm-fallback-live") || el;
  let shown = null;
  const show = () => {
    el.hidden = false;
    if (shown) return;
    shown = renderStatic(host, state, options);
    el.classList.add("mlm-fallback-ready");
  };
  const hide = () => {
    el.hidden = true;
    shown?.destroy?.();
    shown = null;
    host.replaceChildren();
    el.classList.remove("mlm-fallback-ready");
  };
  const sync = () => (id && isLive(id) ? hide() : show());
  const onEvent = (ev) => {
    if (ev.detail?.id === id) sync();
  };
  document.addEventListener(EVENT, onEvent);
  // With a kernel, the live view is usually a moment behind this script: give it that
  // moment before drawing a copy it would replace (either order ends in the same state).
  let stopped = false;
  const idle = globalThis.requestIdleCallback || ((fn) => setTimeout(fn, 50));
  if (id && !isLive(id)) idle(() => stopped || sync(), { timeout: 800 });
  else sync();
  return () => {
    stopped = true;
    document.removeEventListener(EVENT, onEvent);
    hide();
  };
}
