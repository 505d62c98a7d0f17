"""Transactional outbox: events are stored with the change that caused them, then relayed.

This is what makes delivery at-least-once: if the process dies after the commit but before
the bus saw the event, the relay finds the unpublished row on the next start. Consumers
drop the resulting duplicates with ``idempotent``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, String, Table, Text, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from wardwatch.kernel.bus import Event, EventBus
from wardwatch.kernel.db import Database, UtcDateTime, metadata

log = logging.getLogger(__name__)

outbox = Table(
    "bus_outbox",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("type", String(100), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True, index=True),
)

processed_events = Table(
    "bus_processed",
    metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(26), primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)


def store_events(conn: Connection, events: Sequence[Event]) -> None:
    """Write events into the outbox inside the caller's transaction."""
    if not events:
        return
    now = datetime.now(UTC)
    conn.execute(
        insert(outbox),
        [{"id": e.id, "type": e.type, "body": e.to_json(), "created_at": now} for e in events],
    )


class OutboxRelay:
    """Moves committed outbox rows onto the bus, off the request path."""

    def __init__(self, db: Database, bus: EventBus) -> None:
        self.db = db
        self.bus = bus
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        """Called after a commit that stored events."""
        self._wake.set()

    def publish_pending(self, limit: int = 500) -> int:
        """Publish unpublished events in id order; returns how many were published."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
            ).all()
        if not rows:
            return 0
        self.bus.publish([Event.from_json(r.body) for r in rows])
        with self.db.write() as conn:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(published_at=datetime.now(UTC))
            )
        return len(rows)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                while self.publish_pending():
                    pass
            except Exception:
                log.exception("outbox relay failed; will retry")
            self._wake.wait(timeout=1.0)
            self._wake.clear()


def insert_ignore(conn: Connection, table: Table, values: dict[str, object]) -> bool:
    """Insert a row unless its key exists; True when the row was new.

    RETURNING, not rowcount: psycopg does not report a row count for INSERT ... ON CONFLICT.
    """
    dialect = conn.dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = next(iter(table.primary_key.columns))
    stmt = insert_fn(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(stmt).first() is not None


def idempotent(
    db: Database, consumer: str, handler: Callable[[Connection, Event], None]
) -> Callable[[Event], None]:
    """Wrap a consumer so a redelivered event is handled once, in the handler's transaction."""

    def run(event: Event) -> None:
        with db.write() as conn:
            fresh = insert_ignore(
                conn,
                processed_events,
                {"consumer": consumer, "event_id": event.id, "processed_at": datetime.now(UTC)},
            )
            if fresh:
                handler(conn, event)

    return run
