// Labelled form controls and plain data tables for the console's administrative screens
// (registry, operating theatres, accounts, audit). Every control is built with its <label>,
// so no screen can add a field a screen reader or a keyboard user cannot name.

import { dateEl, h } from "./dom.js";

let serial = 0;

/** An element id unique on the page. */
export function uid(prefix) {
  serial += 1;
  return `${prefix}-${serial}`;
}

/** A control with its label above it; `hint` is a message key shown under it. */
export function field(labelKey, control, { hint = null, labelParams = null } = {}) {
  if (!control.id) control.id = uid("field");
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id, i18n: labelParams ? [labelKey, labelParams] : labelKey }),
    control,
    hint ? h("span", { class: "hint", i18n: hint }) : null,
  );
}

/** A checkbox with its label after it: a message key, or `text` (a name from the data). */
export function check(id, labelKey, { checked = false, value = null, text = null } = {}) {
  const input = h("input", { type: "checkbox", id, value, checked });
  return {
    input,
    el: h("div", { class: "check" }, input, h("label", { for: id, i18n: labelKey }, labelKey ? null : text)),
  };
}

/**
 * A <select> of `items` ({value, i18n | text, params, class, data}); `blankKey` adds a first
 * empty choice that the browser's `required` check refuses.
 */
export function select(id, items, { blankKey = null, required = false, value = null, name = null } = {}) {
  const el = h(
    "select",
    { id, name: name || id, required },
    blankKey ? h("option", { value: "", i18n: blankKey }) : null,
    items.map((item) =>
      h(
        "option",
        {
          value: item.value,
          i18n: item.i18n ? (item.params ? [item.i18n, item.params] : item.i18n) : null,
          class: item.class || null,
          ...(item.data || {}),
        },
        item.i18n ? null : item.text,
      ),
    ),
  );
  if (value !== null && value !== undefined) el.value = value;
  return el;
}

/** A table with a header row of message keys; `rows` are <tr> elements. */
export function table({ id = null, cls = "data", caption = null, headers, rows }) {
  return h(
    "table",
    { id, class: cls },
    caption ? h("caption", {}, caption) : null,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((key) =>
          key ? h("th", { scope: "col", i18n: key }) : h("th", { scope: "col" }),
        ),
      ),
    ),
    h("tbody", {}, rows),
  );
}

/** A paragraph that shows an API problem (see dom.showError); hidden until then. */
export function errorBox(id) {
  return h("p", { class: "error", role: "alert", id, hidden: true });
}

/** A paragraph for "done" messages, announced politely. */
export function statusBox(id) {
  return h("p", { class: "ok", role: "status", id, hidden: true });
}

/** A calendar day (YYYY-MM-DD, no time of day) in the user's locale. */
export function dayEl(isoDate) {
  return dateEl(`${isoDate}T00:00:00Z`, "UTC", "date");
}

/** The values of the ticked checkboxes under `root`. */
export function ticked(root) {
  return [...root.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
}
