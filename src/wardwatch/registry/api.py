"""HTTP routes for the org tree, facilities, rollout, zones, cameras and doors."""

from __future__ import annotations

from fastapi import APIRouter, Response

from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.registry.schemas import (
    CameraCreate,
    CameraCredentials,
    CameraUpdate,
    CameraView,
    DoorCreate,
    DoorUpdate,
    DoorView,
    FacilityCreate,
    FacilityUpdate,
    FacilityView,
    OrgNodeCreate,
    OrgNodeUpdate,
    OrgNodeView,
    RolloutDeadline,
    RolloutEntry,
    RolloutTransition,
    ZoneCreate,
    ZoneUpdate,
    ZoneView,
)

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)


@router.get("/org/nodes", response_model=list[OrgNodeView], tags=["org"])
def list_nodes(caller: Caller = permission("org.read")) -> list[OrgNodeView]:
    return caller.container.registry.list_nodes(caller.principal)


@router.post("/org/nodes", response_model=OrgNodeView, status_code=201, tags=["org"])
def create_node(body: OrgNodeCreate, caller: Caller = permission("registry.edit")) -> OrgNodeView:
    return caller.container.registry.create_node(caller.principal, body)


@router.get("/org/nodes/{node_id}", response_model=OrgNodeView, tags=["org"])
def get_node(node_id: str, caller: Caller = permission("org.read")) -> OrgNodeView:
    return caller.container.registry.get_node(caller.principal, node_id)


@router.patch("/org/nodes/{node_id}", response_model=OrgNodeView, tags=["org"])
def rename_node(
    node_id: str, body: OrgNodeUpdate, caller: Caller = permission("registry.edit")
) -> OrgNodeView:
    return caller.container.registry.rename_node(caller.principal, node_id, body)


@router.get("/facilities", response_model=list[FacilityView], tags=["facilities"])
def list_facilities(caller: Caller = permission("org.read")) -> list[FacilityView]:
    return caller.container.registry.list_facilities(caller.principal)


@router.post("/facilities", response_model=FacilityView, status_code=201, tags=["facilities"])
def create_facility(body: FacilityCreate, caller: Caller = permission("registry.edit")) -> FacilityView:
    return caller.container.registry.create_facility(caller.principal, body)


@router.get("/facilities/{facility_id}", response_model=FacilityView, tags=["facilities"])
def get_facility(facility_id: str, caller: Caller = permission("org.read")) -> FacilityView:
    return caller.container.registry.get_facility(caller.principal, facility_id)


@router.patch("/facilities/{facility_id}", response_model=FacilityView, tags=["facilities"])
def update_facility(
    facility_id: str, body: FacilityUpdate, caller: Caller = permission("registry.edit")
) -> FacilityView:
    return caller.container.registry.update_facility(caller.principal, facility_id, body)


@router.post("/facilities/{facility_id}/rollout", response_model=FacilityView, tags=["rollout"])
def transition_rollout(
    facility_id: str, body: RolloutTransition, caller: Caller = permission("rollout.edit")
) -> FacilityView:
    return caller.container.registry.transition_rollout(caller.principal, facility_id, body)


@router.put("/facilities/{facility_id}/rollout/deadline", response_model=FacilityView, tags=["rollout"])
def set_deadline(
    facility_id: str, body: RolloutDeadline, caller: Caller = permission("rollout.edit")
) -> FacilityView:
    return caller.container.registry.set_rollout_deadline(caller.principal, facility_id, body)


@router.get("/rollout", response_model=list[RolloutEntry], tags=["rollout"])
def list_rollout(
    node_id: str | None = None, overdue: bool = False, caller: Caller = permission("rollout.read")
) -> list[RolloutEntry]:
    return caller.container.registry.list_rollout(caller.principal, node_id, overdue)


@router.get("/facilities/{facility_id}/zones", response_model=list[ZoneView], tags=["zones"])
def list_zones(facility_id: str, caller: Caller = permission("registry.read")) -> list[ZoneView]:
    return caller.container.registry.list_zones(caller.principal, facility_id)


