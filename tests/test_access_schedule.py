"""Operating rooms and the procedure schedule: API entry, imports refused whole, audited changes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from test_access_world import REGISTER_CSV, access_world, audit_actions, bus_events, import_register

SCHEDULE_CSV = """ref,room,planned_start,planned_end,category,anaesthesia,lead_surgeon,anaesthetist
OP-1,OR 1,2026-03-10T08:00,2026-03-10T09:30,Cosmetic surgery,general,CCHN-001,CCHN-002
OP-2,or 1,2026-03-10T10:00,2026-03-10T11:00,cosmetic_surgery,local,cchn-001,
OP-3,OR 1,2026-03-10T23:30,2026-03-11T01:00,liposuction,general,CCHN-404,
"""


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = access_world(tmp_path, database_url)
    assert import_register(w, "prov_sup_a", "prov_a", REGISTER_CSV).status_code == 201
    yield w
    w.container.close()


def upload(world, username: str, body: str, facility: str = "fac_a"):
    with world.client(username) as client:
        return client.post(
            f"/api/v1/facilities/{world.ids[facility]}/procedures/imports",
            params={"filename": "theatre.csv"},
            content=body.encode(),
            headers={"content-type": "text/csv"},
        )


def procedure_body(world, **extra):
    body = {
        "ref": "API-1",
        "room_id": world.ids["room"],
        "planned_start": "2026-03-10T13:00:00+07:00",
        "planned_end": "2026-03-10T14:00:00+07:00",
        "category": "Cosmetic surgery",
        "anaesthesia": "sedation",
        "lead_surgeon": "CCHN-001",
        "anaesthetist": "CCHN-002",
    }
    body.update(extra)
    return body


def test_operating_rooms_take_only_operating_room_doors_of_their_facility(world) -> None:
    with world.client("installer_a") as installer:
        wrong_kind = installer.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/operating-rooms",
            json={"name": "OR 2", "door_ids": [world.ids["door_sa"]]},
        )
        taken = installer.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/operating-rooms",
            json={"name": "OR 2", "door_ids": [world.ids["door_or"]]},
        )
        elsewhere = installer.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/operating-rooms",
            json={"name": "OR 2", "door_ids": [world.ids["door_b"]]},
        )
        made = installer.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/operating-rooms",
            json={"name": "OR 2", "door_ids": [world.ids["door_or2"]]},
        )
        renamed = installer.patch(f"/api/v1/operating-rooms/{made.json()['id']}", json={"name": "OR 1"})
        rooms = installer.get(f"/api/v1/facilities/{world.ids['fac_a']}/operating-rooms").json()
    assert wrong_kind.status_code == 422 and wrong_kind.json()["code"] == "room_door_kind"
    assert taken.status_code == 409 and taken.json()["code"] == "room_door_taken"
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "room_door_unknown"
    assert made.status_code == 201
    assert renamed.status_code == 409 and renamed.json()["code"] == "room_name_taken"
    assert [r["name"] for r in rooms] == ["OR 1", "OR 2"]
    with world.client("sup_b") as outsider:
        assert outsider.get(f"/api/v1/operating-rooms/{world.ids['room']}").status_code == 404
    with world.client("sup_a") as supervisor:  # sees the rooms, may not change them
        assert supervisor.get(f"/api/v1/operating-rooms/{world.ids['room']}").status_code == 200
        assert (
            supervisor.patch(f"/api/v1/operating-rooms/{world.ids['room']}", json={"name": "X"}).status_code
            == 403
        )


def test_a_schedule_file_with_a_bad_row_is_refused_whole(world) -> None:
    bad = SCHEDULE_CSV + "OP-4,OR 9,2026-03-10T12:00,2026-03-10T11:00,x,spinal,CCHN-001,\n"
    response = upload(world, "sup_a", bad)
    assert response.status_code == 422 and response.json()["code"] == "import_rows_invalid"
    found = {(e["row"], e["field"], e["reason"]) for e in response.json()["errors"]}
    assert found == {(5, "room", "unknown_room"), (5, "anaesthesia", "not_allowed")}
    with world.client("sup_a") as supervisor:
        assert supervisor.get("/api/v1/procedures").json() == []
    assert ("schedule.import", "failure") in audit_actions(world)


def test_a_schedule_import_counts_warns_and_reads_local_times_in_the_facility_zone(world) -> None:
    first = upload(world, "sup_a", SCHEDULE_CSV)
    assert first.status_code == 201, first.text
    result = first.json()
    assert (result["added"], result["changed"], result["unchanged"]) == (3, 0, 0)
    warnings = {(w["row"], w["field"], w["reason"]) for w in result["warnings"]}
    assert warnings == {
        (4, "lead_surgeon", "not_on_register"),
        (4, "anaesthetist", "general_without_anaesthetist"),
    }
    with world.client("sup_a") as supervisor:
        today = supervisor.get("/api/v1/procedures", params={"date": "2026-03-10"}).json()
    assert [p["ref"] for p in today] == ["OP-1", "OP-2", "OP-3"]
    one = today[0]
    assert one["planned_start"].startswith("2026-03-10T01:00:00"), "08:00 in Ho Chi Minh City is 01:00 UTC"
    assert one["category"] == "cosmetic_surgery" and one["anaesthesia"] == "general"
    assert today[2]["local_date"] == "2026-03-10", "an operation belongs to the day it starts"
    assert today[1]["warnings"] == [], "licence numbers compare regardless of case"
    moved = SCHEDULE_CSV.replace("OP-2,or 1,2026-03-10T10:00", "OP-2,or 1,2026-03-10T10:30")
    again = upload(world, "sup_a", moved).json()
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 1, 2)
    changes = bus_events(world, "access.schedule.changed")
    assert len(changes) == 4 and changes[-1]["change"] == "updated"
    assert changes[-1]["previous"]["planned_start"] == "2026-03-10T03:00:00Z"
    assert changes[-1]["local_dates"] == ["2026-03-10"]
    actions = audit_actions(world)
    assert actions.count(("schedule.import", "success")) == 2
    assert actions.count(("procedure.import", "success")) == 4, "each added or changed operation"
    facts = world.container.access.procedures(world.ids["fac_a"], date(2026, 3, 10), world.ids["room"])
    assert [p.ref for p in facts] == ["OP-1", "OP-2", "OP-3"]


def test_operations_entered_and_changed_through_the_api_are_audited_from_and_to(world) -> None:
    with world.client("sup_a") as supervisor:
        made = supervisor.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/procedures", json=procedure_body(world)
        )
        assert made.status_code == 201, made.text
        procedure_id = made.json()["id"]
        duplicate = supervisor.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/procedures", json=procedure_body(world)
        )
        reversed_times = supervisor.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/procedures",
            json=procedure_body(world, ref="API-2", planned_end="2026-03-10T12:00:00+07:00"),
        )
        naive = supervisor.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/procedures",
            json=procedure_body(world, ref="API-3", planned_start="2026-03-10T13:00:00"),
        )
        started = supervisor.patch(
            f"/api/v1/procedures/{procedure_id}",
            json={"actual_start": "2026-03-10T13:05:00+07:00", "anaesthesia": "general"},
        )
        cleared = supervisor.patch(f"/api/v1/procedures/{procedure_id}", json={"anaesthetist": None})
        nothing = supervisor.patch(f"/api/v1/procedures/{procedure_id}", json={"anaesthesia": "general"})
        cancelled = supervisor.patch(f"/api/v1/procedures/{procedure_id}", json={"status": "cancelled"})
    assert duplicate.status_code == 422 and duplicate.json()["code"] == "procedure_ref_taken"
    assert reversed_times.status_code == 422 and reversed_times.json()["code"] == "procedure_end_before_start"
    assert naive.status_code == 422
    assert started.json()["actual_start"].startswith("2026-03-10T06:05:00") and started.json()["version"] == 2
    assert cleared.json()["warnings"][0]["reason"] == "general_without_anaesthetist"
    assert nothing.status_code == 422 and nothing.json()["code"] == "nothing_to_change"
    assert cancelled.json()["status"] == "cancelled"
    with world.container.db.read() as conn:
        entries = world.container.audit.search(conn, scopes=None, object_id=procedure_id, limit=10)
    updates = [e for e in entries if e.action == "procedure.update"]
    assert len(updates) == 3
    first_change = next(e for e in updates if "actual_start" in e.details)
    assert '"from"' in first_change.details and "sedation" in first_change.details
    assert ("procedure.create", "success") in audit_actions(world)


def test_schedule_scope_other_facilities_are_invisible_and_editing_needs_the_permission(world) -> None:
    with world.client("sup_a") as supervisor:
        procedure_id = supervisor.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/procedures", json=procedure_body(world)
        ).json()["id"]
    with world.client("sup_b") as outsider:
        assert outsider.get(f"/api/v1/procedures/{procedure_id}").status_code == 404
        assert outsider.patch(f"/api/v1/procedures/{procedure_id}", json={"category": "x"}).status_code == 404
        assert outsider.get("/api/v1/procedures").json() == []
        assert upload(world, "sup_b", SCHEDULE_CSV, facility="fac_a").status_code == 404
        other_room = outsider.post(
            f"/api/v1/facilities/{world.ids['fac_b']}/procedures", json=procedure_body(world)
        )
        assert other_room.status_code == 422 and other_room.json()["code"] == "procedure_room_unknown"
    with world.client("legal_a") as legal:  # reads the schedule, may not change it
        assert legal.get(f"/api/v1/procedures/{procedure_id}").status_code == 200
        assert legal.patch(f"/api/v1/procedures/{procedure_id}", json={"category": "x"}).status_code == 403
    with world.client("op_a") as operator:
        assert operator.get("/api/v1/procedures").status_code == 403
