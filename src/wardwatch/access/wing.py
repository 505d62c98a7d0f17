"""The access wing assembled: its services, its MQTT subscriber, and the facts the rules ask.

The rule engine reads through the ``Access`` methods below rather than the tables:
entries per room, person and time window; door events per door and result; operations per
room and day; and who a person was on the register at a given moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from wardwatch.access import places
from wardwatch.access.allowlist import AllowLists
from wardwatch.access.events import DoorEvents
from wardwatch.access.ledger import Entry, Ledger
from wardwatch.access.model import Direction, DoorResult, ProcedureRecord
from wardwatch.access.mqtt import MqttIngest
from wardwatch.access.register import PractitionerRegister, Registered
from wardwatch.access.rooms import OperatingRooms
from wardwatch.access.schedule import Schedule
from wardwatch.access.schemas import DoorEventView
from wardwatch.access.terminals import Terminals
from wardwatch.alerts.inbox import Inbox
from wardwatch.authz.service import AccountService
from wardwatch.kernel.deps import Deps
from wardwatch.registry.service import RegistryService


@dataclass
class Access:
    deps: Deps
    register: PractitionerRegister
    rooms: OperatingRooms
    terminals: Terminals
    allowlists: AllowLists
    events: DoorEvents
    ledger: Ledger
    schedule: Schedule
    mqtt: MqttIngest

    def start(self) -> None:
        if self.deps.settings.access.mqtt.enabled:
            self.mqtt.start()

    def stop(self) -> None:
        self.mqtt.stop()

    # ---------------------------------------------------------------- facts for the rules

    def entries(
        self,
        facility_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        day: date | None = None,
        room_id: str | None = None,
        person_id: str | None = None,
        direction: Direction | None = None,
    ) -> list[Entry]:
        with self.deps.db.read() as conn:
            return self.ledger.entries(
                conn,
                facility_id,
                start=start,
                end=end,
                day=day,
                room_id=room_id,
                person_id=person_id,
                direction=direction,
            )

    def door_events(
        self,
        facility_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        day: date | None = None,
        door_id: str | None = None,
        results: Iterable[DoorResult] | None = None,
    ) -> list[DoorEventView]:
        with self.deps.db.read() as conn:
            return self.ledger.events(
                conn, facility_id, start=start, end=end, day=day, door_id=door_id, results=results
            )

    def procedures(self, facility_id: str, day: date, room_id: str | None = None) -> list[ProcedureRecord]:
        with self.deps.db.read() as conn:
            return self.schedule.on_day(conn, facility_id, day, room_id)

    def practitioner_at(self, facility_id: str, person_id: str, at: datetime) -> Registered | None:
        """Who ``person_id`` was on the facility's register chain at ``at`` (None: not on it)."""
        with self.deps.db.read() as conn:
            facility = places.facility(conn, facility_id)
            if facility is None:
                return None
            return self.register.status_at(conn, facility.path, person_id, at)

    def operations(self, facility_id: str, day: date) -> list[tuple[str, ProcedureRecord]]:
        """(procedure id, operation) planned on a facility's local day, cancelled ones included."""
        with self.deps.db.read() as conn:
            return self.schedule.on_day_with_ids(conn, facility_id, day)

    def facilities_with_operations_since(self, day: date) -> list[str]:
        with self.deps.db.read() as conn:
            return self.schedule.facilities_since(conn, day)

    def door_places(self, door_ids: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """(door kind, operating room or None) of each door: what an accepted event's payload says."""
        wanted = sorted(set(door_ids))
        with self.deps.db.read() as conn:
            doors = places.doors(conn, wanted)
            rooms = self.rooms.room_of_doors(conn, wanted)
        return {d: (door.kind, rooms.get(d)) for d, door in doors.items()}

    def facility_place(self, facility_id: str) -> places.Facility | None:
        """The facility's path (its register chain) and time zone."""
        with self.deps.db.read() as conn:
            return places.facility(conn, facility_id)

    def register_timelines(self, facility_id: str) -> list[tuple[int, datetime, Registered]]:
        """Every state of every practitioner the facility's register chain ever recorded."""
        with self.deps.db.read() as conn:
            facility = places.facility(conn, facility_id)
            if facility is None:
                return []
            return self.register.timelines(conn, facility.path)

    def practitioner_by_licence(self, facility_id: str, licence_number: str) -> Registered | None:
        """The practitioner holding a licence number now, as the facility's register chain says."""
        with self.deps.db.read() as conn:
            facility = places.facility(conn, facility_id)
            if facility is None:
                return None
            return self.register.by_licence(conn, facility.path, [licence_number]).get(licence_number.upper())


def build_access(deps: Deps, registry: RegistryService, accounts: AccountService, inbox: Inbox) -> Access:
    register = PractitionerRegister(deps, registry)
    rooms = OperatingRooms(deps, registry)
    terminals = Terminals(deps, registry, accounts)
    events = DoorEvents(deps, terminals, rooms, inbox)
    return Access(
        deps=deps,
        register=register,
        rooms=rooms,
        terminals=terminals,
        allowlists=AllowLists(deps, register, terminals, inbox),
        events=events,
        ledger=Ledger(deps, registry, register),
        schedule=Schedule(deps, registry, register, rooms),
        mqtt=MqttIngest(deps, events, terminals, registry, inbox),
    )
