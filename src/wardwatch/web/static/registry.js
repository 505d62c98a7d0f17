// The registry: facilities, their zones, cameras and doors, and the rollout registry.
//
// The forms show the placement and activation rules before anything is sent (a private zone
// is marked in the zone picker; the camera form lists what activation still needs), but the
// API decides: its refusal, which names the rule, is shown as it comes. Edit actions appear
// only to users holding registry.edit / rollout.edit; the API refuses them to anyone else.

import { api } from "./api.js";
import { clear, dateEl, h, showError } from "./dom.js";
import { check, dayEl, errorBox, field, select, statusBox, table, ticked, uid } from "./fields.js";
import { tr } from "./i18n.js";

const FACILITY_TYPES = ["quarantine_centre", "clinic", "hospital", "medical_aesthetics_clinic"];
const AREA_TYPES = [
  "corridor_outside_rooms",
  "lobby",
  "yard",
  "sampling_area",
  "intake",
  "medical_check",
  "supply_reception",
  "shared_toilet_exterior",
  "gate",
  "facility_entrance",
  "surgical_area_entrance",
  "operating_room_door",
  "reception",
  "other_public_area",
  "room_interior",
  "toilet",
  "bathroom",
  "changing_room",
  "ward_bed_area",
];
/** Marked private in the area picker; the server's placement rule is what refuses them. */
const PRIVATE_AREAS = {
  room_interior: "web.registry.private_area.room_interior",
  toilet: "web.registry.private_area.toilet",
  bathroom: "web.registry.private_area.bathroom",
  changing_room: "web.registry.private_area.changing_room",
  ward_bed_area: "web.registry.private_area.ward_bed_area",
};
const PURPOSES = [
  "rule_supervision",
  "breach_reminders",
  "epidemiological_investigation",
  "remedy_verification",
  "operating_room_supervision",
];
const DOOR_KINDS = ["operating_room_door", "surgical_area_entrance", "facility_entrance"];
const ROLLOUT = ["required", "committed", "installed", "connected", "verified"];
const PARENT_KINDS = new Set(["ministry", "province", "district"]);
const CHOOSE = { blankKey: "web.registry.choose", required: true };

/** What activation needs, by the API's field name (camera.activation). */
const ACTIVATION_FIELDS = {
  purposes: "web.registry.field.purposes",
  legal_basis: "web.registry.field.legal_basis",
  retention_days: "web.registry.field.retention_days",
  signage_posted: "web.registry.field.signage_posted",
};

function none() {
  return h("span", { class: "muted", i18n: "web.registry.none" });
}

function missingFor(values) {
  const missing = [];
  if (!values.purposes.length) missing.push("purposes");
  if (!values.legal_basis.trim()) missing.push("legal_basis");
  if (!values.retention_days) missing.push("retention_days");
  if (!values.signage_posted) missing.push("signage_posted");
  return missing;
}

/** The named fields, translated, as one element. */
function missingList(fields) {
  return h(
    "span",
    { class: "fields" },
    fields.map((name, i) => [i ? ", " : "", h("span", { i18n: ACTIVATION_FIELDS[name] || null }, ACTIVATION_FIELDS[name] ? null : name)]),
  );
}

/** Show a refusal and, for the activation rule, which fields it names (translated). */
function showRefusal(el, error) {
  showError(el, error);
  const missing = error && error.problem && error.problem.missing;
  if (Array.isArray(missing) && missing.length) {
    el.append(" ", h("span", { class: "missing" }, h("span", { i18n: "web.registry.missing" }), " ", missingList(missing)));
  }
}

export async function mount(view, ctx, match, query) {
  const tab = query.get("tab") === "rollout" && ctx.can("rollout.read") ? "rollout" : "facilities";
  const tabs = h(
    "nav",
    { class: "tabs", "i18n-aria-label": "web.registry.tabs" },
    h("a", { href: "#/registry", i18n: "web.registry.tab_facilities", "aria-current": tab === "facilities" ? "page" : null }),
    ctx.can("rollout.read")
      ? h("a", { href: "#/registry?tab=rollout", i18n: "web.registry.tab_rollout", "aria-current": tab === "rollout" ? "page" : null })
      : null,
  );
  view.append(h("div", { class: "toolbar" }, h("h1", { i18n: "web.registry.title" }), tabs));
  const nodes = await api("/api/v1/org/nodes");
  const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));
  if (tab === "rollout") {
    await rolloutTab(view, ctx, nodes, nodeNames);
    return null;
  }
  await facilitiesTab(view, ctx, query.get("facility"), nodes);
  return null;
}

