"""Views of the overview wing: one row per org node the caller sees, with its live counts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from wardwatch.registry.model import OrgKind


class CameraCounts(BaseModel):
    """Active cameras of the subtree by health state (``impaired``: video, but unfit)."""

    total: int
    online: int
    offline: int
    impaired: int
    unknown: int


class IncidentCounts(BaseModel):
    open: int
    """The fault is still present."""
    recovered: int
    """The camera works again; a person has still to confirm and close."""


class AlertCounts(BaseModel):
    """Unresolved alerts (firing or acknowledged) by colour."""

    red: int
    yellow: int
    blue: int


class DutyCounts(BaseModel):
    facilities: int
    covered: int
    """Facilities with someone on duty now (or a shift still inside its takeover grace)."""
    uncovered: int
    on_duty: int
    """Operators on duty now over these facilities, each counted once."""


class OverviewNode(BaseModel):
    id: str
    kind: OrgKind
    name: str
    parent_id: str | None
    """``None`` or a node the caller does not see: this node is one of the caller's roots."""
    depth: int
    timezone: str | None
    """The facility's time zone (facilities only)."""
    facilities: int
    """Facilities of the subtree the caller sees."""
    cameras: CameraCounts | None
    """``None`` where the caller may not read cameras anywhere in the subtree (likewise below)."""
    incidents: IncidentCounts | None
    alerts: AlertCounts | None
    duty: DutyCounts | None


class OverviewView(BaseModel):
    evaluated_at: datetime
    nodes: list[OverviewNode]
    """Depth first, siblings by name."""
