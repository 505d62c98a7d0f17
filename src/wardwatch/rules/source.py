"""The engine's window onto the access wing: facts of a facility's day, read through its queries."""

from __future__ import annotations

from datetime import date

from wardwatch.access.wing import Access
from wardwatch.rules.facts import EventFact, ProcedureFact, RegisterBook, event_fact, procedure_fact


class AccessFacts:
    def __init__(self, access: Access) -> None:
        self.access = access

    def place(self, facility_id: str) -> tuple[str, str] | None:
        facility = self.access.facility_place(facility_id)
        return (facility.path, facility.timezone) if facility else None

    def book(self, facility_id: str) -> RegisterBook:
        return RegisterBook(self.access.register_timelines(facility_id))

    def day(
        self, facility_id: str, day: date, book: RegisterBook, timezone: str
    ) -> tuple[list[EventFact], list[ProcedureFact]]:
        events = self.access.door_events(facility_id, day=day)
        places = self.access.door_places({e.door_id for e in events})
        facts = []
        for e in events:
            kind, room = places.get(e.door_id, ("", None))
            facts.append(
                event_fact(
                    {
                        "id": e.id,
                        "time": e.time,
                        "received_at": e.received_at,
                        "door_id": e.door_id,
                        "door_kind": kind,
                        "room_id": room,
                        "person_id": e.person_id,
                        "credential_id": e.credential_id,
                        "verify_mode": e.verify_mode,
                        "result": e.result,
                        "direction": e.direction,
                        "late": e.late,
                    },
                    book,
                    timezone,
                )
            )
        procedures = [
            procedure_fact(pid, record, book, timezone)
            for pid, record in self.access.operations(facility_id, day)
        ]
        return facts, procedures
