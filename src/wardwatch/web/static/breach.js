// Flag a breach seen on a camera: capture a snapshot, then the breach form in a modal dialog.
//
// The snapshot is the camera's latest keyframe (GET /api/v1/cameras/{id}/snapshot, a look
// at footage the server audits). The breach API does not take the picture itself: it takes
// the frame's capture time (snapshot_at, from the x-capture-time-us header) as the footage
// reference, and the recorded footage of that moment is the evidence, kept under the
// camera's retention like all footage rather than copied out as a loose JPEG. The report
// (category, camera, time, note, that reference) goes to POST /api/v1/duty/breaches, which
// tells the facility's manager at once.

import { api, ApiError } from "./api.js";
import { h, showError } from "./dom.js";
import { currentLocale, showDate, tr } from "./i18n.js";
import { fromLocalInput, toLocalInput } from "./zoned.js";

/** The closed list of the breach API (duty.model.BreachCategory), in the form's order. */
export const CATEGORIES = [
  "left_room",
  "gathering",
  "no_mask",
  "no_distancing",
  "unauthorised_entry",
  "unauthorised_handover_of_items",
  "ppe_not_worn",
  "waste_mishandled",
  "disinfection_skipped",
  "unlicensed_practice",
  "other",
];
const SNAPSHOT_WIDTH = 640;

/** The latest keyframe as {url, captureMs}; rejects with ApiError carrying the problem. */
async function snapshot(cameraId, signal) {
  const params = new URLSearchParams({ width: String(SNAPSHOT_WIDTH), lang: currentLocale() });
  const response = await fetch(`/api/v1/cameras/${encodeURIComponent(cameraId)}/snapshot?${params}`, {
    credentials: "same-origin",
    signal,
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    throw new ApiError(response.status, problem);
  }
  const captureUs = Number(response.headers.get("x-capture-time-us"));
  const blob = await response.blob();
  return { url: URL.createObjectURL(blob), captureMs: captureUs ? captureUs / 1000 : Date.now() };
}

function field(id, labelKey, control) {
  return h("div", { class: "field" }, h("label", { for: id, i18n: labelKey }), control);
}

/**
 * Open the breach form for `camera` inside `host` (the screen's view, so leaving the screen
 * removes it). Returns a function that closes the dialog.
 */
export function flagBreach(host, camera, { timeZone = "UTC", source = "live", onReported = () => {} } = {}) {
  const controller = new AbortController();
  let objectUrl = null;
  let captureMs = null;
  let timeTouched = false;

  const image = h("img", { id: "breach-snapshot", class: "snapshot", hidden: true, "i18n-alt": ["web.breach.snapshot_alt", { name: camera.name }] });
  const shotStatus = h("p", { class: "hint", role: "status", id: "breach-snapshot-status", i18n: "web.breach.capturing" });
  const shotTime = h("time", { id: "breach-snapshot-time" });
  const reference = h("p", { class: "snapshot-ref", hidden: true }, h("span", { i18n: "web.breach.snapshot_ref" }), " ", shotTime);
  const shotError = h("p", { class: "error", role: "alert", hidden: true, id: "breach-snapshot-error" });
  const retry = h("button", { type: "button", class: "btn", hidden: true, i18n: "web.breach.retry" });

  const category = h(
    "select",
    { id: "breach-category", name: "category", required: true },
    h("option", { value: "", i18n: "web.breach.category_choose" }),
    CATEGORIES.map((c) => h("option", { value: c, i18n: `breach_category.${c}` })),
  );
  const cameraField = h("input", { id: "breach-camera", name: "camera", readonly: true, value: camera.name });
  const when = h("input", {
    id: "breach-time",
    name: "occurred_at",
    type: "datetime-local",
    step: "1",
    required: true,
    value: toLocalInput(Date.now(), timeZone),
    oninput: () => (timeTouched = true),
  });
  const note = h("textarea", { id: "breach-note", name: "note", required: true, minlength: 3, maxlength: 4000, rows: 4 });
  const error = h("p", { class: "error", role: "alert", hidden: true, id: "breach-error" });
  const submit = h("button", { type: "submit", class: "btn primary", id: "breach-submit", disabled: true, i18n: "web.breach.submit" });
  const cancel = h("button", { type: "button", class: "btn", id: "breach-cancel", i18n: "web.breach.cancel" });
  const form = h(
    "form",
    { id: "breach-form", class: "breach-form" },
    h("h2", { id: "breach-title", i18n: "web.breach.title" }),
    h("div", { class: "breach-shot" }, image, shotStatus, reference, shotError, retry),
    h(
      "div",
      { class: "breach-fields" },
      field("breach-category", "web.breach.category", category),
      field("breach-camera", "web.breach.camera", cameraField),
      field("breach-time", "web.breach.time", when),
      h("span", { class: "hint", i18n: ["web.playback.zone_note", { zone: timeZone }] }),
      field("breach-note", "web.breach.note", note),
      h("p", { class: "hint", i18n: "web.breach.notify_note" }),
      error,
      h("div", { class: "row" }, submit, cancel),
    ),
  );
  const dialog = h("dialog", { class: "breach", id: "breach-dialog", "aria-labelledby": "breach-title" }, form);

  async function capture() {
    shotError.hidden = true;
    retry.hidden = true;
    tr(shotStatus, "web.breach.capturing");
    shotStatus.hidden = false;
    try {
      const shot = await snapshot(camera.id, controller.signal);
      if (controller.signal.aborted) return URL.revokeObjectURL(shot.url);
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = shot.url;
      captureMs = shot.captureMs;
      image.src = objectUrl;
      image.hidden = false;
      shotStatus.hidden = true;
      showDate(shotTime, captureMs, timeZone);
      shotTime.dataset.captureMs = String(captureMs);
      reference.hidden = false;
      if (!timeTouched) when.value = toLocalInput(captureMs, timeZone);
      submit.disabled = false;
    } catch (failure) {
      if (controller.signal.aborted) return;
      shotStatus.hidden = true;
      showError(shotError, failure);
      retry.hidden = false;
    }
  }
  retry.addEventListener("click", capture);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!form.reportValidity() || captureMs === null) return;
    const occurred = fromLocalInput(when.value, timeZone);
    if (Number.isNaN(occurred)) {
      tr(error, "web.breach.bad_time");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const report = await api("/api/v1/duty/breaches", {
        method: "POST",
        body: {
          camera_id: camera.id,
          category: category.value,
          occurred_at: new Date(occurred).toISOString(),
          note: note.value,
          source,
          snapshot_at: new Date(captureMs).toISOString(),
        },
      });
      showDone(report);
      onReported(report);
    } catch (failure) {
      showError(error, failure);
      submit.disabled = false;
    }
  });

  function showDone(report) {
    const close = h("button", { type: "button", class: "btn primary", id: "breach-close", i18n: "web.breach.close", onclick: () => dialog.close() });
    form.replaceChildren(
      h("h2", { id: "breach-title", i18n: "web.breach.reported" }),
      h(
        "p",
        { id: "breach-result", role: "status", "data-breach-id": report.id },
        h("span", { i18n: ["web.breach.reported_detail", { camera: camera.name, status: report.status_label }] }),
      ),
      h("p", { class: "hint" }, h("span", { i18n: "web.breach.reference" }), " ", h("code", {}, report.id)),
      h("div", { class: "row" }, close),
    );
    close.focus();
  }

  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    controller.abort();
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    objectUrl = null;
    dialog.remove();
  });
  host.append(dialog);
  dialog.showModal();
  category.focus();
  capture();
  return () => {
    if (dialog.open) dialog.close();
  };
}
