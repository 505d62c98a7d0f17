"""The burned-in camera name and wall clock: a 32-pixel strip encoded once a second.

The strip is encoded with the loop's own x264 settings as a one-picture IDR, so its
slice can replace the top slice of every pre-encoded picture (see ``sim.h264``). Its
background is the same black the scenes paint in that band, so pictures that reference
the band see the same pixels before and after splicing.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

import av
import cv2
import numpy as np

from wardwatch.sim.loops import EncodeSpec, make_encoder
from wardwatch.sim.scenes import STRIP_ROWS

_BLACK = 16
_WHITE = 235


def render_strip(width: int, text: str) -> np.ndarray:
    """A yuv420p picture, STRIP_ROWS tall: white text on black."""
    luma = np.full((STRIP_ROWS, width), _BLACK, np.uint8)
    scale = 0.55 if width >= 1280 else 0.42
    cv2.putText(luma, text, (8, STRIP_ROWS - 10), cv2.FONT_HERSHEY_SIMPLEX, scale, _WHITE, 1, cv2.LINE_AA)
    chroma = np.full((STRIP_ROWS // 2, width // 2), 128, np.uint8)
    return np.concatenate([luma.reshape(-1), chroma.reshape(-1), chroma.reshape(-1)]).reshape(
        STRIP_ROWS * 3 // 2, width
    )


def strip_text(name: str, moment: datetime) -> str:
    """The on-screen text; camera OSDs are ASCII, so diacritics are folded away."""
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    ascii_name = folded.encode("ascii", "ignore").decode()
    return f"{ascii_name}  {moment:%Y-%m-%d %H:%M:%S}"


class StripEncoder:
    """Encodes strips for one picture format; not thread-safe (one per clock thread).

    The result is a one-picture IDR access unit; each camera prepares it for whichever
    loop it is showing (``TopSliceSplicer.prepare``).
    """

    def __init__(self, spec: EncodeSpec) -> None:
        self._encoder = make_encoder(spec, keyint=1, height=STRIP_ROWS, threads=1, low_latency=True)
        self._width = spec.width
        self._pts = 0

    def encode(self, text: str) -> bytes:
        frame = av.VideoFrame.from_ndarray(render_strip(self._width, text), format="yuv420p")
        frame.pts = self._pts
        self._pts += 1
        packets = self._encoder.encode(frame)
        if len(packets) != 1:
            raise RuntimeError("the strip encoder must return each picture at once")
        return bytes(packets[0])
