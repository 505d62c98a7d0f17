"""Typed commands and views of the duty wing: shifts, coverage, logbook, handovers, breaches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from wardwatch.duty.model import BreachCategory, BreachSource, BreachStatus, GapReason, LogKind
from wardwatch.registry.schemas import Command

Id = Field(min_length=1, max_length=26)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("a time must carry its offset (e.g. 2026-12-01T08:00:00Z)")
    return value.astimezone(UTC)


class ShiftCreate(Command):
    """A shift of the roster of ``node_id`` (a facility, or a monitoring centre).

    ``covers`` lists the nodes watched; covering a node covers every facility in its
    subtree. A facility's own shift covers the facility (leave ``covers`` empty); a
    monitoring centre's shift must name what it covers, inside its parent's subtree.
    """

    node_id: str = Id
    covers: list[str] = Field(default_factory=list, max_length=200)
    label: str = Field("", max_length=200)
    starts_at: datetime
    ends_at: datetime
    operator_ids: list[str] = Field(min_length=1, max_length=20)

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _ordered(self) -> ShiftCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class ShiftCancel(Command):
    reason: str = Field(min_length=3, max_length=2000)


class ShiftStart(Command):
    """Taking a shift without a handover to acknowledge; the reason is kept on record."""

    reason: str = Field("", max_length=2000)


class ShiftOperatorView(BaseModel):
    user_id: str
    username: str
    taken_at: datetime | None
    handover_id: str | None


class ShiftView(BaseModel):
    id: str
    node_id: str
    label: str
    starts_at: datetime
    ends_at: datetime
    covers: list[str]
    operators: list[ShiftOperatorView]
    taken: bool
    handover_in: str | None
    """The handover written to this shift, if any (the incoming operator acknowledges it)."""
    handover_out: str | None
    """The handover this shift's operator wrote to the next one, if any."""
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None


class GapView(BaseModel):
    start: datetime
    end: datetime
    start_local: str
    end_local: str
    reason: GapReason
    reason_label: str


class OnDutyView(BaseModel):
    user_id: str
    username: str
    shift_id: str
    since: datetime
    until: datetime


class FacilityCoverageView(BaseModel):
    facility_id: str
    name: str
    timezone: str
    covered_seconds: int
    gaps: list[GapView]
    on_duty: list[OnDutyView]


class CoverageView(BaseModel):
    node_id: str | None
    start: datetime
    end: datetime
    evaluated_at: datetime
    takeover_grace_minutes: int
    facilities: list[FacilityCoverageView]


class LiveGapView(BaseModel):
    id: str
    facility_id: str
    reason: GapReason
    started_at: datetime
    detected_at: datetime
    ended_at: datetime | None
    recipients: int


class LogEntryCreate(Command):
    facility_id: str = Id
    kind: LogKind
    text: str = Field(min_length=1, max_length=10_000)
    occurred_at: datetime | None = None
    """When it happened (default: now); never in the future."""
    shift_id: str | None = None
    """Default: the author's shift in force over the facility, if any."""
    corrects_id: str | None = None
    """The entry this one corrects; entries are never edited."""
    ref_type: str | None = Field(None, max_length=40)
    ref_id: str | None = Field(None, max_length=60)

    @field_validator("occurred_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)

    @model_validator(mode="after")
    def _ref_pair(self) -> LogEntryCreate:
        if (self.ref_type is None) != (self.ref_id is None):
            raise ValueError("ref_type and ref_id go together")
        return self


class LogEntryView(BaseModel):
    id: str
    facility_id: str
    shift_id: str | None
    kind: LogKind
    kind_label: str
    text: str
    system: bool
    occurred_at: datetime
    recorded_at: datetime
    author_id: str
    author_name: str
    corrects_id: str | None
    corrected_by: list[str]
    ref_type: str | None
    ref_id: str | None


class OpenItemView(BaseModel):
    kind: str
    id: str
    node_id: str
    summary: str
    severity: str
    since: datetime | None
    details: dict[str, Any]


class HandoverCreate(Command):
    summary: str = Field(min_length=1, max_length=20_000)
    to_shift_id: str | None = None
    """The incoming shift; default: the next shift that covers the same facilities."""


class HandoverAcknowledge(Command):
    note: str = Field("", max_length=4000)


class HandoverView(BaseModel):
    id: str
    from_shift_id: str
    to_shift_id: str
    summary: str
    open_items: list[OpenItemView]
    checked: list[str]
    """The kinds of open item that were asked for (none open of a kind: nothing listed)."""
    unavailable: list[str]
    """The kinds that could not be listed (no wing provides them, or the wing failed)."""
    written_by: str
    written_by_name: str
    written_at: datetime
    acknowledged_by: str | None
    acknowledged_by_name: str | None
    acknowledged_at: datetime | None
    ack_note: str | None


class BreachCreate(Command):
    camera_id: str = Id
    category: BreachCategory
    occurred_at: datetime
    note: str = Field(min_length=3, max_length=4000)
    source: BreachSource
    snapshot_at: datetime | None = None
    """The capture time of the frame flagged (live view or playback): the footage reference."""
    clip_id: str | None = Field(None, max_length=26)
    """An exported clip of the same camera holding the breach."""

    @field_validator("occurred_at", "snapshot_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class RemedyRecord(Command):
    action: str = Field(min_length=3, max_length=4000)
    """What the facility did."""
    performed_by: str = Field(min_length=1, max_length=200)
    """Who at the facility did it."""
    performed_at: datetime | None = None

    @field_validator("performed_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class StepNote(Command):
    note: str = Field("", max_length=4000)


class RejectRemedy(Command):
    note: str = Field(min_length=3, max_length=4000)
    """Why the remedy does not hold."""


class BreachEventView(BaseModel):
    step: str
    step_label: str
    actor_id: str
    actor_name: str
    at: datetime
    note: str
    details: dict[str, Any]


class RemedyView(BaseModel):
    action: str
    performed_by: str
    performed_at: datetime
    recorded_by: str
    recorded_at: datetime


class BreachView(BaseModel):
    id: str
    facility_id: str
    camera_id: str
    category: BreachCategory
    category_label: str
    source: BreachSource
    occurred_at: datetime
    note: str
    snapshot_at: datetime | None
    clip_id: str | None
    shift_id: str | None
    status: BreachStatus
    status_label: str
    allowed_steps: list[str]
    reported_by: str
    reported_by_name: str
    reported_at: datetime
    remedy: RemedyView | None
    verified_by: str | None
    verified_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    timeline: list[BreachEventView]
