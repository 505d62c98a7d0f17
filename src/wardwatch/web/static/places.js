// Where things are and what time it is there, for the alerts, incidents and duty screens.
//
// Alerts, incidents, shifts and silences name org nodes by id; these screens show the
// node's name and every time in the facility's own time zone. A node that is not a facility
// (a district a silence covers) takes the time zone of the first facility under it, the
// clock its operators watch by; a monitoring centre's shift takes its parent's.

import { api } from "./api.js";
import { h } from "./dom.js";

/** The caller's part of the org tree: names, kinds and time zones by node id. */
export async function places(ctx) {
  const [facilities, nodes] = await Promise.all([
    ctx.facilities(),
    ctx.can("org.read") ? api("/api/v1/org/nodes") : Promise.resolve([]),
  ]);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const f of facilities.values()) {
    if (!byId.has(f.id)) byId.set(f.id, { id: f.id, kind: "facility", name: f.name, parent_id: f.parent_id });
  }
  const zones = new Map();
  for (const f of facilities.values()) {
    // The facility and each of its ancestors in view take its zone, unless one is set.
    for (let id = f.id; id && byId.has(id); id = byId.get(id).parent_id) {
      if (!zones.has(id)) zones.set(id, f.timezone);
    }
    zones.set(f.id, f.timezone);
  }
  return {
    facilities,
    nodes: [...byId.values()].sort((a, b) => (a.depth ?? 9) - (b.depth ?? 9) || a.name.localeCompare(b.name)),
    name: (id) => (byId.has(id) ? byId.get(id).name : id),
    // A node no facility lies under (a monitoring centre) keeps the clock of its parent's.
    zone: (id) => {
      for (let at = id; at; at = byId.has(at) ? byId.get(at).parent_id : null) if (zones.has(at)) return zones.get(at);
      return "UTC";
    },
    isFacility: (id) => facilities.has(id),
    /** Whether `id` is `ancestorId` or lies under it (as far as the caller can see the tree). */
    within: (id, ancestorId) => {
      for (let at = id; at; at = byId.has(at) ? byId.get(at).parent_id : null) if (at === ancestorId) return true;
      return false;
    },
  };
}

/** The facilities as choices for a <select> (see fields.select), by name. */
export function facilityChoices(where) {
  return [...where.facilities.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((f) => ({ value: f.id, text: f.name }));
}

/** A length of time in whole minutes, in the user's language (re-translated on a switch). */
export function duration(seconds) {
  const minutes = Math.max(0, Math.round(seconds / 60));
  if (minutes < 60) return h("span", { class: "duration", i18n: ["web.duration.minutes", { minutes }] });
  return h(
    "span",
    { class: "duration", i18n: ["web.duration.hours_minutes", { hours: Math.floor(minutes / 60), minutes: minutes % 60 }] },
  );
}

/** "you" for the signed-in user, else the account id the API gave (no directory to ask). */
export function who(ctx, userId, name = null) {
  if (ctx.me && userId === ctx.me.user.id) return h("span", { class: "who", i18n: "web.common.you" });
  if (name) return h("span", { class: "who" }, name);
  return h("code", { class: "who" }, userId || "");
}

/** Keep the screen's own state in the address (shareable, survives a reload) without re-routing. */
export function setQuery(path, values) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
  const text = query.toString();
  history.replaceState(null, "", text ? `${path}?${text}` : path);
}

/** Replace `el`'s content with `children`, skipping empty ones (null, false) and flattening lists. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}
