// Operating theatres: one facility's day — the operations planned in each operating room
// beside the entry ledger of who went through which door — and the practitioner register
// with its import.
//
// "The day" is the facility's calendar day in its own time zone, as the API's `date`
// filter means it, and every time is shown in that zone. A register file is sent as it is;
// when the API refuses it whole, each row's error (row number, field, reason) is listed so
// the sender can fix them all at once.

import { api, upload } from "./api.js";
import { dateEl, h, showError } from "./dom.js";
import { dayEl, errorBox, field, select, table } from "./fields.js";
import { tr } from "./i18n.js";
import { toLocalInput } from "./zoned.js";

const LICENCE_PROBLEMS = {
  not_registered: "web.theatres.licence.not_registered",
  suspended: "web.theatres.licence.suspended",
  revoked: "web.theatres.licence.revoked",
  not_yet_valid: "web.theatres.licence.not_yet_valid",
  expired: "web.theatres.licence.expired",
};
const LICENCE_STATUSES = ["active", "suspended", "revoked"];
const AUTHORITY_KINDS = new Set(["ministry", "province", "district"]);

function todayIn(timeZone) {
  return toLocalInput(Date.now(), timeZone).slice(0, 10);
}

function contentTypeOf(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".json") || file.type === "application/json") return "application/json";
  return "text/csv";
}

export async function mount(view, ctx, match, query) {
  const facilities = [...(await ctx.facilities()).values()].sort((a, b) => a.name.localeCompare(b.name));
  view.append(h("div", { class: "toolbar" }, h("h1", { i18n: "web.theatres.title" })));
  const facility = facilities.find((f) => f.id === query.get("facility")) || facilities[0] || null;
  if (facility) {
    const day = /^\d{4}-\d{2}-\d{2}$/.test(query.get("date") || "") ? query.get("date") : todayIn(facility.timezone);
    view.append(dayPicker(ctx, facilities, facility, day));
    const board = h("div", { class: "theatre-day", id: "theatre-day" });
    view.append(board);
    await renderDay(board, ctx, facility, day);
  } else {
    view.append(h("p", { class: "empty", i18n: "web.theatres.no_facilities" }));
  }
  if (ctx.can("practitioner.read")) view.append(await registerSection(ctx));
  return null;
}

