"""Handover: the outgoing operator's summary, what is still open, and the incoming one taking over.

What is open (camera incidents, unacknowledged alerts) belongs to other wings. They
offer it through a provider registered on the duty service by the container
(``duty.register_open_items("incident", provider)``); a provider is called inside the
handover's transaction with the covered nodes' paths and returns the open items under
them. The list is stored with the handover, as it was when written. A kind that must be
listed (``duty.handover_item_kinds``) but has no provider, or whose provider fails, is
recorded as unavailable, logged and put on the bus: a handover never pretends nothing
is open because it could not ask.

A shift counts as taken once one of its operators has taken it: by acknowledging the
handover written to it, or, where none is waiting, by starting it with a reason on
record (the first shift of a roster, or an outgoing operator who left without writing
one). Both acts are audited; taking is allowed from ``duty.takeover_early_minutes``
before the start until the end.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from wardwatch.authz.principal import Principal
from wardwatch.duty import store
from wardwatch.duty.model import coverage_related
from wardwatch.duty.roster import Roster, Shift
from wardwatch.duty.schemas import (
    HandoverAcknowledge,
    HandoverCreate,
    HandoverView,
    OpenItemView,
    ShiftStart,
    ShiftView,
)
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork

log = logging.getLogger(__name__)

H = store.handovers.c
S = store.shifts.c
SO = store.shift_operators.c


@dataclass(frozen=True)
class OpenItem:
    """One thing still open that the incoming operator must know about."""

    kind: str
    id: str
    node_id: str
    summary: str
    severity: str = ""
    since: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "node_id": self.node_id,
            "summary": self.summary,
            "severity": self.severity,
            "since": self.since.isoformat() if self.since else None,
            "details": self.details,
        }


OpenItemsProvider = Callable[[Connection, list[str]], list[OpenItem]]
"""Given the covered nodes' paths, the open items under them (read on the given connection)."""


def _handover_view(row: DbRow) -> HandoverView:
    return HandoverView(
        id=row.id,
        from_shift_id=row.from_shift_id,
        to_shift_id=row.to_shift_id,
        summary=row.summary,
        open_items=[OpenItemView.model_validate(i) for i in row.items or []],
        checked=list(row.checked or []),
        unavailable=list(row.unavailable or []),
        written_by=row.written_by,
        written_by_name=row.written_by_name,
        written_at=row.written_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_by_name=row.acknowledged_by_name,
        acknowledged_at=row.acknowledged_at,
        ack_note=row.ack_note,
    )


