// Playback of one camera's recorded footage, for a stated purpose.
//
// The timeline (metadata only) is shown first. Nothing plays until the user has chosen one
// of the camera's registered purposes: opening the playback session is what the audit log
// records, with that purpose. The session lists the range's segments; each is a complete
// fMP4 file whose timestamps start at 0, appended to one SourceBuffer with
// timestampOffset = (segment start - origin), so the media timeline is wall time from the
// origin and gaps stay holes that the player steps over. Leaving the page closes the session.

import { api, ApiError, csrfToken } from "./api.js";
import { dateEl, h, showError } from "./dom.js";
import { showDate, tr } from "./i18n.js";
import { codecOf, mimeFor } from "./mp4.js";
import { Timeline } from "./timeline.js";
import { fromLocalInput, toLocalInput } from "./zoned.js";

const DEFAULT_RANGE_MS = 60 * 60 * 1000;
const PREFETCH_MS = 15e3; // load the next segment this long before the current one ends
const KEEP_BEHIND_S = 60;
const GAP_STEP_MS = 250; // a hole longer than this between segments is a gap to jump over

const STATUS_KEYS = {
  idle: "web.playback.status.idle",
  loading: "web.playback.status.loading",
  playing: "web.playback.status.playing",
  paused: "web.playback.status.paused",
  gap: "web.playback.status.gap",
  ended: "web.playback.status.ended",
  no_footage: "web.playback.status.no_footage",
  expired: "web.playback.status.expired",
  unsupported: "web.playback.status.unsupported",
  error: "web.playback.status.error",
};

const stats = (window.__wardwatchPlayback = { frames: 0, sessionId: null, status: "idle", loaded: 0, wallTime: null });

/** Plays a playback session's segments through one SourceBuffer. */
class RecordedPlayer {
  constructor(video, session, { onTime, onStatus }) {
    this.video = video;
    this.onTime = onTime;
    this.onStatus = onStatus;
    this.segments = session.segments
      .map((s) => ({ ...s, startMs: Date.parse(s.start), endMs: Date.parse(s.end) }))
      .sort((a, b) => a.startMs - b.startMs);
    const first = this.segments.length ? this.segments[0].startMs : Infinity;
    // Media time 0 is the range start, or the first segment's start if it began earlier:
    // timestamps below 0 are not allowed in a SourceBuffer.
    this.origin = Math.min(Date.parse(session.start), first);
    this.loaded = new Set();
    this.pending = new Map();
    this.chain = Promise.resolve();
    this.destroyed = false;
    this.source = new MediaSource();
    this.objectUrl = URL.createObjectURL(this.source);
    this.ready = new Promise((resolve) => this.source.addEventListener("sourceopen", resolve, { once: true }));
    video.src = this.objectUrl;
    this._listeners = {
      timeupdate: () => this._tick(),
      waiting: () => this._stalled(),
      playing: () => this.onStatus("playing"),
      pause: () => !this.destroyed && this.onStatus("paused"),
    };
    for (const [name, fn] of Object.entries(this._listeners)) video.addEventListener(name, fn);
    this._countFrames();
  }

  toMedia(when) {
    return (when - this.origin) / 1000;
  }

  toWall(mediaTime) {
    return this.origin + mediaTime * 1000;
  }

  /** The segment holding `when`, else the first one after it. */
  segmentAt(when) {
    return this.segments.find((s) => s.endMs > when) || null;
  }

  _enqueue(task) {
    this.chain = this.chain.then(() => (this.destroyed ? null : task())).catch((error) => this._failed(error));
    return this.chain;
  }

  load(segment) {
    if (this.loaded.has(segment.id)) return Promise.resolve();
    if (!this.pending.has(segment.id)) {
      this.pending.set(segment.id, this._enqueue(() => this._append(segment)));
    }
    return this.pending.get(segment.id);
  }

