"""``wardwatch sim doors``: a theatre day with chosen violations raises exactly the planned alerts."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from test_access_world import access_world
from test_rules_world import alerts, pump
from wardwatch.api.app import create_app
from wardwatch.sim import doors as sim


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = access_world(tmp_path, database_url)  # the clock: 10:00 on 10 March, Ho Chi Minh City
    w.ids["pumped"] = ""
    yield w
    w.container.close()


def run_day(world, violations: list[str]) -> sim.DayPlan:
    admin = sim.admin_principal(world.container, "admin")
    plan = sim.plan_day(date(2026, 3, 9), violations, rooms=2, tag="TEST")
    where = sim.provision(world.container, admin, world.ids["fac_a"], plan)
    events = sim.door_events(plan, where)
    app = create_app(world.container, manage_lifecycle=False)
    with TestClient(app, base_url="http://testserver") as client:
        sent = sim.send_http("http://testserver", where.token, events, batch=7, client=client)
    assert sent["refused"] == 0 and sent["accepted"] + sent["duplicates"] == len(events)
    pump(world)
    world.container.rules.service.tick()
    pump(world)
    return plan


def raised(world) -> dict[str, int]:
    return dict(Counter(a.rule_id for a in alerts(world) if a.status != "resolved"))


def test_a_clean_day_raises_nothing(world) -> None:
    plan = run_day(world, [])
    assert plan.expected == {} and raised(world) == {}
    assert len(plan.operations) == 3 and len(plan.events) > 15


def test_every_injected_violation_raises_its_alerts_and_a_rerun_changes_nothing(world) -> None:
    plan = run_day(world, list(sim.VIOLATIONS))
    assert plan.expected == {"R1": 1, "R2": 2, "R3": 1, "R4": 1, "R5": 1, "R6": 1, "R7": 1, "R8": 1}
    assert raised(world) == plan.expected
    colours = {a.severity for a in alerts(world)}
    assert colours == {"blue", "yellow", "red"}
    run_day(world, list(sim.VIOLATIONS))  # the same serials again: duplicates, no new alert
    assert raised(world) == plan.expected and len(alerts(world)) == sum(plan.expected.values())


def test_a_facility_with_one_operating_room_skips_what_needs_two() -> None:
    plan = sim.plan_day(date(2026, 3, 9), ["R2", "R4"], rooms=1, tag="X")
    assert plan.skipped == ["R2"] and plan.expected == {"R4": 1}
    with pytest.raises(ValueError, match="unknown violations: R99"):
        sim.plan_day(date(2026, 3, 9), ["R99"], rooms=1, tag="X")


def test_the_ledger_and_the_rules_agree_on_who_was_licensed_on_a_day_before_the_import(world) -> None:
    """The register is put on record on 10 March and the day replayed is the 9th: the crew,
    licensed since 2020, were licensed that day in the entry ledger as in the rules (no R4),
    and the one stranger let in is the one R4 names."""
    plan = run_day(world, ["R4"])
    assert raised(world) == plan.expected == {"R4": 1}
    with world.client("admin") as admin:
        entries = admin.get(
            "/api/v1/entries", params={"facility_id": world.ids["fac_a"], "date": "2026-03-09", "limit": 500}
        ).json()
    crew = {p.person_id for p in plan.people}
    problems = {(e["person_id"] in crew, e["licence_problem"]) for e in entries}
    assert (True, None) in problems and not any(known and problem for known, problem in problems)
    [alert] = alerts(world, "R4")
    assert alert.labels["person"].endswith("VISITOR")
