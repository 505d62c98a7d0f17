// Live view: a grid of 1, 4, 9 or 16 tiles, and one camera full-screen.
//
// Tiles of a grid use the cameras' sub streams (a wall of 16 main streams would cost every
// decoder in the room); a single camera uses the main stream. Cameras are picked from the
// tree: a facility fills the grid with its cameras, and each tile's picker lists the
// cameras by facility. Every tile carries the camera's health (refreshed from the health
// wing, independent of the video, which stays on the media plane's own live path), opens the
// camera full-screen on click or Enter, and can flag a breach.

import { api, ApiError } from "./api.js";
import { flagBreach } from "./breach.js";
import { layoutFor } from "./cameras.js";
import { h } from "./dom.js";
import { tr } from "./i18n.js";
import { LivePlayer } from "./live.js";

export const LAYOUTS = [1, 4, 9, 16];
export const HEALTH_REFRESH_MS = 10_000;
const STORE_KEY = "wardwatch.grid";

const STATUS_KEYS = {
  idle: "web.live.status.connecting",
  connecting: "web.live.status.connecting",
  buffering: "web.live.status.buffering",
  playing: "web.live.status.playing",
  reconnecting: "web.live.status.reconnecting",
  offline: "web.live.status.offline",
  auth_failed: "web.live.status.auth_failed",
  unsupported: "web.live.status.unsupported",
  ended: "web.live.status.ended",
  denied: "web.live.status.denied",
};
const RETRY_KEY = "web.live.retry_in";

function saved() {
  try {
    return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
  } catch {
    return {};
  }
}

/** The active cameras the user may see, grouped by facility (the tree's last two levels). */
async function cameraTree(ctx) {
  const [cameras, facilities] = await Promise.all([api("/api/v1/cameras"), ctx.facilities()]);
  const live = cameras.filter((c) => c.status === "active");
  const groups = new Map();
  for (const camera of live) {
    if (!groups.has(camera.facility_id)) {
      const facility = facilities.get(camera.facility_id) || { id: camera.facility_id, name: camera.facility_id, timezone: "UTC" };
      groups.set(camera.facility_id, { facility, cameras: [] });
    }
    groups.get(camera.facility_id).cameras.push(camera);
  }
  const tree = [...groups.values()].sort((a, b) => a.facility.name.localeCompare(b.facility.name));
  return { cameras: live, tree, facilities };
}

/** A health badge: the health wing's verdict on the camera, with its reason as a tooltip. */
function healthBadge() {
  return h("span", { class: "badge health", "data-health": "", role: "status", hidden: true });
}

function showHealth(badge, view, failure) {
  badge.hidden = false;
  if (failure) {
    badge.dataset.health = "unavailable";
    badge.className = "badge health health-unavailable";
    tr(badge, "web.live.health_unavailable");
    badge.title = (failure.problem && (failure.problem.detail || failure.problem.title)) || "";
    return;
  }
  const state = view ? view.state : "unknown";
  badge.dataset.health = state;
  badge.className = `badge health health-${state}`;
  tr(badge, `health_state.${state}`);
  badge.title = view && view.reason ? view.reason.text : "";
}

