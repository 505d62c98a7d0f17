"""The overview: live counts per org node, summed up the caller's part of the tree, on both backends.

The world's cameras are driven through the health wing's real inputs (the recorder's
stream states and picture reports, as in ``test_health_incidents.py``), alerts through
the alert service as the rule engine fires them, and coverage through a real shift.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from support import World, build_world, ready_camera_body
from test_alerts_support import fire, resolve, signal
from test_duty_world import shift_body
from test_health_incidents import online, picture, recorder
from wardwatch.alerts.model import Severity
from wardwatch.health.model import HealthState

DEBOUNCE_S = 60


@pytest.fixture
def world(database_url: str, tmp_path: Path, now: datetime) -> Iterator[World]:
    w = build_world(
        tmp_path / "data",
        database_url,
        now,
        auth={"mfa_required_roles": []},
        health={"incident_debounce_s": DEBOUNCE_S},
        duty={"coverage_check": False},
        authz={"custom_roles": {"tree_only": {"permissions": ["org.read"]}}},
    )
    w.add_user("op_a", "duty_operator", "fac_a")
    w.add_user("enf_a", "enforcement_officer", "dist_a")
    w.add_user("tree_a", "tree_only", "fac_a")
    with w.client("admin") as admin:
        for key, zone, activate in (
            ("a1", "fac_a_corridor", True),
            ("a2", "fac_a_corridor", True),
            ("a3", "fac_a_corridor", True),
            ("a4", "fac_a_corridor", False),  # a draft: not expected to stream, not counted
            ("a5", "fac_a_corridor", True),
            ("a2x", "fac_a2_corridor", True),
            ("b1", "fac_b_corridor", True),
        ):
            camera = admin.post("/api/v1/cameras", json=ready_camera_body(w.ids[zone], name=key)).json()
            if activate:
                assert admin.post(f"/api/v1/cameras/{camera['id']}/activate").status_code == 200
            w.ids[key] = camera["id"]
        shift = admin.post(
            "/api/v1/duty/shifts",
            json=shift_body(w, "fac_a", ["op_a"], now - timedelta(hours=1), now + timedelta(hours=7)),
        )
        assert shift.status_code == 201, shift.text
    with w.client("op_a") as op:
        taken = op.post(f"/api/v1/duty/shifts/{shift.json()['id']}/start", json={"reason": "day shift"})
        assert taken.status_code == 200, taken.text
    w.container.health.service.recording = lambda: True
    yield w
    w.container.close()


def seed(world: World) -> None:
    """a1 fine; a2 offline long enough for an incident; a3 black, then fine again (recovered);
    a5 black too briefly for one; a2x never heard from; b1 fine. Alerts of all colours.

    Each incident raises a blue alert: a2's still fires, a3's was resolved by its recovery."""
    for camera in ("a1", "a2", "a3", "a5", "b1"):
        online(world, camera)
    recorder(world, "a2", "offline")
    picture(world, "a3", HealthState.BLACK)
    world.clock.advance(timedelta(seconds=DEBOUNCE_S))
    assert world.container.health.incidents.check() == 2
    picture(world, "a3", HealthState.OK)
    picture(world, "a5", HealthState.BLACK)
    fire(world, signal(world, "fac_a", rule="R1", severity=Severity.RED))
    fire(world, signal(world, "fac_a", rule="R3", severity=Severity.YELLOW))
    fire(world, signal(world, "fac_a2", rule="R6", severity=Severity.BLUE))
    fire(world, signal(world, "fac_b", rule="R1", severity=Severity.RED))
    gone = fire(world, signal(world, "fac_a", rule="R8", severity=Severity.BLUE))
    assert resolve(world, gone.fingerprint)


def overview(world: World, username: str) -> dict[str, dict[str, Any]]:
    with world.client(username) as client:
        response = client.get("/api/v1/overview")
    assert response.status_code == 200, response.text
    return {node["id"]: node for node in response.json()["nodes"]}


def test_counts_per_facility_are_summed_up_the_tree_the_caller_sees(world: World) -> None:
    seed(world)
    fac_a, fac_a2, dist_a = world.ids["fac_a"], world.ids["fac_a2"], world.ids["dist_a"]
    nodes = overview(world, "enf_a")
    assert list(nodes) == [dist_a, fac_a, fac_a2], "depth first, siblings by name"
    assert nodes[fac_a]["cameras"] == {"total": 4, "online": 2, "offline": 1, "impaired": 1, "unknown": 0}
    assert nodes[fac_a]["incidents"] == {"open": 1, "recovered": 1}
    assert nodes[fac_a]["alerts"] == {"red": 1, "yellow": 1, "blue": 1}, "a2's incident is a blue alert"
    assert nodes[fac_a]["duty"] == {"facilities": 1, "covered": 1, "uncovered": 0, "on_duty": 1}
    assert nodes[fac_a]["timezone"] == "Asia/Ho_Chi_Minh" and nodes[fac_a]["facilities"] == 1
    assert nodes[fac_a2]["cameras"] == {"total": 1, "online": 0, "offline": 0, "impaired": 0, "unknown": 1}
    assert nodes[fac_a2]["alerts"] == {"red": 0, "yellow": 0, "blue": 1}
    assert nodes[fac_a2]["duty"] == {"facilities": 1, "covered": 0, "uncovered": 1, "on_duty": 0}
    district = nodes[dist_a]
    assert (district["kind"], district["facilities"], district["timezone"]) == ("district", 2, None)
    assert district["cameras"] == {"total": 5, "online": 2, "offline": 1, "impaired": 1, "unknown": 1}
    assert district["incidents"] == {"open": 1, "recovered": 1}
    assert district["alerts"] == {"red": 1, "yellow": 1, "blue": 2}
    assert district["duty"] == {"facilities": 2, "covered": 1, "uncovered": 1, "on_duty": 1}

    everything = overview(world, "admin")
    root = everything[world.ids["root"]]
    assert root["facilities"] == 3 and root["parent_id"] is None
    assert root["cameras"]["total"] == 6 and root["cameras"]["online"] == 3
    assert root["alerts"] == {"red": 2, "yellow": 1, "blue": 2}
    assert everything[dist_a] == district, "a subtree sums the same for everyone who sees all of it"


def test_a_scoped_caller_sees_only_their_own_nodes_and_groups_they_may_read(world: World) -> None:
    seed(world)
    fac_a = world.ids["fac_a"]
    mine = overview(world, "op_a")
    assert list(mine) == [fac_a], "no district above, no sibling, nothing of province B"
    assert mine[fac_a]["parent_id"] == world.ids["dist_a"], "a root of the caller's view, not of the tree"
    assert mine[fac_a]["cameras"]["total"] == 4 and mine[fac_a]["alerts"]["red"] == 1
    with world.client("op_a") as op:
        text = op.get("/api/v1/overview").text
    for other in ("fac_a2", "fac_b", "dist_b", "prov_b", "a2x", "b1"):
        assert world.ids[other] not in text, other
    # Allowed to see the tree but nothing else: every group is unknown, not zero.
    bare = overview(world, "tree_a")
    assert list(bare) == [fac_a]
    assert {k: bare[fac_a][k] for k in ("cameras", "incidents", "alerts", "duty")} == dict.fromkeys(
        ("cameras", "incidents", "alerts", "duty")
    )
    with world.client() as anon:
        refused = anon.get("/api/v1/overview")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
