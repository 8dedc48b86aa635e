// Panel registry. A panel is
//   { id, label, available(state) -> bool, mount(section, ctx) -> instance | Promise<instance> }
// where instance may define retheme() (rebuild charts with ctx.theme) and destroy().
// The order here is the tab order. A Diagnostics panel (state.diagnostics) slots in after
// Variance: add its module and one line below.

import { interactionPanel } from "./interaction.js";
import { clustersPanel } from "./clusters.js";
import { variancePanel } from "./variance.js";
import { diagnosticsPanel } from "./diagnostics.js";
import { predictionsPanel } from "./predictions.js";

export const PANELS = [interactionPanel, clustersPanel, variancePanel, predictionsPanel, diagnosticsPanel];

/** Add a panel at run time (e.g. from a report page); `before` is an existing panel id. */
export function registerPanel(panel, before = null) {
  const i = before ? PANELS.findIndex((p) => p.id === before) : -1;
  if (PANELS.some((p) => p.id === panel.id)) return;
  if (i < 0) PANELS.push(panel);
  else PANELS.splice(i, 0, panel);
}
