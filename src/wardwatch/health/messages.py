"""What the analysis workers and the server say to each other (pickled over pipes and queues).

The server hands a worker one ``WatchJob`` per camera (with the baseline it stored last
time, so a restart does not forget a camera's normal). The worker reports back picture
condition changes with their evidence, its own connection's state, and its baselines
now and then. Credentials travel only in the job, to the child process; they are never
part of a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from wardwatch.health.model import HealthState, LinkStatus, Reason, Thresholds


@dataclass(frozen=True)
class WatchJob:
    camera_id: str
    url: str
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    thresholds: Thresholds = field(default_factory=Thresholds)
    interval_s: float = 2.0
    analysis_width: int = 320
    evidence_width: int = 320
    read_timeout_s: float = 5.0
    stall_s: float = 3.0
    transport: str = "tcp"
    baseline_save_s: float = 60.0
    baseline: dict[str, Any] | None = None
    reference: bytes | None = field(default=None, repr=False)

    def authenticated_url(self) -> str:
        """The URL with the credentials in it, for FFmpeg only (never logged)."""
        if not self.username:
            return self.url
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        userinfo = f"{quote(self.username, safe='')}:{quote(self.password or '', safe='')}"
        return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class PictureReport:
    """The picture condition of a camera changed (evidence: the keyframe that decided it)."""

    camera_id: str
    condition: HealthState
    reason: Reason
    measured: dict[str, Any]
    jpeg: bytes | None = field(default=None, repr=False)
    width: int = 0
    height: int = 0
    at: float = 0.0
    """Wall-clock time (epoch seconds) of the analysis."""


@dataclass(frozen=True)
class LinkReport:
    """The analyser's own connection to the camera came up or went down."""

    camera_id: str
    status: LinkStatus
    reason: Reason
    at: float = 0.0


@dataclass(frozen=True)
class BaselineReport:
    """A camera's learnt normal and reference thumbnail, to keep across restarts."""

    camera_id: str
    baseline: dict[str, Any]
    reference: bytes | None = field(default=None, repr=False)
    measured: dict[str, Any] = field(default_factory=dict)
    learnt: bool = False


@dataclass(frozen=True)
class WorkerStats:
    """A worker's CPU time and work done so far (for metrics and the benchmark)."""

    worker: int
    pid: int
    cpu_s: float
    cameras: int
    analysed: int


Report = PictureReport | LinkReport | BaselineReport | WorkerStats
