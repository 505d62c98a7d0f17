"""Procedural scenes for simulated cameras, rendered straight into YUV 4:2:0.

Each scene exists to exercise the camera-health analytics: a static corridor with sensor
noise (must not look frozen), a dark but real corridor (must not look black), a corridor
with someone walking through it, a different place (a camera that was moved), the same
corridor blurred (a covered or smeared lens), plain black, and a frozen still. The top
band of every picture is left black: the simulator paints the camera name and the wall
clock there at serving time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

Plane = npt.NDArray[np.uint8]

STRIP_ROWS = 32
"""Height of the top band that carries the burned-in camera name and clock."""


class Scene(StrEnum):
    CORRIDOR = "corridor"
    MOVING = "moving"
    DARK = "dark"
    YARD = "yard"
    BLURRED = "blurred"
    BLACK = "black"
    STILL = "still"


@dataclass(frozen=True)
class Frame:
    """One YUV 4:2:0 picture as three planes."""

    y: Plane
    u: Plane
    v: Plane

    def packed(self) -> Plane:
        """The planes stacked as one (height * 3 / 2, width) array, as yuv420p expects."""
        h, w = self.y.shape
        return np.concatenate([self.y.reshape(-1), self.u.reshape(-1), self.v.reshape(-1)]).reshape(
            h * 3 // 2, w
        )


def _grid(h: int, w: int) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return ys / h, xs / w


def _corridor_luma(h: int, w: int) -> npt.NDArray[np.float32]:
    """A corridor in one-point perspective: walls, floor, ceiling lights and doors."""
    y, x = _grid(h, w)
    cx, cy = 0.5, 0.45
    dx, dy = np.abs(x - cx), y - cy
    depth = np.maximum(np.abs(dx) / 0.5, np.abs(dy) / 0.55)  # 0 at the vanishing point
    img = 55 + 120 * depth  # far end dark, near walls lit
    wall = dx / 0.5 > np.abs(dy) / 0.55
    floor = (~wall) & (dy > 0)
    img = np.where(floor, 70 + 80 * depth, img)
    img = np.where(wall, img * (0.85 + 0.1 * np.sin(dx * 40)), img)
    # Doors along both walls at regular depths.
    for d in (0.35, 0.55, 0.75):
        left = np.abs(x - (cx - d * 0.5)) < 0.02 * (1 + d)
        right = np.abs(x - (cx + d * 0.5)) < 0.02 * (1 + d)
        band = np.abs(dy) < 0.3 * d
        img = np.where((left | right) & band & wall, 40, img)
    # Ceiling lights.
    for d in (0.3, 0.6, 0.9):
        light = (np.abs(dy + d * 0.55) < 0.012) & (dx < 0.08 * d)
        img = np.where(light, 235, img)
    out: npt.NDArray[np.float32] = img.astype(np.float32)
    return out


def _yard_luma(h: int, w: int) -> npt.NDArray[np.float32]:
    """An outdoor yard with a gate and posts: nothing like the corridor."""
    y, x = _grid(h, w)
    sky = 170 + 50 * (0.5 - y)
    ground = 95 + 40 * y + 12 * np.sin(x * 60) * np.sin(y * 45)
    img = np.where(y < 0.42, sky, ground)
    for px in (0.12, 0.3, 0.7, 0.88):
        img = np.where((np.abs(x - px) < 0.012) & (y > 0.3) & (y < 0.75), 35, img)
    gate = (x > 0.4) & (x < 0.6) & (y > 0.35) & (y < 0.7) & ((np.floor(x * 80) % 2) == 0)
    return np.where(gate, 50, img).astype(np.float32)


def _box_blur(img: npt.NDArray[np.float32], radius: int) -> npt.NDArray[np.float32]:
    """A separable box blur through cumulative sums (three passes approximate a Gaussian)."""
    out = img
    for _ in range(3):
        for axis in (0, 1):
            padded = np.concatenate(
                [
                    np.repeat(np.take(out, [0], axis=axis), radius + 1, axis=axis),
                    out,
                    np.repeat(np.take(out, [-1], axis=axis), radius, axis=axis),
                ],
                axis=axis,
            )
            csum = np.cumsum(padded, axis=axis, dtype=np.float64)
            n = out.shape[axis]
            hi = np.take(csum, range(2 * radius + 1, 2 * radius + 1 + n), axis=axis)
            lo = np.take(csum, range(0, n), axis=axis)
            out = ((hi - lo) / (2 * radius + 1)).astype(np.float32)
    return out


def _draw_walker(luma: npt.NDArray[np.float32], phase: float) -> npt.NDArray[np.float32]:
    """A person-sized figure crossing the corridor; ``phase`` in [0, 1) is a full round trip.

    Only the figure's bounding box is computed, so motion costs little per frame.
    """
    h, w = luma.shape
    pos = 0.15 + 0.7 * (0.5 - 0.5 * np.cos(2 * np.pi * phase))
    x0, x1 = max(0, int((pos - 0.04) * w)), min(w, int((pos + 0.04) * w) + 1)
    y0, y1 = int(0.33 * h), int(0.83 * h)
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    y, x = ys / h, xs / w
    body = ((x - pos) / 0.035) ** 2 + ((y - 0.62) / 0.2) ** 2 < 1
    head = ((x - pos) / 0.022) ** 2 + ((y - 0.38) / 0.04) ** 2 < 1
    out = luma.copy()
    out[y0:y1, x0:x1] = np.where(body | head, 38, out[y0:y1, x0:x1])
    return out


class SceneRenderer:
    """Renders the frames of one scene at one size, deterministically from a seed."""

    def __init__(self, scene: Scene, width: int, height: int, seed: int = 7) -> None:
        if width % 16 or height % 2:
            raise ValueError("width must be a multiple of 16 and height even")
        self.scene = scene
        self.width = width
        self.height = height
        self._rng = np.random.default_rng(seed)
        base = {
            Scene.CORRIDOR: _corridor_luma,
            Scene.MOVING: _corridor_luma,
            Scene.STILL: _corridor_luma,
            Scene.DARK: _corridor_luma,
            Scene.BLURRED: _corridor_luma,
            Scene.YARD: _yard_luma,
            Scene.BLACK: _corridor_luma,
        }[scene](height, width)
        if scene == Scene.DARK:
            base = 18 + base * 0.16
        if scene == Scene.BLURRED:
            base = _box_blur(base, max(4, width // 60)) * 0.9 + 10
        self._base = base
        amplitude = {Scene.DARK: 3.0, Scene.BLURRED: 1.0, Scene.STILL: 0.0}.get(scene, 4.0)
        # A bank of noise planes, shifted per frame: sensor noise at a fraction of the cost.
        self._noise = (
            [self._rng.normal(0, amplitude, (height, width)).astype(np.float32) for _ in range(6)]
            if amplitude
            else []
        )
        self._u = np.full((height // 2, width // 2), 124 if scene != Scene.YARD else 118, np.uint8)
        self._v = np.full((height // 2, width // 2), 131 if scene != Scene.YARD else 126, np.uint8)

    def frame(self, index: int, count: int) -> Frame:
        """Frame ``index`` of a loop of ``count`` frames (motion wraps around seamlessly)."""
        h, w = self.height, self.width
        if self.scene == Scene.BLACK:
            y = np.full((h, w), 16, np.uint8)
            return Frame(y, np.full_like(self._u, 128), np.full_like(self._v, 128))
        luma = self._base
        if self.scene == Scene.MOVING:
            luma = _draw_walker(luma, index / count)
        if self._noise:
            bank = self._noise[index % len(self._noise)]
            luma = luma + np.roll(bank, (index // len(self._noise)) * 7, axis=1)
        y = np.clip(luma, 16, 235).astype(np.uint8)
        y[:STRIP_ROWS] = 16
        return Frame(y, self._u, self._v)
