"""Access wing: practitioner register and its history, door terminals, allow-lists, door
events, operating rooms and the procedure schedule.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "practitioner_imports",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("revoked", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["node_id"], ["org_nodes.id"], name=op.f("fk_practitioner_imports_node_id_org_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner_imports")),
    )
    with op.batch_alter_table("practitioner_imports", schema=None) as batch_op:
        batch_op.create_index("ix_practitioner_imports_node", ["node_id", "created_at"], unique=False)

    op.create_table(
        "practitioners",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("authority_node_id", sa.String(length=26), nullable=False),
        sa.Column("licence_number", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("profession", sa.String(length=20), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("lead_physician", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.String(length=40), nullable=False),
        sa.Column("last_import_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["authority_node_id"], ["org_nodes.id"], name=op.f("fk_practitioners_authority_node_id_org_nodes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("authority_node_id", "licence_number", name="uq_practitioners_node_licence"),
        sa.UniqueConstraint("authority_node_id", "person_id", name="uq_practitioners_node_person"),
    )
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.create_index("ix_practitioners_licence", ["licence_number"], unique=False)
        batch_op.create_index("ix_practitioners_person", ["person_id"], unique=False)

    op.create_table(
        "door_terminals",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("high_serial", sa.BigInteger(), nullable=True),
        sa.Column("last_event_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("events_accepted", sa.BigInteger(), nullable=False),
        sa.Column("events_duplicate", sa.BigInteger(), nullable=False),
        sa.Column("events_refused", sa.BigInteger(), nullable=False),
        sa.Column("events_lost", sa.BigInteger(), nullable=False),
        sa.Column("last_refusal_reason", sa.String(length=60), nullable=True),
        sa.Column("last_refusal_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_door_terminals_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_door_terminals_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_door_terminals")),
        sa.UniqueConstraint("serial_number", name=op.f("uq_door_terminals_serial_number")),
        sa.UniqueConstraint("user_id", name=op.f("uq_door_terminals_user_id")),
    )
    with op.batch_alter_table("door_terminals", schema=None) as batch_op:
        batch_op.create_index("ix_door_terminals_facility", ["facility_id"], unique=False)

    op.create_table(
        "operating_rooms",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_operating_rooms_facility_id_facilities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operating_rooms")),
        sa.UniqueConstraint("facility_id", "name", name="uq_operating_rooms_facility_name"),
    )
    op.create_table(
        "practitioner_history",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("practitioner_id", sa.String(length=26), nullable=False),
        sa.Column("recorded_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("import_id", sa.String(length=26), nullable=False),
        sa.Column("change", sa.String(length=30), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_practitioner_history_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioner_history")),
    )
    with op.batch_alter_table("practitioner_history", schema=None) as batch_op:
        batch_op.create_index("ix_practitioner_history_at", ["practitioner_id", "recorded_at"], unique=False)

    op.create_table(
        "door_event_refusals",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("terminal_id", sa.String(length=26), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("received_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["door_terminals.id"],
            name=op.f("fk_door_event_refusals_terminal_id_door_terminals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_door_event_refusals")),
    )
    with op.batch_alter_table("door_event_refusals", schema=None) as batch_op:
        batch_op.create_index("ix_door_event_refusals_terminal", ["terminal_id", "received_at"], unique=False)

    op.create_table(
        "procedures",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("room_id", sa.String(length=26), nullable=False),
        sa.Column("planned_start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("planned_end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actual_start", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("actual_end", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("anaesthesia", sa.String(length=20), nullable=False),
        sa.Column("lead_surgeon", sa.String(length=64), nullable=False),
        sa.Column("anaesthetist", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_procedures_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["operating_rooms.id"], name=op.f("fk_procedures_room_id_operating_rooms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procedures")),
        sa.UniqueConstraint("facility_id", "ref", name="uq_procedures_facility_ref"),
    )
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.create_index("ix_procedures_facility_day", ["facility_id", "local_date"], unique=False)
        batch_op.create_index("ix_procedures_room_start", ["room_id", "planned_start"], unique=False)

    op.create_table(
        "terminal_serial_gaps",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("terminal_id", sa.String(length=26), nullable=False),
        sa.Column("first_serial", sa.BigInteger(), nullable=False),
        sa.Column("last_serial", sa.BigInteger(), nullable=False),
        sa.Column("recovered", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["door_terminals.id"],
            name=op.f("fk_terminal_serial_gaps_terminal_id_door_terminals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terminal_serial_gaps")),
    )
    with op.batch_alter_table("terminal_serial_gaps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_terminal_serial_gaps_terminal", ["terminal_id", "first_serial"], unique=False
        )

    op.create_table(
        "allowlist_entries",
        sa.Column("terminal_id", sa.String(length=26), nullable=False),
        sa.Column("door_id", sa.String(length=26), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("entry", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["door_id"], ["doors.id"], name=op.f("fk_allowlist_entries_door_id_doors")),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["door_terminals.id"],
            name=op.f("fk_allowlist_entries_terminal_id_door_terminals"),
        ),
        sa.PrimaryKeyConstraint("terminal_id", "door_id", "person_id", name=op.f("pk_allowlist_entries")),
    )
    with op.batch_alter_table("allowlist_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_allowlist_entries_version", ["terminal_id", "door_id", "version"], unique=False
        )

    op.create_table(
        "allowlist_state",
        sa.Column("terminal_id", sa.String(length=26), nullable=False),
        sa.Column("door_id", sa.String(length=26), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("synced_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reported_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reported_ids", sa.JSON(), nullable=True),
        sa.Column("reported_hash", sa.String(length=64), nullable=True),
        sa.Column("report_in_sync", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["door_id"], ["doors.id"], name=op.f("fk_allowlist_state_door_id_doors")),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["door_terminals.id"], name=op.f("fk_allowlist_state_terminal_id_door_terminals")
        ),
        sa.PrimaryKeyConstraint("terminal_id", "door_id", name=op.f("pk_allowlist_state")),
    )
    op.create_table(
        "door_events",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("terminal_id", sa.String(length=26), nullable=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("facility_id", sa.String(length=26), nullable=False),
        sa.Column("door_id", sa.String(length=26), nullable=False),
        sa.Column("time", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=True),
        sa.Column("credential_id", sa.String(length=128), nullable=True),
        sa.Column("verify_mode", sa.String(length=10), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=5), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("received_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["door_id"], ["doors.id"], name=op.f("fk_door_events_door_id_doors")),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.node_id"], name=op.f("fk_door_events_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["door_terminals.id"], name=op.f("fk_door_events_terminal_id_door_terminals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_door_events")),
        sa.UniqueConstraint("terminal_id", "serial", name="uq_door_events_terminal_serial"),
    )
    with op.batch_alter_table("door_events", schema=None) as batch_op:
        batch_op.create_index("ix_door_events_door_time", ["door_id", "time"], unique=False)
        batch_op.create_index("ix_door_events_facility_day", ["facility_id", "local_date"], unique=False)
        batch_op.create_index("ix_door_events_person_time", ["person_id", "time"], unique=False)

    op.create_table(
        "operating_room_doors",
        sa.Column("door_id", sa.String(length=26), nullable=False),
        sa.Column("room_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(
            ["door_id"], ["doors.id"], name=op.f("fk_operating_room_doors_door_id_doors")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["operating_rooms.id"], name=op.f("fk_operating_room_doors_room_id_operating_rooms")
        ),
        sa.PrimaryKeyConstraint("door_id", name=op.f("pk_operating_room_doors")),
    )
    with op.batch_alter_table("operating_room_doors", schema=None) as batch_op:
        batch_op.create_index("ix_operating_room_doors_room", ["room_id"], unique=False)

    op.create_table(
        "terminal_doors",
        sa.Column("terminal_id", sa.String(length=26), nullable=False),
        sa.Column("door_id", sa.String(length=26), nullable=False),
        sa.ForeignKeyConstraint(["door_id"], ["doors.id"], name=op.f("fk_terminal_doors_door_id_doors")),
        sa.ForeignKeyConstraint(
            ["terminal_id"], ["door_terminals.id"], name=op.f("fk_terminal_doors_terminal_id_door_terminals")
        ),
        sa.PrimaryKeyConstraint("terminal_id", "door_id", name=op.f("pk_terminal_doors")),
    )
    with op.batch_alter_table("terminal_doors", schema=None) as batch_op:
        batch_op.create_index("ix_terminal_doors_door", ["door_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("terminal_doors", schema=None) as batch_op:
        batch_op.drop_index("ix_terminal_doors_door")

    op.drop_table("terminal_doors")
    with op.batch_alter_table("operating_room_doors", schema=None) as batch_op:
        batch_op.drop_index("ix_operating_room_doors_room")

    op.drop_table("operating_room_doors")
    with op.batch_alter_table("door_events", schema=None) as batch_op:
        batch_op.drop_index("ix_door_events_person_time")
        batch_op.drop_index("ix_door_events_facility_day")
        batch_op.drop_index("ix_door_events_door_time")

    op.drop_table("door_events")
    op.drop_table("allowlist_state")
    with op.batch_alter_table("allowlist_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_allowlist_entries_version")

    op.drop_table("allowlist_entries")
    with op.batch_alter_table("terminal_serial_gaps", schema=None) as batch_op:
        batch_op.drop_index("ix_terminal_serial_gaps_terminal")

    op.drop_table("terminal_serial_gaps")
    with op.batch_alter_table("procedures", schema=None) as batch_op:
        batch_op.drop_index("ix_procedures_room_start")
        batch_op.drop_index("ix_procedures_facility_day")

    op.drop_table("procedures")
    with op.batch_alter_table("door_event_refusals", schema=None) as batch_op:
        batch_op.drop_index("ix_door_event_refusals_terminal")

    op.drop_table("door_event_refusals")
    with op.batch_alter_table("practitioner_history", schema=None) as batch_op:
        batch_op.drop_index("ix_practitioner_history_at")

    op.drop_table("practitioner_history")
    op.drop_table("operating_rooms")
    with op.batch_alter_table("door_terminals", schema=None) as batch_op:
        batch_op.drop_index("ix_door_terminals_facility")

    op.drop_table("door_terminals")
    with op.batch_alter_table("practitioners", schema=None) as batch_op:
        batch_op.drop_index("ix_practitioners_person")
        batch_op.drop_index("ix_practitioners_licence")

    op.drop_table("practitioners")
    with op.batch_alter_table("practitioner_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_practitioner_imports_node")

    op.drop_table("practitioner_imports")
