"""What ``wardwatch bench rules`` sends, and the alerts that must follow: no I/O here.

Every facility has a surgical-area entrance, two operating-room doors, a terminal on the
three and a crew on the province's register. Its stream is a live theatre morning: crew
walking in and out (granted, licensed), one refused stranger at a theatre door, and the
operations of the day posted over the API. Some facilities also get violations injected,
each raising a known alert the moment a known event arrives:

- ``R4``: a granted entry of someone the register does not know (the event);
- ``R7``: three denied attempts at the entrance in a row (the third);
- ``R8``: the first theatre door forced, then held open (the forced event);
- ``R6``: an operation outside its lead surgeon's scopes (its schedule event);
- ``R1`` + ``R5``: a general-anaesthesia operation that ended half an hour before the run,
  with nobody from anaesthesia nor its lead surgeon walking in (its schedule event: its
  windows closed before it arrived, so it is judged on arrival).

The facilities' time zone puts the run around local noon (``noon_zone``), so a past
operation, the run and its windows all fall on one local day.

The expected alerts are worked out here from what was injected and when it was stamped,
not from anything the engine says: the benchmark compares the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

VIOLATIONS = ("R4", "R7", "R8", "R6", "R1")
"""What can be injected (``R1`` brings ``R5``, and ``R3`` on a day already over)."""
CREW = (
    ("S1", "surgeon", "cosmetic surgery|general surgery", True),
    ("S2", "surgeon", "general surgery", True),
    ("A1", "anaesthetist", "anaesthesia", False),
    ("A2", "anaesthetist", "anaesthesia", False),
    ("N1", "nurse", "", False),
    ("N2", "nurse", "", False),
    ("N3", "nurse", "", False),
    ("N4", "nurse", "", False),
)


def noon_zone(now: datetime) -> str:
    """A fixed-offset zone in which ``now`` is about local noon (``Etc/GMT`` signs are inverted)."""
    hours = 12 - now.astimezone(UTC).hour
    return "Etc/GMT" + (f"{-hours:+d}" if hours else "")


def person_id(facility: int, key: str) -> str:
    return f"BENCH-{facility:04d}-{key}"


def violations_of(facility: int, chosen: Iterable[str]) -> tuple[str, ...]:
    """Which of ``chosen`` facility ``facility`` breaks: about two of every three, spread."""
    return tuple(v for j, v in enumerate(VIOLATIONS) if v in set(chosen) and (facility + j) % 3 != 2)


def register_csv(facilities: int) -> str:
    """The province's register: every facility's crew, all licensed and active."""
    lines = ["licence_number,person_id,name,profession,scopes,lead_physician,valid_from,valid_to,status"]
    for i in range(facilities):
        for n, (key, profession, scopes, lead) in enumerate(CREW, start=1):
            lines.append(
                f"BL{i:04d}-{n:02d},{person_id(i, key)},Bench {i} {key},{profession},{scopes},"
                f"{'yes' if lead else 'no'},2020-01-01,,active"
            )
    return "\n".join(lines) + "\n"


def licence(facility: int, key: str) -> str:
    index = next(n for n, (k, *_rest) in enumerate(CREW, start=1) if k == key)
    return f"BL{facility:04d}-{index:02d}"


@dataclass(frozen=True)
class DoorStep:
    """One door event of a facility's stream, without its time (stamped when sent)."""

    door: str
    """``entrance``, ``room0`` or ``room1``."""
    result: str
    person: str | None
    direction: str | None = "in"
    trigger: str | None = None
    """The rule whose alert this event's arrival must raise."""


@dataclass(frozen=True)
class Operation:
    ref: str
    room: str
    start: datetime
    end: datetime
    category: str
    anaesthesia: str
    lead: str
    anaesthetist: str | None
    triggers: tuple[str, ...] = ()
    """The rules whose alerts this operation's arrival must raise."""

    def body(self, facility: int, room_id: str) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "room_id": room_id,
            "planned_start": self.start.isoformat(),
            "planned_end": self.end.isoformat(),
            "category": self.category,
            "anaesthesia": self.anaesthesia,
            "lead_surgeon": licence(facility, self.lead),
            "anaesthetist": licence(facility, self.anaesthetist) if self.anaesthetist else None,
        }


@dataclass
class FacilityPlan:
    index: int
    violations: tuple[str, ...]
    operations: list[Operation]
    steps: list[DoorStep] = field(default_factory=list)


