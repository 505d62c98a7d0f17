"""Clip export: recorded footage of a time range, stream-copied into one MP4, with hashes.

An export needs ``recording.export`` on the camera's facility and a purpose the camera
is registered for. Every source segment is checked against its stored SHA-256 first; the
clip starts at the last keyframe at or before the requested start (stream copy cannot
start elsewhere) and ends before the requested end. The manifest names the clip's
SHA-256 and every source segment's, and the gaps inside the range. Creating a clip and
each download of it are audited with the purpose.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from sqlalchemy import insert, select

from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, Invalid, NotFound, Problem
from wardwatch.kernel.ids import new_id
from wardwatch.media import store
from wardwatch.media.integrity import file_sha256, report_integrity_failure, verified_segment
from wardwatch.media.playback import check_range_length
from wardwatch.media.schemas import ClipView, FootageRequest
from wardwatch.media.views import ViewKind, ViewSessions, check_purpose

log = logging.getLogger(__name__)

MANIFEST_VERSION = "wardwatch-clip-1"
STAGING = ".staging"
"""Clips being built live here until their audit entry commits; emptied at start-up."""


@dataclass(frozen=True)
class Remuxed:
    start: datetime
    end: datetime
    packets: int


def _seconds(ticks: int, time_base: Fraction) -> timedelta:
    return timedelta(seconds=float(ticks * time_base))


def _time_base(stream: Any) -> Fraction:
    if stream.time_base is None:
        raise Invalid("no_footage", extra={"field": "start"})
    return Fraction(stream.time_base)


def _first_keyframe_offset(path: Path, start: datetime, segment_start: datetime) -> int | None:
    """Stream ticks of the last keyframe at or before ``start`` in a segment (None: use the first)."""
    chosen = None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = _time_base(stream)
        for packet in container.demux(stream):
            if packet.dts is None or not packet.is_keyframe:
                continue
            at = segment_start + _seconds(packet.pts if packet.pts is not None else packet.dts, time_base)
            if at > start:
                break
            chosen = packet.dts
    return chosen


def remux(sources: list[tuple[DbRow, Path]], start: datetime, end: datetime, target: Path) -> Remuxed:
    """Stream-copy the packets of [start, end) from the segments, in order, into ``target``."""
    first_row, first_path = sources[0]
    skip_before = _first_keyframe_offset(first_path, start, first_row.start)
    origin: datetime | None = None
    last_dts_s: float | None = None  # seconds from the origin, comparable across segments
    last_end_s = 0.0
    count = 0
    clip_end = start
    with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as output:
        out_stream: Any = None
        for index, (row, path) in enumerate(sources):
            shift: int | None = None
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                time_base = _time_base(stream)
                if out_stream is None:
                    out_stream = output.add_stream_from_template(stream)
                for packet in container.demux(stream):
                    if packet.dts is None or packet.size == 0:
                        continue
                    if index == 0 and skip_before is not None and packet.dts < skip_before:
                        continue
                    pts = packet.pts if packet.pts is not None else packet.dts
                    at = row.start + _seconds(pts, time_base)
                    if at >= end:
                        break
                    if origin is None:
                        if not packet.is_keyframe:
                            continue  # a clip must start on a keyframe to play
                        origin = at
                    if shift is None:
                        shift = round((row.start - origin).total_seconds() / time_base)
                        early = last_end_s - float((packet.dts + shift) * time_base)
                        if last_dts_s is not None and early > 0:
                            # A segment stamped a hair before the previous one ended: move it
                            # after what is in, rather than drop its opening keyframe.
                            shift += math.ceil(early / time_base)
                    dts = packet.dts + shift
                    dts_s = float(dts * time_base)
                    if last_dts_s is not None and dts_s <= last_dts_s:
                        continue  # decode times must rise
                    last_dts_s = dts_s
                    last_end_s = dts_s + float((packet.duration or 0) * time_base)
                    packet.dts, packet.pts = dts, pts + shift
                    packet.stream = out_stream
                    output.mux(packet)
                    count += 1
                    clip_end = at + _seconds(packet.duration or 0, time_base)
    if origin is None:
        raise Invalid("no_footage", extra={"field": "start"})
    return Remuxed(origin, clip_end, count)


def _clip_view(row: DbRow) -> ClipView:
    return ClipView(
        id=row.id,
        camera_id=row.camera_id,
        facility_id=row.facility_id,
        start=row.start,
        end=row.end,
        purpose=row.purpose,
        bytes=row.bytes,
        sha256=row.sha256,
        created_by=row.created_by,
        created_at=row.created_at,
        download_url=f"/api/v1/clips/{row.id}/file",
        manifest=row.manifest,
    )


class ClipExporter:
    def __init__(self, deps: Deps, views: ViewSessions) -> None:
        self.deps = deps
        self.views = views

    @property
    def exports(self) -> Path:
        return self.deps.settings.data / "exports"

    def discard_staged(self) -> None:
        """Remove clips a crash left half-built (they were never on the record)."""
        staging = self.exports / STAGING
        if staging.is_dir():
            for leftover in staging.iterdir():
                log.warning("removed a clip left half-built", extra={"file": leftover.name})
                leftover.unlink(missing_ok=True)

    def export(self, principal: Principal, camera_id: str, req: FootageRequest) -> ClipView:
        media = self.deps.settings.media
        try:
            camera = self.views.camera(principal, camera_id, ViewKind.EXPORT)
            check_purpose(camera, req.purpose)
        except Problem as problem:
            self.views.record_refusal(principal, camera_id, ViewKind.EXPORT, problem, req.purpose)
            raise
        check_range_length(req, timedelta(minutes=media.clip_max_minutes), "clip")
        with self.deps.db.read() as conn:
            rows = store.segments_overlapping(conn, camera.id, req.start, req.end)
            gaps = store.gaps_overlapping(conn, camera.id, req.start, req.end)
        if not rows:
            raise Invalid("no_footage", extra={"field": "start"})
        sources = [(row, verified_segment(self.deps, row)) for row in rows]
        clip_id = new_id()
        staging = self.exports / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        final = self.exports / f"{clip_id}.mp4"
        partial = staging / final.name
        manifest_path = self.exports / f"{clip_id}.manifest.json"
        staged_manifest = staging / manifest_path.name
        try:
            result = remux(sources, req.start, req.end, partial)
            digest = file_sha256(partial)
            size = partial.stat().st_size
            now = self.deps.clock.now()
            manifest: dict[str, Any] = {
                "format": MANIFEST_VERSION,
                "clip_id": clip_id,
                "camera": {"id": camera.id, "name": camera.name, "facility_id": camera.facility_id},
                "requested": {"start": req.start.isoformat(), "end": req.end.isoformat()},
                "start": result.start.isoformat(),
                "end": result.end.isoformat(),
                "purpose": req.purpose,
                "exported_by": {"user_id": principal.user_id, "username": principal.username},
                "exported_at": now.isoformat(),
                "file": final.name,
                "bytes": size,
                "sha256": digest,
                "packets": result.packets,
                "segments": [
                    {
                        "id": row.id,
                        "path": row.path,
                        "start": row.start.isoformat(),
                        "end": row.end.isoformat(),
                        "bytes": row.bytes,
                        "sha256": row.sha256,
                    }
                    for row, _ in sources
                ],
                "gaps": [
                    {
                        "start": g.start.isoformat(),
                        "end": g.end.isoformat() if g.end else None,
                        "reason": g.reason,
                    }
                    for g in gaps
                ],
            }
            staged_manifest.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
            with self.deps.uow(principal.actor) as uow:
                # Checked again where it is recorded: access revoked during the remux ends here.
                camera = self.views.registry.camera_for(uow.conn, principal, camera.id, "recording.export")
                uow.conn.execute(
                    insert(store.clips).values(
                        id=clip_id,
                        camera_id=camera.id,
                        facility_id=camera.facility_id,
                        start=result.start,
                        end=result.end,
                        purpose=req.purpose,
                        path=str(final.relative_to(self.deps.settings.data)),
                        bytes=size,
                        sha256=digest,
                        manifest=manifest,
                        created_by=principal.user_id,
                        created_at=now,
                    )
                )
                self.views.open_in(
                    uow,
                    principal,
                    camera,
                    ViewKind.EXPORT,
                    purpose=req.purpose,
                    range_start=result.start,
                    range_end=result.end,
                    closed=True,
                    details={"clip_id": clip_id, "sha256": digest, "segments": len(sources)},
                )
                # The files take their final names inside the transaction: a failed commit
                # removes them below, and a crash leaves them only in the staging folder.
                os.replace(partial, final)
                os.replace(staged_manifest, manifest_path)
                uow.commit()
        except BaseException:
            for leftover in (partial, staged_manifest, final, manifest_path):
                leftover.unlink(missing_ok=True)
            raise
        log.info("clip exported", extra={"clip_id": clip_id, "camera_id": camera.id, "bytes": size})
        return self.get(principal, clip_id)

    def _row(self, principal: Principal, clip_id: str) -> DbRow:
        with self.deps.db.read() as conn:
            row = conn.execute(select(store.clips).where(store.clips.c.id == clip_id)).first()
        if row is None:
            raise NotFound("not_found", params={"object": "clip"})
        self.views.camera(principal, row.camera_id, ViewKind.EXPORT)
        return row

    def get(self, principal: Principal, clip_id: str) -> ClipView:
        return _clip_view(self._row(principal, clip_id))

    def download(self, principal: Principal, clip_id: str, purpose: str | None) -> tuple[Path, ClipView]:
        """The clip's file, checked against its hash; each download is audited with its own purpose.

        Whoever downloads states why, like anyone playing footage back: the purpose given
        when the clip was made is the exporter's, not the downloader's.
        """
        row = self._row(principal, clip_id)
        path = self.deps.settings.data / row.path
        actual = file_sha256(path) if path.exists() else None
        if actual != row.sha256:
            report_integrity_failure(
                self.deps,
                object_type="clip",
                object_id=clip_id,
                scope=row.facility_id,
                camera_id=row.camera_id,
                path=row.path,
                problem="missing" if actual is None else "hash_mismatch",
                expected=row.sha256,
                actual=actual,
            )
            raise Conflict("clip_integrity", extra={"clip_id": clip_id})
        with self.deps.uow(principal.actor) as uow:
            camera = self.views.registry.camera_for(uow.conn, principal, row.camera_id, "recording.export")
            self.views.open_in(
                uow,
                principal,
                camera,
                ViewKind.EXPORT,
                purpose=purpose,
                range_start=row.start,
                range_end=row.end,
                closed=True,
                details={
                    "clip_id": clip_id,
                    "download": True,
                    "sha256": row.sha256,
                    "exported_for": row.purpose,
                },
            )
            uow.commit()
        return path, _clip_view(row)
