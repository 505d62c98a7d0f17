// The alert queue: blue, yellow and red alerts of the user's facilities, filtered by
// facility, rule, status and colour; one alert's escalation state and evidence (the
// measures, the door events and the procedures the rule judged); acknowledgement with a
// comment; silences.
//
// The colour is never the only cue: every alert carries its colour's name as text too.
// Actions appear only to users who hold the permission somewhere (alert.ack, alert.silence);
// the API still decides per facility and its refusal is shown as it comes.

import { api } from "./api.js";
import { clear, dateEl, h, showError } from "./dom.js";
import { errorBox, field, select, statusBox, table } from "./fields.js";
import { currentLocale, tr } from "./i18n.js";
import { duration, facilityChoices, fill, places, setQuery, who } from "./places.js";
import { fromLocalInput, toLocalInput } from "./zoned.js";

const PATH = "#/alerts";
const REFRESH_MS = 20_000;
const PAGE = 100;
const MAX_LIMIT = 500;
const SILENCE_DEFAULT_MS = 2 * 3600e3;

export const COLOURS = {
  red: "web.alerts.colour.red",
  yellow: "web.alerts.colour.yellow",
  blue: "web.alerts.colour.blue",
};
export const ALERT_STATUS = {
  firing: "web.alerts.status.firing",
  acknowledged: "web.alerts.status.acknowledged",
  resolved: "web.alerts.status.resolved",
};
const HISTORY = {
  fired: "web.alerts.history.fired",
  updated: "web.alerts.history.updated",
  retriggered: "web.alerts.history.retriggered",
  acknowledged: "web.alerts.history.acknowledged",
  ack_expired: "web.alerts.history.ack_expired",
  escalated: "web.alerts.history.escalated",
  resolved: "web.alerts.history.resolved",
};
const RECEIVERS = {
  facility_supervisor: "web.alerts.receiver.facility_supervisor",
  legal_representative: "web.alerts.receiver.legal_representative",
  enforcement_team: "web.alerts.receiver.enforcement_team",
  supervisors: "web.alerts.receiver.supervisors",
  duty_operators: "web.alerts.receiver.duty_operators",
  administrators: "web.alerts.receiver.administrators",
};
const SILENCE_STATE = {
  active: "web.silences.state.active",
  pending: "web.silences.state.pending",
  expired: "web.silences.state.expired",
};

/** The colour as a badge that says its name: colour alone is not a cue everyone can see. */
export function colourBadge(severity) {
  return h("span", { class: `sev sev-${severity}`, "data-severity": severity, i18n: COLOURS[severity] || "web.alerts.colour.unknown" });
}

function statusBadge(status) {
  return h("span", { class: `badge alert-${status}`, i18n: ALERT_STATUS[status] || "web.alerts.status.unknown" });
}

function receiverEl(name) {
  return RECEIVERS[name] ? h("span", { i18n: RECEIVERS[name] }) : h("code", {}, name);
}

/** An actor reference ("user:<id>", "system:<name>") as something a person can read. */
function actorEl(ctx, ref) {
  const [kind, id] = String(ref || "").split(":", 2);
  if (kind === "user") return who(ctx, id);
  return h("span", { i18n: ["web.alerts.actor.system", { name: id || kind }] });
}

function matcherText(m) {
  return `${m.name}${m.op}"${m.value}"`;
}

