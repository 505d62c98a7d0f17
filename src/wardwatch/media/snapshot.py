"""JPEG snapshots: the latest keyframe of a camera's stream, decoded and optionally scaled.

A keyframe decodes on its own, so a snapshot needs no more than the live hub's cached
keyframe (or the first one of a fresh pull) and the stream's parameter sets. Decoding and
encoding run in the caller's worker thread, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2

from wardwatch.media.live_frames import Frame

JPEG_QUALITY = 85


class SnapshotError(RuntimeError):
    """A keyframe that would not decode (a corrupt frame from the camera)."""


@dataclass(frozen=True)
class Snapshot:
    jpeg: bytes
    width: int
    height: int
    capture_us: int


def scaled_size(width: int, height: int, wanted: int | None) -> tuple[int, int]:
    """The picture scaled down to ``wanted`` pixels wide, keeping its shape; never up."""
    if wanted is None or wanted >= width:
        return width, height
    new_height = max(2, round(height * wanted / width / 2) * 2)
    return max(2, wanted - wanted % 2), new_height


def snapshot_of(frame: Frame, width: int | None = None) -> Snapshot:
    """Decode ``frame`` (a keyframe) and encode it as JPEG, ``width`` pixels wide at most."""
    decoder = av.CodecContext.create("h264", "r")
    decoder.extradata = frame.init.config.avcc()
    try:
        pictures = [*decoder.decode(av.Packet(frame.sample)), *decoder.decode(None)]
    except av.error.FFmpegError as exc:
        raise SnapshotError(f"the keyframe did not decode: {exc.strerror}") from exc
    if not pictures:
        raise SnapshotError("the keyframe decoded to no picture")
    picture = pictures[0]
    out_width, out_height = scaled_size(picture.width, picture.height, width)
    image = picture.reformat(width=out_width, height=out_height, format="bgr24").to_ndarray()
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise SnapshotError("JPEG encoding failed")
    return Snapshot(encoded.tobytes(), out_width, out_height, frame.capture_us)