function dayPicker(ctx, facilities, facility, day) {
  const choose = select("theatre-facility", facilities.map((f) => ({ value: f.id, text: f.name })), { value: facility.id });
  const date = h("input", { type: "date", id: "theatre-date", value: day, required: true });
  const form = h(
    "form",
    { class: "row", id: "theatre-form" },
    field("web.theatres.facility", choose),
    field("web.theatres.day", date),
    h("span", { class: "hint", i18n: ["web.playback.zone_note", { zone: facility.timezone }] }),
    h("button", { type: "submit", class: "btn", i18n: "web.playback.show" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams({ facility: choose.value, date: date.value });
    ctx.navigate(`#/theatres?${params}`);
  });
  return form;
}

async function renderDay(board, ctx, facility, day) {
  const id = encodeURIComponent(facility.id);
  const params = new URLSearchParams({ facility_id: facility.id, date: day });
  const zone = facility.timezone;
  const [rooms, procedures, entries, events, doors] = await Promise.all([
    ctx.can("registry.read") ? api(`/api/v1/facilities/${id}/operating-rooms`) : [],
    ctx.can("schedule.read") ? api(`/api/v1/procedures?${params}`) : null,
    ctx.can("ledger.read") ? api(`/api/v1/entries?${params}`) : null,
    ctx.can("ledger.read") ? api(`/api/v1/door-events?${params}`) : null,
    ctx.can("registry.read") ? api(`/api/v1/doors?facility_id=${id}`) : [],
  ]);
  const roomNames = new Map(rooms.map((r) => [r.id, r.name]));
  const doorNames = new Map(doors.map((d) => [d.id, d.name]));
  board.replaceChildren(
    h(
      "section",
      { class: "panel", id: "procedures", "aria-labelledby": "procedures-title" },
      h("h2", { id: "procedures-title", i18n: ["web.theatres.procedures_title", { name: facility.name }] }),
      h("p", { class: "muted" }, dayEl(day)),
      procedures === null ? h("p", { class: "empty", i18n: "web.theatres.no_permission" }) : roomsPart(rooms, procedures, zone),
    ),
    h(
      "section",
      { class: "panel", id: "ledger", "aria-labelledby": "ledger-title" },
      h("h2", { id: "ledger-title", i18n: "web.theatres.ledger_title" }),
      entries === null
        ? h("p", { class: "empty", i18n: "web.theatres.no_permission" })
        : [ledgerPart(entries, roomNames, zone), eventsPart(events, doorNames, zone)],
    ),
  );
}

function roomsPart(rooms, procedures, zone) {
  if (!rooms.length && !procedures.length) return h("p", { class: "empty", i18n: "web.theatres.no_rooms" });
  const byRoom = new Map(rooms.map((r) => [r.id, []]));
  for (const p of procedures) {
    if (!byRoom.has(p.room_id)) byRoom.set(p.room_id, []);
    byRoom.get(p.room_id).push(p);
  }
  const names = new Map(rooms.map((r) => [r.id, r.name]));
  return [...byRoom].map(([roomId, list]) => {
    list.sort((a, b) => Date.parse(a.planned_start) - Date.parse(b.planned_start));
    return h(
      "div",
      { class: "room", "data-room": roomId },
      h("h3", {}, names.get(roomId) || roomId),
      list.length
        ? table({
            headers: [
              "web.theatres.col_ref",
              "web.theatres.col_planned",
              "web.theatres.col_category",
              "web.theatres.col_anaesthesia",
              "web.theatres.col_team",
              "web.theatres.col_status",
            ],
            rows: list.map((p) =>
              h(
                "tr",
                { "data-procedure": p.id, class: p.status === "cancelled" ? "cancelled" : null },
                h("th", { scope: "row" }, p.ref),
                h(
                  "td",
                  {},
                  h("span", { class: "planned" }, dateEl(p.planned_start, zone, "clock"), "–", dateEl(p.planned_end, zone, "clock")),
                  p.actual_start
                    ? h(
                        "div",
                        { class: "muted actual" },
                        h("span", { i18n: "web.theatres.actual" }),
                        " ",
                        dateEl(p.actual_start, zone, "clock"),
                        p.actual_end ? ["–", dateEl(p.actual_end, zone, "clock")] : null,
                      )
                    : null,
                ),
                h("td", {}, p.category),
                h("td", { i18n: `anaesthesia.${p.anaesthesia}` }),
                h(
                  "td",
                  {},
                  h("div", {}, h("span", { class: "muted", i18n: "web.theatres.surgeon" }), " ", p.lead_surgeon),
                  h(
                    "div",
                    {},
                    h("span", { class: "muted", i18n: "web.theatres.anaesthetist" }),
                    " ",
                    p.anaesthetist || h("span", { class: "muted", i18n: "web.registry.none" }),
                  ),
                ),
                h(
                  "td",
                  {},
                  h("span", { i18n: `procedure_status.${p.status}` }),
                  p.warnings.map((w) => h("div", { class: "warn", "data-warning": w.reason }, w.message)),
                ),
              ),
            ),
          })
        : h("p", { class: "empty", i18n: "web.theatres.no_procedures" }),
    );
  });
}

function ledgerPart(entries, roomNames, zone) {
  const list = [...entries].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return h(
    "div",
    { class: "part" },
    h("h3", { i18n: "web.theatres.entries" }),
    list.length
      ? table({
          id: "entry-list",
          headers: [
            "web.theatres.col_time",
            "web.theatres.col_room",
            "web.theatres.col_direction",
            "web.theatres.col_person",
            "web.theatres.col_profession",
            "web.theatres.col_licence",
          ],
          rows: list.map((e) =>
            h(
              "tr",
              { "data-event": e.event_id, class: e.licence_problem ? "flagged" : null },
              h("td", {}, dateEl(e.time, zone, "time"), e.late ? [" ", h("span", { class: "badge", i18n: "web.theatres.late" })] : null),
              h("td", {}, roomNames.get(e.room_id) || e.room_id),
              h("td", { i18n: `direction.${e.direction}` }),
              h(
                "td",
                {},
                e.name || e.person_id || e.credential_id || "",
                e.licence_number ? h("span", { class: "muted" }, ` (${e.licence_number})`) : null,
              ),
              h("td", {}, e.profession ? h("span", { i18n: `profession.${e.profession}` }) : null),
              h(
                "td",
                {},
                e.licence_problem
                  ? h("span", { class: "badge status-denied", i18n: LICENCE_PROBLEMS[e.licence_problem] || "web.theatres.licence.other" })
                  : h("span", { class: "muted", i18n: "web.theatres.licence.ok" }),
              ),
            ),
          ),
        })
      : h("p", { class: "empty", i18n: "web.theatres.no_entries" }),
  );
}

function eventsPart(events, doorNames, zone) {
  const list = [...events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return h(
    "details",
    { class: "part", id: "door-events" },
    h("summary", { i18n: ["web.theatres.door_events", { count: list.length }] }),
    list.length
      ? table({
          id: "door-event-list",
          headers: [
            "web.theatres.col_time",
            "web.theatres.col_door",
            "web.theatres.col_result",
            "web.theatres.col_person",
            "web.theatres.col_direction",
          ],
          rows: list.map((e) =>
            h(
              "tr",
              { "data-event": e.id, class: e.result === "granted" ? null : "flagged" },
              h("td", {}, dateEl(e.time, zone, "time")),
              h("td", {}, doorNames.get(e.door_id) || e.door_id),
              h("td", { i18n: `door_result.${e.result}` }),
              h("td", {}, e.person_id || e.credential_id || ""),
              h("td", {}, e.direction ? h("span", { i18n: `direction.${e.direction}` }) : null),
            ),
          ),
        })
      : h("p", { class: "empty", i18n: "web.theatres.no_entries" }),
  );
}

// ------------------------------------------------------------------ register

async function registerSection(ctx) {
  const nodes = (await api("/api/v1/org/nodes")).filter((n) => AUTHORITY_KINDS.has(n.kind));
  const search = h("input", { id: "register-search", type: "search", maxlength: 100 });
  const status = select(
    "register-status",
    LICENCE_STATUSES.map((s) => ({ value: s, i18n: `licence_status.${s}` })),
    { blankKey: "web.theatres.any_status" },
  );
  const error = errorBox("register-error");
  const holder = h("div", { id: "register-table" });
  const filters = h(
    "form",
    { class: "row", id: "register-filters" },
    field("web.theatres.search", search),
    field("web.theatres.licence_status", status),
    h("button", { type: "submit", class: "btn", i18n: "web.theatres.find" }),
  );

  let ticket = 0; // only the latest answer is shown
  async function load() {
    const mine = ++ticket;
    error.hidden = true;
    const params = new URLSearchParams({ limit: "500" });
    if (search.value.trim()) params.set("search", search.value.trim());
    if (status.value) params.set("status", status.value);
    try {
      const list = await api(`/api/v1/practitioners?${params}`);
      if (mine === ticket) holder.replaceChildren(practitionerTable(list));
    } catch (failure) {
      showError(error, failure);
    }
  }
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  const section = h(
    "section",
    { class: "panel", id: "register", "aria-labelledby": "register-title" },
    h("h2", { id: "register-title", i18n: "web.theatres.register_title" }),
    filters,
    error,
    holder,
    ctx.can("practitioner.import") ? importForm(nodes, load) : null,
  );
  await load();
  return section;
}

function practitionerTable(list) {
  if (!list.length) return h("p", { class: "empty", i18n: "web.theatres.no_practitioners" });
  return table({
    id: "practitioner-list",
    headers: [
      "web.theatres.col_licence_number",
      "web.theatres.col_name",
      "web.theatres.col_profession",
      "web.theatres.col_scopes",
      "web.theatres.col_lead",
      "web.theatres.col_valid",
      "web.theatres.licence_status",
    ],
    rows: list.map((p) =>
      h(
        "tr",
        { "data-practitioner": p.id, class: p.status === "active" ? null : "flagged" },
        h("th", { scope: "row" }, p.licence_number),
        h("td", {}, p.name),
        h("td", { i18n: `profession.${p.profession}` }),
        h("td", {}, p.scopes.join(", ")),
        h("td", { i18n: p.lead_physician ? "web.registry.yes" : "web.registry.no" }),
        h("td", {}, dayEl(p.valid_from), " – ", p.valid_to ? dayEl(p.valid_to) : h("span", { class: "muted", i18n: "web.theatres.open_ended" })),
        h("td", {}, h("span", { class: `badge licence-${p.status}`, i18n: `licence_status.${p.status}` })),
      ),
    ),
  });
}

function importForm(nodes, reload) {
  const node = select("import-node", nodes.map((n) => ({ value: n.id, text: n.name })), { blankKey: "web.registry.choose", required: true });
  const mode = select("import-mode", [
    { value: "incremental", i18n: "web.theatres.mode_incremental" },
    { value: "full", i18n: "web.theatres.mode_full" },
  ]);
  const file = h("input", { type: "file", id: "import-file", accept: ".csv,.json,text/csv,application/json", required: true });
  const submit = h("button", { type: "submit", class: "btn primary", i18n: "web.theatres.import" });
  const error = errorBox("import-error");
  const rowErrors = h("div", { id: "import-row-errors" });
  const result = h("div", { id: "import-result", class: "ok", role: "status", hidden: true });
  const form = h(
    "form",
    { class: "row", id: "import-form" },
    field("web.theatres.import_node", node),
    field("web.theatres.import_mode", mode, { hint: "web.theatres.mode_hint" }),
    field("web.theatres.import_file", file),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    result.hidden = true;
    rowErrors.replaceChildren();
    const chosen = file.files[0];
    if (!chosen) {
      file.reportValidity();
      return;
    }
    submit.disabled = true;
    const params = new URLSearchParams({ mode: mode.value, filename: chosen.name.slice(0, 200) });
    try {
      const made = await upload(
        `/api/v1/org/nodes/${encodeURIComponent(node.value)}/practitioners/imports?${params}`,
        chosen,
        contentTypeOf(chosen),
      );
      tr(result, "web.theatres.import_done", {
        file: made.filename,
        rows: made.rows,
        added: made.added,
        changed: made.changed,
        unchanged: made.unchanged,
        revoked: made.revoked,
      });
      for (const [name, value] of Object.entries({ added: made.added, changed: made.changed, unchanged: made.unchanged, revoked: made.revoked })) {
        result.dataset[name] = String(value);
      }
      result.hidden = false;
      await reload();
    } catch (failure) {
      showError(error, failure);
      const errors = failure && failure.problem && failure.problem.errors;
      if (Array.isArray(errors) && errors.length) rowErrors.append(rowErrorTable(errors));
    } finally {
      submit.disabled = false;
    }
  });
  return h(
    "section",
    { class: "part", "aria-labelledby": "import-title" },
    h("h3", { id: "import-title", i18n: "web.theatres.import_title" }),
    h("p", { class: "hint", i18n: "web.theatres.import_explain" }),
    form,
    error,
    rowErrors,
    result,
  );
}

function rowErrorTable(errors) {
  return table({
    id: "import-errors",
    cls: "data errors",
    headers: ["web.theatres.col_row", "web.theatres.col_field", "web.theatres.col_reason"],
    rows: errors.map((e) =>
      h(
        "tr",
        { "data-row": e.row, "data-reason": e.reason },
        h("th", { scope: "row" }, String(e.row)),
        h("td", {}, h("code", {}, e.field)),
        h("td", {}, e.message || e.reason),
      ),
    ),
  });
}