export async function mount(main, ctx, _match, query) {
  const where = await places(ctx);
  const rules = await api("/api/v1/rules").catch(() => []);
  const state = {
    facility: query.get("facility") || "",
    rule: query.get("rule") || "",
    status: query.get("status") || "",
    severity: query.get("severity") || "",
    alert: query.get("alert") || "",
  };
  const remember = () => setQuery(PATH, state);

  const facilitySelect = select("filter-facility", facilityChoices(where), { blankKey: "web.alerts.filter.all_facilities", value: state.facility });
  const ruleSelect = select(
    "filter-rule",
    // A rule's title is a template ("... {person}"); its fields mean nothing in a list.
    rules.map((r) => ({ value: r.id, text: `${r.id} · ${r.title.replace(/\s*\{\w+\}/g, " …")}` })),
    { blankKey: "web.alerts.filter.all_rules", value: state.rule },
  );
  const statusSelect = select(
    "filter-status",
    Object.entries(ALERT_STATUS).map(([value, key]) => ({ value, i18n: key })),
    { blankKey: "web.alerts.filter.all_statuses", value: state.status },
  );
  const colourSelect = select(
    "filter-severity",
    Object.entries(COLOURS).map(([value, key]) => ({ value, i18n: key })),
    { blankKey: "web.alerts.filter.all_colours", value: state.severity },
  );
  const filters = h(
    "form",
    { class: "row filters", id: "alert-filters", role: "search", "i18n-aria-label": "web.alerts.filter.label" },
    field("web.alerts.filter.facility", facilitySelect),
    field("web.alerts.filter.rule", ruleSelect),
    field("web.alerts.filter.status", statusSelect),
    field("web.alerts.filter.colour", colourSelect),
    h("button", { type: "submit", class: "btn", i18n: "web.alerts.filter.apply" }),
  );
  const listError = errorBox("alert-list-error");
  const queue = h("div", { class: "alert-queue", id: "alert-queue-box" });
  const more = h("button", { type: "button", class: "btn", id: "alert-more", hidden: true, i18n: "web.alerts.more" });
  const detail = h("section", { class: "alert-detail", id: "alert-detail", "aria-labelledby": "alert-detail-title", hidden: true });
  const silences = h("section", { class: "silences", id: "silences", "aria-labelledby": "silences-title" });

  let alerts = [];
  let loading = 0;
  let shown = "";

  async function loadQueue({ append = false } = {}) {
    const ticket = ++loading;
    // A refresh asks for as many as are shown, so older pages the user opened stay open.
    const limit = append ? PAGE : Math.min(MAX_LIMIT, Math.max(PAGE, alerts.length));
    const params = new URLSearchParams({ limit: String(limit) });
    if (state.facility) params.set("facility_id", state.facility);
    if (state.rule) params.set("rule_id", state.rule);
    if (state.status) params.set("status", state.status);
    if (state.severity) params.set("severity", state.severity);
    if (append && alerts.length) params.set("before", alerts[alerts.length - 1].id);
    try {
      const page = await api(`/api/v1/alerts?${params}`);
      if (ticket !== loading) return;
      listError.hidden = true;
      alerts = append ? [...alerts, ...page] : page;
      more.hidden = page.length < limit;
      // A refresh that changes nothing leaves the table (and the keyboard focus in it) alone.
      const signature = JSON.stringify(alerts.map((a) => [a.id, a.status, a.escalation_level, a.silenced_by, a.title]));
      if (signature !== shown) {
        shown = signature;
        renderQueue();
      }
    } catch (error) {
      if (ticket === loading) showError(listError, error);
    }
  }

  function renderQueue() {
    clear(queue);
    if (!alerts.length) {
      queue.append(h("p", { class: "empty", id: "alert-queue-empty", i18n: "web.alerts.none" }));
      return;
    }
    const rows = alerts.map((a) => {
      const open = h(
        "button",
        { type: "button", class: "linklike", "aria-pressed": String(a.id === state.alert), onclick: () => selectAlert(a.id) },
        a.title,
      );
      return h(
        "tr",
        { "data-alert": a.id, "data-severity": a.severity, "data-status": a.status, class: `sev-row sev-${a.severity}${a.id === state.alert ? " selected" : ""}` },
        h("td", {}, colourBadge(a.severity)),
        h("th", { scope: "row" }, open),
        h("td", {}, a.facility_name),
        h("td", {}, h("code", {}, a.rule_id)),
        h("td", {}, statusBadge(a.status), a.silenced_by.length ? h("span", { class: "badge muted-badge", i18n: "web.alerts.silenced" }) : null),
        h("td", {}, dateEl(a.starts_at, where.zone(a.facility_id), "short")),
        h("td", {}, a.status === "resolved" ? "" : h("span", { i18n: ["web.alerts.level", { level: a.escalation_level }] })),
      );
    });
    queue.append(
      table({
        id: "alert-queue",
        cls: "data alerts",
        headers: [
          "web.alerts.col.colour",
          "web.alerts.col.title",
          "web.alerts.col.facility",
          "web.alerts.col.rule",
          "web.alerts.col.status",
          "web.alerts.col.since",
          "web.alerts.col.escalation",
        ],
        rows,
      }),
    );
  }

  async function selectAlert(id) {
    state.alert = id;
    remember();
    for (const row of queue.querySelectorAll("tr[data-alert]")) {
      const on = row.dataset.alert === id;
      row.classList.toggle("selected", on);
      const button = row.querySelector("button.linklike");
      if (button) button.setAttribute("aria-pressed", String(on));
    }
    detail.hidden = false;
    clear(detail).append(h("p", { class: "muted", i18n: "web.common.loading" }));
    try {
      const alert = await api(`/api/v1/alerts/${encodeURIComponent(id)}`);
      if (state.alert !== id) return;
      await renderDetail(alert);
    } catch (error) {
      clear(detail).append(showError(errorBox("alert-detail-error"), error));
    }
  }

  async function renderDetail(alert) {
    const zone = where.zone(alert.facility_id);
    const rule = rules.find((r) => r.id === alert.rule_id);
    // The evidence is fetched first, so the panel never shows half an alert.
    const evidence = await evidenceSection(alert, rule, zone);
    if (state.alert !== alert.id) return;
    detail.className = `alert-detail card sev-${alert.severity}`;
    detail.dataset.alert = alert.id;
    fill(
      detail,
      h("h2", { id: "alert-detail-title" }, alert.titles[currentLocale()] || alert.title),
      h(
        "p",
        { class: "meta" },
        colourBadge(alert.severity),
        " ",
        statusBadge(alert.status),
        " ",
        h("span", {}, alert.facility_name),
        " · ",
        h("span", { i18n: ["web.alerts.rule_version", { rule: alert.rule_id, version: alert.rule_version }] }),
      ),
      facts([
        ["web.alerts.fact.starts_at", dateEl(alert.starts_at, zone)],
        ["web.alerts.fact.triggered_at", dateEl(alert.triggered_at, zone)],
        alert.resolved_at ? ["web.alerts.fact.resolved_at", dateEl(alert.resolved_at, zone)] : null,
        ["web.alerts.fact.receiver", receiverEl(alert.receiver)],
        ["web.alerts.fact.trigger_count", String(alert.trigger_count)],
        ["web.alerts.fact.rule_hash", h("code", { class: "hash" }, alert.rule_hash)],
        alert.silenced_by.length ? ["web.alerts.fact.silenced_by", alert.silenced_by.map((s) => h("code", {}, s, " "))] : null,
        alert.inhibited_by.length ? ["web.alerts.fact.inhibited_by", alert.inhibited_by.map((s) => h("code", {}, s, " "))] : null,
      ]),
      // The evidence first: what the rule saw is what the reader checks before acknowledging.
      evidence,
      escalationSection(alert, zone),
      ackSection(alert, zone),
      historySection(alert, zone),
      ctx.can("alert.silence") ? silenceForm(alert, zone) : null,
    );
  }

  function facts(pairs) {
    return h(
      "dl",
      { class: "facts" },
      pairs.filter(Boolean).map(([key, value]) => [h("dt", { i18n: key }), h("dd", {}, value)]),
    );
  }

  function escalationSection(alert, zone) {
    const esc = alert.escalation;
    const box = h("section", { class: "escalation", id: "alert-escalation", "aria-labelledby": "alert-escalation-title" });
    box.append(h("h3", { id: "alert-escalation-title", i18n: "web.alerts.escalation.title" }));
    if (!esc.policy || !esc.steps.length) {
      box.append(h("p", { class: "muted", i18n: "web.alerts.escalation.none" }));
      return box;
    }
    box.append(
      h("p", { id: "alert-escalation-state", "data-level": esc.level }, h("span", { i18n: ["web.alerts.escalation.level", { level: esc.level, steps: esc.steps.length, policy: esc.policy }] })),
    );
    if (alert.status === "firing" && esc.next_at) {
      box.append(h("p", {}, h("span", { i18n: "web.alerts.escalation.next_at" }), " ", dateEl(esc.next_at, zone)));
    } else if (alert.status === "acknowledged") {
      box.append(h("p", { class: "muted", i18n: "web.alerts.escalation.stopped_ack" }));
    } else if (alert.status === "resolved") {
      box.append(h("p", { class: "muted", i18n: "web.alerts.escalation.stopped_resolved" }));
    }
    box.append(
      h(
        "ol",
        { class: "steps" },
        esc.steps.map((step) =>
          h(
            "li",
            { "data-escalated": step.escalated_at ? "true" : "false" },
            h("span", { i18n: ["web.alerts.escalation.step", { level: step.level }] }),
            " ",
            receiverEl(step.receiver),
            " · ",
            h("span", { i18n: "web.alerts.escalation.after" }),
            " ",
            duration(step.after_s),
            " · ",
            step.escalated_at
              ? [h("span", { i18n: "web.alerts.escalation.escalated_at" }), " ", dateEl(step.escalated_at, zone)]
              : h("span", { class: "muted", i18n: "web.alerts.escalation.not_yet" }),
          ),
        ),
      ),
    );
    return box;
  }

  function ackSection(alert, zone) {
    const box = h("section", { class: "ack", id: "alert-ack", "aria-labelledby": "alert-ack-title" });
    box.append(h("h3", { id: "alert-ack-title", i18n: "web.alerts.ack.title" }));
    if (alert.acknowledged) {
      const ack = alert.acknowledged;
      box.append(
        h(
          "p",
          { id: "alert-ack-by" },
          h("span", { i18n: "web.alerts.ack.by" }),
          " ",
          who(ctx, ack.by, ack.by_name),
          " · ",
          dateEl(ack.at, zone),
        ),
        h("blockquote", { id: "alert-ack-comment" }, ack.comment),
        ack.expires_at
          ? h("p", { class: "muted" }, h("span", { i18n: "web.alerts.ack.expires" }), " ", dateEl(ack.expires_at, zone))
          : null,
      );
      return box;
    }
    if (alert.status !== "firing") {
      box.append(h("p", { class: "muted", i18n: "web.alerts.ack.not_needed" }));
      return box;
    }
    if (!ctx.can("alert.ack")) {
      box.append(h("p", { class: "muted", i18n: "web.alerts.ack.not_permitted" }));
      return box;
    }
    const comment = h("textarea", { id: "ack-comment", name: "comment", required: true, maxlength: 2000, rows: 3 });
    const error = errorBox("ack-error");
    const submit = h("button", { type: "submit", class: "btn primary", i18n: "web.alerts.ack.submit" });
    const form = h("form", { id: "ack-form", class: "stack" }, field("web.alerts.ack.comment", comment), error, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      if (!comment.value.trim()) {
        comment.reportValidity();
        return;
      }
      submit.disabled = true;
      try {
        const updated = await api(`/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`, {
          method: "POST",
          body: { comment: comment.value.trim() },
        });
        await renderDetail(updated);
        loadQueue();
      } catch (failure) {
        showError(error, failure);
        submit.disabled = false;
      }
    });
    box.append(form);
    return box;
  }

  async function evidenceSection(alert, rule, zone) {
    const box = h("section", { class: "evidence", id: "alert-evidence", "aria-labelledby": "alert-evidence-title" });
    box.append(h("h3", { id: "alert-evidence-title", i18n: "web.alerts.evidence.title" }));
    if (rule) {
      box.append(
        h("p", { class: "rule-description" }, rule.description),
        h("p", {}, h("span", { i18n: "web.alerts.evidence.condition" }), " ", h("code", { id: "evidence-condition" }, rule.condition)),
      );
    }
    const measures = Object.entries(alert.measures);
    box.append(
      h("h4", { i18n: "web.alerts.evidence.measures" }),
      measures.length
        ? table({
            id: "evidence-measures",
            headers: ["web.alerts.evidence.measure", "web.alerts.evidence.value"],
            rows: measures.map(([name, value]) =>
              h("tr", { "data-measure": name }, h("th", { scope: "row" }, h("code", {}, name)), h("td", {}, new Intl.NumberFormat(currentLocale()).format(value))),
            ),
          })
        : h("p", { class: "muted", i18n: "web.alerts.evidence.no_measures" }),
    );
    const procedureIds = alert.event_ids.filter((id) => id.startsWith("procedure:")).map((id) => id.slice("procedure:".length));
    const eventIds = alert.event_ids.filter((id) => !id.includes(":"));
    box.append(h("h4", { i18n: ["web.alerts.evidence.door_events", { count: eventIds.length }] }));
    box.append(await doorEvents(alert, eventIds, zone));
    box.append(h("h4", { i18n: ["web.alerts.evidence.procedures", { count: procedureIds.length }] }));
    box.append(await procedures(alert, procedureIds, zone));
    return box;
  }

  async function doorEvents(alert, ids, zone) {
    if (!ids.length) return h("p", { class: "muted", id: "evidence-events-none", i18n: "web.alerts.evidence.no_events" });
    if (!ctx.can("ledger.read")) return idList("evidence-events", ids, "web.alerts.evidence.events_not_permitted");
    try {
      const params = new URLSearchParams({ facility_id: alert.facility_id, limit: String(ids.length) });
      for (const id of ids) params.append("id", id);
      const [events, doors] = await Promise.all([
        api(`/api/v1/door-events?${params}`),
        api(`/api/v1/doors?facility_id=${encodeURIComponent(alert.facility_id)}`).catch(() => []),
      ]);
      const doorName = new Map(doors.map((d) => [d.id, d.name]));
      events.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
      const missing = ids.length - events.length;
      return h(
        "div",
        {},
        table({
          id: "evidence-events",
          headers: ["web.alerts.evidence.col.time", "web.alerts.evidence.col.door", "web.alerts.evidence.col.person", "web.alerts.evidence.col.result", "web.alerts.evidence.col.direction"],
          rows: events.map((e) =>
            h(
              "tr",
              { "data-event": e.id },
              h("td", {}, dateEl(e.time, zone)),
              h("td", {}, doorName.get(e.door_id) || h("code", {}, e.door_id)),
              h("td", {}, e.person_id ? h("code", {}, e.person_id) : h("span", { class: "muted", i18n: "web.alerts.evidence.no_person" })),
              h("td", { i18n: `door_result.${e.result}` }),
              h("td", {}, e.direction ? h("span", { i18n: `direction.${e.direction}` }) : ""),
            ),
          ),
        }),
        missing > 0 ? h("p", { class: "muted", i18n: ["web.alerts.evidence.events_missing", { count: missing }] }) : null,
      );
    } catch (error) {
      return showError(errorBox("evidence-events-error"), error);
    }
  }

  async function procedures(alert, ids, zone) {
    if (!ids.length) return h("p", { class: "muted", id: "evidence-procedures-none", i18n: "web.alerts.evidence.no_procedures" });
    if (!ctx.can("schedule.read")) return idList("evidence-procedures", ids, "web.alerts.evidence.procedures_not_permitted");
    const [found, rooms] = await Promise.all([
      Promise.all(ids.map((id) => api(`/api/v1/procedures/${encodeURIComponent(id)}`).catch((error) => ({ id, error })))),
      ctx.can("registry.read")
        ? api(`/api/v1/facilities/${encodeURIComponent(alert.facility_id)}/operating-rooms`).catch(() => [])
        : Promise.resolve([]),
    ]);
    const roomName = new Map(rooms.map((r) => [r.id, r.name]));
    return table({
      id: "evidence-procedures",
      headers: ["web.alerts.evidence.col.ref", "web.alerts.evidence.col.room", "web.alerts.evidence.col.planned", "web.alerts.evidence.col.anaesthesia", "web.alerts.evidence.col.lead", "web.alerts.evidence.col.anaesthetist"],
      rows: found.map((p) =>
        p.error
          ? h("tr", { "data-procedure": p.id }, h("td", { colspan: 6 }, h("code", {}, p.id), " ", showError(h("span", { class: "error" }), p.error)))
          : h(
              "tr",
              { "data-procedure": p.id },
              h("th", { scope: "row" }, p.ref),
              h("td", {}, roomName.get(p.room_id) || h("code", {}, p.room_id)),
              h("td", {}, dateEl(p.planned_start, zone, "short"), " – ", dateEl(p.planned_end, zone, "time")),
              h("td", { i18n: `anaesthesia.${p.anaesthesia}` }),
              h("td", {}, h("code", {}, p.lead_surgeon)),
              h("td", {}, p.anaesthetist ? h("code", {}, p.anaesthetist) : h("span", { class: "muted", i18n: "web.alerts.evidence.none_named" })),
            ),
      ),
    });
  }

  function idList(id, ids, noteKey) {
    return h("div", { id }, h("p", { class: "muted", i18n: noteKey }), h("ul", { class: "ids" }, ids.map((x) => h("li", {}, h("code", {}, x)))));
  }

  function historySection(alert, zone) {
    return h(
      "section",
      { class: "history", "aria-labelledby": "alert-history-title" },
      h("h3", { id: "alert-history-title", i18n: "web.alerts.history.title" }),
      h(
        "ol",
        { id: "alert-history", class: "timeline-list" },
        alert.history.map((entry) =>
          h(
            "li",
            { "data-kind": entry.kind },
            dateEl(entry.at, zone),
            " · ",
            HISTORY[entry.kind] ? h("span", { i18n: HISTORY[entry.kind] }) : h("code", {}, entry.kind),
            " · ",
            actorEl(ctx, entry.actor),
            entry.details && entry.details.comment ? [" · ", h("q", {}, entry.details.comment)] : null,
          ),
        ),
      ),
    );
  }

  /** A silence for alerts like this one: the creator is the signed-in user (the API sets it). */
  function silenceForm(alert, zone) {
    const labels = [
      ["rule_id", alert.rule_id, true],
      ["facility_id", alert.facility_id, true],
      ["severity", alert.severity, false],
      ...Object.entries(alert.labels).map(([name, value]) => [name, value, false]),
    ];
    const boxes = labels.map(([name, value, on], index) => {
      const id = `silence-matcher-${index}`;
      const input = h("input", { type: "checkbox", id, checked: on, "data-name": name, "data-value": value });
      const shown = name === "facility_id" ? `${name}="${value}" (${alert.facility_name})` : `${name}="${value}"`;
      return h("div", { class: "check" }, input, h("label", { for: id }, h("code", {}, shown)));
    });
    const node = select(
      "silence-node",
      where.nodes.map((n) => ({ value: n.id, text: n.name })),
      { value: alert.facility_id, required: true },
    );
    const comment = h("textarea", { id: "silence-comment", required: true, minlength: 3, maxlength: 2000, rows: 2 });
    const ends = h("input", {
      id: "silence-ends",
      type: "datetime-local",
      step: "60",
      required: true,
      value: toLocalInput(Date.now() + SILENCE_DEFAULT_MS, zone).slice(0, 16),
    });
    const error = errorBox("silence-error");
    const done = statusBox("silence-done");
    const submit = h("button", { type: "submit", class: "btn", i18n: "web.silences.create" });
    const form = h(
      "form",
      { id: "silence-form", class: "stack", "aria-labelledby": "silence-form-title" },
      h("h3", { id: "silence-form-title", i18n: "web.silences.form_title" }),
      h("p", { class: "hint", i18n: "web.silences.form_hint" }),
      h("fieldset", {}, h("legend", { i18n: "web.silences.matchers" }), boxes),
      field("web.silences.node", node),
      field("web.silences.comment", comment),
      field("web.silences.ends_at", ends, { hint: "web.silences.zone_hint" }),
      error,
      done,
      submit,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      done.hidden = true;
      if (!form.reportValidity()) return;
      const matchers = [...form.querySelectorAll("fieldset input:checked")].map((box) => ({ name: box.dataset.name, op: "=", value: box.dataset.value }));
      if (!matchers.length) {
        tr(error, "web.silences.need_matcher");
        error.hidden = false;
        return;
      }
      const endsAt = fromLocalInput(ends.value, zone);
      submit.disabled = true;
      try {
        const made = await api("/api/v1/silences", {
          method: "POST",
          body: { node_id: node.value, matchers, comment: comment.value.trim(), ends_at: new Date(endsAt).toISOString() },
        });
        done.replaceChildren(h("span", { i18n: "web.silences.created" }), " ", dateEl(made.ends_at, zone));
        done.hidden = false;
        done.dataset.silence = made.id;
        comment.value = "";
        loadSilences();
        loadQueue();
      } catch (failure) {
        showError(error, failure);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  async function loadSilences() {
    clear(silences).append(h("h2", { id: "silences-title", i18n: "web.silences.title" }));
    try {
      const [active, pending] = await Promise.all([
        api("/api/v1/silences?state=active"),
        api("/api/v1/silences?state=pending"),
      ]);
      const list = [...active, ...pending];
      if (!list.length) {
        silences.append(h("p", { class: "empty", i18n: "web.silences.none" }));
        return;
      }
      silences.append(
        table({
          id: "silence-list",
          headers: ["web.silences.col.matchers", "web.silences.col.node", "web.silences.col.comment", "web.silences.col.created_by", "web.silences.col.from", "web.silences.col.until", "web.silences.col.state", null],
          rows: list.map((s) => silenceRow(s)),
        }),
      );
    } catch (error) {
      silences.append(showError(errorBox("silences-error"), error));
    }
  }

  function silenceRow(s) {
    const zone = where.zone(s.node_id);
    const error = h("span", { class: "error", role: "alert", hidden: true });
    const expire = ctx.can("alert.silence")
      ? h("button", {
          type: "button",
          class: "btn",
          i18n: "web.silences.expire",
          onclick: async () => {
            try {
              await api(`/api/v1/silences/${encodeURIComponent(s.id)}`, { method: "DELETE" });
              loadSilences();
              loadQueue();
            } catch (failure) {
              showError(error, failure);
            }
          },
        })
      : null;
    return h(
      "tr",
      { "data-silence": s.id },
      h("td", {}, s.matchers.map((m) => h("code", { class: "matcher" }, matcherText(m)))),
      h("td", {}, where.name(s.node_id)),
      h("td", {}, s.comment),
      h("td", {}, who(ctx, s.created_by, s.created_by_name)),
      h("td", {}, dateEl(s.starts_at, zone, "short")),
      h("td", {}, dateEl(s.ends_at, zone, "short")),
      h("td", {}, h("span", { class: `badge silence-${s.state}`, i18n: SILENCE_STATE[s.state] })),
      h("td", {}, expire, error),
    );
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(state, {
      facility: facilitySelect.value,
      rule: ruleSelect.value,
      status: statusSelect.value,
      severity: colourSelect.value,
    });
    remember();
    alerts = [];
    loadQueue();
  });
  for (const control of [facilitySelect, ruleSelect, statusSelect, colourSelect]) {
    control.addEventListener("change", () => filters.requestSubmit());
  }
  more.addEventListener("click", () => loadQueue({ append: true }));

  main.append(
    h("div", { class: "toolbar" }, h("h1", { i18n: "web.alerts.title" })),
    filters,
    listError,
    h("div", { class: "split" }, h("div", { class: "split-main" }, queue, more), detail),
    silences,
  );
  await loadQueue();
  loadSilences();
  if (state.alert) selectAlert(state.alert);
  const timer = setInterval(() => loadQueue(), REFRESH_MS);
  // Alert titles come in the user's saved language, which the switch saves just after it
  // re-translates the page: ask again once that is done.
  let relabel = null;
  const onLocale = () => {
    clearTimeout(relabel);
    relabel = setTimeout(() => {
      loadQueue();
      if (state.alert) selectAlert(state.alert);
    }, 1500);
  };
  document.addEventListener("ww:locale", onLocale);
  return () => {
    clearInterval(timer);
    clearTimeout(relabel);
    document.removeEventListener("ww:locale", onLocale);
  };
}
