// Duty: the roster with its coverage gaps, the shift logbook, and the handover between shifts.
//
// Coverage comes from the API (which knows when a shift counts as staffed); the screen only
// draws it, gaps in red with their reason as text. A handover is written by the outgoing
// operator, and the API lists what is still open (camera incidents, unacknowledged alerts)
// in it as it was at that moment; the incoming operator acknowledges it, which is what takes
// the shift. Only the shift's own operators see those forms; the API refuses anyone else.

import { api } from "./api.js";
import { clear, dateEl, h, showError } from "./dom.js";
import { errorBox, field, select, statusBox, table } from "./fields.js";
import { tr } from "./i18n.js";
import { colourBadge, ALERT_STATUS } from "./alerts.js";
import { duration, facilityChoices, fill, places, who } from "./places.js";
import { fromLocalInput } from "./zoned.js";

const TABS = {
  roster: "web.duty.tab.roster",
  logbook: "web.duty.tab.logbook",
  handover: "web.duty.tab.handover",
};
const BEFORE_MS = 12 * 3600e3;
const AFTER_MS = 36 * 3600e3;
const LOG_KINDS = ["observation", "breach_seen", "manager_notified", "incident_action"];
const ITEM_KINDS = {
  incident: "web.duty.item.incident",
  alert: "web.duty.item.alert",
};
const REFRESH_MS = 30_000;
const START_AHEAD_MS = 3600e3;

export async function mount(main, ctx, _match, query) {
  const tab = TABS[query.get("tab")] ? query.get("tab") : "roster";
  const where = await places(ctx);
  const nav = h(
    "nav",
    { class: "segmented tabs", "i18n-aria-label": "web.duty.tabs" },
    Object.entries(TABS).map(([name, key]) =>
      h("a", { class: "btn", href: `#/duty?tab=${name}`, "aria-current": name === tab ? "page" : null, "data-tab": name, i18n: key }),
    ),
  );
  const body = h("div", { class: "duty-body", id: `duty-${tab}` });
  main.append(h("div", { class: "toolbar" }, h("h1", { i18n: "web.duty.title" }), nav), body);
  if (tab === "logbook") return logbook(body, ctx, where, query);
  if (tab === "handover") return handover(body, ctx, where);
  return roster(body, ctx, where);
}

function isoRange(start, end) {
  return `start=${encodeURIComponent(new Date(start).toISOString())}&end=${encodeURIComponent(new Date(end).toISOString())}`;
}

/** A shift's clock: that of what it covers (a monitoring centre has no facility of its own). */
function shiftZone(where, shift) {
  return where.zone(shift.covers[0] || shift.node_id);
}

function shiftCovers(where, shift, facilityId) {
  return shift.covers.some((node) => where.within(facilityId, node));
}

// ---------------------------------------------------------------- roster and coverage

async function roster(body, ctx, where) {
  const error = errorBox("roster-error");
  const content = h("div", {});
  body.append(error, content);

  async function load() {
    const now = Date.now();
    const start = now - BEFORE_MS;
    const end = now + AFTER_MS;
    try {
      const [shifts, coverage, live] = await Promise.all([
        api(`/api/v1/duty/shifts?${isoRange(start, end)}`),
        api(`/api/v1/duty/coverage?${isoRange(start, end)}`),
        api("/api/v1/duty/gaps?open_only=true"),
      ]);
      error.hidden = true;
      const evaluated = Date.parse(coverage.evaluated_at);
      fill(
        content,
        liveGaps(live, where),
        h("h2", { i18n: "web.duty.coverage.title" }),
        h("p", { class: "hint", i18n: ["web.duty.coverage.hint", { minutes: coverage.takeover_grace_minutes }] }),
        coverage.facilities.length
          ? coverage.facilities.map((f) => facilityCoverage(f, shifts, where, start, end, evaluated))
          : h("p", { class: "empty", i18n: "web.duty.coverage.none" }),
        h("h2", { i18n: "web.duty.shifts.title" }),
        shiftTable(shifts, ctx, where),
      );
    } catch (failure) {
      showError(error, failure);
    }
  }

  await load();
  const timer = setInterval(load, REFRESH_MS);
  return () => clearInterval(timer);
}

