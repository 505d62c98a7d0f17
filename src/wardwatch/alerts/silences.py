"""Silences: muting alerts that match, under one org node, for a stated reason, until a set end.

As in Alertmanager a silence has matchers, a creator, a comment and an end (required), and
is expired rather than deleted, so the record of who muted what and why stays. Unlike
Alertmanager's global silences, each one belongs to an org node: it reaches only alerts of
facilities under that node, and creating, changing or expiring it needs ``alert.silence``
there. A silence that could match every alert is refused, as Alertmanager refuses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from wardwatch.alerts import store
from wardwatch.alerts.model import Matcher, SilenceRule, matches_everything
from wardwatch.alerts.schemas import (
    MatcherBody,
    SilenceCreate,
    SilenceStateFilter,
    SilenceUpdate,
    SilenceView,
)
from wardwatch.authz import store as authz_store
from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.registry import store as registry_store
from wardwatch.registry.service import RegistryService

S = store.alert_silences.c
N = registry_store.org_nodes.c
CREATOR = authz_store.users.alias("creator")
"""The account that created a silence, for its display name."""
SilenceState = SilenceStateFilter


def _matchers(raw: list[dict[str, str]]) -> tuple[Matcher, ...]:
    return tuple(Matcher.of(m["name"], m["op"], m["value"]) for m in raw)


def _state(row: DbRow, now: datetime) -> SilenceState:
    if row.expired_at is not None or row.ends_at <= now:
        return "expired"
    return "pending" if row.starts_at > now else "active"


def _silence_query() -> Any:
    """Silences with their node's path and the creator's display name, in one read."""
    return (
        select(
            store.alert_silences, N.path.label("node_path"), CREATOR.c.display_name.label("created_by_name")
        )
        .join(registry_store.org_nodes, N.id == S.node_id)
        .outerjoin(CREATOR, CREATOR.c.id == S.created_by)
    )


class Silences:
    def __init__(self, deps: Deps, registry: RegistryService) -> None:
        self.deps = deps
        self.registry = registry

    @property
    def max_length(self) -> timedelta:
        return timedelta(days=self.deps.settings.alerts.silence_max_days)

    def _view(self, row: DbRow, now: datetime) -> SilenceView:
        return SilenceView(
            id=row.id,
            node_id=row.node_id,
            matchers=[MatcherBody(**m) for m in row.matchers],
            comment=row.comment,
            created_by=row.created_by,
            created_by_name=row.created_by_name,
            created_at=row.created_at,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            updated_by=row.updated_by,
            updated_at=row.updated_at,
            expired_by=row.expired_by,
            expired_at=row.expired_at,
            state=_state(row, now),
        )

    def _check(
        self, matchers: list[MatcherBody], starts_at: datetime, ends_at: datetime, now: datetime
    ) -> None:
        if ends_at <= now:
            raise Invalid("silence_end_in_past", extra={"field": "ends_at"})
        if ends_at <= starts_at:
            raise Invalid("silence_end_before_start", extra={"field": "ends_at"})
        if ends_at - max(starts_at, now) > self.max_length:
            raise Invalid(
                "silence_too_long",
                params={"days": self.deps.settings.alerts.silence_max_days},
                extra={"field": "ends_at"},
            )
        if matches_everything([m.compile() for m in matchers]):
            raise Invalid("silence_matches_everything", extra={"field": "matchers"})

    def create(self, principal: Principal, cmd: SilenceCreate) -> SilenceView:
        now = self.deps.clock.now()
        starts_at = cmd.starts_at or now
        silence_id = new_id()
        matchers = [m.model_dump() for m in cmd.matchers]
        with self.deps.uow(principal.actor) as uow:
            # Who may silence there first; what the silence says after.
            node = self.registry.require_node(uow.conn, principal, cmd.node_id, "alert.silence", "org_node")
            self._check(cmd.matchers, starts_at, cmd.ends_at, now)
            uow.conn.execute(
                insert(store.alert_silences).values(
                    id=silence_id,
                    node_id=node.id,
                    matchers=matchers,
                    comment=cmd.comment,
                    created_by=principal.user_id,
                    created_at=now,
                    starts_at=starts_at,
                    ends_at=cmd.ends_at,
                    updated_at=now,
                )
            )
            details = {
                "node_id": node.id,
                "matchers": [m.compile().text() for m in cmd.matchers],
                "comment": cmd.comment,
                "starts_at": starts_at.isoformat(),
                "ends_at": cmd.ends_at.isoformat(),
            }
            uow.audit(
                "alert.silence.create",
                object_type="silence",
                object_id=silence_id,
                scope=node.id,
                details=details,
            )
            uow.emit("alerts.silence.created", {"id": silence_id, **details}, key=node.id)
            row = self._row(uow.conn, silence_id)
            uow.commit()
        return self._view(row, now)

    def _row(self, conn: Connection, silence_id: str) -> DbRow:
        row = conn.execute(_silence_query().where(S.id == silence_id)).first()
        if row is None:
            raise NotFound("not_found", params={"object": "silence"})
        return row

    def _writable(self, conn: Connection, principal: Principal, silence_id: str) -> DbRow:
        row = self._row(conn, silence_id)
        principal.require(
            "alert.silence", row.node_path, object_type="silence", object_id=row.id, node_id=row.node_id
        )
        if _state(row, self.deps.clock.now()) == "expired":
            raise Conflict("silence_expired")
        return row

    def update(self, principal: Principal, silence_id: str, cmd: SilenceUpdate) -> SilenceView:
        changes = cmd.model_dump(exclude_unset=True, exclude_none=True)
        if not changes:
            raise Invalid("nothing_to_change")
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._writable(uow.conn, principal, silence_id)
            matchers = cmd.matchers if cmd.matchers is not None else [MatcherBody(**m) for m in row.matchers]
            ends_at = cmd.ends_at or row.ends_at
            self._check(matchers, row.starts_at, ends_at, now)
            values: dict[str, Any] = {"updated_by": principal.user_id, "updated_at": now, "ends_at": ends_at}
            before: dict[str, Any] = {"ends_at": row.ends_at.isoformat()}
            after: dict[str, Any] = {"ends_at": ends_at.isoformat()}
            if cmd.matchers is not None:
                values["matchers"] = [m.model_dump() for m in cmd.matchers]
                before["matchers"] = [m.text() for m in _matchers(row.matchers)]
                after["matchers"] = [m.compile().text() for m in cmd.matchers]
            if cmd.comment is not None:
                values["comment"] = cmd.comment
                before["comment"], after["comment"] = row.comment, cmd.comment
            uow.conn.execute(update(store.alert_silences).where(S.id == row.id).values(**values))
            uow.audit(
                "alert.silence.update",
                object_type="silence",
                object_id=row.id,
                scope=row.node_id,
                details={"before": before, "after": after},
            )
            uow.emit("alerts.silence.updated", {"id": row.id, "node_id": row.node_id}, key=row.node_id)
            found = self._row(uow.conn, row.id)
            uow.commit()
        return self._view(found, now)

    def expire(self, principal: Principal, silence_id: str) -> SilenceView:
        now = self.deps.clock.now()
        with self.deps.uow(principal.actor) as uow:
            row = self._writable(uow.conn, principal, silence_id)
            uow.conn.execute(
                update(store.alert_silences)
                .where(and_(S.id == row.id, S.expired_at.is_(None)))
                .values(expired_by=principal.user_id, expired_at=now, updated_at=now)
            )
            uow.audit(
                "alert.silence.expire",
                object_type="silence",
                object_id=row.id,
                scope=row.node_id,
                details={"ends_at": row.ends_at.isoformat(), "comment": row.comment},
            )
            uow.emit("alerts.silence.expired", {"id": row.id, "node_id": row.node_id}, key=row.node_id)
            found = self._row(uow.conn, row.id)
            uow.commit()
        return self._view(found, now)

    def get(self, principal: Principal, silence_id: str) -> SilenceView:
        with self.deps.db.read() as conn:
            row = self._row(conn, silence_id)
        principal.require_visible("alert.read", row.node_path, object_type="silence")
        return self._view(row, self.deps.clock.now())

    def find(
        self,
        principal: Principal,
        *,
        created_by: str | None = None,
        state: str | None = None,
        node_id: str | None = None,
        limit: int = 200,
    ) -> list[SilenceView]:
        now = self.deps.clock.now()
        query = _silence_query().where(principal.scope_clause("alert.read", N.path))
        if created_by is not None:
            query = query.where(S.created_by == created_by)
        if node_id is not None:
            query = query.where(S.node_id == node_id)
        if state == "expired":
            query = query.where(or_(S.expired_at.is_not(None), S.ends_at <= now))
        elif state == "active":
            query = query.where(and_(S.expired_at.is_(None), S.starts_at <= now, S.ends_at > now))
        elif state == "pending":
            query = query.where(and_(S.expired_at.is_(None), S.starts_at > now))
        with self.deps.db.read() as conn:
            rows = conn.execute(query.order_by(S.created_at.desc(), S.id.desc()).limit(limit)).all()
        return [self._view(r, now) for r in rows]

    def in_force(self, conn: Connection, now: datetime) -> list[SilenceRule]:
        """The silences muting alerts at ``now``: started, not ended, not expired."""
        rows = conn.execute(
            select(S.id, S.matchers, S.starts_at, S.ends_at, N.path)
            .join(registry_store.org_nodes, N.id == S.node_id)
            .where(and_(S.expired_at.is_(None), S.starts_at <= now, S.ends_at > now))
        ).all()
        return [SilenceRule(r.id, _matchers(r.matchers), r.path, r.starts_at, r.ends_at) for r in rows]
