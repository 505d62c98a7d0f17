"""The roster through the API: shifts, overlaps refused whole, coverage gaps, the live gap notice.

Every test runs on SQLite and PostgreSQL with the container's fixed clock, moved by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from support import World, wait_for
from test_duty_world import PROBLEM, T0, H, M, audit_actions, duty_world, iso, plan, shift_body
from wardwatch.alerts import store as alerts_store
from wardwatch.duty import store as duty_store
from wardwatch.kernel.i18n import t


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    w = duty_world(tmp_path, database_url)
    yield w
    w.container.close()


def count(world: World, table: Any) -> int:
    with world.container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_overlapping_shifts_of_an_operator_are_refused_and_nothing_is_saved(world: World) -> None:
    first = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H, label="Ca ngày")
    with world.client("planner") as planner:
        clash = planner.post(
            "/api/v1/duty/shifts", json=shift_body(world, "fac_a", ["op2", "op1"], T0 + 4 * H, T0 + 12 * H)
        )
        assert clash.status_code == 409 and clash.headers["content-type"] == PROBLEM
        problem = clash.json()
        assert problem["code"] == "shift_overlap" and problem["rule"] == "roster.no_overlap"
        assert problem["field"] == "operator_ids" and "op1" in problem["detail"]
        assert [(c["operator_id"], c["shift_id"]) for c in problem["conflicts"]] == [
            (world.users["op1"], first)
        ]
        # Nothing of the refused shift was written: not the shift, its nodes or op2's place on it.
        assert count(world, duty_store.shifts) == 1
        assert count(world, duty_store.shift_nodes) == 1 and count(world, duty_store.shift_operators) == 1
        assert len(audit_actions(world, "duty.shift.create")) == 1
        # Touching is not overlapping: a shift may start when the other ends.
        after = planner.post(
            "/api/v1/duty/shifts", json=shift_body(world, "fac_a", ["op1", "op2"], T0 + 8 * H, T0 + 16 * H)
        )
        assert after.status_code == 201, after.text
        assert {o["username"] for o in after.json()["operators"]} == {"op1", "op2"}
        # A cancelled shift no longer holds its operators.
        cancelled = planner.post(f"/api/v1/duty/shifts/{first}/cancel", json={"reason": "operator ill"})
        assert cancelled.status_code == 200 and cancelled.json()["cancel_reason"] == "operator ill"
        again = planner.post(
            "/api/v1/duty/shifts", json=shift_body(world, "fac_a", ["op1"], T0 + 2 * H, T0 + 8 * H)
        )
        assert again.status_code == 201, again.text
        listed = planner.get("/api/v1/duty/shifts", params={"node_id": world.ids["fac_a"]}).json()
        assert [s["starts_at"] for s in listed] == [iso(T0 + 2 * H), iso(T0 + 8 * H)]
        assert len(planner.get("/api/v1/duty/shifts", params={"include_cancelled": True}).json()) == 3


def test_a_shift_is_refused_whole_when_any_part_of_it_is_wrong(world: World) -> None:
    with world.client("planner") as planner:
        cases = [
            (shift_body(world, "fac_a", ["op_b"], T0, T0 + 8 * H), 422, "shift_operator_out_of_scope"),
            (shift_body(world, "fac_a", ["op1"], T0 - 9 * H, T0 - H), 422, "shift_in_past"),
            (shift_body(world, "fac_a", ["op1"], T0, T0 + 30 * H), 422, "shift_too_long"),
            (shift_body(world, "fac_a", ["op1"], T0, T0 - H), 422, "validation_failed"),
            (shift_body(world, "dist_a", ["op_centre"], T0, T0 + H), 422, "shift_unit_kind"),
            (shift_body(world, "centre_a", ["op_centre"], T0, T0 + H), 422, "shift_covers_required"),
            (
                shift_body(world, "fac_a", ["op1"], T0, T0 + H, covers=[world.ids["fac_a2"]]),
                422,
                "shift_facility_covers_itself",
            ),
            (
                shift_body(world, "centre_a", ["op1"], T0, T0 + H, covers=[world.ids["dist_a"]]),
                422,
                "shift_operator_out_of_scope",
            ),
            (shift_body(world, "fac_b", ["op_b"], T0, T0 + H), 404, "not_found"),
            (
                {**shift_body(world, "fac_a", ["op1"], T0, T0 + H), "starts_at": "2026-03-02T08:00:00"},
                422,
                None,
            ),
        ]
        for body, status, code in cases:
            response = planner.post("/api/v1/duty/shifts", json=body)
            assert response.status_code == status, (code, response.text)
            assert response.headers["content-type"] == PROBLEM
            if code:
                assert response.json()["code"] == code
    with world.client("admin") as admin:
        outside = admin.post(
            "/api/v1/duty/shifts",
            json=shift_body(world, "centre_a", ["op_centre"], T0, T0 + H, covers=[world.ids["fac_b"]]),
        )
        assert outside.json()["code"] == "shift_cover_outside_jurisdiction"
    with world.client("op1") as operator:
        refused = operator.post("/api/v1/duty/shifts", json=shift_body(world, "fac_a", ["op1"], T0, T0 + H))
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert count(world, duty_store.shifts) == 0 and count(world, duty_store.shift_operators) == 0


def gaps_of(report: dict[str, Any], facility_id: str) -> list[tuple[Any, Any, str]]:
    (facility,) = [f for f in report["facilities"] if f["facility_id"] == facility_id]
    return [(g["start"], g["end"], g["reason"]) for g in facility["gaps"]]


def test_coverage_finds_every_gap_ahead_and_in_the_past_in_the_facility_time_zone(world: World) -> None:
    first = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
    plan(world, "fac_a", ["op2"], T0 + 8 * H, T0 + 16 * H)
    plan(world, "fac_a", ["op3"], T0 + 20 * H, T0 + 28 * H)
    fac_a = world.ids["fac_a"]
    with world.client("sup_a") as supervisor:
        ahead = supervisor.get("/api/v1/duty/coverage", params={"node_id": fac_a}).json()
        assert ahead["start"] == iso(T0) and ahead["end"] == iso(T0 + 7 * 24 * H)
        # Shifts still to come count as planned; the holes between them are gaps.
        assert gaps_of(ahead, fac_a) == [
            (iso(T0 + 16 * H), iso(T0 + 20 * H), "unstaffed"),
            (iso(T0 + 28 * H), iso(T0 + 7 * 24 * H), "unstaffed"),
        ]
        (mine,) = ahead["facilities"]
        assert (
            mine["timezone"] == "Asia/Ho_Chi_Minh"
            and mine["gaps"][0]["start_local"] == "2026-03-03T00:00+07:00"
        )
        assert mine["gaps"][0]["reason_label"] == t("gap_reason.unstaffed", "en")
    with world.client("op1") as op1:
        taken = op1.post(f"/api/v1/duty/shifts/{first}/start", json={"reason": "first shift of the roster"})
        assert taken.status_code == 200 and taken.json()["taken"] is True
    world.clock.advance(9 * H)
    with world.client("sup_a") as supervisor:
        # op2 never took the second shift: after the takeover grace it is a gap, and stays one.
        past = supervisor.get(
            "/api/v1/duty/coverage",
            params={"node_id": fac_a, "start": iso(T0 - 24 * H), "end": iso(T0 + 9 * H)},
        ).json()
        assert gaps_of(past, fac_a) == [
            (iso(T0 - 24 * H), iso(T0), "unstaffed"),
            (iso(T0 + 8 * H + 15 * M), iso(T0 + 9 * H), "not_taken"),
        ]
        ahead = supervisor.get("/api/v1/duty/coverage", params={"node_id": fac_a}).json()
        assert gaps_of(ahead, fac_a)[:2] == [
            (iso(T0 + 9 * H), iso(T0 + 16 * H), "not_taken"),
            (iso(T0 + 16 * H), iso(T0 + 20 * H), "unstaffed"),
        ]
        too_long = supervisor.get(
            "/api/v1/duty/coverage", params={"start": iso(T0), "end": iso(T0 + 40 * 24 * H)}
        )
        assert too_long.status_code == 422 and too_long.json()["code"] == "coverage_range_too_long"
        naive = supervisor.get("/api/v1/duty/coverage", params={"start": "2026-03-02T08:00:00"})
        assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "start"


def test_a_monitoring_centre_covers_every_facility_below_the_nodes_it_lists(world: World) -> None:
    whole = plan(world, "centre_a", ["op_centre"], T0, T0 + 12 * H, covers=[world.ids["dist_a"]])
    plan(world, "centre_a", ["op_centre"], T0 + 12 * H, T0 + 24 * H, covers=[world.ids["fac_a2"]])
    with world.client("op_centre") as op:
        assert (
            op.post(f"/api/v1/duty/shifts/{whole}/start", json={"reason": "night team starts"}).status_code
            == 200
        )
    world.clock.advance(H)
    with world.client("planner") as planner:
        report = planner.get(
            "/api/v1/duty/coverage",
            params={"node_id": world.ids["dist_a"], "start": iso(T0), "end": iso(T0 + 24 * H)},
        ).json()
    assert {f["facility_id"] for f in report["facilities"]} == {world.ids["fac_a"], world.ids["fac_a2"]}
    assert gaps_of(report, world.ids["fac_a2"]) == []
    assert gaps_of(report, world.ids["fac_a"]) == [(iso(T0 + 12 * H), iso(T0 + 24 * H), "unstaffed")]
    (fac_a,) = [f for f in report["facilities"] if f["facility_id"] == world.ids["fac_a"]]
    assert [(o["username"], o["shift_id"]) for o in fac_a["on_duty"]] == [("op_centre", whole)]
    with world.client("planner") as planner:
        # The centre's shifts show up for the facilities they cover.
        listed = planner.get("/api/v1/duty/shifts", params={"node_id": world.ids["fac_a2"]}).json()
        assert len(listed) == 2 and all(s["node_id"] == world.ids["centre_a"] for s in listed)


def test_a_live_gap_reaches_the_facility_supervisor_once_and_closes_when_covered(world: World) -> None:
    events: list[Any] = []
    world.container.bus.subscribe("test-duty-gaps", events.append, types=["duty.coverage.*"])
    world.container.start(record=False)
    shift = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
    duty = world.container.duty
    assert duty.check_live_gaps().opened == []  # within the takeover grace
    world.clock.advance(20 * M)
    (gap_id,) = duty.check_live_gaps().opened
    world.clock.advance(10 * M)
    assert duty.check_live_gaps().opened == []  # the same gap: no second notice
    with world.client("sup_a") as supervisor:
        (notice,) = supervisor.get("/api/v1/inbox").json()
        assert notice["title"] == t("inbox.duty_coverage_gap.title", "en", facility="Facility fac_a")
        assert "2026-03-02T08:15+07:00" in notice["body"] and notice["ref_id"] == gap_id
    for other in ("sup_a2", "sup_b", "op1"):  # facility A2 has no roster yet; B is elsewhere
        with world.client(other) as client:
            assert client.get("/api/v1/inbox").json() == []
    with world.client("op1") as op1:
        op1.post(f"/api/v1/duty/shifts/{shift}/start", json={"reason": "late, bus broke down"})
    assert duty.check_live_gaps().closed == [gap_id]
    with world.client("sup_a") as supervisor:
        (gap,) = supervisor.get("/api/v1/duty/gaps").json()
        assert gap["ended_at"] == iso(T0 + 30 * M) and gap["recipients"] == 1 and gap["reason"] == "not_taken"
        assert len(supervisor.get("/api/v1/inbox").json()) == 1
    wait_for(lambda: len(events) >= 2, 10, "the gap's events on the bus")
    assert [e.type for e in events] == ["duty.coverage.gap_opened", "duty.coverage.gap_closed"]
    assert events[0].payload["facility_id"] == world.ids["fac_a"]
    opened = audit_actions(world, "duty.coverage.gap_open")
    assert len(opened) == 1 and opened[0].scope == world.ids["fac_a"]
    with world.container.db.read() as conn:
        notices = conn.execute(select(alerts_store.inbox.c.kind)).scalars().all()
    assert notices == ["duty_coverage_gap"]


def test_the_server_runs_the_live_check_on_its_own(tmp_path: Path, database_url: str) -> None:
    world = duty_world(tmp_path, database_url, duty={"coverage_check": True, "coverage_check_interval_s": 5})
    try:
        plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
        world.clock.advance(H)
        world.container.start(record=False)
        with world.client("sup_a") as supervisor:
            notices = wait_for(lambda: supervisor.get("/api/v1/inbox").json(), 30, "the coverage gap notice")
        assert [n["kind"] for n in notices] == ["duty_coverage_gap"]
    finally:
        world.container.close()


def test_an_operator_of_another_facility_sees_and_reaches_nothing_of_the_roster(world: World) -> None:
    shift = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
    with world.client("op_b") as op_b:
        assert op_b.get(f"/api/v1/duty/shifts/{shift}").status_code == 404
        assert op_b.get("/api/v1/duty/shifts").json() == []
        assert op_b.post(f"/api/v1/duty/shifts/{shift}/start", json={"reason": "sneaky"}).status_code == 404
        assert op_b.get("/api/v1/duty/coverage", params={"node_id": world.ids["fac_a"]}).status_code == 404
        report = op_b.get("/api/v1/duty/coverage").json()
        assert [f["facility_id"] for f in report["facilities"]] == [world.ids["fac_b"]]
    with world.client("op2") as op2:
        # Inside the scope, on a shift that is not theirs: refused as not permitted.
        refused = op2.post(f"/api/v1/duty/shifts/{shift}/start", json={"reason": "not mine"})
        assert refused.status_code == 403 and refused.json()["code"] == "not_shift_operator"
    with world.client("planner") as planner:
        assert planner.get(f"/api/v1/duty/shifts/{shift}").json()["taken"] is False
