"""Pre-encoded H.264 loops: what lets 50 simulated 1080p cameras run on two cores.

Each scene is encoded once per size (libx264 through PyAV) into a loop of whole GOPs and
cached on disk, so later starts take milliseconds. Serving a loop costs only pushing
bytes. The encoder settings make the loops spliceable: the top two macroblock rows of
every picture are their own slice (replaced at serving time by the camera's name and
the wall clock), CABAC is on, deblocking is off so nothing depends on those rows, and
there are no B-frames, so decode order is display order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from wardwatch.sim.scenes import STRIP_ROWS, Scene, SceneRenderer

log = logging.getLogger(__name__)

ENCODER_VERSION = 2
"""Bump when the encoder settings change, so cached loops are rebuilt."""


@dataclass(frozen=True)
class EncodeSpec:
    width: int
    height: int
    fps: int
    gop: int
    bitrate: int

    @property
    def mb_width(self) -> int:
        return self.width // 16

    def x264_params(self, keyint: int) -> str:
        params = [
            f"slice-max-mbs={self.mb_width * STRIP_ROWS // 16}",
            "no-deblock=1",
            f"keyint={keyint}",
            f"min-keyint={keyint}",
            "scenecut=0",
            "bframes=0",
            # With one reference frame FFmpeg's parser calls every picture whose first
            # slice is I a keyframe, and after splicing every picture's first slice is I.
            "ref=2",
            "repeat-headers=1",
            "annexb=1",
        ]
        return ":".join(params)


def spec_for(width: int, height: int, fps: int = 25) -> EncodeSpec:
    """About 4 Mbit/s at 1080p, scaled by area; a keyframe every two seconds."""
    bitrate = max(300_000, int(4_000_000 * (width * height) / (1920 * 1080)))
    return EncodeSpec(width, height, fps, gop=2 * fps, bitrate=bitrate)


def make_encoder(
    spec: EncodeSpec,
    *,
    keyint: int,
    height: int | None = None,
    threads: int = 0,
    low_latency: bool = False,
) -> av.video.codeccontext.VideoCodecContext:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width = spec.width
    ctx.height = height or spec.height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1, spec.fps)
    ctx.framerate = Fraction(spec.fps, 1)
    ctx.bit_rate = spec.bitrate
    options = {"preset": "superfast", "x264-params": spec.x264_params(keyint), "threads": str(threads)}
    if low_latency:
        # Each picture out as soon as it goes in; changes rate control, not coding tools.
        options["tune"] = "zerolatency"
    ctx.options = options
    return ctx


@dataclass
class EncodedLoop:
    """A seamless loop of access units (Annex B), starting with an IDR."""

    scene: Scene
    spec: EncodeSpec
    access_units: list[bytes]
    keyframes: list[int]

    def __len__(self) -> int:
        return len(self.access_units)

    def next_keyframe(self, index: int) -> int:
        """The index of the first keyframe at or after ``index`` (wrapping around)."""
        for k in self.keyframes:
            if k >= index % len(self):
                return k
        return self.keyframes[0]


def _cache_path(cache_dir: Path, scene: Scene, spec: EncodeSpec, frames: int) -> Path:
    key = json.dumps(
        [
            ENCODER_VERSION,
            scene.value,
            spec.width,
            spec.height,
            spec.fps,
            spec.gop,
            spec.bitrate,
            frames,
            av.__version__,
        ]
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir / f"{scene.value}-{spec.width}x{spec.height}-{digest}.loop"


def _write_cache(path: Path, loop: EncodedLoop) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with tmp.open("wb") as handle:
        handle.write(struct.pack(">I", len(loop.access_units)))
        for index, unit in enumerate(loop.access_units):
            handle.write(struct.pack(">IB", len(unit), 1 if index in loop.keyframes else 0))
            handle.write(unit)
    os.replace(tmp, path)


def _read_cache(path: Path, scene: Scene, spec: EncodeSpec) -> EncodedLoop | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        (count,) = struct.unpack_from(">I", data, 0)
        offset, units, keys = 4, [], []
        for index in range(count):
            size, key = struct.unpack_from(">IB", data, offset)
            offset += 5
            units.append(data[offset : offset + size])
            offset += size
            if key:
                keys.append(index)
    except struct.error:
        return None
    if offset != len(data) or not keys or keys[0] != 0:
        return None
    return EncodedLoop(scene, spec, units, keys)


def encode_loop(
    scene: Scene, spec: EncodeSpec, frames: int, progress: Callable[[int], None] | None = None
) -> EncodedLoop:
    if frames % spec.gop:
        raise ValueError("a loop must hold whole GOPs so it can wrap at a keyframe")
    renderer = SceneRenderer(scene, spec.width, spec.height)
    encoder = make_encoder(spec, keyint=spec.gop)
    units: list[bytes] = []
    keys: list[int] = []

    def collect(packets: list[av.Packet[av.video.stream.VideoStream]]) -> None:
        for packet in packets:
            if packet.is_keyframe:
                keys.append(len(units))
            units.append(bytes(packet))

    for index in range(frames):
        frame = av.VideoFrame.from_ndarray(renderer.frame(index, frames).packed(), format="yuv420p")
        frame.pts = index
        collect(encoder.encode(frame))
        if progress is not None:
            progress(index)
    collect(encoder.encode(None))
    if len(units) != frames or not keys or keys[0] != 0:
        raise RuntimeError(f"encoder produced {len(units)} access units for {frames} frames")
    return EncodedLoop(scene, spec, units, keys)


def loop_frames(scene: Scene, spec: EncodeSpec) -> int:
    """Moving scenes get a longer loop so the motion looks natural; the rest two GOPs."""
    return spec.gop * (4 if scene == Scene.MOVING else 2)


def load_loop(
    scene: Scene, spec: EncodeSpec, cache_dir: Path, progress: Callable[[int], None] | None = None
) -> EncodedLoop:
    """The loop from the cache, encoding (and caching) it first if needed."""
    frames = loop_frames(scene, spec)
    path = _cache_path(cache_dir, scene, spec, frames)
    cached = _read_cache(path, scene, spec)
    if cached is not None and len(cached) == frames:
        return cached
    log.info(
        "encoding simulated scene",
        extra={"scene": scene.value, "width": spec.width, "height": spec.height, "frames": frames},
    )
    loop = encode_loop(scene, spec, frames, progress)
    _write_cache(path, loop)
    return loop


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wardwatch" / "sim"
