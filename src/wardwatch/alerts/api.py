"""HTTP routes of the alerts wing: the in-app inbox, alerts with their evidence, silences.

Each user reads and marks only their own notices. Alerts and silences are scoped by the
org node they belong to: a list shows only those of the caller's subtree, one outside it
is not found, and acknowledging or silencing needs the permission on that node itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from wardwatch.alerts.inbox import NoticeView
from wardwatch.alerts.schemas import (
    AckCommand,
    AlertDetail,
    AlertStatusFilter,
    AlertSummary,
    IntegrationView,
    SeverityFilter,
    SilenceCreate,
    SilenceStateFilter,
    SilenceUpdate,
    SilenceView,
)
from wardwatch.api.guard import Caller, GuardedRoute, authenticated, permission

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)


@router.get("/inbox", response_model=list[NoticeView], tags=["inbox"])
def list_notices(
    unread: bool = False,
    limit: int = Query(100, ge=1, le=500),
    caller: Caller = authenticated(),
) -> list[NoticeView]:
    return caller.container.inbox.list_for(caller.principal, unread=unread, limit=limit)


@router.post("/inbox/{notice_id}/read", response_model=NoticeView, tags=["inbox"])
def mark_read(notice_id: str, caller: Caller = authenticated()) -> NoticeView:
    return caller.container.inbox.mark_read(caller.principal, notice_id)


# ---------------------------------------------------------------- alerts


@router.get("/alerts", response_model=list[AlertSummary], tags=["alerts"])
def list_alerts(
    facility_id: str | None = None,
    rule_id: str | None = None,
    status: AlertStatusFilter | None = None,
    severity: SeverityFilter | None = Query(None, description="The colour: blue, yellow or red."),
    source: str | None = None,
    before: str | None = Query(None, description="Only alerts older than this alert id (paging)."),
    limit: int = Query(100, ge=1, le=500),
    caller: Caller = permission("alert.read"),
) -> list[AlertSummary]:
    return caller.container.alerts.list_alerts(
        caller.principal,
        facility_id=facility_id,
        rule_id=rule_id,
        status=status,
        severity=severity,
        source=source,
        before=before,
        limit=limit,
    )


@router.get("/alerts/integrations", response_model=list[IntegrationView], tags=["alerts"])
def list_integrations(caller: Caller = permission("alert.read")) -> list[IntegrationView]:
    return caller.container.alerts.integrations(caller.principal)


@router.get("/alerts/{alert_id}", response_model=AlertDetail, tags=["alerts"])
def get_alert(alert_id: str, caller: Caller = permission("alert.read")) -> AlertDetail:
    return caller.container.alerts.get(caller.principal, alert_id)


@router.post("/alerts/{alert_id}/ack", response_model=AlertDetail, tags=["alerts"])
def acknowledge(alert_id: str, body: AckCommand, caller: Caller = permission("alert.ack")) -> AlertDetail:
    return caller.container.alerts.acknowledge(caller.principal, alert_id, body)


# ---------------------------------------------------------------- silences


@router.get("/silences", response_model=list[SilenceView], tags=["silences"])
def list_silences(
    created_by: str | None = Query(None, description="Only silences this user id created."),
    state: SilenceStateFilter | None = None,
    node_id: str | None = None,
    limit: int = Query(200, ge=1, le=1000),
    caller: Caller = permission("alert.read"),
) -> list[SilenceView]:
    return caller.container.silences.find(
        caller.principal, created_by=created_by, state=state, node_id=node_id, limit=limit
    )


@router.post("/silences", response_model=SilenceView, status_code=201, tags=["silences"])
def create_silence(body: SilenceCreate, caller: Caller = permission("alert.silence")) -> SilenceView:
    return caller.container.silences.create(caller.principal, body)


@router.get("/silences/{silence_id}", response_model=SilenceView, tags=["silences"])
def get_silence(silence_id: str, caller: Caller = permission("alert.read")) -> SilenceView:
    return caller.container.silences.get(caller.principal, silence_id)


@router.patch("/silences/{silence_id}", response_model=SilenceView, tags=["silences"])
def update_silence(
    silence_id: str, body: SilenceUpdate, caller: Caller = permission("alert.silence")
) -> SilenceView:
    return caller.container.silences.update(caller.principal, silence_id, body)


@router.delete("/silences/{silence_id}", response_model=SilenceView, tags=["silences"])
def expire_silence(silence_id: str, caller: Caller = permission("alert.silence")) -> SilenceView:
    """Expire the silence now; it stays on record (as Alertmanager's DELETE does)."""
    return caller.container.silences.expire(caller.principal, silence_id)
