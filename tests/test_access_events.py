"""Door events over HTTP: batches with bad events, duplicates, serial gaps, late events, the ledger."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from test_access_world import (
    NOW,
    bus_events,
    device,
    door_event,
    events_world,
)
from wardwatch.access import store


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = events_world(tmp_path, database_url)
    yield w
    w.container.close()


def post(world, events, token: str | None = None):
    with device(world, token or world.ids["token"]) as terminal:
        return terminal.post("/api/v1/terminal/events", json=events)


def health(world) -> dict:
    with world.client("installer_a") as installer:
        return installer.get(f"/api/v1/terminals/{world.ids['terminal']}").json()["health"]


def stored_events(world) -> int:
    with world.container.db.read() as conn:
        return conn.execute(select(func.count()).select_from(store.door_events)).scalar_one()


def test_a_batch_takes_the_good_events_and_says_which_were_refused_and_why(world) -> None:
    batch = [
        door_event(world, 1),
        door_event(world, 2, result="teleported"),
        door_event(world, 3, door_key="door_b"),
        {"serial": 4, "time": "2026-03-10T09:00:00", "door_id": world.ids["door_or"], "result": "forced"},
        door_event(world, 5, person_id=None),
        door_event(world, 6, time=(NOW + timedelta(hours=1)).isoformat()),
        "not an event",
        door_event(world, 7, result="forced", person_id=None, verify_mode=None, direction=None),
    ]
    response = post(world, batch)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    reasons = {r["index"]: {e["reason"] for e in r["errors"]} for r in body["refused"]}
    assert reasons == {
        1: {"enum"},
        2: {"door_not_bound"},
        3: {"value_error"},
        4: {"person_required"},
        5: {"time_in_future"},
        6: {"not_an_object"},
    }
    assert all(e["message"] for r in body["refused"] for e in r["errors"])
    state = health(world)
    assert (state["events_accepted"], state["events_refused"]) == (2, 6)
    assert state["last_refusal_reason"] == "enum"
    with world.container.db.read() as conn:
        kept = conn.execute(select(store.event_refusals.c.excerpt)).scalars().all()
    assert len(kept) == 6 and any("teleported" in k for k in kept)
    announced = bus_events(world, "access.door_event.refused")
    assert announced[0]["count"] == 6 and announced[0]["terminal_id"] == world.ids["terminal"]
    assert body["lost"] == [], "a refused event used its serial: received, not lost"
    with world.client("sup_a") as supervisor:
        assert [n["kind"] for n in supervisor.get("/api/v1/inbox").json()] == ["terminal_events_refused"]


def test_a_single_malformed_event_is_refused_with_a_problem_and_counted(world) -> None:
    response = post(world, door_event(world, 1, verify_mode="iris"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "door_event_refused"
    assert response.json()["errors"][0]["field"] == "verify_mode"
    with device(world, world.ids["token"]) as terminal:
        garbage = terminal.post(
            "/api/v1/terminal/events", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert garbage.status_code == 422 and garbage.json()["code"] == "door_events_not_json"
    assert health(world)["events_refused"] == 2
    assert stored_events(world) == 0


def test_duplicates_are_idempotent_and_a_reused_serial_is_refused(world) -> None:
    batch = [door_event(world, 1), door_event(world, 2, person_id="P-ANA")]
    assert post(world, batch).json()["accepted"] == 2
    again = post(world, batch).json()
    assert (again["accepted"], again["duplicates"], again["refused"]) == (0, 2, [])
    assert stored_events(world) == 2
    assert len(bus_events(world, "access.door_event.accepted")) == 2, "a duplicate announces nothing"
    reused = post(world, [door_event(world, 2, person_id="P-NURSE")]).json()
    assert reused["refused"][0]["errors"][0]["reason"] == "serial_reused"
    state = health(world)
    assert (state["events_accepted"], state["events_duplicate"], state["events_refused"]) == (2, 2, 1)


def test_a_jump_in_serials_is_reported_and_a_late_event_fills_it(world) -> None:
    post(world, [door_event(world, 10)])
    jumped = post(world, [door_event(world, 14)]).json()
    assert jumped["lost"] == [{"first_serial": 11, "last_serial": 13}]
    state = health(world)
    assert (state["events_lost"], state["open_gaps"], state["high_serial"]) == (3, 1, 14)
    assert bus_events(world, "access.door_events.lost")[0]["ranges"] == [
        {"first_serial": 11, "last_serial": 13}
    ]
    with world.client("sup_a") as supervisor:
        notices = supervisor.get("/api/v1/inbox").json()
    assert [n["kind"] for n in notices] == ["terminal_events_lost"]
    assert "3" in notices[0]["body"]
    # The missing events arrive late: accepted, flagged, and the windows announced stale.
    late = post(world, [door_event(world, 12), door_event(world, 11), door_event(world, 13)]).json()
    assert (late["accepted"], late["late"], late["lost"]) == (3, 3, [])
    state = health(world)
    assert (state["events_lost"], state["open_gaps"]) == (0, 0)
    stale = bus_events(world, "access.window.stale")
    assert len(stale) == 3 and {s["local_date"] for s in stale} == {"2026-03-10"}
    accepted = bus_events(world, "access.door_event.accepted")
    assert [a["late"] for a in accepted] == [False, False, True, True, True]


def test_an_event_that_arrives_long_after_it_happened_is_late_and_announced(world) -> None:
    hours_ago = door_event(world, 1, time=(NOW - timedelta(hours=3)).isoformat())
    result = post(world, [hours_ago]).json()
    assert (result["accepted"], result["late"]) == (1, 1)
    announced = bus_events(world, "access.door_event.accepted")[0]
    assert announced["late"] is True and announced["delay_s"] == 3 * 3600
    assert announced["door_kind"] == "operating_room_door" and announced["room_id"] == world.ids["room"]
    assert {"terminal_id", "serial", "person_id", "verify_mode", "result", "direction", "time"} <= set(
        announced
    )
    assert bus_events(world, "access.window.stale")[0]["event_id"] == announced["id"]


def test_the_ledger_answers_per_room_person_and_facility_day(world) -> None:
    local = "+07:00"
    batch = [
        # 23:30 on 9 March in Ho Chi Minh City is still 9 March there, though 16:30 UTC.
        door_event(world, 1, time=f"2026-03-09T23:30:00{local}", person_id="P-SURG"),
        door_event(world, 2, time=f"2026-03-10T07:50:00{local}", person_id="P-ANA"),
        door_event(world, 3, time=f"2026-03-10T07:55:00{local}", person_id="P-SURG"),
        door_event(world, 4, time=f"2026-03-10T08:40:00{local}", person_id="P-SURG", direction="out"),
        door_event(world, 5, time=f"2026-03-10T08:45:00{local}", person_id="P-SUSP"),
        door_event(world, 6, time=f"2026-03-10T08:46:00{local}", person_id="X-UNKNOWN"),
        door_event(world, 7, time=f"2026-03-10T08:50:00{local}", person_id="P-NURSE", door_key="door_sa"),
        door_event(world, 8, time=f"2026-03-10T08:51:00{local}", person_id="P-NURSE", result="denied"),
    ]
    assert post(world, batch).json()["accepted"] == 8
    with world.client("sup_a") as supervisor:
        today = supervisor.get(
            "/api/v1/entries", params={"room_id": world.ids["room"], "date": "2026-03-10"}
        ).json()
        yesterday = supervisor.get("/api/v1/entries", params={"date": "2026-03-09"}).json()
        surgeon = supervisor.get("/api/v1/entries", params={"person_id": "P-SURG"}).json()
        window = supervisor.get(
            "/api/v1/entries",
            params={"start": f"2026-03-10T07:52:00{local}", "end": f"2026-03-10T08:45:00{local}"},
        ).json()
        denied = supervisor.get("/api/v1/door-events", params={"result": "denied"}).json()
    assert [e["person_id"] for e in today] == ["X-UNKNOWN", "P-SUSP", "P-SURG", "P-SURG", "P-ANA"]
    assert [e["direction"] for e in today][2] == "out"
    assert [e["person_id"] for e in yesterday] == ["P-SURG"]
    assert len(surgeon) == 3
    assert [e["person_id"] for e in window] == ["P-SURG", "P-SURG"]
    by_person = {e["person_id"]: e for e in today}
    assert (
        by_person["P-ANA"]["profession"] == "anaesthetist" and by_person["P-ANA"]["licence_problem"] is None
    )
    assert by_person["P-SUSP"]["licence_problem"] == "suspended"
    assert by_person["X-UNKNOWN"]["licence_problem"] == "not_registered"
    assert by_person["P-SURG"]["name"] == "Nguyễn Văn An"
    assert [e["person_id"] for e in denied] == ["P-NURSE"]
    # The same facts for the rule engine, without a principal.
    access = world.container.access
    entries = access.entries(world.ids["fac_a"], day=NOW.date(), room_id=world.ids["room"])
    assert [e.person_id for e in entries] == ["P-ANA", "P-SURG", "P-SURG", "P-SUSP", "X-UNKNOWN"]
    anaesthetists = [
        e
        for e in entries
        if (p := access.practitioner_at(e.facility_id, e.person_id or "", e.time))
        and p.record.profession == "anaesthetist"
    ]
    assert len(anaesthetists) == 1
    # Scope: another facility's supervisor sees none of it; an operator lacks ledger.read.
    with world.client("sup_b") as outsider:
        assert outsider.get("/api/v1/entries").json() == []
        assert outsider.get("/api/v1/entries", params={"facility_id": world.ids["fac_a"]}).status_code == 404
    with world.client("op_a") as operator:
        assert operator.get("/api/v1/entries").status_code == 403
    with world.client("sup_a") as supervisor:
        naive = supervisor.get("/api/v1/entries", params={"start": "2026-03-10T07:00:00"})
    assert naive.status_code == 422 and naive.json()["code"] == "time_without_offset"


def test_door_events_named_by_id_are_listed_only_within_the_callers_scope(world) -> None:
    """What the alert screen asks for: the events an alert rests on, by id."""
    assert post(world, [door_event(world, n) for n in (1, 2, 3)]).json()["accepted"] == 3
    with world.container.db.read() as conn:
        ids = list(
            conn.execute(select(store.door_events.c.id).order_by(store.door_events.c.serial)).scalars()
        )
    wanted = [ids[0], ids[2]]
    with world.client("sup_a") as supervisor:
        found = supervisor.get("/api/v1/door-events", params=[("id", i) for i in wanted]).json()
        assert sorted(e["id"] for e in found) == sorted(wanted)
        assert supervisor.get("/api/v1/door-events", params={"id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ"}).json() == []
        too_many = supervisor.get("/api/v1/door-events", params=[("id", f"x{n}") for n in range(501)])
        assert too_many.status_code == 422
        assert too_many.headers["content-type"] == "application/problem+json"
        assert (too_many.json()["code"], too_many.json()["field"]) == ("too_many_ids", "id")
    # Facility B's supervisor holds ledger.read, but not over facility A: nothing is listed.
    with world.client("sup_b") as other:
        assert other.get("/api/v1/door-events", params=[("id", i) for i in wanted]).json() == []