def plan_facility(index: int, steps: int, chosen: Iterable[str], start: datetime) -> FacilityPlan:
    """``steps`` door events and the operations of facility ``index``, the run starting at ``start``."""
    broken = violations_of(index, chosen)
    ops = [
        Operation(
            f"B{index:04d}-OP1", "room0", start + timedelta(minutes=2), start + timedelta(minutes=92),
            "cosmetic_surgery", "general", "S1", "A1",
        ),
        Operation(
            f"B{index:04d}-OP2", "room1", start + timedelta(minutes=5), start + timedelta(minutes=65),
            "general_surgery", "local", "S2", None,
        ),
    ]  # fmt: skip
    if "R6" in broken:
        ops.append(
            Operation(
                f"B{index:04d}-OP6", "room1", start + timedelta(minutes=70), start + timedelta(minutes=100),
                "liposuction", "local", "S2", None, ("R6",),
            )
        )  # fmt: skip
    if "R1" in broken:
        ops.append(
            Operation(
                f"B{index:04d}-OP9", "room1", start - timedelta(minutes=60), start - timedelta(minutes=30),
                "general_surgery", "general", "S2", "A2", ("R1", "R5"),
            )
        )  # fmt: skip
    injected: list[tuple[float, list[DoorStep]]] = [
        # One refusal at a theatre door: a stranger, once, which is no breach of anything.
        (0.3, [DoorStep("room1", "denied", "LOST")]),
    ]
    if "R4" in broken:
        injected.append((0.2, [DoorStep("entrance", "granted", "VISITOR", trigger="R4")]))
    if "R7" in broken:
        denials = [DoorStep("entrance", "denied", "STRANGER") for _ in range(2)]
        injected.append((0.45, [*denials, DoorStep("entrance", "denied", "STRANGER", trigger="R7")]))
    if "R8" in broken:
        injected.append(
            (0.7, [DoorStep("room0", "forced", None, None, "R8"), DoorStep("room0", "held_open", None, None)])
        )
    crew = [key for key, *_ in CREW]
    normal: list[DoorStep] = []
    while len(normal) < steps - sum(len(group) for _, group in injected):
        visit = len(normal) // 4
        who, room = crew[visit % len(crew)], ("room0", "room1")[visit % 2]
        normal.append(
            (
                DoorStep("entrance", "granted", who),
                DoorStep(room, "granted", who),
                DoorStep(room, "granted", who, "out"),
                DoorStep("entrance", "granted", who, "out"),
            )[len(normal) % 4]
        )
    # Spread over the run, each facility at its own offset (golden-ratio steps): violations
    # of different clinics are independent, so they should not all land in the same instant.
    shift = (index * 0.6180339887) % 1 * 0.25
    for fraction, group in sorted(injected, key=lambda item: -item[0]):
        at = min(len(normal), int(len(normal) * (fraction + shift)))
        normal[at:at] = group
    return FacilityPlan(index, broken, ops, normal)


# ---------------------------------------------------------------- the alerts that must follow


@dataclass(frozen=True)
class ExpectedAlert:
    rule: str
    facility: int
    key: str
    """What tells the rule's alerts apart: the person, the door or the operation's ref."""
    day: str
    trigger: tuple[str, str | int]
    """("door", index of the facility's door event) or ("schedule", operation ref)."""


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def expected_alerts(
    plans: Iterable[FacilityPlan],
    stamped: Mapping[tuple[int, int], datetime],
    timezone: str,
) -> list[ExpectedAlert]:
    """The alerts the injected violations must raise, from the times the events were stamped.

    ``stamped`` holds (facility, step index) -> the time the terminal put on that event.
    """
    out: list[ExpectedAlert] = []
    for plan in plans:
        r8_days: dict[str, int] = {}
        for index, step in enumerate(plan.steps):
            moment = stamped.get((plan.index, index))
            if moment is None:
                continue
            day = local_day(moment, timezone).isoformat()
            if step.trigger == "R4":
                out.append(
                    ExpectedAlert("R4", plan.index, person_id(plan.index, "VISITOR"), day, ("door", index))
                )
            elif step.trigger == "R7":
                out.append(ExpectedAlert("R7", plan.index, "entrance", day, ("door", index)))
            elif step.result in ("forced", "held_open") and day not in r8_days:
                r8_days[day] = index
        for day, index in r8_days.items():
            out.append(ExpectedAlert("R8", plan.index, "room0", day, ("door", index)))
        for op in plan.operations:
            day_of = local_day(op.start, timezone)
            for rule in op.triggers:
                out.append(ExpectedAlert(rule, plan.index, op.ref, day_of.isoformat(), ("schedule", op.ref)))
    return out
