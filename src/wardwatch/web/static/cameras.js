// The cameras the user may see, by facility, with their status and the way to live view
// and playback. Cameras ticked here open together in the live grid.

import { api } from "./api.js";
import { dateEl, h } from "./dom.js";

export const CAMERA_STATUS = {
  draft: "camera_status.draft",
  active: "camera_status.active",
  inactive: "camera_status.inactive",
};

export const STREAM_STATUS = {
  connecting: "web.stream.connecting",
  online: "web.stream.online",
  offline: "web.stream.offline",
  auth_failed: "web.stream.auth_failed",
  unsupported: "web.stream.unsupported",
  degraded: "web.stream.degraded",
  stopped: "web.stream.stopped",
};

/** The recorder's view of each camera's stream, by camera id ({} when not permitted). */
async function streamStatuses() {
  try {
    const rows = await api("/api/v1/media/status");
    return new Map(rows.map((row) => [row.camera_id, row]));
  } catch (error) {
    console.warn("stream status", error);
    return new Map();
  }
}

export function layoutFor(count) {
  return [1, 4, 9, 16].find((n) => n >= count) || 16;
}

export async function mount(main, ctx) {
  const [facilities, cameras, streams] = await Promise.all([
    ctx.facilities(),
    api("/api/v1/cameras"),
    streamStatuses(),
  ]);
  const live = ctx.can("camera.view_live");
  const recorded = ctx.can("recording.view");
  const chosen = new Set();
  const openGrid = h("button", {
    type: "button",
    class: "btn primary",
    id: "open-grid",
    disabled: true,
    i18n: "web.cameras.open_grid",
    onclick: () => {
      const ids = [...chosen].slice(0, 16);
      ctx.navigate(`#/live?layout=${layoutFor(ids.length)}&cams=${ids.join(",")}`);
    },
  });
  const header = h(
    "div",
    { class: "toolbar" },
    h("h1", { i18n: "web.cameras.title" }),
    live ? openGrid : null,
  );
  main.append(header);
  if (!cameras.length) {
    main.append(h("p", { class: "empty", i18n: "web.cameras.none" }));
    return;
  }
  const byFacility = new Map();
  for (const camera of cameras) {
    if (!byFacility.has(camera.facility_id)) byFacility.set(camera.facility_id, []);
    byFacility.get(camera.facility_id).push(camera);
  }
  for (const [facilityId, list] of byFacility) {
    const facility = facilities.get(facilityId);
    const zone = facility ? facility.timezone : "UTC";
    const caption = h(
      "caption",
      {},
      h("span", { class: "facility-name" }, facility ? facility.name : facilityId),
      " · ",
      h("span", { i18n: ["web.cameras.local_time", { zone }] }),
      " ",
      dateEl(new Date(), zone, "short"),
    );
    const rows = list.map((camera) => {
      const active = camera.status === "active";
      const pick = h("input", {
        type: "checkbox",
        id: `pick-${camera.id}`,
        disabled: !active || !live,
        "i18n-aria-label": ["web.cameras.pick", { name: camera.name }],
        onchange: (event) => {
          if (event.target.checked) chosen.add(camera.id);
          else chosen.delete(camera.id);
          openGrid.disabled = chosen.size === 0;
        },
      });
      return h(
        "tr",
        { "data-camera": camera.id },
        h("td", {}, pick),
        h("th", { scope: "row" }, camera.name),
        h("td", {}, h("span", { class: `badge status-${camera.status}`, i18n: CAMERA_STATUS[camera.status] })),
        h("td", {}, streamCell(streams.get(camera.id), zone)),
        h(
          "td",
          { class: "actions" },
          live && active
            ? h("a", { class: "btn", href: `#/camera/${camera.id}`, i18n: "web.cameras.live" })
            : null,
          recorded
            ? h("a", { class: "btn", href: `#/playback/${camera.id}`, i18n: "web.cameras.playback" })
            : null,
        ),
      );
    });
    main.append(
      h(
        "table",
        { class: "cameras" },
        caption,
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, h("span", { class: "sr-only", i18n: "web.cameras.col_pick" })),
            h("th", { scope: "col", i18n: "web.cameras.col_name" }),
            h("th", { scope: "col", i18n: "web.cameras.col_status" }),
            h("th", { scope: "col", i18n: "web.cameras.col_stream" }),
            h("th", { scope: "col", i18n: "web.cameras.col_actions" }),
          ),
        ),
        h("tbody", {}, rows),
      ),
    );
  }
}

function streamCell(stream, zone) {
  if (!stream) return h("span", { class: "muted", i18n: "web.stream.unknown" });
  const key = STREAM_STATUS[stream.status] || "web.stream.unknown";
  return h(
    "span",
    { class: "stream" },
    h("span", { class: `badge stream-${stream.status}`, i18n: key, title: stream.reason || null }),
    " ",
    h("span", { class: "since", i18n: "web.stream.since" }),
    " ",
    dateEl(stream.since, zone, "short"),
  );
}
