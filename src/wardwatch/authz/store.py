"""Tables of the accounts wing."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from wardwatch.kernel.db import UtcDateTime, metadata

users = Table(
    "users",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("email", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("home_node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("password_hash", String(200), nullable=True),
    Column("totp_secret", LargeBinary, nullable=True),
    Column("totp_enabled", Boolean, nullable=False),
    Column("totp_last_step", BigInteger, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("disabled", Boolean, nullable=False),
    Column("locale", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("kind IN ('person', 'device')", name="kind_known"),
)
Index("ix_users_home_node", users.c.home_node_id)

role_bindings = Table(
    "role_bindings",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=False),
    Column("node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("role", String(64), nullable=True),
    Column("permission", String(64), nullable=True),
    Column("effect", String(5), nullable=False),
    Column("granted_by", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint("(role IS NULL) <> (permission IS NULL)", name="role_xor_permission"),
    CheckConstraint("effect IN ('allow', 'deny')", name="effect_known"),
)
Index("ix_role_bindings_user", role_bindings.c.user_id)
Index("ix_role_bindings_node", role_bindings.c.node_id)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("mfa_pending", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("client", String(300), nullable=False),
)
Index("ix_sessions_user", sessions.c.user_id)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", LargeBinary(32), nullable=False),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)
Index("ix_api_tokens_user", api_tokens.c.user_id)

account_requests = Table(
    "account_requests",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("requested_by", String(26), ForeignKey("users.id"), nullable=False),
    Column("node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("role", String(64), nullable=False),
    Column("username", String(64), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("email", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("justification", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_by", String(26), ForeignKey("users.id"), nullable=True),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decision_note", Text, nullable=False),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=True),
)
Index("ix_account_requests_node", account_requests.c.node_id)

activations = Table(
    "activations",
    metadata,
    Column("user_id", String(26), ForeignKey("users.id"), primary_key=True),
    Column("code_hash", LargeBinary(32), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)
