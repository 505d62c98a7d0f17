"""HTTP routes for door terminals themselves (device accounts with a bearer token).

Each route resolves the calling account to its terminal; a person's account (even one
holding the device permissions, like an administrator) is refused with 403, and a door
the terminal is not bound to does not exist for it (404).

- ``GET  /api/v1/terminal`` — who am I: the terminal and the doors bound to it;
- ``GET  /api/v1/terminal/doors/{door_id}/allowlist?since=N`` — the door's allow-list,
  whole or the changes since version N;
- ``POST /api/v1/terminal/doors/{door_id}/allowlist/report`` — the ids and hash the
  terminal holds; the answer says whether that is what it should hold;
- ``POST /api/v1/terminal/events`` — one event (object), or a batch (a list, or
  ``{"events": [...]}``); a batch answers 200 with the refused events and their reasons,
  a single refused event answers 422.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from wardwatch.access.schemas import AllowListView, IngestResult, ListReport, ReconciliationView, TerminalView
from wardwatch.api.guard import Caller, GuardedRoute, permission

router = APIRouter(prefix="/api/v1/terminal", route_class=GuardedRoute, tags=["terminal (device)"])


@router.get("", response_model=TerminalView)
def whoami(caller: Caller = permission("device.allowlist")) -> TerminalView:
    access = caller.container.access
    terminal = access.terminals.terminal_for(caller.principal)
    return access.terminals.get_own(terminal)


@router.get("/doors/{door_id}/allowlist", response_model=AllowListView)
def allowlist(
    door_id: str,
    since: int | None = Query(None, ge=0, description="The version the terminal holds."),
    caller: Caller = permission("device.allowlist"),
) -> AllowListView:
    return caller.container.access.allowlists.sync(caller.principal, door_id, since)


@router.post("/doors/{door_id}/allowlist/report", response_model=ReconciliationView)
def report_allowlist(
    door_id: str, body: ListReport, caller: Caller = permission("device.allowlist")
) -> ReconciliationView:
    return caller.container.access.allowlists.report(caller.principal, door_id, body)


@router.post(
    "/events",
    response_model=IngestResult,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
)
async def post_events(request: Request, caller: Caller = permission("device.door_events")) -> IngestResult:
    access = caller.container.access
    received_at = caller.container.clock.now()  # arrived: before the body is read and judged
    body = await request.body()
    delivery, single = await run_in_threadpool(
        access.events.http_delivery, caller.principal, body, received_at
    )
    # Stored by the door-event intake with whatever else arrived meanwhile (MQTT included).
    result = await asyncio.wrap_future(access.intake.submit(delivery))
    return access.events.http_answer(result, single)
