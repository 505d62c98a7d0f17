"""Pulling one camera's stream and recording it, without transcoding, into fMP4 segments.

Each camera has one ingest thread inside a recorder worker process. It connects with
PyAV (RTSP over TCP by default), stream-copies packets into fragmented-MP4 segments of
about ten seconds (cut at keyframes), and reports what happens as plain messages:
status changes with a reason, finished segments with their hash, and gaps.

Crash safety comes from how segments are written: one fragment per second, every write
passed straight to the kernel (no user-space buffer to lose), under a ``.partial`` name
that is renamed only once the segment is complete and synced.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import av

from wardwatch.media.model import (
    COPYABLE_CODECS,
    PARTIAL_SUFFIX,
    StreamStatus,
    backoff_seconds,
    segment_dir,
    segment_name,
)

log = logging.getLogger(__name__)

FRAGMENT_US = 1_000_000
"""One fMP4 fragment a second: a killed recorder loses at most the fragment in progress."""


@dataclass(frozen=True)
class CameraJob:
    camera_id: str
    facility_id: str
    url: str
    username: str | None
    password: str | None
    segment_seconds: float = 10.0
    transport: str = "tcp"
    open_timeout_s: float = 10.0
    read_timeout_s: float = 3.0

    def authenticated_url(self) -> str:
        if not self.username:
            return self.url
        parts = urlsplit(self.url)
        netloc = f"{quote(self.username, safe='')}:{quote(self.password or '', safe='')}@{parts.netloc}"
        return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class StatusEvent:
    camera_id: str
    status: StreamStatus
    reason: str
    at: datetime
    details: dict[str, Any]


@dataclass(frozen=True)
class SegmentEvent:
    camera_id: str
    facility_id: str
    start: datetime
    end: datetime
    path: str
    bytes: int
    sha256: str
    codec: str
    width: int
    height: int
    recovered: bool = False


@dataclass(frozen=True)
class GapEvent:
    """Recording stopped at ``start`` for ``reason``; the gap stays open until it closes."""

    camera_id: str
    start: datetime
    reason: str
    detail: str


Event = StatusEvent | SegmentEvent | GapEvent
"""Messages from ingest to the index; an open gap closes when the camera's next segment lands."""
Emit = Callable[[Event], None]


