"""Tables of the audit log: entries, the authenticated head, stored subtrees, checkpoints."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)

from wardwatch.kernel.db import UtcDateTime, metadata

entries = Table(
    "audit_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("action", String(80), nullable=False),
    Column("object_type", String(60), nullable=False),
    Column("object_id", String(200), nullable=False),
    Column("scope", String(26), nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("details", Text, nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("mac", LargeBinary(32), nullable=False),
)
Index("ix_audit_entries_ts", entries.c.ts_us)
Index("ix_audit_entries_actor", entries.c.actor)
Index("ix_audit_entries_object", entries.c.object_type, entries.c.object_id)
Index("ix_audit_entries_scope", entries.c.scope)

head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("size", BigInteger, nullable=False),
    Column("frontier", LargeBinary, nullable=False),
    Column("mac", LargeBinary(32), nullable=False),
)

nodes = Table(
    "audit_nodes",
    metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary(32), nullable=False),
)

checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
