"""The unit of work: a change, its audit entries and its events commit together or not at all.

A write unit of work refuses to commit a change that recorded no audit entry, which is how
"every mutation is audited in the same transaction" is enforced by construction rather
than by review.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import Connection

from wardwatch.audit.model import AuditRecord
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.bus import Event
from wardwatch.kernel.context import current_request_id
from wardwatch.kernel.db import Database
from wardwatch.kernel.outbox import store_events

log = logging.getLogger(__name__)


class AuditAppender(Protocol):
    def append(
        self, conn: Connection, actor: Actor, records: Sequence[AuditRecord], request_id: str
    ) -> Any: ...

    def accept(self, pending: Any) -> None: ...


class RelayNotifier(Protocol):
    def notify(self) -> None: ...


class UnauditedChange(RuntimeError):
    """A write unit of work tried to commit without an audit entry."""


class UnitOfWork:
    def __init__(
        self,
        db: Database,
        audit: AuditAppender,
        relay: RelayNotifier | None,
        actor: Actor,
        request_id: str | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.request_id = request_id or current_request_id()
        self._audit = audit
        self._relay = relay
        self._records: list[AuditRecord] = []
        self._events: list[Event] = []
        self._committed = False
        self._conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work not entered")
        return self._conn

    def __enter__(self) -> UnitOfWork:
        self._conn = self.db.write_connection()
        self._conn.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        self._conn = None
        if conn is None:
            return
        self.db.release(conn)

    def audit(
        self,
        action: str,
        *,
        object_type: str,
        object_id: str,
        scope: str = "",
        outcome: str = "success",
        purpose: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        """Record what this unit of work did; appended at commit, in the same transaction."""
        self._records.append(AuditRecord(action, object_type, object_id, scope, outcome, purpose, details))

    def emit(self, event_type: str, payload: dict[str, Any], key: str = "") -> None:
        """Queue an event; it is stored in the outbox in the same transaction."""
        self._events.append(Event(type=event_type, payload=payload, key=key))

    def commit(self) -> None:
        if self._committed:
            raise RuntimeError("unit of work already committed")
        if not self._records:
            raise UnauditedChange("a change must record at least one audit entry")
        conn = self.conn
        # The audit append goes last so the log's head is locked for as short a time as possible.
        store_events(conn, self._events)
        pending = self._audit.append(conn, self.actor, self._records, self.request_id)
        conn.commit()
        self._committed = True
        self._audit.accept(pending)
        if self._events and self._relay is not None:
            self._relay.notify()
