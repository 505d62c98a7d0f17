"""What one keyframe shows, measured cheaply: flatness, detail, change and scene match.

Everything is computed on the luma plane only, decimated (every n-th pixel, not
averaged) to about ``analysis_width`` pixels wide. Decimating keeps the sensor noise of
a real scene intact, and that noise is what tells a static but live corridor from a
frozen picture. Statistics are taken per tile and summarised by their median, so a
burned-in camera name and clock (which many cameras overlay, and which keep ticking
or stay sharp whatever happens to the lens) cannot decide the verdict on their own.

The thumbnail for the "moved" check is 80 pixels wide and grey: at that size a person
is a handful of pixels. It records where walls, doors and lights are, not who passed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from wardwatch.health.model import Features

Gray = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]

TILE_ROWS = 6
TILE_COLS = 8
FLAT_BAND = 6
"""Luma levels either side of the median that count as "the same level" for flatness."""
DETAIL_SIGMA = 3.0
"""Scale (pixels of the work image) separating fine detail from coarse contrast."""
THUMB_WIDTH = 80


@dataclass(frozen=True)
class Work:
    """The decimated luma of one keyframe and its thumbnail."""

    luma: Gray
    thumb: Floats


def decimate(y: Gray, width: int) -> Gray:
    """Every n-th pixel of the luma plane, so the result is at most about ``width`` wide."""
    step = max(1, -(-y.shape[1] // width))
    # Always a copy: the decoder reuses the frame's memory for the next picture.
    return y[::step, ::step].copy()


def prepare(y: Gray, width: int) -> Work:
    luma = decimate(y, width)
    height = max(2, round(luma.shape[0] * THUMB_WIDTH / luma.shape[1]))
    small = cv2.resize(luma, (THUMB_WIDTH, height), interpolation=cv2.INTER_AREA).astype(np.float32)
    thumb: Floats = cv2.GaussianBlur(small, (0, 0), 1.0).astype(np.float32, copy=False)
    return Work(luma, thumb)


def _tile_view(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    h, w = a.shape
    th, tw = h // TILE_ROWS, w // TILE_COLS
    return a[: th * TILE_ROWS, : tw * TILE_COLS].reshape(TILE_ROWS, th, TILE_COLS, tw)


def flatness(luma: Gray) -> tuple[float, float]:
    """(share of pixels within ``FLAT_BAND`` of the median, mean luma)."""
    hist = np.bincount(luma.reshape(-1), minlength=256).astype(np.float64)
    total = float(hist.sum())
    cumulative = np.cumsum(hist)
    median = int(np.searchsorted(cumulative, total / 2))
    lo, hi = max(0, median - FLAT_BAND), min(255, median + FLAT_BAND)
    mean = float((hist * np.arange(256)).sum() / total)
    return float(hist[lo : hi + 1].sum() / total), mean


def sharpness(luma: Gray) -> float:
    """Median over tiles of fine detail (what a blur removes) over coarse contrast.

    Dividing by the tile's own contrast makes a dark scene as "sharp" as a bright one,
    so a dark corridor is judged against its own normal, not against daylight.
    """
    f: Floats = luma.astype(np.float32)
    coarse: Floats = cv2.GaussianBlur(f, (0, 0), DETAIL_SIGMA).astype(np.float32, copy=False)
    fine = _tile_view(f - coarse).std(axis=(1, 3))
    contrast = _tile_view(coarse).std(axis=(1, 3))
    return float(np.median(fine / (contrast + 1.0)))


def motion(luma: Gray, previous: Gray | None) -> float | None:
    """Median over tiles of the mean absolute change since the previous analysed keyframe."""
    if previous is None or previous.shape != luma.shape:
        return None
    diff = cv2.absdiff(luma, previous).astype(np.float32)
    return float(np.median(_tile_view(diff).mean(axis=(1, 3))))


def similarity(thumb: Floats, reference: Floats | None) -> float | None:
    """Zero-mean normalised cross-correlation: 1.0 the same scene, whatever the brightness."""
    if reference is None or reference.shape != thumb.shape:
        return None
    a = thumb - thumb.mean()
    b = reference - reference.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denominator < 1e-6:
        return 0.0  # one of them is flat: nothing of the reference scene is there
    return float((a * b).sum() / denominator)


def measure(
    work: Work,
    previous: Gray | None,
    reference: Floats | None,
    *,
    fps: float | None = None,
    kbps: float | None = None,
) -> Features:
    uniform, luma = flatness(work.luma)
    return Features(
        luma=luma,
        uniform=uniform,
        sharpness=sharpness(work.luma),
        motion=motion(work.luma, previous),
        similarity=similarity(work.thumb, reference),
        fps=fps,
        kbps=kbps,
    )


def blend(reference: Floats | None, thumb: Floats, weight: float) -> Floats:
    """The reference moved ``weight`` of the way towards ``thumb`` (a running mean)."""
    if reference is None or reference.shape != thumb.shape or weight >= 1.0:
        return thumb.copy()
    out: Floats = reference + np.float32(weight) * (thumb - reference)
    return out


def encode_reference(reference: Floats) -> bytes:
    """The reference as a small grey PNG for the database."""
    ok, data = cv2.imencode(".png", np.clip(reference, 0, 255).astype(np.uint8))
    if not ok:
        raise ValueError("PNG encoding failed")
    return bytes(data.tobytes())


def decode_reference(data: bytes | None) -> Floats | None:
    if not data:
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        return None
    out: Floats = image.astype(np.float32)
    return out


def encode_jpeg(bgr: npt.NDArray[np.uint8], quality: int = 80) -> bytes:
    ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())
