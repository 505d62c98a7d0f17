"""HTTP routes of the health wing: camera health, uptime, evidence keyframes, incidents.

Health states and history need ``registry.read`` on the camera's facility (like stream
states); uptime and incidents need ``incident.read``, and acting on an incident
``incident.manage``, on the incident's own facility (404 outside the caller's subtree,
403 inside it). An evidence keyframe is footage: ``camera.view_live``, and every look is
on the access record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.health.schemas import (
    CameraHealthView,
    CameraHistoryView,
    FallbackRecord,
    IncidentAck,
    IncidentClose,
    IncidentNote,
    IncidentView,
    RebaselineView,
    RepairRecord,
    TimeRange,
    UptimeView,
)

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)

IncidentFilter = Literal["open", "recovered", "closed", "active"]


def time_range(
    start: datetime = Query(description="Start, with offset (ISO 8601)."),
    end: datetime = Query(description="End, with offset (ISO 8601)."),
) -> TimeRange:
    try:
        return TimeRange(start=start, end=end)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"]) if e["loc"] else ("query", "end")} for e in exc.errors()]
        ) from exc


@router.get("/health/cameras", response_model=list[CameraHealthView], tags=["camera health"])
def list_health(
    facility_id: str | None = None, caller: Caller = permission("registry.read")
) -> list[CameraHealthView]:
    return caller.container.health.service.list_health(caller.principal, facility_id)


@router.get("/cameras/{camera_id}/health", response_model=CameraHealthView, tags=["camera health"])
def camera_health(camera_id: str, caller: Caller = permission("registry.read")) -> CameraHealthView:
    return caller.container.health.service.camera_health(caller.principal, camera_id)


@router.get("/cameras/{camera_id}/health/history", response_model=CameraHistoryView, tags=["camera health"])
def camera_history(
    camera_id: str, rng: TimeRange = Depends(time_range), caller: Caller = permission("registry.read")
) -> CameraHistoryView:
    return caller.container.health.service.history(caller.principal, camera_id, rng.start, rng.end)


@router.post(
    "/cameras/{camera_id}/health/reference",
    response_model=RebaselineView,
    status_code=202,
    tags=["camera health"],
)
def rebaseline(camera_id: str, caller: Caller = permission("registry.edit")) -> RebaselineView:
    """Forget the camera's learnt normal and reference view (after it was deliberately re-aimed)."""
    return caller.container.health.rebaseline(caller.principal, camera_id)


@router.get("/health/uptime", response_model=UptimeView, tags=["camera health"])
def uptime(
    node_id: str, rng: TimeRange = Depends(time_range), caller: Caller = permission("incident.read")
) -> UptimeView:
    """Up, down and impaired time per camera, per facility and for the node's whole subtree."""
    return caller.container.health.service.uptime(caller.principal, node_id, rng.start, rng.end)


@router.get(
    "/health/evidence/{evidence_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
    tags=["camera health"],
)
def evidence(evidence_id: str, caller: Caller = permission("camera.view_live")) -> Response:
    """The keyframe that decided a health state change (a look at footage, audited)."""
    image = caller.container.health.evidence.open(caller.principal, evidence_id)
    return Response(
        image.jpeg,
        media_type="image/jpeg",
        headers={
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            "x-content-sha256": image.sha256,
            "x-capture-time-us": str(image.captured_at_us),
        },
    )


@router.get("/incidents", response_model=list[IncidentView], tags=["incidents"])
def list_incidents(
    node_id: str | None = None,
    status: IncidentFilter | None = None,
    camera_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    caller: Caller = permission("incident.read"),
) -> list[IncidentView]:
    return caller.container.health.incidents.list_incidents(
        caller.principal, node_id=node_id, status=status, camera_id=camera_id, limit=limit
    )


@router.get("/incidents/{incident_id}", response_model=IncidentView, tags=["incidents"])
def get_incident(incident_id: str, caller: Caller = permission("incident.read")) -> IncidentView:
    return caller.container.health.incidents.get(caller.principal, incident_id)


@router.post("/incidents/{incident_id}/ack", response_model=IncidentView, tags=["incidents"])
def acknowledge(
    incident_id: str, body: IncidentAck, caller: Caller = permission("incident.manage")
) -> IncidentView:
    return caller.container.health.incidents.acknowledge(caller.principal, incident_id, body)


@router.post("/incidents/{incident_id}/notes", response_model=IncidentView, tags=["incidents"])
def add_note(
    incident_id: str, body: IncidentNote, caller: Caller = permission("incident.manage")
) -> IncidentView:
    return caller.container.health.incidents.add_note(caller.principal, incident_id, body)


@router.put("/incidents/{incident_id}/repair", response_model=IncidentView, tags=["incidents"])
def record_repair(
    incident_id: str, body: RepairRecord, caller: Caller = permission("incident.manage")
) -> IncidentView:
    return caller.container.health.incidents.record_repair(caller.principal, incident_id, body)


@router.put("/incidents/{incident_id}/fallback", response_model=IncidentView, tags=["incidents"])
def record_fallback(
    incident_id: str, body: FallbackRecord, caller: Caller = permission("incident.manage")
) -> IncidentView:
    return caller.container.health.incidents.record_fallback(caller.principal, incident_id, body)


@router.post("/incidents/{incident_id}/close", response_model=IncidentView, tags=["incidents"])
def close_incident(
    incident_id: str, body: IncidentClose, caller: Caller = permission("incident.manage")
) -> IncidentView:
    """A person confirms the repair; refused with the missing record's field named."""
    return caller.container.health.incidents.close(caller.principal, incident_id, body)
