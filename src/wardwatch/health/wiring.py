"""How other wings see camera incidents: the duty handover's list of what is still open."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from wardwatch.duty.handover import OpenItem
from wardwatch.health.incidents import open_incidents
from wardwatch.kernel.i18n import t


def open_incident_items(locale: str) -> Callable[[Connection, list[str]], list[OpenItem]]:
    """The duty wing's handover provider: unclosed camera incidents under the covered nodes."""

    def provider(conn: Connection, paths: list[str]) -> list[OpenItem]:
        return [
            OpenItem(
                kind="incident",
                id=incident.id,
                node_id=incident.facility_id,
                summary=t(
                    "health.handover.summary",
                    locale,
                    camera=incident.camera_name,
                    fault=t(f"health_state.{incident.fault.value}", locale),
                    status=t(f"incident_status.{incident.status.value}", locale),
                ),
                severity="warning",
                since=incident.fault_started_at,
                details={
                    "camera_id": incident.camera_id,
                    "status": incident.status.value,
                    "fault": incident.fault.value,
                    "opened_at": incident.opened_at.isoformat(),
                    "recovered_at": incident.recovered_at.isoformat() if incident.recovered_at else None,
                    "acknowledged": incident.acknowledged,
                    "repair_recorded": incident.repair_recorded,
                    "fallback_recorded": incident.fallback_recorded,
                },
            )
            for incident in open_incidents(conn, paths)
        ]

    return provider
