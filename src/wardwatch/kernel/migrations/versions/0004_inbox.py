"""Alerts wing: the in-app inbox of notices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 09:08:22.028782
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import wardwatch.kernel.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_notices",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=True),
        sa.Column("node_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("ref_type", sa.String(length=40), nullable=False),
        sa.Column("ref_id", sa.String(length=60), nullable=False),
        sa.Column("audience", sa.String(length=200), nullable=False),
        sa.Column("created_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("read_at", wardwatch.kernel.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["node_id"], ["org_nodes.id"], name=op.f("fk_inbox_notices_node_id_org_nodes")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_inbox_notices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_notices")),
    )
    with op.batch_alter_table("inbox_notices", schema=None) as batch_op:
        batch_op.create_index("ix_inbox_notices_ref", ["ref_type", "ref_id"], unique=False)
        batch_op.create_index("ix_inbox_notices_user", ["user_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbox_notices", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_notices_user")
        batch_op.drop_index("ix_inbox_notices_ref")

    op.drop_table("inbox_notices")
