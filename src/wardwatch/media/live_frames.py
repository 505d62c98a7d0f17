"""Boxing a camera's H.264 packets into one fMP4 fragment per frame, on a steady timeline.

The live hub's pullers hand every packet to a :class:`Boxer`, which finds the parameter
sets (in the stream's extradata or its keyframes), keeps the init segment up to date
when they change, and builds each frame's fragment once for all of its viewers. The
capture time of a simulated camera's frame comes from its SEI; other cameras' frames are
stamped with the time they were received.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from wardwatch.media.fmp4 import (
    AvcConfig,
    BitstreamError,
    Fragment,
    annexb_units,
    fragment,
    init_segment,
    length_prefixed_units,
    to_sample,
)
from wardwatch.sim.sei import read_frame_time

log = logging.getLogger(__name__)

_NAL_SEI = 6
DEFAULT_TIMESCALE = 90_000
_MAX_PENDING = 50


@dataclass(frozen=True)
class StreamInfo:
    codec: str
    width: int
    height: int

    @property
    def mime(self) -> str:
        return f'video/mp4; codecs="{self.codec}"'


@dataclass(frozen=True)
class InitSegment:
    version: int
    data: bytes
    info: StreamInfo
    config: AvcConfig


@dataclass(frozen=True)
class Frame:
    """One received frame, boxed once for every subscriber."""

    init: InitSegment
    fragment: Fragment
    sample: bytes
    dts: int
    timescale: int
    keyframe: bool
    capture_us: int


class Boxer:
    """Turns one stream's packets into :class:`Frame` objects on an increasing timeline.

    Times are in the track's timescale (the stream's own clock rate, 90 kHz for RTSP). The
    first packets after connecting may lack timestamps; they are placed a frame apart
    before the first one that has one. A camera whose timestamps jump back (a restart)
    is kept on an increasing timeline, since a browser's buffer cannot go backwards.
    """

    def __init__(self, stream: Any) -> None:
        extradata = stream.codec_context.extradata
        self.config = AvcConfig.from_extradata(extradata)
        self.length_size = (
            (extradata[4] & 3) + 1 if extradata and len(extradata) > 4 and extradata[0] == 1 else 0
        )
        time_base: Fraction = stream.time_base or Fraction(1, DEFAULT_TIMESCALE)
        self.timescale = time_base.denominator if time_base.numerator == 1 else DEFAULT_TIMESCALE
        scale = time_base * self.timescale
        self._num, self._den = scale.numerator, scale.denominator
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        self.nominal = max(1, round(self.timescale / rate))
        self.init: InitSegment | None = None
        self.versions = 0
        self.sequence = 0
        self.last_dts: int | None = None
        self.last_delta = self.nominal
        self.offset = 0
        self.pending: list[tuple[Any, int]] = []
        self.keyframes_unusable = 0

    @property
    def hopeless(self) -> bool:
        """Three keyframes and still no parameter sets to build an init segment from."""
        return self.keyframes_unusable >= 3

    def ticks(self, value: int) -> int:
        return value * self._num // self._den

    def push(self, packet: Any, received_us: int) -> list[Frame]:
        if packet.size == 0:
            return []
        if packet.dts is None and self.last_dts is None and len(self.pending) < _MAX_PENDING:
            self.pending.append((packet, received_us))
            return []
        boxed = []
        if self.pending:
            first = self.ticks(packet.dts) if packet.dts is not None else 0
            count = len(self.pending)
            for index, (early, at_us) in enumerate(self.pending):
                boxed.append(self._box(early, at_us, first - (count - index) * self.nominal))
            self.pending = []
        dts = self.ticks(packet.dts) + self.offset if packet.dts is not None else None
        boxed.append(self._box(packet, received_us, dts))
        return [f for f in boxed if f is not None]

    def _box(self, packet: Any, received_us: int, dts: int | None) -> Frame | None:
        last = self.last_dts
        if dts is None:
            dts = (last or 0) + self.last_delta
        elif last is not None:
            if dts <= last:
                self.offset += last + self.last_delta - dts
                dts = last + self.last_delta
            else:
                self.last_delta = dts - last
        self.last_dts = dts
        data = bytes(packet)
        units = length_prefixed_units(data, self.length_size) if self.length_size else annexb_units(data)
        if not units:
            return None
        keyframe = bool(packet.is_keyframe)
        if keyframe:
            self._update_init(units)
        if self.init is None:
            return None  # nothing can be shown before the first keyframe with parameter sets
        has_times = packet.pts is not None and packet.dts is not None
        composition = self.ticks(packet.pts - packet.dts) if has_times else 0
        duration = self.ticks(packet.duration) if packet.duration else self.last_delta
        sample = to_sample(units)
        self.sequence += 1
        return Frame(
            self.init,
            fragment(self.sequence, sample, duration, composition, keyframe),
            sample,
            dts,
            self.timescale,
            keyframe,
            _capture_time(units) or received_us,
        )

    def _update_init(self, units: list[bytes]) -> None:
        found = AvcConfig.from_units(units)
        if found is not None and found != self.config:
            self.config, self.init = found, None
        if self.config is not None and self.init is None:
            try:
                info = self.config.info
                self.versions += 1
                self.init = InitSegment(
                    self.versions,
                    init_segment(self.config, self.timescale),
                    StreamInfo(self.config.codec, info.width, info.height),
                    self.config,
                )
            except BitstreamError:
                log.warning("a camera sent an SPS that cannot be read")
                self.config = None
        if self.init is None:
            self.keyframes_unusable += 1


def _capture_time(units: list[bytes]) -> int | None:
    """The simulated camera's capture time, from its SEI (real cameras have none)."""
    for unit in units:
        kind = unit[0] & 0x1F
        if kind == _NAL_SEI:
            found = read_frame_time(unit)
            if found is not None:
                return found
        elif 1 <= kind <= 5:
            return None
    return None
