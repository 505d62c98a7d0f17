"""Duty rules that hold whatever the storage: coverage, takeover, the breach life cycle.

Coverage is computed, never stored: a facility is watched at a moment when a shift that
covers it is in force and counts as staffed then. Covering a node covers every facility
in its subtree, which is how a monitoring centre watches many facilities.

When a shift counts as staffed (the rule the coverage check and the live gap notice
share): an operator must *take* the shift, by acknowledging the outgoing operator's
handover or, with a reason, by starting it without one. A shift counts as staffed

- from its start for ``grace`` (the takeover grace), taken or not, so a handover a few
  minutes late is not a gap;
- after that, from the moment the first operator took it (or from its start, if taken
  within the grace) to its end;
- and, while its grace has not yet run out (a shift still to come, or one just begun),
  for its whole length, because it still may be taken in time.

So a shift nobody takes leaves a gap from ``start + grace`` to whenever someone takes it,
or to its end; a gap is "not taken" where a shift was assigned and "unstaffed" where
none was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import ClassVar

from wardwatch.kernel.errors import Invalid
from wardwatch.kernel.i18n import t

Interval = tuple[datetime, datetime]
"""A closed-open range [start, end)."""


class LogKind(StrEnum):
    """What a logbook entry records (the guidance's "logbook of operation and supervision")."""

    OBSERVATION = "observation"
    BREACH_SEEN = "breach_seen"
    MANAGER_NOTIFIED = "manager_notified"
    INCIDENT_ACTION = "incident_action"


class BreachCategory(StrEnum):
    """The closed list of breaches an operator can flag (quarantine and operating-room rules)."""

    LEFT_ROOM = "left_room"
    GATHERING = "gathering"
    NO_MASK = "no_mask"
    NO_DISTANCING = "no_distancing"
    UNAUTHORISED_ENTRY = "unauthorised_entry"
    UNAUTHORISED_HANDOVER_OF_ITEMS = "unauthorised_handover_of_items"
    PPE_NOT_WORN = "ppe_not_worn"
    WASTE_MISHANDLED = "waste_mishandled"
    DISINFECTION_SKIPPED = "disinfection_skipped"
    UNLICENSED_PRACTICE = "unlicensed_practice"
    OTHER = "other"


class BreachSource(StrEnum):
    LIVE = "live"
    PLAYBACK = "playback"


class BreachStatus(StrEnum):
    OPEN = "open"
    REMEDY_RECORDED = "remedy_recorded"
    REMEDY_VERIFIED = "remedy_verified"
    CLOSED = "closed"


class BreachStep(StrEnum):
    REPORT = "report"
    RECORD_REMEDY = "record_remedy"
    VERIFY_REMEDY = "verify_remedy"
    REJECT_REMEDY = "reject_remedy"
    CLOSE = "close"


class GapReason(StrEnum):
    UNSTAFFED = "unstaffed"
    """No shift covered the facility."""
    NOT_TAKEN = "not_taken"
    """A shift was assigned, but nobody took it within the takeover grace."""


BREACH_LIFECYCLE_RULE = "breach.lifecycle"
BREACH_FOUR_EYES_RULE = "breach.four_eyes"
OVERLAP_RULE = "roster.no_overlap"

_STEPS: dict[BreachStep, tuple[BreachStatus, BreachStatus]] = {
    BreachStep.RECORD_REMEDY: (BreachStatus.OPEN, BreachStatus.REMEDY_RECORDED),
    BreachStep.VERIFY_REMEDY: (BreachStatus.REMEDY_RECORDED, BreachStatus.REMEDY_VERIFIED),
    BreachStep.REJECT_REMEDY: (BreachStatus.REMEDY_RECORDED, BreachStatus.OPEN),
    BreachStep.CLOSE: (BreachStatus.REMEDY_VERIFIED, BreachStatus.CLOSED),
}


class DutyInvalid(Invalid):
    """A refusal whose parameters name duty states and steps, shown by their translated labels."""

    labels: ClassVar[dict[str, str]] = {
        "breach_status": "breach_status",
        "step": "breach_step",
        "node_kind": "org_kind",
    }

    def detail(self, locale: str | None = None) -> str:
        params = {
            key: t(f"{self.labels[key]}.{value}", locale) if key in self.labels else value
            for key, value in self.params.items()
        }
        return t(f"problem.{self.code}.detail", locale, **params)


def allowed_steps(status: BreachStatus) -> list[BreachStep]:
    return [step for step, (source, _) in _STEPS.items() if source == status]


def next_status(current: BreachStatus, step: BreachStep) -> BreachStatus:
    """The status ``step`` leads to from ``current``, or a refusal naming the rule."""
    source, target = _STEPS[step]
    if current != source:
        raise DutyInvalid(
            "breach_step_out_of_order",
            params={"step": step.value, "breach_status": current.value},
            extra={
                "rule": BREACH_LIFECYCLE_RULE,
                "status": current.value,
                "step": step.value,
                "allowed_steps": [s.value for s in allowed_steps(current)],
            },
        )
    return target


def check_four_eyes(step: BreachStep, actor_id: str, remedy_recorded_by: str | None) -> None:
    """Whoever recorded a remedy may not be the one who judges it."""
    if remedy_recorded_by is not None and actor_id == remedy_recorded_by:
        raise DutyInvalid(
            "breach_four_eyes",
            params={"step": step.value},
            extra={"rule": BREACH_FOUR_EYES_RULE, "step": step.value},
        )


# ---------------------------------------------------------------- intervals


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, merged intervals (touching ones join)."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract(window: Interval, taken: list[Interval]) -> list[Interval]:
    """The parts of ``window`` that no interval of (merged, sorted) ``taken`` touches."""
    start, end = window
    left: list[Interval] = []
    cursor = start
    for t_start, t_end in taken:
        if t_end <= cursor or t_start >= end:
            continue
        if t_start > cursor:
            left.append((cursor, t_start))
        cursor = max(cursor, t_end)
        if cursor >= end:
            break
    if cursor < end:
        left.append((cursor, end))
    return left


def intersect(window: Interval, intervals: list[Interval]) -> list[Interval]:
    start, end = window
    return [(max(start, a), min(end, b)) for a, b in intervals if a < end and b > start]


@dataclass(frozen=True)
class ShiftFacts:
    """What coverage needs to know about one (not cancelled) shift."""

    id: str
    starts_at: datetime
    ends_at: datetime
    taken_at: datetime | None
    """When the first of its operators took it; None while nobody has."""
    cover_paths: tuple[str, ...]

    def covers(self, facility_path: str) -> bool:
        """Covering a node covers every facility in its subtree."""
        return any(facility_path.startswith(path) for path in self.cover_paths)


def staffed(shift: ShiftFacts, now: datetime, grace: timedelta) -> list[Interval]:
    """When ``shift`` counts as staffed, judged at ``now`` (see the module's docstring)."""
    deadline = min(shift.starts_at + grace, shift.ends_at)
    if shift.taken_at is not None:
        if shift.taken_at <= deadline:
            return [(shift.starts_at, shift.ends_at)]
        return union([(shift.starts_at, deadline), (min(shift.taken_at, shift.ends_at), shift.ends_at)])
    if now < deadline:
        return [(shift.starts_at, shift.ends_at)]
    return [(shift.starts_at, deadline)]


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime
    reason: GapReason


def uncovered(
    window: Interval, shifts: Iterable[ShiftFacts], now: datetime, grace: timedelta
) -> list[Interval]:
    """The parts of ``window`` in which nobody is (or will be) on duty."""
    return subtract(window, union(i for s in shifts for i in staffed(s, now, grace)))


def gaps(window: Interval, shifts: list[ShiftFacts], now: datetime, grace: timedelta) -> list[Gap]:
    """Every period of ``window`` without anyone on duty, each with why."""
    scheduled = union((s.starts_at, s.ends_at) for s in shifts)
    found: list[Gap] = []
    for piece in uncovered(window, shifts, now, grace):
        assigned = intersect(piece, scheduled)
        for start, end in subtract(piece, assigned):
            found.append(Gap(start, end, GapReason.UNSTAFFED))
        for start, end in assigned:
            found.append(Gap(start, end, GapReason.NOT_TAKEN))
    return sorted(found, key=lambda g: g.start)


def live_gap(shifts: list[ShiftFacts], now: datetime, grace: timedelta, lookback: timedelta) -> Gap | None:
    """The gap ``now`` falls in, with its start (no earlier than ``now - lookback``), if any."""
    window = (now - lookback, now + timedelta(microseconds=1))
    pieces = uncovered(window, shifts, now, grace)
    if not pieces or pieces[-1][1] <= now or pieces[-1][0] > now:
        return None
    start = pieces[-1][0]
    in_force = [s for s in shifts if s.starts_at <= now < s.ends_at]
    return Gap(start, now, GapReason.NOT_TAKEN if in_force else GapReason.UNSTAFFED)


def overlaps(a: Interval, b: Interval) -> bool:
    """Whether two closed-open ranges share time (a shift ending at 14:00 and one starting then do not)."""
    return a[0] < b[1] and b[0] < a[1]


def coverage_related(paths_a: Iterable[str], paths_b: Iterable[str]) -> bool:
    """Whether two shifts' coverage shares at least one facility (one subtree holds the other)."""
    return any(a.startswith(b) or b.startswith(a) for a in paths_a for b in paths_b)
