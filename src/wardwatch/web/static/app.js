// The console's entry point: the session, the language switch and a hash router.
//
// Each screen is a module whose mount(main, ctx, match, query) renders into <main> and
// returns a cleanup function; leaving a screen runs it (closing live connections and
// playback sessions), so screens added later only have to follow the same shape.

import { api, ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { apply, currentLocale, initialLocale, LOCALES, setLocale, tr } from "./i18n.js";
import * as cameras from "./cameras.js";
import * as grid from "./grid.js";
import * as overview from "./overview.js";
import * as playback from "./playback.js";
import * as signin from "./signin.js";
import * as registry from "./registry.js";
import * as theatres from "./theatres.js";
import * as accounts from "./accounts.js";
import * as audit from "./audit.js";
import * as alerts from "./alerts.js";
import * as incidents from "./incidents.js";
import * as duty from "./duty.js";

const HOME = "#/overview";

const ROUTES = [
  { pattern: /^#\/signin$/, view: signin.mount, public: true },
  { pattern: /^#\/overview$/, view: overview.mount },
  { pattern: /^#\/cameras$/, view: cameras.mount },
  { pattern: /^#\/live$/, view: grid.mountGrid },
  { pattern: /^#\/camera\/([^/]+)$/, view: grid.mountSingle },
  { pattern: /^#\/playback\/([^/]+)$/, view: playback.mount },
  { pattern: /^#\/registry$/, view: registry.mount },
  { pattern: /^#\/theatres$/, view: theatres.mount },
  { pattern: /^#\/accounts$/, view: accounts.mount },
  { pattern: /^#\/audit$/, view: audit.mount },
  { pattern: /^#\/alerts$/, view: alerts.mount },
  { pattern: /^#\/incidents$/, view: incidents.mount },
  { pattern: /^#\/duty$/, view: duty.mount },
];

const ctx = {
  me: null,
  _facilities: null,

  /** Whether the signed-in user holds `permission` anywhere (the API checks each object). */
  can(permission) {
    return Boolean(this.me && this.me.permissions.includes(permission));
  },

  async facilities() {
    if (!this._facilities) {
      const list = await api("/api/v1/facilities");
      this._facilities = new Map(list.map((f) => [f.id, f]));
    }
    return this._facilities;
  },

  async signedIn(me) {
    this.me = me;
    this._facilities = null;
    const saved = me.user.locale;
    if (LOCALES.includes(saved) && saved !== currentLocale()) await setLocale(saved);
    renderHeader();
  },

  signedOut() {
    this.me = null;
    this._facilities = null;
    renderHeader();
  },

  navigate(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },

  home: HOME,
};

let cleanup = null;
let routing = 0;

function parse() {
  const raw = location.hash || HOME;
  const at = raw.indexOf("?");
  return { path: at < 0 ? raw : raw.slice(0, at), query: new URLSearchParams(at < 0 ? "" : raw.slice(at + 1)) };
}

async function route() {
  const ticket = ++routing;
  if (cleanup) {
    const done = cleanup;
    cleanup = null;
    try {
      await done();
    } catch (error) {
      console.warn("cleanup failed", error);
    }
  }
  if (ticket !== routing) return;
  const { path, query } = parse();
  const found = ROUTES.find((r) => r.pattern.test(path));
  if (!found) return ctx.navigate(HOME);
  // Signed out, or signed in but still owing the TOTP enrolment the role requires.
  if (!found.public && (!ctx.me || ctx.me.mfa_pending)) return ctx.navigate("#/signin");
  // Each screen renders into a container of its own, so a screen still loading when the
  // user moves on cannot write into the next one.
  const view = h("div", { class: "view" });
  clear(document.getElementById("main")).append(view);
  markNav(path);
  let done = null;
  try {
    done = (await found.view(view, ctx, path.match(found.pattern), query)) || null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      ctx.signedOut();
      return ctx.navigate("#/signin");
    }
    console.error(error);
    // What the API said is shown, not swallowed: a camera outside the user's scope is
    // "not found" by its URL, in the user's language (see api.js).
    const problem = error instanceof ApiError ? error.problem : {};
    const said = problem.detail || problem.title;
    view.append(
      h(
        "div",
        { class: "error", role: "alert", id: "screen-error", "data-status": error instanceof ApiError ? error.status : null },
        h("p", { i18n: "web.error.screen" }),
        said ? h("p", { id: "screen-error-detail" }, said) : null,
      ),
    );
  }
  if (ticket !== routing) {
    if (done) await done();
    return;
  }
  cleanup = done;
  apply(view);
}

function markNav(path) {
  for (const link of document.querySelectorAll("#nav a")) {
    const active = path.startsWith(link.getAttribute("href"));
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function renderHeader() {
  const nav = document.getElementById("nav");
  const user = document.getElementById("user");
  const logout = document.getElementById("logout");
  nav.hidden = !ctx.me || ctx.me.mfa_pending;
  logout.hidden = !ctx.me;
  user.textContent = ctx.me ? ctx.me.user.display_name || ctx.me.user.username : "";
  for (const link of nav.querySelectorAll("[data-permission]")) {
    link.hidden = !ctx.can(link.dataset.permission);
  }
}

async function changeLocale(event) {
  const next = event.target.value;
  await setLocale(next);
  if (ctx.me) {
    try {
      await api("/api/v1/auth/locale", { method: "PUT", body: { locale: next } });
      ctx.me.user.locale = next;
    } catch (error) {
      console.warn("could not remember the language", error);
    }
  }
}

async function logout() {
  // Close what the screen holds open (playback sessions, live viewings) while still signed
  // in, so their end is on the record as the user's own act.
  if (cleanup) {
    const done = cleanup;
    cleanup = null;
    try {
      await done();
    } catch (error) {
      console.warn("closing the screen", error);
    }
  }
  try {
    await api("/api/v1/auth/logout", { method: "POST" });
  } catch (error) {
    console.warn("logout", error);
  }
  ctx.signedOut();
  ctx.navigate("#/signin");
}

async function start() {
  const select = document.getElementById("locale");
  await setLocale(initialLocale());
  select.value = currentLocale();
  document.addEventListener("ww:locale", () => {
    select.value = currentLocale();
  });
  select.addEventListener("change", changeLocale);
  document.getElementById("logout").addEventListener("click", logout);
  tr(document.getElementById("logout"), "web.auth.logout");
  try {
    await ctx.signedIn(await api("/api/v1/auth/me"));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) console.warn("session check", error);
    ctx.signedOut();
  }
  window.addEventListener("hashchange", route);
  // A cleanup that closes a session on the server also runs when the tab goes away.
  window.addEventListener("pagehide", () => cleanup && cleanup({ unloading: true }));
  document.body.dataset.ready = "true";
  route();
}

start();