function liveGaps(live, where) {
  if (!live.length) return null;
  return h(
    "div",
    { class: "warning", role: "alert", id: "live-gaps" },
    live.map((gap) =>
      h(
        "p",
        { "data-facility": gap.facility_id },
        h("span", { i18n: ["web.duty.live_gap", { facility: where.name(gap.facility_id) }] }),
        " ",
        dateEl(gap.started_at, where.zone(gap.facility_id), "short"),
        " · ",
        h("span", { i18n: `gap_reason.${gap.reason}` }),
      ),
    ),
  );
}

function facilityCoverage(facility, shifts, where, start, end, now) {
  const zone = facility.timezone;
  const span = end - start;
  const pct = (ms) => `${(Math.min(Math.max(ms - start, 0), span) / span) * 100}%`;
  const width = (from, to) => `${((Math.min(to, end) - Math.max(from, start)) / span) * 100}%`;
  const mine = shifts.filter((s) => shiftCovers(where, s, facility.facility_id));
  // Positions go through the CSSOM: the console's CSP refuses inline style attributes.
  const at = (el, left, size = null) => {
    el.style.left = left;
    if (size !== null) el.style.width = size;
    return el;
  };
  const lane = h(
    "div",
    { class: "lane duty-lane", "aria-hidden": "true" },
    mine.map((s) =>
      at(
        h("div", { class: `shift-bar ${s.taken ? "taken" : "planned"}` }),
        pct(Date.parse(s.starts_at)),
        width(Date.parse(s.starts_at), Date.parse(s.ends_at)),
      ),
    ),
    facility.gaps.map((g) =>
      at(
        h("div", { class: `gap-bar gap-${g.reason}`, "data-reason": g.reason }),
        pct(Date.parse(g.start)),
        width(Date.parse(g.start), Date.parse(g.end)),
      ),
    ),
    at(h("div", { class: "now-mark" }), pct(now)),
  );
  const ticks = h(
    "div",
    { class: "ticks" },
    at(h("span", {}, dateEl(start, zone, "short")), "0"),
    at(h("span", { i18n: "web.timeline.now" }), pct(now)),
    at(h("span", {}, dateEl(end, zone, "short")), "100%"),
  );
  const onDuty = facility.on_duty.length
    ? h(
        "p",
        { class: "on-duty" },
        h("span", { i18n: "web.duty.on_duty" }),
        " ",
        facility.on_duty.map((o, n) => [n ? ", " : "", h("strong", {}, o.username), " (", h("span", { i18n: "web.duty.until" }), " ", dateEl(o.until, zone, "clock"), ")"]),
      )
    : h("p", { class: "on-duty none", i18n: "web.duty.nobody_on_duty" });
  return h(
    "section",
    { class: "coverage", "data-facility": facility.facility_id, "data-gaps": facility.gaps.length, "aria-labelledby": `coverage-${facility.facility_id}` },
    h("h3", { id: `coverage-${facility.facility_id}` }, facility.name),
    onDuty,
    h("div", { class: "duty-timeline" }, lane, ticks),
    h(
      "p",
      { class: "legend" },
      h("span", { class: "key taken" }),
      h("span", { i18n: "web.duty.legend.taken" }),
      h("span", { class: "key planned" }),
      h("span", { i18n: "web.duty.legend.planned" }),
      h("span", { class: "key gap" }),
      h("span", { i18n: "web.duty.legend.gap" }),
    ),
    facility.gaps.length
      ? table({
          cls: "data gaps",
          headers: ["web.duty.gap.from", "web.duty.gap.to", "web.duty.gap.length", "web.duty.gap.reason"],
          rows: facility.gaps.map((g) =>
            h(
              "tr",
              { class: `gap gap-${g.reason}`, "data-reason": g.reason },
              h("td", {}, dateEl(g.start, zone, "short")),
              h("td", {}, dateEl(g.end, zone, "short")),
              h("td", {}, duration((Date.parse(g.end) - Date.parse(g.start)) / 1000)),
              h("td", {}, h("span", { class: "badge gap-badge", i18n: `gap_reason.${g.reason}` })),
            ),
          ),
        })
      : h("p", { class: "ok-text", i18n: "web.duty.coverage.no_gaps" }),
  );
}

