"""The rules of camera health, whatever measures the picture and wherever it is stored.

A camera's health state is the worst of two things: its link (does video arrive at all:
``offline``, ``auth_failed``) and its picture (``black``, ``frozen``, ``covered``,
``moved``, ``degraded``). The picture rules judge each analysed keyframe against the
camera's *own* history, never against a fixed idea of what a picture looks like: a dark
corridor at night is dark every night, and a static corridor full of sensor noise keeps
changing from one keyframe to the next. A condition is reported only once it held for
several keyframes in a row, and cleared only once it has been gone for several, so one
odd keyframe never raises or clears anything. While a condition is suspected, nothing is
learnt from the picture, so a slow fault cannot teach the baseline that it is normal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class HealthState(StrEnum):
    """What a camera's supervision is worth right now."""

    UNKNOWN = "unknown"
    """Not watched (inactive, WardWatch stopped) or nothing reported yet."""
    OK = "ok"
    OFFLINE = "offline"
    """No packets: refused, unreachable, stalled, or a stream WardWatch cannot use."""
    AUTH_FAILED = "auth_failed"
    BLACK = "black"
    """Black or blank: almost every pixel has the same value."""
    FROZEN = "frozen"
    """The picture no longer changes, while the camera's own normal is a changing picture."""
    COVERED = "covered"
    """Covered or blurred: fine detail collapsed against the camera's own baseline."""
    MOVED = "moved"
    """Moved or tampered: the scene no longer matches the stored reference keyframe."""
    DEGRADED = "degraded"
    """Frame rate or bitrate well below the camera's normal, or the analysis cannot run."""


PRIORITY: tuple[HealthState, ...] = (
    HealthState.OFFLINE,
    HealthState.AUTH_FAILED,
    HealthState.BLACK,
    HealthState.COVERED,
    HealthState.FROZEN,
    HealthState.MOVED,
    HealthState.DEGRADED,
    HealthState.OK,
    HealthState.UNKNOWN,
)
"""Worst first: when several hold, the camera is in the first of them.

A covered lens comes before a frozen picture because a blurred picture also changes
little between keyframes (its fine noise is gone): judged the other way round, a cap on
the lens would be reported as a frozen encoder."""

FAULTS = frozenset(PRIORITY[:7])
DOWN = frozenset({HealthState.OFFLINE, HealthState.AUTH_FAILED})
"""No video at all."""
IMPAIRED = frozenset(FAULTS - DOWN)
"""Video arrives but is not fit for supervision."""
PICTURE_CONDITIONS = frozenset({HealthState.OK, *IMPAIRED})
"""What the picture analysis can report."""


def worst(states: Iterable[HealthState]) -> HealthState:
    found = set(states)
    return next((s for s in PRIORITY if s in found), HealthState.UNKNOWN)


# ---------------------------------------------------------------- link


class LinkStatus(StrEnum):
    """The state of the connection that carries a camera's video (recorder or analyser)."""

    UNKNOWN = "unknown"
    ONLINE = "online"
    OFFLINE = "offline"
    AUTH_FAILED = "auth_failed"
    DEGRADED = "degraded"
    LOST = "lost"
    """Nobody is watching: the analysis worker that held this connection died."""


_RECORDER_LINK = {
    "online": LinkStatus.ONLINE,
    "offline": LinkStatus.OFFLINE,
    "auth_failed": LinkStatus.AUTH_FAILED,
    "unsupported": LinkStatus.OFFLINE,
    "degraded": LinkStatus.DEGRADED,
}


def recorder_link(status: str) -> LinkStatus | None:
    """A recorder's stream status as a link state; None for ones that say nothing about the
    camera (``connecting``, ``stopped`` when recording ends or WardWatch shuts down)."""
    return _RECORDER_LINK.get(status)


@dataclass(frozen=True)
class Reason:
    """Why a camera is in its state, as a catalog code (``health.reason.<code>``) and values."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "params": self.params}


NO_REASON = Reason("none")

_RECORDER_REASONS = {
    "connection refused": "link_refused",
    "no data: the connection timed out": "link_timeout",
    "the camera refused the credentials": "link_auth",
}


def recorder_reason(status: str, text: str, details: dict[str, Any] | None = None) -> Reason:
    """The recorder's English reason as a catalog code where it is one we know."""
    details = details or {}
    if status == "degraded" and "fps" in details:
        return Reason("fps_low", {"value": details.get("fps"), "normal": details.get("nominal")})
    if status == "unsupported":
        return Reason("link_unsupported", {"detail": text})
    code = _RECORDER_REASONS.get(text)
    return Reason(code) if code else Reason("link_other", {"detail": text})


