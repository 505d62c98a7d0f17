"""Watching one camera's picture: pull its stream, decode a keyframe now and then, judge it.

Runs as a thread inside an analysis worker process. Every packet is read (that is how
the frame rate and bitrate are known) but only one keyframe per ``interval_s`` is
decoded, single-threaded and with non-key frames skipped by the decoder, and only its
luma plane is analysed. Once caught up with the camera, the thread lets a batch of
packets gather in the socket before reading on, instead of waking for every frame.

Reports go out only when something changes (a picture condition, the connection) and
as a baseline snapshot every ``baseline_save_s``; the evidence JPEG is encoded only for
a change, from the keyframe that decided it.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from wardwatch.health import features
from wardwatch.health.messages import BaselineReport, LinkReport, PictureReport, Report, WatchJob
from wardwatch.health.model import (
    Baseline,
    Features,
    HealthState,
    LinkStatus,
    PictureMonitor,
    Reason,
    Verdict,
)

log = logging.getLogger(__name__)

_PLANAR = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21", "gray"}
)
BLOCKED_S = 0.005
"""A read that waited longer than this found the socket empty: we are at the live edge."""
READ_BATCH_S = 0.25
STARVED_MIN_S = 30.0
STARVED_INTERVALS = 10
"""No keyframe analysed for this many intervals (and at least ``STARVED_MIN_S``) while
video arrives: the camera's picture is unchecked, and that is reported."""
BACKOFF_CAP_S = 5.0


def luma_of(frame: Any) -> features.Gray:
    """The luma plane of a decoded frame, without colour conversion where the format allows."""
    if frame.format.name in _PLANAR:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        luma: features.Gray = rows[: frame.height, : frame.width]
        return luma
    converted: features.Gray = frame.to_ndarray(format="gray")
    return converted


def evidence_jpeg(frame: Any, width: int) -> tuple[bytes, int, int]:
    """The keyframe as a small colour JPEG (encoded only when it is evidence of a change)."""
    out_width = min(width, frame.width)
    out_height = max(2, round(frame.height * out_width / frame.width / 2) * 2)
    image = frame.reformat(width=out_width, height=out_height, format="bgr24").to_ndarray()
    return features.encode_jpeg(image), out_width, out_height


def describe_failure(exc: BaseException) -> tuple[LinkStatus, Reason]:
    """A failed connection as a link state and reason (URLs, which hold credentials, never)."""
    if isinstance(exc, av.error.HTTPUnauthorizedError) or "401" in str(exc):
        return LinkStatus.AUTH_FAILED, Reason("link_auth")
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in str(exc):
        return LinkStatus.OFFLINE, Reason("link_refused")
    text = str(exc).lower()
    if isinstance(exc, TimeoutError | av.error.ExitError) or "timed out" in text:
        return LinkStatus.OFFLINE, Reason("link_timeout")
    if isinstance(exc, av.error.EOFError):
        return LinkStatus.OFFLINE, Reason("link_closed")
    name = getattr(exc, "strerror", None) or type(exc).__name__
    return LinkStatus.OFFLINE, Reason("link_other", {"detail": str(name)[:120]})


@dataclass
class _Window:
    """Packets and bytes since the last analysed keyframe, to measure frame rate and bitrate."""

    packets: int = 0
    bytes: int = 0
    start_ts: float | None = None

    def add(self, size: int, ts: float | None) -> None:
        self.packets += 1
        self.bytes += size
        if self.start_ts is None:
            self.start_ts = ts

    def rates(self, ts: float | None) -> tuple[float | None, float | None]:
        if ts is None or self.start_ts is None or ts <= self.start_ts or self.packets < 2:
            return None, None
        span = ts - self.start_ts
        # The first packet counted opened the window, so it is not part of the rate.
        return (self.packets - 1) / span, (self.bytes * 8 / 1000.0) / span


