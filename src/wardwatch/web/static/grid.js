// Live view: a grid of 1, 4, 9 or 16 tiles, and one camera full-screen.
//
// Tiles of a grid use the cameras' sub streams (a wall of 16 main streams would cost every
// decoder in the room); a single camera uses the main stream.

import { api } from "./api.js";
import { h } from "./dom.js";
import { tr } from "./i18n.js";
import { LivePlayer } from "./live.js";

export const LAYOUTS = [1, 4, 9, 16];
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

async function liveCameras() {
  const cameras = await api("/api/v1/cameras");
  return cameras.filter((c) => c.status === "active");
}

/** A tile: the video, the camera's name and status, and the way to full screen. */
function tile(index, camera, cameras, { variant, onPick, single, onSignedOut }) {
  const video = h("video", { muted: true, playsinline: true, autoplay: true, "aria-hidden": "true" });
  const badge = h("span", { class: "badge status-connecting", role: "status", "data-status": "idle" });
  const retry = h("span", { class: "retry" });
  const bar = h("div", { class: "tile-bar" });
  const frame = h("section", { class: "tile", "data-tile": index, "data-camera": camera ? camera.id : "" });
  if (single) {
    bar.append(h("span", { class: "tile-name" }, camera.name));
  } else {
    const select = h(
      "select",
      {
        id: `tile-${index}-camera`,
        "i18n-aria-label": ["web.live.tile_camera", { n: index + 1 }],
        onchange: (event) => onPick(index, event.target.value),
      },
      h("option", { value: "", i18n: "web.live.tile_empty" }),
      cameras.map((c) => h("option", { value: c.id, selected: camera && c.id === camera.id }, c.name)),
    );
    bar.append(select);
  }
  bar.append(badge, retry);
  frame.append(video, bar);
  if (!camera) {
    badge.hidden = true; // the camera picker already says the tile is empty
    frame.dataset.status = "empty";
    return { frame, player: null };
  }
  frame.setAttribute("aria-label", camera.name);
  if (!single) {
    const open = () => (location.hash = `#/camera/${camera.id}`);
    bar.append(
      h("a", { class: "btn icon", href: `#/camera/${camera.id}`, "i18n-title": "web.live.fullscreen", "i18n-aria-label": "web.live.fullscreen" }, "⤢"),
    );
    video.addEventListener("click", open);
  }
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
  return { frame, player };
}

function signedOut(ctx) {
  return () => {
    ctx.signedOut();
    ctx.navigate("#/signin");
  };
}

export async function mountGrid(main, ctx, _match, query) {
  const remembered = saved();
  let layout = Number(query.get("layout") || remembered.layout || 4);
  if (!LAYOUTS.includes(layout)) layout = 4;
  const cameras = await liveCameras();
  const known = new Set(cameras.map((c) => c.id));
  let chosen = (query.get("cams") || (remembered.cams || []).join(",")).split(",").filter((id) => known.has(id));
  if (!chosen.length) chosen = cameras.slice(0, layout).map((c) => c.id);
  const go = (nextLayout, ids) => {
    localStorage.setItem(STORE_KEY, JSON.stringify({ layout: nextLayout, cams: ids }));
    ctx.navigate(`#/live?layout=${nextLayout}&cams=${ids.join(",")}`);
  };
  const layouts = h(
    "div",
    { class: "segmented", role: "group", "i18n-aria-label": "web.live.layout" },
    LAYOUTS.map((n) =>
      h("button", {
        type: "button",
        class: "btn",
        "aria-pressed": String(n === layout),
        "data-layout": n,
        "i18n-aria-label": ["web.live.layout_n", { n }],
        onclick: () => go(n, chosen),
      }, String(n)),
    ),
  );
  main.append(h("div", { class: "toolbar" }, h("h1", { i18n: "web.live.title" }), layouts));
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
  const grid = h("div", { class: `grid grid-${layout}`, id: "live-grid" });
  const players = [];
  for (let i = 0; i < layout; i += 1) {
    const camera = byId.get(chosen[i]) || null;
    const { frame, player } = tile(i, camera, cameras, { variant, onPick, single: false, onSignedOut });
    grid.append(frame);
    if (player) players.push(player);
  }
  main.append(grid);
  return () => players.forEach((p) => p.stop());
}

export async function mountSingle(main, ctx, match, query) {
  const camera = await api(`/api/v1/cameras/${encodeURIComponent(match[1])}`);
  const variant = query.get("variant") === "sub" ? "sub" : "main";
  const { frame, player } = tile(0, camera, [camera], { variant, single: true, onSignedOut: signedOut(ctx) });
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
      h("a", { class: "btn", href: "#/live", i18n: "web.live.back_to_grid" }),
      full,
      ctx.can("recording.view")
        ? h("a", { class: "btn", href: `#/playback/${camera.id}`, i18n: "web.cameras.playback" })
        : null,
    ),
    h("div", { class: "grid grid-1 single", id: "live-grid" }, frame),
  );
  return () => player && player.stop();
}
