// Colours and Vega config, resolved from CSS custom properties on the explorer element.
//
// explorer.css maps JupyterLab's --jp-* variables (and VS Code's --vscode-* ones) onto
// --mlm-* variables with light fallbacks, and a .mlm-dark class / prefers-color-scheme gives
// dark fallbacks for static pages. Vega needs concrete colours, so we read the resolved
// values here and rebuild the charts when the notebook's theme changes.

const LIGHT = {
  accent: "#2563eb",
  fan: "#7c3aed",
  select: "#ea580c",
  sig: "#16a34a",
  binary: ["#0d9488", "#c026d3"],
  scheme: "viridis",
};

const DARK = {
  accent: "#6ea8fe",
  fan: "#b197fc",
  select: "#ff922b",
  sig: "#51cf66",
  binary: ["#2dd4bf", "#f0abfc"],
  scheme: "plasma",
};

function cssVar(style, name, fallback) {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

/** Relative luminance of a CSS colour string (#rgb, #rrggbb, rgb(...)); null if unknown. */
export function luminance(color) {
  let r;
  let g;
  let b;
  const c = String(color).trim();
  let m = c.match(/^#([0-9a-f]{3})$/i);
  if (m) [r, g, b] = m[1].split("").map((h) => parseInt(h + h, 16));
  else if ((m = c.match(/^#([0-9a-f]{6})/i))) {
    [r, g, b] = [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16));
  } else if ((m = c.match(/rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/i))) {
    [r, g, b] = [m[1], m[2], m[3]].map(Number);
  } else return null;
  const lin = (v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * Resolve the palette for an element.
 * @param {HTMLElement} el the explorer root (carries the --mlm-* variables)
 */
export function readTheme(el) {
  const style = getComputedStyle(el);
  const bg = cssVar(style, "--mlm-bg", "#ffffff");
  const lum = luminance(bg);
  const dark = lum !== null ? lum < 0.3 : el.classList.contains("mlm-dark");
  const base = dark ? DARK : LIGHT;
  return {
    dark,
    bg,
    fg: cssVar(style, "--mlm-fg", dark ? "#e6e6e6" : "#1f2328"),
    fg2: cssVar(style, "--mlm-fg2", dark ? "#b0b0b0" : "#57606a"),
    fg3: cssVar(style, "--mlm-fg3", dark ? "#8a8a8a" : "#8c959f"),
    border: cssVar(style, "--mlm-border", dark ? "#3d3d3d" : "#d0d7de"),
    grid: cssVar(style, "--mlm-grid", dark ? "#333333" : "#eaeef2"),
    font: cssVar(style, "--mlm-font", "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"),
    ...base,
  };
}

/** Vega config for a theme: transparent background, theme-coloured text, quiet grid. */
export function vegaConfig(t) {
  const axis = {
    labelColor: t.fg2,
    titleColor: t.fg,
    domainColor: t.border,
    tickColor: t.border,
    gridColor: t.grid,
    labelFont: t.font,
    titleFont: t.font,
    labelFontSize: 11,
    titleFontSize: 12,
    titleFontWeight: 600,
    titlePadding: 8,
  };
  return {
    background: null,
    font: t.font,
    view: { stroke: null },
    axis,
    legend: {
      labelColor: t.fg2, titleColor: t.fg, labelFont: t.font, titleFont: t.font,
      labelFontSize: 11, titleFontSize: 11,
    },
    title: { color: t.fg, font: t.font, fontSize: 13, fontWeight: 600, anchor: "start", offset: 8 },
    range: { category: [t.accent, t.fan, t.select, t.sig, ...t.binary] },
    mark: { color: t.accent },
  };
}

/**
 * Call `fn` when the surrounding notebook switches theme (JupyterLab flips
 * data-jp-theme-light on <body>; VS Code swaps body classes; static pages follow the OS).
 * @returns {() => void} disconnect
 */
export function watchTheme(fn) {
  const observers = [];
  if (typeof MutationObserver !== "undefined" && typeof document !== "undefined") {
    const mo = new MutationObserver(() => fn());
    mo.observe(document.body, {
      attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name", "class"],
    });
    observers.push(() => mo.disconnect());
  }
  if (typeof matchMedia !== "undefined") {
    const mq = matchMedia("(prefers-color-scheme: dark)");
    const h = () => fn();
    mq.addEventListener?.("change", h);
    observers.push(() => mq.removeEventListener?.("change", h));
  }
  return () => observers.forEach((d) => d());
}
