// Translation and locale-aware dates for the console.
//
// Text is set declaratively (data-i18n, data-i18n-params, data-i18n-<attr>, data-datetime)
// so that switching the language re-translates the page in place: a live grid keeps its
// players running instead of being rebuilt.

export const LOCALES = ["vi", "zh-Hans", "en"];
const STORE_KEY = "wardwatch.locale";
const ATTRS = ["title", "aria-label", "placeholder", "alt"];

let locale = "en";
let messages = {};

export function currentLocale() {
  return locale;
}

/** The language to start in: the one chosen on this device, else the instance default. */
export function initialLocale() {
  const saved = localStorage.getItem(STORE_KEY);
  if (LOCALES.includes(saved)) return saved;
  const fallback = document.documentElement.dataset.defaultLocale;
  return LOCALES.includes(fallback) ? fallback : "en";
}

export async function setLocale(next) {
  if (!LOCALES.includes(next)) next = "en";
  const response = await fetch(`/static/i18n/${next}.json`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`catalog ${next}: ${response.status}`);
  messages = await response.json();
  locale = next;
  localStorage.setItem(STORE_KEY, next);
  document.documentElement.lang = next;
  apply(document);
  document.dispatchEvent(new CustomEvent("ww:locale", { detail: { locale: next } }));
}

/** The message for `key` with `{name}` fields filled; the key itself when it is missing. */
export function t(key, params = {}) {
  const message = messages[key];
  if (message === undefined) return key;
  return message.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Give `el` the text of `key` now and after every language switch. */
export function tr(el, key, params) {
  el.dataset.i18n = key;
  if (params) el.dataset.i18nParams = JSON.stringify(params);
  else delete el.dataset.i18nParams;
  el.textContent = t(key, params || {});
  return el;
}

/** The same for an attribute (title, aria-label, placeholder, alt). */
export function trAttr(el, attr, key, params) {
  const name = "i18n" + attr.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase());
  el.dataset[name] = key;
  if (params) el.dataset[name + "Params"] = JSON.stringify(params);
  el.setAttribute(attr, t(key, params || {}));
  return el;
}

/** Show `date` in the time zone `timeZone` (a facility's), formatted for the user's locale. */
export function showDate(el, date, timeZone, style = "datetime") {
  el.dataset.datetime = new Date(date).toISOString();
  el.dataset.tz = timeZone || "UTC";
  el.dataset.dtstyle = style;
  el.textContent = formatDate(date, timeZone, style);
  if (el.tagName === "TIME") el.setAttribute("datetime", el.dataset.datetime);
  return el;
}

const STYLES = {
  datetime: { dateStyle: "medium", timeStyle: "medium" },
  time: { timeStyle: "medium" },
  short: { dateStyle: "short", timeStyle: "short" },
  date: { dateStyle: "medium" },
  clock: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
};

export function formatDate(date, timeZone, style = "datetime") {
  const options = { ...STYLES[style], timeZone: timeZone || "UTC" };
  return new Intl.DateTimeFormat(locale, options).format(new Date(date));
}

function params(raw) {
  try {
    return raw ? JSON.parse(raw) : {};
  } catch {
    return {};
  }
}

/** Re-translate every marked element under `root`. */
export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n, params(el.dataset.i18nParams));
  }
  for (const attr of ATTRS) {
    const name = "i18n" + attr.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase());
    const selector = `[data-i18n-${attr}]`;
    for (const el of root.querySelectorAll(selector)) {
      el.setAttribute(attr, t(el.dataset[name], params(el.dataset[name + "Params"])));
    }
  }
  for (const el of root.querySelectorAll("[data-datetime]")) {
    el.textContent = formatDate(el.dataset.datetime, el.dataset.tz, el.dataset.dtstyle);
  }
}
