"""The entry ledger and the door-event record: who went through which door, and when.

An entry is an accepted, granted event with a direction at a door that opens into an
operating room. Entries are queried per room, per person and per day; a day is the
facility's calendar day (each event keeps its local date, computed in the facility's
time zone when it arrived). Each entry is shown with who the person was on the register
*at that moment*, so a ledger of last month is read against last month's licences.

The fact functions (``entries``, ``events``) take a connection and no principal: they are
what the rule engine asks. The ``list_*`` functions are their scoped API counterparts
(``ledger.read`` on the facility).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, select

from wardwatch.access import store
from wardwatch.access.model import Direction, DoorResult, licence_problem
from wardwatch.access.register import PractitionerRegister, Registered
from wardwatch.access.schemas import DoorEventView, EntryView
from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid
from wardwatch.registry import store as registry_store
from wardwatch.registry.service import RegistryService

DE = store.door_events.c
RD = store.room_doors.c
N = registry_store.org_nodes.c


@dataclass(frozen=True)
class Entry:
    """One passage into (or out of) an operating room."""

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


def _entry(row: DbRow) -> Entry:
    return Entry(
        row.id,
        row.facility_id,
        row.room_id,
        row.door_id,
        row.person_id,
        row.credential_id,
        Direction(row.direction),
        row.time,
        row.local_date,
        row.late,
    )


def _event_view(row: DbRow) -> DoorEventView:
    return DoorEventView(
        id=row.id,
        terminal_id=row.terminal_id,
        serial=row.serial,
        facility_id=row.facility_id,
        door_id=row.door_id,
        time=row.time,
        local_date=row.local_date,
        person_id=row.person_id,
        credential_id=row.credential_id,
        verify_mode=row.verify_mode,
        result=row.result,
        direction=row.direction,
        channel=row.channel,
        received_at=row.received_at,
        late=row.late,
    )


def _entry_query() -> Select[tuple[object, ...]]:
    return (
        select(store.door_events, RD.room_id)
        .select_from(store.door_events.join(store.room_doors, RD.door_id == DE.door_id))
        .where(and_(DE.result == DoorResult.GRANTED.value, DE.direction.is_not(None)))
    )


def _window(
    query: Select[tuple[object, ...]],
    *,
    start: datetime | None,
    end: datetime | None,
    day: date | None,
) -> Select[tuple[object, ...]]:
    if start is not None:
        query = query.where(DE.time >= start)
    if end is not None:
        query = query.where(DE.time < end)
    if day is not None:
        query = query.where(DE.local_date == day)
    return query


class Ledger:
    def __init__(self, deps: Deps, registry: RegistryService, register: PractitionerRegister) -> None:
        self.deps = deps
        self.registry = registry
        self.register = register

    # ---------------------------------------------------------------- facts (for the rules)

    def entries(
        self,
        conn: Connection,
        facility_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        day: date | None = None,
        room_id: str | None = None,
        person_id: str | None = None,
        direction: Direction | None = None,
    ) -> list[Entry]:
        """Entries of a facility in [start, end) and/or on a local day, oldest first."""
        query = _window(_entry_query().where(DE.facility_id == facility_id), start=start, end=end, day=day)
        if room_id is not None:
            query = query.where(RD.room_id == room_id)
        if person_id is not None:
            query = query.where(DE.person_id == person_id)
        if direction is not None:
            query = query.where(DE.direction == direction.value)
        return [_entry(r) for r in conn.execute(query.order_by(DE.time, DE.id))]

    def events(
        self,
        conn: Connection,
        facility_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        day: date | None = None,
        door_id: str | None = None,
        results: Iterable[DoorResult] | None = None,
    ) -> list[DoorEventView]:
        """Every accepted door event of a facility in a window (denied, forced... included)."""
        query = _window(
            select(store.door_events).where(DE.facility_id == facility_id), start=start, end=end, day=day
        )
        if door_id is not None:
            query = query.where(DE.door_id == door_id)
        if results is not None:
            query = query.where(DE.result.in_([r.value for r in results]))
        return [_event_view(r) for r in conn.execute(query.order_by(DE.time, DE.id))]

    def events_of_days(self, conn: Connection, facility_id: str, days: list[date]) -> list[DoorEventView]:
        """Every accepted door event of a facility on these local days, in time order."""
        query = select(store.door_events).where(DE.facility_id == facility_id, DE.local_date.in_(days))
        return [_event_view(r) for r in conn.execute(query.order_by(DE.time, DE.id))]

    # ---------------------------------------------------------------- the API

    def list_entries(
        self,
        principal: Principal,
        *,
        facility_id: str | None = None,
        room_id: str | None = None,
        person_id: str | None = None,
        day: date | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 500,
    ) -> list[EntryView]:
        _check_window(start, end)
        with self.deps.db.read() as conn:
            query = _window(_entry_query(), start=start, end=end, day=day)
            query = self._scoped(conn, principal, query, facility_id)
            if room_id is not None:
                query = query.where(RD.room_id == room_id)
            if person_id is not None:
                query = query.where(DE.person_id == person_id)
            rows = conn.execute(query.order_by(DE.time.desc(), DE.id.desc()).limit(limit)).all()
            return self._with_practitioners(conn, rows)

    def list_events(
        self,
        principal: Principal,
        *,
        facility_id: str | None = None,
        door_id: str | None = None,
        day: date | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        result: DoorResult | None = None,
        event_ids: Sequence[str] | None = None,
        limit: int = 500,
    ) -> list[DoorEventView]:
        """Door events in the caller's ``ledger.read`` scope; ``event_ids`` picks given ones
        (the evidence of an alert): ids outside the scope are simply not listed."""
        _check_window(start, end)
        with self.deps.db.read() as conn:
            query = _window(select(store.door_events), start=start, end=end, day=day)
            query = self._scoped(conn, principal, query, facility_id)
            if door_id is not None:
                query = query.where(DE.door_id == door_id)
            if result is not None:
                query = query.where(DE.result == result.value)
            if event_ids is not None:
                query = query.where(DE.id.in_(list(event_ids)))
            rows = conn.execute(query.order_by(DE.time.desc(), DE.id.desc()).limit(limit)).all()
        return [_event_view(r) for r in rows]

    def _scoped(
        self,
        conn: Connection,
        principal: Principal,
        query: Select[tuple[object, ...]],
        facility_id: str | None,
    ) -> Select[tuple[object, ...]]:
        if facility_id is not None:
            facility = self.registry.require_node(conn, principal, facility_id, "ledger.read", "facility")
            return query.where(DE.facility_id == facility.id)
        visible: ColumnElement[bool] = principal.scope_clause("ledger.read", N.path)
        return query.join(registry_store.org_nodes, N.id == DE.facility_id).where(visible)

    def _with_practitioners(self, conn: Connection, rows: Sequence[Any]) -> list[EntryView]:
        paths = self.registry.paths_of(conn, sorted({r.facility_id for r in rows}))
        views = []
        for row in rows:
            reg: Registered | None = None
            if row.person_id is not None:
                reg = self.register.status_at(conn, paths.get(row.facility_id, ""), row.person_id, row.time)
            record = reg.record if reg else None
            views.append(
                EntryView(
                    event_id=row.id,
                    facility_id=row.facility_id,
                    room_id=row.room_id,
                    door_id=row.door_id,
                    person_id=row.person_id,
                    credential_id=row.credential_id,
                    direction=row.direction,
                    time=row.time,
                    local_date=row.local_date,
                    late=row.late,
                    practitioner_id=reg.id if reg else None,
                    licence_number=record.licence_number if record else None,
                    name=record.name if record else None,
                    profession=record.profession if record else None,
                    licence_problem=licence_problem(record, row.local_date),
                )
            )
        return views


def _check_window(start: datetime | None, end: datetime | None) -> None:
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise Invalid("time_without_offset", params={"field": name}, extra={"field": name})
    if start is not None and end is not None and end <= start:
        raise Invalid("window_reversed", extra={"field": "end"})
