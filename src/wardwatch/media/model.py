"""Rules of the media plane that hold whatever the storage: paths, states, retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import PurePosixPath


class StreamStatus(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    AUTH_FAILED = "auth_failed"
    UNSUPPORTED = "unsupported"
    DEGRADED = "degraded"
    STOPPED = "stopped"


COPYABLE_CODECS = frozenset({"h264", "hevc", "mpeg4", "av1", "vp9", "mjpeg"})
"""Video codecs the MP4 muxer takes by stream copy; anything else is refused as unsupported."""

BROWSER_CODECS = frozenset({"h264"})
"""What live view and playback can hand to a browser without transcoding."""


def segment_dir(facility_id: str, camera_id: str, start: datetime) -> PurePosixPath:
    """``recordings/<facility>/<camera>/YYYY/MM/DD/HH`` in UTC, relative to the data directory."""
    utc = start.astimezone(UTC)
    return PurePosixPath(
        "recordings", facility_id, camera_id, f"{utc:%Y}", f"{utc:%m}", f"{utc:%d}", f"{utc:%H}"
    )


def segment_name(start: datetime) -> str:
    return f"{start.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}.mp4"


PARTIAL_SUFFIX = ".partial"
"""A segment being written carries this suffix until it is complete and renamed."""


@dataclass(frozen=True)
class Span:
    """A closed-open time range [start, end)."""

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Footage that ended before this instant has outlived its camera's retention."""
    return now - timedelta(days=retention_days)


def is_held(span: Span, holds: list[Span]) -> bool:
    """Legal hold wins over retention and over disk pressure."""
    return any(span.overlaps(hold) for hold in holds)


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC)
