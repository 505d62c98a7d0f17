"""Acknowledgement and escalation, PagerDuty's way, on an injected clock.

An acknowledgement stores who, when and why; an alert nobody acknowledged within its
policy's delay escalates one level, once per step; re-triggering restarts the policy;
an acknowledged alert still unresolved when its acknowledgement times out fires again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from support import World
from test_alerts_support import advance, alert_notices, alert_world, fire, resolve, signal
from wardwatch.audit import store as audit_store
from wardwatch.kernel.outbox import outbox

POLICIES = {
    "blue": {"steps": [{"after_s": 600, "receiver": "legal_representative"}]},
    "yellow": {
        "steps": [
            {"after_s": 600, "receiver": "enforcement_team"},
            {"after_s": 600, "receiver": "supervisors"},
        ],
        "ack_timeout_s": 1800,
    },
    "red": {"steps": [{"after_s": 300, "receiver": "supervisors"}]},
}


@pytest.fixture
def world(database_url: str, tmp_path: Path, now: datetime) -> Iterator[World]:
    w = alert_world(tmp_path / "data", database_url, now, {"escalation_policies": POLICIES})
    yield w
    w.container.close()


def detail(world: World, alert_id: str, who: str = "admin") -> dict[str, Any]:
    with world.client(who) as client:
        response = client.get(f"/api/v1/alerts/{alert_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())


def kinds(world: World, who: str) -> list[str]:
    return [n.kind for n in alert_notices(world, who)]


def test_an_acknowledgement_stores_user_time_and_comment_and_is_audited(world: World) -> None:
    fired = fire(world, signal(world))
    advance(world, 31)
    with world.client("legal_a") as legal:
        refused = legal.post(f"/api/v1/alerts/{fired.alert_id}/ack", json={})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        acked = legal.post(f"/api/v1/alerts/{fired.alert_id}/ack", json={"comment": "Calling the clinic now"})
        assert acked.status_code == 200, acked.text
        body = acked.json()
        again = legal.post(f"/api/v1/alerts/{fired.alert_id}/ack", json={"comment": "again"})
        assert again.status_code == 409 and again.json()["code"] == "alert_already_acknowledged"
    assert body["status"] == "acknowledged"
    ack = body["acknowledged"]
    assert ack["by"] == world.users["legal_a"] and ack["comment"] == "Calling the clinic now"
    assert datetime.fromisoformat(ack["at"]) == world.clock.now()
    assert datetime.fromisoformat(ack["expires_at"]) == world.clock.now() + timedelta(seconds=1800)
    assert body["escalation"]["next_at"] is None
    assert [h["kind"] for h in body["history"]] == ["fired", "acknowledged"]
    with world.container.db.read() as conn:
        entry = conn.execute(
            select(audit_store.entries).where(audit_store.entries.c.action == "alert.ack")
        ).one()
        events = [r.type for r in conn.execute(select(outbox.c.type))]
    assert entry.object_id == fired.alert_id and "Calling the clinic now" in entry.details
    assert "alerts.alert.acknowledged" in events and "alerts.alert.fired" in events


def test_an_unacknowledged_alert_escalates_one_level_per_step_and_only_once(world: World) -> None:
    fired = fire(world, signal(world))
    advance(world, 31)
    assert kinds(world, "legal_a") == ["alert_firing"]
    advance(world, 500)  # 531 s: before the first step's 600 s
    assert kinds(world, "enf_a") == []
    advance(world, 70)  # 601 s
    assert kinds(world, "enf_a") == ["alert_escalated"]
    for _ in range(5):  # ticking on does not escalate the same step again
        advance(world, 100)
    assert kinds(world, "enf_a") == ["alert_escalated"] and kinds(world, "prov_sup_a") == []
    advance(world, 100)  # 1201 s: the second step, 600 s after the first
    assert kinds(world, "prov_sup_a") == ["alert_escalated"]
    advance(world, 7200)
    assert kinds(world, "enf_a") == ["alert_escalated"] and kinds(world, "prov_sup_a") == ["alert_escalated"]
    body = detail(world, fired.alert_id)
    assert body["escalation_level"] == 2 and body["escalation"]["next_at"] is None
    steps = body["escalation"]["steps"]
    assert [s["receiver"] for s in steps] == ["enforcement_team", "supervisors"]
    assert all(s["escalated_at"] for s in steps)
    assert [h["kind"] for h in body["history"]].count("escalated") == 2
    (notice,) = alert_notices(world, "enf_a")
    assert notice.params["level"] == 1 and notice.ref_id == fired.alert_id
    escalations = [d for d in body["deliveries"] if d["reason"] == "escalation"]
    assert {(d["receiver"], d["level"]) for d in escalations} == {("enforcement_team", 1), ("supervisors", 2)}


def test_an_acknowledged_alert_does_not_escalate(world: World) -> None:
    fired = fire(world, signal(world))
    advance(world, 31)
    with world.client("legal_a") as legal:
        legal.post(f"/api/v1/alerts/{fired.alert_id}/ack", json={"comment": "on it"})
    advance(world, 1200)
    assert kinds(world, "enf_a") == [] and kinds(world, "prov_sup_a") == []


def test_a_retriggered_alert_restarts_its_policy(world: World) -> None:
    fired = fire(world, signal(world))
    advance(world, 31)
    advance(world, 570)  # 601 s: escalated to level 1
    assert kinds(world, "enf_a") == ["alert_escalated"]
    assert resolve(world, fired.fingerprint)
    advance(world, 300)  # the resolution is told to the group and to whoever the escalation reached
    assert kinds(world, "legal_a") == ["alert_firing", "alert_resolved"]
    assert kinds(world, "enf_a") == ["alert_escalated", "alert_resolved"]
    again = fire(world, signal(world, measures={"ga_operations": 4, "anaesthetist_entries": 1}))
    assert (again.change, again.alert_id) == ("retriggered", fired.alert_id)
    body = detail(world, fired.alert_id)
    assert body["status"] == "firing" and body["trigger_count"] == 2 and body["escalation_level"] == 0
    assert datetime.fromisoformat(body["escalation"]["next_at"]) == world.clock.now() + timedelta(seconds=600)
    assert all(s["escalated_at"] is None for s in body["escalation"]["steps"])
    advance(world, 300)
    assert kinds(world, "legal_a") == ["alert_firing", "alert_resolved", "alert_firing"]
    advance(world, 301)  # 601 s after the re-trigger: level 1 again
    assert kinds(world, "enf_a") == ["alert_escalated", "alert_resolved", "alert_escalated"]


def test_an_acknowledged_alert_still_unresolved_fires_again_when_its_acknowledgement_times_out(
    world: World,
) -> None:
    fired = fire(world, signal(world))
    advance(world, 31)
    with world.client("legal_a") as legal:
        legal.post(f"/api/v1/alerts/{fired.alert_id}/ack", json={"comment": "checking"})
    advance(world, 1799)
    assert detail(world, fired.alert_id)["status"] == "acknowledged"
    assert kinds(world, "legal_a") == ["alert_firing"], "an acknowledged alert does not repeat"
    advance(world, 1)  # the acknowledgement's 1800 s are over
    body = detail(world, fired.alert_id)
    assert body["status"] == "firing" and body["acknowledged"] is None and body["trigger_count"] == 2
    assert [h["kind"] for h in body["history"]] == ["fired", "acknowledged", "ack_expired"]
    assert kinds(world, "legal_a") == ["alert_firing", "alert_firing"], "told again at once"
    advance(world, 600)
    assert kinds(world, "enf_a") == ["alert_escalated"], "and the policy runs again"
