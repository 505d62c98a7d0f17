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

from sqlalchemy import ColumnElement, and_, insert, or_, select, update

from wardwatch.authz.principal import Principal
from wardwatch.kernel.actor import Actor, system_actor
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound, Problem
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.media import store
from wardwatch.registry.model import CameraStatus
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
        try:
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
        except Problem as problem:
            self.record_refusal(principal, camera_id, kind, problem, purpose)
            raise
        return session

    def record_refusal(
        self, principal: Principal, camera_id: str, kind: ViewKind, problem: Problem, purpose: str | None
    ) -> None:
        """A refused look at footage is on the access record too (who, which camera, why not).

        A 403 is already audited where the API turns it into a response; a camera outside
        the caller's sight (404) or a purpose the camera does not allow (422) is recorded
        here, without revealing anything about the camera to the caller.
        """
        if problem.status == 403:
            return
        try:
            with self.deps.uow(principal.actor) as uow:
                uow.audit(
                    f"footage.{kind.value}",
                    object_type="camera",
                    object_id=camera_id,
                    outcome="denied",
                    purpose=(purpose or "")[:60],
                    details={"reason": problem.code},
                )
                uow.commit()
        except Exception:
            log.exception("could not record a refused look at footage")

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
        commissioning = kind in (ViewKind.LIVE, ViewKind.SNAPSHOT) and camera.status != CameraStatus.ACTIVE
        if commissioning:
            # A camera not yet (or no longer) active has no purpose and legal basis in force:
            # only those who install and register cameras may look, to check placement.
            if not principal.can("registry.edit", camera.facility_path):
                raise Conflict("camera_not_active", extra={"camera_status": camera.status.value})
            details = {**(details or {}), "commissioning": True, "camera_status": camera.status.value}
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

    def close_own(self, principal: Principal, session_id: str, kind: ViewKind) -> None:
        """The owner ends their session, even if their access has since gone or it expired.

        Closing is never refused on access grounds: an open session without an end on the
        record is worse than one closed by a user who can no longer open another.
        """
        with self.deps.db.read() as conn:
            row = conn.execute(
                select(store.view_sessions).where(
                    and_(
                        V.id == session_id,
                        V.user_id == principal.user_id,
                        V.kind == kind.value,
                        V.ended_at.is_(None),
                    )
                )
            ).first()
        if row is None:
            raise NotFound("not_found", params={"object": "view_session"})
        self._close_rows(principal.actor, [row], "viewer")

    def close_stale(self, *, restart: bool = False) -> int:
        """Close expired sessions and, at start-up, live viewings a previous run left open."""
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            stale: ColumnElement[bool] = and_(V.expires_at.is_not(None), V.expires_at <= now)
            if restart:
                stale = or_(stale, V.kind == ViewKind.LIVE.value)
            rows = conn.execute(select(store.view_sessions).where(and_(V.ended_at.is_(None), stale))).all()
        expired = [r for r in rows if r.expires_at is not None and r.expires_at <= now]
        orphaned = [r for r in rows if r not in expired]
        actor = system_actor("media-sessions")
        closed = self._close_rows(actor, expired, "expired")
        closed += self._close_rows(actor, orphaned, "server restart")
        if orphaned:
            log.warning("closed viewing sessions left open by a previous run", extra={"count": len(orphaned)})
        return closed

    def _close_rows(self, actor: Actor, rows: list[DbRow], closed_by: str) -> int:
        """End these sessions with one audit entry each; an expired one ends when it expired."""
        if not rows:
            return 0
        now = self.deps.clock.now()
        closed = 0
        with self.deps.uow(actor) as uow:
            for row in rows:
                ended_at = min(now, row.expires_at) if row.expires_at is not None else now
                done = uow.conn.execute(
                    update(store.view_sessions)
                    .where(and_(V.id == row.id, V.ended_at.is_(None)))
                    .values(ended_at=ended_at)
                    .returning(V.id)
                ).first()
                if done is None:
                    continue  # closed meanwhile by its owner
                closed += 1
                uow.audit(
                    f"footage.{row.kind}.close",
                    object_type="camera",
                    object_id=row.camera_id,
                    scope=row.facility_id,
                    purpose=row.purpose or "",
                    details={
                        "session_id": row.id,
                        "user_id": row.user_id,
                        "from": row.started_at.isoformat(),
                        "to": ended_at.isoformat(),
                        "seconds": round((ended_at - row.started_at).total_seconds(), 3),
                        "closed_by": closed_by,
                    },
                )
            if closed:
                uow.commit()
        return closed
