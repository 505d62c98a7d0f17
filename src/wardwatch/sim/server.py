"""Simulated RTSP cameras: GStreamer's RTSP server fed pre-encoded, clock-stamped H.264.

Every camera listens on a port of its own, so a stopped camera refuses connections the
way an unplugged one does, and serves ``/main`` (e.g. 1080p) and ``/sub`` (e.g. 360p).
One feeder thread paces all cameras: each tick it takes the next access unit of each
camera's loop, splices in the camera's name and the wall clock, prepends an SEI with the
exact capture time and pushes it into that camera's ``appsrc``. A second thread encodes
the next second's clock strips ahead of time so the feeder never waits for an encoder.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

from wardwatch.sim.faults import Fault, clock_runs, scene_for  # noqa: E402
from wardwatch.sim.h264 import PreparedStrip, TopSliceSplicer  # noqa: E402
from wardwatch.sim.loops import EncodedLoop, EncodeSpec, load_loop  # noqa: E402
from wardwatch.sim.scenes import Scene  # noqa: E402
from wardwatch.sim.sei import frame_time_sei, insert_before_first_slice  # noqa: E402
from wardwatch.sim.strip import StripEncoder, strip_text  # noqa: E402

log = logging.getLogger(__name__)

_PIPELINE = (
    "( appsrc name=src is-live=true format=time "
    "caps=video/x-h264,stream-format=byte-stream,alignment=au "
    "! rtph264pay name=pay0 pt=96 aggregate-mode=zero-latency mtu=60000 )"
)
"""The payloader takes whole access units straight from appsrc and re-inserts no SPS/PPS
(the loops carry them in every IDR; copies in front of each slice would make FFmpeg cut a
keyframe into one packet per slice). Its MTU is large because the cameras are served on
loopback, where RTP over interleaved TCP (and UDP, loopback MTU 64 KiB) takes big packets:
one or two packets a frame instead of dozens keeps 50 cameras' syscalls affordable."""

_ROLE = "camera-user"
FAULT_SCENES = (Scene.BLACK, Scene.BLURRED, Scene.YARD, Scene.STILL)


@dataclass(frozen=True)
class CameraConfig:
    index: int
    name: str
    port: int
    scene: Scene
    main: EncodeSpec
    sub: EncodeSpec | None
    username: str | None = None
    password: str | None = None

    def url(self, variant: str = "main", host: str = "127.0.0.1") -> str:
        return f"rtsp://{host}:{self.port}/{variant}"


