"""Camera incidents: opened when a fault outlasts the debounce, closed only by a person.

One incident per camera at a time. A fault that comes back while the incident is still
unclosed reopens it (a timeline entry, not a new incident); a different fault joins it.

How the facility supervisor hears of it, each in the incident change's own unit of work:

- **Opening and recurring** fire a blue alert (``health.alerting``), which the alert
  routing delivers like any other: by default to the facility supervisor's inbox, and to
  whatever e-mail, webhook or MQTT receivers blue has, with grouping and escalation. The
  direct ``camera_incident`` notice is the fallback, delivered only when the alert path
  will not notify: alerts not dispatched by this server (``alerts.dispatch`` off), the
  alert wing failing (logged as critical; its part of the transaction is undone), or an
  alert that was still firing (an update notifies nobody). Never both; and where the
  routing reaches nobody, its own fallback receiver is told. (A silence on blue, or a
  receiver without the inbox, is a person's deliberate choice, not a lost notice.)
- **Recovery** resolves that alert as of the recovery; the routing's "resolved"
  notification tells the supervisor. The direct ``camera_recovered`` notice follows the
  same rule: only when no alert of the incident was resolved and dispatched, so whoever
  heard of the opening directly hears of the recovery the same way. (A receiver with
  ``send_resolved: false`` is a deliberate choice not to hear of recoveries.)
- **Acknowledging** the incident acknowledges its firing alert(s) too, in the same unit of
  work and by the same person (with the note, or a standard comment naming the incident),
  so an incident someone is handling does not escalate (``IncidentAlerts.acknowledge``
  says why ``incident.manage`` suffices).
- **Fallback due** (the outage passed ``fallback_after_minutes`` without a fallback
  measure on record) stays a direct ``camera_fallback_due`` notice: it is a to-do for the
  supervisor on this incident, not a new condition to route or escalate (an operating
  room's outage without a fallback is what rule R9 raises an alert for).

Closing is a person's confirmation and needs a repair record (what was done, by whom)
and, when the camera was out longer than ``fallback_after_minutes``, the fallback
supervision that covered the gap. A close missing either is refused naming the field,
and nothing of it is saved; a camera still faulty cannot be closed as repaired. Every
step is audited and goes on the incident's timeline and the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, insert, or_, select, update

from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.alerts.service import AlertService
from wardwatch.authz.principal import Principal
from wardwatch.health import store
from wardwatch.health.alerting import IncidentAlerts
from wardwatch.health.model import (
    FAULTS,
    Assessment,
    HealthState,
    IncidentEventKind,
    IncidentStatus,
    close_missing,
    outage,
)
from wardwatch.health.schemas import (
    FallbackRecord,
    IncidentAck,
    IncidentClose,
    IncidentEventView,
    IncidentNote,
    IncidentSummary,
    IncidentView,
    ReasonView,
    RepairRecord,
)
from wardwatch.health.service import ACTOR, CameraInfo
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound
from wardwatch.kernel.i18n import LOCALES, t
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

I = store.incidents.c  # noqa: E741 - the table alias convention of this code base
E = store.incident_events.c
S = store.camera_state.c
SUPERVISOR_ROLES = ("facility_supervisor",)
ACK_COMMENT_KEY = "health.alert.incident.ack_comment"
"""The comment on an incident's alert acknowledged with an incident that had no note."""


def open_incidents(conn: Connection, node_paths: list[str]) -> list[IncidentSummary]:
    """Incidents not yet closed under any of ``node_paths`` (for other wings: duty handovers).

    The caller has already decided who may see these nodes; this only reads.
    """
    if not node_paths:
        return []
    rows = conn.execute(
        select(store.incidents)
        .where(
            and_(
                I.open_key.is_not(None),
                or_(*(I.facility_path.startswith(path, autoescape=True) for path in node_paths)),
            )
        )
        .order_by(I.opened_at, I.id)
    ).all()
    return [
        IncidentSummary(
            id=r.id,
            camera_id=r.camera_id,
            camera_name=r.camera_name,
            facility_id=r.facility_id,
            facility_path=r.facility_path,
            status=IncidentStatus(r.status),
            fault=HealthState(r.fault),
            fault_started_at=r.fault_started_at,
            opened_at=r.opened_at,
            recovered_at=r.recovered_at,
            acknowledged=r.acknowledged_at is not None,
            repair_recorded=r.repair is not None,
            fallback_recorded=r.fallback is not None,
        )
        for r in rows
    ]