function shiftTable(shifts, ctx, where) {
  if (!shifts.length) return h("p", { class: "empty", i18n: "web.duty.shifts.none" });
  return table({
    id: "shift-list",
    headers: ["web.duty.shift.label", "web.duty.shift.unit", "web.duty.shift.covers", "web.duty.shift.from", "web.duty.shift.to", "web.duty.shift.operators", "web.duty.shift.handover"],
    rows: shifts.map((s) => {
      const zone = shiftZone(where, s);
      return h(
        "tr",
        { "data-shift": s.id, class: s.taken ? "taken" : "planned" },
        h("th", { scope: "row" }, s.label || h("span", { class: "muted", i18n: "web.duty.shift.no_label" })),
        h("td", {}, where.name(s.node_id)),
        h("td", {}, s.covers.map((id, n) => [n ? ", " : "", where.name(id)])),
        h("td", {}, dateEl(s.starts_at, zone, "short")),
        h("td", {}, dateEl(s.ends_at, zone, "short")),
        h(
          "td",
          {},
          s.operators.map((o, n) => [
            n ? ", " : "",
            ctx.me.user.id === o.user_id ? h("strong", {}, o.username) : o.username,
            " ",
            h("span", { class: `mark ${o.taken_at ? "done" : "todo"}`, i18n: o.taken_at ? "web.duty.shift.taken" : "web.duty.shift.not_taken" }),
          ]),
        ),
        h(
          "td",
          {},
          s.handover_in ? h("span", { class: "mark done", i18n: "web.duty.shift.handover_in" }) : null,
          s.handover_in && s.handover_out ? " " : null,
          s.handover_out ? h("span", { class: "mark done", i18n: "web.duty.shift.handover_out" }) : null,
        ),
      );
    }),
  });
}

// ---------------------------------------------------------------- logbook

