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
