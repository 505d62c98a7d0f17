"""The built-in rule pack, each rule both ways, on a theatre day at facility A.

Every fact goes in through the real API (schedule entries as a facility enters them,
door events as a terminal posts them); the engine runs on event time under the test
clock, and ``settle`` closes the windows the clock has passed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from test_rules_world import alerts, at, door, firing, operation, rules_world, settle


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = rules_world(tmp_path, database_url)
    yield w
    w.container.close()


def rule_ids(world) -> list[str]:
    return sorted(r.rule_id for r in alerts(world) if r.status != "resolved")


# ---------------------------------------------------------------- R1


def test_r1_raises_red_when_no_anaesthetist_enters_the_room_around_the_start(world) -> None:
    op = operation(world, "OP-1", "08:00", "09:30")
    door(world, at("07:50"), "P-SURG")
    door(world, at("07:20"), "P-ANA")  # too early: before start - 30 min
    door(world, at("07:55"), "P-ANA2", door_key="door_or2")  # another room
    door(world, at("07:58"), "P-OLD")  # an anaesthetist whose licence expired
    settle(world, at("08:11"))
    assert firing(world, "R1") == [], "nothing is said before the window closes and its grace passes"
    settle(world, at("08:13"))
    [alert] = firing(world, "R1")
    assert alert.severity == "red"
    assert alert.labels["procedure_id"] == op and alert.labels["procedure_ref"] == "OP-1"
    assert dict(alert.measures) == {"anaesthetist_entries": 0}
    assert list(alert.event_ids) == [f"procedure:{op}"]
    assert "OP-1" in alert.titles["en"] and "OP-1" in alert.titles["vi"]


def test_r1_stays_quiet_when_an_anaesthetist_enters_in_time_or_the_operation_is_not_general(world) -> None:
    operation(world, "OP-1", "08:00", "09:30")
    operation(world, "OP-2", "08:00", "09:00", room="room2", anaesthesia="local", anaesthetist=None)
    door(world, at("07:45"), "P-ANA")
    door(world, at("07:50"), "P-SURG")
    door(world, at("07:52"), "P-SURG", door_key="door_or2")
    settle(world, at("10:00"))
    assert firing(world, "R1") == []


# ---------------------------------------------------------------- R2


def test_r2_raises_red_when_concurrent_operations_outnumber_the_anaesthetists(world) -> None:
    op1 = operation(world, "OP-1", "08:00", "10:00")
    op2 = operation(world, "OP-2", "08:30", "10:00", room="room2", anaesthetist="CCHN-006")
    door(world, at("07:45"), "P-ANA")
    door(world, at("08:25"), "P-ANA", door_key="door_or2")  # the same anaesthetist runs next door
    settle(world, at("09:00"))
    found = firing(world, "R2")
    assert {a.labels["procedure_id"] for a in found} == {op1, op2}
    assert all(a.severity == "red" for a in found)
    assert all(dict(a.measures) == {"concurrent_ga": 2, "anaesthetists": 1} for a in found)
    assert firing(world, "R1") == [], "each room did see an anaesthetist arrive: only R2 sees the gap"


def test_r2_stays_quiet_when_each_concurrent_operation_has_its_own_anaesthetist(world) -> None:
    operation(world, "OP-1", "08:00", "10:00")
    operation(world, "OP-2", "08:30", "10:00", room="room2", anaesthetist="CCHN-006")
    operation(world, "OP-3", "10:30", "11:00")  # later, not concurrent
    door(world, at("07:45"), "P-ANA")
    door(world, at("08:25"), "P-ANA2", door_key="door_or2")
    door(world, at("10:25"), "P-ANA")
    settle(world, at("12:00"))
    assert firing(world, "R2") == []


# ---------------------------------------------------------------- R3


def test_r3_raises_yellow_at_the_end_of_a_day_with_fewer_anaesthetist_entries_than_operations(world) -> None:
    for ref, start, end in (
        ("OP-1", "08:00", "09:00"),
        ("OP-2", "10:00", "11:00"),
        ("OP-3", "14:00", "15:00"),
    ):
        operation(world, ref, start, end)
    door(world, at("07:50"), "P-ANA")
    settle(world, at("23:00"))
    assert firing(world, "R3") == [], "a day is judged when it is over"
    settle(world, at("00:03", "2026-03-11"))
    [alert] = firing(world, "R3")
    assert alert.severity == "yellow" and alert.labels["day"] == "2026-03-10"
    assert dict(alert.measures) == {"ga_operations": 3, "anaesthetist_entries": 1}
    assert len([e for e in alert.event_ids if e.startswith("procedure:")]) == 3


def test_r3_stays_quiet_when_every_operation_had_an_anaesthetist_entry(world) -> None:
    for ref, start, end in (("OP-1", "08:00", "09:00"), ("OP-2", "10:00", "11:00")):
        operation(world, ref, start, end)
    door(world, at("07:50"), "P-ANA")
    door(world, at("09:55"), "P-ANA2")
    settle(world, at("00:05", "2026-03-11"))
    assert firing(world, "R3") == []


# ---------------------------------------------------------------- R4


def test_r4_raises_red_for_a_granted_entry_without_a_licence_in_force(world) -> None:
    unknown = door(world, at("08:00"), "X-UNKNOWN")
    door(world, at("08:01"), "P-SUSP")
    door(world, at("08:02"), "P-OLD", door_key="door_sa")
    settle(world)
    found = {a.labels["person"]: a for a in firing(world, "R4")}
    assert set(found) == {"X-UNKNOWN", "P-SUSP", "P-OLD"}
    assert all(a.severity == "red" for a in found.values())
    assert list(found["X-UNKNOWN"].event_ids) == [unknown]
    assert dict(found["P-SUSP"].measures) == {"unlicensed_entries": 1}


def test_r4_stays_quiet_for_licensed_people_and_for_refused_attempts(world) -> None:
    door(world, at("08:00"), "P-SURG")
    door(world, at("08:01"), "X-UNKNOWN", result="denied")
    door(world, at("08:02"), "P-NURSE", door_key="door_sa")
    settle(world)
    assert firing(world, "R4") == []


# ---------------------------------------------------------------- R5


def test_r5_raises_yellow_when_the_lead_surgeon_never_entered_the_room(world) -> None:
    op = operation(world, "OP-1", "08:00", "09:30")
    door(world, at("07:45"), "P-ANA")
    door(world, at("07:50"), "P-SURG", door_key="door_or2")  # the wrong room
    door(world, at("08:10"), "P-SURG2")  # another surgeon
    settle(world, at("09:00"))
    assert firing(world, "R5") == [], "judged when the operation is over"
    settle(world, at("09:40"))
    [alert] = firing(world, "R5")
    assert alert.severity == "yellow" and alert.labels["procedure_id"] == op
    assert alert.labels["lead_surgeon"] == "CCHN-001"
    assert dict(alert.measures) == {"lead_surgeon_entries": 0}


def test_r5_stays_quiet_when_the_lead_surgeon_entered_during_the_operation(world) -> None:
    operation(world, "OP-1", "08:00", "09:30")
    door(world, at("07:45"), "P-ANA")
    door(world, at("08:20"), "P-SURG")
    settle(world, at("10:00"))
    assert firing(world, "R5") == []


# ---------------------------------------------------------------- R6


def test_r6_raises_yellow_for_an_operation_outside_the_lead_surgeons_scopes(world) -> None:
    outside = operation(world, "OP-1", "08:00", "09:00", lead="CCHN-007", category="liposuction")
    unknown = operation(world, "OP-2", "10:00", "11:00", lead="CCHN-404")
    settle(world)
    found = {a.labels["procedure_id"]: a for a in firing(world, "R6")}
    assert set(found) == {outside, unknown}, "a surgeon not on the register holds no scope at all"
    assert found[outside].severity == "yellow" and found[outside].labels["lead_surgeon"] == "CCHN-007"


def test_r6_stays_quiet_inside_the_scopes(world) -> None:
    operation(world, "OP-1", "08:00", "09:00", lead="CCHN-001", category="Cosmetic surgery")
    operation(world, "OP-2", "10:00", "11:00", lead="CCHN-007", category="general_surgery")
    settle(world)
    assert firing(world, "R6") == []


# ---------------------------------------------------------------- R7


def test_r7_raises_blue_for_three_denied_attempts_at_one_door_within_ten_minutes(world) -> None:
    ids = [
        door(world, at("08:00"), "X-1", door_key="door_sa", result="denied"),
        door(world, at("08:04"), "X-2", door_key="door_sa", result="denied"),
    ]
    settle(world)
    assert firing(world, "R7") == []
    ids.append(door(world, at("08:09"), "X-1", door_key="door_sa", result="denied"))
    settle(world)
    [alert] = firing(world, "R7")
    assert alert.severity == "blue" and alert.labels["door_id"] == world.ids["door_sa"]
    assert dict(alert.measures) == {"denied": 3}
    assert list(alert.event_ids) == ids


def test_r7_stays_quiet_when_the_refusals_are_spread_out_or_at_different_doors(world) -> None:
    door(world, at("08:00"), "X-1", door_key="door_sa", result="denied")
    door(world, at("08:06"), "X-1", door_key="door_sa", result="denied")
    door(world, at("08:12"), "X-1", door_key="door_sa", result="denied")  # 08:00 fell out
    door(world, at("08:13"), "X-1", door_key="door_or", result="denied")
    door(world, at("08:14"), "X-1", door_key="door_or2", result="denied")
    settle(world)
    assert firing(world, "R7") == []


# ---------------------------------------------------------------- R8


def test_r8_raises_blue_for_a_door_forced_or_held_open(world) -> None:
    forced = door(world, at("08:00"), None, door_key="door_sa", result="forced")
    settle(world)
    [alert] = firing(world, "R8")
    assert alert.severity == "blue" and dict(alert.measures) == {"forced": 1, "held_open": 0}
    held = door(world, at("08:30"), None, door_key="door_sa", result="held_open")
    settle(world)
    [alert] = firing(world, "R8")
    assert dict(alert.measures) == {"forced": 1, "held_open": 1}
    assert list(alert.event_ids) == [forced, held], "the same alert, with its new evidence"


def test_r8_stays_quiet_for_ordinary_passages(world) -> None:
    door(world, at("08:00"), "P-SURG", door_key="door_sa")
    door(world, at("08:01"), "P-SURG", door_key="door_sa", direction="out")
    settle(world)
    assert firing(world, "R8") == []
    assert rule_ids(world) == []