def _notice(routed: bool) -> str:
    """How the supervisor was told, for the audit entry: the alert routing or the inbox directly."""
    return "alert" if routed else "inbox"


def _lock_row(conn: Connection, incident_id: str) -> DbRow | None:
    query = select(store.incidents).where(I.id == incident_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


class IncidentService:
    def __init__(
        self,
        deps: Deps,
        registry: RegistryService,
        inbox: Inbox,
        cameras: Callable[[str], CameraInfo | None],
        alerts: AlertService | None = None,
    ) -> None:
        self.deps = deps
        self.registry = registry
        self.inbox = inbox
        self.cameras = cameras
        self.alerting = IncidentAlerts(deps, alerts)

    @property
    def debounce(self) -> timedelta:
        return timedelta(seconds=self.deps.settings.health.incident_debounce_s)

    @property
    def fallback_after(self) -> timedelta:
        return timedelta(minutes=self.deps.settings.health.fallback_after_minutes)

    # ---------------------------------------------------------------- the system's side

    def on_state(
        self,
        uow: UnitOfWork,
        camera: CameraInfo,
        previous: HealthState,
        verdict: Assessment,
        evidence_id: str | None,
        now: datetime,
    ) -> None:
        """Inside a state change's unit of work: a recovery, or a new fault on an open incident."""
        row = uow.conn.execute(select(store.incidents).where(I.open_key == camera.id)).first()
        if row is None:
            return
        state = verdict.state
        if state == HealthState.OK and row.status == IncidentStatus.OPEN.value:
            uow.conn.execute(
                update(store.incidents)
                .where(I.id == row.id)
                .values(status=IncidentStatus.RECOVERED.value, recovered_at=now)
            )
            self._event(uow, row.id, IncidentEventKind.RECOVERED, ACTOR, now, {"evidence_id": evidence_id})
            routed = self.alerting.resolve(uow, row, list(row.faults), now)
            if not routed:
                self._notify(uow, row, NoticeKind.CAMERA_RECOVERED, "info")
            self._audit(
                uow,
                "incident.recover",
                row,
                {"outage_s": (now - row.fault_started_at).total_seconds(), "notice": _notice(routed)},
            )
            uow.emit("health.incident.recovered", self._payload(row, now), key=row.camera_id)
        elif state in FAULTS and row.status == IncidentStatus.OPEN.value and state.value not in row.faults:
            uow.conn.execute(
                update(store.incidents).where(I.id == row.id).values(faults=[*row.faults, state.value])
            )
            self._event(
                uow,
                row.id,
                IncidentEventKind.FAULT_CHANGED,
                ACTOR,
                now,
                {"from": previous.value, "to": state.value, "reason": verdict.reason.as_json()},
            )

    def check(self) -> int:
        """Open incidents for faults past the debounce, reopen recurred ones, and say when a
        fallback is due. Returns how many incidents it opened or reopened."""
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            due = conn.execute(
                select(store.camera_state).where(
                    and_(S.fault_since.is_not(None), S.fault_since <= now - self.debounce)
                )
            ).all()
            unclosed = {
                r.camera_id: r for r in conn.execute(select(store.incidents).where(I.open_key.is_not(None)))
            }
        changed = 0
        for state in due:
            if HealthState(state.state) not in FAULTS:
                continue
            incident = unclosed.get(state.camera_id)
            if incident is None:
                changed += self._open(state, now)
            elif incident.status == IncidentStatus.RECOVERED.value:
                changed += self._recur(incident.id, state, now)
        for incident in unclosed.values():
            self._fallback_due(incident, now)
        return changed

    def _open(self, state: DbRow, now: datetime) -> int:
        camera_name = self._camera_name(state.camera_id)
        incident_id = new_id()
        with self.deps.uow(ACTOR) as uow:
            current = uow.conn.execute(
                select(store.camera_state).where(S.camera_id == state.camera_id)
            ).first()
            if current is None or current.fault_since is None or HealthState(current.state) not in FAULTS:
                return 0  # recovered in the meantime
            taken = uow.conn.execute(select(I.id).where(I.open_key == state.camera_id)).first()
            if taken is not None:
                return 0  # opened by a concurrent check
            values = {
                "id": incident_id,
                "camera_id": current.camera_id,
                "camera_name": camera_name,
                "facility_id": current.facility_id,
                "facility_path": current.facility_path,
                "status": IncidentStatus.OPEN.value,
                "fault": current.state,
                "faults": [current.state],
                "reason": current.reason,
                "fault_started_at": current.fault_since,
                "opened_at": now,
                "evidence_id": current.evidence_id,
                "open_key": current.camera_id,
            }
            uow.conn.execute(insert(store.incidents).values(**values))
            row = uow.conn.execute(select(store.incidents).where(I.id == incident_id)).first()
            assert row is not None
            self._event(
                uow,
                incident_id,
                IncidentEventKind.OPENED,
                ACTOR,
                now,
                {"fault": current.state, "reason": current.reason, "evidence_id": current.evidence_id},
            )
            routed = self._alert(uow, row, current.state, current.fault_since, current.evidence_id, now)
            if not routed:
                self._notify(uow, row, NoticeKind.CAMERA_INCIDENT, "warning")
            self._audit(
                uow,
                "incident.open",
                row,
                {"fault": current.state, "reason": current.reason, "notice": _notice(routed)},
            )
            uow.emit("health.incident.opened", self._payload(row, now), key=row.camera_id)
            uow.commit()
        log.warning(
            "camera incident opened", extra={"incident_id": incident_id, "camera_id": state.camera_id}
        )
        return 1

    def _recur(self, incident_id: str, state: DbRow, now: datetime) -> int:
        with self.deps.uow(ACTOR) as uow:
            row = _lock_row(uow.conn, incident_id)
            if row is None or row.status != IncidentStatus.RECOVERED.value:
                return 0
            faults = row.faults if state.state in row.faults else [*row.faults, state.state]
            uow.conn.execute(
                update(store.incidents)
                .where(I.id == incident_id)
                .values(status=IncidentStatus.OPEN.value, recovered_at=None, faults=faults)
            )
            self._event(
                uow,
                incident_id,
                IncidentEventKind.RECURRED,
                ACTOR,
                now,
                {"fault": state.state, "reason": state.reason, "evidence_id": state.evidence_id},
            )
            routed = self._alert(uow, row, state.state, state.fault_since, state.evidence_id, now)
            if not routed:
                self._notify(uow, row, NoticeKind.CAMERA_INCIDENT, "warning")
            self._audit(uow, "incident.recur", row, {"fault": state.state, "notice": _notice(routed)})
            uow.emit("health.incident.recurred", self._payload(row, now), key=row.camera_id)
            uow.commit()
        return 1

    def _fallback_due(self, incident: DbRow, now: datetime) -> None:
        if incident.fallback is not None or incident.fallback_notified_at is not None:
            return
        if outage(incident.fault_started_at, incident.recovered_at, now) <= self.fallback_after:
            return
        with self.deps.uow(ACTOR) as uow:
            row = _lock_row(uow.conn, incident.id)
            if row is None or row.fallback is not None or row.fallback_notified_at is not None:
                return
            uow.conn.execute(update(store.incidents).where(I.id == row.id).values(fallback_notified_at=now))
            minutes = self.deps.settings.health.fallback_after_minutes
            self._event(uow, row.id, IncidentEventKind.FALLBACK_DUE, ACTOR, now, {"after_minutes": minutes})
            self._audit(uow, "incident.fallback_due", row, {"after_minutes": minutes})
            self._notify(uow, row, NoticeKind.CAMERA_FALLBACK_DUE, "warning")
            uow.commit()

    def _camera_name(self, camera_id: str) -> str:
        found = self.cameras(camera_id)
        return found.name if found is not None else camera_id

    # ---------------------------------------------------------------- records and notices

    def _event(
        self,
        uow: UnitOfWork,
        incident_id: str,
        kind: IncidentEventKind,
        actor: Actor,
        now: datetime,
        details: dict[str, Any],
    ) -> None:
        uow.conn.execute(
            insert(store.incident_events).values(
                id=new_id(),
                incident_id=incident_id,
                at=now,
                kind=kind.value,
                actor=actor.ref,
                actor_name=actor.name,
                details=details,
            )
        )

    def _audit(self, uow: UnitOfWork, action: str, row: DbRow, details: dict[str, Any]) -> None:
        uow.audit(
            action,
            object_type="incident",
            object_id=row.id,
            scope=row.facility_id,
            details={"camera_id": row.camera_id, **details},
        )

    def _payload(self, row: DbRow, now: datetime) -> dict[str, Any]:
        return {
            "id": row.id,
            "camera_id": row.camera_id,
            "facility_id": row.facility_id,
            "fault": row.fault,
            "at": now.isoformat(),
        }

    def _facility_name(self, conn: Connection, row: DbRow) -> str:
        node = self.registry.node(conn, row.facility_id)
        return node.name if node is not None else str(row.facility_id)

    def _alert(
        self,
        uow: UnitOfWork,
        row: DbRow,
        fault: str,
        started: datetime,
        evidence_id: str | None,
        now: datetime,
    ) -> bool:
        """Fire the (re)opened incident's alert; True when the routing will notify the supervisor."""
        if not self.alerting.routed:
            return False
        return self.alerting.fire(
            uow,
            row,
            fault=fault,
            facility=self._facility_name(uow.conn, row),
            starts_at=started,
            evidence_id=evidence_id,
            now=now,
        )

    def _notify(self, uow: UnitOfWork, row: DbRow, kind: NoticeKind, severity: str) -> None:
        timezone = self.registry.facility_timezone(uow.conn, row.facility_id) or "UTC"
        try:
            zone = ZoneInfo(timezone)
        except (KeyError, ValueError):
            zone = ZoneInfo("UTC")
        self.inbox.deliver(
            uow,
            node_id=row.facility_id,
            roles=SUPERVISOR_ROLES,
            kind=kind,
            params={
                "camera": row.camera_name,
                "facility": self._facility_name(uow.conn, row),
                "since": row.fault_started_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "minutes": int(self.deps.settings.health.fallback_after_minutes),
                # In every language: the inbox shows each reader theirs.
                "fault": {locale: t(f"health_state.{row.fault}", locale) for locale in LOCALES},
                "incident_id": row.id,
            },
            ref_type="incident",
            ref_id=row.id,
            severity=severity,
        )

    # ---------------------------------------------------------------- a person's side

    def _require(self, conn: Connection, principal: Principal, incident_id: str, permission: str) -> DbRow:
        """The incident, if the caller may read (404 otherwise) or manage it (404 outside, 403 inside)."""
        if permission == "incident.read":
            row = conn.execute(select(store.incidents).where(I.id == incident_id)).first()
        else:
            row = _lock_row(conn, incident_id)
        if row is None:
            raise NotFound("not_found", params={"object": "incident"})
        if permission == "incident.read":
            principal.require_visible(permission, row.facility_path, object_type="incident")
        else:
            principal.require(
                permission,
                row.facility_path,
                object_type="incident",
                object_id=row.id,
                node_id=row.facility_id,
            )
        return row

    def _unclosed(self, row: DbRow) -> None:
        if row.status == IncidentStatus.CLOSED.value:
            raise Conflict("incident_closed")

    def get(self, principal: Principal, incident_id: str) -> IncidentView:
        with self.deps.db.read() as conn:
            row = self._require(conn, principal, incident_id, "incident.read")
            return self._view(conn, row, timeline=True)

    def list_incidents(
        self,
        principal: Principal,
        *,
        node_id: str | None = None,
        status: str | None = None,
        camera_id: str | None = None,
        limit: int = 100,
    ) -> list[IncidentView]:
        query = select(store.incidents).where(principal.scope_clause("incident.read", I.facility_path))
        with self.deps.db.read() as conn:
            if node_id is not None:
                node = self.registry.require_node(conn, principal, node_id, "incident.read", "org_node")
                query = query.where(I.facility_path.startswith(node.path, autoescape=True))
            if status == "active":
                query = query.where(I.open_key.is_not(None))
            elif status is not None:
                query = query.where(I.status == IncidentStatus(status).value)
            if camera_id is not None:
                query = query.where(I.camera_id == camera_id)
            rows = conn.execute(query.order_by(I.opened_at.desc(), I.id.desc()).limit(limit)).all()
            return [self._view(conn, r, timeline=False) for r in rows]

    def acknowledge(self, principal: Principal, incident_id: str, cmd: IncidentAck) -> IncidentView:
        """Take the incident on (again: each ack is on the timeline), and its firing alerts with it."""
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._require(uow.conn, principal, incident_id, "incident.manage")
            self._unclosed(row)
            if row.acknowledged_at is None:
                uow.conn.execute(
                    update(store.incidents)
                    .where(I.id == row.id)
                    .values(acknowledged_at=now, acknowledged_by=principal.user_id)
                )
            alerts = self.alerting.acknowledge(
                uow,
                row,
                user_id=principal.user_id,
                comment=cmd.note
                or t(ACK_COMMENT_KEY, principal.locale, camera=row.camera_name, incident=row.id),
            )
            details = {"note": cmd.note, "alerts": alerts}
            self._event(uow, row.id, IncidentEventKind.ACKNOWLEDGED, principal.actor, now, details)
            self._audit(uow, "incident.acknowledge", row, details)
            uow.emit(
                "health.incident.updated",
                {**self._payload(row, now), "change": "acknowledged"},
                key=row.camera_id,
            )
            uow.commit()
        return self.get(principal, incident_id)

    def add_note(self, principal: Principal, incident_id: str, cmd: IncidentNote) -> IncidentView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._require(uow.conn, principal, incident_id, "incident.manage")
            self._event(uow, row.id, IncidentEventKind.NOTE, principal.actor, now, {"text": cmd.text})
            self._audit(uow, "incident.note", row, {"text": cmd.text})
            uow.commit()
        return self.get(principal, incident_id)

    def record_repair(self, principal: Principal, incident_id: str, cmd: RepairRecord) -> IncidentView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._require(uow.conn, principal, incident_id, "incident.manage")
            self._unclosed(row)
            self._save_repair(uow, principal, row, cmd, now)
            uow.commit()
        return self.get(principal, incident_id)

    def record_fallback(self, principal: Principal, incident_id: str, cmd: FallbackRecord) -> IncidentView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._require(uow.conn, principal, incident_id, "incident.manage")
            self._unclosed(row)
            self._save_fallback(uow, principal, row, cmd, now)
            uow.commit()
        return self.get(principal, incident_id)

    def _save_repair(
        self, uow: UnitOfWork, principal: Principal, row: DbRow, cmd: RepairRecord, now: datetime
    ) -> dict[str, Any]:
        repaired_at = cmd.repaired_at or now
        if repaired_at > now + timedelta(minutes=5):
            raise Invalid("incident_time_in_future", extra={"field": "repair.repaired_at"})
        record = {
            "action": cmd.action,
            "repaired_by": cmd.repaired_by,
            "repaired_at": repaired_at.isoformat(),
            "recorded_by": principal.user_id,
            "recorded_by_name": principal.actor.name,
            "recorded_at": now.isoformat(),
        }
        uow.conn.execute(update(store.incidents).where(I.id == row.id).values(repair=record))
        self._event(uow, row.id, IncidentEventKind.REPAIR, principal.actor, now, record)
        self._audit(uow, "incident.repair", row, record)
        uow.emit(
            "health.incident.updated", {**self._payload(row, now), "change": "repair"}, key=row.camera_id
        )
        return record

    def _save_fallback(
        self, uow: UnitOfWork, principal: Principal, row: DbRow, cmd: FallbackRecord, now: datetime
    ) -> dict[str, Any]:
        if cmd.start > now + timedelta(minutes=5):
            raise Invalid("incident_time_in_future", extra={"field": "fallback.start"})
        record = {
            "measure": cmd.measure,
            "start": cmd.start.isoformat(),
            "end": cmd.end.isoformat(),
            "recorded_by": principal.user_id,
            "recorded_by_name": principal.actor.name,
            "recorded_at": now.isoformat(),
        }
        uow.conn.execute(update(store.incidents).where(I.id == row.id).values(fallback=record))
        self._event(uow, row.id, IncidentEventKind.FALLBACK, principal.actor, now, record)
        self._audit(uow, "incident.fallback", row, record)
        uow.emit(
            "health.incident.updated", {**self._payload(row, now), "change": "fallback"}, key=row.camera_id
        )
        return record

    def close(self, principal: Principal, incident_id: str, cmd: IncidentClose) -> IncidentView:
        """Confirm the repair and close; refused (and nothing saved) while a record is missing."""
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = self._require(conn, principal, incident_id, "incident.manage")
            self._unclosed(row)
            missing = close_missing(
                has_repair=row.repair is not None or cmd.repair is not None,
                has_fallback=row.fallback is not None or cmd.fallback is not None,
                outage_time=outage(row.fault_started_at, row.recovered_at, now),
                fallback_after=self.fallback_after,
            )
            if missing:
                minutes = int(self.deps.settings.health.fallback_after_minutes)
                raise Invalid(
                    "incident_repair_missing" if missing[0] == "repair" else "incident_fallback_missing",
                    params={"minutes": minutes},
                    extra={"field": missing[0], "missing": missing},
                )
            state = conn.execute(select(S.state).where(S.camera_id == row.camera_id)).scalar()
            if state is not None and HealthState(state) in FAULTS:
                raise Conflict("incident_camera_faulty", extra={"camera_state": state})
            if cmd.repair is not None:
                self._save_repair(uow, principal, row, cmd.repair, now)
            if cmd.fallback is not None:
                self._save_fallback(uow, principal, row, cmd.fallback, now)
            conn.execute(
                update(store.incidents)
                .where(I.id == row.id)
                .values(
                    status=IncidentStatus.CLOSED.value,
                    closed_at=now,
                    closed_by=principal.user_id,
                    close_note=cmd.note,
                    open_key=None,
                )
            )
            self._event(uow, row.id, IncidentEventKind.CLOSED, principal.actor, now, {"note": cmd.note})
            self._audit(
                uow,
                "incident.close",
                row,
                {
                    "note": cmd.note,
                    "outage_s": outage(row.fault_started_at, row.recovered_at, now).total_seconds(),
                },
            )
            uow.emit("health.incident.closed", self._payload(row, now), key=row.camera_id)
            uow.commit()
        return self.get(principal, incident_id)

    # ---------------------------------------------------------------- views

    def _view(self, conn: Connection, row: DbRow, *, timeline: bool) -> IncidentView:
        now = self.deps.clock.now()
        out = outage(row.fault_started_at, row.recovered_at, now if row.closed_at is None else row.closed_at)
        events = []
        if timeline:
            events = [
                IncidentEventView(
                    id=e.id,
                    at=e.at,
                    kind=e.kind,
                    actor=e.actor,
                    actor_name=e.actor_name,
                    details=e.details or {},
                )
                for e in conn.execute(
                    select(store.incident_events).where(E.incident_id == row.id).order_by(E.at, E.id)
                )
            ]
        return IncidentView(
            id=row.id,
            camera_id=row.camera_id,
            camera_name=row.camera_name,
            facility_id=row.facility_id,
            status=IncidentStatus(row.status),
            fault=HealthState(row.fault),
            faults=[HealthState(f) for f in row.faults],
            reason=ReasonView.of(row.reason),
            fault_started_at=row.fault_started_at,
            opened_at=row.opened_at,
            recovered_at=row.recovered_at,
            outage_s=round(out.total_seconds(), 3),
            fallback_required=out > self.fallback_after,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            repair=row.repair,
            fallback=row.fallback,
            closed_at=row.closed_at,
            closed_by=row.closed_by,
            close_note=row.close_note,
            evidence_id=row.evidence_id,
            timeline=events,
        )
