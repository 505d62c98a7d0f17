"""Keep the cyclic garbage collector's pauses short in a long-running server.

A full collection walks every object the collector tracks, holding the GIL: in a server
that had just started, that was the quarter of a million objects start-up made (modules,
functions, classes, SQLAlchemy's compiled statements) and lives as long as the process,
and each walk under a stream of door events stalled every thread for 60-300 ms, the
slowest event-to-alert times of the rules benchmark. Once the server is up, what exists is
moved out of the collector's sight (``gc.freeze``): it is still freed by reference counting
when dropped, just never walked again; objects made afterwards are collected as usual.

What the server then builds up for good (the rule engine's facts of the look-back days)
would still bring a full collection every time it grew by a quarter, in a minute of a busy
start as often as every few seconds. Young collections stay as they are; a full one waits
for ``FULL_EVERY`` middle ones (CPython's default is 10) besides that quarter.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

FULL_EVERY = 100


def settle_after_start() -> None:
    """Collect what start-up left over, then freeze what remains (call once, when started)."""
    gc.collect()
    gc.freeze()
    young, middle, _full = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
    log.info("start-up objects frozen out of the garbage collector", extra={"objects": gc.get_freeze_count()})
