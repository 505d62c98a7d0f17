"""The alerts API: lists and reads scoped to the caller's subtree, acknowledgement on the node.

An alert of a facility outside the caller's subtree does not exist for them (404); inside
it, acknowledging without ``alert.ack`` is refused (403) and audited. Signals that would
store an alert nobody can route or trust are refused whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from support import World
from test_alerts_support import advance, alert_world, fire, resolve, signal
from wardwatch.alerts import store as alerts_store
from wardwatch.alerts.model import AlertSignal, Severity
from wardwatch.audit import store as audit_store
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.errors import Invalid


@pytest.fixture
def world(database_url: str, tmp_path: Path, now: datetime) -> Iterator[World]:
    w = alert_world(
        tmp_path / "data",
        database_url,
        now,
        authz={
            "custom_roles": {
                "alert_viewer": {"permissions": ["org.read", "alert.read"]},
                "alert_acker": {"permissions": ["org.read", "alert.read", "alert.ack"]},
            }
        },
    )
    # Reads alerts at facility A; may acknowledge only at facility A2.
    w.add_user("viewer_a", "alert_viewer", "fac_a")
    with w.client("admin") as admin:
        admin.post(
            "/api/v1/role-bindings",
            json={"user_id": w.users["viewer_a"], "node_id": w.ids["fac_a2"], "role": "alert_acker"},
        )
    w.ids["a_yellow"] = fire(w, signal(w, rule="R3", severity=Severity.YELLOW)).alert_id
    w.ids["a_red"] = fire(w, signal(w, rule="R1", severity=Severity.RED)).alert_id
    w.ids["b_yellow"] = fire(w, signal(w, "fac_b", rule="R3", severity=Severity.YELLOW)).alert_id
    yield w
    w.container.close()


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.text
    return {a["id"] for a in response.json()}


def test_lists_show_only_alerts_of_the_callers_subtree_with_filters(world: World) -> None:
    a = {world.ids["a_yellow"], world.ids["a_red"]}
    with world.client("legal_a") as legal:
        assert ids(legal.get("/api/v1/alerts")) == a
        assert ids(legal.get("/api/v1/alerts", params={"severity": "red"})) == {world.ids["a_red"]}
        assert ids(legal.get("/api/v1/alerts", params={"rule_id": "R3"})) == {world.ids["a_yellow"]}
        assert ids(legal.get("/api/v1/alerts", params={"facility_id": world.ids["fac_b"]})) == set()
        assert ids(legal.get("/api/v1/alerts", params={"status": "resolved"})) == set()
        bad = legal.get("/api/v1/alerts", params={"severity": "purple"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    with world.client("legal_b") as legal_b:
        assert ids(legal_b.get("/api/v1/alerts")) == {world.ids["b_yellow"]}
    with world.client("admin") as admin:
        assert ids(admin.get("/api/v1/alerts")) == a | {world.ids["b_yellow"]}
        assert ids(admin.get("/api/v1/alerts", params={"facility_id": world.ids["fac_b"]})) == {
            world.ids["b_yellow"]
        }
        page = admin.get("/api/v1/alerts", params={"limit": 1}).json()
        rest = ids(admin.get("/api/v1/alerts", params={"before": page[0]["id"]}))
        assert len(page) == 1 and page[0]["id"] not in rest and len(rest) == 2


def test_one_alert_shows_its_evidence_in_the_callers_language(world: World) -> None:
    with world.client("enf_a") as officer:
        body = officer.get(f"/api/v1/alerts/{world.ids['a_red']}").json()
    assert body["title"] == signal(world, rule="R1").titles["zh-Hans"]
    assert (
        body["rule_id"] == "R1" and body["rule_version"] == "1.0.0" and body["rule_hash"] == "sha256:R11.0.0"
    )
    assert body["measures"] == {"ga_operations": 3, "anaesthetist_entries": 1}
    assert body["event_ids"] == ["EV1", "EV2"]
    assert body["labels"] == {"day": "2026-12-01"}
    assert body["receiver"] == "enforcement_team" and body["escalation"]["policy"] == "red"
    assert body["history"][0]["kind"] == "fired"
    assert body["history"][0]["details"]["measures"] == body["measures"]


def test_outside_the_subtree_an_alert_is_not_found_and_inside_without_ack_it_is_forbidden(
    world: World,
) -> None:
    b_alert = world.ids["b_yellow"]
    with world.client("legal_a") as legal:
        assert legal.get(f"/api/v1/alerts/{b_alert}").status_code == 404
        assert legal.post(f"/api/v1/alerts/{b_alert}/ack", json={"comment": "x"}).status_code == 404
        assert legal.get("/api/v1/alerts/01ZZZZZZZZZZZZZZZZZZZZZZZZ").status_code == 404
    with world.client("viewer_a") as viewer:
        assert viewer.get(f"/api/v1/alerts/{world.ids['a_yellow']}").status_code == 200
        refused = viewer.post(f"/api/v1/alerts/{world.ids['a_yellow']}/ack", json={"comment": "x"})
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    with world.container.db.read() as conn:
        denied = conn.execute(
            select(func.count())
            .select_from(audit_store.entries)
            .where(
                audit_store.entries.c.outcome == "denied",
                audit_store.entries.c.object_id == world.ids["a_yellow"],
            )
        ).scalar()
    assert denied == 1
    with world.client("admin") as admin:
        assert admin.get(f"/api/v1/alerts/{world.ids['a_yellow']}").json()["status"] == "firing"


def test_who_acknowledged_and_who_silenced_are_named_not_just_ids(world: World) -> None:
    with world.client("legal_a") as legal:
        acked = legal.post(f"/api/v1/alerts/{world.ids['a_yellow']}/ack", json={"comment": "checking"})
        assert acked.status_code == 200, acked.text
    with world.client("prov_sup_a") as supervisor:
        [listed] = [a for a in supervisor.get("/api/v1/alerts").json() if a["id"] == world.ids["a_yellow"]]
        body = {
            "node_id": world.ids["fac_a"],
            "matchers": [{"name": "rule_id", "op": "=", "value": "R1"}],
            "comment": "roster being fixed",
            "ends_at": (world.clock.now() + timedelta(hours=2)).isoformat(),
        }
        created = supervisor.post("/api/v1/silences", json=body)
        assert created.status_code == 201, created.text
        [found] = supervisor.get("/api/v1/silences").json()
    ack = listed["acknowledged"]
    assert (ack["by"], ack["by_name"]) == (world.users["legal_a"], "legal_a")
    assert acked.json()["acknowledged"]["by_name"] == "legal_a"
    assert created.json()["created_by_name"] == found["created_by_name"] == "prov_sup_a"
    assert found["created_by"] == world.users["prov_sup_a"]


def test_a_resolved_alert_cannot_be_acknowledged(world: World) -> None:
    with world.container.db.read() as conn:
        fp = conn.execute(
            select(alerts_store.alerts.c.fingerprint).where(alerts_store.alerts.c.id == world.ids["a_yellow"])
        ).scalar_one()
    assert resolve(world, fp)
    assert not resolve(world, fp), "resolving twice changes nothing"
    with world.client("legal_a") as legal:
        refused = legal.post(f"/api/v1/alerts/{world.ids['a_yellow']}/ack", json={"comment": "late"})
        assert refused.status_code == 409 and refused.json()["code"] == "alert_not_active"


def test_platform_alerts_and_integrations_are_for_the_root_only(world: World) -> None:
    with world.client("legal_a") as legal:
        assert legal.get("/api/v1/alerts/integrations").status_code in (403, 404)
    with world.client("admin") as admin:
        assert admin.get("/api/v1/alerts/integrations").status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"starts_at": datetime(2026, 12, 1, 8, 0)},  # naive
        {"labels": {"severity": "blue"}},  # a reserved label
        {"labels": {"bad-name": "x"}},
        {"titles": {"en": "only English"}},
        {"measures": {"count": "three"}},
        {"rule_id": ""},
    ],
)
def test_a_signal_that_cannot_be_trusted_is_refused_and_nothing_is_written(
    world: World, change: dict[str, Any]
) -> None:
    bad = AlertSignal(**{**signal(world, rule="R9").__dict__, **change})
    before = _count(world)
    with pytest.raises(Invalid) as refused, world.container.deps.uow(system_actor("rules")) as uow:
        world.container.alerts.fire(uow, bad)
    assert refused.value.code == "alert_signal_invalid"
    assert _count(world) == before


def test_a_signal_for_an_unknown_node_is_refused(world: World) -> None:
    bad = AlertSignal(**{**signal(world).__dict__, "facility_id": "01ZZZZZZZZZZZZZZZZZZZZZZZZ"})
    with pytest.raises(Invalid) as refused, world.container.deps.uow(system_actor("rules")) as uow:
        world.container.alerts.fire(uow, bad)
    assert refused.value.code == "alert_facility_unknown"


def test_a_late_breach_is_grouped_by_the_day_it_happened_where_it_happened(world: World) -> None:
    # 23:30 in Ho Chi Minh City on 30 November is 16:30 UTC; no "day" label given.
    late = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    fired = fire(world, signal(world, rule="R7", severity=Severity.BLUE, labels={"door": "D1"}, at=late))
    with world.container.db.read() as conn:
        day = conn.execute(
            select(alerts_store.alerts.c.day).where(alerts_store.alerts.c.id == fired.alert_id)
        ).scalar()
    assert day == "2026-11-30"
    advance(world, 31)
    with world.client("sup_a") as supervisor:
        assert (
            supervisor.get(f"/api/v1/alerts/{fired.alert_id}")
            .json()["starts_at"]
            .startswith("2026-11-30T16:30")
        )


def _count(world: World) -> int:
    with world.container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(alerts_store.alerts)).scalar() or 0)


def test_a_handover_lists_the_alerts_still_open_under_the_shifts_facilities(world: World) -> None:
    with world.container.db.read() as conn:
        paths = world.container.registry.paths_of(conn, [world.ids["fac_a"]])
        # The provider the container registered for the duty wing's handovers.
        alerts = world.container.duty.handovers.providers["alert"](conn, list(paths.values()))
    assert {i.id for i in alerts} == {world.ids["a_yellow"], world.ids["a_red"]}
    red = next(i for i in alerts if i.id == world.ids["a_red"])
    assert red.severity == "red" and red.node_id == world.ids["fac_a"] and red.details["status"] == "firing"
