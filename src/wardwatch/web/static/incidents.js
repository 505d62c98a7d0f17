// Camera incidents: open, recovered and closed, with their timeline; acknowledging, notes,
// the repair record and the fallback supervision record, and the close.
//
// Closing is a person's confirmation and the API refuses it without the records the
// incident needs (the repair, and the fallback when the camera was out too long), naming
// the missing field. The refusal is shown in the close form and the form of the missing
// record is marked, so the user sees what to fill in; nothing is saved by a refused close.

import { api } from "./api.js";
import { clear, dateEl, h, showError } from "./dom.js";
import { errorBox, field, select, table } from "./fields.js";
import { duration, facilityChoices, fill, places, setQuery, who } from "./places.js";
import { fromLocalInput, toLocalInput } from "./zoned.js";

const PATH = "#/incidents";
const REFRESH_MS = 20_000;

const FILTERS = {
  active: "web.incidents.filter.active",
  open: "web.incidents.filter.open",
  recovered: "web.incidents.filter.recovered",
  closed: "web.incidents.filter.closed",
};

function statusBadge(status) {
  return h("span", { class: `badge incident-${status}`, "data-status": status, i18n: `incident_status.${status}` });
}

function faultLabel(state) {
  return h("span", { class: "fault", i18n: `health_state.${state}` });
}

function localInput(ms, zone) {
  return toLocalInput(ms, zone).slice(0, 16);
}

