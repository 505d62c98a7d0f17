"""Typed commands and views of the access wing, shared by the API and the services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from wardwatch.access.model import (
    Anaesthesia,
    Direction,
    DoorResult,
    ImportMode,
    LicenceStatus,
    ProcedureStatus,
    Profession,
    TerminalStatus,
    VerifyMode,
)
from wardwatch.registry.schemas import Command, Patch

SERIAL_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("a time must carry its offset (e.g. 2026-12-01T08:00:00+07:00)")
    return value.astimezone(UTC)


# ---------------------------------------------------------------- register


class PractitionerView(BaseModel):
    id: str
    authority_node_id: str
    licence_number: str
    person_id: str
    name: str
    profession: Profession
    scopes: list[str]
    lead_physician: bool
    valid_from: date
    valid_to: date | None
    status: LicenceStatus
    status_reason: str
    updated_at: datetime


class ImportResult(BaseModel):
    id: str
    node_id: str
    mode: ImportMode
    format: str
    filename: str
    sha256: str
    rows: int
    added: int
    changed: int
    unchanged: int
    revoked: int
    """Practitioners a full import left out, now revoked (always 0 for an incremental one)."""
    created_at: datetime


# ---------------------------------------------------------------- terminals


class TerminalCreate(Command):
    facility_id: str
    serial_number: str = Field(pattern=SERIAL_NUMBER)
    name: str = Field(min_length=1, max_length=200)
    door_ids: list[str] = Field(min_length=1, max_length=64)


class TerminalDoors(Command):
    door_ids: list[str] = Field(min_length=1, max_length=64)


class TerminalHealth(BaseModel):
    last_seen_at: datetime | None
    last_event_at: datetime | None
    high_serial: int | None
    events_accepted: int
    events_duplicate: int
    events_refused: int
    events_lost: int
    """Serials skipped and not (yet) delivered late: events that may be lost."""
    open_gaps: int
    last_refusal_reason: str | None
    last_refusal_at: datetime | None


class TerminalView(BaseModel):
    id: str
    facility_id: str
    serial_number: str
    name: str
    status: TerminalStatus
    user_id: str
    door_ids: list[str]
    health: TerminalHealth


class TerminalCreated(TerminalView):
    token: str
    """The bearer token the terminal authenticates with; shown once, never again."""


class AllowEntryView(BaseModel):
    person_id: str
    licence_number: str
    name: str
    profession: Profession
    valid_until: datetime | None
    """When the door must stop admitting this person even without another sync (licence end)."""


class AllowListView(BaseModel):
    terminal_id: str
    door_id: str
    version: int
    since: int | None
    full: bool
    """True: ``entries`` is the whole list (replace what you hold); false: changes since ``since``."""
    entries: list[AllowEntryView]
    removed: list[str]
    """Person ids to drop (incremental answers only)."""
    count: int
    hash: str
    """``list_hash`` of the whole list after applying this answer (see the README)."""


class ListReport(Command):
    person_ids: list[str] = Field(max_length=200_000)
    hash: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    version: int | None = Field(None, ge=0)


class ReconciliationView(BaseModel):
    terminal_id: str
    terminal_name: str
    serial_number: str
    facility_id: str
    door_id: str
    state: Literal["in_sync", "drifted", "unreported"]
    reported_at: datetime | None
    reported_count: int | None
    expected_count: int
    expected_hash: str
    missing: list[str]
    """Should be on the terminal and are not (would be refused at the door)."""
    extra: list[str]
    """Are on the terminal and should not be (the door would still admit them)."""
    hash_matches: bool


# ---------------------------------------------------------------- door events


class DoorEventIn(Command):
    """One event as a terminal reports it."""

    terminal: str | None = Field(None, pattern=SERIAL_NUMBER)
    """The terminal's serial number; required over MQTT, checked against the token over HTTP."""
    serial: int = Field(ge=0, lt=2**62)
    """The terminal's running event number: one more for every event it records."""
    time: datetime
    door_id: str | None = Field(None, min_length=1, max_length=26)
    person_id: str | None = Field(None, min_length=1, max_length=128)
    credential_id: str | None = Field(None, min_length=1, max_length=128)
    verify_mode: VerifyMode | None = None
    result: DoorResult
    direction: Direction | None = None

    @field_validator("time")
    @classmethod
    def _offset(cls, value: datetime) -> datetime:
        aware = _aware(value)
        assert aware is not None
        return aware


