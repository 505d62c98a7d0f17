"""Operating rooms: the rooms the schedule books and the entry ledger records entries into.

The registry knows doors, not rooms. An operating room here is a named room of a
facility entered through one or more of its operating-room doors (a clean and a dirty
corridor door, say); an entry through any of them is an entry into the room, and a
door opens into at most one room. Rooms are registry-like data: ``registry.edit`` to
change, ``registry.read`` to see, audited like doors.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select, update

from wardwatch.access import places, store
from wardwatch.access.schemas import RoomCreate, RoomUpdate, RoomView
from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.registry import store as registry_store
from wardwatch.registry.model import DoorKind
from wardwatch.registry.service import RegistryService

R = store.operating_rooms.c
RD = store.room_doors.c
N = registry_store.org_nodes.c


class OperatingRooms:
    def __init__(self, deps: Deps, registry: RegistryService) -> None:
        self.deps = deps
        self.registry = registry

    # ---------------------------------------------------------------- use cases

    def create(self, principal: Principal, facility_id: str, cmd: RoomCreate) -> RoomView:
        now = self.deps.clock.now()
        room_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            facility = self.registry.require_node(conn, principal, facility_id, "registry.edit", "facility")
            if places.facility(conn, facility.id) is None:
                raise NotFound("not_found", params={"object": "facility"})
            self._check_name_free(conn, facility.id, cmd.name, None)
            door_ids = self._check_doors(conn, facility.id, cmd.door_ids, None)
            conn.execute(
                insert(store.operating_rooms).values(
                    id=room_id, facility_id=facility.id, name=cmd.name, created_at=now, updated_at=now
                )
            )
            conn.execute(insert(store.room_doors), [{"door_id": d, "room_id": room_id} for d in door_ids])
            uow.audit(
                "operating_room.create",
                object_type="operating_room",
                object_id=room_id,
                scope=facility.id,
                details={"name": cmd.name, "door_ids": door_ids},
            )
            uow.emit(
                "access.room.changed",
                {"id": room_id, "facility_id": facility.id, "door_ids": door_ids},
                key=room_id,
            )
            uow.commit()
        return RoomView(id=room_id, facility_id=facility.id, name=cmd.name, door_ids=door_ids)

    def update(self, principal: Principal, room_id: str, cmd: RoomUpdate) -> RoomView:
        changes = cmd.model_dump(exclude_unset=True)
        if not changes:
            raise Invalid("nothing_to_change")
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._require(conn, principal, room_id, "registry.edit")
            name = changes.get("name") or row.name
            if "name" in changes:
                self._check_name_free(conn, row.facility_id, name, row.id)
            door_ids = self.door_ids(conn, row.id)
            if "door_ids" in changes:
                door_ids = self._check_doors(conn, row.facility_id, changes["door_ids"], row.id)
                conn.execute(delete(store.room_doors).where(RD.room_id == row.id))
                conn.execute(insert(store.room_doors), [{"door_id": d, "room_id": row.id} for d in door_ids])
            conn.execute(
                update(store.operating_rooms)
                .where(R.id == row.id)
                .values(name=name, updated_at=self.deps.clock.now())
            )
            uow.audit(
                "operating_room.update",
                object_type="operating_room",
                object_id=row.id,
                scope=row.facility_id,
                details={"fields": sorted(changes), "name": name, "door_ids": door_ids},
            )
            uow.emit(
                "access.room.changed",
                {"id": row.id, "facility_id": row.facility_id, "door_ids": door_ids},
                key=row.id,
            )
            uow.commit()
        return RoomView(id=row.id, facility_id=row.facility_id, name=name, door_ids=door_ids)

    def get(self, principal: Principal, room_id: str) -> RoomView:
        with self.deps.db.read() as conn:
            row = self._row(conn, room_id)
            if row is None:
                raise NotFound("not_found", params={"object": "operating_room"})
            principal.require_visible("registry.read", row.facility_path, object_type="operating_room")
            return self._view(conn, row)

    def list_rooms(self, principal: Principal, facility_id: str) -> list[RoomView]:
        with self.deps.db.read() as conn:
            facility = self.registry.require_node(conn, principal, facility_id, "registry.read", "facility")
            rows = conn.execute(
                select(store.operating_rooms).where(R.facility_id == facility.id).order_by(R.name)
            ).all()
            return [self._view(conn, r) for r in rows]

    # ---------------------------------------------------------------- for the other access services

    def door_ids(self, conn: Connection, room_id: str) -> list[str]:
        return sorted(conn.execute(select(RD.door_id).where(RD.room_id == room_id)).scalars())

    def room_of_doors(self, conn: Connection, door_ids: list[str]) -> dict[str, str]:
        """door id -> room id, for the doors that open into an operating room."""
        if not door_ids:
            return {}
        rows = conn.execute(select(RD.door_id, RD.room_id).where(RD.door_id.in_(door_ids)))
        return {r.door_id: r.room_id for r in rows}

    def names(self, conn: Connection, facility_id: str) -> dict[str, str]:
        """Each room's id and lower-cased name -> its id (how schedule files name rooms)."""
        rows = conn.execute(select(R.id, R.name).where(R.facility_id == facility_id)).all()
        found = {r.id: r.id for r in rows}
        found.update({r.name.lower(): r.id for r in rows})
        return found

    def row(self, conn: Connection, room_id: str) -> DbRow | None:
        return self._row(conn, room_id)

    def require(self, conn: Connection, principal: Principal, room_id: str, permission: str) -> DbRow:
        return self._require(conn, principal, room_id, permission)

    # ---------------------------------------------------------------- helpers

    def _row(self, conn: Connection, room_id: str) -> DbRow | None:
        return conn.execute(
            select(store.operating_rooms, N.path.label("facility_path"))
            .select_from(store.operating_rooms.join(registry_store.org_nodes, N.id == R.facility_id))
            .where(R.id == room_id)
        ).first()

    def _require(self, conn: Connection, principal: Principal, room_id: str, permission: str) -> DbRow:
        row = self._row(conn, room_id)
        if row is None:
            raise NotFound("not_found", params={"object": "operating_room"})
        principal.require(
            permission,
            row.facility_path,
            object_type="operating_room",
            object_id=row.id,
            node_id=row.facility_id,
        )
        return row

    def _view(self, conn: Connection, row: DbRow) -> RoomView:
        return RoomView(
            id=row.id, facility_id=row.facility_id, name=row.name, door_ids=self.door_ids(conn, row.id)
        )

    def _check_name_free(self, conn: Connection, facility_id: str, name: str, room_id: str | None) -> None:
        clash = conn.execute(
            select(R.id).where(R.facility_id == facility_id, R.name == name, R.id != (room_id or ""))
        ).first()
        if clash is not None:
            raise Conflict("room_name_taken", params={"name": name}, extra={"field": "name"})

    def _check_doors(
        self, conn: Connection, facility_id: str, door_ids: list[str], room_id: str | None
    ) -> list[str]:
        wanted = sorted(set(door_ids))
        found = places.doors(conn, wanted)
        unknown = [d for d in wanted if d not in found or found[d].facility_id != facility_id]
        if unknown:
            raise Invalid(
                "room_door_unknown",
                params={"ids": ", ".join(unknown)},
                extra={"field": "door_ids", "unknown": unknown},
            )
        wrong = [d for d in wanted if found[d].kind != DoorKind.OPERATING_ROOM_DOOR.value]
        if wrong:
            raise Invalid(
                "room_door_kind",
                params={"ids": ", ".join(wrong)},
                extra={"field": "door_ids", "doors": wrong},
            )
        taken = [d for d, r in self.room_of_doors(conn, wanted).items() if r != room_id]
        if taken:
            raise Conflict(
                "room_door_taken",
                params={"ids": ", ".join(sorted(taken))},
                extra={"field": "door_ids", "doors": sorted(taken)},
            )
        return wanted
