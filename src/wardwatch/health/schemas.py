"""Typed commands and views of the health wing: camera states, uptime, evidence, incidents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from wardwatch.health.model import HealthState, IncidentStatus, Reason, Uptime
from wardwatch.kernel.i18n import t
from wardwatch.registry.schemas import Command


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("a time must carry its offset (e.g. 2026-12-01T08:00:00Z)")
    return value.astimezone(UTC)


class ReasonView(BaseModel):
    code: str
    params: dict[str, Any]
    text: str
    """The reason in the caller's language."""

    @classmethod
    def of(cls, reason: Reason | dict[str, Any] | None, locale: str | None = None) -> ReasonView:
        if isinstance(reason, dict):
            reason = Reason(str(reason.get("code") or "none"), dict(reason.get("params") or {}))
        reason = reason or Reason("none")
        return cls(
            code=reason.code,
            params=reason.params,
            text=t(f"health.reason.{reason.code}", locale, **reason.params),
        )


class CameraHealthView(BaseModel):
    camera_id: str
    facility_id: str
    state: HealthState
    reason: ReasonView
    since: datetime
    fault_since: datetime | None
    recorder: str
    """What the recorder's connection says (``online``, ``offline``, ``auth_failed``, ...)."""
    analyser: str
    """What the picture analysis's own connection says."""
    picture: HealthState
    """What the picture analysis says (``ok`` or a picture fault)."""
    measured: dict[str, Any]
    """The latest measurements of the picture and the camera's learnt normal."""
    learnt: bool
    evidence_id: str | None
    open_incident_id: str | None
    seen_at: datetime


class HealthPeriodView(BaseModel):
    state: HealthState
    reason: ReasonView
    start: datetime
    end: datetime | None
    evidence_id: str | None


class CameraHistoryView(BaseModel):
    camera_id: str
    start: datetime
    end: datetime
    periods: list[HealthPeriodView]


class UptimeFigures(BaseModel):
    seconds: dict[str, float]
    """Seconds per health state inside the range (``unknown``: not watched or before the first report)."""
    up_s: float
    down_s: float
    """No video at all (offline, authentication failed)."""
    impaired_s: float
    """Video, but not fit for supervision (black, covered, frozen, moved, degraded)."""
    unknown_s: float
    uptime_pct: float | None
    """Time fit for supervision out of the time the state was known."""
    availability_pct: float | None
    """Time video arrived at all out of the time the state was known."""

    @classmethod
    def of(cls, figures: Uptime) -> dict[str, Any]:
        return {
            "seconds": {state.value: round(s, 3) for state, s in sorted(figures.seconds.items())},
            "up_s": round(figures.up_s, 3),
            "down_s": round(figures.down_s, 3),
            "impaired_s": round(figures.impaired_s, 3),
            "unknown_s": round(figures.unknown_s, 3),
            "uptime_pct": figures.uptime_pct,
            "availability_pct": figures.availability_pct,
        }


class CameraUptime(UptimeFigures):
    camera_id: str
    facility_id: str


class FacilityUptime(UptimeFigures):
    facility_id: str
    cameras: int


class UptimeView(BaseModel):
    node_id: str
    start: datetime
    end: datetime
    total: UptimeFigures
    facilities: list[FacilityUptime]
    cameras: list[CameraUptime]


# ---------------------------------------------------------------- incidents


class RepairRecord(Command):
    """What was done to the camera, and by whom (a technician need not have an account)."""

    action: str = Field(min_length=3, max_length=4000)
    repaired_by: str = Field(min_length=2, max_length=200)
    repaired_at: datetime | None = None
    """Default: when it is recorded."""

    @field_validator("repaired_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class FallbackRecord(Command):
    """The fallback supervision applied while the camera was out, e.g. a guard at 3F corridor."""

    measure: str = Field(min_length=3, max_length=2000)
    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _with_offset(cls, value: datetime) -> datetime:
        aware = _aware(value)
        assert aware is not None
        return aware

    @model_validator(mode="after")
    def _ordered(self) -> FallbackRecord:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class IncidentAck(Command):
    note: str | None = Field(None, max_length=2000)


class IncidentNote(Command):
    text: str = Field(min_length=1, max_length=4000)


class IncidentClose(Command):
    """A person confirms the camera is fixed. Records may come along or be made before."""

    repair: RepairRecord | None = None
    fallback: FallbackRecord | None = None
    note: str | None = Field(None, max_length=2000)


class IncidentEventView(BaseModel):
    id: str
    at: datetime
    kind: str
    actor: str
    actor_name: str
    details: dict[str, Any]


class IncidentView(BaseModel):
    id: str
    camera_id: str
    camera_name: str
    facility_id: str
    status: IncidentStatus
    fault: HealthState
    """The fault that opened the incident."""
    faults: list[HealthState]
    """Every fault seen while it was open."""
    reason: ReasonView
    fault_started_at: datetime
    opened_at: datetime
    recovered_at: datetime | None
    outage_s: float
    """From the fault to the recovery (or until now): the time without fit supervision."""
    fallback_required: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    repair: dict[str, Any] | None
    fallback: dict[str, Any] | None
    closed_at: datetime | None
    closed_by: str | None
    close_note: str | None
    evidence_id: str | None
    timeline: list[IncidentEventView] = []


class IncidentSummary(BaseModel):
    """An incident not yet closed, as other wings (duty handovers) list it."""

    id: str
    camera_id: str
    camera_name: str
    facility_id: str
    facility_path: str
    status: IncidentStatus
    fault: HealthState
    fault_started_at: datetime
    opened_at: datetime
    recovered_at: datetime | None
    acknowledged: bool
    repair_recorded: bool
    fallback_recorded: bool


class TimeRange(Command):
    """A closed-open range [start, end) with explicit offsets."""

    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _with_offset(cls, value: datetime) -> datetime:
        aware = _aware(value)
        assert aware is not None
        return aware

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RebaselineView(BaseModel):
    camera_id: str
    relearning: bool
    """Whether a running analysis started learning the camera's normal again right away."""
