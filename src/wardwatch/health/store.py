"""Tables of the health wing.

Facility paths are copied onto the rows that are queried by subtree (periods for
uptime, incidents for lists and handovers), from the registry at the time of writing:
org nodes never move, so the copy stays true, and a subtree query needs no join with
another wing's tables.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from wardwatch.kernel.db import UtcDateTime, metadata

camera_state = Table(
    "health_camera_state",
    metadata,
    # The current state of each camera ever watched, with what each source last said.
    Column("camera_id", String(26), ForeignKey("cameras.id"), primary_key=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("facility_path", String(1000), nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", JSON, nullable=False),
    Column("since", UtcDateTime, nullable=False),
    # The start of the current unbroken run of faults (NULL while healthy): what the
    # incident debounce is measured from, whichever faults follow one another.
    Column("fault_since", UtcDateTime, nullable=True),
    Column("recorder", String(20), nullable=False),
    Column("recorder_reason", JSON, nullable=False),
    Column("recorder_at", UtcDateTime, nullable=True),
    Column("analyser", String(20), nullable=False),
    Column("analyser_reason", JSON, nullable=False),
    Column("picture", String(20), nullable=False),
    Column("picture_reason", JSON, nullable=False),
    Column("measured", JSON, nullable=False),
    Column("evidence_id", String(26), nullable=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_health_camera_state_facility", camera_state.c.facility_id)

periods = Table(
    "health_periods",
    metadata,
    # One row per stretch of time a camera spent in one state; the open one has no end.
    Column("id", String(26), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("facility_path", String(1000), nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", JSON, nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=True),
    Column("evidence_id", String(26), nullable=True),
)
Index("ix_health_periods_camera_start", periods.c.camera_id, periods.c.start)
Index("ix_health_periods_path_start", periods.c.facility_path, periods.c.start)

baselines = Table(
    "health_baselines",
    metadata,
    # A camera's learnt normal and its reference thumbnail (80 px grey PNG), so that a
    # restart does not forget what the camera usually looks like.
    Column("camera_id", String(26), ForeignKey("cameras.id"), primary_key=True),
    Column("baseline", JSON, nullable=False),
    Column("reference", LargeBinary, nullable=True),
    Column("learnt", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

evidence = Table(
    "health_evidence",
    metadata,
    # The keyframe that decided a state change, as a small JPEG. It is footage: looking
    # at it is a viewing on the record, and it is deleted with the camera's retention.
    # ``start`` and ``end`` are both the capture time, so legal holds cover it as they
    # cover segments.
    Column("id", String(26), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("state", String(20), nullable=False),
    Column("start", UtcDateTime, nullable=False),
    Column("end", UtcDateTime, nullable=False),
    Column("jpeg", LargeBinary, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("measured", JSON, nullable=False),
)
Index("ix_health_evidence_camera_start", evidence.c.camera_id, evidence.c.start)

incidents = Table(
    "health_incidents",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), nullable=False),
    Column("camera_name", String(200), nullable=False),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("facility_path", String(1000), nullable=False),
    Column("status", String(20), nullable=False),
    Column("fault", String(20), nullable=False),
    Column("faults", JSON, nullable=False),
    Column("reason", JSON, nullable=False),
    Column("fault_started_at", UtcDateTime, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("recovered_at", UtcDateTime, nullable=True),
    Column("acknowledged_at", UtcDateTime, nullable=True),
    Column("acknowledged_by", String(26), nullable=True),
    Column("repair", JSON, nullable=True),
    Column("fallback", JSON, nullable=True),
    Column("fallback_notified_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("closed_by", String(26), nullable=True),
    Column("close_note", Text, nullable=True),
    Column("evidence_id", String(26), nullable=True),
    Column("open_key", String(26), nullable=True),
    # The camera's id while the incident is not closed, NULL once closed: the unique
    # constraint makes "one unclosed incident per camera" hold even for racing writers.
    UniqueConstraint("open_key", name="uq_health_incidents_open_key"),
)
Index("ix_health_incidents_path_status", incidents.c.facility_path, incidents.c.status)
Index("ix_health_incidents_camera", incidents.c.camera_id, incidents.c.opened_at)

incident_events = Table(
    "health_incident_events",
    metadata,
    # The incident's timeline: what happened to the camera and what people did about it.
    Column("id", String(26), primary_key=True),
    Column("incident_id", String(26), ForeignKey("health_incidents.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("actor_name", String(200), nullable=False),
    Column("details", JSON, nullable=False),
)
Index("ix_health_incident_events_incident", incident_events.c.incident_id, incident_events.c.at)
