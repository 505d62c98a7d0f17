"""HTTP routes of the in-app inbox: each user reads and marks only their own notices."""

from __future__ import annotations

from fastapi import APIRouter, Query

from wardwatch.alerts.inbox import NoticeView
from wardwatch.api.guard import Caller, GuardedRoute, authenticated

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