@router.post("/facilities/{facility_id}/zones", response_model=ZoneView, status_code=201, tags=["zones"])
def create_zone(facility_id: str, body: ZoneCreate, caller: Caller = permission("registry.edit")) -> ZoneView:
    return caller.container.registry.create_zone(caller.principal, facility_id, body)


@router.get("/zones/{zone_id}", response_model=ZoneView, tags=["zones"])
def get_zone(zone_id: str, caller: Caller = permission("registry.read")) -> ZoneView:
    return caller.container.registry.get_zone(caller.principal, zone_id)


@router.patch("/zones/{zone_id}", response_model=ZoneView, tags=["zones"])
def update_zone(zone_id: str, body: ZoneUpdate, caller: Caller = permission("registry.edit")) -> ZoneView:
    return caller.container.registry.update_zone(caller.principal, zone_id, body)


@router.get("/cameras", response_model=list[CameraView], tags=["cameras"])
def list_cameras(
    facility_id: str | None = None, caller: Caller = permission("registry.read")
) -> list[CameraView]:
    return caller.container.registry.list_cameras(caller.principal, facility_id)


@router.post("/cameras", response_model=CameraView, status_code=201, tags=["cameras"])
def create_camera(body: CameraCreate, caller: Caller = permission("registry.edit")) -> CameraView:
    return caller.container.registry.create_camera(caller.principal, body)


@router.get("/cameras/{camera_id}", response_model=CameraView, tags=["cameras"])
def get_camera(camera_id: str, caller: Caller = permission("registry.read")) -> CameraView:
    return caller.container.registry.get_camera(caller.principal, camera_id)


@router.patch("/cameras/{camera_id}", response_model=CameraView, tags=["cameras"])
def update_camera(
    camera_id: str, body: CameraUpdate, caller: Caller = permission("registry.edit")
) -> CameraView:
    return caller.container.registry.update_camera(caller.principal, camera_id, body)


@router.put("/cameras/{camera_id}/credentials", response_model=CameraView, tags=["cameras"])
def set_credentials(
    camera_id: str, body: CameraCredentials, caller: Caller = permission("registry.edit")
) -> CameraView:
    return caller.container.registry.set_camera_credentials(caller.principal, camera_id, body)


@router.delete("/cameras/{camera_id}/credentials", response_model=CameraView, tags=["cameras"])
def clear_credentials(camera_id: str, caller: Caller = permission("registry.edit")) -> CameraView:
    return caller.container.registry.set_camera_credentials(caller.principal, camera_id, None)


@router.post("/cameras/{camera_id}/activate", response_model=CameraView, tags=["cameras"])
def activate_camera(camera_id: str, caller: Caller = permission("registry.edit")) -> CameraView:
    return caller.container.registry.activate_camera(caller.principal, camera_id)


@router.post("/cameras/{camera_id}/deactivate", response_model=CameraView, tags=["cameras"])
def deactivate_camera(camera_id: str, caller: Caller = permission("registry.edit")) -> CameraView:
    return caller.container.registry.deactivate_camera(caller.principal, camera_id)


@router.get("/doors", response_model=list[DoorView], tags=["doors"])
def list_doors(
    facility_id: str | None = None, caller: Caller = permission("registry.read")
) -> list[DoorView]:
    return caller.container.registry.list_doors(caller.principal, facility_id)


@router.post("/doors", response_model=DoorView, status_code=201, tags=["doors"])
def create_door(body: DoorCreate, caller: Caller = permission("registry.edit")) -> DoorView:
    return caller.container.registry.create_door(caller.principal, body)


@router.get("/doors/{door_id}", response_model=DoorView, tags=["doors"])
def get_door(door_id: str, caller: Caller = permission("registry.read")) -> DoorView:
    return caller.container.registry.get_door(caller.principal, door_id)


@router.patch("/doors/{door_id}", response_model=DoorView, tags=["doors"])
def update_door(door_id: str, body: DoorUpdate, caller: Caller = permission("registry.edit")) -> DoorView:
    return caller.container.registry.update_door(caller.principal, door_id, body)


__all__ = ["Response", "router"]
