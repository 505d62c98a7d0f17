"""Tables of the media plane."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from wardwatch.kernel.db import UtcDateTime, metadata

segments = Table(
    "media_segments",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("path", String(500), nullable=False, unique=True),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("codec", String(20), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("recovered", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_media_segments_camera_start", segments.c.camera_id, segments.c.start)
Index("ix_media_segments_end", segments.c.end)

gaps = Table(
    "media_gaps",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=True),
    Column("reason", String(40), nullable=False),
    Column("detail", Text, nullable=False),
)
Index("ix_media_gaps_camera_start", gaps.c.camera_id, gaps.c.start)

stream_status = Table(
    "media_stream_status",
    metadata,
    Column("camera_id", String(26), ForeignKey("cameras.id"), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("since", UtcDateTime, nullable=False),
    Column("details", JSON, nullable=False),
)

legal_holds = Table(
    "media_legal_holds",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(26), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("lifted_by", String(26), nullable=True),
    Column("lifted_at", UtcDateTime, nullable=True),
    Column("lift_reason", Text, nullable=True),
)
Index("ix_media_legal_holds_camera", legal_holds.c.camera_id)
