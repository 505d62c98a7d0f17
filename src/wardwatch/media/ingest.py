"""Pulling one camera's stream and recording it, without transcoding, into fMP4 segments.

Each camera has one ingest thread inside a recorder worker process. It connects with
PyAV (RTSP over TCP by default), stream-copies packets into fragmented-MP4 segments of
about ten seconds (cut at keyframes), and reports what happens as plain messages:
status changes with a reason, finished segments with their hash, and gaps.

Crash safety comes from how segments are written: a fragment every half second, each
handed to the kernel as soon as it is complete (no user-space buffer to lose), under a
``.partial`` name that is renamed only once the segment is complete, synced and hashed;
the directory is synced after the rename so that a power cut cannot undo it.

Reads are batched. Woken for every frame, an ingest thread spends more on waking up and
on handing the GIL to and fro than on the frame itself: with 25 cameras in a process that
was a quarter of the recorder's CPU. So once a thread has caught up with its camera (the
packet it just read is as recent as the stream clock says a packet can be) it sleeps for
``read_batch_s`` and lets the next frames gather in the socket's buffer, then takes them
in one go. (A read that had to wait also counts as caught up, when the packet is less
than half a batch late: that covers cameras whose frames arrive with jitter.) What a
``kill -9`` can lose per camera is then what sat in the socket (at most one and a half
``read_batch_s``), the fragment being built (at most ``FRAGMENT_US``) and the frame the
H.264 parser holds back: at most about 1.3 s with the defaults, inside the 2 s allowed.
Recording does not need low latency; live view keeps its own connection.
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

from wardwatch.kernel.workers import backoff_seconds
from wardwatch.media.model import (
    COPYABLE_CODECS,
    PARTIAL_SUFFIX,
    StreamStatus,
    segment_dir,
    segment_name,
)

log = logging.getLogger(__name__)

FRAGMENT_US = 500_000
"""Two fMP4 fragments a second: a killed recorder loses at most the fragment in progress."""
READ_BATCH_S = 0.5
"""How long a caught-up ingest thread lets packets gather before it reads them (TCP only)."""
BLOCKED_S = 0.005
"""A read that took longer than this waited for the camera: the thread had caught up."""


@dataclass(frozen=True)
class CameraJob:
    camera_id: str
    facility_id: str
    url: str
    username: str | None
    password: str | None
    segment_seconds: float = 10.0
    transport: str = "tcp"
    read_timeout_s: float = 3.0
    read_batch_s: float = READ_BATCH_S

    def batch_s(self) -> float:
        """Over TCP, frames left waiting are held back by flow control; over UDP, whatever
        overflows the socket's buffer is dropped, so a UDP stream is read frame by frame."""
        return self.read_batch_s if self.transport == "tcp" else 0.0

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


class StorageError(Exception):
    """Writing a segment to disk failed: the fault is the disk's, not the camera's."""

    def __init__(self, exc: OSError) -> None:
        super().__init__(exc.strerror or type(exc).__name__)


def sync_and_hash(path: Path) -> tuple[str, int]:
    """fsync a finished segment; its SHA-256 (read back from the page cache) and size."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
        return digest, os.fstat(handle.fileno()).st_size


def sync_directory(path: Path) -> None:
    """Make the directory's entries (a rename, a new subdirectory) survive a power cut."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_directories(root: Path, directory: Path) -> None:
    """Create ``directory`` under ``root`` with every new entry synced into its parent."""
    if directory.is_dir():
        return
    root.mkdir(parents=True, exist_ok=True)
    missing = [directory, *(p for p in directory.parents if root in p.parents)]
    for new in reversed(missing):
        try:
            new.mkdir()
        except FileExistsError:
            continue  # another camera's thread made it, and synced it
        sync_directory(new.parent)


