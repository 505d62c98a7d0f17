"""Breach reports: flagged from live view or playback, taken to the facility's manager, followed to the end.

An operator reports a breach seen on a camera (``breach.report`` on the camera's
facility, checked through the registry's one door for cameras): a category from the
closed list, the time, a note, and the footage it is in (the capture time of the frame
flagged and/or an exported clip of the same camera). The facility supervisor is told
through the inbox in the same transaction, and the logbook gets the report and the
notice.

The report is then followed until it is resolved::

    open --record_remedy--> remedy_recorded --verify_remedy--> remedy_verified --close--> closed
                 ^                 |
                 +--reject_remedy--+

Recording a remedy (``breach.remedy``) says what the facility did and who did it.
Verifying or rejecting it (``breach.verify``: operators and supervisors, not the
facility's own staff) may not be done by whoever recorded it. A step out of order is
refused naming the rule. Every step is audited, put on the bus and kept in the report's
append-only timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.authz.principal import Principal
from wardwatch.duty import store
from wardwatch.duty.directory import FacilityRef
from wardwatch.duty.logbook import CLOCK_SKEW, Logbook
from wardwatch.duty.model import (
    BreachStatus,
    BreachStep,
    LogKind,
    allowed_steps,
    check_four_eyes,
    next_status,
)
from wardwatch.duty.roster import Roster
from wardwatch.duty.schemas import (
    BreachCreate,
    BreachEventView,
    BreachView,
    RejectRemedy,
    RemedyRecord,
    RemedyView,
    StepNote,
)
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound
from wardwatch.kernel.i18n import t
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

R = store.breach_reports.c
E = store.breach_events.c

MediaRefResolver = Callable[[Principal, str], str]
"""Given the caller and a media object's id, the id of its camera (NotFound if unknown to them)."""

_NOTE_IN_NOTICE = 300


