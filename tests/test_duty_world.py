"""The duty wing's test world, and the coverage rules checked on their own.

``duty_world`` adds to the shared world (see ``support.py``) a monitoring centre in
district A, a roster planner, operators at facility A, at the district (the centre's
team) and at facility B, and the facility supervisors. Its clock starts at ``T0``, 08:00
in Hồ Chí Minh City, and only moves when a test moves it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from support import World, build_world
from wardwatch.audit import store as audit_store
from wardwatch.duty.model import GapReason, ShiftFacts, gaps, live_gap

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)
PROBLEM = "application/problem+json"


def iso(moment: datetime) -> str:
    """A UTC time as the API writes it."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def duty_world(tmp_path: Path, database_url: str, **overrides: Any) -> World:
    overrides.setdefault("duty", {"coverage_check": False})
    world = build_world(tmp_path / "data", database_url, T0, **overrides)
    world.add_user("planner", "supervisor", "dist_a")
    for name in ("op1", "op2", "op3"):
        world.add_user(name, "duty_operator", "fac_a")
    world.add_user("op_a2", "duty_operator", "fac_a2")
    world.add_user("op_centre", "duty_operator", "dist_a")
    world.add_user("op_b", "duty_operator", "fac_b")
    world.add_user("sup_a", "facility_supervisor", "fac_a")
    world.add_user("sup_a2", "facility_supervisor", "fac_a2")
    world.add_user("sup_b", "facility_supervisor", "fac_b")
    with world.client("admin") as admin:
        centre = admin.post(
            "/api/v1/org/nodes",
            json={"kind": "monitoring_centre", "name": "Centre A", "parent_id": world.ids["dist_a"]},
        )
        assert centre.status_code == 201, centre.text
        world.ids["centre_a"] = centre.json()["id"]
    return world


def shift_body(
    world: World, node: str, operators: list[str], start: datetime, end: datetime, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "node_id": world.ids[node],
        "starts_at": start.isoformat(),
        "ends_at": end.isoformat(),
        "operator_ids": [world.users[o] for o in operators],
    }
    body.update(extra)
    return body


def plan(world: World, node: str, operators: list[str], start: datetime, end: datetime, **extra: Any) -> str:
    """A shift planned by the district's supervisor; returns its id."""
    with world.client("planner") as planner:
        response = planner.post(
            "/api/v1/duty/shifts", json=shift_body(world, node, operators, start, end, **extra)
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def audit_actions(world: World, prefix: str, outcome: str = "success") -> list[Any]:
    """The audit entries whose action starts with ``prefix``, in order."""
    entries = audit_store.entries.c
    with world.container.db.read() as conn:
        rows = conn.execute(
            select(audit_store.entries)
            .where(entries.action.startswith(prefix), entries.outcome == outcome)
            .order_by(entries.seq)
        ).all()
    return list(rows)


# ---------------------------------------------------------------- the rules on their own

GRACE = timedelta(minutes=15)
PATH = "/root/dist/fac/"


def facts(start: datetime, end: datetime, taken: datetime | None = None) -> ShiftFacts:
    return ShiftFacts("s", start, end, taken, ("/root/dist/",))


def test_a_shift_counts_as_staffed_within_the_grace_and_after_it_was_taken() -> None:
    shift = facts(T0, T0 + 8 * H, taken=T0 + 2 * H)
    found = gaps((T0, T0 + 8 * H), [shift], T0 + 3 * H, GRACE)
    assert [(g.start, g.end, g.reason) for g in found] == [(T0 + GRACE, T0 + 2 * H, GapReason.NOT_TAKEN)]
    # Taken within the grace: no gap at all; a future shift counts as planned.
    assert gaps((T0, T0 + 8 * H), [facts(T0, T0 + 8 * H, T0 + 10 * M)], T0 + 3 * H, GRACE) == []
    assert gaps((T0, T0 + 8 * H), [facts(T0, T0 + 8 * H)], T0 - H, GRACE) == []
    # Never taken: a gap from the end of the grace to the end of the shift.
    never = gaps((T0, T0 + 8 * H), [facts(T0, T0 + 8 * H)], T0 + H, GRACE)
    assert [(g.start, g.end) for g in never] == [(T0 + GRACE, T0 + 8 * H)]


def test_gaps_say_whether_no_shift_was_planned_or_nobody_took_it() -> None:
    shifts = [facts(T0, T0 + 8 * H, T0), facts(T0 + 10 * H, T0 + 18 * H)]
    found = gaps((T0 - H, T0 + 20 * H), shifts, T0 + 12 * H, GRACE)
    assert [(g.start - T0, g.end - T0, g.reason) for g in found] == [
        (-H, timedelta(0), GapReason.UNSTAFFED),
        (8 * H, 10 * H, GapReason.UNSTAFFED),
        (10 * H + GRACE, 18 * H, GapReason.NOT_TAKEN),
        (18 * H, 20 * H, GapReason.UNSTAFFED),
    ]
    assert facts(T0, T0 + H).covers(PATH) and not ShiftFacts("x", T0, T0, None, ("/other/",)).covers(PATH)


def test_a_live_gap_starts_where_the_watch_stopped() -> None:
    shifts = [facts(T0, T0 + 8 * H, T0)]
    assert live_gap(shifts, T0 + 4 * H, GRACE, timedelta(days=7)) is None
    gap = live_gap(shifts, T0 + 9 * H, GRACE, timedelta(days=7))
    assert gap is not None and gap.start == T0 + 8 * H and gap.reason == GapReason.UNSTAFFED
    untaken = live_gap([facts(T0, T0 + 8 * H)], T0 + H, GRACE, timedelta(days=7))
    assert untaken is not None and untaken.start == T0 + GRACE and untaken.reason == GapReason.NOT_TAKEN