/** Poll `fetcher` every HEALTH_REFRESH_MS and hand the answer to `apply`; returns a stop. */
function healthLoop(fetcher, apply, onSignedOut) {
  let stopped = false;
  let timer = null;
  const run = async () => {
    try {
      const answer = await fetcher();
      if (!stopped) apply(answer, null);
    } catch (failure) {
      if (stopped) return;
      if (failure instanceof ApiError && failure.status === 401) return onSignedOut();
      console.warn("camera health", failure);
      apply(null, failure);
    }
    if (!stopped) timer = setTimeout(run, HEALTH_REFRESH_MS);
  };
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function picker(index, camera, tree, onPick) {
  return h(
    "select",
    {
      id: `tile-${index}-camera`,
      "i18n-aria-label": ["web.live.tile_camera", { n: index + 1 }],
      onchange: (event) => onPick(index, event.target.value),
    },
    h("option", { value: "", i18n: "web.live.tile_empty" }),
    tree.map(({ facility, cameras }) =>
      h(
        "optgroup",
        { label: facility.name },
        cameras.map((c) => h("option", { value: c.id, selected: camera && c.id === camera.id }, c.name)),
      ),
    ),
  );
}

function flagButton(camera, onFlag) {
  return h(
    "button",
    {
      type: "button",
      class: "btn icon flag",
      "data-action": "flag-breach",
      "i18n-title": ["web.breach.flag_named", { name: camera.name }],
      "i18n-aria-label": ["web.breach.flag_named", { name: camera.name }],
      onclick: () => onFlag(camera),
    },
    h("span", { "aria-hidden": "true" }, "⚑ "),
    h("span", { class: "label", i18n: "web.breach.flag" }),
  );
}

/** A tile: the video, the camera's name or picker, its health and live status, its actions. */
function tile(index, camera, { variant, single, tree, onPick, onSignedOut, onFlag }) {
  const video = h("video", { muted: true, playsinline: true, autoplay: true, "aria-hidden": "true" });
  const badge = h("span", { class: "badge status-connecting", role: "status", "data-status": "idle" });
  const retry = h("span", { class: "retry" });
  const health = healthBadge();
  const bar = h("div", { class: "tile-bar" });
  const frame = h("section", { class: "tile", "data-tile": index, "data-camera": camera ? camera.id : "" });
  bar.append(single ? h("span", { class: "tile-name" }, camera.name) : picker(index, camera, tree, onPick));
  frame.append(video);
  if (!camera) {
    badge.hidden = true; // the camera picker already says the tile is empty
    frame.dataset.status = "empty";
    bar.append(badge);
    frame.append(bar);
    return { frame, player: null, health };
  }
  frame.setAttribute("aria-label", camera.name);
  if (!single) {
    // A real link over the picture: a click or Enter opens the camera full-screen.
    frame.append(
      h("a", {
        class: "tile-open",
        href: `#/camera/${camera.id}`,
        "data-action": "open",
        "i18n-aria-label": ["web.live.open_named", { name: camera.name }],
        "i18n-title": ["web.live.open_named", { name: camera.name }],
      }),
    );
  }
  // A single camera shows its health in the page's toolbar instead.
  if (!single) bar.append(h("span", { class: "sr-only", i18n: "web.live.health" }), health);
  bar.append(badge, retry);
  if (onFlag) bar.append(flagButton(camera, onFlag));
  frame.append(bar);
  const player = new LivePlayer(video, {
    cameraId: camera.id,
    variant,
    onStatus: (status, info) => {
      if (status === "denied" && info.reason === "unauthenticated") {
        onSignedOut(); // the sign-in ended (expired or signed out elsewhere)
        return;
      }
      badge.dataset.status = status;
      badge.className = `badge status-${status}`;
      tr(badge, STATUS_KEYS[status] || STATUS_KEYS.connecting);
      if (info.reason) badge.title = info.reason;
      else badge.removeAttribute("title");
      if (info.retryInS) tr(retry, RETRY_KEY, { seconds: info.retryInS });
      else retry.textContent = "";
      frame.dataset.status = status;
    },
  });
  player.start();
  return { frame, player, health };
}

function signedOut(ctx) {
  return () => {
    ctx.signedOut();
    ctx.navigate("#/signin");
  };
}

/** The breach form over the screen; only one at a time, closed when the screen goes. */
function breachOpener(main, ctx, facilities) {
  if (!ctx.can("breach.report")) return { onFlag: null, close: () => {} };
  let close = null;
  return {
    onFlag: (camera) => {
      if (close) close();
      const facility = facilities.get(camera.facility_id);
      close = flagBreach(main, camera, { timeZone: (facility && facility.timezone) || "UTC" });
    },
    close: () => close && close(),
  };
}

export async function mountGrid(main, ctx, _match, query) {
  const remembered = saved();
  const { cameras, tree, facilities } = await cameraTree(ctx);
  const known = new Set(cameras.map((c) => c.id));
  const fromFacility = tree.find((g) => g.facility.id === query.get("facility"));
  let chosen;
  let layout = Number(query.get("layout") || 0);
  if (fromFacility) {
    chosen = fromFacility.cameras.slice(0, 16).map((c) => c.id);
    if (!LAYOUTS.includes(layout)) layout = layoutFor(chosen.length);
  } else {
    if (!LAYOUTS.includes(layout)) layout = Number(remembered.layout) || 4;
    if (!LAYOUTS.includes(layout)) layout = 4;
    chosen = (query.get("cams") || (remembered.cams || []).join(",")).split(",").filter((id) => known.has(id));
    if (!chosen.length) chosen = cameras.slice(0, layout).map((c) => c.id);
  }
  const go = (nextLayout, ids) => {
    localStorage.setItem(STORE_KEY, JSON.stringify({ layout: nextLayout, cams: ids }));
    ctx.navigate(`#/live?layout=${nextLayout}&cams=${ids.join(",")}`);
  };
  const layouts = h(
    "div",
    { class: "segmented", role: "group", "i18n-aria-label": "web.live.layout" },
    LAYOUTS.map((n) =>
      h(
        "button",
        {
          type: "button",
          class: "btn",
          "aria-pressed": String(n === layout),
          "data-layout": n,
          "i18n-aria-label": ["web.live.layout_n", { n }],
          onclick: () => go(n, chosen),
        },
        String(n),
      ),
    ),
  );
  const facilityPick = h(
    "select",
    { id: "grid-facility", name: "facility" },
    h("option", { value: "", i18n: "web.live.facility_choose" }),
    tree.map(({ facility }) => h("option", { value: facility.id, selected: fromFacility && fromFacility.facility.id === facility.id }, facility.name)),
  );
  const showFacility = h("button", {
    type: "button",
    class: "btn",
    id: "grid-show-facility",
    i18n: "web.live.show_facility",
    onclick: () => {
      const group = tree.find((g) => g.facility.id === facilityPick.value);
      if (!group) return facilityPick.focus();
      const ids = group.cameras.slice(0, 16).map((c) => c.id);
      go(layoutFor(ids.length), ids);
    },
  });
  main.append(
    h(
      "div",
      { class: "toolbar" },
      h("h1", { i18n: "web.live.title" }),
      layouts,
      h("div", { class: "inline-field" }, h("label", { for: "grid-facility", i18n: "web.live.facility" }), facilityPick, showFacility),
    ),
  );
  if (!cameras.length) {
    main.append(h("p", { class: "empty", i18n: "web.live.no_cameras" }));
    return null;
  }
  const byId = new Map(cameras.map((c) => [c.id, c]));
  const onPick = (index, id) => {
    const ids = [...chosen];
    while (ids.length <= index) ids.push("");
    ids[index] = id;
    go(layout, ids.filter(Boolean).length ? ids : []);
  };
  const variant = layout === 1 ? "main" : "sub";
  const onSignedOut = signedOut(ctx);
  const breach = breachOpener(main, ctx, facilities);
  const grid = h("div", { class: `grid grid-${layout}`, id: "live-grid" });
  const players = [];
  const badges = new Map(); // camera id -> health badges
  for (let i = 0; i < layout; i += 1) {
    const camera = byId.get(chosen[i]) || null;
    const { frame, player, health } = tile(i, camera, { variant, single: false, tree, onPick, onSignedOut, onFlag: breach.onFlag });
    grid.append(frame);
    if (player) players.push(player);
    if (camera) badges.set(camera.id, [...(badges.get(camera.id) || []), health]);
  }
  main.append(grid);
  // One call for all tiles; narrowed to the facility when every tile shows the same one.
  const shown = new Set([...badges.keys()].map((id) => byId.get(id).facility_id));
  const path = shown.size === 1 ? `/api/v1/health/cameras?facility_id=${encodeURIComponent([...shown][0])}` : "/api/v1/health/cameras";
  const stopHealth = badges.size
    ? healthLoop(
        () => api(path),
        (views, failure) => {
          const byCamera = new Map((views || []).map((v) => [v.camera_id, v]));
          for (const [id, list] of badges) list.forEach((b) => showHealth(b, byCamera.get(id), failure));
        },
        onSignedOut,
      )
    : () => {};
  return () => {
    stopHealth();
    breach.close();
    players.forEach((p) => p.stop());
  };
}

export async function mountSingle(main, ctx, match, query) {
  const [camera, facilities] = await Promise.all([api(`/api/v1/cameras/${encodeURIComponent(match[1])}`), ctx.facilities()]);
  const facility = facilities.get(camera.facility_id);
  const variant = query.get("variant") === "sub" ? "sub" : "main";
  const onSignedOut = signedOut(ctx);
  const breach = breachOpener(main, ctx, facilities);
  const { frame, player } = tile(0, camera, { variant, single: true, onSignedOut, onFlag: null });
  const health = healthBadge();
  health.id = "camera-health";
  const full = h("button", {
    type: "button",
    class: "btn",
    i18n: "web.live.fullscreen",
    onclick: () => (document.fullscreenElement ? document.exitFullscreen() : frame.requestFullscreen()),
  });
  main.append(
    h(
      "div",
      { class: "toolbar" },
      h("h1", {}, camera.name),
      facility ? h("span", { class: "facility-name" }, facility.name) : null,
      h("span", { class: "sr-only", i18n: "web.live.health" }),
      health,
      h("a", { class: "btn", href: "#/live", i18n: "web.live.back_to_grid" }),
      full,
      breach.onFlag
        ? h("button", { type: "button", class: "btn", id: "flag-breach", "data-action": "flag-breach", i18n: "web.breach.flag", onclick: () => breach.onFlag(camera) })
        : null,
      ctx.can("recording.view")
        ? h("a", { class: "btn", href: `#/playback/${camera.id}`, i18n: "web.cameras.playback" })
        : null,
    ),
    h("div", { class: "grid grid-1 single", id: "live-grid" }, frame),
  );
  const stopHealth = healthLoop(
    async () => {
      try {
        return await api(`/api/v1/cameras/${encodeURIComponent(camera.id)}/health`);
      } catch (failure) {
        if (failure instanceof ApiError && failure.status === 404) return null; // nothing reported yet
        throw failure;
      }
    },
    (view, failure) => showHealth(health, view, failure),
    onSignedOut,
  );
  return () => {
    stopHealth();
    breach.close();
    if (player) player.stop();
  };
}
