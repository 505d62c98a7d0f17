"""Tables of the alerts wing."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table

from wardwatch.kernel.db import UtcDateTime, metadata

inbox = Table(
    "inbox_notices",
    metadata,
    # One row per recipient. A notice nobody could receive keeps user_id NULL, so it is on
    # record (and announced) rather than lost.
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=True),
    Column("node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("params", JSON, nullable=False),
    Column("ref_type", String(40), nullable=False),
    Column("ref_id", String(60), nullable=False),
    Column("audience", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
)
Index("ix_inbox_notices_user", inbox.c.user_id, inbox.c.created_at)
Index("ix_inbox_notices_ref", inbox.c.ref_type, inbox.c.ref_id)
