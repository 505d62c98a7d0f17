"""Legal holds: a camera and time range whose footage nothing may delete until lifted.

A hold wins over retention and over disk pressure (see ``retention.py``, which asks
``unheld_clause`` for what it may touch). Setting and lifting a hold need
``recording.hold`` on the camera's facility, each needs a reason, and each is audited
in the same transaction. A lifted hold stays on record with who lifted it and why.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Table, and_, exists, func, insert, select, update

from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.media import store
from wardwatch.media.schemas import HoldCreate, HoldLift, HoldView
from wardwatch.registry.service import RegistryService

H = store.legal_holds.c


def unheld_clause(table: Table = store.segments) -> ColumnElement[bool]:
    """SQL: the row (a segment or a clip) is not covered by any hold still in force on its camera."""
    c = table.c
    return ~exists().where(
        and_(
            H.camera_id == c.camera_id,
            H.lifted_at.is_(None),
            H.start < c.end,
            H.end > c.start,
        )
    )


def lock_footage(conn: Connection, camera_ids: set[str]) -> None:
    """Serialise placing a hold and deleting footage of the same cameras, until commit.

    Without it, on PostgreSQL (read committed) a deletion that already judged a segment
    unheld could commit just after a hold on it did, and the hold would lose. SQLite
    serialises writers on its own.
    """
    if conn.dialect.name != "postgresql":
        return
    for camera_id in sorted(camera_ids):
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"wardwatch.footage:{camera_id}"))))


def _view(row: DbRow) -> HoldView:
    return HoldView(
        id=row.id,
        camera_id=row.camera_id,
        facility_id=row.facility_id,
        start=row.start,
        end=row.end,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
        lifted_by=row.lifted_by,
        lifted_at=row.lifted_at,
        lift_reason=row.lift_reason,
        active=row.lifted_at is None,
    )


class LegalHolds:
    def __init__(self, deps: Deps, registry: RegistryService) -> None:
        self.deps = deps
        self.registry = registry

    def place(self, principal: Principal, camera_id: str, cmd: HoldCreate) -> HoldView:
        hold_id = new_id()
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            camera = self.registry.camera_for(uow.conn, principal, camera_id, "recording.hold")
            lock_footage(uow.conn, {camera.id})
            uow.conn.execute(
                insert(store.legal_holds).values(
                    id=hold_id,
                    camera_id=camera.id,
                    facility_id=camera.facility_id,
                    start=cmd.start,
                    end=cmd.end,
                    reason=cmd.reason,
                    created_by=principal.user_id,
                    created_at=now,
                )
            )
            uow.audit(
                "recording.hold.place",
                object_type="legal_hold",
                object_id=hold_id,
                scope=camera.facility_id,
                details={
                    "camera_id": camera.id,
                    "from": cmd.start.isoformat(),
                    "to": cmd.end.isoformat(),
                    "reason": cmd.reason,
                },
            )
            placed = self._row(uow.conn, hold_id)
            uow.emit(
                "media.hold.placed",
                {
                    "id": hold_id,
                    "camera_id": camera.id,
                    "start": cmd.start.isoformat(),
                    "end": cmd.end.isoformat(),
                },
                key=camera.id,
            )
            uow.commit()
        # The caller holds recording.hold, not necessarily recording.view: answer with what
        # was written rather than reading it back through a check it might not pass.
        assert placed is not None
        return _view(placed)

    def lift(self, principal: Principal, hold_id: str, cmd: HoldLift) -> HoldView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._row(uow.conn, hold_id)
            if row is None:
                raise NotFound("not_found", params={"object": "legal_hold"})
            camera = self.registry.camera_for(uow.conn, principal, row.camera_id, "recording.hold")
            lifted = uow.conn.execute(
                update(store.legal_holds)
                .where(and_(H.id == hold_id, H.lifted_at.is_(None)))  # two lifts: the second loses
                .values(lifted_by=principal.user_id, lifted_at=now, lift_reason=cmd.reason)
                .returning(H.id)
            ).first()
            if lifted is None:
                raise Conflict("hold_already_lifted")
            uow.audit(
                "recording.hold.lift",
                object_type="legal_hold",
                object_id=hold_id,
                scope=camera.facility_id,
                details={"camera_id": camera.id, "reason": cmd.reason},
            )
            uow.emit("media.hold.lifted", {"id": hold_id, "camera_id": camera.id}, key=camera.id)
            after = self._row(uow.conn, hold_id)
            uow.commit()
        assert after is not None
        return _view(after)

    def _row(self, conn: Connection, hold_id: str) -> DbRow | None:
        return conn.execute(select(store.legal_holds).where(H.id == hold_id)).first()

    def get(self, principal: Principal, hold_id: str) -> HoldView:
        with self.deps.db.read() as conn:
            row = self._row(conn, hold_id)
            if row is None:
                raise NotFound("not_found", params={"object": "legal_hold"})
            self.registry.camera_for(conn, principal, row.camera_id, "recording.view")
            return _view(row)

    def list_for_camera(self, principal: Principal, camera_id: str) -> list[HoldView]:
        with self.deps.db.read() as conn:
            camera = self.registry.camera_for(conn, principal, camera_id, "recording.view")
            rows = conn.execute(
                select(store.legal_holds).where(H.camera_id == camera.id).order_by(H.start)
            ).all()
        return [_view(r) for r in rows]


__all__ = ["LegalHolds", "unheld_clause"]
