"""Routes for live view: the fMP4-over-WebSocket stream and JPEG snapshots.

``GET /api/v1/cameras/{camera_id}/live?variant=sub|main`` (WebSocket) speaks this protocol:

1. a text message ``{"type": "init", "session_id", "camera_id", "variant", "codec",
   "mime", "width", "height"}`` (``variant`` is the stream served: ``sub`` falls back to
   ``main`` when the camera has none);
2. binary messages: 1 byte kind (0 init segment, 1 media fragment), the capture time in
   µs since the epoch (uint64 big-endian; the camera's SEI time, else the receive time),
   the fragment's decode time in µs from the start of this session (uint64 big-endian),
   then the fMP4 bytes. The first is an init segment; fragments start at a keyframe;
   a new init segment comes before a keyframe whose parameters changed. After a viewer
   fell too far behind, the next fragment is a keyframe whose decode time jumps ahead;
3. on failure, a text message ``{"type": "status", "status": "offline" | "auth_failed" |
   "unsupported" | "ended", "reason": "..."}`` (the reason in the viewer's language),
   then a normal close (1000).

A refused handshake is closed with 1008 and the problem code as the reason. Every
viewing is an audited session, opened before the first byte and closed on disconnect;
while it lasts, the viewer's access is checked again every ``access_recheck_s``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from wardwatch.api.guard import (
    Caller,
    GuardedRoute,
    add_websocket_route,
    permission,
    recheck_websocket,
    ws_permission,
)
from wardwatch.kernel.context import current_locale
from wardwatch.kernel.errors import Invalid, Problem
from wardwatch.kernel.i18n import t
from wardwatch.media.live import VARIANTS, LiveEnd, LiveSource, LiveStatus, Subscription
from wardwatch.media.snapshot import SnapshotError, snapshot_of
from wardwatch.media.views import ViewKind, ViewSession

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)

SNAPSHOT_WAIT_S = 10.0
"""Connecting, probing and waiting for a keyframe (one every 2 s on most cameras)."""
NORMAL_CLOSE = 1000
_PROBLEMS = {
    LiveStatus.OFFLINE: ("camera_offline", 503),
    LiveStatus.AUTH_FAILED: ("camera_auth_failed", 503),
    LiveStatus.UNSUPPORTED: ("camera_unsupported", 422),
    LiveStatus.ENDED: ("camera_offline", 503),
}
Outcome = tuple[str, LiveEnd | None]
_SNAPSHOT_SLOTS = threading.BoundedSemaphore(8)


class StreamProblem(Problem):
    """A camera that cannot be watched now; the detail carries the translated reason."""

    def __init__(self, end: LiveEnd) -> None:
        code, status = _PROBLEMS[end.status]
        super().__init__(code, status=status, extra={"stream_status": end.status.value, **end.params})
        self.end = end

    def detail(self, locale: str | None = None) -> str:
        return t(f"problem.{self.code}.detail", locale, reason=self.end.reason(locale))


@router.get(
    "/cameras/{camera_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
    tags=["live"],
)
def snapshot(
    camera_id: str,
    width: int | None = Query(None, ge=16, le=7680),
    variant: Literal["main", "sub"] = "main",
    caller: Caller = permission("camera.view_live"),
) -> Response:
    """The latest keyframe as JPEG (audited as a one-shot look), at most ``width`` wide."""
    container = caller.container
    session = container.views.open(
        caller.principal,
        camera_id,
        ViewKind.SNAPSHOT,
        variant=variant,
        closed=True,
        details={"width": width} if width else None,
    )
    # Waiting for a keyframe holds a worker thread that the rest of the API shares: only a
    # few snapshots may wait at once, and the rest are told to try again.
    if not _SNAPSHOT_SLOTS.acquire(timeout=1):
        raise Problem("snapshot_busy", status=503)
    try:
        found = container.live.latest_keyframe(LiveSource.of(session.camera, variant), SNAPSHOT_WAIT_S)
    except TimeoutError:
        raise Problem("camera_no_keyframe", status=504, params={"seconds": int(SNAPSHOT_WAIT_S)}) from None
    finally:
        _SNAPSHOT_SLOTS.release()
    if isinstance(found, LiveEnd):
        raise StreamProblem(found)
    try:
        shot = snapshot_of(found, width)
    except SnapshotError:
        log.warning("a camera's keyframe did not decode", extra={"camera_id": session.camera.id})
        raise Problem("camera_no_keyframe", status=502, params={"seconds": int(SNAPSHOT_WAIT_S)}) from None
    return Response(
        shot.jpeg,
        media_type="image/jpeg",
        headers={
            "cache-control": "no-store",  # footage is kept like a classified document
            "x-content-type-options": "nosniff",
            "x-capture-time-us": str(shot.capture_us),
        },
    )


async def live(
    websocket: WebSocket,
    camera_id: str,
    caller: Annotated[Caller, ws_permission("camera.view_live")],
    variant: str = "sub",
) -> None:
    """Stream a camera live as fMP4 fragments, inside an audited viewing session."""
    if variant not in VARIANTS:
        raise Invalid("live_variant_invalid", params={"variant": variant[:16]})
    container = caller.container
    session = await run_in_threadpool(
        functools.partial(container.views.open, caller.principal, camera_id, ViewKind.LIVE, variant=variant)
    )
    source = LiveSource.of(session.camera, variant)
    ended_by, end = "viewer", None
    try:
        if await _accepted(websocket):
            with container.live.subscribe(source) as subscription:
                ended_by, end = await _serve(websocket, caller, session, subscription)
            if end is not None:
                await _say_why(websocket, end)
    finally:
        details: dict[str, Any] = {"variant_served": source.variant, "ended_by": ended_by}
        if end is not None:
            details.update(status=end.status.value, reason=end.reason_code)
        await run_in_threadpool(
            functools.partial(container.views.close, caller.principal, session, **details)
        )


add_websocket_route(router, "/cameras/{camera_id}/live", live)


async def _accepted(websocket: WebSocket) -> bool:
    try:
        await websocket.accept()
    except (WebSocketDisconnect, RuntimeError, OSError):  # the viewer left during the checks
        return False
    return True


async def _say_why(websocket: WebSocket, end: LiveEnd) -> None:
    """The status message, in the viewer's language, then a normal close."""
    status = {"type": "status", "status": end.status.value, "reason": end.reason(current_locale())}
    try:
        await websocket.send_text(json.dumps(status, ensure_ascii=False))
        await websocket.close(NORMAL_CLOSE)
    except (WebSocketDisconnect, RuntimeError, OSError):
        log.debug("a live viewer left before the stream's status reached them")


