"""The engine's window onto the access and health wings: a facility's facts, read through them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from wardwatch.access.model import day_bounds, local_day
from wardwatch.access.wing import Access
from wardwatch.authz.model import ancestors_in
from wardwatch.health.spans import incident_span, incident_spans
from wardwatch.rules.facts import (
    EventFact,
    IncidentFact,
    ProcedureFact,
    RegisterBook,
    RegisterLayer,
    event_fact,
    incident_fact,
    procedure_fact,
)


class AccessFacts:
    def __init__(self, access: Access) -> None:
        self.access = access
        self._layers: dict[str, RegisterLayer] = {}
        """Each authority's register, read once for all the facilities below it."""

    def place(self, facility_id: str) -> tuple[str, str] | None:
        facility = self.access.facility_place(facility_id)
        return (facility.path, facility.timezone) if facility else None

    def book(self, facility_id: str) -> RegisterBook:
        facility = self.access.facility_place(facility_id)
        if facility is None:
            return RegisterBook([])
        chain = list(reversed(ancestors_in(facility.path)))  # the nearest authority first
        for node_id in chain:
            if node_id not in self._layers:
                self._layers[node_id] = RegisterLayer(self.access.register_timeline(node_id))
        return RegisterBook([self._layers[node_id] for node_id in chain])

    def forget_register(self, node_id: str) -> None:
        """An authority's register changed: read it again when next asked."""
        self._layers.pop(node_id, None)

    def days(
        self, facility_id: str, days: Sequence[date], book: RegisterBook, timezone: str, *, incidents: bool
    ) -> tuple[list[EventFact], list[ProcedureFact], list[IncidentFact]]:
        """The facts of these local days, read together: a facility's first event needs three
        days, and reading them one query at a time held up the events behind it."""
        if not days:
            return [], [], []
        events, places, operations = self.access.facts_of_days(facility_id, days)
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
        procedures = [procedure_fact(pid, record, book, timezone) for pid, record in operations]
        found: list[IncidentFact] = []
        if incidents:
            start, end = day_bounds(min(days), timezone)[0], day_bounds(max(days), timezone)[1]
            with self.access.deps.db.read() as conn:
                spans = [
                    s
                    for s in incident_spans(conn, facility_id, start, end)
                    if local_day(s.started_at, timezone) in set(days)
                ]
            cameras = self.access.camera_rooms({s.camera_id for s in spans}) if spans else {}
            found = [incident_fact(s, cameras.get(s.camera_id), timezone) for s in spans]
        return facts, procedures, found

    def incident(self, incident_id: str, timezone: str) -> IncidentFact | None:
        with self.access.deps.db.read() as conn:
            span = incident_span(conn, incident_id)
        if span is None:
            return None
        return incident_fact(span, self.access.camera_rooms([span.camera_id]).get(span.camera_id), timezone)