class Handovers:
    def __init__(self, deps: Deps, roster: Roster) -> None:
        self.deps = deps
        self.roster = roster
        self.providers: dict[str, OpenItemsProvider] = {}

    def register(self, kind: str, provider: OpenItemsProvider) -> None:
        self.providers[kind] = provider

    # ---------------------------------------------------------------- open items

    def _open_items(self, conn: Connection, paths: list[str]) -> tuple[list[OpenItem], list[str], list[str]]:
        """(the items, the kinds asked, the kinds that could not be asked)."""
        kinds = list(dict.fromkeys([*self.deps.settings.duty.handover_item_kinds, *self.providers]))
        items: list[OpenItem] = []
        checked: list[str] = []
        unavailable: list[str] = []
        for kind in kinds:
            provider = self.providers.get(kind)
            if provider is None:
                log.warning("no wing lists open items of this kind for handovers", extra={"kind": kind})
                unavailable.append(kind)
                continue
            try:
                found = provider(conn, paths)
            except Exception:
                log.exception("listing open items for a handover failed", extra={"kind": kind})
                unavailable.append(kind)
                continue
            items.extend(found)
            checked.append(kind)
        return items, checked, unavailable

    # ---------------------------------------------------------------- writing

    def write(self, principal: Principal, shift_id: str, cmd: HandoverCreate) -> HandoverView:
        now = self.deps.clock.now()
        handover_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            outgoing = self.roster.require_shift(conn, principal, shift_id, "duty.write")
            mine = self.roster.require_operator(principal, outgoing, "duty.handover.write")
            if outgoing.cancelled_at is not None:
                raise Conflict("shift_cancelled")
            if mine.taken_at is None:
                raise Conflict("handover_shift_not_taken")
            existing = conn.execute(select(H.id).where(H.from_shift_id == outgoing.id)).scalar()
            if existing is not None:
                raise Conflict("handover_exists", extra={"handover_id": existing})
            incoming = self._incoming(conn, principal, outgoing, cmd.to_shift_id, now)
            items, checked, unavailable = self._open_items(conn, list(outgoing.cover_paths))
            conn.execute(
                insert(store.handovers).values(
                    id=handover_id,
                    from_shift_id=outgoing.id,
                    to_shift_id=incoming.id,
                    summary=cmd.summary,
                    items=[i.as_json() for i in items],
                    checked=checked,
                    unavailable=unavailable,
                    written_by=principal.user_id,
                    written_by_name=principal.username,
                    written_at=now,
                )
            )
            counts: dict[str, int] = {}
            for item in items:
                counts[item.kind] = counts.get(item.kind, 0) + 1
            details = {
                "from_shift_id": outgoing.id,
                "to_shift_id": incoming.id,
                "open_items": counts,
                "checked": checked,
                "unavailable": unavailable,
            }
            uow.audit(
                "duty.handover.write",
                object_type="handover",
                object_id=handover_id,
                scope=outgoing.node_id,
                details=details,
            )
            uow.emit("duty.handover.written", {"id": handover_id, **details}, key=outgoing.node_id)
            if unavailable:
                uow.emit(
                    "duty.handover.items_unavailable",
                    {"id": handover_id, "kinds": unavailable},
                    key=outgoing.node_id,
                )
            uow.commit()
        return self.get(principal, handover_id)

    def _incoming(
        self, conn: Connection, principal: Principal, outgoing: Shift, to_shift_id: str | None, now: datetime
    ) -> Shift:
        """The shift taking over: the one named, or the next that covers the same facilities."""
        if to_shift_id is not None:
            target = self.roster.get_shift(conn, to_shift_id)
            if target is None or not principal.can("duty.read", target.node_path):
                raise Invalid("handover_target_unknown", extra={"field": "to_shift_id"})
            if not self._follows(outgoing, target, now):
                raise Invalid("handover_target_invalid", extra={"field": "to_shift_id"})
            return target
        window = timedelta(minutes=self.deps.settings.duty.handover_next_shift_minutes)
        candidates = [
            s
            for s in self.roster.active_in(conn, outgoing.starts_at, outgoing.ends_at + window, None)
            if s.starts_at <= outgoing.ends_at + window and self._follows(outgoing, s, now)
        ]
        if not candidates:
            raise Invalid("handover_no_next_shift", extra={"field": "to_shift_id"})
        return min(candidates, key=lambda s: (s.starts_at, s.id))

    @staticmethod
    def _follows(outgoing: Shift, target: Shift, now: datetime) -> bool:
        return (
            target.id != outgoing.id
            and target.cancelled_at is None
            and target.starts_at > outgoing.starts_at
            and target.ends_at > now
            and coverage_related(outgoing.cover_paths, target.cover_paths)
        )

    # ---------------------------------------------------------------- taking over

    def _check_take_window(self, shift: Shift, now: datetime) -> None:
        early = timedelta(minutes=self.deps.settings.duty.takeover_early_minutes)
        if not shift.starts_at - early <= now < shift.ends_at:
            raise Invalid(
                "shift_take_window",
                params={"minutes": self.deps.settings.duty.takeover_early_minutes},
                extra={
                    "rule": "roster.take_window",
                    "starts_at": shift.starts_at.isoformat(),
                    "ends_at": shift.ends_at.isoformat(),
                },
            )

    def _take(
        self, uow: UnitOfWork, principal: Principal, shift: Shift, handover_id: str | None, note: str
    ) -> bool:
        """Mark the caller as having taken ``shift``; False when they already had."""
        now = self.deps.clock.now()
        done = uow.conn.execute(
            update(store.shift_operators)
            .where(and_(SO.shift_id == shift.id, SO.user_id == principal.user_id, SO.taken_at.is_(None)))
            .values(taken_at=now, handover_id=handover_id, take_note=note)
            .returning(SO.user_id)
        ).first()
        if done is None:
            return False
        details = {"handover_id": handover_id, "without_handover": handover_id is None, "note": note}
        uow.audit(
            "duty.shift.take", object_type="shift", object_id=shift.id, scope=shift.node_id, details=details
        )
        uow.emit(
            "duty.shift.taken",
            {"id": shift.id, "user_id": principal.user_id, "covers": list(shift.cover_ids), **details},
            key=shift.node_id,
        )
        return True

    def acknowledge(self, principal: Principal, handover_id: str, cmd: HandoverAcknowledge) -> HandoverView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            row = conn.execute(select(store.handovers).where(H.id == handover_id)).first()
            if row is None:
                raise NotFound("not_found", params={"object": "handover"})
            incoming = self.roster.require_shift(conn, principal, row.to_shift_id, "duty.write")
            self.roster.require_operator(principal, incoming, "duty.handover.acknowledge")
            if incoming.cancelled_at is not None:
                raise Conflict("shift_cancelled")
            if row.acknowledged_at is not None:
                raise Conflict("handover_already_acknowledged")
            self._check_take_window(incoming, now)
            done = conn.execute(
                update(store.handovers)
                .where(and_(H.id == row.id, H.acknowledged_at.is_(None)))
                .values(
                    acknowledged_by=principal.user_id,
                    acknowledged_by_name=principal.username,
                    acknowledged_at=now,
                    ack_note=cmd.note,
                )
                .returning(H.id)
            ).first()
            if done is None:
                raise Conflict("handover_already_acknowledged")
            details = {"from_shift_id": row.from_shift_id, "to_shift_id": incoming.id, "note": cmd.note}
            uow.audit(
                "duty.handover.acknowledge",
                object_type="handover",
                object_id=row.id,
                scope=incoming.node_id,
                details=details,
            )
            uow.emit("duty.handover.acknowledged", {"id": row.id, **details}, key=incoming.node_id)
            self._take(uow, principal, incoming, row.id, cmd.note)
            uow.commit()
        return self.get(principal, handover_id)

    def start(self, principal: Principal, shift_id: str, cmd: ShiftStart) -> ShiftView:
        """Take a shift without acknowledging a handover: none waits, or a co-operator already did."""
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            shift = self.roster.require_shift(conn, principal, shift_id, "duty.write")
            mine = self.roster.require_operator(principal, shift, "duty.shift.take")
            if shift.cancelled_at is not None:
                raise Conflict("shift_cancelled")
            if mine.taken_at is not None:
                raise Conflict("shift_already_taken")
            self._check_take_window(shift, now)
            waiting = conn.execute(
                select(H.id, H.acknowledged_at).where(H.to_shift_id == shift.id).order_by(H.written_at)
            ).all()
            pending = [w.id for w in waiting if w.acknowledged_at is None]
            if pending:
                raise Conflict("handover_pending", extra={"handover_id": pending[0]})
            acknowledged = next((w.id for w in waiting), None)
            if acknowledged is None and len(cmd.reason.strip()) < 3:
                raise Invalid("shift_start_reason_required", extra={"field": "reason"})
            self._take(uow, principal, shift, acknowledged, cmd.reason)
            uow.commit()
        return self.roster.get(principal, shift_id)

    # ---------------------------------------------------------------- reading

    def get(self, principal: Principal, handover_id: str) -> HandoverView:
        """Visible to whoever may read the roster of the outgoing or of the incoming shift."""
        with self.deps.db.read() as conn:
            row = conn.execute(select(store.handovers).where(H.id == handover_id)).first()
            if row is None:
                raise NotFound("not_found", params={"object": "handover"})
            paths = conn.execute(
                select(S.node_path).where(S.id.in_([row.from_shift_id, row.to_shift_id]))
            ).scalars()
            if not any(principal.can("duty.read", p) for p in paths):
                raise NotFound("not_found", params={"object": "handover"})
            return _handover_view(row)