class SegmentWriter:
    """One segment: packets in, a synced and renamed file and its index entry out."""

    def __init__(self, root: Path, job: CameraJob, template: Any, start: datetime, first_dts: int) -> None:
        relative = segment_dir(job.facility_id, job.camera_id, start) / segment_name(start)
        self.relative = str(relative)
        self.final = root / relative
        self.partial = self.final.with_name(self.final.name + PARTIAL_SUFFIX)
        make_directories(root, self.partial.parent)
        # FFmpeg writes the file itself (no Python in the write path) and flushes after
        # every packet (flush_packets), so each fragment reaches the kernel when it is
        # complete: a killed recorder loses only the fragment it was building.
        self.container = av.open(
            str(self.partial),
            "w",
            format="mp4",
            options={
                "movflags": "frag_keyframe+empty_moov+default_base_moof",
                "frag_duration": str(FRAGMENT_US),
                "flush_packets": "1",
            },
        )
        self.stream = self.container.add_stream_from_template(template)
        self.job = job
        self.base_dts = first_dts
        self.last_end_dts = first_dts
        self.packets = 0
        ctx = template.codec_context
        self.codec, self.width, self.height = ctx.name, ctx.width or 0, ctx.height or 0

    def write(self, packet: Any, duration: int) -> None:
        dts = packet.dts
        pts = packet.pts
        packet.dts = dts - self.base_dts
        packet.pts = (pts if pts is not None else dts) - self.base_dts
        packet.stream = self.stream
        self.container.mux_one(packet)
        self.last_end_dts = dts + duration
        self.packets += 1

    def seconds(self, time_base: Fraction) -> float:
        return float((self.last_end_dts - self.base_dts) * time_base)

    def finish(self, time_base: Fraction, clock: StreamClock) -> SegmentEvent:
        self.container.close()
        digest, size = sync_and_hash(self.partial)
        os.replace(self.partial, self.final)
        sync_directory(self.final.parent)
        start = clock.wall(self.base_dts)
        end = start + timedelta(seconds=self.seconds(time_base))
        return SegmentEvent(
            self.job.camera_id,
            self.job.facility_id,
            start,
            end,
            self.relative,
            size,
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


class StreamClock:
    """Maps stream time to wall-clock time for one connection.

    A packet cannot have been captured after it was received, so the earliest
    "received at minus stream time" seen is the best estimate of when stream time zero
    was. The first packets after connecting sat in the demuxer's probe buffer for about a
    second; the estimate has settled by the time a segment finishes and is stamped.

    The minimum is taken over the last one to two ``EPOCH_S`` windows, not for ever: a
    camera whose clock runs slow would otherwise drift ever earlier than the wall clock,
    and the batched reads (which rest whenever a packet is no later than that estimate
    says it could be) would stop resting.
    """

    EPOCH_S = 30.0

    def __init__(self, time_base: Fraction) -> None:
        self.time_base = time_base
        self.first_dts: int | None = None
        self.origin = float("inf")
        self._tb = float(time_base)
        self._previous = self._current = float("inf")
        self._epoch_ends = 0.0

    def observe(self, dts: int) -> float:
        """Note a packet received now; returns how much later it came than it could have."""
        now = time.time()
        if self.first_dts is None:
            self.first_dts = dts
            self._tb = float(self.time_base)
            self._epoch_ends = now + self.EPOCH_S
        offset = now - (dts - self.first_dts) * self._tb
        if now >= self._epoch_ends:
            self._previous, self._current = self._current, offset
            self._epoch_ends = now + self.EPOCH_S
        else:
            self._current = min(self._current, offset)
        self.origin = min(self._previous, self._current)
        return offset - self.origin

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
            # FFmpeg's own socket timeout (microseconds), not PyAV's: PyAV's runs a Python
            # callback that takes the GIL every time FFmpeg checks for an interrupt.
            container = av.open(
                job.authenticated_url(),
                options={
                    "rtsp_transport": job.transport,
                    "timeout": str(int(job.read_timeout_s * 1_000_000)),
                },
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
        time_base: Fraction = stream.time_base
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        frame = round(1 / (rate * time_base)) if rate else 0
        # Cut at the first keyframe within half a frame of the target length, in stream ticks:
        # a camera whose clock runs a hair fast must not get a segment one GOP longer.
        cut_after = int(self.job.segment_seconds / float(time_base)) - frame // 2
        writer: SegmentWriter | None = None
        clock = StreamClock(time_base)
        recorded = False
        stopping, batch = self.stop_event.is_set, self.job.batch_s()
        live_edge = float(frame * time_base) if frame else 0.04
        monotonic, sleep = time.monotonic, time.sleep
        asked = monotonic()
        try:
            for packet in container.demux(stream):
                dts = packet.dts
                if dts is None or packet.size == 0:
                    continue
                if stopping():
                    break
                if clock.first_dts is None:
                    self._receiving(stream)
                waited = monotonic() - asked
                late = clock.observe(dts)
                if writer is None:
                    if not packet.is_keyframe:
                        asked = monotonic()
                        continue  # a segment must start with a keyframe to be playable alone
                    writer = self._start_segment(stream, clock.wall(dts), dts)
                elif packet.is_keyframe and writer.last_end_dts - writer.base_dts >= cut_after:
                    finished, writer = writer, None
                    self._finish(finished, time_base, frame, clock)
                    writer = self._start_segment(stream, clock.wall(dts), dts)
                writer.write(packet, packet.duration or frame)
                recorded = True
                if batch and (late < live_edge or (waited > BLOCKED_S and late < batch / 2)):
                    # Caught up with the camera: let a batch of packets gather in the socket
                    # rather than waking for each one (see the module docstring).
                    sleep(batch)
                asked = monotonic()
        except StorageError as exc:
            self._storage_failed(exc)
            recorded = False  # back off: reconnecting at once would fail the same way
        except (av.error.FFmpegError, OSError) as exc:
            reason = _describe(exc)
            if writer is not None:
                finished, writer = writer, None
                recorded = self._finish_or_report(finished, time_base, frame, clock) and recorded
            self._open_gap("offline", reason)
            self._set_status(StreamStatus.OFFLINE, reason)
        finally:
            if writer is not None:
                self._finish_or_report(writer, time_base, frame, clock)
        return "recorded" if recorded else "failed"

    def _receiving(self, stream: Any) -> None:
        ctx = stream.codec_context
        self._set_status(
            StreamStatus.ONLINE, "receiving video", codec=ctx.name, width=ctx.width, height=ctx.height
        )

    def _start_segment(self, stream: Any, at: datetime, dts: int) -> SegmentWriter:
        self._gap_open = False
        try:
            return SegmentWriter(self.root, self.job, stream, at, dts)
        except OSError as exc:
            raise StorageError(exc) from exc

    def _storage_failed(self, exc: StorageError) -> None:
        reason = f"recording failed: cannot write segments ({exc})"
        log.error("cannot write segments", extra={"camera": self.job.camera_id, "error": str(exc)})
        self._open_gap("storage_error", reason)
        self._set_status(StreamStatus.OFFLINE, reason)

    def _finish_or_report(
        self, writer: SegmentWriter, time_base: Fraction, frame: int, clock: StreamClock
    ) -> bool:
        try:
            self._finish(writer, time_base, frame, clock)
        except StorageError as exc:
            self._storage_failed(exc)
            return False
        return True

    def _finish(self, writer: SegmentWriter, time_base: Fraction, frame: int, clock: StreamClock) -> None:
        if writer.packets == 0:
            writer.abandon()
            writer.partial.unlink(missing_ok=True)
            return
        try:
            event = writer.finish(time_base, clock)
        except OSError as exc:
            writer.abandon()
            raise StorageError(exc) from exc
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
