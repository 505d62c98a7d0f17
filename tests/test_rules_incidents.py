"""R9: an operating-room camera out for more than 30 minutes without a fallback raises yellow.

The incidents are the continuity wing's own, opened by the camera state the health tests
drive (``test_health_incidents``); the rule engine hears of them on the bus (``pump``)
and judges each incident's first 30 minutes once the clock is past them and the grace.
An operating-room camera is one in an operating-room-door or surgical-area-entrance zone,
or one linked to a door of an operating room.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from support import World, ready_camera_body
from test_health_incidents import advance, check, incident_world, online, open_fault, picture
from test_rules_world import alerts, firing, pump
from wardwatch.health.model import HealthState


@pytest.fixture
def world(database_url: str, tmp_path: Path, now: datetime) -> Iterator[World]:
    w = incident_world(tmp_path / "data", database_url, now, {})
    with w.client("admin") as admin:
        for key, zone in (("cam_or", "fac_a_ordoor"), ("cam_linked", "fac_a_corridor")):
            body = ready_camera_body(w.ids[zone], name=key)
            camera = admin.post("/api/v1/cameras", json=body).json()
            assert admin.post(f"/api/v1/cameras/{camera['id']}/activate").status_code == 200
            w.ids[key] = camera["id"]
        # A corridor camera watching the door of operating room 1 is an operating-room camera too.
        door = admin.post(
            "/api/v1/doors",
            json={
                "zone_id": w.ids["fac_a_ordoor"],
                "name": "OR 1 door",
                "kind": "operating_room_door",
                "camera_ids": [w.ids["cam_linked"]],
            },
        )
        assert door.status_code == 201, door.text
        room = admin.post(
            f"/api/v1/facilities/{w.ids['fac_a']}/operating-rooms",
            json={"name": "OR 1", "door_ids": [door.json()["id"]]},
        )
        assert room.status_code == 201, room.text
    w.ids["pumped"] = ""
    yield w
    w.container.close()


def settle(world: World) -> None:
    """What happened reaches the rules, and the windows whose time is up are judged."""
    check(world)
    pump(world)
    world.container.rules.service.tick()
    pump(world)


def fallback(world: World, incident_id: str, start: datetime) -> None:
    body = {"measure": "guard posted at the theatre door", "start": start.isoformat(), "end": ""}
    body["end"] = (start + timedelta(hours=2)).isoformat()
    with world.client("sup_a") as sup:
        recorded = sup.put(f"/api/v1/incidents/{incident_id}/fallback", json=body)
    assert recorded.status_code == 200, recorded.text


def r9(world: World) -> list[Any]:
    return alerts(world, "R9")


def test_an_operating_room_camera_out_for_30_minutes_without_a_fallback_raises_yellow(world: World) -> None:
    started = world.clock.now()
    incident = open_fault(world, "cam_or")
    settle(world)
    advance(world, 29 * 60)  # 30 minutes since the fault began: not more than 30 yet
    settle(world)
    assert r9(world) == []
    advance(world, 3 * 60)  # past the 30 minutes and the grace for late news
    settle(world)
    [alert] = firing(world, "R9")
    assert (alert.severity, alert.source, alert.status) == ("yellow", "rule", "firing")
    assert alert.labels == {
        "day": alert.day,
        "incident_id": incident["id"],
        "camera_id": world.ids["cam_or"],
        "camera_name": "cam_or",
    }
    assert alert.event_ids == [f"incident:{incident['id']}"]
    assert alert.measures == {"uncovered": 1}
    assert alert.starts_at == started + timedelta(minutes=30), "it holds from the 31st minute"
    assert "cam_or" in alert.titles["en"] and "cam_or" in alert.titles["vi"]
    assert alert.rule_hash == world.container.rules.rules.get("R9").hash  # type: ignore[union-attr]
    # Yellow goes to the facility's legal representative.
    assert alert.receiver == "legal_representative"
    # The fallback put on record afterwards settles it.
    fallback(world, incident["id"], started)
    settle(world)
    [after] = alerts(world, "R9")
    assert after.status == "resolved"


def test_a_fallback_recorded_within_the_30_minutes_raises_nothing(world: World) -> None:
    started = world.clock.now()
    incident = open_fault(world, "cam_or")
    advance(world, 10 * 60)
    fallback(world, incident["id"], started)
    settle(world)
    advance(world, 40 * 60)
    settle(world)
    assert r9(world) == []


def test_an_incident_over_within_30_minutes_raises_nothing(world: World) -> None:
    incident = open_fault(world, "cam_or")
    advance(world, 5 * 60)
    picture(world, "cam_or", HealthState.OK)  # back after six minutes
    with world.client("sup_a") as sup:
        repair = {"action": "reseated the cable", "repaired_by": "facility staff"}
        closed = sup.post(f"/api/v1/incidents/{incident['id']}/close", json={"repair": repair})
    assert closed.status_code == 200, closed.text
    settle(world)
    advance(world, 60 * 60)
    settle(world)
    assert r9(world) == []
    # A camera recovered in time but not yet confirmed is no breach either.
    second = open_fault(world, "cam_linked")
    advance(world, 20 * 60)
    picture(world, "cam_linked", HealthState.OK)
    settle(world)
    advance(world, 60 * 60)
    settle(world)
    assert r9(world) == [], second


def test_a_camera_away_from_the_theatres_raises_nothing_however_long_it_is_out(world: World) -> None:
    online(world, "cam_a")
    open_fault(world, "cam_a")  # a corridor camera watching no theatre door
    advance(world, 3 * 3600)
    settle(world)
    assert r9(world) == []


def test_a_camera_linked_to_an_operating_room_door_is_an_operating_room_camera(world: World) -> None:
    incident = open_fault(world, "cam_linked")
    advance(world, 33 * 60)
    settle(world)
    [alert] = firing(world, "R9")
    assert alert.labels["incident_id"] == incident["id"]
    assert alert.labels["camera_id"] == world.ids["cam_linked"]


def test_after_a_restart_an_incident_still_open_is_judged(world: World) -> None:
    open_fault(world, "cam_or")
    # Nothing reached the engine before the restart: it must find the open incident itself.
    advance(world, 35 * 60)
    check(world)
    world.container.rules.service.start()
    world.container.rules.service.tick()
    [alert] = firing(world, "R9")
    assert alert.severity == "yellow"
