// A small element builder, so views read as the markup they produce.

import { showDate, tr, trAttr } from "./i18n.js";

/**
 * h("button", {class: "btn", i18n: "web.key", onclick}, ...children)
 * Special attributes: i18n (a key or [key, params]) sets the text; "i18n-<attr>" (a key or
 * [key, params]) sets a translated attribute; on<event> adds a listener.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "i18n") {
      const [key, params] = Array.isArray(value) ? value : [value];
      tr(el, key, params);
    } else if (name.startsWith("i18n-")) {
      const [key, params] = Array.isArray(value) ? value : [value];
      trAttr(el, name.slice(5), key, params);
    } else if (name === "class") {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A <time> showing `date` in `timeZone`, re-formatted when the language changes. */
export function dateEl(date, timeZone, style = "datetime") {
  return showDate(document.createElement("time"), date, timeZone, style);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

/**
 * Show an error in `el`: the API's problem (already in the caller's language) or, for a
 * failure with no answer, the console's own message.
 */
export function showError(el, error, fallbackKey = "web.error.network") {
  const problem = error && error.problem;
  el.hidden = false;
  if (problem && (problem.detail || problem.title)) {
    delete el.dataset.i18n;
    el.textContent = problem.detail || problem.title;
  } else {
    if (!(error && error.status)) console.error(error);
    tr(el, fallbackKey);
  }
  return el;
}
