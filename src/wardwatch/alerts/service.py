"""Alert use cases: fire, resolve, acknowledge and read, each inside a unit of work.

``fire`` and ``resolve`` run inside the caller's unit of work (a rule evaluation, a health
check), so an alert exists exactly when the evaluation that raised it committed. Each
change to an alert writes its history, an audit entry and a bus event in that same
transaction; re-firing an unchanged alert writes nothing at all, so a rule may re-evaluate
as often as events arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from wardwatch.alerts import store
from wardwatch.alerts.audience import Place, place_of
from wardwatch.alerts.messages import AlertFacts
from wardwatch.alerts.model import (
    ActiveAlert,
    AlertSignal,
    AlertStatus,
    EscalationPolicy,
    InhibitionIndex,
    alert_day,
    fingerprint,
    group_key,
    label_set,
    silencers,
    validate_signal,
)
from wardwatch.alerts.routing import Route, Routing
from wardwatch.alerts.schemas import (
    AckCommand,
    AckView,
    AlertDetail,
    AlertSummary,
    AttemptView,
    DeliveryView,
    EscalationStepView,
    EscalationView,
    HistoryEntry,
    IntegrationView,
)
from wardwatch.alerts.silences import Silences
from wardwatch.authz import store as authz_store
from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry import store as registry_store
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

A = store.alerts.c
H = store.alert_history.c
G = store.alert_groups.c
M = store.alert_group_members.c
NT = store.alert_notifications.c
NA = store.alert_notification_alerts.c
D = store.alert_deliveries.c
AT = store.alert_delivery_attempts.c
I = store.alert_integrations.c  # noqa: E741
N = registry_store.org_nodes.c
ACKER = authz_store.users.alias("acker")
"""The account that acknowledged an alert, for its display name."""


@dataclass(frozen=True)
class FireResult:
    alert_id: str
    fingerprint: str
    change: str
    """``fired`` (new), ``retriggered``, ``updated`` (new evidence) or ``unchanged``."""


@dataclass(frozen=True)
class Suppressed:
    silenced_by: tuple[str, ...]
    inhibited_by: tuple[str, ...]


def row_labels(row: DbRow | Any) -> dict[str, str]:
    """The label set of a stored alert (its own labels and the reserved ones)."""
    return label_set(
        row.labels,
        source=row.source,
        rule_id=row.rule_id,
        facility_id=row.facility_id,
        severity=row.severity,
        day=row.day,
    )


def facts_of(row: DbRow | Any, place: Place) -> AlertFacts:
    return AlertFacts(
        id=row.id,
        fingerprint=row.fingerprint,
        source=row.source,
        rule_id=row.rule_id,
        rule_version=row.rule_version,
        rule_hash=row.rule_hash,
        severity=row.severity,
        status=row.status,
        facility_id=row.facility_id,
        facility_name=place.name,
        timezone=place.timezone,
        labels=dict(row.labels),
        titles=dict(row.titles),
        starts_at=row.starts_at,
        measures=dict(row.measures),
        event_ids=list(row.event_ids),
    )


class AlertService:
    def __init__(self, deps: Deps, registry: RegistryService, routing: Routing, silences: Silences) -> None:
        self.deps = deps
        self.registry = registry
        self.routing = routing
        self.silences = silences

    # ---------------------------------------------------------------- the way in

    def fire(self, uow: UnitOfWork, signal: AlertSignal) -> FireResult:
        """Create, update or re-trigger the alert this signal's fingerprint names."""
        validate_signal(signal)
        conn = uow.conn
        now = self.deps.clock.now()
        place = place_of(conn, self.registry, signal.facility_id)
        if place is None:
            raise Invalid("alert_facility_unknown", params={"facility_id": signal.facility_id})
        day = alert_day(signal.labels, signal.starts_at, ZoneInfo(place.timezone) if place.timezone else None)
        fp = fingerprint(signal.rule_id, signal.facility_id, signal.labels)
        labels = label_set(
            signal.labels,
            source=signal.source,
            rule_id=signal.rule_id,
            facility_id=signal.facility_id,
            severity=signal.severity.value,
            day=day,
        )
        routes = self.routing.routes_for(labels)
        policy = self.routing.policy_for(routes)
        evidence: dict[str, Any] = {
            "rule_version": signal.rule_version,
            "rule_hash": signal.rule_hash,
            "severity": signal.severity.value,
            "measures": dict(signal.measures),
            "event_ids": list(signal.event_ids),
            "titles": dict(signal.titles),
            "starts_at": signal.starts_at,
            "day": day,
        }
        row = conn.execute(select(store.alerts).where(A.fingerprint == fp).with_for_update()).first()
        if row is None:
            alert_id = new_id()
            conn.execute(
                insert(store.alerts).values(
                    id=alert_id,
                    fingerprint=fp,
                    source=signal.source,
                    rule_id=signal.rule_id,
                    facility_id=signal.facility_id,
                    labels=dict(signal.labels),
                    status=AlertStatus.FIRING.value,
                    first_seen_at=now,
                    updated_at=now,
                    triggered_at=now,
                    trigger_count=1,
                    receiver=routes[0].receiver,
                    **self._escalation_start(policy, now),
                    **evidence,
                )
            )
            change = "fired"
        elif row.status == AlertStatus.RESOLVED:
            alert_id = row.id
            conn.execute(
                update(store.alerts)
                .where(A.id == alert_id)
                .values(
                    status=AlertStatus.FIRING.value,
                    updated_at=now,
                    triggered_at=now,
                    trigger_count=row.trigger_count + 1,
                    resolved_at=None,
                    receiver=routes[0].receiver,
                    **self._ack_cleared(),
                    **self._escalation_start(policy, now),
                    **evidence,
                )
            )
            change = "retriggered"
        else:
            alert_id = row.id
            before = {k: getattr(row, k) for k in evidence}
            if before == evidence:
                return FireResult(alert_id, fp, "unchanged")
            values: dict[str, Any] = {"updated_at": now, "receiver": routes[0].receiver, **evidence}
            if row.severity != signal.severity.value:
                # Another colour is another route and policy: carry on from the level reached.
                values["escalation_policy"] = policy.name if policy else None
                due = policy.due_after(row.escalation_level, now) if policy else None
                values["next_escalation_at"] = due if row.status == AlertStatus.FIRING else None
            conn.execute(update(store.alerts).where(A.id == alert_id).values(**values))
            change = "updated"
        news = change != "updated" or (row is not None and row.severity != signal.severity.value)
        self._regroup(conn, alert_id, signal.facility_id, routes, labels, now, news=news)
        details = {
            "fingerprint": fp,
            "rule_id": signal.rule_id,
            "rule_version": signal.rule_version,
            "rule_hash": signal.rule_hash,
            "severity": signal.severity.value,
            "measures": dict(signal.measures),
            "event_ids": list(signal.event_ids),
            "starts_at": signal.starts_at.isoformat(),
        }
        self._history(conn, alert_id, change, uow.actor.ref, details, now)
        uow.audit(
            {"fired": "alert.fire", "retriggered": "alert.retrigger", "updated": "alert.update"}[change],
            object_type="alert",
            object_id=alert_id,
            scope=signal.facility_id,
            details=details,
        )
        event = {
            "alert_id": alert_id,
            "fingerprint": fp,
            "source": signal.source,
            "rule_id": signal.rule_id,
            "severity": signal.severity.value,
            "facility_id": signal.facility_id,
            "labels": dict(signal.labels),
        }
        if change == "updated":
            uow.emit("alerts.alert.updated", event, key=signal.facility_id)
        else:
            uow.emit(
                "alerts.alert.fired",
                {**event, "retriggered": change == "retriggered"},
                key=signal.facility_id,
            )
        return FireResult(alert_id, fp, change)

    def resolve(self, uow: UnitOfWork, fp: str, at: datetime) -> bool:
        """The condition no longer holds (as of event time ``at``); False if nothing was firing."""
        conn = uow.conn
        row = conn.execute(select(store.alerts).where(A.fingerprint == fp).with_for_update()).first()
        if row is None or row.status == AlertStatus.RESOLVED:
            return False
        now = self.deps.clock.now()
        conn.execute(
            update(store.alerts)
            .where(A.id == row.id)
            .values(
                status=AlertStatus.RESOLVED.value,
                resolved_at=at,
                updated_at=now,
                next_escalation_at=None,
                ack_expires_at=None,
            )
        )
        self._wake_groups(conn, row.id, now)
        details = {"fingerprint": fp, "rule_id": row.rule_id, "resolved_at": at.isoformat()}
        self._history(conn, row.id, "resolved", uow.actor.ref, details, now)
        uow.audit(
            "alert.resolve", object_type="alert", object_id=row.id, scope=row.facility_id, details=details
        )
        uow.emit(
            "alerts.alert.resolved",
            {"alert_id": row.id, "fingerprint": fp, "rule_id": row.rule_id, "facility_id": row.facility_id},
            key=row.facility_id,
        )
        return True

    def retrigger(self, uow: UnitOfWork, row: DbRow, kind: str) -> None:
        """Fire an unresolved alert again (its acknowledgement expired): news to its groups."""
        now = self.deps.clock.now()
        policy = self.routing.policies.get(row.escalation_policy or "")
        uow.conn.execute(
            update(store.alerts)
            .where(A.id == row.id)
            .values(
                status=AlertStatus.FIRING.value,
                updated_at=now,
                triggered_at=now,
                trigger_count=row.trigger_count + 1,
                **self._ack_cleared(),
                **self._escalation_start(policy, now),
            )
        )
        self._wake_groups(uow.conn, row.id, now, at_once=True)
        details = {"fingerprint": row.fingerprint, "acknowledged_by": row.ack_by, "ack_at": _iso(row.ack_at)}
        self._history(uow.conn, row.id, kind, uow.actor.ref, details, now)
        uow.audit(
            "alert.retrigger", object_type="alert", object_id=row.id, scope=row.facility_id, details=details
        )
        uow.emit(
            "alerts.alert.fired",
            {
                "alert_id": row.id,
                "fingerprint": row.fingerprint,
                "source": row.source,
                "rule_id": row.rule_id,
                "severity": row.severity,
                "facility_id": row.facility_id,
                "labels": dict(row.labels),
                "retriggered": True,
                "reason": kind,
            },
            key=row.facility_id,
        )

    @staticmethod
    def _ack_cleared() -> dict[str, Any]:
        return {"ack_by": None, "ack_at": None, "ack_comment": None, "ack_expires_at": None}

    @staticmethod
    def _escalation_start(policy: EscalationPolicy | None, now: datetime) -> dict[str, Any]:
        return {
            "escalation_policy": policy.name if policy else None,
            "escalation_level": 0,
            "next_escalation_at": policy.first_due(now) if policy else None,
        }

    def _history(
        self, conn: Connection, alert_id: str, kind: str, actor: str, details: dict[str, Any], now: datetime
    ) -> None:
        conn.execute(
            insert(store.alert_history).values(
                id=new_id(), alert_id=alert_id, at=now, kind=kind, actor=actor, details=details
            )
        )

    # ---------------------------------------------------------------- grouping

    def _regroup(
        self,
        conn: Connection,
        alert_id: str,
        facility_id: str,
        routes: list[Route],
        labels: dict[str, str],
        now: datetime,
        *,
        news: bool,
    ) -> None:
        """Put the alert in the aggregation group of each route that takes it.

        A group that was idle starts its ``group_wait``; one already flushing picks the
        alert up at its next ``group_interval``, as in Alertmanager.
        """
        wanted: dict[str, tuple[Route, dict[str, str]]] = {}
        for route in routes:
            gid, grouped = group_key(route.id, route.group_by, labels)
            wanted[gid] = (route, grouped)
        existing = {r.group_id for r in conn.execute(select(M.group_id).where(M.alert_id == alert_id))}
        stale = existing - set(wanted)
        if stale:
            conn.execute(
                delete(store.alert_group_members).where(and_(M.alert_id == alert_id, M.group_id.in_(stale)))
            )
        for gid, (route, grouped) in wanted.items():
            group = conn.execute(select(G.id, G.next_flush_at).where(G.id == gid).with_for_update()).first()
            if group is None:
                conn.execute(
                    insert(store.alert_groups).values(
                        id=gid,
                        route_id=route.id,
                        receiver=route.receiver,
                        facility_id=facility_id,
                        labels=grouped,
                        created_at=now,
                        next_flush_at=now + route.group_wait,
                        notified=[],
                    )
                )
            elif news and group.next_flush_at is None:
                conn.execute(
                    update(store.alert_groups).where(G.id == gid).values(next_flush_at=now + route.group_wait)
                )
            if gid not in existing:
                conn.execute(insert(store.alert_group_members).values(group_id=gid, alert_id=alert_id))

    def _wake_groups(self, conn: Connection, alert_id: str, now: datetime, *, at_once: bool = False) -> None:
        """Make the alert's groups look again: at once, or (if idle) as soon as possible."""
        groups = select(M.group_id).where(M.alert_id == alert_id).scalar_subquery()
        if at_once:
            conn.execute(
                update(store.alert_groups)
                .where(and_(G.id.in_(groups), (G.next_flush_at.is_(None)) | (G.next_flush_at > now)))
                .values(next_flush_at=now)
            )
        else:
            conn.execute(
                update(store.alert_groups)
                .where(and_(G.id.in_(groups), G.next_flush_at.is_(None)))
                .values(next_flush_at=now)
            )

    # ---------------------------------------------------------------- suppression

    def suppression(self, conn: Connection, now: datetime) -> dict[str, Suppressed]:
        """Which unresolved alerts are silenced or inhibited now, and by what."""
        rows = conn.execute(
            select(A.id, A.labels, A.source, A.rule_id, A.facility_id, A.severity, A.day, N.path)
            .join(registry_store.org_nodes, N.id == A.facility_id)
            .where(A.status != AlertStatus.RESOLVED.value)
        ).all()
        if not rows:
            return {}
        active = [ActiveAlert(r.id, row_labels(r), r.path) for r in rows]
        silences = self.silences.in_force(conn, now)
        inhibition = InhibitionIndex(self.routing.inhibit_rules, active)
        found: dict[str, Suppressed] = {}
        for alert in active:
            silenced = tuple(silencers(alert, silences, now)) if silences else ()
            inhibited = tuple(inhibition.inhibitors(alert))
            if silenced or inhibited:
                found[alert.id] = Suppressed(silenced, inhibited)
        return found

    # ---------------------------------------------------------------- acknowledgement

    def acknowledge(self, principal: Principal, alert_id: str, cmd: AckCommand) -> AlertDetail:
        with self.deps.uow(principal.actor) as uow:
            row = self._alert_row(uow.conn, alert_id, lock=True)
            principal.require(
                "alert.ack", row.node_path, object_type="alert", object_id=row.id, node_id=row.facility_id
            )
            if row.status == AlertStatus.RESOLVED:
                raise Conflict("alert_not_active")
            if row.status == AlertStatus.ACKNOWLEDGED:
                raise Conflict("alert_already_acknowledged")
            self.acknowledge_in(uow, row, user_id=principal.user_id, comment=cmd.comment)
            uow.commit()
        return self.get(principal, alert_id)

    def acknowledge_in(
        self,
        uow: UnitOfWork,
        row: DbRow,
        *,
        user_id: str,
        comment: str,
        context: dict[str, Any] | None = None,
    ) -> None:
        """Acknowledge the (locked, firing) alert ``row`` inside the caller's unit of work.

        The caller has decided that ``user_id`` may: ``acknowledge`` by ``alert.ack``, another
        wing by its own action (``context`` says which, for the history and the audit entry).
        Escalation stops until the policy's ``ack_timeout`` runs out.
        """
        now = self.deps.clock.now()
        policy = self.routing.policies.get(row.escalation_policy or "")
        expires = now + policy.ack_timeout if policy and policy.ack_timeout else None
        uow.conn.execute(
            update(store.alerts)
            .where(A.id == row.id)
            .values(
                status=AlertStatus.ACKNOWLEDGED.value,
                ack_by=user_id,
                ack_at=now,
                ack_comment=comment,
                ack_expires_at=expires,
                next_escalation_at=None,
                updated_at=now,
            )
        )
        details = {
            "fingerprint": row.fingerprint,
            "comment": comment,
            "level": row.escalation_level,
            "expires_at": _iso(expires),
            **(context or {}),
        }
        self._history(uow.conn, row.id, "acknowledged", uow.actor.ref, details, now)
        uow.audit("alert.ack", object_type="alert", object_id=row.id, scope=row.facility_id, details=details)
        uow.emit(
            "alerts.alert.acknowledged",
            {
                "alert_id": row.id,
                "fingerprint": row.fingerprint,
                "by": user_id,
                "facility_id": row.facility_id,
            },
            key=row.facility_id,
        )

    def acknowledge_firing(
        self,
        uow: UnitOfWork,
        fingerprints: Sequence[str],
        *,
        user_id: str,
        comment: str,
        context: dict[str, Any] | None = None,
    ) -> list[str]:
        """Acknowledge whichever of these alerts are firing, in ``uow``; their ids.

        Resolved and already acknowledged ones are left as they are (for a wing acting on
        its own object, such as an incident, that is not a conflict).
        """
        if not fingerprints:
            return []
        rows = uow.conn.execute(
            select(store.alerts)
            .where(and_(A.fingerprint.in_(list(fingerprints)), A.status == AlertStatus.FIRING.value))
            .order_by(A.id)
            .with_for_update()
        ).all()
        for row in rows:
            self.acknowledge_in(uow, row, user_id=user_id, comment=comment, context=context)
        return [row.id for row in rows]

    # ---------------------------------------------------------------- reading

    def _alert_query(self) -> Any:
        """Alerts with their facility and the acknowledger's display name, in one read."""
        return (
            select(
                store.alerts,
                N.path.label("node_path"),
                N.name.label("facility_name"),
                ACKER.c.display_name.label("ack_by_name"),
            )
            .join(registry_store.org_nodes, N.id == A.facility_id)
            .outerjoin(ACKER, ACKER.c.id == A.ack_by)
        )

    def _alert_row(self, conn: Connection, alert_id: str, *, lock: bool = False) -> DbRow:
        query = self._alert_query().where(A.id == alert_id)
        row = conn.execute(query.with_for_update(of=store.alerts) if lock else query).first()
        if row is None:
            raise NotFound("not_found", params={"object": "alert"})
        return row

    def _summary(self, row: DbRow, locale: str, suppressed: Suppressed | None) -> dict[str, Any]:
        titles = dict(row.titles)
        return {
            "id": row.id,
            "fingerprint": row.fingerprint,
            "source": row.source,
            "rule_id": row.rule_id,
            "rule_version": row.rule_version,
            "severity": row.severity,
            "status": row.status,
            "facility_id": row.facility_id,
            "facility_name": row.facility_name,
            "labels": dict(row.labels),
            "title": titles.get(locale) or titles.get("en") or row.rule_id,
            "starts_at": row.starts_at,
            "triggered_at": row.triggered_at,
            "resolved_at": row.resolved_at,
            "trigger_count": row.trigger_count,
            "escalation_level": row.escalation_level,
            "acknowledged": AckView(
                by=row.ack_by,
                by_name=row.ack_by_name,
                at=row.ack_at,
                comment=row.ack_comment or "",
                expires_at=row.ack_expires_at,
            )
            if row.ack_by
            else None,
            "silenced_by": list(suppressed.silenced_by) if suppressed else [],
            "inhibited_by": list(suppressed.inhibited_by) if suppressed else [],
        }

    def list_alerts(
        self,
        principal: Principal,
        *,
        facility_id: str | None = None,
        rule_id: str | None = None,
        status: str | None = None,
        severity: str | None = None,
        source: str | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> list[AlertSummary]:
        """Alerts of the facilities in the caller's subtree, newest first."""
        query = self._alert_query().where(principal.scope_clause("alert.read", N.path))
        for column, value in (
            (A.facility_id, facility_id),
            (A.rule_id, rule_id),
            (A.status, status),
            (A.severity, severity),
            (A.source, source),
        ):
            if value is not None:
                query = query.where(column == value)
        if before is not None:
            query = query.where(A.id < before)
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            rows = conn.execute(query.order_by(A.id.desc()).limit(limit)).all()
            suppressed = (
                self.suppression(conn, now) if any(r.status != AlertStatus.RESOLVED for r in rows) else {}
            )
        return [AlertSummary(**self._summary(r, principal.locale, suppressed.get(r.id))) for r in rows]

    def open_counts(self, principal: Principal) -> dict[str, dict[str, int]]:
        """Unresolved alerts per facility and colour, in the caller's subtree (the overview's figures).

        A count, not a list: a province with thousands of open alerts is summed in the database.
        """
        query = (
            select(A.facility_id, A.severity, func.count())
            .select_from(store.alerts.join(registry_store.org_nodes, N.id == A.facility_id))
            .where(principal.scope_clause("alert.read", N.path), A.status != AlertStatus.RESOLVED.value)
            .group_by(A.facility_id, A.severity)
        )
        found: dict[str, dict[str, int]] = {}
        with self.deps.db.read() as conn:
            for facility_id, severity, count in conn.execute(query):
                found.setdefault(facility_id, {})[severity] = int(count)
        return found

    def get(self, principal: Principal, alert_id: str) -> AlertDetail:
        """One alert with its evidence, escalation state, history and every delivery attempt."""
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            row = self._alert_row(conn, alert_id)
            principal.require_visible("alert.read", row.node_path, object_type="alert")
            suppressed = (
                self.suppression(conn, now).get(row.id) if row.status != AlertStatus.RESOLVED else None
            )
            history = conn.execute(
                select(store.alert_history).where(H.alert_id == row.id).order_by(H.at, H.id)
            ).all()
            deliveries = self._deliveries(conn, row.id)
        return AlertDetail(
            **self._summary(row, principal.locale, suppressed),
            rule_hash=row.rule_hash,
            titles=dict(row.titles),
            measures=dict(row.measures),
            event_ids=list(row.event_ids),
            first_seen_at=row.first_seen_at,
            updated_at=row.updated_at,
            receiver=row.receiver,
            escalation=self._escalation_view(row, history),
            history=[
                HistoryEntry(at=h.at, kind=h.kind, actor=h.actor, details=dict(h.details)) for h in history
            ],
            deliveries=deliveries,
        )

    def _escalation_view(self, row: DbRow, history: Sequence[DbRow]) -> EscalationView:
        policy = self.routing.policies.get(row.escalation_policy or "")
        since = max(
            (h.at for h in history if h.kind in ("fired", "retriggered", "ack_expired")), default=None
        )
        escalated = {
            int(h.details.get("level", 0)): h.at
            for h in history
            if h.kind == "escalated" and (since is None or h.at >= since)
        }
        steps = [
            EscalationStepView(
                level=index + 1,
                receiver=step.receiver,
                after_s=step.after.total_seconds(),
                escalated_at=escalated.get(index + 1),
            )
            for index, step in enumerate(policy.steps if policy else ())
        ]
        return EscalationView(
            policy=row.escalation_policy,
            level=row.escalation_level,
            next_at=row.next_escalation_at,
            ack_timeout_s=policy.ack_timeout.total_seconds() if policy and policy.ack_timeout else None,
            steps=steps,
        )

    def _deliveries(self, conn: Connection, alert_id: str) -> list[DeliveryView]:
        rows = conn.execute(
            select(store.alert_deliveries, NT.reason, NT.level)
            .join(store.alert_notifications, NT.id == D.notification_id)
            .join(store.alert_notification_alerts, NA.notification_id == NT.id)
            .where(NA.alert_id == alert_id)
            .order_by(D.created_at, D.id)
        ).all()
        attempts: dict[str, list[AttemptView]] = {}
        if rows:
            for a in conn.execute(
                select(store.alert_delivery_attempts)
                .where(AT.delivery_id.in_([r.id for r in rows]))
                .order_by(AT.attempt)
            ):
                attempts.setdefault(a.delivery_id, []).append(
                    AttemptView(
                        attempt=a.attempt,
                        at=a.at,
                        outcome=a.outcome,
                        error=a.error,
                        duration_ms=a.duration_ms,
                    )
                )
        return [
            DeliveryView(
                id=r.id,
                notification_id=r.notification_id,
                reason=r.reason,
                level=r.level,
                receiver=r.receiver,
                integration=r.integration,
                channel=r.channel,
                target=r.target,
                recipients=[str(x) for x in r.recipients],
                locale=r.locale,
                state=r.state,
                attempts=attempts.get(r.id, []),
                last_error=r.last_error,
                created_at=r.created_at,
            )
            for r in rows
        ]

    def open_alerts(self, conn: Connection, paths: list[str]) -> list[DbRow]:
        """Unresolved alerts of the facilities under ``paths`` (what a handover must list)."""
        if not paths:
            return []
        under = or_(*(N.path.startswith(p, autoescape=True) for p in paths))
        return list(
            conn.execute(
                self._alert_query()
                .where(and_(A.status != AlertStatus.RESOLVED.value, under))
                .order_by(A.triggered_at, A.id)
            ).all()
        )

    def integrations(self, principal: Principal) -> list[IntegrationView]:
        """The health of every notifier integration; platform-wide, so asked of a root node."""
        with self.deps.db.read() as conn:
            for root in self.registry.roots(conn):
                self.registry.require_node(conn, principal, root.id, "alert.read", "org_node")
            rows = conn.execute(select(store.alert_integrations).order_by(I.key)).all()
        return [
            IntegrationView(
                key=r.key,
                receiver=r.receiver,
                channel=r.channel,
                target=r.target,
                consecutive_failures=r.consecutive_failures,
                failing=r.failing,
                last_error=r.last_error,
                last_failure_at=r.last_failure_at,
                last_success_at=r.last_success_at,
            )
            for r in rows
        ]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
