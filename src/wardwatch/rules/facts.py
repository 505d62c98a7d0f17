"""Facts as the rules see them: door events and operations, with who was who on the register.

The access wing announces each accepted door event and each schedule change; the engine
turns them into facts carrying the fields a rule file may name (``rules.fields``). Who a
person was is looked up at the moment of the event, the way the entry ledger shows it:
from every state the facility's register chain ever recorded, held in memory per facility
so a thousand events a second cost no query each.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from wardwatch.access.model import ProcedureRecord, licence_problem, local_day
from wardwatch.access.register import Registered


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


class RegisterBook:
    """Every recorded state of a facility's register chain, answerable at any moment.

    Like the access wing's ``status_at``, the nearest authority with a state at the moment
    wins; unlike it, a moment before a practitioner's first import is answered with that
    first state when its ``valid_from`` had begun (see ``_at``).
    """

    def __init__(self, timelines: Iterable[tuple[int, datetime, Registered]]) -> None:
        self._by_person: dict[str, dict[int, list[tuple[datetime, Registered]]]] = {}
        self._by_licence: dict[str, dict[int, list[tuple[datetime, Registered]]]] = {}
        for depth, at, reg in timelines:
            record = reg.record
            self._by_person.setdefault(record.person_id, {}).setdefault(depth, []).append((at, reg))
            self._by_licence.setdefault(record.licence_number.upper(), {}).setdefault(depth, []).append(
                (at, reg)
            )
        for index in (self._by_person, self._by_licence):
            for per_depth in index.values():
                for states in per_depth.values():
                    states.sort(key=lambda s: s[0])

    @staticmethod
    def _at(
        per_depth: Mapping[int, list[tuple[datetime, Registered]]] | None, at: datetime
    ) -> Registered | None:
        if not per_depth:
            return None
        for depth in sorted(per_depth, reverse=True):  # the nearest authority first
            states = per_depth[depth]
            index = bisect.bisect_right([s[0] for s in states], at)
            if index:
                return states[index - 1][1]
        # Before the register was first imported: the register itself says since when the
        # licence holds (valid_from), so a day backfilled after a first import is not a day
        # of strangers. Later changes (a suspension) still count from when they were recorded.
        for depth in sorted(per_depth, reverse=True):
            first = per_depth[depth][0][1]
            if first.record.valid_from <= at.date():
                return first
        return None

    def person_at(self, person_id: str | None, at: datetime) -> Registered | None:
        return self._at(self._by_person.get(person_id or ""), at)

    def licence_at(self, licence: str | None, at: datetime) -> Registered | None:
        return self._at(self._by_licence.get((licence or "").upper()), at)


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
