"""HTTP route of the overview wing: the caller's part of the org tree with live counts.

``org.read`` lets the caller call it at all (it shows the nodes they may see); each count
group needs its own read permission on the facility, and is ``null`` where it is missing.
"""

from __future__ import annotations

from fastapi import APIRouter

from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.bootstrap import Container
from wardwatch.overview.schemas import OverviewView
from wardwatch.overview.service import OverviewService

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)


def service_of(container: Container) -> OverviewService:
    """Built per call: the service holds nothing but the wings' services it asks."""
    return OverviewService(
        container.deps,
        container.registry,
        container.health.service,
        container.health.incidents,
        container.alerts,
        container.duty.coverage,
    )


@router.get("/overview", response_model=OverviewView, tags=["overview"])
def overview(caller: Caller = permission("org.read")) -> OverviewView:
    """Each visible org node, depth first, with cameras, incidents, alerts and duty coverage now."""
    return service_of(caller.container).summary(caller.principal)
