"""Alerts wing: alerts with their evidence and history, aggregation groups, notifications,
deliveries and their attempts, integration health, silences.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:24:08.781208
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_integrations",
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("receiver", sa.String(length=60), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_failure_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_integrations")),
    )
    op.create_table(
        "alert_groups",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("route_id", sa.String(length=200), nullable=False),
        sa.Column("receiver", sa.String(length=60), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("next_flush_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_flush_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_notified_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("notified", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["org_nodes.id"], name=op.f("fk_alert_groups_facility_id_org_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_groups")),
    )
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.create_index("ix_alert_groups_next_flush", ["next_flush_at"], unique=False)

    op.create_table(
        "alert_notifications",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("group_id", sa.String(length=32), nullable=True),
        sa.Column("receiver", sa.String(length=60), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("alert_ids", sa.JSON(), nullable=False),
        sa.Column("resolved_ids", sa.JSON(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("cause", sa.JSON(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["org_nodes.id"], name=op.f("fk_alert_notifications_facility_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["alert_groups.id"], name=op.f("fk_alert_notifications_group_id_alert_groups")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_notifications")),
    )
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.create_index("ix_alert_notifications_group", ["group_id"], unique=False)

    op.create_table(
        "alert_silences",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("starts_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=26), nullable=True),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expired_by", sa.String(length=26), nullable=True),
        sa.Column("expired_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_alert_silences_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["expired_by"], ["users.id"], name=op.f("fk_alert_silences_expired_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["org_nodes.id"], name=op.f("fk_alert_silences_node_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_alert_silences_updated_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_silences")),
    )
    with op.batch_alter_table("alert_silences", schema=None) as batch_op:
        batch_op.create_index("ix_alert_silences_created_by", ["created_by"], unique=False)
        batch_op.create_index("ix_alert_silences_ends", ["ends_at"], unique=False)

    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("rule_id", sa.String(length=100), nullable=False),
        sa.Column("rule_version", sa.String(length=40), nullable=False),
        sa.Column("rule_hash", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("titles", sa.JSON(), nullable=False),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("starts_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_seen_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("triggered_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("trigger_count", sa.Integer(), nullable=False),
        sa.Column("resolved_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ack_by", sa.String(length=26), nullable=True),
        sa.Column("ack_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("ack_comment", sa.Text(), nullable=True),
        sa.Column("ack_expires_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("receiver", sa.String(length=60), nullable=False),
        sa.Column("escalation_policy", sa.String(length=60), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ack_by"], ["users.id"], name=op.f("fk_alerts_ack_by_users")),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["org_nodes.id"], name=op.f("fk_alerts_facility_id_org_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_alerts_fingerprint")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_facility_starts", ["facility_id", "starts_at"], unique=False)
        batch_op.create_index("ix_alerts_rule", ["rule_id"], unique=False)
        batch_op.create_index("ix_alerts_status_ack_expiry", ["status", "ack_expires_at"], unique=False)
        batch_op.create_index("ix_alerts_status_escalation", ["status", "next_escalation_at"], unique=False)

    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("notification_id", sa.String(length=26), nullable=False),
        sa.Column("receiver", sa.String(length=60), nullable=False),
        sa.Column("integration", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("target_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["alert_notifications.id"],
            name=op.f("fk_alert_deliveries_notification_id_alert_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_alert_deliveries_notification", ["notification_id"], unique=False)
        batch_op.create_index("ix_alert_deliveries_state", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "alert_group_members",
        sa.Column("group_id", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_group_members_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["alert_groups.id"], name=op.f("fk_alert_group_members_group_id_alert_groups")
        ),
        sa.PrimaryKeyConstraint("group_id", "alert_id", name=op.f("pk_alert_group_members")),
    )
    with op.batch_alter_table("alert_group_members", schema=None) as batch_op:
        batch_op.create_index("ix_alert_group_members_alert", ["alert_id"], unique=False)

    op.create_table(
        "alert_history",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("alert_id", sa.String(length=26), nullable=False),
        sa.Column("at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_alert_history_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_history")),
    )
    with op.batch_alter_table("alert_history", schema=None) as batch_op:
        batch_op.create_index("ix_alert_history_alert", ["alert_id", "at"], unique=False)

    op.create_table(
        "alert_notification_alerts",
        sa.Column("notification_id", sa.String(length=26), nullable=False),
        sa.Column("alert_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_notification_alerts_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["alert_notifications.id"],
            name=op.f("fk_alert_notification_alerts_notification_id_alert_notifications"),
        ),
        sa.PrimaryKeyConstraint("notification_id", "alert_id", name=op.f("pk_alert_notification_alerts")),
    )
    with op.batch_alter_table("alert_notification_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alert_notification_alerts_alert", ["alert_id"], unique=False)

    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("delivery_id", sa.String(length=26), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["alert_deliveries.id"],
            name=op.f("fk_alert_delivery_attempts_delivery_id_alert_deliveries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery_attempts")),
    )
    with op.batch_alter_table("alert_delivery_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_alert_delivery_attempts_delivery", ["delivery_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_delivery_attempts_delivery")

    op.drop_table("alert_delivery_attempts")
    with op.batch_alter_table("alert_notification_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_notification_alerts_alert")

    op.drop_table("alert_notification_alerts")
    with op.batch_alter_table("alert_history", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_history_alert")

    op.drop_table("alert_history")
    with op.batch_alter_table("alert_group_members", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_group_members_alert")

    op.drop_table("alert_group_members")
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_deliveries_state")
        batch_op.drop_index("ix_alert_deliveries_notification")

    op.drop_table("alert_deliveries")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_status_escalation")
        batch_op.drop_index("ix_alerts_status_ack_expiry")
        batch_op.drop_index("ix_alerts_rule")
        batch_op.drop_index("ix_alerts_facility_starts")

    op.drop_table("alerts")
    with op.batch_alter_table("alert_silences", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_silences_ends")
        batch_op.drop_index("ix_alert_silences_created_by")

    op.drop_table("alert_silences")
    with op.batch_alter_table("alert_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_notifications_group")

    op.drop_table("alert_notifications")
    with op.batch_alter_table("alert_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_groups_next_flush")

    op.drop_table("alert_groups")
    op.drop_table("alert_integrations")
