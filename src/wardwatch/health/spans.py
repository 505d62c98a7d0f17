"""How the rule engine reads camera incidents: each outage, and whether a fallback covers it.

The rules wing judges R9 (an operating-room camera out for more than 30 minutes without a
fallback measure) from these spans; it hears of changes through the ``health.incident.*``
events and reads the incident back here, never from the health wing's tables itself.
Read-only: nothing here changes an incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, select

from wardwatch.health import store
from wardwatch.kernel.db import DbRow

I = store.incidents.c  # noqa: E741 - the table alias convention of this code base


@dataclass(frozen=True)
class IncidentSpan:
    id: str
    camera_id: str
    camera_name: str
    facility_id: str
    fault: str
    status: str
    started_at: datetime
    """When the fault began (what the fallback must cover from)."""
    ended_at: datetime | None
    """When the camera was back (recovered, else closed); None while it is still out."""
    fallback_recorded: bool


def _span(row: DbRow) -> IncidentSpan:
    return IncidentSpan(
        id=row.id,
        camera_id=row.camera_id,
        camera_name=row.camera_name,
        facility_id=row.facility_id,
        fault=row.fault,
        status=row.status,
        started_at=row.fault_started_at,
        ended_at=row.recovered_at or row.closed_at,
        fallback_recorded=row.fallback is not None,
    )


def incident_span(conn: Connection, incident_id: str) -> IncidentSpan | None:
    row = conn.execute(select(store.incidents).where(I.id == incident_id)).first()
    return _span(row) if row is not None else None


def incident_spans(conn: Connection, facility_id: str, start: datetime, end: datetime) -> list[IncidentSpan]:
    """The facility's incidents whose fault began in [start, end)."""
    rows = conn.execute(
        select(store.incidents)
        .where(and_(I.facility_id == facility_id, I.fault_started_at >= start, I.fault_started_at < end))
        .order_by(I.fault_started_at, I.id)
    ).all()
    return [_span(r) for r in rows]


def facilities_with_open_incidents(conn: Connection) -> list[str]:
    """Facilities with an incident not yet closed: after a restart the rules must look at them."""
    rows = conn.execute(select(I.facility_id).where(I.open_key.is_not(None)).distinct())
    return sorted(r.facility_id for r in rows)