class CameraWatch(threading.Thread):
    """Connects, analyses keyframes, reconnects with backoff; reports changes through ``emit``."""

    def __init__(self, job: WatchJob, emit: Callable[[Report], None], counter: Callable[[], None]) -> None:
        super().__init__(name=f"health-{job.camera_id}", daemon=True)
        self.job = job
        self.emit = emit
        self.count = counter
        self.stop_event = threading.Event()
        self.reset_event = threading.Event()
        self.monitor = PictureMonitor(job.thresholds, Baseline.from_dict(job.baseline))
        self.reference = features.decode_reference(job.reference)
        if self.reference is None:
            self.monitor.baseline.reference_samples = 0
        self.link = LinkStatus.UNKNOWN
        self._link_lock = threading.Lock()
        self.last_packet: float | None = None
        """When the current connection last delivered a packet (None: not connected)."""
        self.last: Features | None = None
        self._saved_at = time.monotonic()
        self._starved = False
        self._was_learnt = self.monitor.learnt and self.monitor.reference_ready

    def stop(self) -> None:
        self.stop_event.set()

    def rebaseline(self) -> None:
        self.reset_event.set()

    # -- lifecycle ------------------------------------------------------------------------

    def run(self) -> None:
        attempt = 0
        try:
            while not self.stop_event.is_set():
                analysed = self._session()
                if self.stop_event.is_set():
                    break
                attempt = 0 if analysed else attempt + 1
                ceiling = min(BACKOFF_CAP_S, 2.0 ** max(0, attempt))
                self.stop_event.wait(random.uniform(1.0, max(1.0, ceiling)))  # noqa: S311 - jitter
        finally:
            self._save_baseline()

    def _set_link(self, status: LinkStatus, reason: Reason) -> None:
        with self._link_lock:
            if status == self.link:
                return
            self.link = status
            self.emit(LinkReport(self.job.camera_id, status, reason, time.time()))

    def check_stall(self) -> None:
        """Called now and then by the worker: a connection that went silent is a stall."""
        last = self.last_packet
        if last is not None and self.link == LinkStatus.ONLINE and time.monotonic() - last > self.job.stall_s:
            self._set_link(LinkStatus.OFFLINE, Reason("link_stalled"))

    def _session(self) -> bool:
        job = self.job
        try:
            container = av.open(
                job.authenticated_url(),
                options={"rtsp_transport": job.transport, "timeout": str(int(job.read_timeout_s * 1e6))},
            )
        except (av.error.FFmpegError, OSError) as exc:
            self._set_link(*describe_failure(exc))
            return False
        try:
            if not container.streams.video:
                self._set_link(LinkStatus.OFFLINE, Reason("link_no_video"))
                return False
            return self._analyse(container, container.streams.video[0])
        except (av.error.FFmpegError, OSError) as exc:
            self._set_link(*describe_failure(exc))
            return False
        finally:
            self.last_packet = None
            container.close()

    def _analyse(self, container: Any, stream: Any) -> bool:
        ctx = stream.codec_context
        ctx.thread_count = 1  # frame threading would hold each keyframe back by a few frames
        ctx.skip_frame = "NONKEY"
        time_base = float(stream.time_base) if stream.time_base else None
        min_gap = 0.75 * self.job.interval_s
        previous: features.Gray | None = None
        window = _Window()
        last_analysed: float | None = None
        analysed = False
        stopping = self.stop_event.is_set
        monotonic, sleep = time.monotonic, time.sleep
        asked = connected = monotonic()
        starved_after = max(STARVED_MIN_S, STARVED_INTERVALS * self.job.interval_s)
        for packet in container.demux(stream):
            if stopping():
                break
            if packet.size == 0:
                continue
            waited = monotonic() - asked
            self.last_packet = asked + waited
            if self.link != LinkStatus.ONLINE:
                self._set_link(LinkStatus.ONLINE, Reason("none"))
            dts = packet.dts if packet.dts is not None else packet.pts
            ts = dts * time_base if dts is not None and time_base else None
            now = monotonic()
            if packet.is_keyframe and (last_analysed is None or now - last_analysed >= min_gap):
                fps, kbps = window.rates(ts)
                frame = self._decode(ctx, packet)
                if frame is not None:
                    last_analysed = now
                    previous = self._judge(frame, previous, fps, kbps)
                    analysed = True
                window = _Window()
            window.add(packet.size, ts)
            if not self._starved and now - (last_analysed or connected) > starved_after:
                # Video arrives but no keyframe decodes: the picture goes unchecked, loudly.
                self._starved = True
                camera_id = self.job.camera_id
                self.emit(PictureReport(camera_id, HealthState.DEGRADED, Reason("no_keyframes"), {}))
                log.warning("no keyframe of a camera could be analysed", extra={"camera_id": camera_id})
            if waited > BLOCKED_S:
                # Caught up with the camera: let a batch gather rather than waking per frame.
                sleep(READ_BATCH_S)
            asked = monotonic()
        return analysed

    def _decode(self, ctx: Any, packet: Any) -> Any:
        try:
            frames = ctx.decode(packet)
        except av.error.FFmpegError:
            log.debug("a keyframe did not decode", extra={"camera_id": self.job.camera_id})
            return None
        return frames[0] if frames else None

    # -- judging ----------------------------------------------------------------------------

    def _judge(
        self, frame: Any, previous: features.Gray | None, fps: float | None, kbps: float | None
    ) -> features.Gray:
        job = self.job
        if self.reset_event.is_set():
            self.reset_event.clear()
            self._reset()
            previous = None
        work = features.prepare(luma_of(frame), job.analysis_width)
        reference = self.reference if self.monitor.reference_ready else None
        measured = features.measure(work, previous, reference, fps=fps, kbps=kbps)
        verdict = self.monitor.observe(measured)
        weight = self.monitor.reference_weight(measured)
        if weight is not None:
            self.reference = features.blend(self.reference, work.thumb, weight)
            if not self.monitor.reference_ready:
                self.monitor.took_reference()
        self.last = measured
        self.count()
        if self._starved and verdict is None:
            # Keyframes decode again: say what the picture is now (the monitor's verdict stands).
            verdict = Verdict(self.monitor.condition, self.monitor.reason, measured.measured())
        self._starved = False
        if verdict is not None:
            jpeg, width, height = self._evidence(frame)
            self.emit(
                PictureReport(
                    job.camera_id,
                    verdict.condition,
                    verdict.reason,
                    verdict.measured,
                    jpeg,
                    width,
                    height,
                    time.time(),
                )
            )
        learnt = self.monitor.learnt and self.monitor.reference_ready
        if (learnt and not self._was_learnt) or monotonic_since(self._saved_at) >= job.baseline_save_s:
            self._was_learnt = learnt
            self._save_baseline()
        return work.luma

    def _evidence(self, frame: Any) -> tuple[bytes | None, int, int]:
        try:
            return evidence_jpeg(frame, self.job.evidence_width)
        except (ValueError, av.error.FFmpegError):
            log.warning("could not encode a keyframe as evidence", extra={"camera_id": self.job.camera_id})
            return None, 0, 0

    def _reset(self) -> None:
        was = self.monitor.condition
        self.monitor.reset()
        self.reference = None
        if was != HealthState.OK:
            self.emit(
                PictureReport(self.job.camera_id, HealthState.OK, Reason("rebaselined"), {}, at=time.time())
            )
        self._was_learnt = False
        self._save_baseline()

    def _save_baseline(self) -> None:
        self._saved_at = time.monotonic()
        reference = None
        if self.reference is not None and self.monitor.baseline.reference_samples:
            reference = features.encode_reference(self.reference)
        measured = self.last.measured() if self.last is not None else {}
        self.emit(
            BaselineReport(
                self.job.camera_id,
                self.monitor.baseline.to_dict(),
                reference,
                measured | self.monitor.normals(),
                self.monitor.learnt and self.monitor.reference_ready,
            )
        )


def monotonic_since(moment: float) -> float:
    return time.monotonic() - moment
