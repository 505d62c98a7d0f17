"""The shift logbook and the handover through the API, on SQLite and PostgreSQL.

The logbook is append-only all the way down: no route edits or deletes an entry, and the
database itself refuses an UPDATE or DELETE. A handover lists what other wings report
open (through providers registered the way the container registers them), and the
incoming operator's acknowledgement is what makes their shift count as taken.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, text, update
from sqlalchemy.exc import DBAPIError

from support import World
from test_duty_world import PROBLEM, T0, H, M, audit_actions, duty_world, iso, plan
from wardwatch.duty import store as duty_store
from wardwatch.duty.handover import OpenItem


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    w = duty_world(tmp_path, database_url)
    yield w
    w.container.close()


def entry(client: Any, world: World, text_: str, **extra: Any) -> Any:
    body = {"facility_id": world.ids["fac_a"], "kind": "observation", "text": text_, **extra}
    return client.post("/api/v1/duty/logbook", json=body)


def test_the_logbook_is_append_only_and_corrections_are_new_entries(world: World) -> None:
    shift = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
    with world.client("op1") as op1:
        op1.post(f"/api/v1/duty/shifts/{shift}/start", json={"reason": "roster begins"})
        world.clock.advance(H)
        first = entry(op1, world, "Hành lang tầng 3: hai người không đeo khẩu trang")
        assert first.status_code == 201, first.text
        original = first.json()
        assert original["shift_id"] == shift and original["kind_label"] == "observation"
        assert original["occurred_at"] == iso(T0 + H) and original["author_name"] == "op1"
        late = entry(
            op1, world, "Called the manager", kind="manager_notified", occurred_at=(T0 + 30 * M).isoformat()
        )
        assert late.json()["occurred_at"] == iso(T0 + 30 * M)
        assert late.json()["recorded_at"] == iso(T0 + H)
        fix = entry(op1, world, "Tầng 2, không phải tầng 3", corrects_id=original["id"])
        assert fix.status_code == 201 and fix.json()["corrects_id"] == original["id"]
        again = op1.get(f"/api/v1/duty/logbook/{original['id']}").json()
        assert again["text"] == original["text"] and again["corrected_by"] == [fix.json()["id"]]
        # No route edits or deletes an entry.
        assert op1.patch(f"/api/v1/duty/logbook/{original['id']}", json={"text": "x"}).status_code == 405
        assert op1.delete(f"/api/v1/duty/logbook/{original['id']}").status_code == 405
        # Bad entries are refused, each naming its field.
        for extra, code, field in (
            ({"occurred_at": (T0 + 2 * H).isoformat()}, "log_entry_in_future", "occurred_at"),
            ({"corrects_id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ"}, "log_correction_unknown", "corrects_id"),
            ({"shift_id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ"}, "log_entry_shift_mismatch", "shift_id"),
            ({"kind": "gossip"}, "validation_failed", None),
        ):
            refused = entry(op1, world, "x", **extra)
            assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
            assert refused.json()["code"] == code and refused.json().get("field", field) == field
        by_shift = op1.get("/api/v1/duty/logbook", params={"shift_id": shift}).json()
        assert [e["text"] for e in by_shift] == [
            "Called the manager",
            "Hành lang tầng 3: hai người không đeo khẩu trang",
            "Tầng 2, không phải tầng 3",
        ]
        by_kind = op1.get(
            "/api/v1/duty/logbook", params={"facility_id": world.ids["fac_a"], "kind": "manager_notified"}
        ).json()
        assert [e["text"] for e in by_kind] == ["Called the manager"]
    appended = audit_actions(world, "duty.log.append")
    assert len(appended) == 3 and {a.scope for a in appended} == {world.ids["fac_a"]}
    # The database refuses to rewrite history, whatever the caller.
    for statement in (
        update(duty_store.log_entries).values(text="rewritten"),
        delete(duty_store.log_entries),
    ):
        with pytest.raises(DBAPIError), world.container.db.write() as conn:
            conn.execute(statement)
    with world.client("op1") as op1:
        assert len(op1.get("/api/v1/duty/logbook").json()) == 3


def test_logbook_scope_outside_is_not_found_and_inside_without_the_permission_is_refused(
    world: World,
) -> None:
    with world.client("op1") as op1:
        mine = entry(op1, world, "quiet night").json()
    with world.client("op_b") as op_b:
        assert entry(op_b, world, "sneaky").status_code == 404
        assert op_b.get(f"/api/v1/duty/logbook/{mine['id']}").status_code == 404
        assert op_b.get("/api/v1/duty/logbook").json() == []
    with world.client("sup_a") as supervisor:
        assert supervisor.get(f"/api/v1/duty/logbook/{mine['id']}").status_code == 200
        refused = entry(supervisor, world, "supervisors read the logbook, operators write it")
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    with world.client("admin") as admin:
        admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["op_centre"],
                "node_id": world.ids["fac_a"],
                "permission": "duty.write",
                "effect": "deny",
            },
        )
    with world.client("op_centre") as centre:
        inside = entry(centre, world, "denied here")
        assert inside.status_code == 403 and inside.json()["permission"] == "duty.write"


class Providers:
    """Open items as the health and alerts wings would list them, and one wing that fails."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.asked: list[list[str]] = []

    def incidents(self, conn: Connection, paths: list[str]) -> list[OpenItem]:
        assert conn.execute(text("SELECT 1")).scalar() == 1  # called with a live connection
        self.asked.append(paths)
        return [
            OpenItem(
                "incident",
                "INC1",
                self.world.ids["fac_a"],
                "Camera Gate offline",
                "red",
                T0 - H,
                {"fault": "offline"},
            )
        ]

    def alerts(self, conn: Connection, paths: list[str]) -> list[OpenItem]:
        return [OpenItem("alert", "AL1", self.world.ids["fac_a"], "Anaesthetist missing in OR 2", "yellow")]

    def broken(self, conn: Connection, paths: list[str]) -> list[OpenItem]:
        raise RuntimeError("door wing unreachable")


