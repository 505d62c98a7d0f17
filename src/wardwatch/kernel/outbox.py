"""Transactional outbox: events are stored with the change that caused them, then relayed.

This is what makes delivery at-least-once: if the process dies after the commit but before
the bus saw the event, the relay finds the unpublished row on the next start. Consumers
drop the resulting duplicates with ``idempotent``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

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


MARK_EVERY_S = 0.2
"""The marker gathers what was relayed this long into one write: it is bookkeeping, and a
mark per relayed commit kept the single SQLite writer busy for a tenth of a stream."""
RECENT = 20_000
"""Ids of events marked lately, so an event handed over after a poll relayed it is dropped."""


class OutboxRelay:
    """Moves committed outbox rows onto the bus, off the request path.

    A commit in this process hands its events over (``notify(events)``) and they are
    published as they are, without reading them back; the table is still what makes
    delivery at-least-once: it is polled at start, every second, and whenever a commit
    says only that it stored events, so rows of other processes and of a crash are relayed
    too. Each relayed event is marked published in the table afterwards, in batches.
    """

    def __init__(self, db: Database, bus: EventBus) -> None:
        self.db = db
        self.bus = bus
        self._wake = threading.Event()
        self._mark_wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._handed: list[Event] = []
        self._poll = True
        """Whether the table must be read (at start, or a commit handed nothing over)."""
        self._unmarked: set[str] = set()
        """Published in this process but not yet marked so in the table."""
        self._recent: dict[str, None] = {}

    def notify(self, events: Sequence[Event] = ()) -> None:
        """Called after a commit that stored events, with those events when the caller has them."""
        with self._lock:
            if events:
                self._handed.extend(events)
            else:
                self._poll = True
        self._wake.set()

    def publish_pending(self, limit: int = 500) -> int:
        """Publish unpublished events in id order and mark them; returns how many were published."""
        published = self._publish(limit)
        self._mark()
        return published

    def _relayed(self, ids: Iterable[str]) -> set[str]:
        return {i for i in ids if i in self._unmarked or i in self._recent}

    def _publish_handed(self) -> int:
        """Publish the events commits handed over, in commit order."""
        with self._lock:
            events, self._handed = self._handed, []
            done = self._relayed(e.id for e in events)
        fresh = [e for e in events if e.id not in done]
        if not fresh:
            return 0
        # Published before they count as relayed: the marker must never mark an event the
        # bus has not seen.
        self.bus.publish(fresh)
        with self._lock:
            self._unmarked.update(e.id for e in fresh)
        self._mark_wake.set()
        return len(fresh)

    def _publish(self, limit: int) -> int:
        """Hand unpublished events of the table to the bus; marking them is the marker's job.

        Marking takes the database's write turn, which under a stream of door events can
        mean waiting behind the writers: the events committed meanwhile must not wait too.
        """
        with self._lock:
            skip = len(self._unmarked)
        with self.db.read() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.body)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit + skip)
            ).all()
        with self._lock:
            done = self._relayed(r.id for r in rows)
        rows = [r for r in rows if r.id not in done][:limit]
        if not rows:
            return 0
        self.bus.publish([Event.from_json(r.body) for r in rows])
        with self._lock:
            self._unmarked.update(r.id for r in rows)
        self._mark_wake.set()
        return len(rows)

    def _mark(self) -> None:
        with self._lock:
            ids = sorted(self._unmarked)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            with self.db.write() as conn:
                conn.execute(
                    update(outbox).where(outbox.c.id.in_(chunk)).values(published_at=datetime.now(UTC))
                )
            with self._lock:
                self._unmarked.difference_update(chunk)
                self._recent.update(dict.fromkeys(chunk))
                for old in list(itertools.islice(self._recent, max(0, len(self._recent) - RECENT))):
                    del self._recent[old]

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._run, name="outbox-relay", daemon=True),
            threading.Thread(target=self._run_marker, name="outbox-marker", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._mark_wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        try:
            self._mark()
        except Exception:
            log.exception("could not mark relayed events; they will be relayed again at the next start")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._publish_handed()
                with self._lock:
                    poll, self._poll = self._poll, False
                if poll:
                    while self._publish(500):
                        pass
            except Exception:
                log.exception("outbox relay failed; will retry")
                with self._lock:
                    self._poll = True
            if not self._wake.wait(timeout=1.0):
                with self._lock:
                    self._poll = True  # a quiet second: read the table for what nobody handed over
            self._wake.clear()

    def _run_marker(self) -> None:
        while not self._stop.is_set():
            self._mark_wake.wait(timeout=1.0)
            self._stop.wait(MARK_EVERY_S)
            self._mark_wake.clear()
            try:
                self._mark()
            except Exception:
                log.exception("marking relayed events failed; will retry")


def insert_ignore(conn: Connection, table: Table, values: dict[str, object]) -> bool:
    """Insert a row unless its key exists; True when the row was new.

    RETURNING, not rowcount: psycopg does not report a row count for INSERT ... ON CONFLICT.
    The statement is built once per table and dialect and the row passed as parameters, so
    SQLAlchemy compiles it once: door events go through here a thousand times a second.
    """
    dialect = conn.dialect.name
    stmt = _IGNORING.get((dialect, table.name))
    if stmt is None:
        insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
        key = next(iter(table.primary_key.columns))
        stmt = insert_fn(table).on_conflict_do_nothing().returning(key)
        _IGNORING[(dialect, table.name)] = stmt
    return conn.execute(stmt, values).first() is not None


_IGNORING: dict[tuple[str, str], Any] = {}


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
