"""Legal holds: a camera and time range whose footage nothing may delete until lifted.

A hold wins over retention and over disk pressure (see ``retention.py``, which asks
``unheld_clause`` for what it may touch). Setting and lifting a hold need
``recording.hold`` on the camera's facility, each needs a reason, and each is audited
in the same transaction. A lifted hold stays on record with who lifted it and why.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, exists, insert, select, update

from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.media import store
from wardwatch.media.schemas import HoldCreate, HoldLift, HoldView
from wardwatch.registry.service import RegistryService

H = store.legal_holds.c
S = store.segments.c


def unheld_clause() -> ColumnElement[bool]:
    """SQL: the segment row is not covered by any hold still in force on its camera."""
    return ~exists().where(
        and_(
            H.camera_id == S.camera_id,
            H.lifted_at.is_(None),
            H.start < S.end,
            H.end > S.start,
        )
    )


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
        return self.get(principal, hold_id)

    def lift(self, principal: Principal, hold_id: str, cmd: HoldLift) -> HoldView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._row(uow.conn, hold_id)
            if row is None:
                raise NotFound("not_found", params={"object": "legal_hold"})
            camera = self.registry.camera_for(uow.conn, principal, row.camera_id, "recording.hold")
            if row.lifted_at is not None:
                raise Conflict("hold_already_lifted")
            uow.conn.execute(
                update(store.legal_holds)
                .where(H.id == hold_id)
                .values(lifted_by=principal.user_id, lifted_at=now, lift_reason=cmd.reason)
            )
            uow.audit(
                "recording.hold.lift",
                object_type="legal_hold",
                object_id=hold_id,
                scope=camera.facility_id,
                details={"camera_id": camera.id, "reason": cmd.reason},
            )
            uow.emit("media.hold.lifted", {"id": hold_id, "camera_id": camera.id}, key=camera.id)
            uow.commit()
        return self.get(principal, hold_id)

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
