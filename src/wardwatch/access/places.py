"""What the access wing needs to know about the registry's facilities and doors.

The registry owns facilities and doors; this is the one module of the access wing that
reads them, read-only, so that the door, terminal and schedule code speaks of ``Door``
values and a registry function can replace these queries without touching the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from wardwatch.registry import store as registry_store

D = registry_store.doors.c
F = registry_store.facilities.c
N = registry_store.org_nodes.c
C = registry_store.cameras.c
Z = registry_store.zones.c
DC = registry_store.door_cameras.c


@dataclass(frozen=True)
class Door:
    id: str
    facility_id: str
    facility_path: str
    kind: str
    name: str
    timezone: str


@dataclass(frozen=True)
class Facility:
    id: str
    path: str
    timezone: str


def _query() -> object:
    return select(D.id, D.facility_id, D.kind, D.name, N.path, F.timezone).select_from(
        registry_store.doors.join(registry_store.org_nodes, N.id == D.facility_id).join(
            registry_store.facilities, F.node_id == D.facility_id
        )
    )


def doors(conn: Connection, door_ids: Iterable[str]) -> dict[str, Door]:
    wanted = sorted(set(door_ids))
    if not wanted:
        return {}
    rows = conn.execute(_query().where(D.id.in_(wanted)))  # type: ignore[attr-defined]
    return {r.id: Door(r.id, r.facility_id, r.path, r.kind, r.name, r.timezone) for r in rows}


def door(conn: Connection, door_id: str) -> Door | None:
    return doors(conn, [door_id]).get(door_id)


def facility(conn: Connection, facility_id: str) -> Facility | None:
    row = conn.execute(
        select(N.id, N.path, F.timezone)
        .select_from(registry_store.org_nodes.join(registry_store.facilities, F.node_id == N.id))
        .where(N.id == facility_id)
    ).first()
    return Facility(row.id, row.path, row.timezone) if row else None


@dataclass(frozen=True)
class CameraPlace:
    camera_id: str
    area_type: str
    """The area type of the camera's zone."""
    door_ids: tuple[str, ...]
    """The doors the camera is linked to (it watches them)."""


def cameras(conn: Connection, camera_ids: Iterable[str]) -> dict[str, CameraPlace]:
    """Where each camera is: its zone's area type and the doors it watches."""
    wanted = sorted(set(camera_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(C.id, Z.area_type)
        .select_from(registry_store.cameras.join(registry_store.zones, Z.id == C.zone_id))
        .where(C.id.in_(wanted))
    ).all()
    doors_of: dict[str, list[str]] = {}
    for camera_id, door_id in conn.execute(select(DC.camera_id, DC.door_id).where(DC.camera_id.in_(wanted))):
        doors_of.setdefault(camera_id, []).append(door_id)
    return {r.id: CameraPlace(r.id, r.area_type, tuple(sorted(doors_of.get(r.id, ())))) for r in rows}
