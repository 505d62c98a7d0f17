"""Tables of the media plane."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
)

from wardwatch.kernel.db import DbRow, UtcDateTime, metadata

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

view_sessions = Table(
    "media_view_sessions",
    metadata,
    # One row per look at footage: a live viewing (kind "live"), a playback of a time range
    # for a stated purpose ("playback"), or a snapshot. Opened and closed with audit entries.
    Column("id", String(26), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("user_id", String(26), nullable=False),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("variant", String(10), nullable=True),
    Column("purpose", String(60), nullable=True),
    Column("range_start", UtcDateTime, nullable=True),
    Column("range_end", UtcDateTime, nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("expires_at", UtcDateTime, nullable=True),
)
Index("ix_media_view_sessions_camera", view_sessions.c.camera_id, view_sessions.c.started_at)
Index("ix_media_view_sessions_user", view_sessions.c.user_id, view_sessions.c.started_at)

clips = Table(
    "media_clips",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("purpose", String(60), nullable=False),
    Column("path", String(500), nullable=False, unique=True),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("manifest", JSON, nullable=False),
    Column("created_by", String(26), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_media_clips_camera", clips.c.camera_id, clips.c.created_at)

storage_alerts = Table(
    "media_storage_alerts",
    metadata,
    # Disk pressure on the recordings volume: opened at the warning threshold, raised to
    # critical when footage had to be deleted, cleared when usage falls back.
    Column("id", String(26), primary_key=True),
    Column("level", String(20), nullable=False),
    Column("used_pct", Float, nullable=False),
    Column("detail", Text, nullable=False),
    Column("deleted_segments", Integer, nullable=False),
    Column("deleted_bytes", BigInteger, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime, nullable=True),
)


def segments_overlapping(conn: Connection, camera_id: str, start: datetime, end: datetime) -> list[DbRow]:
    """The camera's segments that hold any footage in [start, end), in time order."""
    c = segments.c
    return list(
        conn.execute(
            select(segments)
            .where(and_(c.camera_id == camera_id, c.start < end, c.end > start))
            .order_by(c.start)
        ).all()
    )


def gaps_overlapping(conn: Connection, camera_id: str, start: datetime, end: datetime) -> list[DbRow]:
    """The camera's recorded gaps touching [start, end); an open gap has no end yet."""
    c = gaps.c
    return list(
        conn.execute(
            select(gaps)
            .where(and_(c.camera_id == camera_id, c.start < end, or_(c.end.is_(None), c.end > start)))
            .order_by(c.start)
        ).all()
    )
