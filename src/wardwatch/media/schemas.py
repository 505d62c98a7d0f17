"""Typed commands and views of the media plane: holds, timelines, playback, clips, storage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from wardwatch.registry.schemas import Command


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time must carry its offset (e.g. 2026-12-01T08:00:00Z)")
    return value.astimezone(UTC)


class TimeRange(Command):
    """A closed-open range [start, end) of wall-clock time, with an explicit offset."""

    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _with_offset(cls, value: datetime) -> datetime:
        return _aware(value)

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class HoldCreate(TimeRange):
    reason: str = Field(min_length=3, max_length=2000)


class HoldLift(Command):
    reason: str = Field(min_length=3, max_length=2000)


class HoldView(BaseModel):
    id: str
    camera_id: str
    facility_id: str
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime
    lifted_by: str | None
    lifted_at: datetime | None
    lift_reason: str | None
    active: bool


class FootageRequest(TimeRange):
    """A look at recorded footage: which range, and for which of the camera's purposes."""

    purpose: str = Field(min_length=1, max_length=60)


class RangeView(BaseModel):
    start: datetime
    end: datetime


class GapView(BaseModel):
    start: datetime
    end: datetime | None
    reason: str
    detail: str


class TimelineView(BaseModel):
    camera_id: str
    start: datetime
    end: datetime
    recorded: list[RangeView]
    gaps: list[GapView]


class SegmentRef(BaseModel):
    id: str
    start: datetime
    end: datetime
    bytes: int
    url: str


class PlaybackView(BaseModel):
    session_id: str
    camera_id: str
    purpose: str
    start: datetime
    end: datetime
    expires_at: datetime
    segments: list[SegmentRef]
    gaps: list[GapView]


class ClipView(BaseModel):
    id: str
    camera_id: str
    facility_id: str
    start: datetime
    end: datetime
    purpose: str
    bytes: int
    sha256: str
    created_by: str
    created_at: datetime
    download_url: str
    manifest: dict[str, Any]


class StorageAlertView(BaseModel):
    id: str
    level: str
    used_pct: float
    detail: str
    deleted_segments: int
    deleted_bytes: int
    opened_at: datetime
    updated_at: datetime
    cleared_at: datetime | None


class StorageView(BaseModel):
    used_pct: float
    disk_used_pct: float
    quota_used_pct: float | None
    recordings_bytes: int
    disk_total_bytes: int
    disk_free_bytes: int
    warning_pct: float
    critical_pct: float
    alerts: list[StorageAlertView]


class StreamStatusView(BaseModel):
    camera_id: str
    status: str
    reason: str
    since: datetime
    details: dict[str, Any]