@dataclass(frozen=True)
class Assessment:
    state: HealthState
    reason: Reason
    source: str
    """``recorder``, ``analyser`` or ``picture``: who saw it."""


_LINK_DOWN = {LinkStatus.OFFLINE: HealthState.OFFLINE, LinkStatus.AUTH_FAILED: HealthState.AUTH_FAILED}


def assess(
    *,
    recorder: LinkStatus,
    recorder_reason: Reason,
    analyser: LinkStatus,
    analyser_reason: Reason,
    picture: HealthState,
    picture_reason: Reason,
    recording: bool,
    lost_while_recorded_s: float = 0.0,
    grace_s: float = 20.0,
) -> Assessment:
    """The camera's state from its two connections and its picture.

    Either connection losing the camera is reported at once: the recorder's (main
    stream) while it records, and the analyser's own (sub stream), which notices a stall
    within seconds. Only when the recorder has been receiving video for ``grace_s`` while
    the analyser could not (``lost_while_recorded_s``) is the loss the analysis stream's
    alone (both reconnect with backoff after an outage, so one may lag): then the camera is
    ``degraded`` (its picture cannot be checked), said out loud, and no stale picture
    verdict stands in for one that cannot be made.
    """
    if recording and recorder in _LINK_DOWN:
        return Assessment(_LINK_DOWN[recorder], recorder_reason, "recorder")
    analysis_lost = analyser == LinkStatus.LOST
    if analysis_lost:
        pass  # the analysis stopped, not the camera: its picture is unchecked, said below
    elif analyser in _LINK_DOWN:
        recorder_sees = recording and recorder in (LinkStatus.ONLINE, LinkStatus.DEGRADED)
        if not recorder_sees or lost_while_recorded_s < grace_s:
            return Assessment(_LINK_DOWN[analyser], analyser_reason, "analyser")
        analysis_lost = True
    if not analysis_lost and picture in IMPAIRED and picture != HealthState.DEGRADED:
        return Assessment(picture, picture_reason, "picture")
    if recording and recorder == LinkStatus.DEGRADED:
        return Assessment(HealthState.DEGRADED, recorder_reason, "recorder")
    if analysis_lost:
        reason = (
            analyser_reason
            if analyser == LinkStatus.LOST
            else Reason("analysis_unavailable", {"cause": analyser_reason.code})
        )
        return Assessment(HealthState.DEGRADED, reason, "analyser")
    if picture == HealthState.DEGRADED:
        return Assessment(picture, picture_reason, "picture")
    if not (recording and recorder != LinkStatus.UNKNOWN) and analyser == LinkStatus.UNKNOWN:
        return Assessment(HealthState.UNKNOWN, Reason("waiting"), "analyser")
    return Assessment(HealthState.OK, NO_REASON, "recorder" if recording else "analyser")


# ---------------------------------------------------------------- picture analysis


@dataclass(frozen=True)
class Thresholds:
    """How far from its own normal a camera's picture must go, and for how many keyframes."""

    learn_samples: int = 10
    blank_uniform: float = 0.9
    frozen_ratio: float = 0.5
    frozen_absolute: float = 0.1
    covered_ratio: float = 0.4
    moved_similarity: float = 0.8
    degraded_fps_ratio: float = 0.5
    degraded_bitrate_ratio: float = 0.2
    confirm: dict[HealthState, int] = field(
        default_factory=lambda: {
            HealthState.BLACK: 2,
            HealthState.FROZEN: 3,
            HealthState.COVERED: 3,
            HealthState.MOVED: 5,
            HealthState.DEGRADED: 10,
        }
    )
    recover_confirm: int = 2
    learning_rate: float = 0.02
    """Weight of one healthy keyframe in the baselines once learnt (about 50 keyframes' memory)."""
    reference_rate: float = 0.02
    """Weight of one clearly matching keyframe in the reference (follows daylight, not a move)."""
    reference_margin: float = 0.1
    """A keyframe updates the reference only when it matches it this much better than the
    ``moved_similarity`` threshold."""