  async _append(segment) {
    try {
      if (this.loaded.has(segment.id)) return;
      await this.ready;
      const response = await fetch(segment.url, { credentials: "same-origin" });
      if (!response.ok) {
        const problem = await response.json().catch(() => null);
        throw new ApiError(response.status, problem);
      }
      const data = await response.arrayBuffer();
      if (this.destroyed) return;
      const codec = codecOf(data);
      if (!codec || !MediaSource.isTypeSupported(mimeFor(codec))) {
        throw Object.assign(new Error("unsupported"), { unsupported: codec || "?" });
      }
      if (!this.buffer) {
        this.buffer = this.source.addSourceBuffer(mimeFor(codec));
        this.buffer.mode = "segments";
        this.codec = codec;
      } else if (codec !== this.codec && this.buffer.changeType) {
        this.buffer.changeType(mimeFor(codec));
        this.codec = codec;
      }
      this.buffer.timestampOffset = this.toMedia(segment.startMs);
      await this._bufferOp((b) => b.appendBuffer(data));
      this.loaded.add(segment.id);
      stats.loaded = this.loaded.size;
      await this._trim();
    } finally {
      this.pending.delete(segment.id);
    }
  }

  _bufferOp(operation) {
    const buffer = this.buffer;
    return new Promise((resolve, reject) => {
      const done = () => {
        buffer.removeEventListener("error", failed);
        resolve();
      };
      const failed = () => {
        buffer.removeEventListener("updateend", done);
        reject(new Error("append failed"));
      };
      buffer.addEventListener("updateend", done, { once: true });
      buffer.addEventListener("error", failed, { once: true });
      try {
        operation(buffer);
      } catch (error) {
        buffer.removeEventListener("updateend", done);
        buffer.removeEventListener("error", failed);
        reject(error);
      }
    });
  }

  async _trim() {
    const until = this.video.currentTime - KEEP_BEHIND_S;
    const ranges = this.video.buffered;
    if (until <= 0 || !ranges.length || ranges.start(0) >= until) return;
    await this._bufferOp((b) => b.remove(0, until));
    for (const s of this.segments) {
      if (this.toMedia(s.startMs) < until) this.loaded.delete(s.id);
    }
  }

  /** Play from `when` (wall-clock ms): load its segment, then carry on across segments. */
  async seek(when) {
    const segment = this.segmentAt(when);
    if (!segment) {
      this.onStatus("no_footage");
      return;
    }
    this.onStatus("loading");
    await this.load(segment);
    if (this.destroyed || !this.loaded.has(segment.id)) return;
    const at = Math.max(when, segment.startMs);
    this.video.currentTime = this.toMedia(at) + 0.001;
    this.onTime(at);
    await this.video.play().catch(() => {});
    this._prefetch(at);
  }

  _index(when) {
    return this.segments.findIndex((s) => s.startMs <= when && when < s.endMs);
  }

  _prefetch(when) {
    const index = this._index(when);
    if (index < 0) return;
    const next = this.segments[index + 1];
    if (next && this.segments[index].endMs - when < PREFETCH_MS) this.load(next);
  }

  _tick() {
    const wall = this.toWall(this.video.currentTime);
    stats.wallTime = new Date(wall).toISOString();
    this.onTime(wall);
    this._prefetch(wall);
    const index = this._index(wall);
    const current = this.segments[index];
    const next = this.segments[index + 1];
    if (current && next && current.endMs - wall < 200 && next.startMs - current.endMs > GAP_STEP_MS) {
      this._jump(next);
    }
    const last = this.segments[this.segments.length - 1];
    if (last && wall >= last.endMs - 100) this.onStatus("ended");
  }

  /** Playback stalled: if it is at a hole, go on at the next recorded segment. */
  _stalled() {
    const wall = this.toWall(this.video.currentTime);
    const next = this.segments.find((s) => s.startMs > wall + 1);
    const inside = this._index(wall) >= 0 && this.segments[this._index(wall)].endMs - wall > 200;
    if (!inside && next) this._jump(next);
    else if (!inside) this.onStatus("ended");
    else this.onStatus("loading");
  }

