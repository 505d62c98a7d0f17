"""Tables of the registry wing."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
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

org_nodes = Table(
    "org_nodes",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("parent_id", String(26), ForeignKey("org_nodes.id"), nullable=True),
    Column("kind", String(30), nullable=False),
    Column("name", String(200), nullable=False),
    Column("path", String(1000), nullable=False, unique=True),
    Column("depth", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_org_nodes_parent", org_nodes.c.parent_id)

facilities = Table(
    "facilities",
    metadata,
    Column("node_id", String(26), ForeignKey("org_nodes.id"), primary_key=True),
    Column("facility_type", String(40), nullable=False),
    Column("address", Text, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("contacts", JSON, nullable=False),
    Column("enforcement_node_id", String(26), ForeignKey("org_nodes.id"), nullable=True),
    Column("rollout_status", String(20), nullable=False),
    Column("required_by", Date, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

rollout_events = Table(
    "rollout_events",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=False),
    Column("note", Text, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index("ix_rollout_events_facility", rollout_events.c.facility_id)

zones = Table(
    "zones",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("area_type", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("facility_id", "name", name="uq_zones_facility_name"),
)

cameras = Table(
    "cameras",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("zone_id", String(26), ForeignKey("zones.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("main_url", String(2000), nullable=False),
    Column("sub_url", String(2000), nullable=True),
    Column("credentials", LargeBinary, nullable=True),
    Column("purposes", JSON, nullable=False),
    Column("legal_basis", Text, nullable=False),
    Column("retention_days", Integer, nullable=True),
    Column("signage_posted", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("activated_at", UtcDateTime, nullable=True),
    CheckConstraint("retention_days IS NULL OR retention_days > 0", name="retention_positive"),
)
Index("ix_cameras_facility", cameras.c.facility_id)
Index("ix_cameras_zone", cameras.c.zone_id)

doors = Table(
    "doors",
    metadata,
    Column("id", String(26), primary_key=True),
    Column("facility_id", String(26), ForeignKey("facilities.node_id"), nullable=False),
    Column("zone_id", String(26), ForeignKey("zones.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_doors_facility", doors.c.facility_id)

door_cameras = Table(
    "door_cameras",
    metadata,
    Column("door_id", String(26), ForeignKey("doors.id"), primary_key=True),
    Column("camera_id", String(26), ForeignKey("cameras.id"), primary_key=True),
)
