// Vega-Lite spec of the Predictions panel: predicted outcome across x with a prediction band
// (new observation in a new cluster, light), a confidence band (the mean, darker) and the line,
// one colour per group. One named data set `pred`; the bands are toggled by the signals
// showConf / showPred, so a control change is a data or signal update, not a recompile.

/**
 * @param {object} state explorer state
 * @param {object} theme palette (theme.js)
 * @param {{x: string, by: string|null, rows: object[], level: number, showConf: boolean,
 *   showPred: boolean, width: number}} o rows from predictionTable
 */
export function predictionSpec(state, theme, { x, by, rows, level, showConf, showPred, width }) {
  const t = theme;
  const pct = `${Math.round(level * 100)}%`;
  const grouped = !!by;
  const color = grouped
    ? { field: "group", type: "nominal", title: by, sort: null, legend: { symbolOpacity: 1 } }
    : { value: t.accent };
  const xv = state.variables[x];
  const xEnc = {
    field: "x", type: "quantitative", title: x,
    scale: { domain: [xv.min, xv.max], nice: false, zero: false },
  };
  const y = (field) => ({ field, type: "quantitative", title: `predicted ${state.response}`, scale: { zero: false } });
  const tooltip = [
    ...(grouped ? [{ field: "group", type: "nominal", title: by }] : []),
    { field: "x", type: "quantitative", title: x, format: ".3g" },
    { field: "fit", type: "quantitative", title: `predicted ${state.response}`, format: ".4g" },
    { field: "conf_lower", type: "quantitative", title: `${pct} CI lower`, format: ".4g" },
    { field: "conf_upper", type: "quantitative", title: `${pct} CI upper`, format: ".4g" },
    { field: "pred_lower", type: "quantitative", title: `${pct} PI lower`, format: ".4g" },
    { field: "pred_upper", type: "quantitative", title: `${pct} PI upper`, format: ".4g" },
  ];
  return {
    width,
    height: 300,
    datasets: { pred: rows },
    data: { name: "pred" },
    params: [
      { name: "showConf", value: !!showConf },
      { name: "showPred", value: !!showPred },
    ],
    encoding: { x: xEnc },
    layer: [
      {
        name: "passive_pred",
        mark: { type: "area", clip: true },
        encoding: {
          y: y("pred_lower"), y2: { field: "pred_upper" }, color,
          opacity: { condition: { test: "showPred", value: t.dark ? 0.16 : 0.11 }, value: 0 },
        },
      },
      {
        name: "passive_conf",
        mark: { type: "area", clip: true },
        encoding: {
          y: y("conf_lower"), y2: { field: "conf_upper" }, color,
          opacity: { condition: { test: "showConf", value: t.dark ? 0.38 : 0.28 }, value: 0 },
        },
      },
      { mark: { type: "line", strokeWidth: 2.5, clip: true }, encoding: { y: y("fit"), color } },
      {
        mark: { type: "point", opacity: 0, size: 60 },
        encoding: { y: y("fit"), tooltip, ...(grouped ? { detail: { field: "group" } } : {}) },
      },
    ],
  };
}
