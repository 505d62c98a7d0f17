"""Media plane: recorded segments, gaps, stream states and legal holds.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:26:25.968876
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_gaps",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"], name=op.f("fk_media_gaps_camera_id_cameras")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_gaps")),
    )
    with op.batch_alter_table("media_gaps", schema=None) as batch_op:
        batch_op.create_index("ix_media_gaps_camera_start", ["camera_id", "start"], unique=False)

    op.create_table(
        "media_legal_holds",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("lifted_by", sa.String(length=26), nullable=True),
        sa.Column("lifted_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_media_legal_holds_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_media_legal_holds_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_legal_holds")),
    )
    with op.batch_alter_table("media_legal_holds", schema=None) as batch_op:
        batch_op.create_index("ix_media_legal_holds_camera", ["camera_id"], unique=False)

    op.create_table(
        "media_segments",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("codec", sa.String(length=20), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_media_segments_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_media_segments_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_segments")),
        sa.UniqueConstraint("path", name=op.f("uq_media_segments_path")),
    )
    with op.batch_alter_table("media_segments", schema=None) as batch_op:
        batch_op.create_index("ix_media_segments_camera_start", ["camera_id", "start"], unique=False)
        batch_op.create_index("ix_media_segments_end", ["end"], unique=False)

    op.create_table(
        "media_stream_status",
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_media_stream_status_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_media_stream_status")),
    )


def downgrade() -> None:
    op.drop_table("media_stream_status")
    with op.batch_alter_table("media_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_media_segments_end")
        batch_op.drop_index("ix_media_segments_camera_start")

    op.drop_table("media_segments")
    with op.batch_alter_table("media_legal_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_media_legal_holds_camera")

    op.drop_table("media_legal_holds")
    with op.batch_alter_table("media_gaps", schema=None) as batch_op:
        batch_op.drop_index("ix_media_gaps_camera_start")

    op.drop_table("media_gaps")
