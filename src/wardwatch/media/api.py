"""HTTP routes for recorded footage: timeline, playback, clips, legal holds and storage."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError

from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.media.schemas import (
    ClipView,
    FootageRequest,
    HoldCreate,
    HoldLift,
    HoldView,
    PlaybackView,
    StorageView,
    StreamStatusView,
    TimelineView,
    TimeRange,
)

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)


def time_range(
    start: datetime = Query(description="Start, with offset (ISO 8601)."),
    end: datetime = Query(description="End, with offset (ISO 8601)."),
) -> TimeRange:
    """Query parameters validated like a body: offsets required, end after start."""
    try:
        return TimeRange(start=start, end=end)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"]) if e["loc"] else ("query", "end")} for e in exc.errors()]
        ) from exc


@router.get("/cameras/{camera_id}/timeline", response_model=TimelineView, tags=["recordings"])
def timeline(
    camera_id: str, rng: TimeRange = Depends(time_range), caller: Caller = permission("recording.view")
) -> TimelineView:
    return caller.container.playback.timeline(caller.principal, camera_id, rng)


@router.post(
    "/cameras/{camera_id}/playback", response_model=PlaybackView, status_code=201, tags=["recordings"]
)
def open_playback(
    camera_id: str, body: FootageRequest, caller: Caller = permission("recording.view")
) -> PlaybackView:
    return caller.container.playback.open(caller.principal, camera_id, body)


@router.get(
    "/playback/{session_id}/segments/{segment_id}",
    response_class=FileResponse,
    tags=["recordings"],
    responses={200: {"content": {"video/mp4": {}}}},
)
def playback_segment(
    session_id: str, segment_id: str, caller: Caller = permission("recording.view")
) -> FileResponse:
    path = caller.container.playback.segment_file(caller.principal, session_id, segment_id)
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private, no-store"})


@router.delete("/playback/{session_id}", status_code=204, tags=["recordings"])
def close_playback(session_id: str, caller: Caller = permission("recording.view")) -> Response:
    caller.container.playback.close(caller.principal, session_id)
    return Response(status_code=204)


@router.post("/cameras/{camera_id}/clips", response_model=ClipView, status_code=201, tags=["recordings"])
def export_clip(
    camera_id: str, body: FootageRequest, caller: Caller = permission("recording.export")
) -> ClipView:
    return caller.container.clips.export(caller.principal, camera_id, body)


@router.get("/clips/{clip_id}", response_model=ClipView, tags=["recordings"])
def get_clip(clip_id: str, caller: Caller = permission("recording.export")) -> ClipView:
    return caller.container.clips.get(caller.principal, clip_id)


@router.get(
    "/clips/{clip_id}/file",
    response_class=FileResponse,
    tags=["recordings"],
    responses={200: {"content": {"video/mp4": {}}}},
)
def download_clip(
    clip_id: str,
    purpose: str | None = Query(None, description="Why this download: one of the camera's purposes."),
    caller: Caller = permission("recording.export"),
) -> FileResponse:
    path, clip = caller.container.clips.download(caller.principal, clip_id, purpose)
    return FileResponse(
        path,
        media_type="video/mp4",
        filename=f"wardwatch-clip-{clip.id}.mp4",
        headers={"Cache-Control": "private, no-store", "X-Content-SHA256": clip.sha256},
    )


@router.get("/cameras/{camera_id}/holds", response_model=list[HoldView], tags=["legal holds"])
def list_holds(camera_id: str, caller: Caller = permission("recording.view")) -> list[HoldView]:
    return caller.container.holds.list_for_camera(caller.principal, camera_id)


@router.post("/cameras/{camera_id}/holds", response_model=HoldView, status_code=201, tags=["legal holds"])
def place_hold(camera_id: str, body: HoldCreate, caller: Caller = permission("recording.hold")) -> HoldView:
    return caller.container.holds.place(caller.principal, camera_id, body)


@router.post("/holds/{hold_id}/lift", response_model=HoldView, tags=["legal holds"])
def lift_hold(hold_id: str, body: HoldLift, caller: Caller = permission("recording.hold")) -> HoldView:
    return caller.container.holds.lift(caller.principal, hold_id, body)


@router.get("/media/storage", response_model=StorageView, tags=["storage"])
def storage(caller: Caller = permission("registry.read")) -> StorageView:
    return caller.container.retention.storage_view(caller.principal)


@router.get("/media/status", response_model=list[StreamStatusView], tags=["cameras"])
def stream_status(
    facility_id: str | None = None, caller: Caller = permission("registry.read")
) -> list[StreamStatusView]:
    return caller.container.media.statuses(caller.principal, facility_id)
