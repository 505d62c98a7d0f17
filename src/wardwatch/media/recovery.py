"""Recovering segments a killed recorder left half-written.

Every complete fragment of a ``.partial`` file is kept: the file is cut after its last
whole ``moof``+``mdat`` pair, checked by demuxing it, hashed and renamed, and indexed as a
recovered segment. A file without one whole fragment is moved to ``quarantine/`` and the
time it covered becomes a gap. Either way a gap is opened from where the footage ends,
and the camera's next segment closes it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av

from wardwatch.media.ingest import Event, GapEvent, SegmentEvent
from wardwatch.media.model import PARTIAL_SUFFIX
from wardwatch.media.mp4 import complete_length, top_level_boxes

log = logging.getLogger(__name__)


def _parse_start(name: str) -> datetime:
    stem = name.removesuffix(PARTIAL_SUFFIX).removesuffix(".mp4")
    return datetime.strptime(stem, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)


def _ids(relative: Path) -> tuple[str, str]:
    """(facility, camera) from ``recordings/<facility>/<camera>/YYYY/MM/DD/HH/<name>``."""
    parts = relative.parts
    return parts[1], parts[2]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recover_file(root: Path, partial: Path) -> list[Event]:
    relative = partial.relative_to(root)
    facility_id, camera_id = _ids(relative)
    start = _parse_start(partial.name)
    boxes, _ = top_level_boxes(partial)
    keep = complete_length(boxes)
    if keep is not None:
        with partial.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            with av.open(str(partial), format="mp4") as container:
                stream = container.streams.video[0]
                last_end, count = 0, 0
                for packet in container.demux(stream):
                    if packet.dts is None:
                        continue
                    last_end = max(last_end, packet.dts + (packet.duration or 0))
                    count += 1
                seconds = float(last_end * (stream.time_base or 0))
                codec, width, height = (
                    stream.codec_context.name,
                    stream.codec_context.width,
                    stream.codec_context.height,
                )
        except (av.error.FFmpegError, IndexError) as exc:
            log.warning("recovered fragments do not demux", extra={"path": str(relative), "error": repr(exc)})
            count = 0
        if count:
            final = partial.with_name(partial.name.removesuffix(PARTIAL_SUFFIX))
            os.replace(partial, final)
            end = start + timedelta(seconds=seconds)
            segment = SegmentEvent(
                camera_id,
                facility_id,
                start,
                end,
                str(final.relative_to(root)),
                final.stat().st_size,
                _sha256(final),
                codec,
                width,
                height,
                recovered=True,
            )
            log.info(
                "recovered a partial segment", extra={"path": segment.path, "seconds": round(seconds, 2)}
            )
            return [
                segment,
                GapEvent(
                    camera_id,
                    end,
                    "recorder_restart",
                    "the recorder stopped; footage resumes when it reconnects",
                ),
            ]
    quarantine = root / "quarantine" / relative
    quarantine.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, quarantine)
    if not any(box.kind in ("moof", "mdat") for box in boxes) and keep is None:
        # Stopped before its first fragment: headers only, no footage was lost with it.
        log.warning("quarantined a segment that held no footage yet", extra={"path": str(relative)})
        return [
            GapEvent(
                camera_id,
                start,
                "recorder_restart",
                f"the recorder stopped before the segment's first fragment ({quarantine.name})",
            )
        ]
    log.error("quarantined an unrecoverable segment", extra={"path": str(relative)})
    return [
        GapEvent(
            camera_id,
            start,
            "recorder_crash",
            f"unrecoverable partial segment quarantined as {quarantine.relative_to(root)}",
        )
    ]


def recover_all(root: Path, camera_ids: set[str] | None = None) -> list[Event]:
    """Recover every partial segment under ``root`` (only those cameras', when given)."""
    events: list[Event] = []
    recordings = root / "recordings"
    if not recordings.is_dir():
        return events
    for partial in sorted(recordings.rglob(f"*{PARTIAL_SUFFIX}")):
        if camera_ids is not None and _ids(partial.relative_to(root))[1] not in camera_ids:
            continue
        try:
            events += recover_file(root, partial)
        except OSError:
            log.exception("could not recover a partial segment", extra={"path": str(partial)})
    return events
