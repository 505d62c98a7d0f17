"""What a simulated camera can be told to do wrong, and what each fault looks like.

Faults are the ones real deployments see: the camera is unplugged (connection refused),
the link hangs (connected, no data), the encoder freezes (the same picture repeats), the
lens is capped or smeared, the camera is knocked to face elsewhere, or its password is
changed. ``healthy`` undoes any of them.
"""

from __future__ import annotations

from enum import StrEnum

from wardwatch.sim.scenes import Scene


class Fault(StrEnum):
    HEALTHY = "healthy"
    STOP = "stop"
    STALL = "stall"
    FREEZE = "freeze"
    BLACK = "black"
    COVERED = "covered"
    MOVED = "moved"
    WRONG_CREDENTIALS = "wrong_credentials"


SCENE_OF_FAULT = {Fault.BLACK: Scene.BLACK, Fault.COVERED: Scene.BLURRED, Fault.MOVED: Scene.YARD}
"""Faults that change what the camera sees."""


def scene_for(base: Scene, fault: Fault) -> Scene:
    """The scene a camera with ``base`` shows while ``fault`` is in effect."""
    if fault == Fault.FREEZE:
        return Scene.STILL
    return SCENE_OF_FAULT.get(fault, base)


def clock_runs(fault: Fault) -> bool:
    """A frozen encoder freezes its on-screen clock too; every other picture keeps ticking."""
    return fault != Fault.FREEZE