async function logbook(body, ctx, where, query) {
  const choices = facilityChoices(where);
  let facilityId = query.get("facility") || (choices[0] && choices[0].value) || "";
  const facilitySelect = select("log-facility", choices, { value: facilityId });
  const error = errorBox("logbook-error");
  const list = h("div", { id: "logbook-list-box" });
  body.append(h("div", { class: "row" }, field("web.duty.log.facility", facilitySelect)), error);

  if (ctx.can("duty.write")) body.append(entryForm());
  body.append(list);

  function entryForm() {
    const kind = select(
      "log-kind",
      LOG_KINDS.map((k) => ({ value: k, i18n: `log_kind.${k}` })),
      { value: "observation" },
    );
    const text = h("textarea", { id: "log-text", required: true, maxlength: 10000, rows: 3 });
    const occurred = h("input", { id: "log-occurred", type: "datetime-local", step: "60" });
    const formError = errorBox("log-form-error");
    const done = statusBox("log-form-done");
    const submit = h("button", { type: "submit", class: "btn primary", i18n: "web.duty.log.add" });
    const form = h(
      "form",
      { id: "log-form", class: "stack card", "aria-labelledby": "log-form-title" },
      h("h2", { id: "log-form-title", i18n: "web.duty.log.form_title" }),
      h("div", { class: "row" }, field("web.duty.log.kind", kind), field("web.duty.log.occurred", occurred, { hint: "web.duty.log.occurred_hint" })),
      field("web.duty.log.text", text),
      formError,
      done,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      formError.hidden = true;
      done.hidden = true;
      if (!form.reportValidity()) return;
      const zone = where.zone(facilityId);
      submit.disabled = true;
      try {
        await api("/api/v1/duty/logbook", {
          method: "POST",
          body: {
            facility_id: facilityId,
            kind: kind.value,
            text: text.value.trim(),
            occurred_at: occurred.value ? new Date(fromLocalInput(occurred.value, zone)).toISOString() : null,
          },
        });
        text.value = "";
        occurred.value = "";
        tr(done, "web.duty.log.added");
        done.hidden = false;
        await load();
      } catch (failure) {
        showError(formError, failure);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  async function load() {
    if (!facilityId) {
      clear(list).append(h("p", { class: "empty", i18n: "web.duty.log.no_facility" }));
      return;
    }
    try {
      const entries = await api(`/api/v1/duty/logbook?facility_id=${encodeURIComponent(facilityId)}&limit=200`);
      error.hidden = true;
      const zone = where.zone(facilityId);
      entries.sort((a, b) => Date.parse(b.occurred_at) - Date.parse(a.occurred_at));
      clear(list).append(
        h("h2", { i18n: ["web.duty.log.title", { facility: where.name(facilityId) }] }),
        entries.length
          ? table({
              id: "logbook",
              headers: ["web.duty.log.col.occurred", "web.duty.log.col.kind", "web.duty.log.col.text", "web.duty.log.col.author", "web.duty.log.col.recorded"],
              rows: entries.map((e) =>
                h(
                  "tr",
                  { "data-entry": e.id, class: e.system ? "system" : null },
                  h("td", {}, dateEl(e.occurred_at, zone, "short")),
                  h("td", {}, h("span", { class: "badge", i18n: `log_kind.${e.kind}` })),
                  h(
                    "td",
                    { class: "log-text" },
                    e.text,
                    e.corrects_id ? [" ", h("span", { class: "muted", i18n: "web.duty.log.corrects" })] : null,
                    e.corrected_by.length ? [" ", h("span", { class: "muted", i18n: "web.duty.log.corrected" })] : null,
                  ),
                  h("td", {}, e.system ? h("span", { i18n: "web.duty.log.system" }) : who(ctx, e.author_id, e.author_name)),
                  h("td", {}, dateEl(e.recorded_at, zone, "short")),
                ),
              ),
            })
          : h("p", { class: "empty", i18n: "web.duty.log.none" }),
      );
    } catch (failure) {
      showError(error, failure);
    }
  }

  facilitySelect.addEventListener("change", () => {
    facilityId = facilitySelect.value;
    history.replaceState(null, "", `#/duty?tab=logbook&facility=${encodeURIComponent(facilityId)}`);
    load();
  });
  await load();
}

// ---------------------------------------------------------------- handover

async function handover(body, ctx, where) {
  const error = errorBox("handover-error");
  const content = h("div", { class: "handover-shifts" });
  body.append(h("p", { class: "hint", i18n: "web.duty.handover.hint" }), error, content);
  const me = ctx.me.user.id;

  async function load() {
    const now = Date.now();
    try {
      const shifts = await api(`/api/v1/duty/shifts?${isoRange(now - 24 * 3600e3, now + 24 * 3600e3)}`);
      error.hidden = true;
      const mine = shifts.filter((s) => s.operators.some((o) => o.user_id === me));
      // What matters at a change of shift: the shift on now (or just ended), and the next.
      const relevant = mine.filter((s) => Date.parse(s.ends_at) > now - 12 * 3600e3 && Date.parse(s.starts_at) < now + 12 * 3600e3);
      clear(content);
      if (!relevant.length) {
        content.append(h("p", { class: "empty", id: "handover-no-shift", i18n: "web.duty.handover.no_shift" }));
        return;
      }
      for (const shift of relevant) content.append(await shiftCard(shift, shifts));
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function shiftCard(shift, all) {
    const zone = shiftZone(where, shift);
    const mineOp = shift.operators.find((o) => o.user_id === me);
    const card = h(
      "section",
      { class: "card shift-card", id: `shift-${shift.id}`, "data-shift": shift.id, "data-taken": String(Boolean(mineOp.taken_at)), "aria-labelledby": `shift-title-${shift.id}` },
      h(
        "h2",
        { id: `shift-title-${shift.id}` },
        shift.label || h("span", { i18n: "web.duty.shift.no_label" }),
        " · ",
        where.name(shift.node_id),
      ),
      h(
        "p",
        { class: "meta" },
        dateEl(shift.starts_at, zone, "short"),
        " – ",
        dateEl(shift.ends_at, zone, "short"),
        " · ",
        h("span", { class: `mark ${mineOp.taken_at ? "done" : "todo"}`, id: `shift-state-${shift.id}`, i18n: mineOp.taken_at ? "web.duty.shift.taken_by_you" : "web.duty.shift.not_taken" }),
      ),
    );
    if (shift.handover_in) {
      const view = await handoverView(shift.handover_in, all, "in");
      card.append(h("h3", { i18n: "web.duty.handover.incoming" }), view.el);
      if (!view.data.acknowledged_at && !mineOp.taken_at) card.append(ackForm(view.data));
    } else if (!mineOp.taken_at && Date.parse(shift.starts_at) - START_AHEAD_MS <= Date.now()) {
      // Starting without a handover is for a shift about to begin (or begun) with none.
      card.append(startForm(shift));
    }
    if (shift.handover_out) {
      const view = await handoverView(shift.handover_out, all, "out");
      card.append(h("h3", { i18n: "web.duty.handover.outgoing" }), view.el);
    } else if (mineOp.taken_at) {
      card.append(writeForm(shift, all));
    }
    return card;
  }

  async function handoverView(id, all, direction) {
    const data = await api(`/api/v1/duty/handovers/${encodeURIComponent(id)}`);
    const to = all.find((s) => s.id === data.to_shift_id);
    const from = all.find((s) => s.id === data.from_shift_id);
    const near = direction === "in" ? from || to : to || from;
    const zone = near ? shiftZone(where, near) : "UTC";
    const items = data.open_items;
    const el = h(
      "article",
      { class: "handover", id: `handover-${direction}-${data.id}`, "data-handover": data.id, "data-acknowledged": String(Boolean(data.acknowledged_at)) },
      h(
        "p",
        { class: "meta" },
        h("span", { i18n: ["web.duty.handover.written_by", { name: data.written_by_name }] }),
        " · ",
        dateEl(data.written_at, zone),
        to && direction === "out" ? [" · ", h("span", { i18n: ["web.duty.handover.to", { operators: to.operators.map((o) => o.username).join(", ") }] })] : null,
      ),
      h("blockquote", { class: "handover-summary" }, data.summary),
      h("h4", { i18n: ["web.duty.handover.open_items", { count: items.length }] }),
      items.length
        ? h("ul", { class: "open-items" }, items.map((item) => openItem(item, zone)))
        : h("p", { class: "muted", i18n: "web.duty.handover.nothing_open" }),
      data.unavailable.length
        ? h("p", { class: "warning", role: "alert", i18n: ["web.duty.handover.unavailable", { kinds: data.unavailable.join(", ") }] })
        : null,
      data.acknowledged_at
        ? h(
            "p",
            { class: "acknowledged", id: `handover-ack-${data.id}` },
            h("span", { class: "mark done", i18n: "web.duty.handover.acknowledged_by" }),
            " ",
            who(ctx, data.acknowledged_by, data.acknowledged_by === me ? null : data.acknowledged_by_name),
            " · ",
            dateEl(data.acknowledged_at, zone),
            data.ack_note ? [" · ", h("q", {}, data.ack_note)] : null,
          )
        : h("p", {}, h("span", { class: "mark todo", i18n: "web.duty.handover.not_acknowledged" })),
    );
    return { el, data };
  }

  function openItem(item, zone) {
    const href = item.kind === "alert" ? `#/alerts?alert=${encodeURIComponent(item.id)}` : item.kind === "incident" ? `#/incidents?status=&incident=${encodeURIComponent(item.id)}` : null;
    const status = item.details && item.details.status;
    return h(
      "li",
      { "data-kind": item.kind, "data-item": item.id },
      ITEM_KINDS[item.kind] ? h("span", { class: "badge", i18n: ITEM_KINDS[item.kind] }) : h("code", {}, item.kind),
      " ",
      item.kind === "alert" ? colourBadge(item.severity) : null,
      item.kind === "alert" && ALERT_STATUS[status] ? [" ", h("span", { class: "muted", i18n: ALERT_STATUS[status] })] : null,
      item.kind === "incident" && status ? [" ", h("span", { class: "muted", i18n: `incident_status.${status}` })] : null,
      " ",
      href ? h("a", { href }, item.summary) : item.summary,
      " · ",
      where.name(item.node_id),
      item.since ? [" · ", h("span", { i18n: "web.duty.handover.since" }), " ", dateEl(item.since, zone, "short")] : null,
    );
  }

  function writeForm(shift, all) {
    const summary = h("textarea", { id: `handover-summary-${shift.id}`, class: "handover-summary-input", required: true, maxlength: 20000, rows: 5 });
    const later = all.filter((s) => s.id !== shift.id && Date.parse(s.starts_at) > Date.parse(shift.starts_at) && Date.parse(s.ends_at) > Date.now());
    const target = select(
      `handover-to-${shift.id}`,
      later.map((s) => ({
        value: s.id,
        text: `${s.label || where.name(s.node_id)} · ${s.operators.map((o) => o.username).join(", ")}`,
      })),
      { blankKey: "web.duty.handover.to_next" },
    );
    const formError = errorBox(`handover-write-error-${shift.id}`);
    const submit = h("button", { type: "submit", class: "btn primary", i18n: "web.duty.handover.write" });
    const form = h(
      "form",
      { class: "stack handover-write", id: `handover-write-${shift.id}`, "aria-labelledby": `handover-write-title-${shift.id}` },
      h("h3", { id: `handover-write-title-${shift.id}`, i18n: "web.duty.handover.write_title" }),
      h("p", { class: "hint", i18n: "web.duty.handover.write_hint" }),
      field("web.duty.handover.summary", summary),
      field("web.duty.handover.to_shift", target),
      formError,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      formError.hidden = true;
      if (!form.reportValidity()) return;
      submit.disabled = true;
      try {
        await api(`/api/v1/duty/shifts/${encodeURIComponent(shift.id)}/handover`, {
          method: "POST",
          body: { summary: summary.value.trim(), to_shift_id: target.value || null },
        });
        await load();
      } catch (failure) {
        showError(formError, failure);
        submit.disabled = false;
      }
    });
    return form;
  }

  function ackForm(data) {
    const note = h("textarea", { id: `handover-ack-note-${data.id}`, class: "handover-ack-note", maxlength: 4000, rows: 2 });
    const formError = errorBox(`handover-ack-error-${data.id}`);
    const submit = h("button", { type: "submit", class: "btn primary", i18n: "web.duty.handover.acknowledge" });
    const form = h(
      "form",
      { class: "stack handover-ack", id: `handover-ack-form-${data.id}` },
      h("p", { class: "hint", i18n: "web.duty.handover.ack_hint" }),
      field("web.duty.handover.ack_note", note),
      formError,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      formError.hidden = true;
      submit.disabled = true;
      try {
        await api(`/api/v1/duty/handovers/${encodeURIComponent(data.id)}/acknowledge`, {
          method: "POST",
          body: { note: note.value.trim() },
        });
        await load();
      } catch (failure) {
        showError(formError, failure);
        submit.disabled = false;
      }
    });
    return form;
  }

  function startForm(shift) {
    const reason = h("input", { id: `shift-start-reason-${shift.id}`, maxlength: 2000 });
    const formError = errorBox(`shift-start-error-${shift.id}`);
    const submit = h("button", { type: "submit", class: "btn", i18n: "web.duty.shift.start" });
    const form = h(
      "form",
      { class: "row shift-start", id: `shift-start-${shift.id}` },
      field("web.duty.shift.start_reason", reason, { hint: "web.duty.shift.start_hint" }),
      submit,
      formError,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      formError.hidden = true;
      submit.disabled = true;
      try {
        await api(`/api/v1/duty/shifts/${encodeURIComponent(shift.id)}/start`, { method: "POST", body: { reason: reason.value.trim() } });
        await load();
      } catch (failure) {
        showError(formError, failure);
        submit.disabled = false;
      }
    });
    return form;
  }

  await load();
}
