"""Tables of the duty wing.

Org-node paths are copied next to the ids they belong to (a node never moves, so its
path never changes): scope checks and "covers this facility" are then prefix tests on
this wing's own rows, without reading the registry's tables.

The logbook and the breach timeline are append-only; the migration adds database
triggers that refuse UPDATE and DELETE on them, so not even a bug can rewrite history.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text

from wardwatch.kernel.db import UtcDateTime, metadata

shifts = Table(
    "duty_shifts",
    metadata,
    Column("id", String(26), primary_key=True),
    # The unit whose roster this is (a facility, or a monitoring centre watching many).
    Column("node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("node_path", String(1000), nullable=False),
    Column("label", String(200), nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("created_by", String(26), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime, nullable=True),
    Column("cancelled_by", String(26), nullable=True),
    Column("cancel_reason", Text, nullable=True),
)
Index("ix_duty_shifts_node", shifts.c.node_id, shifts.c.starts_at)
Index("ix_duty_shifts_ends_at", shifts.c.ends_at)

shift_nodes = Table(
    "duty_shift_nodes",
    metadata,
    # The nodes a shift covers; covering a node covers every facility in its subtree.
    Column("shift_id", String(26), ForeignKey("duty_shifts.id"), primary_key=True),
    Column("node_id", String(26), ForeignKey("org_nodes.id"), primary_key=True),
    Column("node_path", String(1000), nullable=False),
)
Index("ix_duty_shift_nodes_node", shift_nodes.c.node_id)

shift_operators = Table(
    "duty_shift_operators",
    metadata,
    Column("shift_id", String(26), ForeignKey("duty_shifts.id"), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id"), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("taken_at", UtcDateTime, nullable=True),
    Column("handover_id", String(26), nullable=True),
    Column("take_note", Text, nullable=True),
)
Index("ix_duty_shift_operators_user", shift_operators.c.user_id)

handovers = Table(
    "duty_handovers",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("from_shift_id", String(26), ForeignKey("duty_shifts.id"), nullable=False, unique=True),
    Column("to_shift_id", String(26), ForeignKey("duty_shifts.id"), nullable=False),
    Column("summary", Text, nullable=False),
    # What was open when the handover was written, as the providing wings listed it.
    Column("items", JSON, nullable=False),
    Column("checked", JSON, nullable=False),
    Column("unavailable", JSON, nullable=False),
    Column("written_by", String(26), nullable=False),
    Column("written_by_name", String(64), nullable=False),
    Column("written_at", UtcDateTime, nullable=False),
    Column("acknowledged_by", String(26), nullable=True),
    Column("acknowledged_by_name", String(64), nullable=True),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("ack_note", Text, nullable=True),
)
Index("ix_duty_handovers_to_shift", handovers.c.to_shift_id)

log_entries = Table(
    "duty_log_entries",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("facility_path", String(1000), nullable=False),
    Column("shift_id", String(26), ForeignKey("duty_shifts.id"), nullable=True),
    Column("kind", String(30), nullable=False),
    Column("text", Text, nullable=False),
    # An entry WardWatch wrote itself (a breach report, a notice sent) carries parameters
    # and is shown in the reader's language; a person's entry is their own words.
    Column("system", Boolean, nullable=False),
    Column("params", JSON, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("author_id", String(80), nullable=False),
    Column("author_name", String(200), nullable=False),
    Column("corrects_id", String(26), ForeignKey("duty_log_entries.id"), nullable=True),
    Column("ref_type", String(40), nullable=True),
    Column("ref_id", String(60), nullable=True),
)
Index("ix_duty_log_entries_facility", log_entries.c.facility_id, log_entries.c.occurred_at)
Index("ix_duty_log_entries_shift", log_entries.c.shift_id)
Index("ix_duty_log_entries_corrects", log_entries.c.corrects_id)

breach_reports = Table(
    "duty_breach_reports",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("facility_path", String(1000), nullable=False),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("category", String(40), nullable=False),
    Column("source", String(20), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False),
    Column("snapshot_at", UtcDateTime, nullable=True),
    Column("clip_id", String(26), nullable=True),
    Column("shift_id", String(26), ForeignKey("duty_shifts.id"), nullable=True),
    Column("status", String(20), nullable=False),
    Column("reported_by", String(26), nullable=False),
    Column("reported_by_name", String(64), nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),
    Column("remedy_action", Text, nullable=True),
    Column("remedy_performed_by", String(200), nullable=True),
    Column("remedy_performed_at", UtcDateTime, nullable=True),
    Column("remedy_recorded_by", String(26), nullable=True),
    Column("remedy_recorded_at", UtcDateTime, nullable=True),
    Column("verified_by", String(26), nullable=True),
    Column("verified_at", UtcDateTime, nullable=True),
    Column("closed_by", String(26), nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_duty_breach_reports_facility", breach_reports.c.facility_id, breach_reports.c.status)
Index("ix_duty_breach_reports_camera", breach_reports.c.camera_id)

breach_events = Table(
    "duty_breach_events",
    metadata,
    # Each step of a report's life, in order: who did what, when, and what they said.
    Column("id", String(26), primary_key=True),
    Column("report_id", String(26), ForeignKey("duty_breach_reports.id"), nullable=False),
    Column("step", String(30), nullable=False),
    Column("actor_id", String(26), nullable=False),
    Column("actor_name", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=False),
    Column("details", JSON, nullable=False),
)
Index("ix_duty_breach_events_report", breach_events.c.report_id, breach_events.c.at)

coverage_gaps = Table(
    "duty_coverage_gaps",
    metadata,
    # A live gap the periodic check found: opened (and notified) once, closed when covered.
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("facility_path", String(1000), nullable=False),
    Column("reason", String(20), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("recipients", Integer, nullable=False),
    # Set to the facility while the gap is open, NULL once closed: at most one open gap per
    # facility, even with two servers checking at once (NULLs never collide).
    Column("open_facility_id", String(26), nullable=True, unique=True),
)
Index("ix_duty_coverage_gaps_facility", coverage_gaps.c.facility_id, coverage_gaps.c.started_at)
