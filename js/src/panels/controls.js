// Form controls shared by the panels: native elements (keyboard and screen-reader support
// for free), labelled, styled by explorer.css.

import { h, fmt, nextId } from "../dom.js";
import { discreteValues, isDiscrete } from "../variables.js";

/**
 * A control for one moderator: a segmented toggle (radio group) for a binary variable or a
 * factor, a slider with data-derived tick buttons for a continuous one.
 * @param {object} state explorer state
 * @param {string} name variable or factor name (label)
 * @param {number|string} value current value (a level name for a factor)
 * @param {(value:number|string) => void} onChange
 */
export function moderatorControl(state, name, value, onChange) {
  if (isDiscrete(state, name)) return segmented(name, discreteValues(state, name), value, onChange);
  return slider(name, state.variables[name], value, onChange);
}

function segmented(name, choices, value, onChange) {
  const group = nextId("mlm-radio");
  const options = choices.map(({ key, label }) => {
    const id = nextId("mlm-opt");
    return h("span", { class: "mlm-seg-item" }, [
      h("input", {
        type: "radio", name: group, id, value: String(key), checked: key === value,
        dataset: { moderator: name, value: String(key) },
        onChange: (ev) => ev.target.checked && onChange(key),
      }),
      h("label", { for: id, text: String(label) }),
    ]);
  });
  return h("fieldset", { class: "mlm-field mlm-seg", dataset: { moderator: name } }, [
    h("legend", { class: "mlm-var-label", text: name }),
    h("div", { class: "mlm-seg-row" }, options),
  ]);
}

function slider(name, v, value, onChange) {
  const id = nextId("mlm-range");
  const listId = `${id}-ticks`;
  const step = niceStep(v.max - v.min);
  const out = h("output", { for: id, class: "mlm-output", text: fmt(value) });
  const input = h("input", {
    type: "range", id, class: "mlm-range", min: String(v.min), max: String(v.max),
    step: String(step), value: String(value), list: listId,
    "aria-valuetext": `${name} = ${fmt(value)}`,
    dataset: { moderator: name },
  });
  const set = (val, fromInput = false) => {
    if (!fromInput) input.value = String(val);
    out.textContent = fmt(val);
    input.setAttribute("aria-valuetext", `${name} = ${fmt(val)}`);
    onChange(val);
  };
  input.addEventListener("input", () => set(Number(input.value), true));
  const ticks = (v.ticks || []).filter((t) => t.value >= v.min && t.value <= v.max);
  return h("div", { class: "mlm-field", dataset: { moderator: name } }, [
    h("div", { class: "mlm-range-head" }, [h("label", { for: id, text: name }), out]),
    input,
    h("datalist", { id: listId }, ticks.map((t) => h("option", { value: String(t.value), label: t.label }))),
    h("div", { class: "mlm-range-ends", "aria-hidden": "true" }, [
      h("span", { text: fmt(v.min) }), h("span", { text: fmt(v.max) }),
    ]),
    ticks.length ? h("div", { class: "mlm-ticks", role: "group", "aria-label": `Set ${name} to` },
      ticks.map((t) => h("button", {
        type: "button", class: "mlm-chip", text: t.label, title: `${name} = ${fmt(t.value)}`,
        "aria-label": `${name} ${t.label} (${fmt(t.value)})`,
        onClick: () => set(t.value),
      }))) : null,
  ]);
}

/** A slider step of about 1/200 of the range, rounded to 1, 2 or 5 x 10^k. */
export function niceStep(span) {
  if (!(span > 0)) return 1;
  const raw = span / 200;
  const p = 10 ** Math.floor(Math.log10(raw));
  const r = raw / p;
  return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * p;
}

/** A labelled <select>. */
export function selectField(label, options, value, onChange, attrs = {}) {
  const id = nextId("mlm-sel");
  return h("div", { class: "mlm-field mlm-field-inline" }, [
    h("label", { for: id, text: label }),
    h("select", {
      id, class: "mlm-select", ...attrs, onChange: (ev) => onChange(ev.target.value),
    }, options.map(([val, text]) => h("option", { value: val, text, selected: val === value }))),
  ]);
}
