"""The in-app inbox: notices to the people a facility's roles name, in their own language.

A wing that must tell someone ("the facility supervisor", "the legal representative")
delivers a notice inside its own unit of work, so the notice exists exactly when the fact
it reports does. Recipients are resolved from the role bindings at delivery time. When
no one holds the role, the notice is still stored (without a recipient), logged as an
error and announced on the bus: a notice that reaches nobody is a failure, never silence.

Notices carry a kind and parameters, not text; the text is the catalog's
``inbox.<kind>.title`` and ``inbox.<kind>.body`` in the reader's language.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, insert, select, update

from wardwatch.alerts import store
from wardwatch.authz.principal import Principal
from wardwatch.authz.service import AccountService
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import NotFound
from wardwatch.kernel.i18n import t
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork

log = logging.getLogger(__name__)

N = store.inbox.c


class NoticeKind(StrEnum):
    """Every kind of notice; each has ``inbox.<kind>.title`` and ``.body`` in all catalogs."""

    STORAGE_ALERT = "storage_alert"
    TERMINAL_DRIFT = "terminal_drift"
    TERMINAL_EVENTS_LOST = "terminal_events_lost"
    TERMINAL_EVENTS_REFUSED = "terminal_events_refused"
    MQTT_UNREACHABLE = "mqtt_unreachable"
    DUTY_COVERAGE_GAP = "duty_coverage_gap"
    BREACH_REPORTED = "breach_reported"
    BREACH_REMEDY_RECORDED = "breach_remedy_recorded"
    ALERT_FIRING = "alert_firing"
    ALERT_RESOLVED = "alert_resolved"
    ALERT_ESCALATED = "alert_escalated"
    ALERT_FALLBACK = "alert_fallback"
    BREACH_REMEDY_REJECTED = "breach_remedy_rejected"
    CAMERA_INCIDENT = "camera_incident"
    CAMERA_RECOVERED = "camera_recovered"
    CAMERA_FALLBACK_DUE = "camera_fallback_due"


def _in_locale(texts: dict[str, Any], locale: str) -> str:
    return str(texts.get(locale) or texts.get("en") or next(iter(texts.values())))


class NoticeView(BaseModel):
    id: str
    kind: str
    severity: str
    node_id: str
    title: str
    body: str
    params: dict[str, Any]
    ref_type: str
    ref_id: str
    created_at: datetime
    read_at: datetime | None


class Inbox:
    def __init__(self, deps: Deps, accounts: AccountService) -> None:
        self.deps = deps
        self.accounts = accounts

    def deliver(
        self,
        uow: UnitOfWork,
        *,
        node_id: str,
        roles: Iterable[str],
        kind: NoticeKind,
        params: dict[str, Any],
        ref_type: str,
        ref_id: str,
        severity: str = "info",
    ) -> list[str]:
        """Store one notice per holder of any of ``roles`` over the node; returns their ids."""
        audience = sorted(set(roles))
        recipients = sorted(
            {user for role in audience for user in self.accounts.holders_of_role(uow.conn, node_id, role)}
        )
        now = self.deps.clock.now()
        base = {
            "node_id": node_id,
            "kind": kind.value,
            "severity": severity,
            "params": params,
            "ref_type": ref_type,
            "ref_id": ref_id,
            "audience": ",".join(audience),
            "created_at": now,
        }
        targets: list[str | None] = list(recipients) or [None]
        uow.conn.execute(insert(store.inbox), [{"id": new_id(), "user_id": user, **base} for user in targets])
        event = {"kind": kind.value, "node_id": node_id, "ref_type": ref_type, "ref_id": ref_id}
        if recipients:
            uow.emit("inbox.delivered", {**event, "recipients": recipients}, key=node_id)
        else:
            log.error(
                "a notice has no recipient: nobody holds the role at this facility",
                extra={**event, "audience": audience},
            )
            uow.emit("inbox.undeliverable", {**event, "audience": audience}, key=node_id)
        return recipients

    def _view(self, row: Any, locale: str) -> NoticeView:
        params = {k: v for k, v in (row.params or {}).items() if isinstance(v, str | int | float)}
        # A parameter given in every language (a rule's own title) is shown in the reader's.
        params.update(
            {k: _in_locale(v, locale) for k, v in (row.params or {}).items() if isinstance(v, dict) and v}
        )
        return NoticeView(
            id=row.id,
            kind=row.kind,
            severity=row.severity,
            node_id=row.node_id,
            title=t(f"inbox.{row.kind}.title", locale, **params),
            body=t(f"inbox.{row.kind}.body", locale, **params),
            params=row.params or {},
            ref_type=row.ref_type,
            ref_id=row.ref_id,
            created_at=row.created_at,
            read_at=row.read_at,
        )

    def list_for(self, principal: Principal, *, unread: bool = False, limit: int = 100) -> list[NoticeView]:
        query = select(store.inbox).where(N.user_id == principal.user_id)
        if unread:
            query = query.where(N.read_at.is_(None))
        with self.deps.db.read() as conn:
            rows = conn.execute(query.order_by(N.created_at.desc(), N.id.desc()).limit(limit)).all()
        return [self._view(r, principal.locale) for r in rows]

    def mark_read(self, principal: Principal, notice_id: str) -> NoticeView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = uow.conn.execute(
                select(store.inbox).where(and_(N.id == notice_id, N.user_id == principal.user_id))
            ).first()
            if row is None:
                raise NotFound("not_found", params={"object": "notice"})
            if row.read_at is None:
                uow.conn.execute(update(store.inbox).where(N.id == notice_id).values(read_at=now))
                uow.audit(
                    "inbox.read",
                    object_type="notice",
                    object_id=notice_id,
                    scope=row.node_id,
                    details={"kind": row.kind, "ref_type": row.ref_type, "ref_id": row.ref_id},
                )
                uow.commit()
            found = uow.conn.execute(select(store.inbox).where(N.id == notice_id)).first()
        return self._view(found, principal.locale)
