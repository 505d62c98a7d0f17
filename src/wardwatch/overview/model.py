"""Pure roll-up of per-facility figures up the org tree (no I/O).

A figure group a caller may not read at a facility is ``None`` there, not zero: "not
yours to know" and "nothing to report" must not look alike. A node's group is the sum
over the facilities below it where the group is known, and ``None`` only when it is
known at none of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

ONLINE_STATES = frozenset({"ok"})
OFFLINE_STATES = frozenset({"offline", "auth_failed"})
IMPAIRED_STATES = frozenset({"black", "frozen", "covered", "moved", "degraded"})
"""Video arrives, but it is not fit for supervision."""
COLOURS = ("red", "yellow", "blue")


@dataclass
class CameraFigures:
    """Active cameras by what their supervision is worth now."""

    online: int = 0
    offline: int = 0
    impaired: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.online + self.offline + self.impaired + self.unknown

    def count(self, state: str | None) -> None:
        if state in ONLINE_STATES:
            self.online += 1
        elif state in OFFLINE_STATES:
            self.offline += 1
        elif state in IMPAIRED_STATES:
            self.impaired += 1
        else:
            self.unknown += 1

    def add(self, other: CameraFigures) -> None:
        self.online += other.online
        self.offline += other.offline
        self.impaired += other.impaired
        self.unknown += other.unknown


@dataclass
class IncidentFigures:
    """Incidents not yet closed: the fault is present (open), or it is gone but unconfirmed."""

    open: int = 0
    recovered: int = 0

    def add(self, other: IncidentFigures) -> None:
        self.open += other.open
        self.recovered += other.recovered


@dataclass
class AlertFigures:
    """Unresolved alerts by colour."""

    red: int = 0
    yellow: int = 0
    blue: int = 0

    def add(self, other: AlertFigures) -> None:
        self.red += other.red
        self.yellow += other.yellow
        self.blue += other.blue


@dataclass
class DutyFigures:
    """Facilities with someone on duty now, and who is on duty (an operator counts once)."""

    facilities: int = 0
    covered: int = 0
    operators: set[str] = field(default_factory=set)

    @property
    def uncovered(self) -> int:
        return self.facilities - self.covered

    def add(self, other: DutyFigures) -> None:
        self.facilities += other.facilities
        self.covered += other.covered
        self.operators |= other.operators


@dataclass
class Figures:
    facilities: int = 0
    cameras: CameraFigures | None = None
    incidents: IncidentFigures | None = None
    alerts: AlertFigures | None = None
    duty: DutyFigures | None = None

    def add(self, other: Figures) -> None:
        self.facilities += other.facilities
        for name in ("cameras", "incidents", "alerts", "duty"):
            theirs = getattr(other, name)
            if theirs is None:
                continue
            mine = getattr(self, name)
            if mine is None:
                mine = type(theirs)()
                setattr(self, name, mine)
            mine.add(theirs)


class TreeNode(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def parent_id(self) -> str | None: ...


def roll_up(nodes: Iterable[TreeNode], facilities: Mapping[str, Figures]) -> dict[str, Figures]:
    """Each node's figures: its own (a facility's) plus those of every facility below it.

    Only ``nodes`` (what the caller sees of the tree) receive sums; a facility's figures
    climb through its visible ancestors and stop where the caller's view of the tree ends.
    """
    nodes = list(nodes)
    parent = {n.id: n.parent_id for n in nodes}
    totals = {n.id: Figures() for n in nodes}
    for facility_id, figures in facilities.items():
        at: str | None = facility_id
        while at is not None and at in totals:
            totals[at].add(figures)
            at = parent[at]
    return totals


def tree_order(nodes: Iterable[TreeNode], name: Mapping[str, str]) -> list[str]:
    """Node ids depth first, siblings by name; nodes whose parent is not visible are roots."""
    nodes = list(nodes)
    ids = {n.id for n in nodes}
    children: dict[str | None, list[str]] = {}
    for n in nodes:
        key = n.parent_id if n.parent_id in ids else None
        children.setdefault(key, []).append(n.id)
    order: list[str] = []
    stack = sorted(children.get(None, []), key=lambda i: (name[i], i), reverse=True)
    while stack:
        current = stack.pop()
        order.append(current)
        stack.extend(sorted(children.get(current, []), key=lambda i: (name[i], i), reverse=True))
    return order
