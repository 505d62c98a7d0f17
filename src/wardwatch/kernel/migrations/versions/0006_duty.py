"""Duty wing: roster, shifts, coverage gaps, logbook, handovers, breach reports.

The logbook and the breach timeline are append-only: triggers refuse UPDATE and DELETE on
them, on SQLite and on PostgreSQL alike.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

APPEND_ONLY = ("duty_log_entries", "duty_breach_events")


def _refuse_rewrites() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION duty_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'duty records are append-only: % on % refused', TG_OP, TG_TABLE_NAME; "
            "END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION duty_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'duty records are append-only: {action} on {table} refused'); END"
            )


def _allow_rewrites() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS duty_append_only()")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("node_path", sa.String(length=1000), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("starts_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=26), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["node_id"], ["org_nodes.id"], name=op.f("fk_duty_shifts_node_id_org_nodes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_shifts")),
    )
    with op.batch_alter_table("duty_shifts", schema=None) as batch_op:
        batch_op.create_index("ix_duty_shifts_ends_at", ["ends_at"], unique=False)
        batch_op.create_index("ix_duty_shifts_node", ["node_id", "starts_at"], unique=False)

    op.create_table(
        "duty_coverage_gaps",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("facility_path", sa.String(length=1000), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("started_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("detected_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("open_facility_id", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["org_nodes.id"], name=op.f("fk_duty_coverage_gaps_facility_id_org_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_coverage_gaps")),
        sa.UniqueConstraint("open_facility_id", name=op.f("uq_duty_coverage_gaps_open_facility_id")),
    )
    with op.batch_alter_table("duty_coverage_gaps", schema=None) as batch_op:
        batch_op.create_index("ix_duty_coverage_gaps_facility", ["facility_id", "started_at"], unique=False)

    op.create_table(
        "duty_shift_nodes",
        sa.Column("shift_id", sa.String(length=26), nullable=False),
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("node_path", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["org_nodes.id"], name=op.f("fk_duty_shift_nodes_node_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_shift_nodes_shift_id_duty_shifts")
        ),
        sa.PrimaryKeyConstraint("shift_id", "node_id", name=op.f("pk_duty_shift_nodes")),
    )
    with op.batch_alter_table("duty_shift_nodes", schema=None) as batch_op:
        batch_op.create_index("ix_duty_shift_nodes_node", ["node_id"], unique=False)

    op.create_table(
        "duty_shift_operators",
        sa.Column("shift_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("taken_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("handover_id", sa.String(length=26), nullable=True),
        sa.Column("take_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_shift_operators_shift_id_duty_shifts")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_duty_shift_operators_user_id_users")
        ),
        sa.PrimaryKeyConstraint("shift_id", "user_id", name=op.f("pk_duty_shift_operators")),
    )
    with op.batch_alter_table("duty_shift_operators", schema=None) as batch_op:
        batch_op.create_index("ix_duty_shift_operators_user", ["user_id"], unique=False)

    op.create_table(
        "duty_handovers",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("from_shift_id", sa.String(length=26), nullable=False),
        sa.Column("to_shift_id", sa.String(length=26), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("checked", sa.JSON(), nullable=False),
        sa.Column("unavailable", sa.JSON(), nullable=False),
        sa.Column("written_by", sa.String(length=26), nullable=False),
        sa.Column("written_by_name", sa.String(length=64), nullable=False),
        sa.Column("written_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=26), nullable=True),
        sa.Column("acknowledged_by_name", sa.String(length=64), nullable=True),
        sa.Column("acknowledged_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["from_shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_handovers_from_shift_id_duty_shifts")
        ),
        sa.ForeignKeyConstraint(
            ["to_shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_handovers_to_shift_id_duty_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_handovers")),
        sa.UniqueConstraint("from_shift_id", name=op.f("uq_duty_handovers_from_shift_id")),
    )
    with op.batch_alter_table("duty_handovers", schema=None) as batch_op:
        batch_op.create_index("ix_duty_handovers_to_shift", ["to_shift_id"], unique=False)

    op.create_table(
        "duty_log_entries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("facility_path", sa.String(length=1000), nullable=False),
        sa.Column("shift_id", sa.String(length=26), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("system", sa.Boolean(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("occurred_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.String(length=80), nullable=False),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("corrects_id", sa.String(length=26), nullable=True),
        sa.Column("ref_type", sa.String(length=40), nullable=True),
        sa.Column("ref_id", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(
            ["corrects_id"],
            ["duty_log_entries.id"],
            name=op.f("fk_duty_log_entries_corrects_id_duty_log_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["org_nodes.id"], name=op.f("fk_duty_log_entries_facility_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_log_entries_shift_id_duty_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_log_entries")),
    )
    with op.batch_alter_table("duty_log_entries", schema=None) as batch_op:
        batch_op.create_index("ix_duty_log_entries_corrects", ["corrects_id"], unique=False)
        batch_op.create_index("ix_duty_log_entries_facility", ["facility_id", "occurred_at"], unique=False)
        batch_op.create_index("ix_duty_log_entries_shift", ["shift_id"], unique=False)

    op.create_table(
        "duty_breach_reports",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("facility_path", sa.String(length=1000), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("snapshot_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("clip_id", sa.String(length=26), nullable=True),
        sa.Column("shift_id", sa.String(length=26), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reported_by", sa.String(length=26), nullable=False),
        sa.Column("reported_by_name", sa.String(length=64), nullable=False),
        sa.Column("reported_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("remedy_action", sa.Text(), nullable=True),
        sa.Column("remedy_performed_by", sa.String(length=200), nullable=True),
        sa.Column("remedy_performed_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("remedy_recorded_by", sa.String(length=26), nullable=True),
        sa.Column("remedy_recorded_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=26), nullable=True),
        sa.Column("verified_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=26), nullable=True),
        sa.Column("closed_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_duty_breach_reports_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["org_nodes.id"], name=op.f("fk_duty_breach_reports_facility_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["shift_id"], ["duty_shifts.id"], name=op.f("fk_duty_breach_reports_shift_id_duty_shifts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_breach_reports")),
    )
    with op.batch_alter_table("duty_breach_reports", schema=None) as batch_op:
        batch_op.create_index("ix_duty_breach_reports_camera", ["camera_id"], unique=False)
        batch_op.create_index("ix_duty_breach_reports_facility", ["facility_id", "status"], unique=False)

    op.create_table(
        "duty_breach_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("report_id", sa.String(length=26), nullable=False),
        sa.Column("step", sa.String(length=30), nullable=False),
        sa.Column("actor_id", sa.String(length=26), nullable=False),
        sa.Column("actor_name", sa.String(length=64), nullable=False),
        sa.Column("at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["duty_breach_reports.id"],
            name=op.f("fk_duty_breach_events_report_id_duty_breach_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_breach_events")),
    )
    with op.batch_alter_table("duty_breach_events", schema=None) as batch_op:
        batch_op.create_index("ix_duty_breach_events_report", ["report_id", "at"], unique=False)
    _refuse_rewrites()


def downgrade() -> None:
    _allow_rewrites()
    with op.batch_alter_table("duty_breach_events", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_breach_events_report")

    op.drop_table("duty_breach_events")
    with op.batch_alter_table("duty_breach_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_breach_reports_facility")
        batch_op.drop_index("ix_duty_breach_reports_camera")

    op.drop_table("duty_breach_reports")
    with op.batch_alter_table("duty_log_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_log_entries_shift")
        batch_op.drop_index("ix_duty_log_entries_facility")
        batch_op.drop_index("ix_duty_log_entries_corrects")

    op.drop_table("duty_log_entries")
    with op.batch_alter_table("duty_handovers", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_handovers_to_shift")

    op.drop_table("duty_handovers")
    with op.batch_alter_table("duty_shift_operators", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_shift_operators_user")

    op.drop_table("duty_shift_operators")
    with op.batch_alter_table("duty_shift_nodes", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_shift_nodes_node")

    op.drop_table("duty_shift_nodes")
    with op.batch_alter_table("duty_coverage_gaps", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_coverage_gaps_facility")

    op.drop_table("duty_coverage_gaps")
    with op.batch_alter_table("duty_shifts", schema=None) as batch_op:
        batch_op.drop_index("ix_duty_shifts_node")
        batch_op.drop_index("ix_duty_shifts_ends_at")

    op.drop_table("duty_shifts")
