"""Appending to the audit log inside the caller's transaction, checkpoints and proofs.

The append is the hottest write path in WardWatch: every mutation pays for it while holding
the log's head. It therefore uses prepared driver-level SQL and a per-process cache of the
head, validated by a conditional UPDATE: if another process appended meanwhile the UPDATE
matches no row, the head is re-read under lock and the append recomputed.

The head row carries a MAC (keyed BLAKE2s) over (size, frontier), and every entry a MAC
over (seq, leaf hash), both under a key that never enters the database. Someone who can edit
the database but not read the key cannot rewrite an entry, or append one, without
verification naming it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, insert, select

from wardwatch.audit import merkle, store
from wardwatch.audit.model import (
    NODE_STORE_MIN_LEVEL,
    AuditEntry,
    AuditRecord,
    canonical_details,
    entry_mac_message,
    head_mac_message,
    leaf_hash_of,
)
from wardwatch.audit.note import Checkpoint, Signer, Verifier
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.clock import Clock, to_micros
from wardwatch.kernel.crypto import Mac
from wardwatch.kernel.db import Database, placeholder

log = logging.getLogger(__name__)

_HEAD_ID = 1


@dataclass(frozen=True)
class _AppendSql:
    """Driver-level statements of the append, built once per parameter style.

    The hot path skips SQLAlchemy's statement compilation (about a third of its budget);
    only placeholders are interpolated here, never values.
    """

    update_head: str
    insert_entry: str
    insert_node: str

    @classmethod
    def build(cls, mark: str) -> _AppendSql:
        values = ", ".join([mark] * 14)
        return cls(
            update_head=(
                f"UPDATE audit_head SET size={mark}, frontier={mark}, mac={mark} "  # noqa: S608
                f"WHERE id={_HEAD_ID} AND size={mark}"
            ),
            insert_entry=(
                "INSERT INTO audit_entries (seq, ts_us, actor, actor_name, action, "  # noqa: S608
                "object_type, object_id, scope, purpose, outcome, request_id, details, "
                f"leaf_hash, mac) VALUES ({values})"
            ),
            insert_node=f"INSERT INTO audit_nodes (level, idx, hash) VALUES ({mark}, {mark}, {mark})",  # noqa: S608
        )


_SQL = {mark: _AppendSql.build(mark) for mark in ("?", "%s")}


class AuditIntegrityError(RuntimeError):
    """The log's authenticated head does not authenticate: refuse to build on it."""


@dataclass(frozen=True)
class PendingHead:
    """The head an uncommitted append will leave; adopted by the cache after commit."""

    size: int
    frontier: merkle.Frontier


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    created_at: datetime


