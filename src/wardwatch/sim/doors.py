"""Simulated door terminals for a facility's day of operations, with chosen violations injected.

``plan_day`` writes a theatre day that breaks no rule: two general-anaesthesia operations
and a local one, each with its anaesthetist and lead surgeon walking in on time, nurses,
exits, passes at the surgical-area entrance. Each flag R1..R8 adds what breaks that rule
and nothing else, and the plan says which alerts the rules must raise (R1 adds an
operation no anaesthetist came to, which the day's count R3 also sees; R2 adds a second
operation at the same time as the first, with the same anaesthetist, raising R2 for both).

``provision`` puts what the day needs on record through the services, as an installer and
the facility would: the practitioners (a register of the facility's own), one operating
room per operating-room door, a terminal on those doors and the surgical-area entrance,
and the schedule. ``send`` then posts the door events through the real ingest path, HTTP
to a running server or MQTT through the broker, in time order. Running it twice for the
same day changes nothing: the same refs, the same terminal, the same serials.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from wardwatch.access.model import ImportMode
from wardwatch.access.register import ImportFile
from wardwatch.access.schemas import ProcedureCreate, RoomCreate, TerminalCreate
from wardwatch.access.tables import FileFormat
from wardwatch.authz.principal import Principal
from wardwatch.bootstrap import Container
from wardwatch.kernel.errors import Invalid, NotFound
from wardwatch.registry.model import DoorKind

log = logging.getLogger(__name__)

VIOLATIONS = ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8")
NEEDS_TWO_ROOMS = frozenset({"R2"})


@dataclass(frozen=True)
class Person:
    key: str
    licence: str
    person_id: str
    name: str
    profession: str
    scopes: str
    lead: bool
    status: str = "active"


@dataclass(frozen=True)
class PlannedOperation:
    ref: str
    room: int
    start: str
    end: str
    category: str
    anaesthesia: str
    lead: str
    anaesthetist: str | None


@dataclass(frozen=True)
class PlannedEvent:
    time: str
    door: str
    """``entrance`` or ``room<N>``."""
    result: str
    person: str | None
    direction: str | None = "in"


@dataclass
class DayPlan:
    day: date
    people: list[Person]
    operations: list[PlannedOperation]
    events: list[PlannedEvent]
    expected: dict[str, int]
    skipped: list[str] = field(default_factory=list)
    """Violations that could not be injected here (R2 needs two operating rooms)."""


def _people(tag: str) -> list[Person]:
    def person(key: str, n: int, name: str, profession: str, scopes: str, lead: bool) -> Person:
        return Person(key, f"SIM{tag}-{n:03d}", f"SIM-{tag}-{key}", name, profession, scopes, lead)

    return [
        person("S1", 1, "Nguyễn Minh Châu", "surgeon", "cosmetic surgery|general surgery", True),
        person("S2", 2, "Trần Quốc Bảo", "surgeon", "general surgery", True),
        person("A1", 3, "Lê Thu Hà", "anaesthetist", "anaesthesia", False),
        person("A2", 4, "Phạm Đức Long", "anaesthetist", "anaesthesia", False),
        person("N1", 5, "Võ Thị Mai", "nurse", "", False),
        person("N2", 6, "Đặng Văn Tùng", "nurse", "", False),
    ]


def plan_day(day: date, violations: Iterable[str], *, rooms: int, tag: str) -> DayPlan:  # noqa: PLR0915
    """The day's schedule and door events with ``violations`` injected, and the alerts they raise."""
    wanted = set(violations)
    unknown = sorted(wanted - set(VIOLATIONS))
    if unknown:
        raise ValueError(f"unknown violations: {', '.join(unknown)} (known: {', '.join(VIOLATIONS)})")
    if rooms < 1:
        raise ValueError("the facility needs at least one operating room")
    skipped = sorted(v for v in wanted if v in NEEDS_TWO_ROOMS and rooms < 2)
    wanted -= set(skipped)
    b = 1 if rooms > 1 else 0
    ops = [
        PlannedOperation(
            f"SIM-{day:%Y%m%d}-OP1", 0, "08:00", "09:30", "cosmetic_surgery", "general", "S1", "A1"
        ),
        PlannedOperation(
            f"SIM-{day:%Y%m%d}-OP2", b, "10:00", "11:00", "general_surgery", "local", "S2", None
        ),
        PlannedOperation(
            f"SIM-{day:%Y%m%d}-OP3", 0, "13:00", "14:30", "cosmetic_surgery", "general", "S1", "A2"
        ),
    ]
    events: list[PlannedEvent] = []

    def walk_in(person: str, room: int, at: str) -> None:
        clock = datetime.strptime(at, "%H:%M")
        events.append(
            PlannedEvent((clock - timedelta(minutes=3)).strftime("%H:%M"), "entrance", "granted", person)
        )
        events.append(PlannedEvent(at, f"room{room}", "granted", person))

    def walk_out(person: str, room: int, at: str) -> None:
        events.append(PlannedEvent(at, f"room{room}", "granted", person, "out"))

    walk_in("N1", 0, "07:40")
    walk_in("A1", 0, "07:45")
    walk_in("S1", 0, "07:50")
    walk_out("S1", 0, "09:35")
    walk_out("A1", 0, "09:40")
    walk_in("N2", b, "09:45")
    walk_in("S2", b, "09:55")
    walk_out("S2", b, "11:05")
    walk_in("A2", 0, "12:45")
    walk_in("S1", 0, "12:50")
    walk_out("S1", 0, "14:35")
    walk_out("A2", 0, "14:40")
    expected: Counter[str] = Counter()
    if wanted & {"R1", "R3"}:
        # A general-anaesthesia operation nobody from anaesthesia came to.
        ops.append(
            PlannedOperation(
                f"SIM-{day:%Y%m%d}-OP4", b, "15:00", "16:00", "general_surgery", "general", "S2", "A2"
            )
        )
        walk_in("S2", b, "14:50")
        expected.update({"R1": 1, "R3": 1})
    if "R2" in wanted:
        # At the same time as OP1, next door, and the same anaesthetist hurries over.
        ops.append(
            PlannedOperation(
                f"SIM-{day:%Y%m%d}-OP5", b, "08:30", "09:30", "general_surgery", "general", "S2", "A1"
            )
        )
        walk_in("S2", b, "08:20")
        events.append(PlannedEvent("08:25", f"room{b}", "granted", "A1"))
        expected["R2"] = 2
    if "R4" in wanted:
        events.append(PlannedEvent("10:30", "entrance", "granted", f"SIM-{tag}-VISITOR"))
        expected["R4"] = 1
    if "R5" in wanted:
        ops.append(
            PlannedOperation(
                f"SIM-{day:%Y%m%d}-OP7", b, "11:30", "12:30", "general_surgery", "local", "S2", None
            )
        )
        walk_in("N2", b, "11:20")
        expected["R5"] = 1
    if "R6" in wanted:
        ops.append(
            PlannedOperation(f"SIM-{day:%Y%m%d}-OP8", 0, "16:30", "17:30", "liposuction", "local", "S2", None)
        )
        walk_in("S2", 0, "16:20")
        expected["R6"] = 1
    if "R7" in wanted:
        for at in ("18:00", "18:03", "18:07"):
            events.append(PlannedEvent(at, "entrance", "denied", f"SIM-{tag}-STRANGER"))
        expected["R7"] = 1
    if "R8" in wanted:
        events.append(PlannedEvent("19:00", "entrance", "forced", None, None))
        events.append(PlannedEvent("19:30", "entrance", "held_open", None, None))
        expected["R8"] = 1
    events.sort(key=lambda e: e.time)
    return DayPlan(day, _people(tag), ops, events, dict(expected), skipped)


