"""Media plane: viewing sessions, exported clips and storage alerts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:42:01.269934
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_storage_alerts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("used_pct", sa.Float(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("deleted_segments", sa.Integer(), nullable=False),
        sa.Column("deleted_bytes", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_storage_alerts")),
    )
    op.create_table(
        "media_clips",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_media_clips_camera_id_cameras")),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_media_clips_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_clips")),
        sa.UniqueConstraint("path", name=op.f("uq_media_clips_path")),
    )
    with op.batch_alter_table("media_clips", schema=None) as batch_op:
        batch_op.create_index("ix_media_clips_camera", ["camera_id", "created_at"], unique=False)

    op.create_table(
        "media_view_sessions",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("variant", sa.String(length=10), nullable=True),
        sa.Column("purpose", sa.String(length=60), nullable=True),
        sa.Column("range_start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("range_end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("started_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_media_view_sessions_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.node_id"],
            name=op.f("fk_media_view_sessions_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_view_sessions")),
    )
    with op.batch_alter_table("media_view_sessions", schema=None) as batch_op:
        batch_op.create_index("ix_media_view_sessions_camera", ["camera_id", "started_at"], unique=False)
        batch_op.create_index("ix_media_view_sessions_user", ["user_id", "started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("media_view_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_media_view_sessions_user")
        batch_op.drop_index("ix_media_view_sessions_camera")

    op.drop_table("media_view_sessions")
    with op.batch_alter_table("media_clips", schema=None) as batch_op:
        batch_op.drop_index("ix_media_clips_camera")

    op.drop_table("media_clips")
    op.drop_table("media_storage_alerts")
