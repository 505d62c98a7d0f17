"""The overview: every org node the caller sees, with live counts summed up the tree.

Each figure comes from the wing that owns it, through its service and under the
caller's own permission for it (``registry.read`` for camera health, ``incident.read``,
``alert.read``, ``duty.read``); this module only sums. It reads and changes nothing, so
it writes no audit entry.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from wardwatch.alerts.service import AlertService
from wardwatch.authz.principal import Principal
from wardwatch.duty.coverage import Coverage
from wardwatch.health.incidents import IncidentService
from wardwatch.health.model import IncidentStatus
from wardwatch.health.service import HealthService
from wardwatch.kernel.deps import Deps
from wardwatch.overview.model import (
    AlertFigures,
    CameraFigures,
    DutyFigures,
    Figures,
    IncidentFigures,
    roll_up,
    tree_order,
)
from wardwatch.overview.schemas import (
    AlertCounts,
    CameraCounts,
    DutyCounts,
    IncidentCounts,
    OverviewNode,
    OverviewView,
)
from wardwatch.registry.model import CameraStatus, OrgKind
from wardwatch.registry.schemas import OrgNodeView
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

NOW_SLICE = timedelta(seconds=1)
"""Coverage is asked for this instant: a one-second window from now."""
MAX_ACTIVE_INCIDENTS = 1_000_000
"""No real cap: a camera has at most one unclosed incident."""


class OverviewService:
    def __init__(
        self,
        deps: Deps,
        registry: RegistryService,
        health: HealthService,
        incidents: IncidentService,
        alerts: AlertService,
        coverage: Coverage,
    ) -> None:
        self.deps = deps
        self.registry = registry
        self.health = health
        self.incidents = incidents
        self.alerts = alerts
        self.coverage = coverage

    def summary(self, principal: Principal) -> OverviewView:
        now = self.deps.clock.now()
        nodes = self.registry.list_nodes(principal)
        with self.deps.db.read() as conn:
            paths = self.registry.paths_of(conn, [n.id for n in nodes])
        zones = {f.id: f.timezone for f in self.registry.list_facilities(principal)}
        facilities = {n.id: Figures(facilities=1) for n in nodes if n.kind == OrgKind.FACILITY}

        def known(permission: str) -> list[Figures]:
            return [f for fid, f in facilities.items() if principal.can(permission, paths[fid])]

        for figures in known("registry.read"):
            figures.cameras = CameraFigures()
        for figures in known("incident.read"):
            figures.incidents = IncidentFigures()
        for figures in known("alert.read"):
            figures.alerts = AlertFigures()
        for figures in known("duty.read"):
            figures.duty = DutyFigures()

        states = {v.camera_id: v.state.value for v in self.health.list_health(principal, None)}
        for camera in self.registry.list_cameras(principal, None):
            counts = _group(facilities, camera.facility_id, "cameras")
            if counts is not None and camera.status == CameraStatus.ACTIVE:
                counts.count(states.get(camera.id))
        active = self.incidents.list_incidents(principal, status="active", limit=MAX_ACTIVE_INCIDENTS)
        for incident in active:
            found = _group(facilities, incident.facility_id, "incidents")
            if found is None:
                continue
            if incident.status == IncidentStatus.OPEN:
                found.open += 1
            else:
                found.recovered += 1
        for facility_id, colours in self.alerts.open_counts(principal).items():
            alerts = _group(facilities, facility_id, "alerts")
            if alerts is not None:
                alerts.red += colours.get("red", 0)
                alerts.yellow += colours.get("yellow", 0)
                alerts.blue += colours.get("blue", 0)
        if any(f.duty is not None for f in facilities.values()):
            report = self.coverage.report(principal, None, now, now + NOW_SLICE)
            for row in report.facilities:
                duty = _group(facilities, row.facility_id, "duty")
                if duty is None:
                    continue
                duty.facilities += 1
                duty.covered += 0 if row.gaps else 1
                duty.operators |= {o.user_id for o in row.on_duty}

        totals = roll_up(nodes, facilities)
        by_id = {n.id: n for n in nodes}
        return OverviewView(
            evaluated_at=now,
            nodes=[
                _node_view(by_id[node_id], zones.get(node_id), totals[node_id])
                for node_id in tree_order(nodes, {n.id: n.name for n in nodes})
            ],
        )


def _group(facilities: dict[str, Figures], facility_id: str, name: str) -> Any:
    """The facility's figure group ``name``, or ``None`` where the caller may not know it."""
    figures = facilities.get(facility_id)
    return getattr(figures, name) if figures is not None else None


def _node_view(node: OrgNodeView, timezone: str | None, figures: Figures) -> OverviewNode:
    cameras, incidents, alerts, duty = figures.cameras, figures.incidents, figures.alerts, figures.duty
    return OverviewNode(
        id=node.id,
        kind=node.kind,
        name=node.name,
        parent_id=node.parent_id,
        depth=node.depth,
        timezone=timezone,
        facilities=figures.facilities,
        cameras=CameraCounts(total=cameras.total, **asdict(cameras)) if cameras is not None else None,
        incidents=IncidentCounts(**asdict(incidents)) if incidents is not None else None,
        alerts=AlertCounts(**asdict(alerts)) if alerts is not None else None,
        duty=DutyCounts(
            facilities=duty.facilities,
            covered=duty.covered,
            uncovered=duty.uncovered,
            on_duty=len(duty.operators),
        )
        if duty is not None
        else None,
    )