def register_csv(people: Sequence[Person]) -> str:
    lines = ["licence_number,person_id,name,profession,scopes,lead_physician,valid_from,valid_to,status"]
    for p in people:
        lines.append(
            f"{p.licence},{p.person_id},{p.name},{p.profession},{p.scopes},{'yes' if p.lead else 'no'},"
            f"2020-01-01,,{p.status}"
        )
    return "\n".join(lines) + "\n"


@dataclass
class Provisioned:
    facility_id: str
    timezone: str
    terminal_serial: str
    token: str
    doors: dict[str, str]
    """``entrance`` / ``room<N>`` -> door id."""
    operations: int


def _tag(facility_id: str) -> str:
    return facility_id[-6:].upper()


def provision(container: Container, admin: Principal, facility_id: str, plan: DayPlan) -> Provisioned:
    """Register, rooms, terminal and schedule for the plan (idempotent)."""
    access = container.access
    facility = container.registry.get_facility(admin, facility_id)
    doors = container.registry.list_doors(admin, facility_id)
    entrance = next((d for d in doors if d.kind == DoorKind.SURGICAL_AREA_ENTRANCE), None)
    theatre = sorted((d for d in doors if d.kind == DoorKind.OPERATING_ROOM_DOOR), key=lambda d: d.name)
    if entrance is None or not theatre:
        raise Invalid("sim_doors_missing", params={"facility": facility.name})
    mapping = {"entrance": entrance.id} | {f"room{i}": d.id for i, d in enumerate(theatre)}
    access.register.import_as(
        admin.actor,
        facility_id,
        ImportFile(
            register_csv(plan.people).encode(), FileFormat.CSV, ImportMode.INCREMENTAL, "sim-doors.csv"
        ),
    )
    rooms = {door: room.id for room in access.rooms.list_rooms(admin, facility_id) for door in room.door_ids}
    for index, door in enumerate(theatre):
        if door.id not in rooms:
            made = access.rooms.create(
                admin, facility_id, RoomCreate(name=f"{door.name} (OR {index + 1})", door_ids=[door.id])
            )
            rooms[door.id] = made.id
    serial = f"SIM-{_tag(facility_id)}"
    existing = next(
        (t for t in access.terminals.list_terminals(admin, facility_id) if t.serial_number == serial), None
    )
    if existing is None:
        created = access.terminals.create(
            admin,
            TerminalCreate(
                facility_id=facility_id,
                serial_number=serial,
                name=f"Simulated terminal {serial}",
                door_ids=list(mapping.values()),
            ),
        )
    else:
        created = access.terminals.rotate_token(admin, existing.id)
    zone = ZoneInfo(facility.timezone)
    people = {p.key: p for p in plan.people}
    known = {p.ref for p in access.schedule.list_procedures(admin, facility_id=facility_id, day=plan.day)}
    made_ops = 0
    for op in plan.operations:
        if op.ref in known:
            continue
        access.schedule.create(
            admin,
            facility_id,
            ProcedureCreate(
                ref=op.ref,
                room_id=rooms[theatre[op.room].id],
                planned_start=_local(plan.day, op.start, zone),
                planned_end=_local(plan.day, op.end, zone),
                category=op.category,
                anaesthesia=op.anaesthesia,
                lead_surgeon=people[op.lead].licence,
                anaesthetist=people[op.anaesthetist].licence if op.anaesthetist else None,
            ),
        )
        made_ops += 1
    return Provisioned(facility_id, facility.timezone, serial, created.token, mapping, made_ops)


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    hour, minute = (int(x) for x in hhmm.split(":"))
    return datetime.combine(day, dtime(hour, minute), tzinfo=zone)


