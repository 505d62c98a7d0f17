"""The dispatcher: what turns stored alerts into notifications, on a clock.

Each ``tick`` (driven by ``kernel.periodic.Periodic`` in the server, called directly by
tests with an injected clock) does, in order:

1. re-trigger acknowledged alerts whose acknowledgement timed out;
2. escalate unacknowledged alerts whose policy delay passed, one level per step;
3. flush the aggregation groups that are due (``group_wait``, then every
   ``group_interval``; repeating after ``repeat_interval``), minus silenced and inhibited
   alerts;
4. send the deliveries that are due, outside any transaction, and record each attempt.

A delivery that fails is retried with backoff. When one integration has failed
``failure_threshold`` times in a row, or a delivery used up its attempts, the delivery is
handed to the receiver's fallback, and the failing integration raises an alert of its own
(source ``notifier``, red) for the administrators. A notification that reaches nobody at
all goes to the fallback too. Nothing fails quietly.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from wardwatch.alerts import store
from wardwatch.alerts.audience import Place, place_of, resolve
from wardwatch.alerts.config import AlertSettings, ReceiverSettings
from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.alerts.messages import AlertFacts, Why, inbox_params, localized, machine_payload, render
from wardwatch.alerts.model import (
    AlertSignal,
    AlertStatus,
    FlushDecision,
    Member,
    Severity,
    decide_flush,
    fingerprint,
)
from wardwatch.alerts.notifiers import Outcome, Senders, mail_url, redact_url
from wardwatch.alerts.routing import Routing
from wardwatch.alerts.service import AlertService, Suppressed, facts_of
from wardwatch.authz.service import AccountService
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

A = store.alerts.c
G = store.alert_groups.c
M = store.alert_group_members.c
NT = store.alert_notifications.c
D = store.alert_deliveries.c
I = store.alert_integrations.c  # noqa: E741

BATCH = 200
SEND_BATCH = 50
NOTIFIER_RULE = "notifier.failure"
NOTIFIER_RULE_VERSION = "1"
NOTIFIER_RULE_HASH = hashlib.sha256(f"{NOTIFIER_RULE}/{NOTIFIER_RULE_VERSION}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TickReport:
    ack_expired: int = 0
    escalated: int = 0
    notified: int = 0
    delivered: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Plan:
    group: DbRow
    members: list[DbRow]
    decision: FlushDecision
    next_flush_at: datetime | None


def _sealed_context(delivery_id: str) -> str:
    return f"alert-delivery:{delivery_id}"


class AlertDispatcher:
    def __init__(
        self,
        deps: Deps,
        service: AlertService,
        registry: RegistryService,
        accounts: AccountService,
        inbox: Inbox,
        routing: Routing,
        senders: Senders,
    ) -> None:
        self.deps = deps
        self.service = service
        self.registry = registry
        self.accounts = accounts
        self.inbox = inbox
        self.routing = routing
        self.senders = senders
        self.actor = system_actor("alerts")
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="alert-send")

    @property
    def settings(self) -> AlertSettings:
        return self.deps.settings.alerts

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)

    def tick(self) -> TickReport:
        """One pass of the whole pipeline at the clock's now (see the module doc)."""
        with self._lock:
            now = self.deps.clock.now()
            expired = self._expire_acks(now)
            escalated = self._escalate(now)
            notified = self._flush_groups(now)
            delivered, failed = self._send_due(now)
        return TickReport(expired, escalated, notified, delivered, failed)

    # ---------------------------------------------------------------- 1. acknowledgement timeouts

    def _expire_acks(self, now: datetime) -> int:
        with self.deps.db.read() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(A.id)
                    .where(and_(A.status == AlertStatus.ACKNOWLEDGED.value, A.ack_expires_at <= now))
                    .order_by(A.ack_expires_at)
                    .limit(BATCH)
                )
            ]
        done = 0
        for alert_id in ids:
            with self.deps.uow(self.actor) as uow:
                row = uow.conn.execute(select(store.alerts).where(A.id == alert_id).with_for_update()).first()
                if row is None or row.status != AlertStatus.ACKNOWLEDGED or row.ack_expires_at is None:
                    continue
                if row.ack_expires_at > now:
                    continue
                self.service.retrigger(uow, row, "ack_expired")
                uow.commit()
                done += 1
        return done

    # ---------------------------------------------------------------- 2. escalation

    def _escalate(self, now: datetime) -> int:
        with self.deps.db.read() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(A.id)
                    .where(and_(A.status == AlertStatus.FIRING.value, A.next_escalation_at <= now))
                    .order_by(A.next_escalation_at)
                    .limit(BATCH)
                )
            ]
            suppressed = self.service.suppression(conn, now) if ids else {}
        done = 0
        for alert_id in ids:
            if alert_id in suppressed:
                continue  # a muted alert pages no one; it escalates once it is no longer muted
            with self.deps.uow(self.actor) as uow:
                if self._escalate_one(uow, alert_id, now):
                    uow.commit()
                    done += 1
        return done

    def _escalate_one(self, uow: UnitOfWork, alert_id: str, now: datetime) -> bool:
        conn = uow.conn
        row = conn.execute(select(store.alerts).where(A.id == alert_id).with_for_update()).first()
        if row is None or row.status != AlertStatus.FIRING or row.next_escalation_at is None:
            return False
        if row.next_escalation_at > now:
            return False
        policy = self.routing.policies.get(row.escalation_policy or "")
        if policy is None or row.escalation_level >= len(policy.steps):
            # The policy was removed or shortened in the configuration: stop, and say so.
            conn.execute(update(store.alerts).where(A.id == row.id).values(next_escalation_at=None))
            log.warning(
                "an alert's escalation policy is no longer configured; escalation stopped",
                extra={"alert_id": row.id, "policy": row.escalation_policy},
            )
            uow.audit(
                "alert.escalation.stopped",
                object_type="alert",
                object_id=row.id,
                scope=row.facility_id,
                outcome="failure",
                details={"policy": row.escalation_policy, "level": row.escalation_level},
            )
            return True
        level = row.escalation_level + 1
        step = policy.step(level)
        place = self._place(conn, row.facility_id)
        facts = facts_of(row, place)
        notification = self.notify(uow, place, step.receiver, [facts], [], Why("escalation", level=level))
        conn.execute(
            update(store.alerts)
            .where(A.id == row.id)
            .values(escalation_level=level, next_escalation_at=policy.due_after(level, now), updated_at=now)
        )
        details = {
            "fingerprint": row.fingerprint,
            "level": level,
            "receiver": step.receiver,
            "policy": policy.name,
            "notification_id": notification,
        }
        self.service._history(conn, row.id, "escalated", self.actor.ref, details, now)
        uow.audit(
            "alert.escalate", object_type="alert", object_id=row.id, scope=row.facility_id, details=details
        )
        uow.emit(
            "alerts.alert.escalated",
            {
                "alert_id": row.id,
                "fingerprint": row.fingerprint,
                "level": level,
                "receiver": step.receiver,
                "facility_id": row.facility_id,
            },
            key=row.facility_id,
        )
        return True

    # ---------------------------------------------------------------- 3. group flushes

    def _flush_groups(self, now: datetime) -> int:
        with self.deps.db.read() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(G.id).where(G.next_flush_at <= now).order_by(G.next_flush_at).limit(BATCH)
                )
            ]
            suppressed = self.service.suppression(conn, now) if ids else {}
        notified = 0
        for group_id in ids:
            with self.deps.db.write() as conn:
                plan = self._plan(conn, group_id, now, suppressed)
                if plan is None:
                    continue
                if plan.decision.reason is None:
                    # Scheduling only: nothing is sent, so there is nothing to audit.
                    self._save_group(conn, plan, now, sent=False)
                    continue
            with self.deps.uow(self.actor) as uow:
                plan = self._plan(uow.conn, group_id, now, suppressed)
                if plan is None or plan.decision.reason is None:
                    continue
                self._send_group(uow, plan, now)
                uow.commit()
                notified += 1
        return notified

    def _plan(
        self, conn: Connection, group_id: str, now: datetime, suppressed: dict[str, Suppressed]
    ) -> _Plan | None:
        group = conn.execute(select(store.alert_groups).where(G.id == group_id).with_for_update()).first()
        if group is None or group.next_flush_at is None or group.next_flush_at > now:
            return None
        route = self.routing.route(group.route_id) or self.routing.root
        members = list(
            conn.execute(
                select(store.alerts)
                .join(store.alert_group_members, M.alert_id == A.id)
                .where(M.group_id == group_id)
                .order_by(A.starts_at, A.id)
            ).all()
        )
        receiver = self.settings.receivers.get(group.receiver)
        decision = decide_flush(
            [
                Member(m.id, m.fingerprint, m.trigger_count, AlertStatus(m.status), m.id in suppressed)
                for m in members
            ],
            frozenset((str(fp), int(count)) for fp, count in group.notified),
            group.last_notified_at,
            now,
            route.repeat_interval,
            receiver.send_resolved if receiver else True,
        )
        next_at = now + route.group_interval if decision.active else None
        return _Plan(group, members, decision, next_at)

    def _save_group(self, conn: Connection, plan: _Plan, now: datetime, *, sent: bool) -> None:
        values: dict[str, Any] = {
            "last_flush_at": now,
            "next_flush_at": plan.next_flush_at,
            "notified": sorted([fp, count] for fp, count in plan.decision.notified_after),
        }
        if sent:
            values["last_notified_at"] = now
        conn.execute(update(store.alert_groups).where(G.id == plan.group.id).values(**values))

    def _send_group(self, uow: UnitOfWork, plan: _Plan, now: datetime) -> None:
        decision = plan.decision
        assert decision.reason is not None
        place = self._place(uow.conn, plan.group.facility_id)
        by_id = {m.id: m for m in plan.members}
        firing = [facts_of(by_id[i], place) for i in decision.firing]
        resolved = [facts_of(by_id[i], place) for i in decision.resolved]
        notification = self.notify(
            uow, place, plan.group.receiver, firing, resolved, Why(decision.reason), group_id=plan.group.id
        )
        # Whoever an escalation reached hears of the resolution too.
        escalated: dict[tuple[str, int], list[AlertFacts]] = {}
        for facts in resolved:
            row = by_id[facts.id]
            policy = self.routing.policies.get(row.escalation_policy or "")
            for level in range(1, min(row.escalation_level, len(policy.steps) if policy else 0) + 1):
                assert policy is not None
                escalated.setdefault((policy.step(level).receiver, level), []).append(facts)
        for (receiver, level), alerts in sorted(escalated.items()):
            settings = self.settings.receivers.get(receiver)
            if settings is None or settings.send_resolved:
                self.notify(uow, place, receiver, [], alerts, Why("resolved", level=level))
        self._save_group(uow.conn, plan, now, sent=True)
        uow.audit(
            "alert.notify",
            object_type="alert_group",
            object_id=plan.group.id,
            scope=plan.group.facility_id,
            details={
                "notification_id": notification,
                "reason": decision.reason,
                "receiver": plan.group.receiver,
                "firing": [f.fingerprint for f in firing],
                "resolved": [f.fingerprint for f in resolved],
            },
        )

    # ---------------------------------------------------------------- making a notification

    def _place(self, conn: Connection, node_id: str) -> Place:
        place = place_of(conn, self.registry, node_id)
        if place is None:  # org nodes are never deleted; this would be a broken database
            raise RuntimeError(f"alert node {node_id} is missing")
        return place

    def notify(
        self,
        uow: UnitOfWork,
        place: Place,
        receiver_name: str,
        firing: Sequence[AlertFacts],
        resolved: Sequence[AlertFacts],
        why: Why,
        *,
        group_id: str | None = None,
        cause: dict[str, Any] | None = None,
    ) -> str:
        """Store one notification to ``receiver_name`` and its deliveries; the inbox at once."""
        conn = uow.conn
        now = self.deps.clock.now()
        cause = dict(cause or {})
        receiver = self.settings.receivers.get(receiver_name)
        if receiver is None:
            log.error(
                "a notification names a receiver that is no longer configured; the fallback gets it",
                extra={"receiver": receiver_name},
            )
            cause.setdefault("unknown_receiver", receiver_name)
            receiver_name = self.settings.fallback_receiver
            receiver = self.settings.receivers[receiver_name]
        audience = resolve(conn, self.accounts, place, receiver)
        notification_id = new_id()
        every = [*firing, *resolved]
        conn.execute(
            insert(store.alert_notifications).values(
                id=notification_id,
                facility_id=place.id,
                group_id=group_id,
                receiver=receiver_name,
                reason=why.reason,
                alert_ids=[a.id for a in firing],
                resolved_ids=[a.id for a in resolved],
                level=why.level,
                cause={**cause, **({"notes": list(audience.notes)} if audience.notes else {})},
                created_at=now,
            )
        )
        conn.execute(
            insert(store.alert_notification_alerts),
            [{"notification_id": notification_id, "alert_id": i} for i in dict.fromkeys(a.id for a in every)],
        )
        reached = self._inbox(uow, notification_id, receiver_name, audience.inbox, firing, resolved, why, now)
        default_locale = self.deps.settings.default_locale
        smtp = self.settings.email.url
        if receiver.email and smtp is not None:
            for locale, addresses in sorted(audience.emails(default_locale).items()):
                subject, body = render(firing, resolved, why, locale)
                self._pending(
                    conn,
                    notification_id,
                    receiver_name,
                    channel="email",
                    integration=f"{receiver_name}/email",
                    shown=redact_url(smtp.get_secret_value()),
                    real=mail_url(smtp.get_secret_value(), addresses),
                    recipients=addresses,
                    locale=locale,
                    payload={"title": subject, "body": body},
                    now=now,
                )
                reached = True
        if receiver.mqtt and self.settings.mqtt.enabled:
            mqtt = self.settings.mqtt
            locale = receiver.locale or default_locale
            for alert in every:
                topic = mqtt.topic.format(
                    facility_id=alert.facility_id,
                    severity=alert.severity,
                    rule_id=alert.rule_id,
                    source=alert.source,
                    alert_id=alert.id,
                )
                self._pending(
                    conn,
                    notification_id,
                    receiver_name,
                    channel="mqtt",
                    integration=f"{receiver_name}/mqtt",
                    shown=f"mqtt://{mqtt.host}:{mqtt.port}/{topic}",
                    real=None,
                    recipients=[topic],
                    locale=locale,
                    payload={"topic": topic, "message": machine_payload(alert, why, locale)},
                    now=now,
                )
                reached = True
        for index, secret in enumerate(receiver.apprise):
            url = secret.get_secret_value()
            locale = receiver.locale or default_locale
            subject, body = render(firing, resolved, why, locale)
            self._pending(
                conn,
                notification_id,
                receiver_name,
                channel="apprise",
                integration=f"{receiver_name}/apprise.{index}",
                shown=redact_url(url),
                real=url,
                recipients=[],
                locale=locale,
                payload={"title": subject, "body": body},
                now=now,
            )
            reached = True
        if not reached:
            self._undeliverable(uow, place, receiver_name, receiver, notification_id, firing, resolved, cause)
        return notification_id

    def _inbox(
        self,
        uow: UnitOfWork,
        notification_id: str,
        receiver_name: str,
        targets: Sequence[tuple[str, tuple[str, ...]]],
        firing: Sequence[AlertFacts],
        resolved: Sequence[AlertFacts],
        why: Why,
        now: datetime,
    ) -> bool:
        """In-app notices, delivered in this unit of work; True if anyone got one."""
        kind = {
            "escalation": NoticeKind.ALERT_ESCALATED,
            "fallback": NoticeKind.ALERT_FALLBACK,
        }.get(why.reason, NoticeKind.ALERT_FIRING)
        reached = False
        for node, roles in targets:
            recipients: set[str] = set()
            for alert in [*firing, *resolved]:
                recipients |= set(
                    self.inbox.deliver(
                        uow,
                        node_id=node,
                        roles=roles,
                        kind=NoticeKind.ALERT_RESOLVED if alert in resolved else kind,
                        params=inbox_params(alert, why),
                        ref_type="alert",
                        ref_id=alert.id,
                        severity=alert.severity,
                    )
                )
            delivery_id = new_id()
            outcome = "delivered" if recipients else "no_recipient"
            uow.conn.execute(
                insert(store.alert_deliveries).values(
                    id=delivery_id,
                    notification_id=notification_id,
                    receiver=receiver_name,
                    integration=f"{receiver_name}/inbox",
                    channel="inbox",
                    target=f"inbox:{'+'.join(roles)}@{node}",
                    target_sealed=None,
                    recipients=sorted(recipients),
                    locale="",
                    payload={"kind": kind.value},
                    state=outcome,
                    attempts=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            uow.conn.execute(
                insert(store.alert_delivery_attempts).values(
                    id=new_id(),
                    delivery_id=delivery_id,
                    attempt=1,
                    at=now,
                    outcome=outcome,
                    duration_ms=0,
                    error=None if recipients else "nobody holds the role there",
                )
            )
            reached = reached or bool(recipients)
        return reached

    def _pending(
        self,
        conn: Connection,
        notification_id: str,
        receiver: str,
        *,
        channel: str,
        integration: str,
        shown: str,
        real: str | None,
        recipients: list[str],
        locale: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> None:
        delivery_id = new_id()
        sealed = self.deps.box.seal(real.encode(), _sealed_context(delivery_id)) if real is not None else None
        conn.execute(
            insert(store.alert_deliveries).values(
                id=delivery_id,
                notification_id=notification_id,
                receiver=receiver,
                integration=integration,
                channel=channel,
                target=shown[:500],
                target_sealed=sealed,
                recipients=recipients,
                locale=locale,
                payload=payload,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )

    def _undeliverable(
        self,
        uow: UnitOfWork,
        place: Place,
        receiver_name: str,
        receiver: ReceiverSettings,
        notification_id: str,
        firing: Sequence[AlertFacts],
        resolved: Sequence[AlertFacts],
        cause: dict[str, Any],
    ) -> None:
        """Nobody at all could be told: say so, and hand the news to the fallback receiver."""
        log.error(
            "an alert notification reached nobody: no one holds its roles and no address is on record",
            extra={"receiver": receiver_name, "facility_id": place.id, "notification_id": notification_id},
        )
        uow.emit(
            "alerts.notification.undeliverable",
            {"notification_id": notification_id, "receiver": receiver_name, "facility_id": place.id},
            key=place.id,
        )
        fallback = receiver.fallback or self.settings.fallback_receiver
        if cause.get("fallback_of") or fallback == receiver_name:
            log.critical(
                "the fallback receiver reached nobody either",
                extra={"receiver": receiver_name, "facility_id": place.id},
            )
            return
        self.notify(
            uow,
            place,
            fallback,
            firing,
            resolved,
            Why("fallback", receiver=receiver_name, integration="no_recipient"),
            cause={"fallback_of": notification_id, "integration": "no_recipient"},
        )

    # ---------------------------------------------------------------- 4. sending

    def _send_due(self, now: datetime) -> tuple[int, int]:
        due = or_(
            and_(D.state == "pending", D.next_attempt_at <= now),
            and_(D.state == "sending", D.lease_until < now),  # claimed by a sender that died
        )
        with self.deps.db.read() as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(D.id).where(due).order_by(D.next_attempt_at, D.id).limit(SEND_BATCH)
                )
            ]
        if not ids:
            return 0, 0  # an idle tick takes no write lock
        lease = timedelta(seconds=self.settings.send_timeout_s * 3 + 30)
        with self.deps.db.write() as conn:
            claimed = [
                r.id
                for r in conn.execute(
                    update(store.alert_deliveries)
                    .where(and_(D.id.in_(ids), due))
                    .values(state="sending", lease_until=now + lease)
                    .returning(D.id)
                )
            ]
            rows = list(
                conn.execute(select(store.alert_deliveries).where(D.id.in_(claimed)).order_by(D.id)).all()
            )
        if not rows:
            return 0, 0
        outcomes = list(self._pool.map(self._send, rows))
        delivered = failed = 0
        for row, outcome in zip(rows, outcomes, strict=True):
            self._record(row, outcome)
            if outcome.ok:
                delivered += 1
            else:
                failed += 1
        return delivered, failed

    def _send(self, row: DbRow) -> Outcome:
        payload = row.payload
        try:
            if row.channel == "mqtt":
                return self.senders.mqtt(payload["topic"], payload["message"])
            if row.target_sealed is None:
                return Outcome(False, "the delivery has no target", 0)
            try:
                url = self.deps.box.open(row.target_sealed, _sealed_context(row.id)).decode()
            except ValueError:
                return Outcome(False, "the sealed target cannot be opened (was the secret key changed?)", 0)
            return self.senders.apprise(url, payload["title"], payload["body"])
        except Exception as exc:  # a sender bug must not stop the other deliveries
            log.exception("sending an alert notification failed unexpectedly", extra={"delivery_id": row.id})
            return Outcome(False, f"internal error: {type(exc).__name__}", 0)

    def _record(self, sent: DbRow, outcome: Outcome) -> None:
        """Store the attempt and its consequences: retry, give up, fallback, notifier alert."""
        now = self.deps.clock.now()
        settings = self.settings
        with self.deps.uow(self.actor) as uow:
            conn = uow.conn
            row = conn.execute(
                select(store.alert_deliveries).where(D.id == sent.id).with_for_update()
            ).first()
            if row is None or row.state != "sending":
                return
            attempt = row.attempts + 1
            conn.execute(
                insert(store.alert_delivery_attempts).values(
                    id=new_id(),
                    delivery_id=row.id,
                    attempt=attempt,
                    at=now,
                    outcome="delivered" if outcome.ok else "failed",
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            health = self._health(conn, row, now)
            audit = {
                "delivery_id": row.id,
                "notification_id": row.notification_id,
                "integration": row.integration,
                "target": row.target,
                "attempt": attempt,
            }
            notification = conn.execute(
                select(store.alert_notifications).where(NT.id == row.notification_id)
            ).one()
            if outcome.ok:
                conn.execute(
                    update(store.alert_deliveries)
                    .where(D.id == row.id)
                    .values(
                        state="delivered",
                        attempts=attempt,
                        lease_until=None,
                        next_attempt_at=None,
                        last_error=None,
                        updated_at=now,
                    )
                )
                conn.execute(
                    update(store.alert_integrations)
                    .where(I.key == row.integration)
                    .values(consecutive_failures=0, failing=False, last_success_at=now, updated_at=now)
                )
                if health.failing:
                    self._integration_recovered(uow, row, notification, now)
                uow.audit(
                    "alert.delivery",
                    object_type="alert_delivery",
                    object_id=row.id,
                    scope=notification.facility_id,
                    details=audit,
                )
                uow.commit()
                return
            failures = health.consecutive_failures + 1
            down = failures >= settings.failure_threshold
            give_up = down or attempt >= settings.max_attempts
            backoff = timedelta(seconds=settings.retry_backoff_s * 2 ** (attempt - 1))
            conn.execute(
                update(store.alert_deliveries)
                .where(D.id == row.id)
                .values(
                    state="failed" if give_up else "pending",
                    attempts=attempt,
                    lease_until=None,
                    next_attempt_at=None if give_up else now + backoff,
                    last_error=outcome.error,
                    updated_at=now,
                )
            )
            conn.execute(
                update(store.alert_integrations)
                .where(I.key == row.integration)
                .values(
                    consecutive_failures=failures,
                    failing=health.failing or down,
                    last_error=outcome.error,
                    last_failure_at=now,
                    updated_at=now,
                )
            )
            log.error(
                "an alert notification could not be delivered",
                extra={**audit, "error": outcome.error, "consecutive_failures": failures, "gave_up": give_up},
            )
            uow.audit(
                "alert.delivery",
                object_type="alert_delivery",
                object_id=row.id,
                scope=notification.facility_id,
                outcome="failure",
                details={
                    **audit,
                    "error": outcome.error,
                    "consecutive_failures": failures,
                    "gave_up": give_up,
                },
            )
            uow.emit("alerts.delivery.failed", {**audit, "gave_up": give_up}, key=notification.facility_id)
            place = self._place(conn, notification.facility_id)
            if give_up:
                self._fall_back(uow, row, notification, place)
            if down:
                self._integration_down(uow, row, notification, place, failures, newly=not health.failing)
            uow.commit()

    def _health(self, conn: Connection, delivery: DbRow, now: datetime) -> DbRow:
        found = conn.execute(
            select(store.alert_integrations).where(I.key == delivery.integration).with_for_update()
        ).first()
        if found is None:
            conn.execute(
                insert(store.alert_integrations).values(
                    key=delivery.integration,
                    receiver=delivery.receiver,
                    channel=delivery.channel,
                    target=delivery.target,
                    consecutive_failures=0,
                    failing=False,
                    updated_at=now,
                )
            )
            found = conn.execute(select(store.alert_integrations).where(I.key == delivery.integration)).one()
        elif found.target != delivery.target:
            conn.execute(
                update(store.alert_integrations)
                .where(I.key == delivery.integration)
                .values(target=delivery.target)
            )
        return found

    def _alerts_of(
        self, conn: Connection, notification: DbRow, place: Place
    ) -> tuple[list[AlertFacts], list[AlertFacts]]:
        ids = [*notification.alert_ids, *notification.resolved_ids]
        rows = {r.id: r for r in conn.execute(select(store.alerts).where(A.id.in_(ids)))} if ids else {}
        firing = [facts_of(rows[i], place) for i in notification.alert_ids if i in rows]
        resolved = [facts_of(rows[i], place) for i in notification.resolved_ids if i in rows]
        return firing, resolved

    def _fall_back(self, uow: UnitOfWork, delivery: DbRow, notification: DbRow, place: Place) -> None:
        """Hand a delivery that gave up to the fallback receiver (once: fallbacks do not cascade)."""
        receiver = self.settings.receivers.get(delivery.receiver)
        fallback = (receiver.fallback if receiver else None) or self.settings.fallback_receiver
        if notification.cause.get("fallback_of") or fallback == delivery.receiver:
            log.critical(
                "a fallback notification could not be delivered either",
                extra={"delivery_id": delivery.id, "integration": delivery.integration},
            )
            return
        firing, resolved = self._alerts_of(uow.conn, notification, place)
        if not firing and not resolved:
            return
        self.notify(
            uow,
            place,
            fallback,
            firing,
            resolved,
            Why(
                "fallback",
                level=notification.level,
                receiver=delivery.receiver,
                integration=delivery.integration,
            ),
            cause={
                "fallback_of": notification.id,
                "integration": delivery.integration,
                "delivery_id": delivery.id,
            },
        )

    def _about_notifiers(self, conn: Connection, notification: DbRow) -> bool:
        ids = [*notification.alert_ids, *notification.resolved_ids]
        if not ids:
            return False
        sources = {r.source for r in conn.execute(select(A.source).where(A.id.in_(ids)))}
        return "notifier" in sources

    def _integration_down(
        self,
        uow: UnitOfWork,
        delivery: DbRow,
        notification: DbRow,
        place: Place,
        failures: int,
        *,
        newly: bool,
    ) -> None:
        """Raise (or update) the notifier alert: an integration that is down is an incident."""
        if self._about_notifiers(uow.conn, notification):
            # The notifier alert's own delivery failing must not raise another one, forever.
            log.critical(
                "notifier alerts cannot be delivered through this integration either",
                extra={"integration": delivery.integration, "target": delivery.target},
            )
            return
        if newly:
            log.critical(
                "a notifier integration is down; a notifier alert is raised",
                extra={"integration": delivery.integration, "target": delivery.target, "failures": failures},
            )
            uow.emit(
                "alerts.integration.down",
                {
                    "integration": delivery.integration,
                    "receiver": delivery.receiver,
                    "target": delivery.target,
                },
                key=delivery.integration,
            )
        labels = {"receiver": delivery.receiver, "integration": delivery.integration}
        # The incident started with the outage; later failures add evidence, not a new start.
        started = uow.conn.execute(
            select(A.starts_at).where(
                and_(
                    A.fingerprint == fingerprint(NOTIFIER_RULE, place.root_id, labels),
                    A.status != AlertStatus.RESOLVED.value,
                )
            )
        ).scalar()
        self.service.fire(
            uow,
            AlertSignal(
                source="notifier",
                rule_id=NOTIFIER_RULE,
                rule_version=NOTIFIER_RULE_VERSION,
                rule_hash=NOTIFIER_RULE_HASH,
                severity=Severity.RED,
                facility_id=place.root_id,
                labels=labels,
                starts_at=started or self.deps.clock.now(),
                measures={"consecutive_failures": failures},
                event_ids=[delivery.id],
                titles=localized(
                    "alerts.notifier_failure.title",
                    receiver=delivery.receiver,
                    integration=delivery.integration,
                    target=delivery.target,
                    failures=failures,
                ),
            ),
        )

    def _integration_recovered(
        self, uow: UnitOfWork, delivery: DbRow, notification: DbRow, now: datetime
    ) -> None:
        """The first success after an outage resolves the notifier alerts it raised."""
        rows = uow.conn.execute(
            select(A.fingerprint, A.labels).where(
                and_(
                    A.source == "notifier", A.rule_id == NOTIFIER_RULE, A.status != AlertStatus.RESOLVED.value
                )
            )
        ).all()
        for row in rows:
            if row.labels.get("integration") == delivery.integration:
                self.service.resolve(uow, row.fingerprint, now)
        log.warning("a notifier integration delivers again", extra={"integration": delivery.integration})
        uow.emit(
            "alerts.integration.recovered", {"integration": delivery.integration}, key=delivery.integration
        )