class BreachReports:
    def __init__(
        self, deps: Deps, registry: RegistryService, roster: Roster, logbook: Logbook, inbox: Inbox
    ) -> None:
        self.deps = deps
        self.registry = registry
        self.roster = roster
        self.logbook = logbook
        self.inbox = inbox
        self.media_refs: dict[str, MediaRefResolver] = {}

    def register_media_ref(self, kind: str, resolver: MediaRefResolver) -> None:
        self.media_refs[kind] = resolver

    # ---------------------------------------------------------------- reporting

    def _check_clip(self, principal: Principal, clip_id: str, camera_id: str) -> None:
        resolver = self.media_refs.get("clip")
        if resolver is None:
            log.error("breach reports cannot check clips: no media wing registered a resolver")
            raise Invalid("breach_clip_unverifiable", extra={"field": "clip_id"})
        try:
            owner = resolver(principal, clip_id)
        except NotFound:
            raise Invalid("breach_clip_unknown", extra={"field": "clip_id"}) from None
        if owner != camera_id:
            raise Invalid("breach_clip_other_camera", extra={"field": "clip_id"})

    def report(self, principal: Principal, cmd: BreachCreate) -> BreachView:
        now = self.deps.clock.now()
        for name in ("occurred_at", "snapshot_at"):
            moment = getattr(cmd, name)
            if moment is not None and moment > now + CLOCK_SKEW:
                raise Invalid("breach_time_in_future", extra={"field": name})
        if cmd.snapshot_at is None and cmd.clip_id is None:
            raise Invalid(
                "breach_evidence_required",
                extra={"field": "snapshot_at", "fields": ["snapshot_at", "clip_id"]},
            )
        report_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            camera = self.registry.camera_for(conn, principal, cmd.camera_id, "breach.report")
            if cmd.clip_id is not None:
                self._check_clip(principal, cmd.clip_id, camera.id)
            facility = self._facility(conn, camera.facility_id, camera.facility_path)
            shift = self.roster.shift_on_duty(conn, principal.user_id, facility.path, now)
            conn.execute(
                insert(store.breach_reports).values(
                    id=report_id,
                    facility_id=facility.id,
                    facility_path=facility.path,
                    camera_id=camera.id,
                    category=cmd.category.value,
                    source=cmd.source.value,
                    occurred_at=cmd.occurred_at,
                    note=cmd.note,
                    snapshot_at=cmd.snapshot_at,
                    clip_id=cmd.clip_id,
                    shift_id=shift.id if shift else None,
                    status=BreachStatus.OPEN.value,
                    reported_by=principal.user_id,
                    reported_by_name=principal.username,
                    reported_at=now,
                    updated_at=now,
                )
            )
            details: dict[str, Any] = {
                "camera_id": camera.id,
                "category": cmd.category.value,
                "source": cmd.source.value,
                "occurred_at": cmd.occurred_at.isoformat(),
                "snapshot_at": cmd.snapshot_at.isoformat() if cmd.snapshot_at else None,
                "clip_id": cmd.clip_id,
            }
            self._event(uow, principal, report_id, BreachStep.REPORT, cmd.note, details)
            recipients = self.inbox.deliver(
                uow,
                node_id=facility.id,
                roles=["facility_supervisor"],
                kind=NoticeKind.BREACH_REPORTED,
                params={
                    "facility": facility.name,
                    "camera": camera.name,
                    "occurred": facility.local(cmd.occurred_at),
                    "note": cmd.note[:_NOTE_IN_NOTICE],
                },
                ref_type="breach_report",
                ref_id=report_id,
                severity="yellow",
            )
            shift_id = shift.id if shift else None
            self.logbook.append_in(
                uow,
                principal.actor,
                facility_id=facility.id,
                facility_path=facility.path,
                kind=LogKind.BREACH_SEEN,
                occurred_at=cmd.occurred_at,
                params={"camera": camera.name, "note": cmd.note[:_NOTE_IN_NOTICE]},
                shift_id=shift_id,
                ref_type="breach_report",
                ref_id=report_id,
            )
            self.logbook.append_in(
                uow,
                principal.actor,
                facility_id=facility.id,
                facility_path=facility.path,
                kind=LogKind.MANAGER_NOTIFIED,
                occurred_at=now,
                params={"recipients": len(recipients)},
                shift_id=shift_id,
                ref_type="breach_report",
                ref_id=report_id,
            )
            uow.audit(
                "duty.breach.report",
                object_type="breach_report",
                object_id=report_id,
                scope=facility.id,
                details={**details, "recipients": len(recipients)},
            )
            uow.emit(
                "duty.breach.reported",
                {"id": report_id, "facility_id": facility.id, **details, "recipients": len(recipients)},
                key=facility.id,
            )
            uow.commit()
        return self.get(principal, report_id)

    def _facility(self, conn: Connection, facility_id: str, path: str) -> FacilityRef:
        node = self.registry.node(conn, facility_id)
        timezone = self.registry.facility_timezone(conn, facility_id) or "UTC"
        return FacilityRef(facility_id, node.name if node else facility_id, path, timezone)

    def _event(
        self,
        uow: UnitOfWork,
        principal: Principal,
        report_id: str,
        step: BreachStep,
        note: str,
        details: dict[str, Any],
    ) -> None:
        uow.conn.execute(
            insert(store.breach_events).values(
                id=new_id(),
                report_id=report_id,
                step=step.value,
                actor_id=principal.user_id,
                actor_name=principal.username,
                at=self.deps.clock.now(),
                note=note,
                details=details,
            )
        )

    # ---------------------------------------------------------------- following up

    def record_remedy(self, principal: Principal, report_id: str, cmd: RemedyRecord) -> BreachView:
        now = self.deps.clock.now()
        performed = cmd.performed_at or now
        if performed > now + CLOCK_SKEW:
            raise Invalid("breach_time_in_future", extra={"field": "performed_at"})
        values = {
            "remedy_action": cmd.action,
            "remedy_performed_by": cmd.performed_by,
            "remedy_performed_at": performed,
            "remedy_recorded_by": principal.user_id,
            "remedy_recorded_at": now,
        }
        details = {"performed_by": cmd.performed_by, "performed_at": performed.isoformat()}
        return self._step(
            principal, report_id, BreachStep.RECORD_REMEDY, "breach.remedy", values, cmd.action, details
        )

    def verify(self, principal: Principal, report_id: str, cmd: StepNote) -> BreachView:
        values = {"verified_by": principal.user_id, "verified_at": self.deps.clock.now()}
        return self._step(
            principal, report_id, BreachStep.VERIFY_REMEDY, "breach.verify", values, cmd.note, {}
        )

    def reject(self, principal: Principal, report_id: str, cmd: RejectRemedy) -> BreachView:
        # The rejected remedy stays in the timeline; the report waits for a new one.
        values: dict[str, Any] = {
            "remedy_action": None,
            "remedy_performed_by": None,
            "remedy_performed_at": None,
            "remedy_recorded_by": None,
            "remedy_recorded_at": None,
        }
        return self._step(
            principal, report_id, BreachStep.REJECT_REMEDY, "breach.verify", values, cmd.note, {}
        )

    def close(self, principal: Principal, report_id: str, cmd: StepNote) -> BreachView:
        values = {"closed_by": principal.user_id, "closed_at": self.deps.clock.now()}
        return self._step(principal, report_id, BreachStep.CLOSE, "breach.verify", values, cmd.note, {})

    def _step(
        self,
        principal: Principal,
        report_id: str,
        step: BreachStep,
        permission: str,
        values: dict[str, Any],
        note: str,
        details: dict[str, Any],
    ) -> BreachView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._row(conn, report_id)
            principal.require(
                permission,
                row.facility_path,
                object_type="breach_report",
                object_id=row.id,
                node_id=row.facility_id,
            )
            current = BreachStatus(row.status)
            target = next_status(current, step)
            if step in (BreachStep.VERIFY_REMEDY, BreachStep.REJECT_REMEDY):
                check_four_eyes(step, principal.user_id, row.remedy_recorded_by)
            done = conn.execute(
                update(store.breach_reports)
                .where(and_(R.id == row.id, R.status == current.value))  # two steps at once: one loses
                .values(status=target.value, updated_at=now, **values)
                .returning(R.id)
            ).first()
            if done is None:
                # Someone moved the report on meanwhile: refuse as if their step had been seen.
                next_status(BreachStatus(self._row(conn, report_id).status), step)
                raise Conflict("conflict")
            payload = {"from": current.value, "to": target.value, **details}
            self._event(uow, principal, row.id, step, note, payload)
            uow.audit(
                f"duty.breach.{step.value}",
                object_type="breach_report",
                object_id=row.id,
                scope=row.facility_id,
                details={**payload, "note": note},
            )
            uow.emit(
                f"duty.breach.{step.value}",
                {"id": row.id, "facility_id": row.facility_id, **payload},
                key=row.facility_id,
            )
            self._notify_step(uow, conn, row, step, note, values)
            uow.commit()
        return self.get(principal, report_id)

    def _notify_step(
        self,
        uow: UnitOfWork,
        conn: Connection,
        row: DbRow,
        step: BreachStep,
        note: str,
        values: dict[str, Any],
    ) -> None:
        """The remedy goes to the operators to verify; a rejection goes back to the facility."""
        if step not in (BreachStep.RECORD_REMEDY, BreachStep.REJECT_REMEDY):
            return
        facility = self._facility(conn, row.facility_id, row.facility_path)
        if step == BreachStep.RECORD_REMEDY:
            self.inbox.deliver(
                uow,
                node_id=facility.id,
                roles=["duty_operator"],
                kind=NoticeKind.BREACH_REMEDY_RECORDED,
                params={
                    "facility": facility.name,
                    "performed_by": str(values["remedy_performed_by"]),
                    "action": str(values["remedy_action"])[:_NOTE_IN_NOTICE],
                },
                ref_type="breach_report",
                ref_id=row.id,
            )
        else:
            self.inbox.deliver(
                uow,
                node_id=facility.id,
                roles=["facility_supervisor"],
                kind=NoticeKind.BREACH_REMEDY_REJECTED,
                params={"facility": facility.name, "note": note[:_NOTE_IN_NOTICE]},
                ref_type="breach_report",
                ref_id=row.id,
                severity="yellow",
            )

    # ---------------------------------------------------------------- reading

    def _row(self, conn: Connection, report_id: str) -> DbRow:
        row = conn.execute(select(store.breach_reports).where(R.id == report_id)).first()
        if row is None:
            raise NotFound("not_found", params={"object": "breach_report"})
        return row

    def _views(self, conn: Connection, rows: list[DbRow]) -> list[BreachView]:
        events: dict[str, list[DbRow]] = {r.id: [] for r in rows}
        if rows:
            for e in conn.execute(
                select(store.breach_events).where(E.report_id.in_(list(events))).order_by(E.at, E.id)
            ):
                events[e.report_id].append(e)
        views = []
        for r in rows:
            status = BreachStatus(r.status)
            remedy = None
            if r.remedy_action is not None:
                remedy = RemedyView(
                    action=r.remedy_action,
                    performed_by=r.remedy_performed_by,
                    performed_at=r.remedy_performed_at,
                    recorded_by=r.remedy_recorded_by,
                    recorded_at=r.remedy_recorded_at,
                )
            views.append(
                BreachView(
                    id=r.id,
                    facility_id=r.facility_id,
                    camera_id=r.camera_id,
                    category=r.category,
                    category_label=t(f"breach_category.{r.category}"),
                    source=r.source,
                    occurred_at=r.occurred_at,
                    note=r.note,
                    snapshot_at=r.snapshot_at,
                    clip_id=r.clip_id,
                    shift_id=r.shift_id,
                    status=status,
                    status_label=t(f"breach_status.{status.value}"),
                    allowed_steps=[s.value for s in allowed_steps(status)],
                    reported_by=r.reported_by,
                    reported_by_name=r.reported_by_name,
                    reported_at=r.reported_at,
                    remedy=remedy,
                    verified_by=r.verified_by,
                    verified_at=r.verified_at,
                    closed_by=r.closed_by,
                    closed_at=r.closed_at,
                    timeline=[
                        BreachEventView(
                            step=e.step,
                            step_label=t(f"breach_step.{e.step}"),
                            actor_id=e.actor_id,
                            actor_name=e.actor_name,
                            at=e.at,
                            note=e.note,
                            details=e.details or {},
                        )
                        for e in events[r.id]
                    ],
                )
            )
        return views

    def get(self, principal: Principal, report_id: str) -> BreachView:
        with self.deps.db.read() as conn:
            row = self._row(conn, report_id)
            principal.require_visible("duty.read", row.facility_path, object_type="breach_report")
            return self._views(conn, [row])[0]

    def list_reports(
        self,
        principal: Principal,
        *,
        facility_id: str | None,
        camera_id: str | None,
        status: BreachStatus | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
    ) -> list[BreachView]:
        query = select(store.breach_reports).where(principal.scope_clause("duty.read", R.facility_path))
        conditions = []
        if facility_id is not None:
            conditions.append(R.facility_id == facility_id)
        if camera_id is not None:
            conditions.append(R.camera_id == camera_id)
        if status is not None:
            conditions.append(R.status == status.value)
        if start is not None:
            conditions.append(R.occurred_at >= start)
        if end is not None:
            conditions.append(R.occurred_at < end)
        if conditions:
            query = query.where(and_(*conditions))
        with self.deps.db.read() as conn:
            rows = conn.execute(query.order_by(R.reported_at.desc(), R.id).limit(limit)).all()
            return self._views(conn, list(rows))
