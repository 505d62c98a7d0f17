"""Event time: late events and schedule changes evaluate again exactly the windows they touch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from test_rules_world import alerts, at, change_operation, door, firing, operation, rules_world, settle
from wardwatch.rules.loader import load_rules


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = rules_world(tmp_path, database_url)
    yield w
    w.container.close()


def test_a_late_anaesthetist_entry_resolves_the_alert_its_absence_raised(world) -> None:
    operation(world, "OP-1", "08:00", "09:30")
    door(world, at("08:20"), "P-SURG")
    settle(world, at("08:30"))
    [alert] = firing(world, "R1")
    # The terminal was offline; its buffered entry of 07:45 arrives at 08:40.
    world.clock.set(datetime.fromisoformat(at("08:40")).astimezone(UTC))
    late = door(world, at("07:45"), "P-ANA")
    settle(world)
    [resolved] = alerts(world, "R1")
    assert resolved.id == alert.id and resolved.status == "resolved"
    assert resolved.resolved_at == datetime.fromisoformat(at("08:10")).astimezone(UTC), "as of event time"
    history = world.container.alerts.get(world.principal("admin"), alert.id).history
    assert [h.kind for h in history] == ["fired", "resolved"]
    assert late


def test_a_late_refusal_completes_a_burst_and_raises(world) -> None:
    door(world, at("08:00"), "X-1", door_key="door_sa", result="denied")
    door(world, at("08:08"), "X-1", door_key="door_sa", result="denied")
    world.clock.set(datetime.fromisoformat(at("09:00")).astimezone(UTC))
    settle(world)
    assert firing(world, "R7") == []
    door(world, at("08:05"), "X-1", door_key="door_sa", result="denied")  # late, inside the burst
    settle(world)
    [alert] = firing(world, "R7")
    assert dict(alert.measures) == {"denied": 3}


def test_a_moved_start_reopens_the_window_and_judges_it_again_at_its_new_close(world) -> None:
    operation(world, "OP-1", "08:00", "09:30")
    door(world, at("08:35"), "P-ANA")  # the anaesthetist came at 08:35: too late for an 08:00 start
    door(world, at("08:36"), "P-SURG")
    settle(world, at("08:40"))
    [alert] = firing(world, "R1")
    # The theatre system records the actual start, 08:45: the entry was in time after all.
    change_operation(world, "OP-1", actual_start=at("08:45"))
    settle(world, at("09:00"))
    assert firing(world, "R1") == []
    assert alerts(world, "R1")[0].id == alert.id
    # Cancelled operations raise nothing, even when nobody came.
    operation(world, "OP-2", "10:00", "11:00", room="room2")
    change_operation(world, "OP-2", status="cancelled")
    settle(world, at("11:30"))
    assert [a for a in firing(world, "R1")] == []
    assert firing(world, "R5") == []


def test_an_unchanged_verdict_writes_nothing_and_redelivery_is_harmless(world) -> None:
    door(world, at("08:00"), "X-UNKNOWN")
    settle(world)
    [alert] = firing(world, "R4")
    # The bus delivers at least once: every event again, in order.
    world.ids["pumped"] = ""
    settle(world)
    again = world.container.alerts.get(world.principal("admin"), alert.id)
    assert [h.kind for h in again.history] == ["fired"]


def test_every_alert_stores_the_rules_id_version_hash_measures_and_evidence(world) -> None:
    first = door(world, at("08:00"), "P-SUSP")
    second = door(world, at("08:30"), "P-SUSP", door_key="door_sa")
    settle(world)
    [alert] = firing(world, "R4")
    rule = load_rules().get("R4")
    assert rule is not None
    with world.client("sup_a") as supervisor:
        detail = supervisor.get(f"/api/v1/alerts/{alert.id}").json()
        listed = {r["id"]: r for r in supervisor.get("/api/v1/rules").json()}
        one = supervisor.get("/api/v1/rules/R4").json()
        missing = supervisor.get("/api/v1/rules/R99")
    assert (detail["rule_id"], detail["rule_version"], detail["rule_hash"]) == ("R4", "1.0.0", rule.hash)
    assert detail["measures"] == {"unlicensed_entries": 2}
    assert detail["event_ids"] == [first, second]
    assert detail["labels"] == {"day": "2026-03-10", "person": "P-SUSP"}
    assert set(listed) == {f"R{n}" for n in range(1, 10)}
    assert listed["R4"]["hash"] == rule.hash and listed["R4"]["severity"] == "red"
    assert one["canonical"]["id"] == "R4" and one["titles"]["zh-Hans"]
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    with world.client("installer_a") as installer:  # holds no alert.read
        assert installer.get("/api/v1/rules").status_code == 403
