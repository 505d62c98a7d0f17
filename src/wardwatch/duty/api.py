"""HTTP routes of the duty wing: roster, coverage, live gaps, logbook, handovers, breach reports."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError

from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.duty.model import BreachStatus, LogKind
from wardwatch.duty.schemas import (
    BreachCreate,
    BreachView,
    CoverageView,
    HandoverAcknowledge,
    HandoverCreate,
    HandoverView,
    LiveGapView,
    LogEntryCreate,
    LogEntryView,
    RejectRemedy,
    RemedyRecord,
    ShiftCancel,
    ShiftCreate,
    ShiftStart,
    ShiftView,
    StepNote,
)

router = APIRouter(prefix="/api/v1/duty", route_class=GuardedRoute)

RangeStart = Query(None, description="Start, with offset (ISO 8601).")
RangeEnd = Query(None, description="End, with offset (ISO 8601).")


def _aware(**values: datetime | None) -> None:
    """Query times must carry their offset, as bodies must: a naive time means nothing here."""
    naive = [name for name, value in values.items() if value is not None and value.tzinfo is None]
    if naive:
        raise RequestValidationError(
            [{"type": "timezone_aware", "loc": ("query", name), "msg": "offset required"} for name in naive]
        )


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


# ---------------------------------------------------------------- roster


@router.post("/shifts", response_model=ShiftView, status_code=201, tags=["duty"])
def create_shift(body: ShiftCreate, caller: Caller = permission("duty.roster")) -> ShiftView:
    return caller.container.duty.roster.create(caller.principal, body)


@router.get("/shifts", response_model=list[ShiftView], tags=["duty"])
def list_shifts(
    node_id: str | None = None,
    start: datetime | None = RangeStart,
    end: datetime | None = RangeEnd,
    include_cancelled: bool = False,
    caller: Caller = permission("duty.read"),
) -> list[ShiftView]:
    _aware(start=start, end=end)
    return caller.container.duty.roster.list_shifts(
        caller.principal, node_id, _utc(start), _utc(end), include_cancelled
    )


@router.get("/shifts/{shift_id}", response_model=ShiftView, tags=["duty"])
def get_shift(shift_id: str, caller: Caller = permission("duty.read")) -> ShiftView:
    return caller.container.duty.roster.get(caller.principal, shift_id)


@router.post("/shifts/{shift_id}/cancel", response_model=ShiftView, tags=["duty"])
def cancel_shift(shift_id: str, body: ShiftCancel, caller: Caller = permission("duty.roster")) -> ShiftView:
    return caller.container.duty.roster.cancel(caller.principal, shift_id, body)


@router.post("/shifts/{shift_id}/start", response_model=ShiftView, tags=["duty"])
def start_shift(shift_id: str, body: ShiftStart, caller: Caller = permission("duty.write")) -> ShiftView:
    """Take the shift without a handover to acknowledge (none waits); the reason is kept."""
    return caller.container.duty.handovers.start(caller.principal, shift_id, body)


@router.get("/coverage", response_model=CoverageView, tags=["duty"])
def coverage(
    node_id: str | None = None,
    start: datetime | None = RangeStart,
    end: datetime | None = RangeEnd,
    caller: Caller = permission("duty.read"),
) -> CoverageView:
    """Every period without anyone on duty per facility (default: from now, for 7 days)."""
    _aware(start=start, end=end)
    return caller.container.duty.coverage.report(caller.principal, node_id, _utc(start), _utc(end))


@router.get("/gaps", response_model=list[LiveGapView], tags=["duty"])
def live_gaps(
    node_id: str | None = None, open_only: bool = False, caller: Caller = permission("duty.read")
) -> list[LiveGapView]:
    """The live gaps the periodic check has found (each notified once)."""
    return caller.container.duty.watch.list_gaps(caller.principal, node_id, open_only)


# ---------------------------------------------------------------- handover


@router.post("/shifts/{shift_id}/handover", response_model=HandoverView, status_code=201, tags=["duty"])
def write_handover(
    shift_id: str, body: HandoverCreate, caller: Caller = permission("duty.write")
) -> HandoverView:
    return caller.container.duty.handovers.write(caller.principal, shift_id, body)


@router.get("/handovers/{handover_id}", response_model=HandoverView, tags=["duty"])
def get_handover(handover_id: str, caller: Caller = permission("duty.read")) -> HandoverView:
    return caller.container.duty.handovers.get(caller.principal, handover_id)


@router.post("/handovers/{handover_id}/acknowledge", response_model=HandoverView, tags=["duty"])
def acknowledge_handover(
    handover_id: str, body: HandoverAcknowledge, caller: Caller = permission("duty.write")
) -> HandoverView:
    return caller.container.duty.handovers.acknowledge(caller.principal, handover_id, body)


# ---------------------------------------------------------------- logbook


@router.post("/logbook", response_model=LogEntryView, status_code=201, tags=["duty"])
def append_entry(body: LogEntryCreate, caller: Caller = permission("duty.write")) -> LogEntryView:
    return caller.container.duty.logbook.append(caller.principal, body)


@router.get("/logbook", response_model=list[LogEntryView], tags=["duty"])
def list_entries(
    facility_id: str | None = None,
    shift_id: str | None = None,
    kind: LogKind | None = None,
    start: datetime | None = RangeStart,
    end: datetime | None = RangeEnd,
    limit: int = Query(500, ge=1, le=5000),
    caller: Caller = permission("duty.read"),
) -> list[LogEntryView]:
    _aware(start=start, end=end)
    return caller.container.duty.logbook.list_entries(
        caller.principal,
        facility_id=facility_id,
        shift_id=shift_id,
        kind=kind,
        start=_utc(start),
        end=_utc(end),
        limit=limit,
    )


@router.get("/logbook/{entry_id}", response_model=LogEntryView, tags=["duty"])
def get_entry(entry_id: str, caller: Caller = permission("duty.read")) -> LogEntryView:
    return caller.container.duty.logbook.get(caller.principal, entry_id)


# ---------------------------------------------------------------- breach reports


@router.post("/breaches", response_model=BreachView, status_code=201, tags=["duty"])
def report_breach(body: BreachCreate, caller: Caller = permission("breach.report")) -> BreachView:
    return caller.container.duty.breaches.report(caller.principal, body)


@router.get("/breaches", response_model=list[BreachView], tags=["duty"])
def list_breaches(
    facility_id: str | None = None,
    camera_id: str | None = None,
    status: BreachStatus | None = None,
    start: datetime | None = RangeStart,
    end: datetime | None = RangeEnd,
    limit: int = Query(200, ge=1, le=2000),
    caller: Caller = permission("duty.read"),
) -> list[BreachView]:
    _aware(start=start, end=end)
    return caller.container.duty.breaches.list_reports(
        caller.principal,
        facility_id=facility_id,
        camera_id=camera_id,
        status=status,
        start=_utc(start),
        end=_utc(end),
        limit=limit,
    )


@router.get("/breaches/{report_id}", response_model=BreachView, tags=["duty"])
def get_breach(report_id: str, caller: Caller = permission("duty.read")) -> BreachView:
    return caller.container.duty.breaches.get(caller.principal, report_id)


@router.post("/breaches/{report_id}/remedy", response_model=BreachView, tags=["duty"])
def record_remedy(
    report_id: str, body: RemedyRecord, caller: Caller = permission("breach.remedy")
) -> BreachView:
    return caller.container.duty.breaches.record_remedy(caller.principal, report_id, body)


@router.post("/breaches/{report_id}/verify", response_model=BreachView, tags=["duty"])
def verify_remedy(report_id: str, body: StepNote, caller: Caller = permission("breach.verify")) -> BreachView:
    return caller.container.duty.breaches.verify(caller.principal, report_id, body)


@router.post("/breaches/{report_id}/reject", response_model=BreachView, tags=["duty"])
def reject_remedy(
    report_id: str, body: RejectRemedy, caller: Caller = permission("breach.verify")
) -> BreachView:
    return caller.container.duty.breaches.reject(caller.principal, report_id, body)


@router.post("/breaches/{report_id}/close", response_model=BreachView, tags=["duty"])
def close_breach(report_id: str, body: StepNote, caller: Caller = permission("breach.verify")) -> BreachView:
    return caller.container.duty.breaches.close(caller.principal, report_id, body)
