"""The unit of work: a change, its audit entries and its events commit together or not at all.

A write unit of work refuses to commit a change that recorded no audit entry, which is how
"every mutation is audited in the same transaction" is enforced by construction rather
than by review.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy import Connection

from wardwatch.audit.model import AuditRecord
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.bus import Event
from wardwatch.kernel.changes import ChangeFeed
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
    def notify(self, events: Sequence[Event] = ()) -> None: ...


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
        *,
        changes: ChangeFeed | None = None,
    ) -> None:
        self.db = db
        self.actor = actor
        self.request_id = request_id or current_request_id()
        self._audit = audit
        self._relay = relay
        self._changes = changes
        self._records: list[AuditRecord] = []
        self._events: list[Event] = []
        self._committed = False
        self._conn: Connection | None = None
        self._turn: AbstractContextManager[Any] | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("unit of work not entered")
        return self._conn

    def __enter__(self) -> UnitOfWork:
        turn = self.db.write_turn()
        turn.__enter__()
        try:
            self._conn = self.db.write_connection()
            self._conn.begin()
        except BaseException:
            if self._conn is not None:
                self.db.release(self._conn)
                self._conn = None
            turn.__exit__(None, None, None)
            raise
        self._turn = turn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, turn = self._conn, self._turn
        self._conn = self._turn = None
        try:
            if conn is not None:
                self.db.release(conn)
        finally:
            if turn is not None:
                turn.__exit__(None, None, None)

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

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of this unit of work that may fail on its own without failing the rest.

        On an exception, what the part wrote, and the audit entries and events it queued,
        are undone and the exception propagates; the caller decides what to do instead
        (a camera incident whose alert cannot be fired still delivers its notice).
        """
        records, events = len(self._records), len(self._events)
        nested = self.conn.begin_nested()
        try:
            yield
        except BaseException:
            if nested.is_active:
                nested.rollback()
            del self._records[records:]
            del self._events[events:]
            raise
        nested.commit()

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
        if self._changes is not None:
            self._changes.committed(self._records)
        if self._events and self._relay is not None:
            self._relay.notify(self._events)