class EventRefusal(BaseModel):
    index: int
    """Position in the batch (0-based)."""
    serial: int | None
    errors: list[dict[str, Any]]


class LostRange(BaseModel):
    first_serial: int
    last_serial: int


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
    late: int
    refused: list[EventRefusal]
    lost: list[LostRange]
    """Serial ranges skipped by this batch: possibly lost events."""


class DoorEventView(BaseModel):
    id: str
    terminal_id: str
    serial: int
    facility_id: str
    door_id: str
    time: datetime
    local_date: date
    person_id: str | None
    credential_id: str | None
    verify_mode: VerifyMode | None
    result: DoorResult
    direction: Direction | None
    channel: str
    received_at: datetime
    late: bool


class EntryView(BaseModel):
    """One passage through an operating-room door, with who it was on the register then."""

    event_id: str
    facility_id: str
    room_id: str
    door_id: str
    person_id: str | None
    credential_id: str | None
    direction: Direction
    time: datetime
    local_date: date
    late: bool
    practitioner_id: str | None
    licence_number: str | None
    name: str | None
    profession: Profession | None
    licence_problem: str | None
    """Why the licence did not hold at that time (not_registered, expired, suspended...)."""


# ---------------------------------------------------------------- rooms and schedule


class RoomCreate(Command):
    name: str = Field(min_length=1, max_length=200)
    door_ids: list[str] = Field(min_length=1, max_length=16)


class RoomUpdate(Patch):
    name: str | None = Field(None, min_length=1, max_length=200)
    door_ids: list[str] | None = Field(None, min_length=1, max_length=16)


class RoomView(BaseModel):
    id: str
    facility_id: str
    name: str
    door_ids: list[str]


class ProcedureCreate(Command):
    ref: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9:/._-]*$")
    room_id: str
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    category: str = Field(min_length=1, max_length=64)
    anaesthesia: Anaesthesia
    lead_surgeon: str = Field(min_length=1, max_length=64)
    anaesthetist: str | None = Field(None, min_length=1, max_length=64)
    status: ProcedureStatus = ProcedureStatus.SCHEDULED

    @field_validator("planned_start", "planned_end", "actual_start", "actual_end")
    @classmethod
    def _offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class ProcedureUpdate(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"actual_start", "actual_end", "anaesthetist"})
    room_id: str | None = None
    planned_start: datetime | None = None
    planned_end: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None
    category: str | None = Field(None, min_length=1, max_length=64)
    anaesthesia: Anaesthesia | None = None
    lead_surgeon: str | None = Field(None, min_length=1, max_length=64)
    anaesthetist: str | None = Field(None, min_length=1, max_length=64)
    status: ProcedureStatus | None = None

    @field_validator("planned_start", "planned_end", "actual_start", "actual_end")
    @classmethod
    def _offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class RecordWarning(BaseModel):
    field: str
    reason: str
    message: str
    row: int | None = None


class ProcedureView(BaseModel):
    id: str
    facility_id: str
    ref: str
    room_id: str
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    actual_end: datetime | None
    local_date: date
    category: str
    anaesthesia: Anaesthesia
    lead_surgeon: str
    anaesthetist: str | None
    status: ProcedureStatus
    version: int
    warnings: list[RecordWarning]
    """What the rules will flag about this record (a surgeon not on the register, say)."""


class ScheduleImportResult(BaseModel):
    facility_id: str
    sha256: str
    rows: int
    added: int
    changed: int
    unchanged: int
    warnings: list[RecordWarning]