  async _jump(next) {
    if (this.jumping) return;
    this.jumping = true;
    this.onStatus("gap");
    try {
      await this.load(next);
      if (!this.destroyed && this.loaded.has(next.id)) {
        this.video.currentTime = this.toMedia(next.startMs) + 0.001;
        await this.video.play().catch(() => {});
      }
    } finally {
      this.jumping = false;
    }
  }

  _countFrames() {
    const video = this.video;
    if (!("requestVideoFrameCallback" in video)) return;
    const onFrame = () => {
      if (this.destroyed) return;
      stats.frames += 1;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  _failed(error) {
    if (this.destroyed) return;
    console.warn("playback", error);
    if (error instanceof ApiError && (error.status === 404 || error.status === 410)) this.onStatus("expired");
    else if (error && error.unsupported) this.onStatus("unsupported", { codec: error.unsupported });
    else this.onStatus("error");
  }

  destroy() {
    this.destroyed = true;
    for (const [name, fn] of Object.entries(this._listeners)) this.video.removeEventListener(name, fn);
    this.video.pause();
    this.video.removeAttribute("src");
    this.video.load();
    URL.revokeObjectURL(this.objectUrl);
  }
}

function dateField(id, labelKey, value, zone) {
  return h(
    "div",
    { class: "field" },
    h("label", { for: id, i18n: labelKey }),
    h("input", { id, name: id, type: "datetime-local", step: "1", required: true, value: toLocalInput(value, zone) }),
  );
}

function closeSession(sessionId, unloading) {
  // keepalive lets the request finish while the page unloads.
  return fetch(`/api/v1/playback/${encodeURIComponent(sessionId)}`, {
    method: "DELETE",
    headers: { "x-csrf-token": csrfToken() },
    credentials: "same-origin",
    keepalive: Boolean(unloading),
  }).catch(() => {});
}

export async function mount(main, ctx, match, query) {
  const cameraId = decodeURIComponent(match[1]);
  const [camera, facilities] = await Promise.all([
    api(`/api/v1/cameras/${encodeURIComponent(cameraId)}`),
    ctx.facilities(),
  ]);
  const facility = facilities.get(camera.facility_id);
  const zone = (facility && facility.timezone) || "UTC";
  const now = Date.now();
  // A "+" of an offset that was not percent-encoded arrives as a space.
  const param = (name) => Date.parse((query.get(name) || "").replace(/ /g, "+"));
  let rangeEnd = param("end") || now;
  let rangeStart = param("start") || rangeEnd - DEFAULT_RANGE_MS;
  let selected = null;
  let session = null;
  let player = null;
  let timeline = null;
  stats.frames = 0;
  stats.sessionId = null;
  stats.status = "idle";

  const status = h("p", { class: "status", role: "status", id: "playback-status" });
  const setStatus = (name, params) => {
    stats.status = name;
    tr(status, STATUS_KEYS[name] || STATUS_KEYS.error, params);
  };
  setStatus("idle");
  const clock = h("time", { class: "clock", id: "playback-time" });
  const error = h("p", { class: "error", role: "alert", hidden: true });

  const rangeForm = h(
    "form",
    { class: "row", id: "range-form", "aria-labelledby": "range-title" },
    h("h2", { id: "range-title", class: "sr-only", i18n: "web.playback.range" }),
    dateField("range-start", "web.playback.from", rangeStart, zone),
    dateField("range-end", "web.playback.to", rangeEnd, zone),
    h("span", { class: "hint", i18n: ["web.playback.zone_note", { zone }] }),
    h("button", { type: "submit", class: "btn", i18n: "web.playback.show" }),
  );
  const lane = h("div", { class: "timeline-box" });
  const legend = h(
    "p",
    { class: "legend" },
    h("span", { class: "key recorded" }),
    h("span", { i18n: "web.timeline.legend_recorded" }),
    h("span", { class: "key gap" }),
    h("span", { i18n: "web.timeline.legend_gap" }),
    ctx.can("incident.read") ? [h("span", { class: "key incident" }), h("span", { i18n: "web.timeline.legend_incident" })] : null,
    ctx.can("alert.read")
      ? [h("span", { class: "key alert" }), h("span", { i18n: "web.timeline.legend_alert" }), h("span", { class: "hint", i18n: "web.timeline.alerts_note" })]
      : null,
  );
  // The marks of the timeline as a list, so each one is reachable by keyboard and can be played.
  const marks = h("ul", { class: "marks-list", id: "timeline-events", "aria-labelledby": "timeline-events-title" });
  const marksBox = h(
    "section",
    { class: "marks-box", hidden: true },
    h("h2", { id: "timeline-events-title", i18n: "web.timeline.events_title" }),
    marks,
  );

  const purpose = h(
    "select",
    { id: "purpose", name: "purpose", required: true },
    h("option", { value: "", i18n: "web.playback.purpose_choose" }),
    camera.purposes.map((p) => h("option", { value: p, i18n: `purpose.${p}` })),
  );
  const playButton = h("button", { type: "submit", class: "btn primary", id: "play", i18n: "web.playback.open" });
  const purposeForm = h(
    "form",
    { class: "row", id: "purpose-form" },
    h("div", { class: "field" }, h("label", { for: "purpose", i18n: "web.playback.purpose" }), purpose),
    playButton,
    h("p", { class: "hint", i18n: "web.playback.audit_note" }),
  );

  const video = h("video", { id: "playback-video", playsinline: true, muted: true, "aria-labelledby": "playback-title" });
  const toggle = h("button", {
    type: "button",
    class: "btn",
    id: "toggle",
    disabled: true,
    i18n: "web.playback.pause",
    onclick: () => (video.paused ? video.play() : video.pause()),
  });
  video.addEventListener("play", () => tr(toggle, "web.playback.pause"));
  video.addEventListener("pause", () => tr(toggle, "web.playback.play"));

  async function loadTimeline() {
    const params = new URLSearchParams({
      start: new Date(rangeStart).toISOString(),
      end: new Date(rangeEnd).toISOString(),
    });
    const data = await api(`/api/v1/cameras/${encodeURIComponent(cameraId)}/timeline?${params}`);
    if (timeline) timeline.destroy();
    timeline = new Timeline({
      start: rangeStart,
      end: rangeEnd,
      timeZone: zone,
      onSeek: (when) => {
        selected = when;
        showDate(clock, when, zone);
        if (player) player.seek(when);
      },
    });
    timeline.setData(data.recorded, data.gaps);
    lane.replaceChildren(timeline.el);
    loadMarks(timeline);
    return data;
  }

  /** The camera's incidents and the facility's alerts that overlap the range. */
  async function loadMarks(forTimeline) {
    const overlaps = (start, end) => Date.parse(start) < rangeEnd && (!end || Date.parse(end) > rangeStart);
    const fetchIncidents = ctx.can("incident.read")
      ? api(`/api/v1/incidents?${new URLSearchParams({ camera_id: cameraId, limit: "1000" })}`).then((rows) =>
          rows
            .map((i) => ({ ...i, start: i.fault_started_at, end: i.recovered_at || i.closed_at }))
            .filter((i) => overlaps(i.start, i.end)),
        )
      : Promise.resolve(null);
    // Alerts come from rules over a facility's door events and schedule, not from one
    // camera: the camera's facility's alerts are shown, within the range. Camera incidents'
    // own alerts (source "health") are left out: this camera's are its incident lane, and
    // another camera's outage is not on this one's timeline.
    const fetchAlerts = ctx.can("alert.read")
      ? api(`/api/v1/alerts?${new URLSearchParams({ facility_id: camera.facility_id, limit: "500" })}`).then((rows) =>
          rows
            .filter((a) => a.source !== "health")
            .map((a) => ({ ...a, start: a.starts_at, end: a.resolved_at }))
            .filter((a) => overlaps(a.start, a.end)),
        )
      : Promise.resolve(null);
    const [incidents, alerts] = await Promise.all([
      fetchIncidents.catch((failure) => (showError(error, failure), null)),
      fetchAlerts.catch((failure) => (showError(error, failure), null)),
    ]);
    if (forTimeline !== timeline) return; // the range changed meanwhile
    timeline.setMarks({ incidents, alerts });
    const items = [
      ...(incidents || []).map((i) => ({ kind: "incident", at: Date.parse(i.start), item: i })),
      ...(alerts || []).map((a) => ({ kind: "alert", at: Date.parse(a.start), item: a })),
    ].sort((a, b) => a.at - b.at);
    marks.replaceChildren(
      ...items.map(({ kind, at, item }) =>
        h(
          "li",
          { "data-kind": kind, "data-id": item.id },
          h(
            "button",
            { type: "button", class: "linklike", onclick: () => timeline.seekTo(Math.max(at, rangeStart)) },
            dateEl(at, zone, "time"),
            " ",
            // Separate keys rather than one message with translated fields: a language
            // switch re-translates each part in place.
            kind === "incident"
              ? h(
                  "span",
                  { class: `mark-label incident status-${item.status}` },
                  h("span", { i18n: "web.timeline.incident" }),
                  ": ",
                  h("span", { i18n: `health_state.${item.fault}` }),
                  " · ",
                  h("span", { i18n: `incident_status.${item.status}` }),
                )
              : h(
                  "span",
                  { class: `mark-label alert tone-${item.severity}` },
                  h("span", { i18n: "web.timeline.alert" }),
                  " (",
                  h("span", { i18n: `alerts.severity.${item.severity}` }),
                  "): ",
                  item.title,
                ),
          ),
        ),
      ),
    );
    marksBox.hidden = items.length === 0;
  }

  async function closeCurrent(unloading = false) {
    if (player) player.destroy();
    player = null;
    toggle.disabled = true;
    if (session) {
      const id = session.session_id;
      session = null;
      stats.sessionId = null;
      await closeSession(id, unloading);
    }
  }

  rangeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const start = fromLocalInput(rangeForm.querySelector("#range-start").value, zone);
    const end = fromLocalInput(rangeForm.querySelector("#range-end").value, zone);
    if (!(start < end)) {
      tr(error, "web.playback.bad_range");
      error.hidden = false;
      return;
    }
    await closeCurrent();
    rangeStart = start;
    rangeEnd = end;
    selected = null;
    setStatus("idle");
    try {
      await loadTimeline();
    } catch (failure) {
      showError(error, failure);
    }
  });

  purposeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    if (!purpose.value) {
      purpose.reportValidity();
      return;
    }
    playButton.disabled = true;
    try {
      await closeCurrent();
      setStatus("loading");
      session = await api(`/api/v1/cameras/${encodeURIComponent(cameraId)}/playback`, {
        method: "POST",
        body: {
          start: new Date(rangeStart).toISOString(),
          end: new Date(rangeEnd).toISOString(),
          purpose: purpose.value,
        },
      });
      stats.sessionId = session.session_id;
      if (!session.segments.length) {
        setStatus("no_footage");
        return;
      }
      player = new RecordedPlayer(video, session, {
        onTime: (when) => {
          if (timeline) timeline.setPosition(when);
          showDate(clock, when, zone);
        },
        onStatus: setStatus,
      });
      toggle.disabled = false;
      await player.seek(selected ?? Date.parse(session.segments[0].start));
    } catch (failure) {
      setStatus("idle");
      showError(error, failure);
    } finally {
      playButton.disabled = false;
    }
  });

  const exportBox = ctx.can("recording.export") ? exportSection(cameraId, zone, purpose, () => selected ?? rangeStart) : null;

  main.append(
    h(
      "div",
      { class: "toolbar" },
      h("h1", { id: "playback-title" }, camera.name),
      h("span", { class: "facility-name" }, facility ? facility.name : ""),
      ctx.can("camera.view_live") && camera.status === "active"
        ? h("a", { class: "btn", href: `#/camera/${camera.id}`, i18n: "web.cameras.live" })
        : null,
    ),
    rangeForm,
    lane,
    legend,
    marksBox,
    purposeForm,
    error,
    h("div", { class: "player" }, video, h("div", { class: "controls" }, toggle, clock, status)),
    exportBox,
  );
  try {
    await loadTimeline();
  } catch (failure) {
    showError(error, failure);
  }
  return (options = {}) => {
    if (timeline) timeline.destroy();
    return closeCurrent(Boolean(options.unloading));
  };
}

