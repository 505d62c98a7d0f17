"""Tables of the access wing: register, terminals, door events, operating rooms, schedule.

No table holds a face template or any other biometric: matching stays on the door
terminals, and WardWatch keeps person ids and the events that name them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wardwatch.kernel.db import UtcDateTime, metadata

practitioners = Table(
    "practitioners",
    metadata,
    Column("id", String(26), primary_key=True),
    # The org node whose register this is (a ministry, province or district health office).
    Column("authority_node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("licence_number", String(64), nullable=False),
    Column("person_id", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("profession", String(20), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("lead_physician", Boolean, nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("status", String(20), nullable=False),
    Column("status_reason", String(40), nullable=False),
    Column("last_import_id", String(26), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("authority_node_id", "licence_number", name="uq_practitioners_node_licence"),
    UniqueConstraint("authority_node_id", "person_id", name="uq_practitioners_node_person"),
)
Index("ix_practitioners_person", practitioners.c.person_id)
Index("ix_practitioners_licence", practitioners.c.licence_number)

practitioner_history = Table(
    "practitioner_history",
    metadata,
    # Every state a practitioner was ever recorded in, so "was the licence in force when
    # this person walked through the door" has an answer for late events too.
    Column("id", String(26), primary_key=True),
    Column("practitioner_id", String(26), ForeignKey("practitioners.id"), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("import_id", String(26), nullable=False),
    Column("change", String(30), nullable=False),
    Column("record", JSON, nullable=False),
)
Index(
    "ix_practitioner_history_at", practitioner_history.c.practitioner_id, practitioner_history.c.recorded_at
)

practitioner_imports = Table(
    "practitioner_imports",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("node_id", String(26), ForeignKey("org_nodes.id"), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("format", String(10), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("added", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("revoked", Integer, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_practitioner_imports_node", practitioner_imports.c.node_id, practitioner_imports.c.created_at)

terminals = Table(
    "door_terminals",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("user_id", String(26), ForeignKey("users.id"), nullable=False, unique=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    # The device's own serial number, as printed on it and carried in its MQTT payloads.
    Column("serial_number", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Health: what the terminal sent, and what was wrong with it.
    Column("high_serial", BigInteger, nullable=True),
    Column("last_event_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column("events_accepted", BigInteger, nullable=False),
    Column("events_duplicate", BigInteger, nullable=False),
    Column("events_refused", BigInteger, nullable=False),
    Column("events_lost", BigInteger, nullable=False),
    Column("last_refusal_reason", String(60), nullable=True),
    Column("last_refusal_at", UtcDateTime, nullable=True),
)
Index("ix_door_terminals_facility", terminals.c.facility_id)

terminal_doors = Table(
    "terminal_doors",
    metadata,
    Column("terminal_id", String(26), ForeignKey("door_terminals.id"), primary_key=True),
    Column("door_id", String(26), ForeignKey("doors.id"), primary_key=True),
)
Index("ix_terminal_doors_door", terminal_doors.c.door_id)

serial_gaps = Table(
    "terminal_serial_gaps",
    metadata,
    # Serials a terminal skipped: events that may have been lost on the way.
    Column("id", String(26), primary_key=True),
    Column("terminal_id", String(26), ForeignKey("door_terminals.id"), nullable=False),
    Column("first_serial", BigInteger, nullable=False),
    Column("last_serial", BigInteger, nullable=False),
    Column("recovered", BigInteger, nullable=False),
    Column("detected_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime, nullable=True),
)
Index("ix_terminal_serial_gaps_terminal", serial_gaps.c.terminal_id, serial_gaps.c.first_serial)

allowlist_entries = Table(
    "allowlist_entries",
    metadata,
    # What WardWatch last handed each terminal for each door, with the version it changed in;
    # removed entries stay as tombstones so an incremental sync can say "drop this one".
    Column("terminal_id", String(26), ForeignKey("door_terminals.id"), primary_key=True),
    Column("door_id", String(26), ForeignKey("doors.id"), primary_key=True),
    Column("person_id", String(128), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("entry", JSON, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("removed", Boolean, nullable=False),
)
Index(
    "ix_allowlist_entries_version",
    allowlist_entries.c.terminal_id,
    allowlist_entries.c.door_id,
    allowlist_entries.c.version,
)

allowlist_state = Table(
    "allowlist_state",
    metadata,
    Column("terminal_id", String(26), ForeignKey("door_terminals.id"), primary_key=True),
    Column("door_id", String(26), ForeignKey("doors.id"), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("synced_at", UtcDateTime, nullable=False),
    # The terminal's own account of what it holds, and how that compared when it said so.
    Column("reported_at", UtcDateTime, nullable=True),
    Column("reported_ids", JSON, nullable=True),
    Column("reported_hash", String(64), nullable=True),
    Column("report_in_sync", Boolean, nullable=True),
)

door_events = Table(
    "door_events",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("terminal_id", String(26), ForeignKey("door_terminals.id"), nullable=False),
    Column("serial", BigInteger, nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("door_id", String(26), ForeignKey("doors.id"), nullable=False),
    Column("time", UtcDateTime, nullable=False),
    Column("local_date", Date, nullable=False),
    Column("person_id", String(128), nullable=True),
    Column("credential_id", String(128), nullable=True),
    Column("verify_mode", String(10), nullable=True),
    Column("result", String(20), nullable=False),
    Column("direction", String(5), nullable=True),
    Column("channel", String(10), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    UniqueConstraint("terminal_id", "serial", name="uq_door_events_terminal_serial"),
)
Index("ix_door_events_door_time", door_events.c.door_id, door_events.c.time)
Index("ix_door_events_facility_day", door_events.c.facility_id, door_events.c.local_date)
Index("ix_door_events_person_time", door_events.c.person_id, door_events.c.time)

event_refusals = Table(
    "door_event_refusals",
    metadata,
    # What a terminal sent that could not be taken, kept (truncated) for its technician.
    Column("id", String(26), primary_key=True),
    Column("terminal_id", String(26), ForeignKey("door_terminals.id"), nullable=True),
    Column("channel", String(10), nullable=False),
    Column("source", String(300), nullable=False),
    Column("serial", BigInteger, nullable=True),
    Column("reasons", JSON, nullable=False),
    Column("excerpt", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)
Index("ix_door_event_refusals_terminal", event_refusals.c.terminal_id, event_refusals.c.received_at)

operating_rooms = Table(
    "operating_rooms",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("facility_id", "name", name="uq_operating_rooms_facility_name"),
)

room_doors = Table(
    "operating_room_doors",
    metadata,
    # A door opens into at most one operating room; a room may have several (clean and
    # dirty corridor), and an entry through any of them is an entry into the room.
    Column("door_id", String(26), ForeignKey("doors.id"), primary_key=True),
    Column("room_id", String(26), ForeignKey("operating_rooms.id"), nullable=False),
)
Index("ix_operating_room_doors_room", room_doors.c.room_id)

procedures = Table(
    "procedures",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("ref", String(128), nullable=False),
    Column("room_id", String(26), ForeignKey("operating_rooms.id"), nullable=False),
    Column("planned_start", UtcDateTime, nullable=False),
    Column("planned_end", UtcDateTime, nullable=False),
    Column("actual_start", UtcDateTime, nullable=True),
    Column("actual_end", UtcDateTime, nullable=True),
    Column("local_date", Date, nullable=False),
    Column("category", String(64), nullable=False),
    Column("anaesthesia", String(20), nullable=False),
    Column("lead_surgeon", String(64), nullable=False),
    Column("anaesthetist", String(64), nullable=True),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("facility_id", "ref", name="uq_procedures_facility_ref"),
)
Index("ix_procedures_facility_day", procedures.c.facility_id, procedures.c.local_date)
Index("ix_procedures_room_start", procedures.c.room_id, procedures.c.planned_start)
