"""Durations (``10m``, ``1h30m``) and anchors (``start - 30m``) as rule files write them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_DURATION = re.compile(r"^(?:\d+[dhms])+$")
_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_ANCHOR = re.compile(r"^\s*(start|end)\s*(?:([+-])\s*(\S+))?\s*$")
MAX_SPAN = timedelta(hours=12)
"""No window reaches further than this from its anchor: facts are kept for about as long."""


def parse_duration(text: str) -> timedelta:
    """``90s``, ``10m``, ``2h``, ``1h30m``, ``1d``; refuses anything else."""
    compact = text.strip().replace(" ", "")
    if not _DURATION.match(compact):
        raise ValueError(f"{text!r} is not a duration such as 90s, 10m, 2h or 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact))
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in _UNITS.items():
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)


@dataclass(frozen=True)
class Anchor:
    """A moment relative to an operation: its start or end (actual when known, else planned)."""

    point: str
    offset: timedelta

    @classmethod
    def parse(cls, text: str) -> Anchor:
        found = _ANCHOR.match(text)
        if found is None:
            raise ValueError(f"{text!r} is not an anchor such as 'start', 'start - 30m' or 'end + 10m'")
        point, sign, amount = found.groups()
        offset = parse_duration(amount) if amount else timedelta(0)
        if sign == "-":
            offset = -offset
        if abs(offset) > MAX_SPAN:
            raise ValueError(f"{text!r} reaches further than {format_duration(MAX_SPAN)} from the operation")
        return cls(point, offset)

    def text(self) -> str:
        if not self.offset:
            return self.point
        sign = "-" if self.offset < timedelta(0) else "+"
        return f"{self.point} {sign} {format_duration(abs(self.offset))}"

    def at(self, start: datetime, end: datetime) -> datetime:
        return (start if self.point == "start" else end) + self.offset