// ------------------------------------------------------------------ facilities

async function facilitiesTab(view, ctx, chosenId, nodes) {
  ctx._facilities = null; // the registry is where facilities change: read them afresh
  const facilities = await ctx.facilities();
  const list = [...facilities.values()].sort((a, b) => a.name.localeCompare(b.name));
  const rows = list.map((f) =>
    h(
      "tr",
      { "data-facility": f.id, class: [f.id === chosenId ? "chosen" : "", f.rollout.overdue ? "overdue" : ""].join(" ").trim() || null },
      h(
        "th",
        { scope: "row" },
        h(
          "a",
          { href: `#/registry?facility=${encodeURIComponent(f.id)}`, "aria-current": f.id === chosenId ? "true" : null },
          f.name,
        ),
      ),
      h("td", { i18n: `facility_type.${f.facility_type}` }),
      h("td", {}, f.timezone),
      h("td", {}, rolloutCell(f.rollout)),
    ),
  );
  view.append(
    h(
      "section",
      { class: "panel", "aria-labelledby": "facilities-title" },
      h("h2", { id: "facilities-title", i18n: "web.registry.facilities" }),
      list.length
        ? table({
            id: "facility-list",
            headers: ["web.registry.col_facility", "web.registry.col_type", "web.registry.col_timezone", "web.registry.col_rollout"],
            rows,
          })
        : h("p", { class: "empty", i18n: "web.registry.no_facilities" }),
      ctx.can("registry.edit") ? facilityForm(ctx, nodes) : null,
    ),
  );
  const chosen = chosenId ? facilities.get(chosenId) : null;
  if (chosenId && !chosen) {
    view.append(h("p", { class: "error", role: "alert", i18n: "web.registry.facility_unknown" }));
    return;
  }
  if (!chosen) {
    if (list.length) view.append(h("p", { class: "hint", i18n: "web.registry.choose_facility" }));
    return;
  }
  const section = h("section", { class: "panel", id: "facility-detail", "aria-labelledby": "facility-title" });
  view.append(section);
  await renderFacility(section, ctx, chosen);
}

function rolloutCell(rollout) {
  return [
    h("span", { class: `badge rollout-${rollout.status}`, i18n: `rollout_status.${rollout.status}` }),
    rollout.required_by ? [" ", h("span", { class: "muted", i18n: "web.registry.deadline" }), " ", dayEl(rollout.required_by)] : null,
    rollout.overdue ? [" ", h("span", { class: "badge overdue", i18n: "web.registry.overdue" })] : null,
  ];
}

