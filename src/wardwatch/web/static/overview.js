// Overview: the user's part of the org tree with live counts per node (cameras online and
// offline, open incidents, alerts by colour, duty coverage), refreshed every few seconds.
//
// One guarded call (GET /api/v1/overview) answers for the whole tree: the server sums each
// facility's figures up the nodes the user sees, under the user's own permission for each
// figure. A group the user may not read comes back null and is shown as "not available",
// never as zero. A refresh updates the figures in place, so keyboard focus stays where it was.

import { api, ApiError } from "./api.js";
import { h, showError } from "./dom.js";
import { showDate, trAttr } from "./i18n.js";

export const REFRESH_MS = 15_000;

/** The figure columns: [group, field, heading key, css class of a non-zero value]. */
const COLUMNS = [
  ["cameras", "online", "web.overview.col_online", "ok"],
  ["cameras", "offline", "web.overview.col_offline", "bad"],
  ["cameras", "impaired", "web.overview.col_impaired", "warn"],
  ["incidents", "open", "web.overview.col_incidents", "bad"],
  ["alerts", "red", "web.overview.col_red", "tone-red"],
  ["alerts", "yellow", "web.overview.col_yellow", "tone-yellow"],
  ["alerts", "blue", "web.overview.col_blue", "tone-blue"],
  ["duty", "covered", "web.overview.col_duty", null],
];

function figure(node, group, field, css) {
  const values = node[group];
  if (!values) {
    return h("span", { class: "muted", "i18n-title": "web.overview.not_available", i18n: "web.overview.dash" });
  }
  if (group === "duty") return dutyCell(values);
  const value = values[field];
  const parts = [h("span", { class: value && css ? `count ${css}` : "count" }, String(value))];
  if (group === "incidents" && values.recovered) {
    parts.push(" ", h("span", { class: "muted", i18n: ["web.overview.recovered", { count: values.recovered }] }));
  }
  if (group === "cameras" && field === "online" && values.unknown) {
    parts.push(" ", h("span", { class: "muted", i18n: ["web.overview.unknown", { count: values.unknown }] }));
  }
  return parts;
}

function dutyCell(duty) {
  if (!duty.facilities) return h("span", { class: "muted", i18n: "web.overview.dash" });
  const css = duty.uncovered ? "count bad" : "count ok";
  return [
    h("span", { class: css, i18n: ["web.overview.covered", { covered: duty.covered, total: duty.facilities }] }),
    " ",
    h("span", { class: "muted", i18n: ["web.overview.on_duty", { count: duty.on_duty }] }),
  ];
}

/** Where a facility's row leads: its cameras live, when the user may watch them. */
function facilityLinks(node, ctx) {
  if (node.kind !== "facility" || !ctx.can("camera.view_live")) return null;
  return h(
    "a",
    {
      class: "btn small",
      href: `#/live?facility=${encodeURIComponent(node.id)}`,
      "i18n-aria-label": ["web.overview.watch_named", { name: node.name }],
      i18n: "web.overview.watch",
    },
  );
}

export async function mount(main, ctx) {
  const updated = h("time", { id: "overview-updated" });
  const stamp = h("p", { class: "hint", role: "status" }, h("span", { i18n: "web.overview.updated" }), " ", updated);
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const body = h("tbody");
  const empty = h("p", { class: "empty", i18n: "web.overview.empty", hidden: true });
  const table = h(
    "table",
    { class: "overview", id: "overview" },
    h("caption", { class: "sr-only", i18n: "web.overview.caption" }),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col", rowspan: 2, i18n: "web.overview.col_node" }),
        h("th", { scope: "colgroup", colspan: 3, i18n: "web.overview.cameras" }),
        h("th", { scope: "col", rowspan: 2, i18n: "web.overview.col_incidents" }),
        h("th", { scope: "colgroup", colspan: 3, i18n: "web.overview.alerts" }),
        h("th", { scope: "col", rowspan: 2, i18n: "web.overview.col_duty" }),
        h("th", { scope: "col", rowspan: 2 }, h("span", { class: "sr-only", i18n: "web.overview.col_actions" })),
      ),
      h(
        "tr",
        {},
        COLUMNS.filter(([group]) => group === "cameras" || group === "alerts").map(([, , key, css]) =>
          h("th", { scope: "col", class: css && css.startsWith("tone-") ? css : null, i18n: key }),
        ),
      ),
    ),
    body,
  );
  const refreshButton = h("button", { type: "button", class: "btn", id: "overview-refresh", i18n: "web.overview.refresh" });
  main.append(
    h("div", { class: "toolbar" }, h("h1", { i18n: "web.overview.title" }), refreshButton, stamp),
    error,
    table,
    empty,
  );

  const rows = new Map(); // node id -> {row, cells: [td...]}
  let shape = "";
  // The facilities' own time zone when they share one (the usual case), else the browser's.
  const zoneOf = (nodes) => {
    const zones = new Set(nodes.map((n) => n.timezone).filter(Boolean));
    return zones.size === 1 ? [...zones][0] : Intl.DateTimeFormat().resolvedOptions().timeZone;
  };

  function build(nodes) {
    rows.clear();
    const top = Math.min(...nodes.map((n) => n.depth));
    body.replaceChildren(
      ...nodes.map((node) => {
        const name = h(
          "th",
          { scope: "row", class: "node" },
          h("span", { class: "node-name" }, node.name),
          " ",
          h("span", { class: "muted kind", i18n: `org_kind.${node.kind}` }),
        );
        name.style.paddingLeft = `${0.5 + (node.depth - top) * 1.4}rem`;
        const cells = COLUMNS.map(() => h("td", { class: "num" }));
        const row = h(
          "tr",
          { "data-node": node.id, "data-kind": node.kind, "aria-level": String(node.depth - top + 1) },
          name,
          cells,
          h("td", { class: "actions" }, facilityLinks(node, ctx)),
        );
        rows.set(node.id, { row, cells });
        return row;
      }),
    );
  }

  function render(data) {
    const nodes = data.nodes;
    empty.hidden = nodes.length > 0;
    table.hidden = nodes.length === 0;
    const next = nodes.map((n) => `${n.id}:${n.name}:${n.depth}`).join("|");
    if (next !== shape) {
      build(nodes);
      shape = next;
    }
    for (const node of nodes) {
      const { cells } = rows.get(node.id);
      COLUMNS.forEach(([group, field, , css], i) => {
        cells[i].replaceChildren(...[figure(node, group, field, css)].flat());
        cells[i].dataset.value = node[group] ? String(node[group][field]) : "";
      });
    }
    showDate(updated, data.evaluated_at, zoneOf(nodes), "time");
  }

  let stopped = false;
  let timer = null;
  let controller = null;

  async function load() {
    controller = new AbortController();
    const data = await api("/api/v1/overview", { signal: controller.signal });
    if (!stopped) {
      render(data);
      error.hidden = true;
    }
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      await load();
    } catch (failure) {
      if (stopped || failure.name === "AbortError") return;
      if (failure instanceof ApiError && failure.status === 401) {
        ctx.signedOut();
        ctx.navigate("#/signin");
        return;
      }
      showError(error, failure); // the figures on screen stay, with the error above them
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  refreshButton.addEventListener("click", refresh);
  trAttr(refreshButton, "title", "web.overview.refresh_every", { seconds: REFRESH_MS / 1000 });
  // The first answer renders before the screen is shown; a lapsed sign-in goes to the router.
  try {
    await load();
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) throw failure;
    showError(error, failure);
  }
  timer = setTimeout(refresh, REFRESH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
    if (controller) controller.abort();
  };
}
