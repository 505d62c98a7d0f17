"""Health wing: camera health states and periods, baselines, evidence keyframes, incidents.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_baselines",
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("baseline", sa.JSON(), nullable=False),
        sa.Column("reference", sa.LargeBinary(), nullable=True),
        sa.Column("learnt", sa.Boolean(), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_health_baselines_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_health_baselines")),
    )
    op.create_table(
        "health_camera_state",
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("facility_path", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("since", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("fault_since", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("recorder", sa.String(length=20), nullable=False),
        sa.Column("recorder_reason", sa.JSON(), nullable=False),
        sa.Column("recorder_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("analyser", sa.String(length=20), nullable=False),
        sa.Column("analyser_reason", sa.JSON(), nullable=False),
        sa.Column("picture", sa.String(length=20), nullable=False),
        sa.Column("picture_reason", sa.JSON(), nullable=False),
        sa.Column("measured", sa.JSON(), nullable=False),
        sa.Column("evidence_id", sa.String(length=26), nullable=True),
        sa.Column("seen_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_health_camera_state_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.node_id"],
            name=op.f("fk_health_camera_state_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_health_camera_state")),
    )
    with op.batch_alter_table("health_camera_state", schema=None) as batch_op:
        batch_op.create_index("ix_health_camera_state_facility", ["facility_id"], unique=False)

    op.create_table(
        "health_evidence",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("jpeg", sa.LargeBinary(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("measured", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_health_evidence_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_health_evidence_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_evidence")),
    )
    with op.batch_alter_table("health_evidence", schema=None) as batch_op:
        batch_op.create_index("ix_health_evidence_camera_start", ["camera_id", "start"], unique=False)

    op.create_table(
        "health_incidents",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("camera_name", sa.String(length=200), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("facility_path", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("fault", sa.String(length=20), nullable=False),
        sa.Column("faults", sa.JSON(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("fault_started_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("opened_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recovered_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=26), nullable=True),
        sa.Column("repair", sa.JSON(), nullable=True),
        sa.Column("fallback", sa.JSON(), nullable=True),
        sa.Column("fallback_notified_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=26), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("evidence_id", sa.String(length=26), nullable=True),
        sa.Column("open_key", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_health_incidents_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_health_incidents_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_incidents")),
        sa.UniqueConstraint("open_key", name="uq_health_incidents_open_key"),
    )
    with op.batch_alter_table("health_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_health_incidents_camera", ["camera_id", "opened_at"], unique=False)
        batch_op.create_index("ix_health_incidents_path_status", ["facility_path", "status"], unique=False)

    op.create_table(
        "health_periods",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("facility_path", sa.String(length=1000), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("evidence_id", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_health_periods_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_health_periods_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_periods")),
    )
    with op.batch_alter_table("health_periods", schema=None) as batch_op:
        batch_op.create_index("ix_health_periods_camera_start", ["camera_id", "start"], unique=False)
        batch_op.create_index("ix_health_periods_path_start", ["facility_path", "start"], unique=False)

    op.create_table(
        "health_incident_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("incident_id", sa.String(length=26), nullable=False),
        sa.Column("at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["health_incidents.id"],
            name=op.f("fk_health_incident_events_incident_id_health_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_incident_events")),
    )
    with op.batch_alter_table("health_incident_events", schema=None) as batch_op:
        batch_op.create_index("ix_health_incident_events_incident", ["incident_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("health_incident_events", schema=None) as batch_op:
        batch_op.drop_index("ix_health_incident_events_incident")

    op.drop_table("health_incident_events")
    with op.batch_alter_table("health_periods", schema=None) as batch_op:
        batch_op.drop_index("ix_health_periods_path_start")
        batch_op.drop_index("ix_health_periods_camera_start")

    op.drop_table("health_periods")
    with op.batch_alter_table("health_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_health_incidents_path_status")
        batch_op.drop_index("ix_health_incidents_camera")

    op.drop_table("health_incidents")
    with op.batch_alter_table("health_evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_health_evidence_camera_start")

    op.drop_table("health_evidence")
    with op.batch_alter_table("health_camera_state", schema=None) as batch_op:
        batch_op.drop_index("ix_health_camera_state_facility")

    op.drop_table("health_camera_state")
    op.drop_table("health_baselines")