/** Clip export: a stream-copied MP4 with a manifest of hashes, for a stated purpose. */
function exportSection(cameraId, zone, purpose, from) {
  const result = h("div", { class: "manifest", id: "clip-result", hidden: true });
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const start = dateField("clip-start", "web.export.from", from(), zone);
  const end = dateField("clip-end", "web.export.to", from() + 30e3, zone);
  const submit = h("button", { type: "submit", class: "btn", i18n: "web.export.submit" });
  const form = h(
    "form",
    { class: "row", id: "export-form", "aria-labelledby": "export-title" },
    h("h2", { id: "export-title", i18n: "web.export.title" }),
    start,
    end,
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    result.hidden = true;
    if (!purpose.value) {
      purpose.reportValidity();
      return;
    }
    const clipStart = fromLocalInput(form.querySelector("#clip-start").value, zone);
    const clipEnd = fromLocalInput(form.querySelector("#clip-end").value, zone);
    if (!(clipStart < clipEnd)) {
      tr(error, "web.playback.bad_range");
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const manifest = await api(`/api/v1/cameras/${encodeURIComponent(cameraId)}/clips`, {
        method: "POST",
        body: {
          start: new Date(clipStart).toISOString(),
          end: new Date(clipEnd).toISOString(),
          purpose: purpose.value,
        },
      });
      result.replaceChildren(
        h("p", {}, h("span", { i18n: "web.export.sha256" }), " ", h("code", { id: "clip-sha256" }, manifest.sha256)),
        // The clip's own range: stream copy starts at the keyframe at or before the request.
        h("p", {}, h("span", { i18n: "web.export.range" }), " ", dateEl(Date.parse(manifest.start), zone), " – ", dateEl(Date.parse(manifest.end), zone)),
        // Each download is a look at footage of its own, audited with this purpose.
        h("p", {}, h("a", { class: "btn", id: "clip-download", href: `${manifest.download_url}?purpose=${encodeURIComponent(purpose.value)}`, download: "", i18n: "web.export.download" })),
        sourceList(manifest.manifest, zone),
      );
      result.hidden = false;
    } catch (failure) {
      showError(error, failure);
    } finally {
      submit.disabled = false;
    }
  });
  return h("section", { class: "export" }, form, error, result);
}

/** The source segments a clip was cut from, each with its own SHA-256. */
function sourceList(manifest, zone) {
  const segments = (manifest && manifest.segments) || [];
  if (!segments.length) return null;
  return h(
    "details",
    { class: "sources" },
    h("summary", { i18n: ["web.export.sources", { count: segments.length }] }),
    h(
      "ol",
      {},
      segments.map((s) => h("li", {}, dateEl(s.start, zone, "time"), " ", h("code", {}, s.sha256))),
    ),
  );
}
