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
from wardwatch.access.directory import DoorDirectory
from wardwatch.access.events import DoorEvents
from wardwatch.access.intake import DoorEventIntake
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
    intake: DoorEventIntake
    ledger: Ledger
    schedule: Schedule
    mqtt: MqttIngest

    def start(self) -> None:
        self.intake.start()
        if self.deps.settings.access.mqtt.enabled:
            self.mqtt.start()

    def stop(self) -> None:
        self.mqtt.stop()
        self.intake.stop()  # after the subscriber: what it handed over is still stored

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

    def facts_of_days(
        self, facility_id: str, days: Iterable[date]
    ) -> tuple[list[DoorEventView], dict[str, tuple[str, str | None]], list[tuple[str, ProcedureRecord]]]:
        """A facility's door events (with each door's kind and room) and operations of several
        local days, in one read: what the rule engine loads when a facility's days first matter."""
        wanted = sorted(set(days))
        with self.deps.db.read() as conn:
            events = self.ledger.events_of_days(conn, facility_id, wanted)
            door_ids = sorted({e.door_id for e in events})
            doors = places.doors(conn, door_ids)
            rooms = self.rooms.room_of_doors(conn, door_ids)
            operations = self.schedule.of_days_with_ids(conn, facility_id, wanted)
        return events, {d: (door.kind, rooms.get(d)) for d, door in doors.items()}, operations

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

    def facilities_with_operations_since(self, day: date) -> list[str]:
        with self.deps.db.read() as conn:
            return self.schedule.facilities_since(conn, day)

    def camera_rooms(self, camera_ids: Iterable[str]) -> dict[str, tuple[str, str, str]]:
        """(zone area type, a door it watches, that door's operating room) of each camera ("" if none)."""
        with self.deps.db.read() as conn:
            found = places.cameras(conn, camera_ids)
            rooms = self.rooms.room_of_doors(conn, sorted({d for c in found.values() for d in c.door_ids}))
        out = {}
        for camera_id, place in found.items():
            in_room = [d for d in place.door_ids if d in rooms]
            door = in_room[0] if in_room else (place.door_ids[0] if place.door_ids else "")
            out[camera_id] = (place.area_type, door, rooms.get(door, ""))
        return out

    def facility_place(self, facility_id: str) -> places.Facility | None:
        """The facility's path (its register chain) and time zone."""
        with self.deps.db.read() as conn:
            return places.facility(conn, facility_id)

    def register_timeline(self, node_id: str) -> list[tuple[datetime, Registered]]:
        """Every state one authority's register ever recorded (one layer of a facility's chain)."""
        with self.deps.db.read() as conn:
            return self.register.node_timeline(conn, node_id)

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
    directory = DoorDirectory(deps, terminals, rooms)
    events = DoorEvents(deps, terminals, directory, inbox)
    intake = DoorEventIntake(events)
    return Access(
        deps=deps,
        register=register,
        rooms=rooms,
        terminals=terminals,
        allowlists=AllowLists(deps, register, terminals, inbox),
        events=events,
        intake=intake,
        ledger=Ledger(deps, registry, register),
        schedule=Schedule(deps, registry, register, rooms),
        mqtt=MqttIngest(deps, events, intake, directory, terminals, registry, inbox),
    )