export async function mount(main, ctx, _match, query) {
  const where = await places(ctx);
  const state = {
    status: query.get("status") ?? "active",
    facility: query.get("facility") || "",
    incident: query.get("incident") || "",
  };
  const remember = () => setQuery(PATH, state);
  const statusSelect = select(
    "incident-filter-status",
    Object.entries(FILTERS).map(([value, key]) => ({ value, i18n: key })),
    { blankKey: "web.incidents.filter.all", value: state.status },
  );
  const facilitySelect = select("incident-filter-facility", facilityChoices(where), {
    blankKey: "web.alerts.filter.all_facilities",
    value: state.facility,
  });
  const filters = h(
    "form",
    { class: "row filters", id: "incident-filters", role: "search", "i18n-aria-label": "web.incidents.filter.label" },
    field("web.incidents.filter.status", statusSelect),
    field("web.alerts.filter.facility", facilitySelect),
    h("button", { type: "submit", class: "btn", i18n: "web.alerts.filter.apply" }),
  );
  const listError = errorBox("incident-list-error");
  const list = h("div", { class: "incident-list", id: "incident-list-box" });
  const detail = h("section", { class: "incident-detail card", id: "incident-detail", "aria-labelledby": "incident-title", hidden: true });
  let incidents = [];
  let shown = "";
  let loading = 0;

  async function loadList() {
    const ticket = ++loading;
    const params = new URLSearchParams({ limit: "200" });
    if (state.status) params.set("status", state.status);
    if (state.facility) params.set("node_id", state.facility);
    try {
      const found = await api(`/api/v1/incidents?${params}`);
      if (ticket !== loading) return;
      listError.hidden = true;
      incidents = found;
      const signature = JSON.stringify(found.map((i) => [i.id, i.status, i.acknowledged_at, i.repair, i.fallback]));
      if (signature !== shown) {
        shown = signature;
        renderList();
      }
    } catch (error) {
      if (ticket === loading) showError(listError, error);
    }
  }

  function renderList() {
    clear(list);
    if (!incidents.length) {
      list.append(h("p", { class: "empty", id: "incident-none", i18n: "web.incidents.none" }));
      return;
    }
    list.append(
      table({
        id: "incident-list",
        cls: "data incidents",
        headers: [
          "web.incidents.col.camera",
          "web.incidents.col.facility",
          "web.incidents.col.fault",
          "web.incidents.col.status",
          "web.incidents.col.since",
          "web.incidents.col.outage",
          "web.incidents.col.records",
        ],
        rows: incidents.map((i) => {
          const zone = where.zone(i.facility_id);
          return h(
            "tr",
            { "data-incident": i.id, "data-status": i.status, class: i.id === state.incident ? "selected" : null },
            h(
              "th",
              { scope: "row" },
              h("button", { type: "button", class: "linklike", "aria-pressed": String(i.id === state.incident), onclick: () => selectIncident(i.id) }, i.camera_name),
            ),
            h("td", {}, where.name(i.facility_id)),
            h("td", {}, faultLabel(i.fault)),
            h("td", {}, statusBadge(i.status)),
            h("td", {}, dateEl(i.fault_started_at, zone, "short")),
            h("td", {}, duration(i.outage_s)),
            h("td", {}, recordMarks(i)),
          );
        }),
      }),
    );
  }

  function recordMarks(i) {
    return [
      h("span", { class: `mark ${i.acknowledged_at ? "done" : "todo"}`, i18n: i.acknowledged_at ? "web.incidents.mark.acknowledged" : "web.incidents.mark.not_acknowledged" }),
      " ",
      h("span", { class: `mark ${i.repair ? "done" : "todo"}`, i18n: i.repair ? "web.incidents.mark.repair" : "web.incidents.mark.no_repair" }),
      i.fallback_required || i.fallback
        ? [" ", h("span", { class: `mark ${i.fallback ? "done" : "todo"}`, i18n: i.fallback ? "web.incidents.mark.fallback" : "web.incidents.mark.no_fallback" })]
        : null,
    ];
  }

  async function selectIncident(id) {
    state.incident = id;
    remember();
    for (const row of list.querySelectorAll("tr[data-incident]")) {
      const on = row.dataset.incident === id;
      row.classList.toggle("selected", on);
      row.querySelector("button.linklike").setAttribute("aria-pressed", String(on));
    }
    detail.hidden = false;
    try {
      renderDetail(await api(`/api/v1/incidents/${encodeURIComponent(id)}`));
    } catch (error) {
      clear(detail).append(showError(errorBox("incident-detail-error"), error));
    }
  }

  function renderDetail(incident) {
    const zone = where.zone(incident.facility_id);
    detail.dataset.incident = incident.id;
    detail.dataset.status = incident.status;
    const manage = ctx.can("incident.manage") && incident.status !== "closed";
    fill(
      detail,
      h("h2", { id: "incident-title" }, incident.camera_name),
      h("p", { class: "meta" }, statusBadge(incident.status), " ", faultLabel(incident.fault), " · ", where.name(incident.facility_id)),
      h("p", { class: "reason" }, incident.reason.text),
      h(
        "dl",
        { class: "facts" },
        h("dt", { i18n: "web.incidents.fact.fault_started" }),
        h("dd", {}, dateEl(incident.fault_started_at, zone)),
        h("dt", { i18n: "web.incidents.fact.opened" }),
        h("dd", {}, dateEl(incident.opened_at, zone)),
        h("dt", { i18n: "web.incidents.fact.recovered" }),
        h("dd", {}, incident.recovered_at ? dateEl(incident.recovered_at, zone) : h("span", { class: "muted", i18n: "web.incidents.not_recovered" })),
        h("dt", { i18n: "web.incidents.fact.outage" }),
        h("dd", {}, duration(incident.outage_s)),
        h("dt", { i18n: "web.incidents.fact.faults" }),
        h("dd", {}, incident.faults.map((f, n) => [n ? ", " : "", faultLabel(f)])),
        incident.acknowledged_at ? [h("dt", { i18n: "web.incidents.fact.acknowledged" }), h("dd", {}, who(ctx, incident.acknowledged_by), " · ", dateEl(incident.acknowledged_at, zone))] : null,
        incident.closed_at ? [h("dt", { i18n: "web.incidents.fact.closed" }), h("dd", {}, who(ctx, incident.closed_by), " · ", dateEl(incident.closed_at, zone))] : null,
      ),
      incident.fallback_required && !incident.fallback
        ? h("p", { class: "warning", id: "fallback-required", i18n: "web.incidents.fallback_required" })
        : null,
      keyframe(incident),
      records(incident, zone),
      manage ? actions(incident, zone) : null,
      timelineSection(incident, zone),
    );
  }

  /** The keyframe that decided the fault: a look at footage, so only on request (audited). */
  function keyframe(incident) {
    if (!incident.evidence_id || !ctx.can("camera.view_live")) return null;
    const holder = h("div", { class: "keyframe" });
    const error = h("span", { class: "error", role: "alert", hidden: true });
    const button = h("button", {
      type: "button",
      class: "btn",
      i18n: "web.incidents.show_keyframe",
      onclick: async () => {
        button.disabled = true;
        const response = await fetch(`/api/v1/health/evidence/${encodeURIComponent(incident.evidence_id)}`, { credentials: "same-origin" });
        if (!response.ok) {
          showError(error, { status: response.status, problem: await response.json().catch(() => null) });
          button.disabled = false;
          return;
        }
        const url = URL.createObjectURL(await response.blob());
        holder.replaceChildren(h("img", { src: url, "i18n-alt": ["web.incidents.keyframe_alt", { camera: incident.camera_name }] }));
      },
    });
    holder.append(button, error);
    return holder;
  }

  function records(incident, zone) {
    return h(
      "div",
      { class: "records" },
      incident.repair
        ? h(
            "section",
            { id: "repair-record", class: "record" },
            h("h3", { i18n: "web.incidents.repair.title" }),
            h("p", {}, incident.repair.action),
            h("p", { class: "muted" }, h("span", { i18n: ["web.incidents.repair.by", { name: incident.repair.repaired_by }] }), " · ", dateEl(incident.repair.repaired_at, zone)),
            h("p", { class: "muted" }, h("span", { i18n: ["web.incidents.recorded_by", { name: incident.repair.recorded_by_name }] })),
          )
        : null,
      incident.fallback
        ? h(
            "section",
            { id: "fallback-record", class: "record" },
            h("h3", { i18n: "web.incidents.fallback.title" }),
            h("p", {}, incident.fallback.measure),
            h("p", { class: "muted" }, dateEl(incident.fallback.start, zone), " – ", dateEl(incident.fallback.end, zone)),
            h("p", { class: "muted" }, h("span", { i18n: ["web.incidents.recorded_by", { name: incident.fallback.recorded_by_name }] })),
          )
        : null,
      incident.close_note ? h("p", { id: "close-note" }, h("span", { i18n: "web.incidents.close.note" }), ": ", incident.close_note) : null,
    );
  }

  function actions(incident, zone) {
    const box = h("div", { class: "incident-actions" });
    const after = async (updated) => {
      renderDetail(updated);
      loadList();
    };
    const send = async (form, error, submit, path, method, body) => {
      error.hidden = true;
      submit.disabled = true;
      try {
        await after(await api(`/api/v1/incidents/${encodeURIComponent(incident.id)}/${path}`, { method, body }));
        return true;
      } catch (failure) {
        showError(error, failure);
        submit.disabled = false;
        return false;
      }
    };

    if (!incident.acknowledged_at) {
      const note = h("input", { id: "incident-ack-note", maxlength: 2000 });
      const error = errorBox("incident-ack-error");
      const submit = h("button", { type: "submit", class: "btn primary", i18n: "web.incidents.ack.submit" });
      const form = h("form", { id: "incident-ack-form", class: "row" }, field("web.incidents.ack.note", note), submit, error);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        send(form, error, submit, "ack", "POST", { note: note.value.trim() || null });
      });
      box.append(form);
    }

    {
      const text = h("textarea", { id: "incident-note", required: true, maxlength: 4000, rows: 2 });
      const error = errorBox("incident-note-error");
      const submit = h("button", { type: "submit", class: "btn", i18n: "web.incidents.note.submit" });
      const form = h("form", { id: "incident-note-form", class: "stack" }, field("web.incidents.note.text", text), submit, error);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (!form.reportValidity()) return;
        send(form, error, submit, "notes", "POST", { text: text.value.trim() });
      });
      box.append(form);
    }

    // The two records a close needs; each can be saved on its own (the fallback while the
    // camera is still out), or they go along with the close.
    const repairAction = h("textarea", { id: "repair-action", required: true, minlength: 3, maxlength: 4000, rows: 2 });
    const repairBy = h("input", { id: "repair-by", required: true, minlength: 2, maxlength: 200 });
    const repairAt = h("input", { id: "repair-at", type: "datetime-local", step: "60" });
    const repairError = errorBox("repair-error");
    const repairSave = h("button", { type: "submit", class: "btn", i18n: "web.incidents.repair.save" });
    const repairForm = h(
      "form",
      { id: "repair-form", class: "stack record-form", "aria-labelledby": "repair-form-title" },
      h("h3", { id: "repair-form-title", i18n: incident.repair ? "web.incidents.repair.replace" : "web.incidents.repair.title" }),
      field("web.incidents.repair.action", repairAction),
      field("web.incidents.repair.repaired_by", repairBy),
      field("web.incidents.repair.repaired_at", repairAt, { hint: "web.incidents.repair.at_hint" }),
      repairError,
      repairSave,
    );
    const repairBody = () => ({
      action: repairAction.value.trim(),
      repaired_by: repairBy.value.trim(),
      repaired_at: repairAt.value ? new Date(fromLocalInput(repairAt.value, zone)).toISOString() : null,
    });
    repairForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!repairForm.reportValidity()) return;
      send(repairForm, repairError, repairSave, "repair", "PUT", repairBody());
    });

    const faultStart = Date.parse(incident.fault_started_at);
    const faultEnd = incident.recovered_at ? Date.parse(incident.recovered_at) : Date.now();
    const fallbackMeasure = h("textarea", { id: "fallback-measure", required: true, minlength: 3, maxlength: 2000, rows: 2 });
    const fallbackStart = h("input", { id: "fallback-start", type: "datetime-local", step: "60", required: true, value: localInput(faultStart, zone) });
    const fallbackEnd = h("input", { id: "fallback-end", type: "datetime-local", step: "60", required: true, value: localInput(faultEnd + 60e3, zone) });
    const fallbackError = errorBox("fallback-error");
    const fallbackSave = h("button", { type: "submit", class: "btn", i18n: "web.incidents.fallback.save" });
    const fallbackForm = h(
      "form",
      { id: "fallback-form", class: "stack record-form", "aria-labelledby": "fallback-form-title" },
      h("h3", { id: "fallback-form-title", i18n: incident.fallback ? "web.incidents.fallback.replace" : "web.incidents.fallback.title" }),
      h("p", { class: "hint", i18n: "web.incidents.fallback.hint" }),
      field("web.incidents.fallback.measure", fallbackMeasure),
      h("div", { class: "row" }, field("web.incidents.fallback.start", fallbackStart), field("web.incidents.fallback.end", fallbackEnd)),
      fallbackError,
      fallbackSave,
    );
    const fallbackBody = () => ({
      measure: fallbackMeasure.value.trim(),
      start: new Date(fromLocalInput(fallbackStart.value, zone)).toISOString(),
      end: new Date(fromLocalInput(fallbackEnd.value, zone)).toISOString(),
    });
    fallbackForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!fallbackForm.reportValidity()) return;
      send(fallbackForm, fallbackError, fallbackSave, "fallback", "PUT", fallbackBody());
    });

    const closeNote = h("input", { id: "close-note-input", maxlength: 2000 });
    const closeError = errorBox("close-error");
    const closeSubmit = h("button", { type: "submit", class: "btn primary", id: "close-submit", i18n: "web.incidents.close.submit" });
    const closeForm = h(
      "form",
      { id: "close-form", class: "stack", "aria-labelledby": "close-form-title" },
      h("h3", { id: "close-form-title", i18n: "web.incidents.close.title" }),
      h("p", { class: "hint", i18n: "web.incidents.close.hint" }),
      field("web.incidents.close.note", closeNote),
      closeError,
      closeSubmit,
    );
    const forms = { repair: repairForm, fallback: fallbackForm };
    closeForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const form of Object.values(forms)) form.removeAttribute("aria-invalid");
      delete closeError.dataset.field;
      // A record filled in but not saved goes along with the close.
      const body = { note: closeNote.value.trim() || null };
      if (repairAction.value.trim() || repairBy.value.trim()) {
        if (!repairForm.reportValidity()) return;
        body.repair = repairBody();
      }
      if (fallbackMeasure.value.trim()) {
        if (!fallbackForm.reportValidity()) return;
        body.fallback = fallbackBody();
      }
      closeError.hidden = true;
      closeSubmit.disabled = true;
      try {
        await after(await api(`/api/v1/incidents/${encodeURIComponent(incident.id)}/close`, { method: "POST", body }));
      } catch (failure) {
        showError(closeError, failure);
        closeSubmit.disabled = false;
        // The API names the record that is missing: mark its form and take the user there.
        const missing = failure.problem && failure.problem.field;
        const form = forms[String(missing || "").split(".")[0]];
        if (form) {
          closeError.dataset.field = missing;
          form.setAttribute("aria-invalid", "true");
          form.querySelector("textarea, input").focus();
        }
      }
    });
    box.append(h("div", { class: "record-forms" }, repairForm, fallbackForm), closeForm);
    return box;
  }

  function timelineSection(incident, zone) {
    return h(
      "section",
      { class: "history", "aria-labelledby": "incident-timeline-title" },
      h("h3", { id: "incident-timeline-title", i18n: "web.incidents.timeline" }),
      h(
        "ol",
        { id: "incident-timeline", class: "timeline-list" },
        incident.timeline.map((e) =>
          h(
            "li",
            { "data-kind": e.kind },
            dateEl(e.at, zone),
            " · ",
            h("span", { i18n: `incident_event.${e.kind}` }),
            " · ",
            e.actor.startsWith("user:") ? who(ctx, e.actor.slice(5), e.actor_name) : h("span", { class: "who" }, e.actor_name),
            eventText(e),
          ),
        ),
      ),
    );
  }

  function eventText(e) {
    const d = e.details || {};
    const text = d.text || d.note || d.action || d.measure;
    if (e.kind === "fault_changed" && d.to) return [" · ", faultLabel(d.to)];
    if ((e.kind === "opened" || e.kind === "recurred") && d.fault) return [" · ", faultLabel(d.fault)];
    return text ? [" · ", h("q", {}, text)] : null;
  }

  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    state.status = statusSelect.value;
    state.facility = facilitySelect.value;
    remember();
    loadList();
  });
  for (const control of [statusSelect, facilitySelect]) control.addEventListener("change", () => filters.requestSubmit());

  main.append(
    h("div", { class: "toolbar" }, h("h1", { i18n: "web.incidents.title" })),
    filters,
    listError,
    h("div", { class: "split" }, h("div", { class: "split-main" }, list), detail),
  );
  await loadList();
  if (state.incident) selectIncident(state.incident);
  const timer = setInterval(loadList, REFRESH_MS);
  return () => clearInterval(timer);
}

