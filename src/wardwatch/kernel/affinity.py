"""Keep the server's own threads on the CPUs it is given, and its children off that limit.

A Python process runs one thread at a time (the GIL). Let its threads wander over two
cores and a thread woken on the other core spins for a GIL it rarely wins, while the one
holding it runs on: under a stream of door events a short write (an alert, a batch of
events) that releases the GIL a dozen times waited 5 ms for it each time, and the rules
benchmark's p99 was 150-500 ms. Pinned to one core, the same server answered in 28-45 ms
(the GIL passes between threads of one core at once). ``server.cpu_affinity`` pins it;
its worker processes (recording, picture analysis, audit verification) are given every
CPU back, since they run in parallel and must not share the server's core.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

log = logging.getLogger(__name__)

_before: dict[str, frozenset[int]] = {}
"""``"cpus"``: the CPUs this process could use before it was pinned (absent: not pinned)."""


def pin(cpus: Iterable[int]) -> frozenset[int]:
    """Run this process's threads on ``cpus`` only; ValueError if it may use none of them."""
    allowed = frozenset(os.sched_getaffinity(0))
    wanted = frozenset(cpus) & allowed
    if not wanted:
        raise ValueError(f"server.cpu_affinity names none of the CPUs this process may use {sorted(allowed)}")
    _before.setdefault("cpus", allowed)
    os.sched_setaffinity(0, wanted)
    log.info("server pinned to CPUs", extra={"cpus": sorted(wanted), "of": sorted(allowed)})
    return wanted


def all_cpus() -> frozenset[int]:
    """Every CPU the process could use before it was pinned."""
    return _before.get("cpus") or frozenset(os.sched_getaffinity(0))


def release(pid: int | None) -> None:
    """Give a child process (started by this one) every CPU back, if this one is pinned."""
    cpus = _before.get("cpus")
    if cpus is None or pid is None:
        return
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError:
        log.warning("a worker process could not be given every CPU", extra={"pid": pid})


def unpin(cpus: frozenset[int]) -> None:
    """In a worker process: run on ``cpus`` (an initializer for process pools)."""
    os.sched_setaffinity(0, cpus)
