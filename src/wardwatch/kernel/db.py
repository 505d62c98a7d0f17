"""Database engines for SQLite (the embedded default) and PostgreSQL, plus shared column types.

SQLite runs in WAL mode so readers never block the single writer, and write transactions
start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead of deadlocking
when both try to upgrade a read lock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import Connection, DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Dialect, Row, make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

DbRow: TypeAlias = "Row[*tuple[Any, ...]]"
"""A result row of any width (SQLAlchemy types rows by their columns)."""

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class Database:
    """One engine per process with separate read and write entry points."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        kwargs: dict[str, Any] = {"future": True}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # No cap on connections: every thread that writes keeps one (write_connection),
            # so a capped pool (SQLAlchemy's 5 + 10) ran dry once fifteen threads had
            # written, and every read then waited 30 s for a connection nobody returned:
            # sign-ins hung and shutdown stalled. Writers queue on write_turn, not the pool.
            kwargs.update(pool_size=pool_size, max_overflow=-1)
            if ":memory:" in self.url:
                raise ValueError("in-memory SQLite is not supported; use a file")
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(wardwatch_write=True)
        self._held: dict[int, Connection] = {}
        self._held_lock = threading.Lock()
        # SQLite has one writer at a time. Left to SQLite, a writer that finds the lock taken
        # sleeps in its busy handler (up to 100 ms a try) while a busy thread takes the lock
        # again and again: under a steady stream of door events the relay and the rule
        # engine's alerts waited seconds. Threads of this process queue here instead and
        # get the lock the moment it is free; other processes still meet the busy timeout.
        self._turn: threading.RLock | None = threading.RLock() if self.dialect == "sqlite" else None

    def write_turn(self) -> AbstractContextManager[Any]:
        """This process's turn to write, held around a write transaction (nothing on PostgreSQL)."""
        return self._turn if self._turn is not None else nullcontext()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside a write transaction; commits unless an exception escapes."""
        with self.write_turn():
            conn = self.write_connection()
            try:
                with conn.begin():
                    yield conn
            finally:
                self.release(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside a read-only transaction that is always rolled back."""
        with self.engine.connect() as conn, conn.begin() as tx:
            yield conn
            tx.rollback()

    def write_connection(self) -> Connection:
        """A connection whose next ``begin()`` takes the write lock (SQLite); ``release`` it.

        SQLite writes run one at a time, so each thread keeps one write connection open:
        checking one out of the pool for every unit of work cost a third of the audit
        append budget. A nested unit of work on the same thread gets a pooled one.
        """
        if self.dialect != "sqlite":
            return self._write_engine.connect()
        ident = threading.get_ident()
        with self._held_lock:
            conn = self._held.get(ident)
            if conn is not None and not conn.closed and not conn.invalidated:
                if not conn.in_transaction():
                    return conn
                return self._write_engine.connect()
            self._forget_dead_threads()
            conn = self._write_engine.connect()
            self._held[ident] = conn
            return conn

    def release(self, conn: Connection) -> None:
        """End what a unit of work left open; keep a thread's held connection for reuse."""
        if conn.closed:
            return
        if conn.in_transaction():
            conn.rollback()
        if self._held.get(threading.get_ident()) is not conn:
            conn.close()

    def _forget_dead_threads(self) -> None:
        alive = {thread.ident for thread in threading.enumerate()}
        for ident in [i for i in self._held if i not in alive]:
            self._held.pop(ident).close()

    def checkpoint(self) -> tuple[int, int, int] | None:
        """Copy what the write-ahead log holds back into the database file (SQLite; else None).

        Left to SQLite, the commit that finds the log past ``wal_autocheckpoint`` pages does
        this itself, while this process's write turn is held: under a stream of door events
        readers kept the log from ever being reset, so every commit after that copied pages
        and synced the file (25-45 ms each, commits of a millisecond otherwise). The server
        runs this every second on a connection of its own instead (PASSIVE: writers carry
        on meanwhile); SQLite's own checkpoint stays as a safety net for a log far larger.
        Returns SQLite's (busy, log frames, frames checkpointed).
        """
        if self.dialect != "sqlite":
            return None
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            row = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return (int(row[0]), int(row[1]), int(row[2])) if row else None

    def dispose(self) -> None:
        with self._held_lock:
            for conn in self._held.values():
                conn.close()
            self._held.clear()
        self.engine.dispose()

    def standalone_engine(self) -> Engine:
        """A pool-less engine for a child process (verification workers, benchmarks)."""
        engine = create_engine(self.url, poolclass=NullPool)
        if self.dialect == "sqlite":
            _configure_sqlite(engine)
        return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A safety net only (about 200 MB of log): the server checkpoints every second
        # off the write path (``Database.checkpoint``).
        cursor.execute("PRAGMA wal_autocheckpoint=50000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: this runs for every transaction, reads included.
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("BEGIN IMMEDIATE" if conn.get_execution_options().get("wardwatch_write") else "BEGIN")


def placeholder(conn: Connection) -> str:
    """The DB-API parameter marker of this connection's driver (hot paths use raw SQL)."""
    style = conn.dialect.paramstyle
    return "?" if style == "qmark" else "%s"
