"""Builders for the rule tests: a theatre day at facility A, driven through the real API.

Facility A (Asia/Ho_Chi_Minh, UTC+7) has operating rooms ``OR 1`` (door ``door_or``) and
``OR 2`` (door ``door_or2``), and a terminal on both and the surgical-area entrance. The
register of province A is on record from the day before. Events go in over HTTP as a
terminal sends them; ``pump`` hands the outbox to the rule engine in order (what the
relay and the bus do in the server), so every step is deterministic under the test clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from support import World
from test_access_world import NOW, access_world, device, import_register, make_terminal
from wardwatch.alerts import store as alerts_store
from wardwatch.kernel.bus import Event
from wardwatch.kernel.outbox import outbox
from wardwatch.rules.service import EVENT_TYPES

DAY = "2026-03-10"
LOCAL = "+07:00"

REGISTER = """licence_number,person_id,name,profession,scopes,lead_physician,valid_from,valid_to,status
CCHN-001,P-SURG,Nguyễn Văn An,surgeon,cosmetic surgery|general surgery,yes,2020-01-01,,active
CCHN-002,P-ANA,Trần Thị Bình,anaesthetist,anaesthesia,no,2019-05-01,,active
CCHN-003,P-NURSE,Lê Thị Cúc,nurse,,no,2021-01-01,,active
CCHN-005,P-SUSP,Hoàng Văn Em,surgeon,cosmetic surgery,yes,2018-01-01,,suspended
CCHN-006,P-ANA2,Đỗ Thị Giang,anaesthetist,anaesthesia,no,2019-05-01,,active
CCHN-007,P-SURG2,Vũ Văn Hùng,surgeon,general surgery,yes,2020-01-01,,active
CCHN-008,P-OLD,Bùi Văn Khoa,anaesthetist,anaesthesia,no,2010-01-01,2025-12-31,active
"""


def at(hhmm: str, day: str = DAY) -> str:
    """A local time of the test day, as the facility's systems write it."""
    return f"{day}T{hhmm}:00{LOCAL}"


def rules_world(tmp_path: Path, database_url: str, **overrides: Any) -> World:
    world = access_world(tmp_path, database_url, **overrides)
    world.clock.set(NOW - timedelta(days=1))
    assert import_register(world, "prov_sup_a", "prov_a", REGISTER).status_code == 201
    world.clock.set(NOW)
    with world.client("admin") as admin:
        room = admin.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/operating-rooms",
            json={"name": "OR 2", "door_ids": [world.ids["door_or2"]]},
        )
        assert room.status_code == 201, room.text
        world.ids["room2"] = room.json()["id"]
    world.ids["terminal"], world.ids["token"] = make_terminal(
        world, "ZK-R1", ["door_or", "door_or2", "door_sa"]
    )
    world.ids["serial"] = "0"
    world.ids["pumped"] = ""
    # The theatre day starts: the clock moves with the events, as it would at the door.
    world.clock.set(datetime.fromisoformat(at("06:00")).astimezone(UTC))
    return world


def operation(
    world: World,
    ref: str,
    start: str,
    end: str,
    *,
    room: str = "room",
    anaesthesia: str = "general",
    lead: str = "CCHN-001",
    anaesthetist: str | None = "CCHN-002",
    category: str = "cosmetic_surgery",
    **extra: Any,
) -> str:
    body = {
        "ref": ref,
        "room_id": world.ids[room],
        "planned_start": at(start),
        "planned_end": at(end),
        "category": category,
        "anaesthesia": anaesthesia,
        "lead_surgeon": lead,
        "anaesthetist": anaesthetist,
        **extra,
    }
    with world.client("admin") as admin:
        made = admin.post(f"/api/v1/facilities/{world.ids['fac_a']}/procedures", json=body)
    assert made.status_code == 201, made.text
    world.ids[ref] = made.json()["id"]
    return str(made.json()["id"])


def change_operation(world: World, ref: str, **changes: Any) -> None:
    with world.client("admin") as admin:
        changed = admin.patch(f"/api/v1/procedures/{world.ids[ref]}", json=changes)
    assert changed.status_code == 200, changed.text


def door(
    world: World,
    time: str,
    person: str | None,
    *,
    door_key: str = "door_or",
    result: str = "granted",
    direction: str | None = "in",
    **extra: Any,
) -> str:
    """Send one event as the terminal would, the clock moved to just after it unless it is
    already later (then the event arrives late); returns the stored event's id."""
    moment = datetime.fromisoformat(time).astimezone(UTC) + timedelta(seconds=2)
    if moment > world.clock.now():
        world.clock.set(moment)
    serial = int(world.ids["serial"]) + 1
    world.ids["serial"] = str(serial)
    event: dict[str, Any] = {
        "serial": serial,
        "time": time,
        "door_id": world.ids[door_key],
        "result": result,
        **extra,
    }
    if result in ("granted", "denied"):
        event.update(person_id=person, verify_mode="face", direction=direction)
    with device(world, world.ids["token"]) as terminal:
        response = terminal.post("/api/v1/terminal/events", json=[event])
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.text
    with world.container.db.read() as conn:
        from wardwatch.access import store

        c = store.door_events.c
        found = conn.execute(
            select(c.id).where(c.terminal_id == world.ids["terminal"], c.serial == serial)
        ).scalar_one()
    return str(found)


def queued(world: World) -> list[Event]:
    """The rules' events of the outbox not yet handed to the engine, in order (marked as handed)."""
    with world.container.db.read() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.type, outbox.c.body)
            .where(outbox.c.id > world.ids["pumped"])
            .order_by(outbox.c.id)
        ).all()
    if rows:
        world.ids["pumped"] = rows[-1].id
    return [Event.from_json(r.body) for r in rows if r.type in EVENT_TYPES]


def pump(world: World) -> int:
    """Hand the outbox, in order, to the rule engine (the relay and bus do this in the server)."""
    service = world.container.rules.service
    events = queued(world)
    for event in events:
        service.handle(event)
    return len(events)


def settle(world: World, until: str | None = None) -> None:
    """Pump the outbox, move the clock (if asked) and close the windows that ended."""
    pump(world)
    if until is not None:
        assert datetime.fromisoformat(until) >= world.clock.now(), "the clock only moves forward"
        world.clock.set(datetime.fromisoformat(until).astimezone(UTC))
    world.container.rules.service.tick()
    pump(world)


def alerts(world: World, rule: str | None = None, status: str | None = None) -> list[Any]:
    a = alerts_store.alerts.c
    query = select(alerts_store.alerts).order_by(a.first_seen_at, a.id)
    if rule is not None:
        query = query.where(a.rule_id == rule)
    if status is not None:
        query = query.where(a.status == status)
    with world.container.db.read() as conn:
        return list(conn.execute(query).all())


def firing(world: World, rule: str) -> list[Any]:
    return [r for r in alerts(world, rule) if r.status != "resolved"]