class AuditLog:
    """The one way entries enter the log."""

    def __init__(self, mac: Mac, signer: Signer, clock: Clock, export_dir: Path | None = None):
        self._mac = mac
        self._signer = signer
        self._clock = clock
        self._export_dir = export_dir
        self._cache: PendingHead | None = None
        self._lock = threading.Lock()

    @property
    def origin(self) -> str:
        return self._signer.name

    @property
    def verifier(self) -> Verifier:
        return self._signer.verifier

    # -- head -------------------------------------------------------------------------

    def initialize(self, conn: Connection) -> None:
        """Create the empty, authenticated head; part of ``wardwatch init``."""
        exists = conn.execute(select(store.head.c.id).where(store.head.c.id == _HEAD_ID)).first()
        if exists:
            return
        conn.execute(
            insert(store.head).values(
                id=_HEAD_ID, size=0, frontier=b"", mac=self._mac.tag(head_mac_message(0, b""))
            )
        )

    def read_head(self, conn: Connection, *, lock: bool = False) -> merkle.Frontier:
        """The authenticated head; raises AuditIntegrityError if it was tampered with."""
        stmt = select(store.head.c.size, store.head.c.frontier, store.head.c.mac).where(
            store.head.c.id == _HEAD_ID
        )
        if lock and conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise AuditIntegrityError("audit log head is missing; run 'wardwatch init'")
        size, frontier_bytes, tag = int(row.size), bytes(row.frontier), bytes(row.mac)
        if not self._mac.check(head_mac_message(size, frontier_bytes), tag):
            raise AuditIntegrityError("audit log head does not authenticate")
        return merkle.Frontier.from_bytes(size, frontier_bytes)

    # -- append -----------------------------------------------------------------------

    def append(
        self,
        conn: Connection,
        actor: Actor,
        records: Sequence[AuditRecord],
        request_id: str,
    ) -> PendingHead:
        """Append ``records`` in the caller's transaction; call ``accept`` after commit."""
        if not records:
            raise ValueError("nothing to append")
        ts_us = to_micros(self._clock.now())
        with self._lock:
            cached = self._cache
        base = cached.frontier.copy() if cached is not None else self.read_head(conn, lock=True)
        pending, rows, completed = self._extend(base, actor, records, request_id, ts_us)
        sql = _SQL[placeholder(conn)]
        # The DB-API cursor of this same connection and transaction: SQLAlchemy's per-statement
        # bookkeeping would cost more than the statements themselves here.
        cursor = conn.connection.cursor()
        try:
            frontier_bytes = pending.frontier.to_bytes()
            head_tag = self._mac.tag(head_mac_message(pending.size, frontier_bytes))
            cursor.execute(sql.update_head, (pending.size, frontier_bytes, head_tag, base.size))
            if cursor.rowcount != 1:
                # Another writer moved the head since we cached it: rebuild on the real one.
                base = self.read_head(conn, lock=True)
                pending, rows, completed = self._extend(base, actor, records, request_id, ts_us)
                frontier_bytes = pending.frontier.to_bytes()
                head_tag = self._mac.tag(head_mac_message(pending.size, frontier_bytes))
                cursor.execute(sql.update_head, (pending.size, frontier_bytes, head_tag, base.size))
                if cursor.rowcount != 1:
                    raise AuditIntegrityError("audit log head moved while locked")
            if len(rows) == 1:
                cursor.execute(sql.insert_entry, rows[0])
            else:
                cursor.executemany(sql.insert_entry, rows)
            stored = [(lvl, idx, h) for lvl, idx, h in completed if lvl >= NODE_STORE_MIN_LEVEL]
            if stored:
                cursor.executemany(sql.insert_node, stored)
        finally:
            cursor.close()
        return pending

    def _extend(
        self,
        base: merkle.Frontier,
        actor: Actor,
        records: Sequence[AuditRecord],
        request_id: str,
        ts_us: int,
    ) -> tuple[PendingHead, list[tuple[Any, ...]], list[tuple[int, int, bytes]]]:
        frontier = base.copy()
        rows: list[tuple[Any, ...]] = []
        completed: list[tuple[int, int, bytes]] = []
        for record in records:
            seq = frontier.size
            fields = (
                seq,
                ts_us,
                actor.ref,
                actor.name,
                record.action,
                record.object_type,
                record.object_id,
                record.scope,
                record.purpose,
                record.outcome,
                request_id,
                canonical_details(record.details),
            )
            leaf = leaf_hash_of(*fields)
            rows.append((*fields, leaf, self._mac.tag(entry_mac_message(seq, leaf))))
            completed.extend(frontier.append(leaf))
        return PendingHead(frontier.size, frontier), rows, completed

    def accept(self, pending: PendingHead) -> None:
        """Adopt a committed head as the cached one (only ever moves forward)."""
        with self._lock:
            if self._cache is None or pending.size > self._cache.size:
                self._cache = pending

    def forget(self) -> None:
        """Drop the cached head (after a rollback we cannot attribute, or in tests)."""
        with self._lock:
            self._cache = None

    # -- reading ----------------------------------------------------------------------

    def size(self, conn: Connection) -> int:
        return self.read_head(conn).size

    def entry(self, conn: Connection, seq: int) -> AuditEntry | None:
        row = conn.execute(select(*_ENTRY_COLUMNS).where(store.entries.c.seq == seq)).first()
        return AuditEntry(**row._mapping) if row else None

    def search(
        self,
        conn: Connection,
        *,
        scopes: Sequence[str] | None,
        actor: str | None = None,
        action: str | None = None,
        object_type: str | None = None,
        object_id: str | None = None,
        outcome: str | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first. ``scopes`` limits to entries scoped to those nodes (None: all)."""
        e = store.entries.c
        conditions: list[ColumnElement[bool]] = []
        if scopes is not None:
            conditions.append(e.scope.in_(list(scopes)))
        if actor:
            conditions.append(e.actor == actor)
        if action:
            conditions.append(e.action.startswith(action, autoescape=True))
        if object_type:
            conditions.append(e.object_type == object_type)
        if object_id:
            conditions.append(e.object_id == object_id)
        if outcome:
            conditions.append(e.outcome == outcome)
        if since_us is not None:
            conditions.append(e.ts_us >= since_us)
        if until_us is not None:
            conditions.append(e.ts_us < until_us)
        if before_seq is not None:
            conditions.append(e.seq < before_seq)
        stmt = select(*_ENTRY_COLUMNS).order_by(e.seq.desc()).limit(limit)
        if conditions:
            stmt = stmt.where(and_(*conditions))
        return [AuditEntry(**row._mapping) for row in conn.execute(stmt)]

    # -- checkpoints ------------------------------------------------------------------

    def create_checkpoint(self, conn: Connection) -> StoredCheckpoint:
        """Sign the current head; returns the existing checkpoint if the size is unchanged."""
        frontier = self.read_head(conn)
        existing = self.checkpoint_at(conn, frontier.size)
        if existing is not None:
            return existing
        checkpoint = Checkpoint(self.origin, frontier.size, frontier.root())
        note = self._signer.sign(checkpoint.body())
        created_at = self._clock.now()
        conn.execute(
            insert(store.checkpoints).values(
                size=checkpoint.size, root=checkpoint.root, note=note, created_at=created_at
            )
        )
        return StoredCheckpoint(checkpoint.size, checkpoint.root, note, created_at)

    def sign_checkpoint(self, db: Database) -> StoredCheckpoint:
        """Sign the current head in a transaction of its own and export it once committed."""
        with db.write() as conn:
            stored = self.create_checkpoint(conn)
        self.export(stored)
        return stored

    def export(self, stored: StoredCheckpoint) -> None:
        """Keep a file copy outside the database, for witnesses, backups and verification.

        Called only after the checkpoint's transaction committed, so every exported file
        has its row; a file without one means rows were deleted.
        """
        if self._export_dir is None:
            return
        self._export_dir.mkdir(parents=True, exist_ok=True)
        for name in (f"{stored.size:012d}.checkpoint", "latest.checkpoint"):
            target = self._export_dir / name
            temp = target.with_suffix(".tmp")
            temp.write_text(stored.note, "utf-8")
            os.replace(temp, target)

    def exported_notes(self) -> list[str]:
        return read_exported(self._export_dir) if self._export_dir is not None else []

    def checkpoint_at(self, conn: Connection, size: int) -> StoredCheckpoint | None:
        return self._one_checkpoint(conn, store.checkpoints.c.size == size)

    def latest_checkpoint(self, conn: Connection) -> StoredCheckpoint | None:
        return self._one_checkpoint(conn, None)

    @staticmethod
    def _one_checkpoint(conn: Connection, condition: ColumnElement[bool] | None) -> StoredCheckpoint | None:
        c = store.checkpoints.c
        query = select(c.size, c.root, c.note, c.created_at).order_by(c.size.desc()).limit(1)
        if condition is not None:
            query = query.where(condition)
        row = conn.execute(query).first()
        return StoredCheckpoint(row.size, bytes(row.root), row.note, row.created_at) if row else None

    def checkpoint_sizes(self, conn: Connection) -> list[int]:
        return [int(s) for s in conn.execute(select(store.checkpoints.c.size).order_by("size")).scalars()]

    # -- proofs -----------------------------------------------------------------------

    def _perfect_source(self, conn: Connection) -> merkle.SubtreeSource:
        def perfect(start: int, end: int) -> bytes:
            width = end - start
            level = width.bit_length() - 1
            if level >= NODE_STORE_MIN_LEVEL:
                n = store.nodes.c
                found = conn.execute(
                    select(n.hash).where(and_(n.level == level, n.idx == start >> level))
                ).scalar()
                if found is not None:
                    return bytes(found)
            leaves = (
                conn.execute(
                    select(store.entries.c.leaf_hash)
                    .where(and_(store.entries.c.seq >= start, store.entries.c.seq < end))
                    .order_by(store.entries.c.seq)
                )
                .scalars()
                .all()
            )
            if len(leaves) != width:
                raise LookupError("log entries are missing for this range")
            return merkle.root_of(bytes(leaf) for leaf in leaves)

        return perfect

    def inclusion_proof(self, conn: Connection, index: int, size: int) -> list[bytes]:
        return merkle.inclusion_proof(index, size, self._perfect_source(conn))

    def consistency_proof(self, conn: Connection, first: int, second: int) -> list[bytes]:
        return merkle.consistency_proof(first, second, self._perfect_source(conn))

    def root_at(self, conn: Connection, size: int) -> bytes:
        return merkle.subtree_hash(0, size, self._perfect_source(conn))

    def leaf_hash(self, conn: Connection, seq: int) -> bytes | None:
        found = conn.execute(select(store.entries.c.leaf_hash).where(store.entries.c.seq == seq)).scalar()
        return bytes(found) if found is not None else None

    def count_rows(self, conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(store.entries)).scalar_one())


def read_exported(export_dir: Path, newest: int = 50) -> list[str]:
    """The newest exported checkpoints (their file names sort by size)."""
    if not export_dir.is_dir():
        return []
    files = sorted(export_dir.glob("[0-9]*.checkpoint"))[-newest:]
    return [f.read_text("utf-8") for f in files]


_ENTRY_COLUMNS = (
    store.entries.c.seq,
    store.entries.c.ts_us,
    store.entries.c.actor,
    store.entries.c.actor_name,
    store.entries.c.action,
    store.entries.c.object_type,
    store.entries.c.object_id,
    store.entries.c.scope,
    store.entries.c.purpose,
    store.entries.c.outcome,
    store.entries.c.request_id,
    store.entries.c.details,
)