async def _serve(
    websocket: WebSocket, caller: Caller, session: ViewSession, subscription: Subscription
) -> Outcome:
    """Run the stream until the stream ends, the viewer leaves, or their access ends."""
    tasks = {
        asyncio.create_task(_pump(websocket, session, subscription)),
        asyncio.create_task(_listen(websocket)),
        asyncio.create_task(_watch(websocket, caller, session)),
    }
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is None:
            return task.result()
        if not isinstance(error, WebSocketDisconnect | OSError):  # OSError: the client vanished
            raise error
    return "viewer", None


async def _pump(websocket: WebSocket, session: ViewSession, subscription: Subscription) -> Outcome:
    announced = False
    while True:
        item = await subscription.next()
        if isinstance(item, LiveEnd):
            return ("server" if item.reason_code == "server_stopping" else "stream"), item
        if not announced and item.info is not None:  # the first chunk is always an init segment
            info = item.info
            await websocket.send_text(
                json.dumps(
                    {
                        "type": "init",
                        "session_id": session.id,
                        "camera_id": session.camera.id,
                        "variant": subscription.source.variant,
                        "codec": info.codec,
                        "mime": info.mime,
                        "width": info.width,
                        "height": info.height,
                    }
                )
            )
            announced = True
        await websocket.send_bytes(item.wire())


async def _listen(websocket: WebSocket) -> Outcome:
    """Wait for the viewer to leave (anything the viewer sends is ignored)."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return "viewer", None


async def _watch(websocket: WebSocket, caller: Caller, session: ViewSession) -> Outcome:
    """End the viewing when the viewer's sign-in or permission on the camera has ended."""
    interval = caller.container.live.access_recheck_s
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(_check_access, websocket, session)
        except Problem:
            return "access", LiveEnd(LiveStatus.ENDED, "access_revoked")


def _check_access(websocket: WebSocket, session: ViewSession) -> None:
    caller = recheck_websocket(websocket, "camera.view_live")
    caller.container.views.get(caller.principal, session.id, ViewKind.LIVE)
