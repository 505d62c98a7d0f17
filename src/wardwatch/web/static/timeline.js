// The playback timeline: recorded ranges, gaps (with their reason as a tooltip), the
// camera's incidents and its facility's alerts (each on a lane of its own below the
// footage) and the play position over a chosen time range. A slider to assistive
// technology and the keyboard: arrows move 10 s, Page Up/Down one minute, Home/End to the
// range's ends. The marks are also listed as buttons beside it (see playback.js), so what a
// tooltip says is reachable without a mouse.

import { h } from "./dom.js";
import { formatDate, t } from "./i18n.js";

export const GAP_KEYS = {
  offline: "web.gap.offline",
  auth_failed: "web.gap.auth_failed",
  unsupported: "web.gap.unsupported",
  recorder_restart: "web.gap.recorder_restart",
  recorder_crash: "web.gap.recorder_crash",
};
const GAP_UNKNOWN = "web.gap.unknown";
const TICKS = 6;

function ms(value) {
  if (typeof value === "number") return value;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}

function markRange(start, end, rangeEnd) {
  return { start: ms(start), end: end ? ms(end) : rangeEnd, open: !end };
}

export class Timeline {
  constructor({ start, end, timeZone, onSeek }) {
    this.start = ms(start);
    this.end = ms(end);
    this.timeZone = timeZone;
    this.onSeek = onSeek;
    this.recorded = [];
    this.gaps = [];
    this.incidents = [];
    this.alerts = [];
    this.position = null;
    this.track = h("div", { class: "track" });
    this.incidentLane = h("div", { class: "marks incidents", "data-lane": "incidents", hidden: true });
    this.alertLane = h("div", { class: "marks alerts", "data-lane": "alerts", hidden: true });
    this.cursor = h("div", { class: "cursor", hidden: true });
    this.ticks = h("div", { class: "ticks", "aria-hidden": "true" });
    this.el = h(
      "div",
      {
        class: "timeline",
        id: "timeline",
        role: "slider",
        tabindex: "0",
        "i18n-aria-label": "web.timeline.label",
        "aria-valuemin": String(this.start),
        "aria-valuemax": String(this.end),
        onclick: (event) => this._click(event),
        onkeydown: (event) => this._key(event),
      },
      h("div", { class: "lane" }, this.track, this.cursor),
      this.incidentLane,
      this.alertLane,
      this.ticks,
    );
    this._onLocale = () => this.render();
    document.addEventListener("ww:locale", this._onLocale);
    this.render();
  }

  destroy() {
    document.removeEventListener("ww:locale", this._onLocale);
  }

  setData(recorded, gaps) {
    this.recorded = recorded.map((r) => ({ start: ms(r.start), end: ms(r.end) }));
    this.gaps = gaps.map((g) => ({
      start: ms(g.start),
      end: g.end ? ms(g.end) : this.end,
      open: !g.end,
      reason: g.reason,
      detail: g.detail || "",
    }));
    this.render();
  }

  /**
   * The camera's incidents and its facility's alerts, as the API lists them; each is drawn
   * from its start to its end (or to the range's end while it lasts).
   */
  setMarks({ incidents = null, alerts = null } = {}) {
    this.incidents = (incidents || []).map((i) => ({ ...markRange(i.start, i.end, this.end), item: i }));
    this.alerts = (alerts || []).map((a) => ({ ...markRange(a.start, a.end, this.end), item: a }));
    this.incidentLane.hidden = incidents === null;
    this.alertLane.hidden = alerts === null;
    this.render();
  }

  /** Move the play position to `when`, as a click there would. */
  seekTo(when) {
    this._seek(Math.min(this.end, Math.max(this.start, when)));
  }

  setPosition(when) {
    this.position = when;
    this._placeCursor();
  }

  _fraction(when) {
    return Math.min(1, Math.max(0, (when - this.start) / (this.end - this.start)));
  }

