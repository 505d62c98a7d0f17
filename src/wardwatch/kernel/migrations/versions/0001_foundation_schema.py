"""Foundation schema: org tree, registry, accounts, audit log, event outbox.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 13:22:14.576527
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("ts_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("object_type", sa.String(length=60), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.String(length=26), nullable=False),
        sa.Column("purpose", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("mac", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_entries")),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entries_actor", ["actor"], unique=False)
        batch_op.create_index("ix_audit_entries_object", ["object_type", "object_id"], unique=False)
        batch_op.create_index("ix_audit_entries_scope", ["scope"], unique=False)
        batch_op.create_index("ix_audit_entries_ts", ["ts_us"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.Column("mac", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_nodes")),
    )
    op.create_table(
        "bus_outbox",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_outbox")),
    )
    with op.batch_alter_table("bus_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bus_outbox_published_at"), ["published_at"], unique=False)

    op.create_table(
        "bus_processed",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=26), nullable=False),
        sa.Column("processed_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_bus_processed")),
    )
    op.create_table(
        "org_nodes",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("parent_id", sa.String(length=26), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=1000), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["org_nodes.id"], name=op.f("fk_org_nodes_parent_id_org_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_nodes")),
        sa.UniqueConstraint("path", name=op.f("uq_org_nodes_path")),
    )
    with op.batch_alter_table("org_nodes", schema=None) as batch_op:
        batch_op.create_index("ix_org_nodes_parent", ["parent_id"], unique=False)

    op.create_table(
        "facilities",
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("facility_type", sa.String(length=40), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("enforcement_node_id", sa.String(length=26), nullable=True),
        sa.Column("rollout_status", sa.String(length=20), nullable=False),
        sa.Column("required_by", sa.Date(), nullable=True),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enforcement_node_id"],
            ["org_nodes.id"],
            name=op.f("fk_facilities_enforcement_node_id_org_nodes"),
        ),
        sa.ForeignKeyConstraint(["node_id"], ["org_nodes.id"], name=op.f("fk_facilities_node_id_org_nodes")),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_facilities")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("home_node_id", sa.String(length=26), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("totp_secret", sa.LargeBinary(), nullable=True),
        sa.Column("totp_enabled", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('person', 'device')", name=op.f("ck_users_kind_known")),
        sa.ForeignKeyConstraint(
            ["home_node_id"], ["org_nodes.id"], name=op.f("fk_users_home_node_id_org_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_home_node", ["home_node_id"], unique=False)

    op.create_table(
        "account_requests",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("requested_by", sa.String(length=26), nullable=False),
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=26), nullable=True),
        sa.Column("decided_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["users.id"], name=op.f("fk_account_requests_decided_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["org_nodes.id"], name=op.f("fk_account_requests_node_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_account_requests_requested_by_users")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_account_requests_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_requests")),
    )
    with op.batch_alter_table("account_requests", schema=None) as batch_op:
        batch_op.create_index("ix_account_requests_node", ["node_id"], unique=False)

    op.create_table(
        "activations",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_activations_user_id_users")),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_activations")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_api_tokens_user", ["user_id"], unique=False)

    op.create_table(
        "role_bindings",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("permission", sa.String(length=64), nullable=True),
        sa.Column("effect", sa.String(length=5), nullable=False),
        sa.Column("granted_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("effect IN ('allow', 'deny')", name=op.f("ck_role_bindings_effect_known")),
        sa.CheckConstraint(
            "(role IS NULL) <> (permission IS NULL)", name=op.f("ck_role_bindings_role_xor_permission")
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["org_nodes.id"], name=op.f("fk_role_bindings_node_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_role_bindings_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_bindings")),
    )
    with op.batch_alter_table("role_bindings", schema=None) as batch_op:
        batch_op.create_index("ix_role_bindings_node", ["node_id"], unique=False)
        batch_op.create_index("ix_role_bindings_user", ["user_id"], unique=False)

    op.create_table(
        "rollout_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_rollout_events_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollout_events")),
    )
    with op.batch_alter_table("rollout_events", schema=None) as batch_op:
        batch_op.create_index("ix_rollout_events_facility", ["facility_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("mfa_pending", sa.Boolean(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("client", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user", ["user_id"], unique=False)

    op.create_table(
        "zones",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("area_type", sa.String(length=40), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_zones_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zones")),
        sa.UniqueConstraint("facility_id", "name", name="uq_zones_facility_name"),
    )
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("zone_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("main_url", sa.String(length=2000), nullable=False),
        sa.Column("sub_url", sa.String(length=2000), nullable=True),
        sa.Column("credentials", sa.LargeBinary(), nullable=True),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("signage_posted", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "retention_days IS NULL OR retention_days > 0", name=op.f("ck_cameras_retention_positive")
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_cameras_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_cameras_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.create_index("ix_cameras_facility", ["facility_id"], unique=False)
        batch_op.create_index("ix_cameras_zone", ["zone_id"], unique=False)

    op.create_table(
        "doors",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("zone_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_doors_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zones.id"], name=op.f("fk_doors_zone_id_zones")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_doors")),
    )
    with op.batch_alter_table("doors", schema=None) as batch_op:
        batch_op.create_index("ix_doors_facility", ["facility_id"], unique=False)

    op.create_table(
        "door_cameras",
        sa.Column("door_id", sa.String(length=26), nullable=False),
        sa.Column("camera_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_door_cameras_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(["door_id"], ["doors.id"], name=op.f("fk_door_cameras_door_id_doors")),
        sa.PrimaryKeyConstraint("door_id", "camera_id", name=op.f("pk_door_cameras")),
    )


def downgrade() -> None:
    op.drop_table("door_cameras")
    with op.batch_alter_table("doors", schema=None) as batch_op:
        batch_op.drop_index("ix_doors_facility")

    op.drop_table("doors")
    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.drop_index("ix_cameras_zone")
        batch_op.drop_index("ix_cameras_facility")

    op.drop_table("cameras")
    op.drop_table("zones")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user")

    op.drop_table("sessions")
    with op.batch_alter_table("rollout_events", schema=None) as batch_op:
        batch_op.drop_index("ix_rollout_events_facility")

    op.drop_table("rollout_events")
    with op.batch_alter_table("role_bindings", schema=None) as batch_op:
        batch_op.drop_index("ix_role_bindings_user")
        batch_op.drop_index("ix_role_bindings_node")

    op.drop_table("role_bindings")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_user")

    op.drop_table("api_tokens")
    op.drop_table("activations")
    with op.batch_alter_table("account_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_account_requests_node")

    op.drop_table("account_requests")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_home_node")

    op.drop_table("users")
    op.drop_table("facilities")
    with op.batch_alter_table("org_nodes", schema=None) as batch_op:
        batch_op.drop_index("ix_org_nodes_parent")

    op.drop_table("org_nodes")
    op.drop_table("bus_processed")
    with op.batch_alter_table("bus_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bus_outbox_published_at"))

    op.drop_table("bus_outbox")
    op.drop_table("audit_nodes")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entries_ts")
        batch_op.drop_index("ix_audit_entries_scope")
        batch_op.drop_index("ix_audit_entries_object")
        batch_op.drop_index("ix_audit_entries_actor")

    op.drop_table("audit_entries")
    op.drop_table("audit_checkpoints")
