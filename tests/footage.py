"""Real recorded footage for tests that need segments at chosen times.

Segments are encoded with libx264 (PyAV) into fragmented MP4 exactly as the recorder lays
them out on disk, and indexed through the real media index, so playback, clips and
retention work on genuine H.264 files without waiting for a camera to record for days.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import av
import numpy as np

from wardwatch.bootstrap import Container
from wardwatch.media.ingest import GapEvent, SegmentEvent
from wardwatch.media.model import segment_dir, segment_name

FPS = 10
SIZE = (160, 96)


def write_segment(
    root: Path, facility_id: str, camera_id: str, start: datetime, seconds: int = 2, shade: int = 0
) -> SegmentEvent:
    """An H.264 fMP4 segment of ``seconds`` with a keyframe every second, starting at ``start``."""
    relative = segment_dir(facility_id, camera_id, start) / segment_name(start)
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = SIZE
    with av.open(
        str(path), "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    ) as output:
        stream = output.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(FPS), "keyint_min": str(FPS), "bf": "0", "preset": "ultrafast"}
        for index in range(seconds * FPS):
            picture = np.full((height, width, 3), (shade * 40 + index * 3) % 256, dtype=np.uint8)
            picture[:, (index * 4) % width] = 255  # a moving line: every frame differs
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    data = path.read_bytes()
    return SegmentEvent(
        camera_id,
        facility_id,
        start,
        start + timedelta(seconds=seconds),
        str(relative),
        len(data),
        hashlib.sha256(data).hexdigest(),
        "h264",
        width,
        height,
    )


def record_segments(
    container: Container, facility_id: str, camera_id: str, start: datetime, count: int, seconds: int = 2
) -> list[SegmentEvent]:
    """``count`` back-to-back segments from ``start``, written and indexed."""
    events = []
    for index in range(count):
        event = write_segment(
            container.settings.data,
            facility_id,
            camera_id,
            start + timedelta(seconds=index * seconds),
            seconds,
            shade=index,
        )
        container.media.record(event)
        events.append(event)
    return events


def record_gap(container: Container, camera_id: str, start: datetime, reason: str = "offline") -> None:
    container.media.record(GapEvent(camera_id, start, reason, "connection refused"))
