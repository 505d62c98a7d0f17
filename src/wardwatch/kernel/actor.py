"""Who did something: a person, a device, or WardWatch itself (schedules, CLI set-up)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["user", "device", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str
    name: str
    home_node: str = ""

    @property
    def ref(self) -> str:
        """The stable reference written to the audit log (``user:<id>``)."""
        return f"{self.kind}:{self.id}"


def system_actor(task: str) -> Actor:
    """WardWatch acting on its own behalf for ``task`` (for example ``init`` or ``retention``)."""
    return Actor("system", task, f"wardwatch {task}")