@dataclass(frozen=True)
class Features:
    """What one analysed keyframe measured (see ``features.py`` for how)."""

    luma: float
    """Mean luma, 0 to 255."""
    uniform: float
    """Share of pixels within a narrow band around the median: 1.0 is a flat picture."""
    sharpness: float
    """Fine detail relative to coarse contrast, median over tiles (brightness-independent)."""
    motion: float | None
    """Median over tiles of the mean absolute change since the previous analysed keyframe."""
    similarity: float | None
    """Normalised correlation with the reference thumbnail (1.0: the same scene)."""
    fps: float | None = None
    kbps: float | None = None

    def measured(self) -> dict[str, float | None]:
        return {
            "luma": _round(self.luma),
            "uniform": _round(self.uniform, 4),
            "sharpness": _round(self.sharpness, 4),
            "motion": _round(self.motion),
            "similarity": _round(self.similarity, 4),
            "fps": _round(self.fps),
            "kbps": _round(self.kbps, 1),
        }


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


@dataclass
class Stat:
    """A running mean: exact while learning, then exponentially weighted."""

    mean: float = 0.0
    n: int = 0

    def add(self, value: float, rate: float, learn: int) -> None:
        self.n += 1
        weight = 1.0 / self.n if self.n <= learn else rate
        self.mean += weight * (value - self.mean)

    def ready(self, learn: int) -> bool:
        return self.n >= learn