function facilityForm(ctx, nodes) {
  const error = errorBox("facility-form-error");
  const parents = nodes.filter((n) => PARENT_KINDS.has(n.kind));
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const zoneList = h("datalist", { id: "timezones" }, zones.map((z) => h("option", { value: z })));
  const form = h(
    "form",
    { id: "facility-form", class: "row" },
    field(
      "web.registry.parent",
      select("facility-parent", parents.map((n) => ({ value: n.id, text: n.name })), CHOOSE),
    ),
    field("web.registry.name", h("input", { id: "facility-name", required: true, maxlength: 200 })),
    field(
      "web.registry.facility_type",
      select("facility-type", FACILITY_TYPES.map((t) => ({ value: t, i18n: `facility_type.${t}` })), CHOOSE),
    ),
    field("web.registry.address", h("input", { id: "facility-address", required: true, maxlength: 500 })),
    field("web.registry.timezone", h("input", { id: "facility-timezone", required: true, list: "timezones", value: "Asia/Ho_Chi_Minh" })),
    zoneList,
    field("web.registry.required_by", h("input", { id: "facility-deadline", type: "date" })),
    h("button", { type: "submit", class: "btn primary", i18n: "web.registry.add_facility" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const value = (id) => form.querySelector(`#${id}`).value.trim();
    try {
      const made = await api("/api/v1/facilities", {
        method: "POST",
        body: {
          parent_id: value("facility-parent"),
          name: value("facility-name"),
          facility_type: value("facility-type"),
          address: value("facility-address"),
          timezone: value("facility-timezone"),
          required_by: value("facility-deadline") || null,
        },
      });
      ctx._facilities = null;
      ctx.navigate(`#/registry?facility=${encodeURIComponent(made.id)}`);
    } catch (failure) {
      showError(error, failure);
    }
  });
  return h("details", { class: "add" }, h("summary", { i18n: "web.registry.new_facility" }), form, error);
}

/** The chosen facility's zones, cameras and doors; rebuilt after each change. */
async function renderFacility(section, ctx, facility) {
  const id = encodeURIComponent(facility.id);
  const [zones, cameras, doors] = await Promise.all([
    api(`/api/v1/facilities/${id}/zones`),
    api(`/api/v1/cameras?facility_id=${id}`),
    api(`/api/v1/doors?facility_id=${id}`),
  ]);
  const refresh = () => renderFacility(section, ctx, facility);
  const zoneById = new Map(zones.map((z) => [z.id, z]));
  const edit = ctx.can("registry.edit");
  clear(section).append(
    h(
      "div",
      { class: "toolbar" },
      h("h2", { id: "facility-title" }, facility.name),
      h("span", { class: "muted", i18n: ["web.registry.local_time", { zone: facility.timezone }] }),
      dateEl(new Date(), facility.timezone, "short"),
    ),
    zonesPart(facility, zones, edit, refresh),
    camerasPart(facility, zones, zoneById, cameras, edit, refresh),
    doorsPart(zones, zoneById, cameras, doors, edit, refresh),
  );
}

function zonesPart(facility, zones, edit, refresh) {
  const rows = zones.map((z) =>
    h(
      "tr",
      { "data-zone": z.id },
      h("th", { scope: "row" }, z.name),
      h("td", { i18n: `area_type.${z.area_type}` }),
      h(
        "td",
        {},
        z.private
          ? h("span", { class: "badge private", i18n: "web.registry.private" })
          : h("span", { class: "muted", i18n: "web.registry.public" }),
      ),
    ),
  );
  const part = h(
    "section",
    { class: "part", "aria-labelledby": "zones-title" },
    h("h3", { id: "zones-title", i18n: "web.registry.zones" }),
    zones.length
      ? table({ id: "zone-list", headers: ["web.registry.col_zone", "web.registry.col_area", "web.registry.col_privacy"], rows })
      : h("p", { class: "empty", i18n: "web.registry.no_zones" }),
  );
  if (!edit) return part;
  const error = errorBox("zone-form-error");
  const area = select(
    "zone-area",
    AREA_TYPES.map((t) =>
      PRIVATE_AREAS[t]
        ? { value: t, i18n: PRIVATE_AREAS[t], class: "private-option" }
        : { value: t, i18n: `area_type.${t}` },
    ),
    { blankKey: "web.registry.choose", required: true },
  );
  const privateNote = h("p", { class: "hint warn", id: "zone-private-note", hidden: true, i18n: "web.registry.zone_private_note" });
  area.addEventListener("change", () => {
    privateNote.hidden = !PRIVATE_AREAS[area.value];
  });
  const form = h(
    "form",
    { id: "zone-form", class: "row" },
    field("web.registry.zone_name", h("input", { id: "zone-name", required: true, maxlength: 200 })),
    field("web.registry.area_type", area, { hint: "web.registry.area_hint" }),
    h("button", { type: "submit", class: "btn", i18n: "web.registry.add_zone" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await api(`/api/v1/facilities/${encodeURIComponent(facility.id)}/zones`, {
        method: "POST",
        body: { name: form.querySelector("#zone-name").value.trim(), area_type: area.value },
      });
      await refresh();
    } catch (failure) {
      showError(error, failure);
    }
  });
  part.append(form, privateNote, error);
  return part;
}

function zoneOptions(zones) {
  // Private zones stay choosable so the API's placement refusal is what the user sees, but
  // each is marked in the picker itself.
  return zones.map((z) =>
    z.private
      ? { value: z.id, i18n: "web.registry.zone_option_private", params: { name: z.name }, class: "private-option", data: { "data-private": "true" } }
      : { value: z.id, text: z.name },
  );
}

function camerasPart(facility, zones, zoneById, cameras, edit, refresh) {
  const actionError = errorBox("camera-action-error");
  const done = statusBox("camera-action-status");
  let form = null;
  const rows = cameras.map((c) => {
    const zone = zoneById.get(c.zone_id);
    const actions = [];
    if (edit && c.status !== "active") {
      actions.push(
        h("button", {
          type: "button",
          class: "btn primary",
          "data-action": "activate",
          i18n: "web.registry.activate",
          "i18n-aria-label": ["web.registry.activate_named", { name: c.name }],
          onclick: () => act(c, "activate"),
        }),
      );
    }
    if (edit && c.status === "active") {
      actions.push(
        h("button", {
          type: "button",
          class: "btn",
          "data-action": "deactivate",
          i18n: "web.registry.deactivate",
          "i18n-aria-label": ["web.registry.deactivate_named", { name: c.name }],
          onclick: () => act(c, "deactivate"),
        }),
      );
    }
    if (edit) {
      actions.push(
        h("button", {
          type: "button",
          class: "btn",
          "data-action": "edit",
          i18n: "web.registry.edit",
          "i18n-aria-label": ["web.registry.edit_named", { name: c.name }],
          onclick: () => form.load(c),
        }),
      );
    }
    return h(
      "tr",
      { "data-camera": c.id },
      h("th", { scope: "row" }, c.name),
      h("td", {}, zone ? zone.name : c.zone_id),
      h("td", {}, h("span", { class: `badge status-${c.status}`, i18n: `camera_status.${c.status}` })),
      h("td", {}, c.purposes.map((p, i) => [i ? ", " : "", h("span", { i18n: `purpose.${p}` })])),
      h("td", { class: "wrap" }, c.legal_basis || h("span", { class: "muted", i18n: "web.registry.none" })),
      h("td", {}, c.retention_days ? h("span", { i18n: ["web.registry.days", { n: c.retention_days }] }) : none()),
      h("td", { i18n: c.signage_posted ? "web.registry.yes" : "web.registry.no" }),
      h(
        "td",
        { class: "activation" },
        c.activation_missing.length
          ? h("span", { class: "missing" }, h("span", { i18n: "web.registry.missing" }), " ", missingList(c.activation_missing))
          : h("span", { class: "muted", i18n: "web.registry.ready" }),
      ),
      h("td", { class: "actions" }, actions),
    );
  });

  async function act(camera, what) {
    actionError.hidden = true;
    done.hidden = true;
    try {
      await api(`/api/v1/cameras/${encodeURIComponent(camera.id)}/${what}`, { method: "POST" });
      await refresh();
    } catch (failure) {
      showRefusal(actionError, failure);
    }
  }

  const part = h(
    "section",
    { class: "part", "aria-labelledby": "cameras-title" },
    h("h3", { id: "cameras-title", i18n: "web.registry.cameras" }),
    cameras.length
      ? table({
          id: "camera-list",
          headers: [
            "web.registry.col_camera",
            "web.registry.col_zone",
            "web.registry.col_status",
            "web.registry.field.purposes",
            "web.registry.field.legal_basis",
            "web.registry.field.retention_days",
            "web.registry.field.signage_posted",
            "web.registry.col_activation",
            edit ? "web.registry.col_actions" : null,
          ].filter((k) => k !== null),
          rows,
        })
      : h("p", { class: "empty", i18n: "web.registry.no_cameras" }),
    actionError,
    done,
  );
  if (edit) {
    form = cameraForm(zones, refresh);
    part.append(form.el);
  }
  return part;
}

/** Add a camera, or change one (the same form, loaded with the camera's values). */
function cameraForm(zones, refresh) {
  let editing = null;
  const error = errorBox("camera-form-error");
  const zone = select("camera-zone", zoneOptions(zones), { blankKey: "web.registry.choose", required: true });
  const privateNote = h("p", { class: "hint warn", id: "camera-private-note", hidden: true, i18n: "web.registry.camera_private_note" });
  const name = h("input", { id: "camera-name", required: true, maxlength: 200 });
  const mainUrl = h("input", { id: "camera-main-url", required: true, maxlength: 2000, placeholder: "rtsp://", inputmode: "url" });
  const subUrl = h("input", { id: "camera-sub-url", maxlength: 2000, placeholder: "rtsp://", inputmode: "url" });
  const username = h("input", { id: "camera-username", maxlength: 200, autocomplete: "off" });
  const password = h("input", { id: "camera-password", type: "password", maxlength: 200, autocomplete: "new-password" });
  const credentials = h(
    "div",
    { class: "row", id: "camera-credentials" },
    field("web.registry.camera_username", username),
    field("web.registry.camera_password", password),
  );
  const purposeBoxes = PURPOSES.map((p) => check(`camera-purpose-${p}`, `purpose.${p}`, { value: p }));
  const purposes = h(
    "fieldset",
    { id: "camera-purposes", class: "checks" },
    h("legend", { i18n: "web.registry.field.purposes" }),
    purposeBoxes.map((b) => b.el),
  );
  const legalBasis = h("textarea", { id: "camera-legal-basis", rows: 2, maxlength: 2000 });
  const retention = h("input", { id: "camera-retention", type: "number", min: 1, max: 3650, step: 1 });
  const signage = check("camera-signage", "web.registry.signage_label");
  const needs = h("p", { class: "hint", id: "camera-needs", role: "status" });
  const title = h("h4", { id: "camera-form-title", i18n: "web.registry.new_camera" });
  const submit = h("button", { type: "submit", class: "btn primary", id: "camera-submit", i18n: "web.registry.add_camera" });
  const cancel = h("button", { type: "button", class: "btn", id: "camera-cancel", hidden: true, i18n: "web.registry.cancel" });

  const values = () => ({
    zone_id: zone.value,
    name: name.value.trim(),
    main_url: mainUrl.value.trim(),
    sub_url: subUrl.value.trim() || null,
    purposes: ticked(purposes),
    legal_basis: legalBasis.value.trim(),
    retention_days: retention.value ? Number(retention.value) : null,
    signage_posted: signage.input.checked,
  });
  const showNeeds = () => {
    const missing = missingFor(values());
    needs.replaceChildren();
    if (missing.length) {
      needs.append(h("span", { i18n: "web.registry.activation_needs" }), " ", missingList(missing));
      needs.classList.add("warn");
    } else {
      needs.append(h("span", { i18n: "web.registry.activation_ready" }));
      needs.classList.remove("warn");
    }
  };
  const showPrivate = () => {
    const option = zone.selectedOptions[0];
    privateNote.hidden = !(option && option.dataset.private === "true");
  };
  const form = h(
    "form",
    { id: "camera-form", "aria-labelledby": "camera-form-title" },
    title,
    h("div", { class: "row" }, field("web.registry.col_zone", zone), field("web.registry.name", name)),
    privateNote,
    h("div", { class: "row" }, field("web.registry.main_url", mainUrl), field("web.registry.sub_url", subUrl)),
    credentials,
    h("p", { class: "hint", i18n: "web.registry.activation_rule" }),
    purposes,
    h("div", { class: "row" }, field("web.registry.field.legal_basis", legalBasis), field("web.registry.retention_label", retention), signage.el),
    needs,
    h("div", { class: "row" }, submit, cancel),
  );
  form.addEventListener("input", showNeeds);
  form.addEventListener("change", showNeeds);
  zone.addEventListener("change", showPrivate);

  const reset = () => {
    editing = null;
    form.reset();
    tr(title, "web.registry.new_camera");
    tr(submit, "web.registry.add_camera");
    cancel.hidden = true;
    credentials.hidden = false;
    showPrivate();
    showNeeds();
  };
  cancel.addEventListener("click", () => {
    error.hidden = true;
    reset();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const body = values();
    try {
      if (editing) {
        await api(`/api/v1/cameras/${encodeURIComponent(editing.id)}`, { method: "PATCH", body });
      } else {
        if (username.value.trim()) {
          body.username = username.value.trim();
          body.password = password.value;
        }
        await api("/api/v1/cameras", { method: "POST", body });
      }
      await refresh();
    } catch (failure) {
      showRefusal(error, failure);
    }
  });
  showNeeds();
  return {
    el: h("div", { class: "add" }, form, error),
    load(camera) {
      editing = camera;
      error.hidden = true;
      zone.value = camera.zone_id;
      name.value = camera.name;
      mainUrl.value = camera.main_url;
      subUrl.value = camera.sub_url || "";
      for (const box of purposeBoxes) box.input.checked = camera.purposes.includes(box.input.value);
      legalBasis.value = camera.legal_basis;
      retention.value = camera.retention_days || "";
      signage.input.checked = camera.signage_posted;
      tr(title, "web.registry.edit_camera", { name: camera.name });
      tr(submit, "web.registry.save");
      cancel.hidden = false;
      credentials.hidden = true; // credentials are sealed and changed on their own
      showPrivate();
      showNeeds();
      name.focus();
    },
  };
}

function doorsPart(zones, zoneById, cameras, doors, edit, refresh) {
  const cameraNames = new Map(cameras.map((c) => [c.id, c.name]));
  const rows = doors.map((d) => {
    const zone = zoneById.get(d.zone_id);
    return h(
      "tr",
      { "data-door": d.id },
      h("th", { scope: "row" }, d.name),
      h("td", { i18n: `door_kind.${d.kind}` }),
      h("td", {}, zone ? zone.name : d.zone_id),
      h("td", {}, d.camera_ids.length ? d.camera_ids.map((id) => cameraNames.get(id) || id).join(", ") : none()),
    );
  });
  const part = h(
    "section",
    { class: "part", "aria-labelledby": "doors-title" },
    h("h3", { id: "doors-title", i18n: "web.registry.doors" }),
    doors.length
      ? table({ id: "door-list", headers: ["web.registry.col_door", "web.registry.col_kind", "web.registry.col_zone", "web.registry.cameras"], rows })
      : h("p", { class: "empty", i18n: "web.registry.no_doors" }),
  );
  if (!edit) return part;
  const error = errorBox("door-form-error");
  const kind = select("door-kind", DOOR_KINDS.map((k) => ({ value: k, i18n: `door_kind.${k}` })), CHOOSE);
  const zone = select("door-zone", zoneOptions(zones), { blankKey: "web.registry.choose", required: true });
  const cameraBoxes = h(
    "fieldset",
    { class: "checks", id: "door-cameras" },
    h("legend", { i18n: "web.registry.door_cameras" }),
    cameras.length
      ? cameras.map((c) => check(uid("door-camera"), null, { value: c.id, text: c.name }).el)
      : h("span", { class: "muted", i18n: "web.registry.no_cameras" }),
  );
  const form = h(
    "form",
    { id: "door-form" },
    h(
      "div",
      { class: "row" },
      field("web.registry.door_name", h("input", { id: "door-name", required: true, maxlength: 200 })),
      field("web.registry.col_kind", kind),
      field("web.registry.col_zone", zone),
    ),
    cameraBoxes,
    h("button", { type: "submit", class: "btn", i18n: "web.registry.add_door" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await api("/api/v1/doors", {
        method: "POST",
        body: {
          zone_id: zone.value,
          name: form.querySelector("#door-name").value.trim(),
          kind: kind.value,
          camera_ids: ticked(cameraBoxes),
        },
      });
      await refresh();
    } catch (failure) {
      showError(error, failure);
    }
  });
  part.append(h("div", { class: "add" }, form, error));
  return part;
}

// ------------------------------------------------------------------ rollout

async function rolloutTab(view, ctx, nodes, nodeNames) {
  const edit = ctx.can("rollout.edit");
  const overdueOnly = check("rollout-overdue-only", "web.rollout.overdue_only");
  const scope = select(
    "rollout-node",
    nodes.filter((n) => PARENT_KINDS.has(n.kind)).map((n) => ({ value: n.id, text: n.name })),
    { blankKey: "web.rollout.all_nodes" },
  );
  const error = errorBox("rollout-error");
  const summary = h("p", { id: "rollout-summary", role: "status" });
  const holder = h("div", { id: "rollout-table" });
  const editor = edit ? rolloutEditor(() => load()) : null;
  const filters = h("form", { class: "row", id: "rollout-filters" }, field("web.rollout.node", scope), overdueOnly.el);

  let ticket = 0; // only the latest answer is shown when filters change quickly
  async function load() {
    const mine = ++ticket;
    error.hidden = true;
    const params = new URLSearchParams();
    if (scope.value) params.set("node_id", scope.value);
    if (overdueOnly.input.checked) params.set("overdue", "true");
    let entries;
    try {
      entries = await api(`/api/v1/rollout?${params}`);
    } catch (failure) {
      showError(error, failure);
      return;
    }
    if (mine !== ticket) return;
    const overdue = entries.filter((e) => e.overdue).length;
    tr(summary, "web.rollout.summary", { count: entries.length, overdue });
    const rows = entries.map((e) =>
      h(
        "tr",
        { "data-facility": e.facility_id, class: e.overdue ? "overdue" : null },
        h("th", { scope: "row" }, h("a", { href: `#/registry?facility=${encodeURIComponent(e.facility_id)}` }, e.name)),
        h("td", {}, nodeNames.get(e.parent_id) || ""),
        h("td", {}, h("span", { class: `badge rollout-${e.status}`, i18n: `rollout_status.${e.status}` })),
        h("td", {}, e.required_by ? dayEl(e.required_by) : h("span", { class: "muted", i18n: "web.registry.none" })),
        h(
          "td",
          {},
          e.overdue
            ? h("span", { class: "badge overdue", i18n: "web.registry.overdue" })
            : h("span", { class: "muted", i18n: "web.rollout.on_track" }),
        ),
        edit
          ? h(
              "td",
              { class: "actions" },
              h("button", {
                type: "button",
                class: "btn",
                i18n: "web.rollout.change",
                "i18n-aria-label": ["web.rollout.change_named", { name: e.name }],
                onclick: () => editor.open(e),
              }),
            )
          : null,
      ),
    );
    holder.replaceChildren(
      entries.length
        ? table({
            id: "rollout-list",
            headers: [
              "web.registry.col_facility",
              "web.rollout.col_parent",
              "web.registry.col_rollout",
              "web.rollout.col_deadline",
              "web.rollout.col_overdue",
              edit ? "web.registry.col_actions" : null,
            ].filter((k) => k !== null),
            rows,
          })
        : h("p", { class: "empty", i18n: "web.rollout.none" }),
    );
  }
  filters.addEventListener("change", load);
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  view.append(
    h(
      "section",
      { class: "panel", "aria-labelledby": "rollout-title" },
      h("h2", { id: "rollout-title", i18n: "web.rollout.title" }),
      h("p", { class: "hint", i18n: "web.rollout.explain" }),
      filters,
      summary,
      error,
      holder,
      editor ? editor.el : null,
    ),
  );
  await load();
}

/** Move one facility's rollout a step (or back, with a reason) and set its deadline. */
function rolloutEditor(reload) {
  let current = null;
  const heading = h("h3", { id: "rollout-edit-title" });
  const error = errorBox("rollout-edit-error");
  const done = statusBox("rollout-edit-status");
  const status = select("rollout-status", ROLLOUT.map((s) => ({ value: s, i18n: `rollout_status.${s}` })), { required: true });
  const note = h("input", { id: "rollout-note", maxlength: 2000 });
  const deadline = h("input", { id: "rollout-deadline", type: "date" });
  const stepForm = h(
    "form",
    { class: "row", id: "rollout-step-form" },
    field("web.rollout.new_status", status),
    field("web.rollout.note", note, { hint: "web.rollout.note_hint" }),
    h("button", { type: "submit", class: "btn primary", i18n: "web.rollout.record" }),
  );
  const deadlineForm = h(
    "form",
    { class: "row", id: "rollout-deadline-form" },
    field("web.rollout.col_deadline", deadline),
    h("button", { type: "submit", class: "btn", i18n: "web.rollout.set_deadline" }),
  );
  const el = h(
    "section",
    { class: "part", id: "rollout-editor", hidden: true, "aria-labelledby": "rollout-edit-title" },
    heading,
    stepForm,
    deadlineForm,
    error,
    done,
  );
  const send = async (path, method, body) => {
    error.hidden = true;
    done.hidden = true;
    try {
      await api(`/api/v1/facilities/${encodeURIComponent(current.facility_id)}/${path}`, { method, body });
      tr(done, "web.rollout.saved", { name: current.name });
      done.hidden = false;
      await reload();
    } catch (failure) {
      showError(error, failure);
    }
  };
  stepForm.addEventListener("submit", (event) => {
    event.preventDefault();
    send("rollout", "POST", { status: status.value, note: note.value.trim() });
  });
  deadlineForm.addEventListener("submit", (event) => {
    event.preventDefault();
    send("rollout/deadline", "PUT", { required_by: deadline.value || null });
  });
  return {
    el,
    open(entry) {
      current = entry;
      const next = ROLLOUT[Math.min(ROLLOUT.indexOf(entry.status) + 1, ROLLOUT.length - 1)];
      status.value = next;
      note.value = "";
      deadline.value = entry.required_by || "";
      error.hidden = true;
      done.hidden = true;
      tr(heading, "web.rollout.editing", { name: entry.name });
      el.hidden = false;
      status.focus();
    },
  };
}