def door_events(plan: DayPlan, where: Provisioned) -> list[dict[str, Any]]:
    """The plan's events as the terminal sends them (serials 1.. in time order)."""
    zone = ZoneInfo(where.timezone)
    people = {p.key: p for p in plan.people}
    out = []
    for serial, event in enumerate(plan.events, start=1):
        body: dict[str, Any] = {
            "terminal": where.terminal_serial,
            "serial": serial,
            "time": _local(plan.day, event.time, zone).isoformat(),
            "door_id": where.doors[event.door if event.door in where.doors else "room0"],
            "result": event.result,
        }
        if event.person is not None:
            person = people.get(event.person)
            body.update(
                person_id=person.person_id if person else event.person,
                verify_mode="face",
                direction=event.direction,
            )
        out.append(body)
    return out


def send_http(
    url: str,
    token: str,
    events: Sequence[dict[str, Any]],
    *,
    batch: int = 50,
    client: httpx.Client | None = None,
) -> dict[str, int]:
    """Post the events to ``url``'s terminal endpoint; counts of what the server said."""
    totals: Counter[str] = Counter()
    own = client is None
    http = client or httpx.Client(base_url=url, timeout=30)
    headers = {"authorization": f"Bearer {token}"}
    try:
        for start in range(0, len(events), batch):
            response = http.post(
                "/api/v1/terminal/events", json=list(events[start : start + batch]), headers=headers
            )
            if response.status_code != 200:
                raise RuntimeError(
                    f"the server refused the events: HTTP {response.status_code} {response.text[:200]}"
                )
            body = response.json()
            totals.update(
                accepted=body["accepted"], duplicates=body["duplicates"], refused=len(body["refused"])
            )
    finally:
        if own:
            http.close()
    return dict(totals)


def send_mqtt(
    host: str, port: int, prefix: str, facility_id: str, events: Sequence[dict[str, Any]]
) -> dict[str, int]:
    """Publish each event on its door's topic (QoS 1), as a terminal on the broker would."""
    import paho.mqtt.client as mqtt  # noqa: PLC0415
    from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"wardwatch-sim-doors-{time.monotonic_ns()}")
    client.connect(host, port)
    client.loop_start()
    try:
        for event in events:
            body = {k: v for k, v in event.items() if k != "door_id"}
            topic = f"{prefix}/{facility_id}/doors/{event['door_id']}/events"
            client.publish(topic, json.dumps(body).encode(), qos=1).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()
    return {"published": len(events)}


def wait_for_server(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"no server answered at {url}")


def yesterday(timezone: str, now: datetime | None = None) -> date:
    return ((now or datetime.now(UTC)).astimezone(ZoneInfo(timezone)) - timedelta(days=1)).date()


def admin_principal(container: Container, username: str) -> Principal:
    """The account the simulation provisions as (an administrator over the facility)."""
    try:
        user_id = container.accounts.users_matching_name(username)
    except KeyError:
        raise NotFound("not_found", params={"object": "user"}) from None
    return container.accounts.principal_of(user_id)
