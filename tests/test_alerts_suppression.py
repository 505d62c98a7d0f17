"""Inhibition and silences: what mutes an alert, for whom, and until when.

A red alert mutes the yellow and blue alerts of the same facility and rule, and nothing
else. A silence mutes alerts matching its matchers under its own org node only, needs a
comment and an end, stops applying when it ends or is expired, and is on record.
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
from wardwatch.alerts.model import Severity
from wardwatch.audit import store as audit_store


@pytest.fixture
def world(database_url: str, tmp_path: Path, now: datetime) -> Iterator[World]:
    w = alert_world(tmp_path / "data", database_url, now)
    yield w
    w.container.close()


def titles(world: World, who: str) -> list[str]:
    return sorted(n.params["rule_id"] + ":" + n.params["fingerprint"][:6] for n in alert_notices(world, who))


def test_red_inhibits_yellow_and_blue_of_the_same_facility_and_rule_only(world: World) -> None:
    room = {"day": "2026-12-01"}
    red = fire(world, signal(world, rule="R1", severity=Severity.RED, labels={**room, "room": "OR1"}))
    yellow = fire(world, signal(world, rule="R1", severity=Severity.YELLOW, labels={**room, "room": "OR2"}))
    blue = fire(world, signal(world, rule="R1", severity=Severity.BLUE, labels={**room, "room": "OR3"}))
    other_rule = fire(world, signal(world, rule="R3", severity=Severity.YELLOW))
    other_facility = fire(world, signal(world, "fac_b", rule="R1", severity=Severity.YELLOW))
    advance(world, 31)
    assert [n.ref_id for n in alert_notices(world, "enf_a")] == [red.alert_id]
    assert [n.ref_id for n in alert_notices(world, "legal_a")] == [other_rule.alert_id]
    assert alert_notices(world, "sup_a") == []
    assert [n.ref_id for n in alert_notices(world, "legal_b")] == [other_facility.alert_id]
    with world.client("admin") as admin:
        listed = {
            a["id"]: a for a in admin.get("/api/v1/alerts", params={"facility_id": world.ids["fac_a"]}).json()
        }
    assert listed[yellow.alert_id]["inhibited_by"] == [red.alert_id]
    assert listed[blue.alert_id]["inhibited_by"] == [red.alert_id]
    assert listed[red.alert_id]["inhibited_by"] == [] and listed[other_rule.alert_id]["inhibited_by"] == []
    # Once the red alert resolves, the muted ones are told at the group's next flush.
    assert resolve(world, red.fingerprint)
    advance(world, 300)
    assert sorted(n.ref_id for n in alert_notices(world, "legal_a")) == sorted(
        [other_rule.alert_id, yellow.alert_id]
    )
    assert [n.ref_id for n in alert_notices(world, "sup_a")] == [blue.alert_id]


def silence_body(world: World, node: str = "fac_a", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "node_id": world.ids[node],
        "matchers": [{"name": "rule_id", "op": "=", "value": "R3"}],
        "comment": "Anaesthetist roster being fixed today",
        "ends_at": (world.clock.now() + timedelta(hours=2)).isoformat(),
    }
    body.update(extra)
    return body


def test_a_silence_mutes_matching_alerts_under_its_node_until_it_ends(world: World) -> None:
    with world.client("prov_sup_a") as supervisor:
        created = supervisor.post("/api/v1/silences", json=silence_body(world))
        assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["state"] == "active" and silence["created_by"] == world.users["prov_sup_a"]
    muted = fire(world, signal(world))
    fire(world, signal(world, "fac_b"))  # another facility: the silence does not reach it
    other = fire(world, signal(world, rule="R5"))
    advance(world, 31)
    assert [n.ref_id for n in alert_notices(world, "legal_a")] == [other.alert_id]
    assert len(alert_notices(world, "legal_b")) == 1
    with world.client("legal_a") as legal:
        assert legal.get(f"/api/v1/alerts/{muted.alert_id}").json()["silenced_by"] == [silence["id"]]
    advance(world, 600)
    assert alert_notices(world, "enf_a") == [], "a silenced alert does not escalate either"
    world.clock.advance(timedelta(hours=2))  # the silence ends
    advance(world, 300)
    assert muted.alert_id in [n.ref_id for n in alert_notices(world, "legal_a")]
    with world.client("prov_sup_a") as supervisor:
        assert supervisor.get(f"/api/v1/silences/{silence['id']}").json()["state"] == "expired"


def test_expiring_a_silence_stops_it_at_once_and_creating_and_expiring_are_audited(world: World) -> None:
    with world.client("prov_sup_a") as supervisor:
        silence = supervisor.post("/api/v1/silences", json=silence_body(world)).json()
        muted = fire(world, signal(world))
        advance(world, 31)
        assert alert_notices(world, "legal_a") == []
        longer = (world.clock.now() + timedelta(hours=5)).isoformat()
        changed = supervisor.patch(f"/api/v1/silences/{silence['id']}", json={"ends_at": longer})
        assert changed.status_code == 200 and changed.json()["updated_by"] == world.users["prov_sup_a"]
        expired = supervisor.delete(f"/api/v1/silences/{silence['id']}")
        assert expired.status_code == 200 and expired.json()["state"] == "expired"
        assert supervisor.delete(f"/api/v1/silences/{silence['id']}").status_code == 409
        assert (
            supervisor.patch(f"/api/v1/silences/{silence['id']}", json={"comment": "late"}).status_code == 409
        )
    advance(world, 300)
    assert [n.ref_id for n in alert_notices(world, "legal_a")] == [muted.alert_id]
    with world.container.db.read() as conn:
        actions = [
            r.action
            for r in conn.execute(
                select(audit_store.entries.c.action).where(audit_store.entries.c.object_id == silence["id"])
            )
        ]
    assert actions == ["alert.silence.create", "alert.silence.update", "alert.silence.expire"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"comment": ""}, "validation_failed"),
        ({"comment": None}, "validation_failed"),
        ({"ends_at": None}, "validation_failed"),
        ({"ends_at": "2026-12-01T10:00:00"}, "validation_failed"),  # no offset
        ({"matchers": []}, "validation_failed"),
        ({"matchers": [{"name": "rule_id", "op": "=~", "value": "("}]}, "validation_failed"),
        ({"matchers": [{"name": "rule_id", "op": "=~", "value": ".*"}]}, "silence_matches_everything"),
        ({"ends_at": "2020-01-01T00:00:00Z"}, "silence_end_in_past"),
        ({"ends_at": "2099-01-01T00:00:00Z"}, "silence_too_long"),
    ],
)
def test_a_silence_without_a_comment_or_a_sound_end_or_matchers_is_refused(
    world: World, change: dict[str, Any], code: str
) -> None:
    body = {k: v for k, v in {**silence_body(world), **change}.items() if v is not None}
    with world.client("prov_sup_a") as supervisor:
        refused = supervisor.post("/api/v1/silences", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == code
        assert supervisor.get("/api/v1/silences").json() == []


def test_silences_are_listed_by_creator_and_state_within_the_callers_subtree(world: World) -> None:
    with world.client("prov_sup_a") as supervisor:
        mine = supervisor.post("/api/v1/silences", json=silence_body(world)).json()
    later = (world.clock.now() + timedelta(hours=1)).isoformat()
    with world.client("admin") as admin:
        theirs = admin.post("/api/v1/silences", json=silence_body(world, starts_at=later)).json()
        elsewhere = admin.post("/api/v1/silences", json=silence_body(world, "fac_b")).json()
        by_me = admin.get("/api/v1/silences", params={"created_by": world.users["prov_sup_a"]}).json()
        assert [s["id"] for s in by_me] == [mine["id"]]
        pending = admin.get("/api/v1/silences", params={"state": "pending"}).json()
        assert [s["id"] for s in pending] == [theirs["id"]]
        assert len(admin.get("/api/v1/silences").json()) == 3
    with world.client("legal_a") as legal:
        seen = {s["id"] for s in legal.get("/api/v1/silences").json()}
        assert seen == {mine["id"], theirs["id"]}
        assert legal.get(f"/api/v1/silences/{elsewhere['id']}").status_code == 404


def test_silencing_needs_alert_silence_on_the_node_itself(world: World) -> None:
    with world.client("op_a") as operator:  # a duty operator may read alerts but not silence them
        refused = operator.post("/api/v1/silences", json=silence_body(world))
        assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    with world.client("prov_sup_a") as supervisor:  # province A's supervisor, facility B
        assert supervisor.post("/api/v1/silences", json=silence_body(world, "fac_b")).status_code == 404
    with world.client("admin") as admin:
        b_silence = admin.post("/api/v1/silences", json=silence_body(world, "fac_b")).json()
    with world.client("prov_sup_a") as supervisor:
        assert supervisor.delete(f"/api/v1/silences/{b_silence['id']}").status_code == 404
        assert (
            supervisor.patch(f"/api/v1/silences/{b_silence['id']}", json={"comment": "mine"}).status_code
            == 404
        )