class HashingFile:
    """A write-only file object for the muxer: unbuffered writes, hashed on the way."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._hash.update(chunk)
        self.size += len(chunk)
        return len(chunk)

    def finish(self) -> str:
        os.fsync(self._fd)
        os.close(self._fd)
        return self._hash.hexdigest()

    def abandon(self) -> None:
        os.close(self._fd)


class SegmentWriter:
    """One segment: packets in, a synced and renamed file and its index entry out."""

    def __init__(self, root: Path, job: CameraJob, template: Any, start: datetime, first_dts: int) -> None:
        relative = segment_dir(job.facility_id, job.camera_id, start) / segment_name(start)
        self.relative = str(relative)
        self.final = root / relative
        self.file = HashingFile(self.final.with_name(self.final.name + PARTIAL_SUFFIX))
        self.container = av.open(
            self.file,
            "w",
            format="mp4",
            options={
                "movflags": "frag_keyframe+empty_moov+default_base_moof",
                "frag_duration": str(FRAGMENT_US),
            },
        )
        self.stream = self.container.add_stream_from_template(template)
        self.job = job
        self.start = start
        self.base_dts = first_dts
        self.base_pts: int | None = None
        self.last_end_dts = first_dts
        self.packets = 0
        ctx = template.codec_context
        self.codec, self.width, self.height = ctx.name, ctx.width or 0, ctx.height or 0

    def write(self, packet: Any, duration: int) -> None:
        if self.base_pts is None:
            self.base_pts = packet.pts if packet.pts is not None else packet.dts
        dts = packet.dts
        packet.dts = dts - self.base_dts
        packet.pts = (packet.pts if packet.pts is not None else dts) - self.base_dts
        packet.stream = self.stream
        self.container.mux(packet)
        self.last_end_dts = dts + duration
        self.packets += 1

    def seconds(self, time_base: Fraction) -> float:
        return float((self.last_end_dts - self.base_dts) * time_base)

    def finish(self, time_base: Fraction, clock: StreamClock) -> SegmentEvent:
        self.container.close()
        digest = self.file.finish()
        os.replace(self.file.path, self.final)
        start = clock.wall(self.base_dts)
        end = start + timedelta(seconds=self.seconds(time_base))
        return SegmentEvent(
            self.job.camera_id,
            self.job.facility_id,
            start,
            end,
            self.relative,
            self.file.size,
            digest,
            self.codec,
            self.width,
            self.height,
        )

    def abandon(self) -> None:
        try:
            self.container.close()
        except Exception:  # the connection failed mid-segment; keep what reached the disk
            log.debug("closing an interrupted segment failed", exc_info=True)
        self.file.abandon()


class StreamClock:
    """Maps stream time to wall-clock time for one connection.

    A packet cannot have been captured after it was received, so the earliest
    "received at minus stream time" seen is the best estimate of when stream time zero
    was. The first packets after connecting sat in the demuxer's probe buffer for about a
    second; the estimate has settled by the time a segment finishes and is stamped.
    """

    def __init__(self, time_base: Fraction) -> None:
        self.time_base = time_base
        self.first_dts: int | None = None
        self.origin = float("inf")

    def observe(self, dts: int) -> None:
        if self.first_dts is None:
            self.first_dts = dts
        self.origin = min(self.origin, time.time() - float((dts - self.first_dts) * self.time_base))

    def wall(self, dts: int) -> datetime:
        assert self.first_dts is not None
        offset = float((dts - self.first_dts) * self.time_base)
        return datetime.fromtimestamp(self.origin + offset, UTC)


class CameraIngest(threading.Thread):
    """Connects, records, reconnects with backoff; reports every state change."""

    def __init__(self, job: CameraJob, root: Path, emit: Emit) -> None:
        super().__init__(name=f"ingest-{job.camera_id}", daemon=True)
        self.job = job
        self.root = root
        self.emit = emit
        self.stop_event = threading.Event()
        self.status: StreamStatus | None = None
        self._recorded_until: datetime | None = None
        self._gap_open = False

    def stop(self) -> None:
        self.stop_event.set()

    def _set_status(self, status: StreamStatus, reason: str, **details: Any) -> None:
        if status == self.status and status != StreamStatus.DEGRADED:
            return
        self.status = status
        self.emit(StatusEvent(self.job.camera_id, status, reason, datetime.now(UTC), details))

    def _open_gap(self, reason: str, detail: str) -> None:
        if self._recorded_until is not None and not self._gap_open:
            self._gap_open = True
            self.emit(GapEvent(self.job.camera_id, self._recorded_until, reason, detail))

    def run(self) -> None:
        attempt = 0
        while not self.stop_event.is_set():
            outcome = self._session()
            if self.stop_event.is_set():
                break
            attempt = 0 if outcome == "recorded" else attempt + 1
            delay = 60.0 if outcome == "unsupported" else backoff_seconds(attempt)
            self.stop_event.wait(delay)
        self._set_status(StreamStatus.STOPPED, "recording stopped")

    def _session(self) -> str:
        job = self.job
        try:
            container = av.open(
                job.authenticated_url(),
                options={"rtsp_transport": job.transport},
                timeout=(job.open_timeout_s, job.read_timeout_s),
            )
        except av.error.HTTPUnauthorizedError:
            self._open_gap("auth_failed", "the camera refused the credentials")
            self._set_status(StreamStatus.AUTH_FAILED, "the camera refused the credentials")
            return "failed"
        except (av.error.FFmpegError, OSError) as exc:
            reason = _describe(exc)
            self._open_gap("offline", reason)
            self._set_status(StreamStatus.OFFLINE, reason)
            return "failed"
        try:
            if not container.streams.video:
                self._set_status(StreamStatus.UNSUPPORTED, "the stream has no video")
                return "unsupported"
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if codec not in COPYABLE_CODECS:
                self._open_gap("unsupported", f"codec {codec}")
                self._set_status(
                    StreamStatus.UNSUPPORTED, f"codec {codec} cannot be stream-copied into MP4", codec=codec
                )
                return "unsupported"
            return self._record(container, stream)
        finally:
            container.close()

    def _record(self, container: Any, stream: Any) -> str:
        job = self.job
        time_base: Fraction = stream.time_base
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        frame = round(1 / (rate * time_base)) if rate else 0
        writer: SegmentWriter | None = None
        clock = StreamClock(time_base)
        recorded = False
        try:
            for packet in container.demux(stream):
                if self.stop_event.is_set():
                    break
                if packet.dts is None or packet.size == 0:
                    continue
                if clock.first_dts is None:
                    self._set_status(
                        StreamStatus.ONLINE,
                        "receiving video",
                        codec=stream.codec_context.name,
                        width=stream.codec_context.width,
                        height=stream.codec_context.height,
                    )
                clock.observe(packet.dts)
                at = clock.wall(packet.dts)
                if writer is None:
                    if not packet.is_keyframe:
                        continue  # a segment must start with a keyframe to be playable alone
                    writer = self._start_segment(stream, at, packet.dts)
                elif packet.is_keyframe and writer.seconds(time_base) >= job.segment_seconds:
                    self._finish(writer, time_base, frame, clock)
                    writer = self._start_segment(stream, at, packet.dts)
                writer.write(packet, packet.duration or frame)
                recorded = True
        except (av.error.FFmpegError, OSError) as exc:
            reason = _describe(exc)
            if writer is not None:
                self._finish(writer, time_base, frame, clock)
                writer = None
            self._open_gap("offline", reason)
            self._set_status(StreamStatus.OFFLINE, reason)
        finally:
            if writer is not None:
                self._finish(writer, time_base, frame, clock)
        return "recorded" if recorded else "failed"

    def _start_segment(self, stream: Any, at: datetime, dts: int) -> SegmentWriter:
        self._gap_open = False
        return SegmentWriter(self.root, self.job, stream, at, dts)

    def _finish(self, writer: SegmentWriter, time_base: Fraction, frame: int, clock: StreamClock) -> None:
        if writer.packets == 0:
            writer.abandon()
            Path(writer.file.path).unlink(missing_ok=True)
            return
        event = writer.finish(time_base, clock)
        self._recorded_until = event.end
        self.emit(event)
        seconds = writer.seconds(time_base)
        if frame and seconds > 2:
            fps = writer.packets / seconds
            nominal = 1 / float(frame * time_base)
            if fps < 0.5 * nominal:
                self._set_status(
                    StreamStatus.DEGRADED,
                    f"frame rate {fps:.1f} fps, normal {nominal:.0f} fps",
                    fps=round(fps, 2),
                    nominal=round(nominal, 2),
                )
            elif self.status == StreamStatus.DEGRADED:
                self._set_status(StreamStatus.ONLINE, "frame rate back to normal")


def _describe(exc: BaseException) -> str:
    """A short reason for a failed connection, without credentials (URLs are not echoed)."""
    if isinstance(exc, ConnectionRefusedError) or "Connection refused" in str(exc):
        return "connection refused"
    if (
        isinstance(exc, av.error.ExitError)
        or "timed out" in str(exc).lower()
        or isinstance(exc, TimeoutError)
    ):
        return "no data: the connection timed out"
    if isinstance(exc, av.error.FFmpegError):
        return f"stream error: {exc.strerror or type(exc).__name__}"
    return (
        f"network error: {exc.strerror or type(exc).__name__}"
        if isinstance(exc, OSError)
        else type(exc).__name__
    )