@dataclass
class Baseline:
    """A camera's own normal, learnt from its healthy keyframes and kept across restarts."""

    samples: int = 0
    reference_samples: int = 0
    """Thumbnails averaged into the stored reference keyframe."""
    luma: Stat = field(default_factory=Stat)
    sharpness: Stat = field(default_factory=Stat)
    motion: Stat = field(default_factory=Stat)
    fps: Stat = field(default_factory=Stat)
    kbps: Stat = field(default_factory=Stat)

    def learnt(self, thresholds: Thresholds) -> bool:
        return self.samples >= thresholds.learn_samples

    def to_dict(self) -> dict[str, Any]:
        stats = {name: getattr(self, name) for name in _STATS}
        return {
            "samples": self.samples,
            "reference_samples": self.reference_samples,
            **{name: {"mean": round(s.mean, 6), "n": s.n} for name, s in stats.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Baseline:
        if not data:
            return cls()
        baseline = cls(
            samples=int(data.get("samples", 0)), reference_samples=int(data.get("reference_samples", 0))
        )
        for name in _STATS:
            raw = data.get(name) or {}
            setattr(baseline, name, Stat(float(raw.get("mean", 0.0)), int(raw.get("n", 0))))
        return baseline


_STATS = ("luma", "sharpness", "motion", "fps", "kbps")


@dataclass(frozen=True)
class Verdict:
    """A change of the reported picture condition, with why."""

    condition: HealthState
    reason: Reason
    measured: dict[str, Any]


def _candidate(f: Features, b: Baseline, t: Thresholds) -> tuple[HealthState, Reason] | None:
    """The worst condition this keyframe suggests on its own, and the numbers behind it."""
    learnt = b.learnt(t)
    if f.uniform >= t.blank_uniform:
        return HealthState.BLACK, Reason(
            "flat", {"uniform_pct": round(100 * f.uniform), "luma": round(f.luma)}
        )
    if learnt and b.sharpness.mean > 0 and f.sharpness < t.covered_ratio * b.sharpness.mean:
        return HealthState.COVERED, _vs("detail_lost", f.sharpness, b.sharpness.mean, 3)
    if f.motion is not None:
        normal = b.motion.mean if learnt else 0.0
        if f.motion <= t.frozen_absolute or (normal > 0 and f.motion < t.frozen_ratio * normal):
            return HealthState.FROZEN, _vs("static", f.motion, normal, 2)
    if f.similarity is not None and f.similarity < t.moved_similarity:
        return HealthState.MOVED, _vs("scene_changed", f.similarity, t.moved_similarity, 2)
    if learnt and f.fps is not None and b.fps.mean > 0 and f.fps < t.degraded_fps_ratio * b.fps.mean:
        return HealthState.DEGRADED, _vs("fps_low", f.fps, b.fps.mean, 1)
    if learnt and f.kbps is not None and b.kbps.mean > 0 and f.kbps < t.degraded_bitrate_ratio * b.kbps.mean:
        return HealthState.DEGRADED, _vs("bitrate_low", f.kbps, b.kbps.mean, 0)
    return None


def _vs(code: str, value: float, normal: float, digits: int) -> Reason:
    return Reason(code, {"value": round(value, digits), "normal": round(normal, digits)})


class PictureMonitor:
    """Turns a camera's stream of keyframe measurements into confirmed picture conditions.

    At most one condition is suspected per keyframe (the worst one it shows), and it
    must be suspected for ``confirm[condition]`` keyframes in a row to be reported. A
    reported condition stays until it was absent for ``recover_confirm`` keyframes and the
    latest keyframe suggests nothing else, or until another one is confirmed. The
    reference for ``moved`` is the mean of the learning keyframes' thumbnails (a
    passer-by is averaged away), and afterwards follows slow change (daylight) through
    keyframes that clearly match it.
    """

    def __init__(self, thresholds: Thresholds, baseline: Baseline | None = None) -> None:
        self.t = thresholds
        self.baseline = baseline or Baseline()
        self.condition = HealthState.OK
        self.reason = NO_REASON
        self._suspect: HealthState | None = None
        self._streak = 0
        self._clear = 0

    @property
    def learnt(self) -> bool:
        return self.baseline.learnt(self.t)

    def observe(self, features: Features) -> Verdict | None:
        """Judge one keyframe; returns a Verdict when the reported condition changes."""
        t = self.t
        suspected = _candidate(features, self.baseline, t)
        state = suspected[0] if suspected else None
        if state is not None and state == self._suspect:
            self._streak += 1
        else:
            self._suspect, self._streak = state, (1 if state else 0)
        self._clear = self._clear + 1 if state != self.condition else 0
        if suspected is None and self.condition == HealthState.OK:
            self._learn(features)
        new, reason = self.condition, self.reason
        if state is not None and self._streak >= t.confirm.get(state, 1):
            current_worse = (
                self.condition != HealthState.OK
                and PRIORITY.index(self.condition) < PRIORITY.index(state)
                and self._clear < t.recover_confirm
            )
            if not current_worse:
                new, reason = state, suspected[1] if suspected else NO_REASON
        elif self.condition != HealthState.OK and self._clear >= t.recover_confirm and state is None:
            # Only a clean keyframe clears a fault: while another one is building up, the
            # camera is not reported working in between (black, then "ok", then moved).
            new, reason = HealthState.OK, NO_REASON
        if new == self.condition:
            if new != HealthState.OK and state == new and suspected is not None:
                self.reason = suspected[1]
            return None
        self.condition, self.reason = new, reason
        self._clear = 0
        return Verdict(new, reason, features.measured() | self.normals())

    def normals(self) -> dict[str, Any]:
        b = self.baseline
        return {
            "learnt": self.learnt,
            "samples": b.samples,
            "sharpness_normal": _round(b.sharpness.mean, 4),
            "motion_normal": _round(b.motion.mean),
            "fps_normal": _round(b.fps.mean),
            "kbps_normal": _round(b.kbps.mean, 1),
        }

    def _learn(self, f: Features) -> None:
        b, t = self.baseline, self.t
        b.samples += 1
        b.luma.add(f.luma, t.learning_rate, t.learn_samples)
        b.sharpness.add(f.sharpness, t.learning_rate, t.learn_samples)
        if f.motion is not None:
            b.motion.add(f.motion, t.learning_rate, t.learn_samples)
        if f.fps is not None:
            b.fps.add(f.fps, t.learning_rate, t.learn_samples)
        if f.kbps is not None:
            b.kbps.add(f.kbps, t.learning_rate, t.learn_samples)

    def reference_weight(self, features: Features) -> float | None:
        """How much of this keyframe's thumbnail goes into the reference (None: leave it).

        Until ``learn_samples`` healthy thumbnails are in, each counts equally (the
        reference is their mean); afterwards only keyframes that clearly match it, in a
        healthy picture, nudge it. Call after ``observe`` for the same keyframe.
        """
        if self.condition != HealthState.OK or self._suspect is not None:
            return None
        count = self.baseline.reference_samples
        if count < self.t.learn_samples:
            return 1.0 / (count + 1)
        if features.similarity is not None and (
            features.similarity >= self.t.moved_similarity + self.t.reference_margin
        ):
            return self.t.reference_rate
        return None

    def took_reference(self) -> None:
        self.baseline.reference_samples += 1

    @property
    def reference_ready(self) -> bool:
        return self.baseline.reference_samples >= self.t.learn_samples

    def reset(self) -> None:
        """Forget the camera's normal (after it was deliberately re-aimed or replaced)."""
        self.baseline = Baseline()
        self.condition, self.reason = HealthState.OK, NO_REASON
        self._suspect, self._streak, self._clear = None, 0, 0


# ---------------------------------------------------------------- uptime


@dataclass(frozen=True)
class Period:
    state: HealthState
    start: datetime
    end: datetime | None
    """None: still going on."""


@dataclass
class Uptime:
    """Seconds per state within a range, and the two figures people ask for."""

    seconds: dict[HealthState, float] = field(default_factory=dict)

    def add(self, state: HealthState, seconds: float) -> None:
        if seconds > 0:
            self.seconds[state] = self.seconds.get(state, 0.0) + seconds

    def merge(self, other: Uptime) -> None:
        for state, seconds in other.seconds.items():
            self.add(state, seconds)

    @property
    def up_s(self) -> float:
        return self.seconds.get(HealthState.OK, 0.0)

    @property
    def down_s(self) -> float:
        return sum(self.seconds.get(s, 0.0) for s in DOWN)

    @property
    def impaired_s(self) -> float:
        return sum(self.seconds.get(s, 0.0) for s in IMPAIRED)

    @property
    def unknown_s(self) -> float:
        return self.seconds.get(HealthState.UNKNOWN, 0.0)

    @property
    def uptime_pct(self) -> float | None:
        """Time fit for supervision, out of the time the camera's state was known."""
        known = self.up_s + self.down_s + self.impaired_s
        return round(100.0 * self.up_s / known, 3) if known else None

    @property
    def availability_pct(self) -> float | None:
        """Time video arrived at all (impaired pictures included), out of the known time."""
        known = self.up_s + self.down_s + self.impaired_s
        return round(100.0 * (self.up_s + self.impaired_s) / known, 3) if known else None


def uptime(periods: Iterable[Period], start: datetime, end: datetime, now: datetime) -> Uptime:
    """Seconds per state of one camera in [start, end); time no period covers is unknown."""
    result = Uptime()
    covered = 0.0
    horizon = min(end, now)
    for period in periods:
        lo = max(start, period.start)
        hi = min(horizon, period.end or now)
        if hi > lo:
            seconds = (hi - lo).total_seconds()
            result.add(period.state, seconds)
            covered += seconds
    total = max(0.0, (horizon - start).total_seconds())
    result.add(HealthState.UNKNOWN, total - covered)
    return result


# ---------------------------------------------------------------- incidents


class IncidentStatus(StrEnum):
    OPEN = "open"
    """The fault is present (it lasted beyond the debounce)."""
    RECOVERED = "recovered"
    """The camera works again; a person must still confirm and close."""
    CLOSED = "closed"


class IncidentEventKind(StrEnum):
    """What an incident's timeline records."""

    OPENED = "opened"
    FAULT_CHANGED = "fault_changed"
    RECOVERED = "recovered"
    RECURRED = "recurred"
    ACKNOWLEDGED = "acknowledged"
    NOTE = "note"
    REPAIR = "repair"
    FALLBACK = "fallback"
    FALLBACK_DUE = "fallback_due"
    CLOSED = "closed"


REASON_CODES = (
    "none",
    "waiting",
    "flat",
    "detail_lost",
    "static",
    "scene_changed",
    "fps_low",
    "bitrate_low",
    "link_refused",
    "link_timeout",
    "link_auth",
    "link_closed",
    "link_stalled",
    "link_no_video",
    "link_unsupported",
    "link_other",
    "analysis_unavailable",
    "analysis_worker_died",
    "no_keyframes",
    "rebaselined",
    "camera_inactive",
    "monitoring_stopped",
    "monitoring_restarted",
)
"""Every ``Reason.code``; each has ``health.reason.<code>`` in all catalogs."""


def outage(fault_started_at: datetime, recovered_at: datetime | None, now: datetime) -> timedelta:
    """How long the camera went without fit supervision: from the fault to its recovery.

    The fallback measure covers exactly that time ("until then a fallback form of
    supervision is applied"), so how long a person takes to confirm a recovered camera
    does not count.
    """
    return max(timedelta(0), (recovered_at or now) - fault_started_at)


def close_missing(
    *, has_repair: bool, has_fallback: bool, outage_time: timedelta, fallback_after: timedelta
) -> list[str]:
    """The records an incident still lacks before it may be closed (empty: none)."""
    missing = []
    if not has_repair:
        missing.append("repair")
    if outage_time > fallback_after and not has_fallback:
        missing.append("fallback")
    return missing


def debounce_due(fault_since: datetime | None, now: datetime, debounce: timedelta) -> bool:
    """Whether a fault has lasted long enough to open (or reopen) an incident."""
    return fault_since is not None and now - fault_since >= debounce


def confirm_count(seconds: float, interval_s: float) -> int:
    """How many keyframes at ``interval_s`` span ``seconds`` (at least one)."""
    return max(1, math.ceil(seconds / interval_s))
