"""Access rules that hold whatever the storage: licences, who a door admits, list hashes.

The practitioner register is the health authority's; a door admits a practitioner when
the register says the licence is active and in force on that day in the facility's time
zone, and the door's kind admits the practitioner's profession. Door terminals hold a
copy of that decision (the allow-list), identified by a hash both sides can compute.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo


class Profession(StrEnum):
    PHYSICIAN = "physician"
    SURGEON = "surgeon"
    ANAESTHETIST = "anaesthetist"
    NURSE = "nurse"
    OTHER = "other"


class LicenceStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class ImportMode(StrEnum):
    FULL = "full"
    """The file is the whole register of the node: practitioners absent from it are revoked."""
    INCREMENTAL = "incremental"
    """The file adds and changes practitioners; those absent from it stay as they are."""


class VerifyMode(StrEnum):
    FACE = "face"
    CARD = "card"
    PIN = "pin"


class DoorResult(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    FORCED = "forced"
    HELD_OPEN = "held_open"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class Anaesthesia(StrEnum):
    GENERAL = "general"
    SEDATION = "sedation"
    LOCAL = "local"
    NONE = "none"


class ProcedureStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class TerminalStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


ABSENT_FROM_FULL_IMPORT = "absent_from_full_import"
"""Why a practitioner was revoked without the file saying so: a full import left them out."""

CODE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
LICENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$")
PERSON_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:/._-]{0,127}$")


def normalise_code(text: str) -> str:
    """A scope or procedure category as a code: ``Cosmetic surgery`` -> ``cosmetic_surgery``.

    Registers and schedules come from different systems; both sides are reduced to the
    same spelling so that "is this operation inside the surgeon's scopes" compares codes.
    """
    return re.sub(r"[\s-]+", "_", text.strip().lower())


@dataclass(frozen=True)
class PractitionerRecord:
    """One practitioner as the register states them (what an import compares and stores)."""

    licence_number: str
    person_id: str
    name: str
    profession: Profession
    scopes: tuple[str, ...]
    lead_physician: bool
    valid_from: date
    valid_to: date | None
    status: LicenceStatus

    def as_dict(self) -> dict[str, Any]:
        return {
            "licence_number": self.licence_number,
            "person_id": self.person_id,
            "name": self.name,
            "profession": self.profession.value,
            "scopes": list(self.scopes),
            "lead_physician": self.lead_physician,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "status": self.status.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PractitionerRecord:
        return cls(
            licence_number=data["licence_number"],
            person_id=data["person_id"],
            name=data["name"],
            profession=Profession(data["profession"]),
            scopes=tuple(data["scopes"]),
            lead_physician=bool(data["lead_physician"]),
            valid_from=date.fromisoformat(data["valid_from"]),
            valid_to=date.fromisoformat(data["valid_to"]) if data.get("valid_to") else None,
            status=LicenceStatus(data["status"]),
        )


def licence_in_force(record: PractitionerRecord, day: date) -> bool:
    """Active, and ``day`` lies inside [valid_from, valid_to] (both inclusive)."""
    if record.status != LicenceStatus.ACTIVE:
        return False
    if day < record.valid_from:
        return False
    return record.valid_to is None or day <= record.valid_to


def licence_problem(record: PractitionerRecord | None, day: date) -> str | None:
    """Why the licence did not hold on ``day`` (``None`` when it did)."""
    if record is None:
        return "not_registered"
    if record.status != LicenceStatus.ACTIVE:
        return record.status.value
    if day < record.valid_from:
        return "not_yet_valid"
    if record.valid_to is not None and day > record.valid_to:
        return "expired"
    return None


def admits(
    record: PractitionerRecord, door_kind: str, professions: Mapping[str, Iterable[str]], day: date
) -> bool:
    """Whether a door of ``door_kind`` admits the practitioner on ``day``."""
    return licence_in_force(record, day) and record.profession.value in set(professions.get(door_kind, ()))


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def end_of_day(day: date, timezone: str) -> datetime:
    """The first instant after ``day`` in the facility's zone, in UTC: when a licence lapses."""
    local = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in the facility's zone, in UTC."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    return start, end_of_day(day, timezone)