class LoopLibrary:
    """Every loop a farm needs, encoded (or read from the cache) before serving starts."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self._loops: dict[tuple[Scene, EncodeSpec], EncodedLoop] = {}
        self._splicers: dict[tuple[Scene, EncodeSpec], TopSliceSplicer] = {}

    def prepare(self, wanted: set[tuple[Scene, EncodeSpec]], progress: Callable[[str], None]) -> None:
        for scene, spec in sorted(wanted, key=lambda w: (w[1].width, w[0].value)):
            if (scene, spec) not in self._loops:
                progress(f"{scene.value} {spec.width}x{spec.height}")
                loop = load_loop(scene, spec, self.cache_dir)
                self._loops[(scene, spec)] = loop
                self._splicers[(scene, spec)] = TopSliceSplicer.from_access_unit(loop.access_units[0])

    def loop(self, scene: Scene, spec: EncodeSpec) -> EncodedLoop:
        return self._loops[(scene, spec)]

    def splicer(self, scene: Scene, spec: EncodeSpec) -> TopSliceSplicer:
        return self._splicers[(scene, spec)]


@dataclass
class _Stream:
    """One variant (main or sub) of one camera as the feeder sees it."""

    spec: EncodeSpec
    scene: Scene
    position: int = 0
    appsrc: Any = None
    strip_au: bytes | None = None
    prepared: dict[Scene, PreparedStrip] = field(default_factory=dict)
    restart_at_keyframe: bool = False
    started_at: int | None = None  # pipeline running time of frame 0, in ns
    frames_sent: int = 0


class SimCamera:
    def __init__(self, config: CameraConfig, library: LoopLibrary) -> None:
        self.config = config
        self.library = library
        self.fault = Fault.HEALTHY
        self.lock = threading.Lock()
        self.streams = {"main": _Stream(config.main, config.scene)}
        if config.sub is not None:
            self.streams["sub"] = _Stream(config.sub, config.scene)
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address("127.0.0.1")
        self.server.set_service(str(config.port))
        self.auth: Any = None
        self.source_id: int | None = None
        mounts = self.server.get_mount_points()
        for variant in self.streams:
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(_PIPELINE)
            factory.set_shared(True)
            factory.add_role_from_structure(
                Gst.Structure.new_from_string(
                    f"{_ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
                )
            )
            factory.connect("media-configure", self._on_configure, variant)
            mounts.add_factory(f"/{variant}", factory)
        self._apply_credentials(config.username, config.password)

    # -- wiring ----------------------------------------------------------------------

    def _on_configure(self, _factory: Any, media: Any, variant: str) -> None:
        appsrc = media.get_element().get_by_name("src")
        with self.lock:
            stream = self.streams[variant]
            stream.appsrc = appsrc
            stream.started_at, stream.frames_sent = None, 0
            # A new viewer can only start decoding at a keyframe: jump to the next one.
            stream.restart_at_keyframe = True
        media.connect("unprepared", self._on_unprepared, variant)

    def _on_unprepared(self, _media: Any, variant: str) -> None:
        with self.lock:
            self.streams[variant].appsrc = None

    def _apply_credentials(self, username: str | None, password: str | None) -> None:
        if username is None or password is None:
            self.server.set_auth(None)
            self.auth = None
            return
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", _ROLE)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(username, password), token)
        self.server.set_auth(auth)
        self.auth = auth

    def listen(self, attempts: int = 50) -> None:
        """Listen on the camera's port (on the GLib loop).

        After a stop, the old listening socket is closed when GLib finalises its source,
        which can lag the removal; until then the port cannot be bound and ``attach``
        returns 0. Retry for a while instead of recording 0 as a source id.
        """
        if self.source_id is not None or self.fault == Fault.STOP:
            return
        source_id = self.server.attach(None)
        if source_id:
            self.source_id = source_id
            return
        if attempts <= 0:
            log.error("a simulated camera could not listen again", extra={"port": self.config.port})
            return

        def retry() -> bool:
            self.listen(attempts - 1)
            return False

        GLib.timeout_add(200, retry)

    def close_port(self) -> None:
        """Stop listening (new connections are refused) and drop every connected client."""
        if self.source_id:
            GLib.source_remove(self.source_id)
        self.source_id = None
        self.server.client_filter(lambda _server, _client: GstRtspServer.RTSPFilterResult.REMOVE)

    # -- faults ------------------------------------------------------------------------

    def set_fault(self, fault: Fault) -> None:
        """Runs on the GLib main loop, which owns the RTSP server."""
        with self.lock:
            previous = self.fault
            self.fault = fault
            for stream in self.streams.values():
                scene = scene_for(self.config.scene, fault)
                if scene != stream.scene:
                    stream.scene = scene
                    stream.position = 0
                elif previous == Fault.STALL:
                    stream.restart_at_keyframe = True
        if fault == Fault.STOP:
            self.close_port()
        elif previous == Fault.STOP:
            self.listen()
        if fault == Fault.WRONG_CREDENTIALS:
            username = self.config.username or "admin"
            self._apply_credentials(username, secrets.token_urlsafe(12))
            self.server.client_filter(lambda _server, _client: GstRtspServer.RTSPFilterResult.REMOVE)
        elif previous == Fault.WRONG_CREDENTIALS:
            self._apply_credentials(self.config.username, self.config.password)

    # -- feeding -------------------------------------------------------------------------

    def update_strip(self, variant: str, strip_au: bytes) -> None:
        with self.lock:
            if not clock_runs(self.fault):
                return
            stream = self.streams[variant]
            stream.strip_au = strip_au
            stream.prepared = {}

    def next_access_unit(self, variant: str, now_us: int) -> tuple[Any, Any] | None:
        """The appsrc and the buffer to push to it now, or None when nothing is to be sent.

        Buffers are stamped on an exact frame cadence from the pipeline's running time,
        not with the moment they are pushed: a camera's clock ticks evenly even when the
        simulator's feeding thread is briefly late.
        """
        with self.lock:
            stream = self.streams[variant]
            if stream.appsrc is None or self.fault in (Fault.STOP, Fault.STALL):
                return None
            if stream.started_at is None:
                running = int(stream.appsrc.get_current_running_time())
                if running == Gst.CLOCK_TIME_NONE:
                    return None  # the pipeline is not playing yet: nothing to stamp against
                stream.started_at = running
            loop = self.library.loop(stream.scene, stream.spec)
            if stream.restart_at_keyframe:
                stream.position = loop.next_keyframe(stream.position)
                stream.restart_at_keyframe = False
            unit = loop.access_units[stream.position]
            stream.position = (stream.position + 1) % len(loop)
            if stream.strip_au is not None:
                prepared = stream.prepared.get(stream.scene)
                splicer = self.library.splicer(stream.scene, stream.spec)
                if prepared is None:
                    prepared = stream.prepared[stream.scene] = splicer.prepare(stream.strip_au)
                unit = splicer.splice(unit, prepared)
            data = insert_before_first_slice(unit, frame_time_sei(now_us))
            period = 1_000_000_000 // stream.spec.fps
            buffer = Gst.Buffer.new_wrapped(data)
            buffer.pts = buffer.dts = stream.started_at + stream.frames_sent * period
            buffer.duration = period
            stream.frames_sent += 1
            return stream.appsrc, buffer


class CameraFarm:
    """All simulated cameras of one process, their RTSP servers and their feeding threads."""

    def __init__(self, configs: list[CameraConfig], cache_dir: Path) -> None:
        Gst.init(None)
        self.library = LoopLibrary(cache_dir)
        self.configs = configs
        self.cameras: list[SimCamera] = []
        self._main_loop = GLib.MainLoop()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.fps = configs[0].main.fps if configs else 25

    def prepare(self, progress: Callable[[str], None] = lambda _: None) -> None:
        wanted: set[tuple[Scene, EncodeSpec]] = set()
        for config in self.configs:
            for spec in (config.main, config.sub):
                if spec is not None:
                    wanted |= {(config.scene, spec)} | {(scene, spec) for scene in FAULT_SCENES}
        self.library.prepare(wanted, progress)

    def start(self) -> None:
        self.cameras = [SimCamera(config, self.library) for config in self.configs]
        for camera in self.cameras:
            camera.listen()
        self._threads = [
            threading.Thread(target=self._main_loop.run, name="sim-glib", daemon=True),
            threading.Thread(target=self._feed, name="sim-feeder", daemon=True),
            threading.Thread(target=self._stamp, name="sim-clock", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for camera in self.cameras:
            self._on_glib(camera.close_port)
        self._main_loop.quit()
        for thread in self._threads:
            thread.join(timeout=5)

    def _on_glib(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the GLib main loop and wait for it (the RTSP server is not thread-safe)."""
        done = threading.Event()
        error: list[BaseException] = []

        def call() -> bool:
            try:
                fn()
            except BaseException as exc:  # handed back to the caller
                error.append(exc)
            done.set()
            return False

        GLib.idle_add(call)
        if not done.wait(timeout=5):
            raise TimeoutError("the simulator's main loop did not respond")
        if error:
            raise error[0]

    def set_fault(self, index: int, fault: Fault) -> None:
        camera = self.camera(index)
        self._on_glib(lambda: camera.set_fault(fault))
        log.info("simulated camera fault", extra={"camera": index, "fault": fault.value})

    def camera(self, index: int) -> SimCamera:
        if not 0 <= index < len(self.cameras):
            raise KeyError(index)
        return self.cameras[index]

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for camera in self.cameras:
            config = camera.config
            rows.append(
                {
                    "index": config.index,
                    "name": config.name,
                    "main_url": config.url("main"),
                    "sub_url": config.url("sub") if config.sub is not None else None,
                    "scene": config.scene.value,
                    "fault": camera.fault.value,
                    "credentials": config.username is not None,
                    "resolution": f"{config.main.width}x{config.main.height}",
                }
            )
        return rows

    # -- threads -----------------------------------------------------------------------

    def _feed(self) -> None:
        period = 1.0 / self.fps
        deadline = time.monotonic()
        while not self._stop.is_set():
            now_us = time.time_ns() // 1000
            for camera in self.cameras:
                for variant in camera.streams:
                    try:
                        item = camera.next_access_unit(variant, now_us)
                        if item is not None:
                            appsrc, buffer = item
                            appsrc.emit("push-buffer", buffer)
                    except Exception:
                        log.exception(
                            "feeding a simulated camera failed",
                            extra={"camera": camera.config.index, "variant": variant},
                        )
            deadline += period
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.5:
                deadline = time.monotonic()  # stalled for long (a suspended process): start afresh

    def _stamp(self) -> None:
        """Encode each second's clock strips half a second ahead, then publish them on time."""
        encoders: dict[EncodeSpec, StripEncoder] = {}
        while not self._stop.is_set():
            target = int(time.time()) + 1
            upcoming: list[tuple[SimCamera, str, bytes]] = []
            moment = datetime.fromtimestamp(target)
            for camera in self.cameras:
                for variant, stream in camera.streams.items():
                    encoder = encoders.get(stream.spec)
                    if encoder is None:
                        encoder = encoders[stream.spec] = StripEncoder(stream.spec)
                    upcoming.append((camera, variant, encoder.encode(strip_text(camera.config.name, moment))))
            wait = target - time.time()
            if wait > 0 and self._stop.wait(wait):
                return
            for camera, variant, strip_au in upcoming:
                camera.update_strip(variant, strip_au)
