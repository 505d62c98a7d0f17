"""Playback of recorded footage: a purpose first, then segments within an audited session.

Looking at the timeline (what was recorded, where the gaps are and why) is metadata and
needs ``recording.view``. Playing footage opens a playback session for one camera and
time range with a purpose the camera is registered for; the session and its purpose go
on the audit record when it opens and when it closes. Segments are then served only to
that session's owner, only inside its range, and only after their hash still matches.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound
from wardwatch.media import store
from wardwatch.media.integrity import verified_segment
from wardwatch.media.schemas import (
    FootageRequest,
    GapView,
    PlaybackView,
    RangeView,
    SegmentRef,
    TimelineView,
    TimeRange,
)
from wardwatch.media.views import ViewKind, ViewSessions

CONTIGUOUS = timedelta(milliseconds=500)
"""Segments closer than this are one recorded range on the timeline."""


def merge_ranges(rows: list[DbRow]) -> list[RangeView]:
    ranges: list[RangeView] = []
    for row in rows:
        if ranges and row.start - ranges[-1].end <= CONTIGUOUS:
            if row.end > ranges[-1].end:
                ranges[-1] = RangeView(start=ranges[-1].start, end=row.end)
        else:
            ranges.append(RangeView(start=row.start, end=row.end))
    return ranges


def gap_views(rows: list[DbRow]) -> list[GapView]:
    return [GapView(start=g.start, end=g.end, reason=g.reason, detail=g.detail) for g in rows]


def check_range_length(rng: TimeRange, limit: timedelta, what: str) -> None:
    if rng.end - rng.start > limit:
        raise Invalid(
            "range_too_long",
            params={"what": what, "hours": round(limit.total_seconds() / 3600, 2)},
            extra={"field": "end"},
        )


def segment_url(session_id: str, segment_id: str) -> str:
    return f"/api/v1/playback/{session_id}/segments/{segment_id}"


class Playback:
    def __init__(self, deps: Deps, views: ViewSessions) -> None:
        self.deps = deps
        self.views = views

    def timeline(self, principal: Principal, camera_id: str, rng: TimeRange) -> TimelineView:
        camera = self.views.camera(principal, camera_id, ViewKind.PLAYBACK)
        check_range_length(rng, timedelta(days=31), "timeline")
        with self.deps.db.read() as conn:
            segments = store.segments_overlapping(conn, camera.id, rng.start, rng.end)
            gaps = store.gaps_overlapping(conn, camera.id, rng.start, rng.end)
        return TimelineView(
            camera_id=camera.id,
            start=rng.start,
            end=rng.end,
            recorded=merge_ranges(segments),
            gaps=gap_views(gaps),
        )

    def open(self, principal: Principal, camera_id: str, req: FootageRequest) -> PlaybackView:
        media = self.deps.settings.media
        check_range_length(req, timedelta(hours=media.playback_max_hours), "playback")
        session = self.views.open(
            principal,
            camera_id,
            ViewKind.PLAYBACK,
            purpose=req.purpose,
            range_start=req.start,
            range_end=req.end,
            lifetime=timedelta(minutes=media.playback_session_minutes),
        )
        with self.deps.db.read() as conn:
            segments = store.segments_overlapping(conn, session.camera.id, req.start, req.end)
            gaps = store.gaps_overlapping(conn, session.camera.id, req.start, req.end)
        assert session.expires_at is not None and session.purpose is not None
        return PlaybackView(
            session_id=session.id,
            camera_id=session.camera.id,
            purpose=session.purpose,
            start=req.start,
            end=req.end,
            expires_at=session.expires_at,
            segments=[
                SegmentRef(
                    id=s.id, start=s.start, end=s.end, bytes=s.bytes, url=segment_url(session.id, s.id)
                )
                for s in segments
            ],
            gaps=gap_views(gaps),
        )

    def segment_file(self, principal: Principal, session_id: str, segment_id: str) -> Path:
        """The file of one segment of an open session of the caller's, checked against its hash."""
        session = self.views.get(principal, session_id, ViewKind.PLAYBACK)
        with self.deps.db.read() as conn:
            row = conn.execute(store.segments.select().where(store.segments.c.id == segment_id)).first()
        if row is None or row.camera_id != session.camera.id or not session.covers(row.start, row.end):
            raise NotFound("not_found", params={"object": "segment"})
        return verified_segment(self.deps, row)

    def close(self, principal: Principal, session_id: str) -> None:
        self.views.close_own(principal, session_id, ViewKind.PLAYBACK)