def test_handover_end_to_end(world: World) -> None:
    providers = Providers(world)
    duty = world.container.duty
    duty.register_open_items("incident", providers.incidents)
    duty.register_open_items("alert", providers.alerts)
    duty.register_open_items("door", providers.broken)
    day = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
    night = plan(world, "fac_a", ["op2"], T0 + 8 * H, T0 + 16 * H)
    with world.client("op1") as op1:
        no_reason = op1.post(f"/api/v1/duty/shifts/{day}/start", json={})
        assert no_reason.status_code == 422 and no_reason.json()["code"] == "shift_start_reason_required"
        assert op1.post(f"/api/v1/duty/shifts/{day}/start", json={"reason": "first shift"}).status_code == 200
        world.clock.advance(7 * H + 45 * M)
        written = op1.post(
            f"/api/v1/duty/shifts/{day}/handover",
            json={"summary": "Yên tĩnh. Camera cổng mất tín hiệu từ 07:00, bảo vệ trực thay."},
        )
        assert written.status_code == 201, written.text
        handover = written.json()
        assert handover["to_shift_id"] == night and handover["written_by_name"] == "op1"
        assert [(i["kind"], i["id"]) for i in handover["open_items"]] == [
            ("incident", "INC1"),
            ("alert", "AL1"),
        ]
        assert handover["checked"] == ["incident", "alert"] and handover["unavailable"] == ["door"]
        assert handover["acknowledged_at"] is None
        again = op1.post(f"/api/v1/duty/shifts/{day}/handover", json={"summary": "twice"})
        assert again.status_code == 409 and again.json()["code"] == "handover_exists"
    (paths,) = providers.asked
    assert len(paths) == 1 and paths[0].endswith(f"/{world.ids['fac_a']}/")
    with world.client("op3") as op3:
        refused = op3.post(f"/api/v1/duty/handovers/{handover['id']}/acknowledge", json={})
        assert refused.status_code == 403 and refused.json()["code"] == "not_shift_operator"
    with world.client("op2") as op2:
        pending = op2.post(f"/api/v1/duty/shifts/{night}/start", json={"reason": "skip it"})
        assert pending.status_code == 409 and pending.json()["handover_id"] == handover["id"]
        assert op2.get(f"/api/v1/duty/shifts/{night}").json()["handover_in"] == handover["id"]
        world.clock.advance(20 * M)
        acknowledged = op2.post(
            f"/api/v1/duty/handovers/{handover['id']}/acknowledge",
            json={"note": "Đã nhận, sẽ theo dõi camera cổng."},
        )
        assert acknowledged.status_code == 200, acknowledged.text
        assert acknowledged.json()["acknowledged_by_name"] == "op2"
        shift = op2.get(f"/api/v1/duty/shifts/{night}").json()
        assert shift["taken"] is True and shift["operators"][0]["handover_id"] == handover["id"]
        twice = op2.post(f"/api/v1/duty/handovers/{handover['id']}/acknowledge", json={})
        assert twice.status_code == 409 and twice.json()["code"] == "handover_already_acknowledged"
    world.clock.advance(H)
    with world.client("sup_a") as supervisor:
        report = supervisor.get(
            "/api/v1/duty/coverage",
            params={"node_id": world.ids["fac_a"], "start": T0.isoformat(), "end": (T0 + 10 * H).isoformat()},
        ).json()
        assert report["facilities"][0]["gaps"] == []
        assert [o["username"] for o in report["facilities"][0]["on_duty"]] == ["op2"]
        assert supervisor.get(f"/api/v1/duty/handovers/{handover['id']}").status_code == 200
    with world.client("op_b") as op_b:
        assert op_b.get(f"/api/v1/duty/handovers/{handover['id']}").status_code == 404
    (write,) = audit_actions(world, "duty.handover.write")
    (ack,) = audit_actions(world, "duty.handover.acknowledge")
    assert write.actor == f"user:{world.users['op1']}" and ack.actor == f"user:{world.users['op2']}"
    assert json.loads(write.details)["unavailable"] == ["door"]
    takes = audit_actions(world, "duty.shift.take")
    assert [json.loads(a.details)["without_handover"] for a in takes] == [True, False]


def test_a_handover_names_what_it_could_not_list_when_no_wing_provides_it(world: World) -> None:
    day = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
    plan(world, "fac_a", ["op1"], T0 + 8 * H, T0 + 16 * H)
    with world.client("op1") as op1:
        refused = op1.post(f"/api/v1/duty/shifts/{day}/handover", json={"summary": "not taken yet"})
        assert refused.status_code == 409 and refused.json()["code"] == "handover_shift_not_taken"
        op1.post(f"/api/v1/duty/shifts/{day}/start", json={"reason": "first shift"})
        handover = op1.post(f"/api/v1/duty/shifts/{day}/handover", json={"summary": "all quiet"}).json()
    # Whatever the container provides, every required kind was either asked or is said to be missing.
    required = set(world.container.settings.duty.handover_item_kinds)
    provided = set(world.container.duty.handovers.providers)
    assert set(handover["checked"]) == required & provided
    assert set(handover["unavailable"]) == required - provided
