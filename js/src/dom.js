// Tiny DOM and formatting helpers. All user-supplied text goes through textContent or
// setAttribute (never innerHTML), so column names and level ids render as text.

let uid = 0;

/** Unique id for label/for and aria wiring (several explorers may share a page). */
export function nextId(prefix = "mlm") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/**
 * Create an element. `attrs` keys: class, text, on<Event> (listener), dataset, style, or any
 * attribute; `children` are nodes or strings (strings become text nodes).
 */
export function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  // Keys pressed in our form controls belong to them: JupyterLab (Lumino) would otherwise
  // take arrow keys, Enter, etc. as notebook shortcuts.
  if (tag === "input" || tag === "select" || tag === "button") el.setAttribute("data-lm-suppress-shortcuts", "true");
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style") {
      for (const [prop, v] of Object.entries(value)) {
        if (prop.startsWith("--")) el.style.setProperty(prop, v);
        else el.style[prop] = v;
      }
    }
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return el;
}

/** Number with `digits` significant-looking decimals, a true minus sign, no "-0". */
export function fmt(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  const a = Math.abs(x);
  let s;
  if (a >= 1e6) s = x.toExponential(Math.max(digits - 1, 1));
  else if (a !== 0 && a < 10 ** -digits && digits >= 3) s = x.toPrecision(2);
  else s = x.toFixed(digits);
  if (/^-0(\.0+)?$/.test(s)) s = s.slice(1);
  return s.replace("-", "−");
}

/** p-value in APA style: "< .001", ".032", "1.000". */
export function fmtP(p) {
  if (p === null || p === undefined || Number.isNaN(p)) return "–";
  if (p < 0.001) return "< .001";
  const s = p.toFixed(3);
  return s.startsWith("0") ? s.slice(1) : s;
}

/** df with one decimal (Satterthwaite df are fractional). */
export function fmtDf(df) {
  if (!Number.isFinite(df)) return "∞";
  return df >= 1000 ? Math.round(df).toLocaleString("en-US") : df.toFixed(1);
}

/** Integer with thousands separators. */
export function fmtInt(n) {
  return Number(n).toLocaleString("en-US");
}

/** English plural for a grouping-factor name used as a noun ("school" -> "schools"). */
export function plural(word) {
  if (!/^[A-Za-z][A-Za-z_]*$/.test(word) || word.length < 3) return "clusters";
  if (/(s|x|z|ch|sh)$/i.test(word)) return `${word}es`;
  if (/[^aeiou]y$/i.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

/** A variable's value as shown in labels: binary values without decimals. */
export function fmtValue(v, info) {
  if (info && info.kind === "binary" && Number.isInteger(v)) return String(v);
  return fmt(v);
}
