"""HTTP routes for people: the register, operating rooms, terminals, the ledger, the schedule.

The terminals' own routes (allow-list sync, list reports, door events) are in
``device_api.py``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from wardwatch.access.model import DoorResult, ImportMode, LicenceStatus, TerminalStatus
from wardwatch.access.register import ImportFile
from wardwatch.access.schemas import (
    DoorEventView,
    EntryView,
    ImportResult,
    PractitionerView,
    ProcedureCreate,
    ProcedureUpdate,
    ProcedureView,
    ReconciliationView,
    RoomCreate,
    RoomUpdate,
    RoomView,
    ScheduleImportResult,
    TerminalCreate,
    TerminalCreated,
    TerminalDoors,
    TerminalView,
)
from wardwatch.access.tables import format_of
from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.kernel.errors import Invalid

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)

MAX_EVENT_IDS = 500
"""The most door events one request may name by id (an alert rests on far fewer)."""

_FILE_BODY: dict[int | str, dict[str, Any]] = {
    200: {"description": "Imported."},
    422: {"description": "Refused whole: every row error is listed in `errors`."},
}


async def _upload(request: Request, limit: int) -> bytes:
    """The raw request body (a CSV or JSON file), refused early when it says it is too large."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Invalid("import_too_large", params={"max": limit}, status=413)
    return await request.body()


# ---------------------------------------------------------------- register


@router.get("/practitioners", response_model=list[PractitionerView], tags=["practitioners"])
def list_practitioners(
    node_id: str | None = None,
    facility_id: str | None = None,
    status: LicenceStatus | None = None,
    search: str | None = Query(None, max_length=100),
    limit: int = Query(500, ge=1, le=5000),
    caller: Caller = permission("practitioner.read"),
) -> list[PractitionerView]:
    return caller.container.access.register.list_practitioners(
        caller.principal, node_id=node_id, facility_id=facility_id, status=status, search=search, limit=limit
    )


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerView, tags=["practitioners"])
def get_practitioner(
    practitioner_id: str, caller: Caller = permission("practitioner.read")
) -> PractitionerView:
    return caller.container.access.register.get(caller.principal, practitioner_id)


@router.get("/practitioners/{practitioner_id}/history", tags=["practitioners"])
def practitioner_history(
    practitioner_id: str, caller: Caller = permission("practitioner.read")
) -> list[dict[str, Any]]:
    return caller.container.access.register.history(caller.principal, practitioner_id)


@router.post(
    "/org/nodes/{node_id}/practitioners/imports",
    response_model=ImportResult,
    status_code=201,
    tags=["practitioners"],
    responses=_FILE_BODY,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {}}},
        }
    },
)
async def import_register(
    node_id: str,
    request: Request,
    mode: ImportMode = ImportMode.INCREMENTAL,
    filename: str = Query("upload", max_length=200),
    caller: Caller = permission("practitioner.import"),
) -> ImportResult:
    """Import the node's register from the health authority's export (CSV or JSON body)."""
    access = caller.container.access
    fmt = format_of(request.headers.get("content-type"), filename)
    data = await _upload(request, caller.container.settings.access.import_max_bytes)
    upload = ImportFile(data=data, format=fmt, mode=mode, filename=filename)
    return await run_in_threadpool(access.register.import_file, caller.principal, node_id, upload)


@router.get("/practitioner-imports", response_model=list[ImportResult], tags=["practitioners"])
def list_imports(
    node_id: str | None = None, caller: Caller = permission("practitioner.read")
) -> list[ImportResult]:
    return caller.container.access.register.list_imports(caller.principal, node_id)


# ---------------------------------------------------------------- operating rooms


@router.get(
    "/facilities/{facility_id}/operating-rooms", response_model=list[RoomView], tags=["operating rooms"]
)
def list_rooms(facility_id: str, caller: Caller = permission("registry.read")) -> list[RoomView]:
    return caller.container.access.rooms.list_rooms(caller.principal, facility_id)


@router.post(
    "/facilities/{facility_id}/operating-rooms",
    response_model=RoomView,
    status_code=201,
    tags=["operating rooms"],
)
def create_room(facility_id: str, body: RoomCreate, caller: Caller = permission("registry.edit")) -> RoomView:
    return caller.container.access.rooms.create(caller.principal, facility_id, body)


@router.get("/operating-rooms/{room_id}", response_model=RoomView, tags=["operating rooms"])
def get_room(room_id: str, caller: Caller = permission("registry.read")) -> RoomView:
    return caller.container.access.rooms.get(caller.principal, room_id)


@router.patch("/operating-rooms/{room_id}", response_model=RoomView, tags=["operating rooms"])
def update_room(room_id: str, body: RoomUpdate, caller: Caller = permission("registry.edit")) -> RoomView:
    return caller.container.access.rooms.update(caller.principal, room_id, body)


# ---------------------------------------------------------------- terminals


@router.get("/terminals", response_model=list[TerminalView], tags=["terminals"])
def list_terminals(
    facility_id: str | None = None, caller: Caller = permission("registry.read")
) -> list[TerminalView]:
    return caller.container.access.terminals.list_terminals(caller.principal, facility_id)


@router.post("/terminals", response_model=TerminalCreated, status_code=201, tags=["terminals"])
def create_terminal(body: TerminalCreate, caller: Caller = permission("registry.edit")) -> TerminalCreated:
    return caller.container.access.terminals.create(caller.principal, body)


@router.get("/terminals/{terminal_id}", response_model=TerminalView, tags=["terminals"])
def get_terminal(terminal_id: str, caller: Caller = permission("registry.read")) -> TerminalView:
    return caller.container.access.terminals.get(caller.principal, terminal_id)