@dataclass(frozen=True)
class AllowEntry:
    """What a terminal holds for one person: who, and until when the door may admit them."""

    person_id: str
    licence_number: str
    name: str
    profession: str
    valid_until: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.person_id,
            "licence_number": self.licence_number,
            "name": self.name,
            "profession": self.profession,
            "valid_until": iso(self.valid_until),
        }

    def digest(self) -> str:
        """Changes whenever anything the terminal shows or enforces changes."""
        text = "\x1f".join(
            (self.person_id, self.licence_number, self.name, self.profession, iso(self.valid_until) or "")
        )
        return hashlib.sha256(text.encode()).hexdigest()


def iso(moment: datetime | None) -> str | None:
    """UTC, second precision, ``Z``: the one spelling the list hash is computed over."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def list_hash(entries: Iterable[tuple[str, str | None]]) -> str:
    """SHA-256 (hex) of ``person_id TAB valid_until LF`` lines sorted by person id.

    ``valid_until`` is ``YYYY-MM-DDTHH:MM:SSZ`` or empty for a licence without an end.
    Only what the door enforces is hashed, so a terminal can compute it over what it
    holds without keeping names; WardWatch documents the same recipe for vendors.
    """
    lines = sorted(f"{person}\t{until or ''}\n" for person, until in entries)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


@dataclass(frozen=True)
class Drift:
    missing: list[str]
    """Should be on the terminal and are not: they would be refused at the door."""
    extra: list[str]
    """Are on the terminal and should not be: the door would admit them."""
    hash_matches: bool

    @property
    def in_sync(self) -> bool:
        return not self.missing and not self.extra and self.hash_matches


def compare_lists(
    expected: Mapping[str, str | None], reported_ids: Iterable[str], reported_hash: str
) -> Drift:
    """What differs between what a terminal says it holds and what it should hold."""
    held = set(reported_ids)
    want = set(expected)
    return Drift(
        missing=sorted(want - held),
        extra=sorted(held - want),
        hash_matches=reported_hash.strip().lower() == list_hash(expected.items()),
    )


@dataclass(frozen=True)
class ProcedureRecord:
    """One operation on the schedule, as the facility states it."""

    ref: str
    """The facility's own id for the operation (its theatre system's), unique per facility."""
    room_id: str
    planned_start: datetime
    planned_end: datetime
    actual_start: datetime | None
    actual_end: datetime | None
    category: str
    anaesthesia: Anaesthesia
    lead_surgeon: str
    """Licence number of the lead surgeon of record."""
    anaesthetist: str | None
    """Licence number of the assigned anaesthetist, if any."""
    status: ProcedureStatus

    def as_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "room_id": self.room_id,
            "planned_start": iso(self.planned_start),
            "planned_end": iso(self.planned_end),
            "actual_start": iso(self.actual_start),
            "actual_end": iso(self.actual_end),
            "category": self.category,
            "anaesthesia": self.anaesthesia.value,
            "lead_surgeon": self.lead_surgeon,
            "anaesthetist": self.anaesthetist,
            "status": self.status.value,
        }


def procedure_problems(record: ProcedureRecord) -> list[tuple[str, str]]:
    """(field, reason) for times out of order; empty when the operation is consistent."""
    problems = []
    if record.planned_end <= record.planned_start:
        problems.append(("planned_end", "end_before_start"))
    if record.actual_start and record.actual_end and record.actual_end <= record.actual_start:
        problems.append(("actual_end", "end_before_start"))
    if record.actual_end and not record.actual_start:
        problems.append(("actual_start", "end_without_start"))
    return problems


WARNING_REASONS = ("not_on_register", "general_without_anaesthetist")
"""What ``schedule_warnings`` can say; each has its ``access.warning.<reason>`` message."""


def schedule_warnings(
    record: ProcedureRecord, known_licences: Mapping[str, PractitionerRecord]
) -> list[tuple[str, str]]:
    """What the rules will flag, named at import so the facility can correct its record.

    These are not refusals: refusing an operation whose surgeon is not on the register
    would hide exactly what the supervision is for.
    """
    warnings = []
    if record.lead_surgeon not in known_licences:
        warnings.append(("lead_surgeon", "not_on_register"))
    if record.anaesthetist is not None and record.anaesthetist not in known_licences:
        warnings.append(("anaesthetist", "not_on_register"))
    if record.anaesthesia == Anaesthesia.GENERAL and record.anaesthetist is None:
        warnings.append(("anaesthetist", "general_without_anaesthetist"))
    return warnings
