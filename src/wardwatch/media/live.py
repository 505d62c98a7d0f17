"""Live view: one shared RTSP puller per camera stream, fanned out to many viewers as fMP4.

A viewer subscribes to a camera's ``main`` or ``sub`` stream. The first subscriber starts
a puller thread that connects with PyAV (RTSP over TCP, FFmpeg's own socket timeout) and
boxes each H.264 frame, as it arrives and without transcoding, into an MP4 fragment for
the browser's Media Source Extensions. Every later subscriber of the same stream shares
that puller. Subscribers start at the next keyframe, each with its own clock (decode
times count from its first keyframe), and each has a bounded queue: one that cannot keep
up loses what is queued and resumes at the next keyframe, so the puller never waits for
anyone. A puller stops a few seconds after its last subscriber leaves, and the latest
keyframe it saw serves snapshots.

A stream that cannot be watched ends every subscription with a status and a reason:
``offline`` (unreachable, refused, timed out, or the camera ended the stream),
``auth_failed``, ``unsupported`` (a codec other than H.264, named), or ``ended``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import av

from wardwatch.kernel.db import Database
from wardwatch.kernel.i18n import t
from wardwatch.media.ingest import CameraJob
from wardwatch.media.live_frames import Boxer, Frame, StreamInfo
from wardwatch.media.model import BROWSER_CODECS
from wardwatch.registry.service import CameraAccess, RegistryService

log = logging.getLogger(__name__)

VARIANTS = ("sub", "main")
KIND_INIT = 0
KIND_MEDIA = 1
_HEADER = struct.Struct(">BQQ")
_NO_PROBE = {"probesize": "32", "analyzeduration": "0", "fpsprobesize": "0"}


class LiveStatus(StrEnum):
    OFFLINE = "offline"
    AUTH_FAILED = "auth_failed"
    UNSUPPORTED = "unsupported"
    ENDED = "ended"


@dataclass(frozen=True)
class LiveSource:
    """One stream of one camera: the unit a puller serves."""

    camera_id: str
    facility_id: str
    variant: str
    url: str = field(repr=False)

    @classmethod
    def of(cls, camera: CameraAccess, variant: str) -> LiveSource:
        """``sub`` falls back to ``main`` when the camera has no sub stream."""
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}")
        if variant == "sub" and camera.sub_url:
            return cls(camera.id, camera.facility_id, "sub", camera.sub_url)
        return cls(camera.id, camera.facility_id, "main", camera.main_url)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.camera_id, self.variant, self.url


@dataclass(frozen=True)
class LiveEnd:
    """Why a stream stopped, as a status and a translatable reason."""

    status: LiveStatus
    reason_code: str
    params: dict[str, str] = field(default_factory=dict)

    def reason(self, locale: str | None = None) -> str:
        return t(f"live.reason.{self.reason_code}", locale, **self.params)


@dataclass(frozen=True)
class LiveChunk:
    """A binary message for one subscriber: kind, capture time, its own decode time, fMP4."""

    kind: int
    capture_us: int
    decode_us: int
    parts: tuple[bytes, ...]
    info: StreamInfo | None = None

    @property
    def data(self) -> bytes:
        return b"".join(self.parts)

    def wire(self) -> bytes:
        """The WebSocket message: 1 byte kind, uint64 BE capture µs, uint64 BE decode µs, fMP4."""
        return b"".join((_HEADER.pack(self.kind, self.capture_us, self.decode_us), *self.parts))


Item = LiveChunk | LiveEnd


class Subscription:
    """One viewer's bounded queue; read with ``await next()`` or, from a thread, ``get()``."""

    def __init__(self, hub: LiveHub, source: LiveSource, capacity: int) -> None:
        self.hub = hub
        self.source = source
        self.capacity = capacity
        self.skips = 0
        """How many times the queue overflowed and the subscriber skipped to a keyframe."""
        self._cond = threading.Condition()
        self._queue: collections.deque[Frame] = collections.deque()
        self._await_key = True
        self._held: Frame | None = None
        self._init_version: int | None = None
        self._base_dts: int | None = None
        self.frame: Frame | None = None
        """The frame of the last media chunk taken (a snapshot decodes it)."""
        self._end: LiveEnd | None = None
        self._closed = False
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    # ---------------------------------------------------------------- producer side

    def _offer(self, frame: Frame) -> None:
        with self._cond:
            if self._closed or self._end is not None:
                return
            if self._await_key:
                if not frame.keyframe:
                    return
                self._await_key = False
            elif len(self._queue) >= self.capacity:
                # Too slow: what is queued is stale. Resume at a keyframe, never block the puller.
                self._queue.clear()
                self.skips += 1
                if not frame.keyframe:
                    self._await_key = True
                    return
            self._queue.append(frame)
            self._wake()

    def _finish(self, end: LiveEnd) -> None:
        with self._cond:
            if self._end is None:
                self._end = end
            self._wake()

    def _wake(self) -> None:
        self._cond.notify_all()
        if self._waiter is not None:
            loop, future = self._waiter
            self._waiter = None
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # the reader's event loop is gone; nobody is waiting any more
                log.debug("a live subscriber's event loop closed")

    # ---------------------------------------------------------------- consumer side

    def _take(self) -> Item | None:
        frame = self._held
        if frame is not None:
            self._held = None
        elif self._queue:
            frame = self._queue.popleft()
            if frame.init.version != self._init_version:
                # The init segment goes first, and again whenever the stream's parameters change.
                self._init_version = frame.init.version
                self._held = frame
                return LiveChunk(
                    KIND_INIT,
                    frame.capture_us,
                    self._decode_us(frame),
                    (frame.init.data,),
                    frame.init.info,
                )
        elif self._end is not None:
            return self._end
        elif self._closed:
            return LiveEnd(LiveStatus.ENDED, "closed")
        else:
            return None
        if self._base_dts is None:
            self._base_dts = frame.dts
        self.frame = frame
        ticks = frame.dts - self._base_dts
        return LiveChunk(KIND_MEDIA, frame.capture_us, self._decode_us(frame), frame.fragment.parts(ticks))

    def _decode_us(self, frame: Frame) -> int:
        base = frame.dts if self._base_dts is None else self._base_dts
        return (frame.dts - base) * 1_000_000 // frame.timescale

    async def next(self) -> Item:
        """The next message for this subscriber; a :class:`LiveEnd` is the last."""
        loop = asyncio.get_running_loop()
        while True:
            with self._cond:
                item = self._take()
                if item is not None:
                    return item
                future: asyncio.Future[None] = loop.create_future()
                self._waiter = (loop, future)
            try:
                await future
            finally:
                with self._cond:
                    if self._waiter is not None and self._waiter[1] is future:
                        self._waiter = None

    def get(self, timeout: float) -> Item:
        """Blocking :meth:`next` for threads; raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                item = self._take()
                if item is not None:
                    return item
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no live data in time")
                self._cond.wait(left)

    def close(self) -> None:
        """Leave; the puller stops once its last subscriber has been gone a while."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._queue.clear()
            self._wake()
        self.hub._leave(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


Credentials = Callable[[str], tuple[str, str] | None]


class Puller(threading.Thread):
    """Pulls one stream and boxes every frame once; the hub owns its subscribers."""

    def __init__(self, hub: LiveHub, source: LiveSource) -> None:
        super().__init__(name=f"live-{source.camera_id}-{source.variant}", daemon=True)
        self.hub = hub
        self.source = source
        self.subscribers: set[Subscription] = set()
        self.targets: tuple[Subscription, ...] = ()
        self.idle_since: float | None = None
        self.retired = False
        self.last_keyframe: Frame | None = None
        self.stop_event = threading.Event()

    def run(self) -> None:
        end = LiveEnd(LiveStatus.ENDED, "stream_error")
        try:
            end = self._pull()
        except av.error.FFmpegError as exc:  # its text holds the URL, credentials and all
            log.error("live puller failed", extra={**self._log_extra(), "error": type(exc).__name__})
        except Exception:
            log.exception("live puller failed", extra=self._log_extra())
        finally:
            self.hub._retire(self, end)
        log.info("live puller stopped", extra={**self._log_extra(), "reason": end.reason_code})

    def _log_extra(self) -> dict[str, Any]:
        return {"camera_id": self.source.camera_id, "variant": self.source.variant}

    def _pull(self) -> LiveEnd:
        source = self.source
        credentials = self.hub.credentials(source.camera_id)
        username, password = credentials if credentials else (None, None)
        url = CameraJob(
            source.camera_id, source.facility_id, source.url, username, password
        ).authenticated_url()
        log.info("live puller connecting", extra=self._log_extra())
        try:
            container = av.open(
                url,
                options={
                    "rtsp_transport": self.hub.transport,
                    "timeout": str(int(self.hub.read_timeout_s * 1_000_000)),
                    # No probing: the codec is in the SDP and the rest in the first keyframe.
                    # FFmpeg's frame-rate probe alone would hold a second of video back.
                    **_NO_PROBE,
                },
            )
        except (av.error.HTTPUnauthorizedError, av.error.HTTPForbiddenError):
            return LiveEnd(LiveStatus.AUTH_FAILED, "credentials_refused")
        except (av.error.FFmpegError, OSError) as exc:
            return LiveEnd(LiveStatus.OFFLINE, failure_reason(exc))
        try:
            if not container.streams.video:
                return LiveEnd(LiveStatus.UNSUPPORTED, "no_video")
            stream = container.streams.video[0]
            codec = stream.codec_context.name
            if codec not in BROWSER_CODECS:
                return LiveEnd(LiveStatus.UNSUPPORTED, "codec", {"codec": codec})
            return self._relay(container, stream)
        except (av.error.FFmpegError, OSError) as exc:
            return LiveEnd(LiveStatus.OFFLINE, failure_reason(exc))
        finally:
            container.close()

    def _relay(self, container: Any, stream: Any) -> LiveEnd:
        boxer = Boxer(stream)
        for packet in container.demux(stream):
            received_us = time.time_ns() // 1000
            if self.stop_event.is_set():
                return LiveEnd(LiveStatus.ENDED, "server_stopping")
            if self.hub._idle_expired(self):
                return LiveEnd(LiveStatus.ENDED, "idle")
            for frame in boxer.push(packet, received_us):
                if frame.keyframe:
                    self.last_keyframe = frame
                for subscription in self.targets:
                    subscription._offer(frame)
            if boxer.hopeless:
                return LiveEnd(LiveStatus.UNSUPPORTED, "no_parameter_sets")
        return LiveEnd(LiveStatus.OFFLINE, "stream_ended")


def failure_reason(exc: BaseException) -> str:
    """A reason code for a failed stream. Never the exception's text: it holds the URL."""
    text = (getattr(exc, "strerror", None) or "").lower()
    if isinstance(exc, ConnectionRefusedError | av.error.ConnectionRefusedError) or "refused" in text:
        return "connection_refused"
    if isinstance(exc, TimeoutError | av.error.TimeoutError | av.error.ExitError) or "timed out" in text:
        return "timed_out"
    if isinstance(exc, av.error.EOFError) or "end of file" in text:
        return "stream_ended"
    if "unreachable" in text or "no route" in text or "resolve" in text or "not known" in text:
        return "unreachable"
    return "stream_error"


def registry_credentials(db: Database, registry: RegistryService) -> Credentials:
    """Look a camera's credentials up when a puller connects (so a change applies at once)."""

    def lookup(camera_id: str) -> tuple[str, str] | None:
        with db.read() as conn:
            return registry.camera_credentials(conn, camera_id)

    return lookup


class LiveHub:
    """The shared pullers of every camera stream being watched, owned by the container."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        transport: str = "tcp",
        read_timeout_s: float = 3.0,
        linger_s: float = 5.0,
        queue_frames: int = 50,
        access_recheck_s: float = 30.0,
    ) -> None:
        self.credentials = credentials
        self.transport = transport
        self.read_timeout_s = read_timeout_s
        self.linger_s = linger_s
        self.queue_frames = queue_frames
        self.access_recheck_s = access_recheck_s
        """How often a live viewer's access is checked again while they watch."""
        self._lock = threading.Lock()
        self._pullers: dict[tuple[str, str, str], Puller] = {}

    def subscribe(self, source: LiveSource) -> Subscription:
        """Join (or start) the stream's puller; the subscription starts at the next keyframe."""
        subscription = Subscription(self, source, self.queue_frames)
        with self._lock:
            puller = self._pullers.get(source.key)
            if puller is None:
                puller = Puller(self, source)
                self._pullers[source.key] = puller
                puller.start()
            puller.subscribers.add(subscription)
            puller.targets = tuple(puller.subscribers)
            puller.idle_since = None
        return subscription

    def latest_keyframe(self, source: LiveSource, timeout_s: float) -> Frame | LiveEnd:
        """The running puller's last keyframe, or the first one of a fresh pull (bounded wait)."""
        with self._lock:
            puller = self._pullers.get(source.key)
            cached = puller.last_keyframe if puller is not None else None
        if cached is not None:
            return cached
        with self.subscribe(source) as subscription:
            deadline = time.monotonic() + timeout_s
            while True:
                item = subscription.get(max(0.0, deadline - time.monotonic()))
                if isinstance(item, LiveEnd):
                    return item
                if item.kind == KIND_MEDIA and subscription.frame is not None:
                    return subscription.frame

    def pullers(self) -> dict[tuple[str, str], int]:
        """(camera, variant) -> subscriber count of each running puller."""
        with self._lock:
            return {
                (p.source.camera_id, p.source.variant): len(p.subscribers) for p in self._pullers.values()
            }

    def stop(self, timeout_s: float = 5.0) -> None:
        """End every live stream (subscribers are told the server is stopping)."""
        with self._lock:
            pullers = list(self._pullers.values())
        for puller in pullers:
            puller.stop_event.set()
            for subscription in puller.targets:
                subscription._finish(LiveEnd(LiveStatus.ENDED, "server_stopping"))
        deadline = time.monotonic() + timeout_s
        for puller in pullers:
            puller.join(max(0.0, deadline - time.monotonic()))

    def _leave(self, subscription: Subscription) -> None:
        with self._lock:
            puller = self._pullers.get(subscription.source.key)
            if puller is None or subscription not in puller.subscribers:
                return
            puller.subscribers.discard(subscription)
            puller.targets = tuple(puller.subscribers)
            if not puller.subscribers:
                puller.idle_since = time.monotonic()

    def _idle_expired(self, puller: Puller) -> bool:
        """Whether the puller has had no subscriber for ``linger_s``; if so it is retired now,
        under the lock, so a viewer arriving at this moment gets a fresh puller."""
        since = puller.idle_since
        if since is None or time.monotonic() - since < self.linger_s:
            return False
        with self._lock:
            if puller.subscribers or puller.retired:
                return False
            self._detach(puller)
        return True

    def _retire(self, puller: Puller, end: LiveEnd) -> None:
        with self._lock:
            self._detach(puller)
            targets = tuple(puller.subscribers)
            puller.subscribers.clear()
            puller.targets = ()
        for subscription in targets:
            subscription._finish(end)

    def _detach(self, puller: Puller) -> None:
        puller.retired = True
        if self._pullers.get(puller.source.key) is puller:
            del self._pullers[puller.source.key]
