"""Facts as the rules see them: door events and operations, with who was who on the register.

The access wing announces each accepted door event and each schedule change; the engine
turns them into facts carrying the fields a rule file may name (``rules.fields``). Who a
person was is looked up at the moment of the event, the way the entry ledger shows it:
from every state the facility's register chain ever recorded, held in memory per authority
so a thousand events a second cost no query each.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from wardwatch.access.model import ProcedureRecord, licence_problem, local_day
from wardwatch.access.register import Registered
from wardwatch.health.spans import IncidentSpan


@dataclass(slots=True)
class EventFact:
    id: str
    time: datetime
    local_date: date
    received_at: datetime | None
    fields: dict[str, Any]

    @property
    def is_entry(self) -> bool:
        return bool(self.fields["is_entry"])


@dataclass(slots=True)
class ProcedureFact:
    id: str
    local_date: date
    start: datetime
    """Actual start when known, else planned."""
    end: datetime
    """Actual end when known, else the planned length after the start."""
    fields: dict[str, Any]


@dataclass(slots=True)
class IncidentFact:
    id: str
    local_date: date
    start: datetime
    """When the camera's fault began."""
    end: datetime | None
    """When it was back (recovered, else closed); None while it is still out."""
    fields: dict[str, Any]


OPERATING_ROOM_AREAS = frozenset({"operating_room_door", "surgical_area_entrance"})
"""Zones whose cameras are operating-room cameras (R9), besides cameras linked to a theatre door."""


def incident_fact(span: IncidentSpan, place: tuple[str, str, str] | None, timezone: str) -> IncidentFact:
    """A fact from a camera incident and where its camera is (area type, door, operating room)."""
    area_type, door_id, room_id = place or ("", "", "")
    fields: dict[str, Any] = {
        "incident_id": span.id,
        "camera_id": span.camera_id,
        "camera_name": span.camera_name,
        "fault": span.fault,
        "status": span.status,
        "area_type": area_type,
        "door_id": door_id,
        "room_id": room_id,
        "operating_room": area_type in OPERATING_ROOM_AREAS or bool(room_id),
        "fallback": span.fallback_recorded,
    }
    return IncidentFact(span.id, local_day(span.started_at, timezone), span.started_at, span.ended_at, fields)


States = list[tuple[datetime, Registered]]


class RegisterLayer:
    """Every recorded state of one authority's register, by person id and by licence number.

    Built once per authority and shared by every facility below it: a province's register
    of thousands is read once, not once for each of its clinics.
    """

    def __init__(self, states: Iterable[tuple[datetime, Registered]]) -> None:
        self.by_person: dict[str, States] = {}
        self.by_licence: dict[str, States] = {}
        for at, reg in states:
            record = reg.record
            self.by_person.setdefault(record.person_id, []).append((at, reg))
            self.by_licence.setdefault(record.licence_number.upper(), []).append((at, reg))
        for index in (self.by_person, self.by_licence):
            for held in index.values():
                held.sort(key=lambda s: s[0])


class RegisterBook:
    """A facility's register chain, nearest authority first, answerable at any moment.

    Like the access wing's ``status_at``, the nearest authority with a state at the moment
    wins, and a moment before a practitioner's first import is answered with that first
    state when its ``valid_from`` had begun (see ``PractitionerRegister.status_at``).
    """

    def __init__(self, layers: Sequence[RegisterLayer]) -> None:
        self.layers = tuple(layers)

    @staticmethod
    def _at(found: list[States], at: datetime) -> Registered | None:
        for states in found:  # the nearest authority first
            index = bisect.bisect_right([s[0] for s in states], at)
            if index:
                return states[index - 1][1]
        for states in found:
            first = states[0][1]
            if first.record.valid_from <= at.date():
                return first
        return None

    def person_at(self, person_id: str | None, at: datetime) -> Registered | None:
        key = person_id or ""
        return self._at([held for layer in self.layers if (held := layer.by_person.get(key))], at)

    def licence_at(self, licence: str | None, at: datetime) -> Registered | None:
        key = (licence or "").upper()
        return self._at([held for layer in self.layers if (held := layer.by_licence.get(key))], at)


def event_fact(payload: Mapping[str, Any], book: RegisterBook, timezone: str) -> EventFact:
    """A fact from an accepted event (the bus payload, or the same fields read back)."""
    time = _aware(payload["time"])
    day = local_day(time, timezone)
    person_id = payload.get("person_id")
    credential_id = payload.get("credential_id")
    reg = book.person_at(person_id, time) if person_id else None
    record = reg.record if reg else None
    problem = licence_problem(record, day) or ""
    room_id = payload.get("room_id") or ""
    result = str(payload["result"])
    direction = str(payload.get("direction") or "")
    fields: dict[str, Any] = {
        "event_id": payload["id"],
        "door_id": payload["door_id"],
        "door_kind": payload.get("door_kind") or "",
        "room_id": room_id,
        "person": person_id or (f"credential:{credential_id}" if credential_id else ""),
        "person_id": person_id or "",
        "credential_id": credential_id or "",
        "verify_mode": str(payload.get("verify_mode") or ""),
        "result": result,
        "direction": direction,
        "late": bool(payload.get("late", False)),
        "registered": record is not None,
        "licensed": not problem,
        "licence_number": record.licence_number if record else "",
        "licence_problem": problem,
        "profession": record.profession.value if record else "",
        "lead_physician": bool(record.lead_physician) if record else False,
        # The ledger's definition of an entry: granted, with a direction, into an operating room.
        "is_entry": result == "granted" and bool(direction) and bool(room_id),
    }
    received = payload.get("received_at")
    return EventFact(payload["id"], time, day, _aware(received) if received else None, fields)


def procedure_fact(
    procedure_id: str, record: ProcedureRecord, book: RegisterBook, timezone: str
) -> ProcedureFact:
    start = record.actual_start or record.planned_start
    end = record.actual_end or start + (record.planned_end - record.planned_start)
    lead = book.licence_at(record.lead_surgeon, start)
    lead_record = lead.record if lead else None
    anaesthetist = book.licence_at(record.anaesthetist, start) if record.anaesthetist else None
    day = local_day(record.planned_start, timezone)
    fields: dict[str, Any] = {
        "procedure_id": procedure_id,
        "procedure_ref": record.ref,
        "room_id": record.room_id,
        "category": record.category,
        "anaesthesia": record.anaesthesia.value,
        "status": record.status.value,
        "lead_surgeon": record.lead_surgeon.upper(),
        "anaesthetist": (record.anaesthetist or "").upper(),
        "lead_person_id": lead_record.person_id if lead_record else "",
        "lead_registered": lead_record is not None,
        "lead_licensed": lead_record is not None
        and licence_problem(lead_record, local_day(start, timezone)) is None,
        "lead_scopes": tuple(lead_record.scopes) if lead_record else (),
        "anaesthetist_person_id": anaesthetist.record.person_id if anaesthetist else "",
    }
    return ProcedureFact(procedure_id, day, start, end, fields)


def _aware(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("a fact's time has no offset")
    return moment
