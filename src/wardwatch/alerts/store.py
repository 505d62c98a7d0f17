"""Tables of the alerts wing."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text

from wardwatch.kernel.db import UtcDateTime, metadata

inbox = Table(
    "inbox_notices",
    metadata,
    # One row per recipient. A notice nobody could receive keeps user_id NULL, so it is on
    # record (and announced) rather than lost.
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=True),
    Column("node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("params", JSON, nullable=False),
    Column("ref_type", String(40), nullable=False),
    Column("ref_id", String(60), nullable=False),
    Column("audience", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime, nullable=True),
)
Index("ix_inbox_notices_user", inbox.c.user_id, inbox.c.created_at)
Index("ix_inbox_notices_ref", inbox.c.ref_type, inbox.c.ref_id)

# ---------------------------------------------------------------- alerts

alerts = Table(
    "alerts",
    metadata,
    # One row per fingerprint (rule, facility, labels). A resolved alert that fires again is
    # the same row, re-triggered: trigger_count tells its cycles apart.
    Column("id", String(26), primary_key=True),
    Column("fingerprint", String(32), nullable=False, unique=True),
    Column("source", String(20), nullable=False),
    Column("rule_id", String(100), nullable=False),
    Column("rule_version", String(40), nullable=False),
    Column("rule_hash", String(128), nullable=False),
    Column("severity", String(10), nullable=False),
    # A facility, or for platform alerts (source "notifier") the root of its tree.
    Column("facility_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("day", String(10), nullable=False),
    Column("titles", JSON, nullable=False),
    Column("measures", JSON, nullable=False),
    Column("event_ids", JSON, nullable=False),
    Column("status", String(15), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("triggered_at", UtcDateTime, nullable=False),
    Column("trigger_count", Integer, nullable=False),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("ack_by", String(26), ForeignKey("users.id"), nullable=True),
    Column("ack_at", UtcDateTime, nullable=True),
    Column("ack_comment", Text, nullable=True),
    Column("ack_expires_at", UtcDateTime, nullable=True),
    Column("receiver", String(60), nullable=False),
    Column("escalation_policy", String(60), nullable=True),
    Column("escalation_level", Integer, nullable=False),
    Column("next_escalation_at", UtcDateTime, nullable=True),
)
Index("ix_alerts_facility_starts", alerts.c.facility_id, alerts.c.starts_at)
Index("ix_alerts_status_escalation", alerts.c.status, alerts.c.next_escalation_at)
Index("ix_alerts_status_ack_expiry", alerts.c.status, alerts.c.ack_expires_at)
Index("ix_alerts_rule", alerts.c.rule_id)

alert_history = Table(
    "alert_history",
    metadata,
    # Everything that happened to an alert, in order: fired (with its evidence), updated,
    # resolved, re-triggered, acknowledged, escalated, acknowledgement expired.
    Column("id", String(26), primary_key=True),
    Column("alert_id", String(26), ForeignKey("alerts.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("details", JSON, nullable=False),
)
Index("ix_alert_history_alert", alert_history.c.alert_id, alert_history.c.at)

alert_groups = Table(
    "alert_groups",
    metadata,
    # An aggregation group: the alerts one route sends to one receiver together. ``notified``
    # is the notification log ([fingerprint, trigger count] pairs last told as firing).
    Column("id", String(32), primary_key=True),
    Column("route_id", String(200), nullable=False),
    Column("receiver", String(60), nullable=False),
    Column("facility_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("next_flush_at", UtcDateTime, nullable=True),
    Column("last_flush_at", UtcDateTime, nullable=True),
    Column("last_notified_at", UtcDateTime, nullable=True),
    Column("notified", JSON, nullable=False),
)
Index("ix_alert_groups_next_flush", alert_groups.c.next_flush_at)

alert_group_members = Table(
    "alert_group_members",
    metadata,
    Column("group_id", String(32), ForeignKey("alert_groups.id"), primary_key=True),
    Column("alert_id", String(26), ForeignKey("alerts.id"), primary_key=True),
)
Index("ix_alert_group_members_alert", alert_group_members.c.alert_id)

alert_notifications = Table(
    "alert_notifications",
    metadata,
    # One message to one receiver about some alerts: a group flush, an escalation, a
    # fallback. Its deliveries are the integrations it went out through.
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("group_id", String(32), ForeignKey("alert_groups.id"), nullable=True),
    Column("receiver", String(60), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("alert_ids", JSON, nullable=False),
    Column("resolved_ids", JSON, nullable=False),
    Column("level", Integer, nullable=False),
    Column("cause", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_alert_notifications_group", alert_notifications.c.group_id)

alert_notification_alerts = Table(
    "alert_notification_alerts",
    metadata,
    # Which alerts a notification was about (so an alert's delivery history is one join).
    Column("notification_id", String(26), ForeignKey("alert_notifications.id"), primary_key=True),
    Column("alert_id", String(26), ForeignKey("alerts.id"), primary_key=True),
)
Index("ix_alert_notification_alerts_alert", alert_notification_alerts.c.alert_id)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    # One notification through one integration (inbox, one e-mail batch, one MQTT message,
    # one apprise URL). ``target`` is shown; the real one, which may hold a password, is
    # sealed with the secret box and opened only to send.
    Column("id", String(26), primary_key=True),
    Column("notification_id", String(26), ForeignKey("alert_notifications.id"), nullable=False),
    Column("receiver", String(60), nullable=False),
    Column("integration", String(120), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("target", String(500), nullable=False),
    Column("target_sealed", LargeBinary, nullable=True),
    Column("recipients", JSON, nullable=False),
    Column("locale", String(10), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_alert_deliveries_state", alert_deliveries.c.state, alert_deliveries.c.next_attempt_at)
Index("ix_alert_deliveries_notification", alert_deliveries.c.notification_id)

alert_delivery_attempts = Table(
    "alert_delivery_attempts",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("delivery_id", String(26), ForeignKey("alert_deliveries.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
)
Index("ix_alert_delivery_attempts_delivery", alert_delivery_attempts.c.delivery_id)

alert_integrations = Table(
    "alert_integrations",
    metadata,
    # The health of each receiver integration: consecutive failures decide when it is down.
    Column("key", String(120), primary_key=True),
    Column("receiver", String(60), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("target", String(500), nullable=False),
    Column("consecutive_failures", Integer, nullable=False),
    Column("failing", Boolean, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("last_failure_at", UtcDateTime, nullable=True),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

alert_silences = Table(
    "alert_silences",
    metadata,
    # Muting by matchers, under one org node, until a required end; expired, never deleted.
    Column("id", String(26), primary_key=True),
    Column("node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("matchers", JSON, nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_by", String(26), ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("updated_by", String(26), ForeignKey("users.id"), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expired_by", String(26), ForeignKey("users.id"), nullable=True),
    Column("expired_at", UtcDateTime, nullable=True),
)
Index("ix_alert_silences_created_by", alert_silences.c.created_by)
Index("ix_alert_silences_ends", alert_silences.c.ends_at)