@router.put("/terminals/{terminal_id}/doors", response_model=TerminalView, tags=["terminals"])
def set_terminal_doors(
    terminal_id: str, body: TerminalDoors, caller: Caller = permission("registry.edit")
) -> TerminalView:
    return caller.container.access.terminals.set_doors(caller.principal, terminal_id, body)


@router.post("/terminals/{terminal_id}/token", response_model=TerminalCreated, tags=["terminals"])
def rotate_terminal_token(terminal_id: str, caller: Caller = permission("registry.edit")) -> TerminalCreated:
    return caller.container.access.terminals.rotate_token(caller.principal, terminal_id)


@router.post("/terminals/{terminal_id}/disable", response_model=TerminalView, tags=["terminals"])
def disable_terminal(terminal_id: str, caller: Caller = permission("registry.edit")) -> TerminalView:
    return caller.container.access.terminals.set_status(
        caller.principal, terminal_id, TerminalStatus.DISABLED
    )


@router.post("/terminals/{terminal_id}/enable", response_model=TerminalView, tags=["terminals"])
def enable_terminal(terminal_id: str, caller: Caller = permission("registry.edit")) -> TerminalView:
    return caller.container.access.terminals.set_status(caller.principal, terminal_id, TerminalStatus.ACTIVE)


@router.get("/terminal-reconciliation", response_model=list[ReconciliationView], tags=["terminals"])
def reconciliation(
    facility_id: str | None = None,
    include_in_sync: bool = False,
    caller: Caller = permission("registry.read"),
) -> list[ReconciliationView]:
    """Every terminal (and door) whose allow-list differs from what it should hold now."""
    return caller.container.access.allowlists.reconciliation(
        caller.principal, facility_id, include_in_sync=include_in_sync
    )


# ---------------------------------------------------------------- ledger


@router.get("/entries", response_model=list[EntryView], tags=["ledger"])
def list_entries(
    facility_id: str | None = None,
    room_id: str | None = None,
    person_id: str | None = None,
    day: date | None = Query(None, alias="date", description="The facility's calendar day."),
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = Query(500, ge=1, le=5000),
    caller: Caller = permission("ledger.read"),
) -> list[EntryView]:
    return caller.container.access.ledger.list_entries(
        caller.principal,
        facility_id=facility_id,
        room_id=room_id,
        person_id=person_id,
        day=day,
        start=start,
        end=end,
        limit=limit,
    )


@router.get("/door-events", response_model=list[DoorEventView], tags=["ledger"])
def list_door_events(
    facility_id: str | None = None,
    door_id: str | None = None,
    day: date | None = Query(None, alias="date", description="The facility's calendar day."),
    start: datetime | None = None,
    end: datetime | None = None,
    result: DoorResult | None = None,
    event_ids: list[str] | None = Query(
        None,
        alias="id",
        description="Only these events (repeat the parameter), e.g. the ones an alert rests on.",
    ),
    limit: int = Query(500, ge=1, le=5000),
    caller: Caller = permission("ledger.read"),
) -> list[DoorEventView]:
    if event_ids is not None and len(event_ids) > MAX_EVENT_IDS:
        raise Invalid("too_many_ids", params={"limit": MAX_EVENT_IDS}, extra={"field": "id"})
    return caller.container.access.ledger.list_events(
        caller.principal,
        facility_id=facility_id,
        door_id=door_id,
        day=day,
        start=start,
        end=end,
        result=result,
        event_ids=event_ids,
        limit=limit,
    )


# ---------------------------------------------------------------- schedule


@router.get("/procedures", response_model=list[ProcedureView], tags=["schedule"])
def list_procedures(
    facility_id: str | None = None,
    room_id: str | None = None,
    day: date | None = Query(None, alias="date", description="The facility's calendar day."),
    limit: int = Query(500, ge=1, le=5000),
    caller: Caller = permission("schedule.read"),
) -> list[ProcedureView]:
    return caller.container.access.schedule.list_procedures(
        caller.principal, facility_id=facility_id, room_id=room_id, day=day, limit=limit
    )


@router.post(
    "/facilities/{facility_id}/procedures", response_model=ProcedureView, status_code=201, tags=["schedule"]
)
def create_procedure(
    facility_id: str, body: ProcedureCreate, caller: Caller = permission("schedule.edit")
) -> ProcedureView:
    return caller.container.access.schedule.create(caller.principal, facility_id, body)


@router.get("/procedures/{procedure_id}", response_model=ProcedureView, tags=["schedule"])
def get_procedure(procedure_id: str, caller: Caller = permission("schedule.read")) -> ProcedureView:
    return caller.container.access.schedule.get(caller.principal, procedure_id)


@router.patch("/procedures/{procedure_id}", response_model=ProcedureView, tags=["schedule"])
def update_procedure(
    procedure_id: str, body: ProcedureUpdate, caller: Caller = permission("schedule.edit")
) -> ProcedureView:
    return caller.container.access.schedule.update(caller.principal, procedure_id, body)


@router.post(
    "/facilities/{facility_id}/procedures/imports",
    response_model=ScheduleImportResult,
    status_code=201,
    tags=["schedule"],
    responses=_FILE_BODY,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {}}},
        }
    },
)
async def import_schedule(
    facility_id: str,
    request: Request,
    filename: str = Query("upload", max_length=200),
    caller: Caller = permission("schedule.edit"),
) -> ScheduleImportResult:
    """Add and update operations from the facility's theatre system (CSV or JSON body)."""
    access = caller.container.access
    fmt = format_of(request.headers.get("content-type"), filename)
    data = await _upload(request, caller.container.settings.access.import_max_bytes)
    return await run_in_threadpool(
        access.schedule.import_file, caller.principal, facility_id, data, fmt, filename
    )
