"""Viewing sessions: every look at footage is opened and closed on the record.

A live viewing, a playback of a time range, a snapshot or a clip export is a session
with who, which camera, what for, and from when to when. Opening one checks the caller's
permission on the camera's facility, stores the session and appends its audit entry in
the same transaction; closing it does the same. Sessions a crashed server left open are
closed on the next start, and that is audited too, so the access log never shows a
viewing without an end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, insert, select, update

from wardwatch.authz.principal import Principal
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.media import store
from wardwatch.registry.service import CameraAccess, RegistryService

log = logging.getLogger(__name__)

V = store.view_sessions.c


class ViewKind(StrEnum):
    LIVE = "live"
    PLAYBACK = "playback"
    SNAPSHOT = "snapshot"
    EXPORT = "export"


_PERMISSION = {
    ViewKind.LIVE: "camera.view_live",
    ViewKind.SNAPSHOT: "camera.view_live",
    ViewKind.PLAYBACK: "recording.view",
    ViewKind.EXPORT: "recording.export",
}


@dataclass(frozen=True)
class ViewSession:
    id: str
    kind: ViewKind
    user_id: str
    camera: CameraAccess
    variant: str | None
    purpose: str | None
    range_start: datetime | None
    range_end: datetime | None
    started_at: datetime
    expires_at: datetime | None

    def covers(self, start: datetime, end: datetime) -> bool:
        """Whether footage in [start, end) lies inside the range this session was opened for."""
        if self.range_start is None or self.range_end is None:
            return False
        return start < self.range_end and end > self.range_start


def check_purpose(camera: CameraAccess, purpose: str | None) -> str:
    """A look at recorded footage needs a purpose the camera was registered for."""
    if not purpose:
        raise Invalid(
            "purpose_required", extra={"field": "purpose", "allowed_purposes": list(camera.purposes)}
        )
    if purpose not in camera.purposes:
        raise Invalid(
            "purpose_not_allowed",
            params={"purpose": purpose},
            extra={"field": "purpose", "allowed_purposes": list(camera.purposes)},
        )
    return purpose


class ViewSessions:
    """Opens, finds and closes viewing sessions, each step audited with the change."""

    def __init__(self, deps: Deps, registry: RegistryService) -> None:
        self.deps = deps
        self.registry = registry

    def open(
        self,
        principal: Principal,
        camera_id: str,
        kind: ViewKind,
        *,
        variant: str | None = None,
        purpose: str | None = None,
        range_start: datetime | None = None,
        range_end: datetime | None = None,
        lifetime: timedelta | None = None,
        details: dict[str, Any] | None = None,
        closed: bool = False,
    ) -> ViewSession:
        """Check access, store the session and audit it; ``closed`` for one-shot looks."""
        with self.deps.uow(principal.actor) as uow:
            camera = self.registry.camera_for(uow.conn, principal, camera_id, _PERMISSION[kind])
            session = self.open_in(
                uow,
                principal,
                camera,
                kind,
                variant=variant,
                purpose=purpose,
                range_start=range_start,
                range_end=range_end,
                lifetime=lifetime,
                details=details,
                closed=closed,
            )
            uow.commit()
        return session

    def camera(self, principal: Principal, camera_id: str, kind: ViewKind) -> CameraAccess:
        """The camera, if the caller may look at it this way (checked before heavy work)."""
        with self.deps.db.read() as conn:
            return self.registry.camera_for(conn, principal, camera_id, _PERMISSION[kind])

    def open_in(
        self,
        uow: UnitOfWork,
        principal: Principal,
        camera: CameraAccess,
        kind: ViewKind,
        *,
        variant: str | None = None,
        purpose: str | None = None,
        range_start: datetime | None = None,
        range_end: datetime | None = None,
        lifetime: timedelta | None = None,
        details: dict[str, Any] | None = None,
        closed: bool = False,
    ) -> ViewSession:
        """Store and audit a session inside the caller's unit of work (with its other changes)."""
        now = self.deps.clock.now()
        session_id = new_id()
        if kind in (ViewKind.PLAYBACK, ViewKind.EXPORT):
            purpose = check_purpose(camera, purpose)
        expires = now + lifetime if lifetime is not None else None
        uow.conn.execute(
            insert(store.view_sessions).values(
                id=session_id,
                kind=kind.value,
                user_id=principal.user_id,
                camera_id=camera.id,
                facility_id=camera.facility_id,
                variant=variant,
                purpose=purpose,
                range_start=range_start,
                range_end=range_end,
                started_at=now,
                ended_at=now if closed else None,
                expires_at=expires,
            )
        )
        audit_details: dict[str, Any] = {"session_id": session_id, **(details or {})}
        if variant:
            audit_details["variant"] = variant
        if range_start is not None and range_end is not None:
            audit_details["from"] = range_start.isoformat()
            audit_details["to"] = range_end.isoformat()
        uow.audit(
            f"footage.{kind.value}" + ("" if closed else ".open"),
            object_type="camera",
            object_id=camera.id,
            scope=camera.facility_id,
            purpose=purpose or "",
            details=audit_details,
        )
        return ViewSession(
            session_id,
            kind,
            principal.user_id,
            camera,
            variant,
            purpose,
            range_start,
            range_end,
            now,
            expires,
        )

    def get(self, principal: Principal, session_id: str, kind: ViewKind) -> ViewSession:
        """The caller's own open session of that kind; anyone else's is not found."""
        with self.deps.db.read() as conn:
            row = conn.execute(
                select(store.view_sessions).where(
                    and_(V.id == session_id, V.user_id == principal.user_id, V.kind == kind.value)
                )
            ).first()
            if row is None or row.ended_at is not None:
                raise NotFound("not_found", params={"object": "view_session"})
            if row.expires_at is not None and row.expires_at <= self.deps.clock.now():
                raise NotFound("not_found", params={"object": "view_session"})
            # Access is checked again: a role revoked mid-session ends what it allowed.
            camera = self.registry.camera_for(conn, principal, row.camera_id, _PERMISSION[kind])
        return ViewSession(
            row.id,
            ViewKind(row.kind),
            row.user_id,
            camera,
            row.variant,
            row.purpose,
            row.range_start,
            row.range_end,
            row.started_at,
            row.expires_at,
        )

    def close(self, principal: Principal, session: ViewSession, **details: Any) -> None:
        """End the session; the audit entry states how long it lasted."""
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            ended = uow.conn.execute(
                update(store.view_sessions)
                .where(and_(V.id == session.id, V.ended_at.is_(None)))
                .values(ended_at=now)
                .returning(V.id)
            ).first()
            if ended is None:
                return
            uow.audit(
                f"footage.{session.kind.value}.close",
                object_type="camera",
                object_id=session.camera.id,
                scope=session.camera.facility_id,
                purpose=session.purpose or "",
                details={
                    "session_id": session.id,
                    "from": session.started_at.isoformat(),
                    "to": now.isoformat(),
                    "seconds": round((now - session.started_at).total_seconds(), 3),
                    **details,
                },
            )
            uow.commit()

    def close_orphans(self) -> int:
        """Close sessions a previous run left open (a crash or a kill); audited as such."""
        now = self.deps.clock.now()
        with self.deps.uow(system_actor("media-recovery")) as uow:
            rows = uow.conn.execute(
                select(store.view_sessions).where(
                    and_(
                        V.ended_at.is_(None),
                        V.kind == ViewKind.LIVE.value,
                    )
                )
            ).all()
            for row in rows:
                uow.conn.execute(update(store.view_sessions).where(V.id == row.id).values(ended_at=now))
                uow.audit(
                    "footage.live.close",
                    object_type="camera",
                    object_id=row.camera_id,
                    scope=row.facility_id,
                    details={
                        "session_id": row.id,
                        "user_id": row.user_id,
                        "from": row.started_at.isoformat(),
                        "to": now.isoformat(),
                        "closed_by": "server restart",
                    },
                )
            if rows:
                uow.commit()
        if rows:
            log.warning("closed viewing sessions left open by a previous run", extra={"count": len(rows)})
        return len(rows)
