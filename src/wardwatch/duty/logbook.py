"""The shift logbook: timestamped entries per facility and shift, append-only.

An entry records an observation, a breach seen, a notice given to the facility's
manager or an action on an incident, when it happened and when it was written. Nothing
is ever edited or deleted (the database refuses it too): a mistake is corrected by a new
entry that names the one it corrects, and both stay on record, as in a paper logbook
with its crossed-out lines still legible.

Entries WardWatch writes itself (a breach report filed, a notice sent) keep their facts
as parameters and are shown in the reader's language.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, select

from wardwatch.authz.principal import Principal
from wardwatch.duty import store
from wardwatch.duty.model import LogKind
from wardwatch.duty.roster import Roster
from wardwatch.duty.schemas import LogEntryCreate, LogEntryView
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound
from wardwatch.kernel.i18n import t
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry.model import OrgKind

L = store.log_entries.c
CLOCK_SKEW = timedelta(minutes=2)
"""How far ahead of the server's clock an entry's time may be (a client clock a little fast)."""


def _text(row: DbRow) -> str:
    if not row.system:
        return str(row.text)
    params = {k: v for k, v in (row.params or {}).items() if isinstance(v, str | int | float)}
    return t(f"duty_log.system.{row.kind}", None, **params)


class Logbook:
    def __init__(self, deps: Deps, roster: Roster) -> None:
        self.deps = deps
        self.roster = roster

    def append(self, principal: Principal, cmd: LogEntryCreate) -> LogEntryView:
        now = self.deps.clock.now()
        occurred = cmd.occurred_at or now
        if occurred > now + CLOCK_SKEW:
            raise Invalid("log_entry_in_future", extra={"field": "occurred_at"})
        with self.deps.uow(principal.actor) as uow:
            conn = uow.conn
            facility = self.roster.registry.require_node(
                conn, principal, cmd.facility_id, "duty.write", "facility"
            )
            if facility.kind != OrgKind.FACILITY:
                raise NotFound("not_found", params={"object": "facility"})
            shift_id = self._shift_for(conn, principal, cmd.shift_id, facility.path, occurred)
            if cmd.corrects_id is not None:
                corrected = conn.execute(select(L.facility_id).where(L.id == cmd.corrects_id)).first()
                if corrected is None or corrected.facility_id != facility.id:
                    raise Invalid("log_correction_unknown", extra={"field": "corrects_id"})
            entry_id = self.append_in(
                uow,
                principal.actor,
                facility_id=facility.id,
                facility_path=facility.path,
                kind=LogKind(cmd.kind),
                text=cmd.text,
                occurred_at=occurred,
                shift_id=shift_id,
                corrects_id=cmd.corrects_id,
                ref_type=cmd.ref_type,
                ref_id=cmd.ref_id,
            )
            uow.commit()
        return self.get(principal, entry_id)

    def _shift_for(
        self, conn: Connection, principal: Principal, shift_id: str | None, facility_path: str, at: datetime
    ) -> str | None:
        """The shift an entry belongs to: the one named (the author's, covering the facility),
        or the author's shift on duty over the facility then."""
        if shift_id is None:
            found = self.roster.shift_on_duty(conn, principal.user_id, facility_path, at)
            return found.id if found else None
        shift = self.roster.get_shift(conn, shift_id)
        if (
            shift is None
            or principal.user_id not in shift.operators
            or shift.cancelled_at is not None
            or not shift.covers(facility_path)
        ):
            raise Invalid("log_entry_shift_mismatch", extra={"field": "shift_id"})
        return shift.id

    def append_in(
        self,
        uow: UnitOfWork,
        author: Actor,
        *,
        facility_id: str,
        facility_path: str,
        kind: LogKind,
        occurred_at: datetime,
        text: str = "",
        params: dict[str, Any] | None = None,
        shift_id: str | None = None,
        corrects_id: str | None = None,
        ref_type: str | None = None,
        ref_id: str | None = None,
    ) -> str:
        """Append one entry inside the caller's unit of work; a system entry is one with ``params``."""
        entry_id = new_id()
        system = params is not None
        uow.conn.execute(
            insert(store.log_entries).values(
                id=entry_id,
                facility_id=facility_id,
                facility_path=facility_path,
                shift_id=shift_id,
                kind=kind.value,
                text=text,
                system=system,
                params=params or {},
                occurred_at=occurred_at,
                recorded_at=self.deps.clock.now(),
                author_id=author.ref,
                author_name=author.name,
                corrects_id=corrects_id,
                ref_type=ref_type,
                ref_id=ref_id,
            )
        )
        details = {
            "facility_id": facility_id,
            "kind": kind.value,
            "shift_id": shift_id,
            "corrects_id": corrects_id,
            "system": system,
            "occurred_at": occurred_at.isoformat(),
        }
        uow.audit(
            "duty.log.append", object_type="log_entry", object_id=entry_id, scope=facility_id, details=details
        )
        uow.emit("duty.log.appended", {"id": entry_id, **details}, key=facility_id)
        return entry_id

    # ---------------------------------------------------------------- reading

    def _views(self, conn: Connection, rows: list[DbRow]) -> list[LogEntryView]:
        corrections: dict[str, list[str]] = defaultdict(list)
        ids = [r.id for r in rows]
        if ids:
            for c in conn.execute(select(L.id, L.corrects_id).where(L.corrects_id.in_(ids)).order_by(L.id)):
                corrections[c.corrects_id].append(c.id)
        return [
            LogEntryView(
                id=r.id,
                facility_id=r.facility_id,
                shift_id=r.shift_id,
                kind=r.kind,
                kind_label=t(f"log_kind.{r.kind}"),
                text=_text(r),
                system=r.system,
                occurred_at=r.occurred_at,
                recorded_at=r.recorded_at,
                author_id=r.author_id,
                author_name=r.author_name,
                corrects_id=r.corrects_id,
                corrected_by=corrections[r.id],
                ref_type=r.ref_type,
                ref_id=r.ref_id,
            )
            for r in rows
        ]

    def get(self, principal: Principal, entry_id: str) -> LogEntryView:
        with self.deps.db.read() as conn:
            row = conn.execute(select(store.log_entries).where(L.id == entry_id)).first()
            if row is None:
                raise NotFound("not_found", params={"object": "log_entry"})
            principal.require_visible("duty.read", row.facility_path, object_type="log_entry")
            return self._views(conn, [row])[0]

    def list_entries(
        self,
        principal: Principal,
        *,
        facility_id: str | None,
        shift_id: str | None,
        kind: LogKind | None,
        start: datetime | None,
        end: datetime | None,
        limit: int,
    ) -> list[LogEntryView]:
        """Entries the caller may read, oldest first, by facility and/or shift and time."""
        query = select(store.log_entries).where(principal.scope_clause("duty.read", L.facility_path))
        conditions = []
        if facility_id is not None:
            conditions.append(L.facility_id == facility_id)
        if shift_id is not None:
            conditions.append(L.shift_id == shift_id)
        if kind is not None:
            conditions.append(L.kind == kind.value)
        if start is not None:
            conditions.append(L.occurred_at >= start)
        if end is not None:
            conditions.append(L.occurred_at < end)
        if conditions:
            query = query.where(and_(*conditions))
        with self.deps.db.read() as conn:
            rows = conn.execute(query.order_by(L.occurred_at, L.id).limit(limit)).all()
            return self._views(conn, list(rows))
