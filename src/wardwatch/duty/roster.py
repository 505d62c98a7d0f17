"""The roster: shifts with their times, operators and the nodes they cover.

A shift belongs to the roster of one unit (a facility, or a monitoring centre) and
covers nodes: a facility's own shift covers the facility, a monitoring centre's shift
names the nodes it watches (facilities, or districts and provinces, which cover every
facility below them), all inside the centre's parent's subtree. Planning needs
``duty.roster`` on the unit and on every covered node; each operator must hold
``duty.write`` over every covered node, or they could not do the job they are given.

No operator may be on two shifts at once: a new shift that overlaps another of any of
its operators is refused whole, naming the clashes. On PostgreSQL the check and the
insert are serialised per operator with advisory locks; SQLite serialises writers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, insert, literal, or_, select, update

from wardwatch.authz.principal import Principal
from wardwatch.authz.service import AccountService
from wardwatch.duty import store
from wardwatch.duty.model import OVERLAP_RULE, DutyInvalid, ShiftFacts
from wardwatch.duty.schemas import ShiftCancel, ShiftCreate, ShiftOperatorView, ShiftView
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Forbidden, Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.registry.model import OrgKind
from wardwatch.registry.service import NodeRef, RegistryService

log = logging.getLogger(__name__)

S = store.shifts.c
SN = store.shift_nodes.c
SO = store.shift_operators.c
H = store.handovers.c

ROSTER_UNITS = frozenset({OrgKind.FACILITY, OrgKind.MONITORING_CENTRE})


@dataclass(frozen=True)
class Shift:
    """A shift with everything the other duty services check against."""

    id: str
    node_id: str
    node_path: str
    label: str
    starts_at: datetime
    ends_at: datetime
    cover_ids: tuple[str, ...]
    cover_paths: tuple[str, ...]
    operators: dict[str, DbRow]
    created_by: str
    created_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None

    @property
    def taken_at(self) -> datetime | None:
        taken = [r.taken_at for r in self.operators.values() if r.taken_at is not None]
        return min(taken) if taken else None

    def facts(self) -> ShiftFacts:
        return ShiftFacts(self.id, self.starts_at, self.ends_at, self.taken_at, self.cover_paths)

    def covers(self, facility_path: str) -> bool:
        return self.facts().covers(facility_path)


def lock_operators(conn: Connection, user_ids: list[str]) -> None:
    """Serialise roster changes per operator until commit (PostgreSQL; SQLite has one writer)."""
    if conn.dialect.name != "postgresql":
        return
    for user_id in sorted(set(user_ids)):
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"wardwatch.duty.operator:{user_id}"))))


def _parent_path(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return "/" + "".join(f"{p}/" for p in parts[:-1]) if len(parts) > 1 else path


class Roster:
    def __init__(self, deps: Deps, registry: RegistryService, accounts: AccountService) -> None:
        self.deps = deps
        self.registry = registry
        self.accounts = accounts

    # ---------------------------------------------------------------- loading

    def load(self, conn: Connection, shift_ids: list[str]) -> dict[str, Shift]:
        if not shift_ids:
            return {}
        rows = conn.execute(select(store.shifts).where(S.id.in_(shift_ids))).all()
        covers: dict[str, list[DbRow]] = defaultdict(list)
        for row in conn.execute(
            select(store.shift_nodes).where(SN.shift_id.in_(shift_ids)).order_by(SN.node_path)
        ):
            covers[row.shift_id].append(row)
        operators: dict[str, dict[str, DbRow]] = defaultdict(dict)
        for row in conn.execute(
            select(store.shift_operators).where(SO.shift_id.in_(shift_ids)).order_by(SO.username)
        ):
            operators[row.shift_id][row.user_id] = row
        return {
            r.id: Shift(
                r.id,
                r.node_id,
                r.node_path,
                r.label,
                r.starts_at,
                r.ends_at,
                tuple(c.node_id for c in covers[r.id]),
                tuple(c.node_path for c in covers[r.id]),
                operators[r.id],
                r.created_by,
                r.created_at,
                r.cancelled_at,
                r.cancel_reason,
            )
            for r in rows
        }

    def get_shift(self, conn: Connection, shift_id: str) -> Shift | None:
        return self.load(conn, [shift_id]).get(shift_id)

    def require_shift(self, conn: Connection, principal: Principal, shift_id: str, permission: str) -> Shift:
        """The shift, if ``principal`` holds ``permission`` on its unit (404 outside, 403 inside)."""
        shift = self.get_shift(conn, shift_id)
        if shift is None:
            raise NotFound("not_found", params={"object": "shift"})
        principal.require(
            permission, shift.node_path, object_type="shift", object_id=shift.id, node_id=shift.node_id
        )
        return shift

    @staticmethod
    def require_operator(principal: Principal, shift: Shift, action: str) -> DbRow:
        """Only the shift's own operators hand over and take over; personal acts, personally done."""
        row = shift.operators.get(principal.user_id)
        if row is None:
            raise Forbidden(
                "not_shift_operator",
                audit_info={
                    "action": action,
                    "object_type": "shift",
                    "object_id": shift.id,
                    "scope": shift.node_id,
                },
            )
        return row

    def active_in(
        self, conn: Connection, start: datetime, end: datetime, root_path: str | None
    ) -> list[Shift]:
        """Shifts not cancelled that overlap [start, end), covering anything related to ``root_path``."""
        query = select(S.id).where(and_(S.cancelled_at.is_(None), S.starts_at < end, S.ends_at > start))
        if root_path is not None:
            related = select(SN.shift_id).where(
                or_(
                    SN.node_path.startswith(root_path, autoescape=True),
                    literal(root_path).startswith(SN.node_path),
                )
            )
            query = query.where(S.id.in_(related))
        ids = list(conn.execute(query).scalars())
        return list(self.load(conn, ids).values())

    def rostered_paths(self, conn: Connection) -> list[str]:
        """Every node any shift has ever covered: those facilities are under duty supervision."""
        return list(conn.execute(select(SN.node_path).distinct()).scalars())

    def shift_on_duty(self, conn: Connection, user_id: str, facility_path: str, at: datetime) -> Shift | None:
        """The shift ``user_id`` has taken that covers the facility at ``at``, if any."""
        ids = list(
            conn.execute(
                select(S.id)
                .select_from(store.shifts.join(store.shift_operators, SO.shift_id == S.id))
                .where(
                    and_(
                        SO.user_id == user_id,
                        SO.taken_at.is_not(None),
                        S.cancelled_at.is_(None),
                        S.starts_at <= at,
                        S.ends_at > at,
                    )
                )
            ).scalars()
        )
        for shift in self.load(conn, ids).values():
            if shift.covers(facility_path):
                return shift
        return None

    # ---------------------------------------------------------------- views

    def _handover_ids(self, conn: Connection, shift_ids: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        incoming: dict[str, str] = {}
        outgoing: dict[str, str] = {}
        if shift_ids:
            for row in conn.execute(
                select(H.id, H.from_shift_id, H.to_shift_id).where(
                    or_(H.from_shift_id.in_(shift_ids), H.to_shift_id.in_(shift_ids))
                )
            ):
                outgoing[row.from_shift_id] = row.id
                incoming.setdefault(row.to_shift_id, row.id)
        return incoming, outgoing

    def views(self, conn: Connection, shifts: list[Shift]) -> list[ShiftView]:
        incoming, outgoing = self._handover_ids(conn, [s.id for s in shifts])
        return [
            ShiftView(
                id=s.id,
                node_id=s.node_id,
                label=s.label,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                covers=list(s.cover_ids),
                operators=[
                    ShiftOperatorView(
                        user_id=o.user_id, username=o.username, taken_at=o.taken_at, handover_id=o.handover_id
                    )
                    for o in s.operators.values()
                ],
                taken=s.taken_at is not None,
                handover_in=incoming.get(s.id),
                handover_out=outgoing.get(s.id),
                created_by=s.created_by,
                created_at=s.created_at,
                cancelled_at=s.cancelled_at,
                cancel_reason=s.cancel_reason,
            )
            for s in shifts
        ]

    def get(self, principal: Principal, shift_id: str) -> ShiftView:
        with self.deps.db.read() as conn:
            shift = self.get_shift(conn, shift_id)
            if shift is None:
                raise NotFound("not_found", params={"object": "shift"})
            principal.require_visible("duty.read", shift.node_path, object_type="shift")
            return self.views(conn, [shift])[0]

    def list_shifts(
        self,
        principal: Principal,
        node_id: str | None,
        start: datetime | None,
        end: datetime | None,
        include_cancelled: bool,
    ) -> list[ShiftView]:
        """Shifts the caller may read, overlapping [start, end) (default: a day back, a week ahead)."""
        now = self.deps.clock.now()
        start = start or now - timedelta(days=1)
        end = end or now + timedelta(days=7)
        if end <= start:
            raise Invalid("range_end_before_start", extra={"field": "end"})
        with self.deps.db.read() as conn:
            query = select(S.id).where(
                and_(principal.scope_clause("duty.read", S.node_path), S.starts_at < end, S.ends_at > start)
            )
            if not include_cancelled:
                query = query.where(S.cancelled_at.is_(None))
            if node_id is not None:
                root = self.registry.node(conn, node_id)
                if root is None:
                    raise NotFound("not_found", params={"object": "org_node"})
                principal.require_visible("duty.read", root.path, object_type="org_node")
                related = select(SN.shift_id).where(
                    or_(
                        SN.node_path.startswith(root.path, autoescape=True),
                        literal(root.path).startswith(SN.node_path),
                    )
                )
                query = query.where(
                    or_(S.node_path.startswith(root.path, autoescape=True), S.id.in_(related))
                )
            ids = list(conn.execute(query).scalars())
            shifts = sorted(self.load(conn, ids).values(), key=lambda s: (s.starts_at, s.id))
            return self.views(conn, shifts)

    # ---------------------------------------------------------------- changes

    def create(self, principal: Principal, cmd: ShiftCreate) -> ShiftView:
        settings = self.deps.settings.duty
        now = self.deps.clock.now()
        if cmd.ends_at <= now:
            raise Invalid("shift_in_past", extra={"field": "ends_at"})
        if cmd.ends_at - cmd.starts_at > timedelta(hours=settings.max_shift_hours):
            raise Invalid(
                "shift_too_long", params={"hours": settings.max_shift_hours}, extra={"field": "ends_at"}
            )
        shift_id = new_id()
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            unit = self.registry.require_node(conn, principal, cmd.node_id, "duty.roster", "org_node")
            if unit.kind not in ROSTER_UNITS:
                raise DutyInvalid(
                    "shift_unit_kind", params={"node_kind": unit.kind.value}, extra={"field": "node_id"}
                )
            covered = self._covered(conn, principal, unit, cmd.covers)
            operators = self._operators(cmd.operator_ids, covered)
            lock_operators(conn, list(operators))
            self._check_overlaps(conn, operators, cmd.starts_at, cmd.ends_at)
            conn.execute(
                insert(store.shifts).values(
                    id=shift_id,
                    node_id=unit.id,
                    node_path=unit.path,
                    label=cmd.label,
                    starts_at=cmd.starts_at,
                    ends_at=cmd.ends_at,
                    created_by=principal.user_id,
                    created_at=now,
                )
            )
            conn.execute(
                insert(store.shift_nodes),
                [{"shift_id": shift_id, "node_id": n.id, "node_path": n.path} for n in covered],
            )
            conn.execute(
                insert(store.shift_operators),
                [{"shift_id": shift_id, "user_id": uid, "username": name} for uid, name in operators.items()],
            )
            details: dict[str, Any] = {
                "node_id": unit.id,
                "label": cmd.label,
                "from": cmd.starts_at.isoformat(),
                "to": cmd.ends_at.isoformat(),
                "covers": [n.id for n in covered],
                "operators": sorted(operators),
            }
            uow.audit(
                "duty.shift.create", object_type="shift", object_id=shift_id, scope=unit.id, details=details
            )
            uow.emit("duty.shift.created", {"id": shift_id, **details}, key=unit.id)
            uow.commit()
        return self.get(principal, shift_id)

    def _covered(
        self, conn: Connection, principal: Principal, unit: NodeRef, cover_ids: list[str]
    ) -> list[NodeRef]:
        """The nodes a new shift covers, each checked for scope and sense."""
        wanted = list(dict.fromkeys(cover_ids))
        if unit.kind == OrgKind.FACILITY:
            if wanted and wanted != [unit.id]:
                raise Invalid("shift_facility_covers_itself", extra={"field": "covers"})
            return [unit]
        if not wanted:
            raise Invalid("shift_covers_required", extra={"field": "covers"})
        jurisdiction = _parent_path(unit.path)
        covered = []
        for node_id in wanted:
            node = self.registry.require_node(conn, principal, node_id, "duty.roster", "org_node")
            if node.kind == OrgKind.MONITORING_CENTRE:
                raise DutyInvalid(
                    "shift_cover_kind",
                    params={"node_kind": node.kind.value},
                    extra={"field": "covers", "node_id": node.id},
                )
            if not node.path.startswith(jurisdiction):
                raise Invalid(
                    "shift_cover_outside_jurisdiction", extra={"field": "covers", "node_id": node.id}
                )
            covered.append(node)
        return covered

    def _operators(self, operator_ids: list[str], covered: list[NodeRef]) -> dict[str, str]:
        """user id -> username of each operator: persons holding ``duty.write`` over every covered node."""
        found: dict[str, str] = {}
        for user_id in dict.fromkeys(operator_ids):
            try:
                person = self.accounts.principal_of(user_id)
            except NotFound:
                raise Invalid(
                    "shift_operator_unknown", extra={"field": "operator_ids", "operator_id": user_id}
                ) from None
            if person.kind != "person":
                raise Invalid(
                    "shift_operator_unknown", extra={"field": "operator_ids", "operator_id": user_id}
                )
            outside = [n.id for n in covered if not person.can("duty.write", n.path)]
            if outside:
                raise Invalid(
                    "shift_operator_out_of_scope",
                    params={"username": person.username},
                    extra={"field": "operator_ids", "operator_id": user_id, "node_ids": outside},
                )
            found[user_id] = person.username
        return found

    def _check_overlaps(
        self, conn: Connection, operators: dict[str, str], start: datetime, end: datetime
    ) -> None:
        clashes = conn.execute(
            select(SO.user_id, S.id, S.starts_at, S.ends_at)
            .select_from(store.shift_operators.join(store.shifts, S.id == SO.shift_id))
            .where(
                and_(
                    SO.user_id.in_(list(operators)),
                    S.cancelled_at.is_(None),
                    S.starts_at < end,
                    S.ends_at > start,
                )
            )
            .order_by(S.starts_at)
        ).all()
        if clashes:
            raise Conflict(
                "shift_overlap",
                params={"usernames": ", ".join(sorted({operators[c.user_id] for c in clashes}))},
                extra={
                    "rule": OVERLAP_RULE,
                    "field": "operator_ids",
                    "conflicts": [
                        {
                            "operator_id": c.user_id,
                            "shift_id": c.id,
                            "starts_at": c.starts_at.isoformat(),
                            "ends_at": c.ends_at.isoformat(),
                        }
                        for c in clashes
                    ],
                },
            )

    def cancel(self, principal: Principal, shift_id: str, cmd: ShiftCancel) -> ShiftView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            shift = self.require_shift(uow.conn, principal, shift_id, "duty.roster")
            if shift.cancelled_at is not None:
                raise Conflict("shift_cancelled")
            if shift.taken_at is not None:
                raise Conflict("shift_taken")
            if shift.ends_at <= now:
                raise Conflict("shift_over")
            done = uow.conn.execute(
                update(store.shifts)
                .where(and_(S.id == shift.id, S.cancelled_at.is_(None)))
                .values(cancelled_at=now, cancelled_by=principal.user_id, cancel_reason=cmd.reason)
                .returning(S.id)
            ).first()
            if done is None:
                raise Conflict("shift_cancelled")
            uow.audit(
                "duty.shift.cancel",
                object_type="shift",
                object_id=shift.id,
                scope=shift.node_id,
                details={"reason": cmd.reason},
            )
            uow.emit("duty.shift.cancelled", {"id": shift.id, "node_id": shift.node_id}, key=shift.node_id)
            uow.commit()
        return self.get(principal, shift_id)