  _span(kind, from, to, title) {
    const left = this._fraction(from) * 100;
    const width = Math.max(0.15, (this._fraction(to) - this._fraction(from)) * 100);
    const el = h("div", { class: kind, title });
    el.style.left = `${left}%`;
    el.style.width = `${width}%`;
    return el;
  }

  render() {
    const zone = this.timeZone;
    this.track.replaceChildren(
      ...this.recorded.map((r) =>
        this._span("recorded", r.start, r.end, t("web.timeline.recorded_title", {
          from: formatDate(r.start, zone, "time"),
          to: formatDate(r.end, zone, "time"),
        })),
      ),
      ...this.gaps.map((g) => {
        const reason = t(GAP_KEYS[g.reason] || GAP_UNKNOWN);
        const title = t("web.timeline.gap_title", {
          reason,
          from: formatDate(g.start, zone, "time"),
          to: g.open ? t("web.timeline.now") : formatDate(g.end, zone, "time"),
        });
        const el = this._span("gap", g.start, g.end, g.detail ? `${title}\n${g.detail}` : title);
        el.dataset.reason = g.reason;
        return el;
      }),
    );
    this.incidentLane.replaceChildren(
      ...this.incidents.map((m) => {
        const el = this._span(`incident status-${m.item.status}`, m.start, m.end, this._title(m, "web.timeline.incident_title", {
          fault: t(`health_state.${m.item.fault}`),
          status: t(`incident_status.${m.item.status}`),
        }));
        el.dataset.id = m.item.id;
        return el;
      }),
    );
    this.alertLane.replaceChildren(
      ...this.alerts.map((m) => {
        const el = this._span(`alert tone-${m.item.severity}`, m.start, m.end, this._title(m, "web.timeline.alert_title", {
          colour: t(`alerts.severity.${m.item.severity}`),
          title: m.item.title,
        }));
        el.dataset.id = m.item.id;
        el.dataset.severity = m.item.severity;
        return el;
      }),
    );
    const labels = [];
    for (let i = 0; i < TICKS; i += 1) {
      const when = this.start + ((this.end - this.start) * i) / (TICKS - 1);
      const label = h("span", {}, formatDate(when, zone, "time"));
      label.style.left = `${(i / (TICKS - 1)) * 100}%`;
      labels.push(label);
    }
    this.ticks.replaceChildren(...labels);
    this._placeCursor();
  }

  _title(mark, key, params) {
    const zone = this.timeZone;
    return t(key, {
      ...params,
      from: formatDate(mark.start, zone, "time"),
      to: mark.open ? t("web.timeline.now") : formatDate(mark.end, zone, "time"),
    });
  }

  _placeCursor() {
    if (this.position === null) {
      this.cursor.hidden = true;
      this.el.removeAttribute("aria-valuenow");
      return;
    }
    this.cursor.hidden = false;
    this.cursor.style.left = `${this._fraction(this.position) * 100}%`;
    this.el.setAttribute("aria-valuenow", String(Math.round(this.position)));
    this.el.setAttribute("aria-valuetext", formatDate(this.position, this.timeZone, "datetime"));
  }

  _click(event) {
    const box = this.track.getBoundingClientRect();
    const fraction = (event.clientX - box.left) / box.width;
    this._seek(this.start + Math.min(1, Math.max(0, fraction)) * (this.end - this.start));
  }

  _key(event) {
    const steps = { ArrowLeft: -10e3, ArrowRight: 10e3, PageDown: -60e3, PageUp: 60e3 };
    const from = this.position ?? this.start;
    let to = null;
    if (event.key in steps) to = from + steps[event.key];
    else if (event.key === "Home") to = this.start;
    else if (event.key === "End") to = this.end;
    if (to === null) return;
    event.preventDefault();
    this._seek(Math.min(this.end, Math.max(this.start, to)));
  }

  _seek(when) {
    this.setPosition(when);
    this.onSeek(when);
  }
}
