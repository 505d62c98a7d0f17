"""The media index: the facts the recorders report, written down and announced.

Segments, gaps and stream states are facts reported by devices and recorders, not actions
by a person: they go to their own tables (with the events in the outbox, in the same
transaction), not to the audit log. Deleting footage and looking at it are actions, and
those are audited where they happen.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, and_, insert, select, update

from wardwatch.authz.principal import Principal
from wardwatch.kernel.bus import Event as BusEvent
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.outbox import store_events
from wardwatch.media import store
from wardwatch.media.ingest import CameraJob, Event, GapEvent, SegmentEvent, StatusEvent
from wardwatch.media.schemas import StreamStatusView
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

S = store.segments.c
G = store.gaps.c


class MediaIndex:
    def __init__(self, deps: Deps, registry: RegistryService) -> None:
        self.deps = deps
        self.registry = registry

    @property
    def root(self) -> Path:
        return self.deps.settings.data

    def jobs(self) -> list[CameraJob]:
        media = self.deps.settings.media
        with self.deps.db.read() as conn:
            cameras = self.registry.active_cameras(conn)
        return [
            CameraJob(
                camera_id=camera.id,
                facility_id=camera.facility_id,
                url=camera.main_url,
                username=camera.credentials[0] if camera.credentials else None,
                password=camera.credentials[1] if camera.credentials else None,
                segment_seconds=media.segment_seconds,
                transport=media.transport,
                read_timeout_s=media.read_timeout_s,
            )
            for camera in cameras
        ]

    def record(self, event: Event) -> None:
        """Write one reported fact; status changes also go on the bus."""
        announce: list[BusEvent] = []
        with self.deps.db.write() as conn:
            if isinstance(event, SegmentEvent):
                conn.execute(
                    insert(store.segments).values(
                        id=new_id(),
                        camera_id=event.camera_id,
                        facility_id=event.facility_id,
                        start=event.start,
                        end=event.end,
                        path=event.path,
                        bytes=event.bytes,
                        sha256=event.sha256,
                        codec=event.codec,
                        width=event.width,
                        height=event.height,
                        recovered=event.recovered,
                        created_at=self.deps.clock.now(),
                    )
                )
                # Footage resumed: any gap still open for this camera ends where it starts.
                conn.execute(
                    update(store.gaps)
                    .where(and_(G.camera_id == event.camera_id, G.end.is_(None), G.start <= event.start))
                    .values(end=event.start)
                )
            elif isinstance(event, GapEvent):
                open_gap = conn.execute(
                    select(G.id).where(and_(G.camera_id == event.camera_id, G.end.is_(None)))
                ).first()
                if open_gap is None:
                    conn.execute(
                        insert(store.gaps).values(
                            id=new_id(),
                            camera_id=event.camera_id,
                            start=event.start,
                            end=None,
                            reason=event.reason,
                            detail=event.detail,
                        )
                    )
            elif isinstance(event, StatusEvent):
                self._upsert_status(conn, event)
                announce.append(
                    BusEvent(
                        type="media.stream.status",
                        payload={
                            "camera_id": event.camera_id,
                            "status": event.status.value,
                            "reason": event.reason,
                            "at": event.at.isoformat(),
                            "details": event.details,
                        },
                        key=event.camera_id,
                    )
                )
            store_events(conn, announce)
        if announce and self.deps.relay is not None:
            self.deps.relay.notify()

    def statuses(self, principal: Principal, facility_id: str | None) -> list[StreamStatusView]:
        """The last reported stream state of every camera the caller may see."""
        visible = [c.id for c in self.registry.list_cameras(principal, facility_id)]
        if not visible:
            return []
        with self.deps.db.read() as conn:
            rows = conn.execute(
                select(store.stream_status).where(store.stream_status.c.camera_id.in_(visible))
            ).all()
        return [
            StreamStatusView(
                camera_id=r.camera_id, status=r.status, reason=r.reason, since=r.since, details=r.details
            )
            for r in rows
        ]

    def _upsert_status(self, conn: Connection, event: StatusEvent) -> None:
        values = {
            "status": event.status.value,
            "reason": event.reason,
            "since": event.at,
            "details": event.details,
        }
        updated = conn.execute(
            update(store.stream_status)
            .where(store.stream_status.c.camera_id == event.camera_id)
            .values(**values)
            .returning(store.stream_status.c.camera_id)
        ).first()
        if updated is None:
            conn.execute(insert(store.stream_status).values(camera_id=event.camera_id, **values))
