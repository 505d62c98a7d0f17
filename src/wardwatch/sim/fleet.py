"""Describing a set of simulated cameras: ports, scenes, sizes, credentials."""

from __future__ import annotations

from wardwatch.sim.loops import EncodeSpec, spec_for
from wardwatch.sim.scenes import Scene
from wardwatch.sim.server import CameraConfig

BASE_SCENES = (Scene.CORRIDOR, Scene.MOVING, Scene.DARK)
RESOLUTIONS = {"1080p": (1920, 1080), "720p": (1280, 720), "360p": (640, 360), "180p": (320, 176)}


def parse_resolution(text: str) -> tuple[int, int]:
    """``1080p``-style names or ``WIDTHxHEIGHT`` (width a multiple of 16, height even)."""
    if text in RESOLUTIONS:
        return RESOLUTIONS[text]
    width_text, _, height_text = text.lower().partition("x")
    if not (width_text.isdigit() and height_text.isdigit()):
        raise ValueError(f"resolution {text!r} is not like 1920x1080 or one of {sorted(RESOLUTIONS)}")
    width, height = int(width_text), int(height_text)
    if width % 16 or height % 2 or not 64 <= width <= 3840 or not 64 <= height <= 2160:
        raise ValueError(f"resolution {text!r}: width must be a multiple of 16 and height even")
    return width, height


def fleet(
    count: int,
    base_port: int,
    *,
    main: tuple[int, int] = RESOLUTIONS["1080p"],
    sub: tuple[int, int] | None = RESOLUTIONS["360p"],
    fps: int = 25,
    scene: str = "mixed",
    credentials: tuple[str, str] | None = None,
    names: list[str] | None = None,
    first_index: int = 0,
) -> list[CameraConfig]:
    """``count`` cameras on ports ``base_port`` .. ``base_port + count - 1``.

    ``scene`` is one scene for all, or ``mixed``: corridor, moving and dark in turn, so a
    fleet always holds the static-but-noisy and the dark-but-real cases.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    if not 1024 <= base_port <= 65535 - count:
        raise ValueError("ports must lie between 1024 and 65535")
    main_spec: EncodeSpec = spec_for(*main, fps=fps)
    sub_spec = spec_for(*sub, fps=fps) if sub is not None else None
    configs = []
    for offset in range(count):
        index = first_index + offset
        chosen = BASE_SCENES[index % len(BASE_SCENES)] if scene == "mixed" else Scene(scene)
        name = names[offset] if names and offset < len(names) else f"cam-{index:02d}"
        username, password = credentials if credentials else (None, None)
        configs.append(
            CameraConfig(index, name, base_port + offset, chosen, main_spec, sub_spec, username, password)
        )
    return configs
