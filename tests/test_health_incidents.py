"""Camera incidents through the API, uptime figures and evidence keyframes, on both backends.

The camera's state is driven by the reports the analysis workers and the recorder send
(the seam the real camera tests in ``test_health_cameras.py`` exercise end to end), so
that the clock can be fixed: debounce, the 30-minute fallback rule and uptime are
checked to the second. The supervisor hears of an incident through the real alert wing
(its dispatcher ticked by hand, as in ``test_alerts_delivery.py``), or through the inbox
directly when alerts are not dispatched or the alert wing fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select, text

from support import World, build_world, ready_camera_body
from test_alerts_support import Webhook, notices, receivers, webhook_server
from test_alerts_support import advance as dispatch_after
from wardwatch.alerts import store as alerts_store
from wardwatch.audit import store as audit_store
from wardwatch.health import store as health_store
from wardwatch.health.incidents import open_incidents
from wardwatch.health.messages import BaselineReport, LinkReport, PictureReport
from wardwatch.health.model import HealthState, LinkStatus, Reason
from wardwatch.kernel.bus import Event
from wardwatch.kernel.outbox import outbox

DEBOUNCE_S = 60


def incident_world(data: Path, database_url: str, now: datetime, alerts: dict[str, Any]) -> World:
    w = build_world(
        data,
        database_url,
        now,
        auth={"mfa_required_roles": []},
        health={"incident_debounce_s": DEBOUNCE_S, "fallback_after_minutes": 30},
        metrics={"token": "scrape-token-for-tests"},
        alerts=alerts,
    )
    w.add_user("sup_a", "facility_supervisor", "fac_a")
    w.add_user("sup_b", "facility_supervisor", "fac_b")
    w.add_user("op_a", "duty_operator", "fac_a")
    w.add_user("op_b", "duty_operator", "fac_b")
    w.add_user("legal_a", "legal_representative", "fac_a")
    w.add_user("prov_a", "supervisor", "prov_a")
    w.add_user("installer_a", "installer", "fac_a")
    with w.client("admin") as admin:
        for key, zone in (
            ("cam_a", "fac_a_corridor"),
            ("cam_a2", "fac_a2_corridor"),
            ("cam_b", "fac_b_corridor"),
        ):
            camera = admin.post("/api/v1/cameras", json=ready_camera_body(w.ids[zone], name=key)).json()
            assert admin.post(f"/api/v1/cameras/{camera['id']}/activate").status_code == 200
            w.ids[key] = camera["id"]
    # As while recording: the recorder's stream states say whether video arrives.
    w.container.health.service.recording = lambda: True
    return w


@pytest.fixture
def world(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, now: datetime
) -> Iterator[World]:
    """Alerts dispatched (the default) unless the test passes other ``alerts`` settings.

    The container is not started: the tests tick the dispatcher themselves.
    """
    w = incident_world(tmp_path / "data", database_url, now, getattr(request, "param", {}))
    yield w
    w.container.close()


@pytest.fixture
def hooked(database_url: str, tmp_path: Path, now: datetime) -> Iterator[tuple[World, Webhook]]:
    """The facility supervisor's receiver also posts to a real webhook."""
    with webhook_server() as hook:
        w = incident_world(
            tmp_path / "data",
            database_url,
            now,
            {"receivers": receivers(facility_supervisor={"apprise": [hook.url("/supervisor")]})},
        )
        try:
            yield w, hook
        finally:
            w.container.close()


def jpeg() -> bytes:
    picture = np.full((90, 160, 3), 30, np.uint8)
    picture[20:70, 40:120] = (200, 180, 40)
    ok, data = cv2.imencode(".jpg", picture)
    assert ok
    return bytes(data.tobytes())


def online(world: World, camera: str) -> None:
    """Both connections to the camera receive video."""
    recorder(world, camera, "online", "receiving video")
    world.container.health.service.handle(LinkReport(world.ids[camera], LinkStatus.ONLINE, Reason("none")))


def picture(world: World, camera: str, state: HealthState, *, evidence: bool = True) -> None:
    reason = Reason("flat", {"uniform_pct": 99, "luma": 16}) if state == HealthState.BLACK else Reason("none")
    world.container.health.service.handle(
        PictureReport(
            world.ids[camera],
            state,
            reason,
            {"uniform": 0.99, "luma": 16.0},
            jpeg() if evidence else None,
            160,
            90,
        )
    )


def recorder(world: World, camera: str, status: str, reason: str = "connection refused") -> None:
    """A recorder's stream status as it arrives from the bus."""
    event = Event(
        type="media.stream.status",
        payload={
            "camera_id": world.ids[camera],
            "status": status,
            "reason": reason,
            "at": datetime.now().astimezone().isoformat(),
            "details": {},
        },
    )
    world.container.health.service.on_stream_status(event)


def advance(world: World, seconds: float) -> None:
    world.clock.advance(timedelta(seconds=seconds))


def check(world: World) -> int:
    return world.container.health.incidents.check()


def incidents(world: World, camera: str) -> list[Any]:
    with world.container.db.read() as conn:
        return conn.execute(
            select(health_store.incidents)
            .where(health_store.incidents.c.camera_id == world.ids[camera])
            .order_by(health_store.incidents.c.opened_at)
        ).all()


def audit(world: World, action: str) -> list[Any]:
    with world.container.db.read() as conn:
        return conn.execute(
            select(audit_store.entries).where(audit_store.entries.c.action == action).order_by("seq")
        ).all()


def events(world: World, event_type: str) -> list[str]:
    with world.container.db.read() as conn:
        return [r.body for r in conn.execute(select(outbox.c.body).where(outbox.c.type == event_type))]


def health_alerts(world: World) -> list[Any]:
    """The alerts camera incidents raised, oldest first."""
    a = alerts_store.alerts.c
    with world.container.db.read() as conn:
        return list(
            conn.execute(
                select(alerts_store.alerts).where(a.source == "health").order_by(a.first_seen_at)
            ).all()
        )


def kinds_about(world: World, username: str, *refs: str) -> list[str]:
    """The kinds of the notices ``username`` got about these incidents or alerts, oldest first."""
    return [n.kind for n in notices(world, username) if n.ref_id in refs]


def open_fault(world: World, camera: str = "cam_a") -> dict[str, Any]:
    online(world, camera)
    picture(world, camera, HealthState.BLACK)
    advance(world, DEBOUNCE_S)
    assert check(world) == 1
    with world.client("sup_a") as client:
        found = client.get("/api/v1/incidents", params={"camera_id": world.ids[camera]}).json()
    assert len(found) == 1
    return dict(found[0])


def test_an_incident_lives_from_debounce_to_a_confirmed_close_with_repair_and_fallback(world: World) -> None:
    online(world, "cam_a")
    picture(world, "cam_a", HealthState.BLACK)
    advance(world, DEBOUNCE_S - 1)
    assert check(world) == 0, "a fault shorter than the debounce opens nothing"
    advance(world, 1)
    assert check(world) == 1
    [row] = incidents(world, "cam_a")
    assert (row.status, row.fault, row.evidence_id is not None) == ("open", "black", True)
    assert events(world, "health.incident.opened")
    with world.client("sup_a") as sup:
        assert sup.put("/api/v1/auth/locale", json={"locale": "vi"}).status_code in (200, 204)
        # The opening is a blue alert, with the incident and its keyframe as evidence.
        [listed] = sup.get("/api/v1/alerts", params={"source": "health"}).json()
        alert = sup.get(f"/api/v1/alerts/{listed['id']}").json()
        assert (alert["severity"], alert["status"], alert["rule_id"]) == ("blue", "firing", "camera.incident")
        assert alert["labels"] == {
            "camera_id": world.ids["cam_a"],
            "camera": "cam_a",
            "incident_id": row.id,
            "fault": "black",
        }
        assert alert["event_ids"] == [f"incident:{row.id}", f"evidence:{row.evidence_id}"]
        assert datetime.fromisoformat(alert["starts_at"]) == row.fault_started_at
        assert alert["measures"] == {"minutes_out": 1.0}
        assert "cam_a" in alert["titles"]["en"] and "Facility fac_a" in alert["titles"]["en"]
        assert "black or blank picture" in alert["titles"]["en"]
        assert "hình đen" in alert["titles"]["vi"] and "cam_a" in alert["titles"]["zh-Hans"]
        shot = sup.get(f"/api/v1/health/evidence/{row.evidence_id}")
        assert shot.status_code == 200 and shot.content[:2] == b"\xff\xd8", "the evidence exists"
        assert kinds_about(world, "sup_a", row.id, alert["id"]) == [], "grouped: nothing before group_wait"
        dispatch_after(world, 30)  # blue's group_wait
        assert kinds_about(world, "sup_a", row.id, alert["id"]) == ["alert_firing"], "told once, routed"
        notice = next(n for n in sup.get("/api/v1/inbox").json() if n["ref_id"] == alert["id"])
        assert "cam_a" in notice["title"] and "hình đen" in notice["title"], "in the reader's language"
        [opened] = audit(world, "incident.open")
        assert json.loads(opened.details)["notice"] == "alert"
        # Half an hour without the camera: the supervisor is told a fallback measure is due.
        advance(world, 31 * 60)
        check(world)
        assert kinds_about(world, "sup_a", row.id) == ["camera_fallback_due"], "a to-do, kept in the inbox"
        picture(world, "cam_a", HealthState.OK)
        recovered_at = world.clock.now()
        incident = sup.get(f"/api/v1/incidents/{row.id}").json()
        assert incident["status"] == "recovered" and incident["fallback_required"] is True
        assert events(world, "health.incident.recovered")
        resolved = sup.get(f"/api/v1/alerts/{alert['id']}").json()
        assert resolved["status"] == "resolved"
        assert datetime.fromisoformat(resolved["resolved_at"]) == recovered_at, "as of the recovery"
        dispatch_after(world, 1)
        assert kinds_about(world, "sup_a", row.id, alert["id"]) == [
            "alert_firing",
            "camera_fallback_due",
            "alert_resolved",
        ], "the recovery comes through the routing, not as a second notice"

        refused = sup.post(f"/api/v1/incidents/{row.id}/close", json={})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert (refused.json()["code"], refused.json()["field"]) == ("incident_repair_missing", "repair")
        repair = {"action": "replaced the PoE injector", "repaired_by": "Trần Văn Kỹ (technician)"}
        refused = sup.post(f"/api/v1/incidents/{row.id}/close", json={"repair": repair})
        assert refused.status_code == 422
        assert (refused.json()["code"], refused.json()["field"]) == ("incident_fallback_missing", "fallback")
        unchanged = sup.get(f"/api/v1/incidents/{row.id}").json()
        assert unchanged["repair"] is None and unchanged["status"] == "recovered", "nothing half-saved"

        start = row.fault_started_at
        fallback = {
            "measure": "guard posted at 3F corridor",
            "start": (start + timedelta(minutes=2)).isoformat(),
            "end": (start + timedelta(minutes=33)).isoformat(),
        }
        closed = sup.post(
            f"/api/v1/incidents/{row.id}/close", json={"repair": repair, "fallback": fallback, "note": "ok"}
        )
        assert closed.status_code == 200, closed.text
        body = closed.json()
        assert body["status"] == "closed" and body["closed_by"] == world.users["sup_a"]
        assert body["repair"]["repaired_by"] == repair["repaired_by"]
        assert body["fallback"]["measure"] == fallback["measure"]
        kinds = [e["kind"] for e in body["timeline"]]
        assert kinds == ["opened", "fallback_due", "recovered", "repair", "fallback", "closed"]
        again = sup.post(f"/api/v1/incidents/{row.id}/close", json={"repair": repair, "fallback": fallback})
        assert again.status_code == 409
    assert events(world, "health.incident.closed")
    for action in ("incident.open", "incident.fallback_due", "incident.recover", "incident.repair"):
        assert audit(world, action), action
    [close] = audit(world, "incident.close")
    assert close.actor == f"user:{world.users['sup_a']}" and close.scope == world.ids["fac_a"]


def test_an_incident_alert_is_routed_like_any_blue_alert_to_a_webhook_and_escalates(
    hooked: tuple[World, Webhook],
) -> None:
    world, hook = hooked
    incident = open_fault(world)
    [alert] = health_alerts(world)
    dispatch_after(world, 30)
    [posted] = hook.to("/supervisor")
    assert "cam_a" in posted["title"] and "Facility fac_a" in posted["title"]
    assert kinds_about(world, "sup_a", incident["id"], alert.id) == ["alert_firing"]
    # Nobody acknowledged it within blue's hour: the legal representative is told.
    dispatch_after(world, 3600)
    assert kinds_about(world, "legal_a", alert.id) == ["alert_escalated"]
    assert kinds_about(world, "sup_a", incident["id"], alert.id) == ["alert_firing"]


def test_acknowledging_an_incident_acknowledges_its_alert_and_stops_the_escalation(world: World) -> None:
    incident = open_fault(world)
    [alert] = health_alerts(world)
    dispatch_after(world, 30)
    assert kinds_about(world, "sup_a", incident["id"], alert.id) == ["alert_firing"]
    with world.client("sup_a") as sup:
        acked = sup.post(f"/api/v1/incidents/{incident['id']}/ack", json={"note": "technician on the way"})
        assert acked.status_code == 200, acked.text
        shown = sup.get(f"/api/v1/alerts/{alert.id}").json()
    assert shown["status"] == "acknowledged"
    ack = shown["acknowledged"]
    assert (ack["by"], ack["by_name"], ack["comment"]) == (
        world.users["sup_a"],
        "sup_a",
        "technician on the way",
    )
    assert shown["history"][-1]["kind"] == "acknowledged"
    assert shown["history"][-1]["actor"] == f"user:{world.users['sup_a']}"
    [entry] = audit(world, "alert.ack")
    assert (entry.actor, entry.object_id) == (f"user:{world.users['sup_a']}", alert.id)
    assert json.loads(entry.details)["incident_id"] == incident["id"]
    [incident_ack] = audit(world, "incident.acknowledge")
    assert json.loads(incident_ack.details)["alerts"] == [alert.id]
    assert len(events(world, "alerts.alert.acknowledged")) == 1
    # Past blue's hour the legal representative is not told: someone is on it.
    dispatch_after(world, 3600)
    assert kinds_about(world, "legal_a", alert.id) == []
    with world.client("sup_a") as sup:  # acknowledging again touches the alert no more
        assert sup.post(f"/api/v1/incidents/{incident['id']}/ack", json={}).status_code == 200
    assert len(audit(world, "alert.ack")) == 1


def test_the_incident_acknowledgement_carries_the_alert_without_alert_ack(world: World) -> None:
    with world.client("admin") as admin:
        denied = admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["op_a"],
                "node_id": world.ids["fac_a"],
                "permission": "alert.ack",
                "effect": "deny",
            },
        )
        assert denied.status_code == 201, denied.text
    incident = open_fault(world)
    [alert] = health_alerts(world)
    with world.client("op_a") as op:
        assert op.post(f"/api/v1/alerts/{alert.id}/ack", json={"comment": "x"}).status_code == 403
        assert op.post(f"/api/v1/incidents/{incident['id']}/ack", json={}).status_code == 200
    [row] = health_alerts(world)
    assert (row.status, row.ack_by) == ("acknowledged", world.users["op_a"])
    assert incident["id"] in row.ack_comment and "cam_a" in row.ack_comment, "a standard comment naming it"
    dispatch_after(world, 3600)
    assert kinds_about(world, "legal_a", alert.id) == []


def broken(real: Callable[..., Any]) -> Callable[..., Any]:
    """The real alert service call, then a statement the database refuses (aborting, on PostgreSQL)."""

    def call(uow: Any, *args: Any) -> Any:
        real(uow, *args)
        uow.conn.execute(text("SELECT missing FROM no_such_table"))

    return call


def test_when_the_alert_wing_fails_the_supervisor_is_told_directly_and_nothing_is_lost(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    service = world.container.alerts
    with monkeypatch.context() as patch, caplog.at_level(logging.CRITICAL):
        patch.setattr(service, "fire", broken(service.fire))
        incident = open_fault(world)
    assert any("could not be fired" in r.getMessage() for r in caplog.records), "loudly"
    assert health_alerts(world) == [] and audit(world, "alert.fire") == [], "the alert's part is undone"
    assert events(world, "alerts.alert.fired") == []
    assert json.loads(audit(world, "incident.open")[0].details)["notice"] == "inbox"
    assert kinds_about(world, "sup_a", incident["id"]) == ["camera_incident"]
    picture(world, "cam_a", HealthState.OK)  # no alert to resolve: the recovery is told directly too
    assert kinds_about(world, "sup_a", incident["id"]) == ["camera_incident", "camera_recovered"]

    # It recurs with the alert wing working: routed, no direct notice.
    picture(world, "cam_a", HealthState.BLACK)
    advance(world, DEBOUNCE_S)
    assert check(world) == 1
    [alert] = health_alerts(world)
    assert alert.status == "firing" and alert.labels["incident_id"] == incident["id"]
    assert kinds_about(world, "sup_a", incident["id"]) == ["camera_incident", "camera_recovered"]
    # Resolving fails at the recovery: the state change and the recovery still count.
    with monkeypatch.context() as patch, caplog.at_level(logging.CRITICAL):
        patch.setattr(service, "resolve", broken(service.resolve))
        picture(world, "cam_a", HealthState.OK)
    assert any("could not be resolved" in r.getMessage() for r in caplog.records)
    [row] = incidents(world, "cam_a")
    assert row.status == "recovered"
    with world.client("sup_a") as sup:
        assert sup.get(f"/api/v1/cameras/{world.ids['cam_a']}/health").json()["state"] == "ok"
    assert [a.status for a in health_alerts(world)] == ["firing"]
    assert kinds_about(world, "sup_a", incident["id"]) == ["camera_incident", *["camera_recovered"] * 2]
    assert json.loads(audit(world, "incident.recover")[-1].details)["notice"] == "inbox"


@pytest.mark.parametrize("world", [{"dispatch": False}], indirect=True)
def test_without_alert_dispatch_the_inbox_notices_are_direct_and_no_alert_is_raised(world: World) -> None:
    incident = open_fault(world)
    with world.client("sup_a") as sup:
        assert sup.put("/api/v1/auth/locale", json={"locale": "vi"}).status_code in (200, 204)
        notice = next(n for n in sup.get("/api/v1/inbox").json() if n["kind"] == "camera_incident")
        assert notice["ref_id"] == incident["id"] and "cam_a" in notice["title"]
        assert "hình đen" in notice["body"], "the fault is named in the reader's language"
        assert sup.get("/api/v1/alerts").json() == []
    picture(world, "cam_a", HealthState.OK)
    dispatch_after(world, 60)  # even were the dispatcher run, there is nothing to send twice
    assert kinds_about(world, "sup_a", incident["id"]) == ["camera_incident", "camera_recovered"]
    assert health_alerts(world) == []


def test_the_rule_engines_start_leaves_incident_alerts_firing(world: World) -> None:
    open_fault(world)
    world.container.rules.service.start()  # adopts or resolves the open alerts it does not hold
    assert [(a.source, a.status) for a in health_alerts(world)] == [("health", "firing")]


def test_a_recovery_within_the_fallback_time_needs_only_the_repair_record(world: World) -> None:
    incident = open_fault(world)
    advance(world, 5 * 60)
    picture(world, "cam_a", HealthState.OK)
    advance(world, 3 * 3600)  # the supervisor confirms hours later: the outage was 6 minutes
    with world.client("sup_a") as sup:
        repair = {"action": "wiped the lens", "repaired_by": "facility staff"}
        closed = sup.post(f"/api/v1/incidents/{incident['id']}/close", json={"repair": repair})
        assert closed.status_code == 200, closed.text
        assert closed.json()["fallback_required"] is False


def test_an_incident_cannot_be_closed_while_the_camera_is_still_faulty(world: World) -> None:
    incident = open_fault(world)
    with world.client("sup_a") as sup:
        repair = {"action": "rebooted", "repaired_by": "facility staff"}
        refused = sup.post(f"/api/v1/incidents/{incident['id']}/close", json={"repair": repair})
        assert refused.status_code == 409
        assert refused.json()["code"] == "incident_camera_faulty"
        assert sup.get(f"/api/v1/incidents/{incident['id']}").json()["repair"] is None


def test_repeats_of_a_fault_reopen_the_same_incident_and_a_closed_one_is_never_reused(world: World) -> None:
    first = open_fault(world)
    for _ in range(3):
        picture(world, "cam_a", HealthState.OK)
        advance(world, 30)
        picture(world, "cam_a", HealthState.BLACK)
        advance(world, DEBOUNCE_S)
        check(world)
    recorder(world, "cam_a", "offline")
    check(world)
    rows = incidents(world, "cam_a")
    assert len(rows) == 1, "repeats do not open duplicates"
    assert rows[0].status == "open" and rows[0].faults == ["black", "offline"]
    with world.client("sup_a") as sup:
        kinds = [e["kind"] for e in sup.get(f"/api/v1/incidents/{first['id']}").json()["timeline"]]
    assert kinds.count("recurred") == 3 and kinds.count("recovered") == 3
    assert kinds[-1] == "fault_changed"
    [alert] = health_alerts(world)
    assert (alert.status, alert.trigger_count) == ("firing", 4), "each recurrence re-triggers one alert"
    picture(world, "cam_a", HealthState.OK)
    online(world, "cam_a")
    with world.client("sup_a") as sup:
        closed = sup.post(
            f"/api/v1/incidents/{first['id']}/close",
            json={"repair": {"action": "new cable", "repaired_by": "contractor"}},
        )
        assert closed.status_code == 200, closed.text
    picture(world, "cam_a", HealthState.BLACK)
    advance(world, DEBOUNCE_S)
    check(world)
    assert [r.status for r in incidents(world, "cam_a")] == ["closed", "open"]
    assert [a.status for a in health_alerts(world)] == ["resolved", "firing"], "a new incident, a new alert"


def test_incidents_are_scoped_to_the_facility_and_managing_needs_the_permission(world: World) -> None:
    incident = open_fault(world, "cam_a")
    online(world, "cam_b")
    picture(world, "cam_b", HealthState.BLACK)
    advance(world, DEBOUNCE_S)
    check(world)
    [b_row] = incidents(world, "cam_b")
    with world.client("sup_b") as sup_b:
        assert sup_b.get(f"/api/v1/incidents/{incident['id']}").status_code == 404
        ack = sup_b.post(f"/api/v1/incidents/{incident['id']}/ack", json={})
        assert ack.status_code == 404, "outside the subtree: not found"
        assert [i["id"] for i in sup_b.get("/api/v1/incidents").json()] == [b_row.id]
    with world.client("legal_a") as legal:
        assert legal.get(f"/api/v1/incidents/{incident['id']}").status_code == 200
        refused = legal.post(f"/api/v1/incidents/{incident['id']}/notes", json={"text": "x"})
        assert refused.status_code == 403, "inside the subtree without incident.manage: forbidden"
    with world.client("prov_a") as prov:
        listed = prov.get("/api/v1/incidents", params={"node_id": world.ids["prov_a"], "status": "active"})
        assert [i["id"] for i in listed.json()] == [incident["id"]]
        assert prov.get("/api/v1/incidents", params={"node_id": world.ids["prov_b"]}).status_code == 404
    with world.client("op_a") as op:
        acked = op.post(f"/api/v1/incidents/{incident['id']}/ack", json={"note": "on it"})
        assert acked.status_code == 200 and acked.json()["acknowledged_by"] == world.users["op_a"]
        noted = op.post(f"/api/v1/incidents/{incident['id']}/notes", json={"text": "technician called"})
        assert noted.json()["timeline"][-1]["details"] == {"text": "technician called"}
        bad = op.put(
            f"/api/v1/incidents/{incident['id']}/fallback",
            json={"measure": "guard", "start": "2026-12-01T10:00:00Z", "end": "2026-12-01T09:00:00Z"},
        )
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        naive = op.put(
            f"/api/v1/incidents/{incident['id']}/repair",
            json={"action": "x fixed", "repaired_by": "me", "repaired_at": "2026-12-01T10:00:00"},
        )
        assert naive.status_code == 422
    assert audit(world, "incident.acknowledge") and audit(world, "incident.note")


def test_open_incidents_are_listed_by_subtree_for_other_wings_and_handovers(world: World) -> None:
    a = open_fault(world, "cam_a")
    online(world, "cam_b")
    recorder(world, "cam_b", "offline")
    advance(world, DEBOUNCE_S)
    check(world)
    paths = world.container.registry.paths_of
    with world.container.db.read() as conn:
        node_paths = paths(conn, [world.ids["dist_a"], world.ids["fac_b"]])
        under_a = open_incidents(conn, [node_paths[world.ids["dist_a"]]])
        both = open_incidents(conn, list(node_paths.values()))
        assert open_incidents(conn, []) == []
        from wardwatch.health.wiring import open_incident_items

        items = open_incident_items("en")(conn, [node_paths[world.ids["dist_a"]]])
    assert [i.id for i in under_a] == [a["id"]]
    assert {i.fault for i in both} == {HealthState.BLACK, HealthState.OFFLINE}
    assert items[0].kind == "incident" and items[0].summary == "Camera cam_a: black or blank picture (open)"


def test_uptime_is_counted_per_camera_facility_and_subtree(world: World) -> None:
    start = world.clock.now()
    online(world, "cam_a")  # ok from 0
    online(world, "cam_a2")  # ok from 0
    advance(world, 600)
    recorder(world, "cam_a", "offline")  # offline 10..15 min
    advance(world, 300)
    online(world, "cam_a")
    advance(world, 900)
    picture(world, "cam_a2", HealthState.BLACK)  # impaired 25..35 min
    advance(world, 600)
    picture(world, "cam_a2", HealthState.OK)
    advance(world, 1500)  # now = 60 min
    end = start + timedelta(hours=1)
    with world.client("prov_a") as prov:
        view = prov.get(
            "/api/v1/health/uptime",
            params={"node_id": world.ids["prov_a"], "start": start.isoformat(), "end": end.isoformat()},
        )
        assert view.status_code == 200, view.text
        body = view.json()
        per_camera = {c["camera_id"]: c for c in body["cameras"]}
        a, a2 = per_camera[world.ids["cam_a"]], per_camera[world.ids["cam_a2"]]
        assert (a["up_s"], a["down_s"], a["impaired_s"]) == (3300, 300, 0)
        assert a["uptime_pct"] == pytest.approx(91.667, abs=0.001)
        assert (a2["up_s"], a2["down_s"], a2["impaired_s"]) == (3000, 0, 600)
        assert a2["availability_pct"] == 100.0 and a2["seconds"]["black"] == 600
        assert body["total"]["up_s"] == 6300 and body["total"]["down_s"] == 300
        assert {f["facility_id"] for f in body["facilities"]} == {world.ids["fac_a"], world.ids["fac_a2"]}
        assert world.ids["cam_b"] not in view.text
        facility = prov.get(
            "/api/v1/health/uptime",
            params={"node_id": world.ids["fac_a2"], "start": start.isoformat(), "end": end.isoformat()},
        ).json()
        assert [c["camera_id"] for c in facility["cameras"]] == [world.ids["cam_a2"]]
        before = prov.get(
            "/api/v1/health/uptime",
            params={
                "node_id": world.ids["fac_a"],
                "start": (start - timedelta(hours=1)).isoformat(),
                "end": end.isoformat(),
            },
        ).json()
        assert before["cameras"][0]["unknown_s"] == 3600, "before the first report the state is unknown"
        assert (
            prov.get(
                "/api/v1/health/uptime",
                params={"node_id": world.ids["fac_b"], "start": start.isoformat(), "end": end.isoformat()},
            ).status_code
            == 404
        )
        history = prov.get(
            f"/api/v1/cameras/{world.ids['cam_a']}/health/history",
            params={"start": start.isoformat(), "end": end.isoformat()},
        ).json()
        assert [p["state"] for p in history["periods"]] == ["ok", "offline", "ok"]
        assert history["periods"][1]["reason"]["text"] == "the camera refused the connection"


def test_evidence_keyframes_are_footage_looked_at_on_the_record_and_in_scope(world: World) -> None:
    online(world, "cam_a")
    picture(world, "cam_a", HealthState.BLACK)
    with world.client("op_a") as op:
        health = op.get(f"/api/v1/cameras/{world.ids['cam_a']}/health").json()
        assert health["state"] == "black" and health["reason"]["code"] == "flat"
        evidence_id = health["evidence_id"]
        shot = op.get(f"/api/v1/health/evidence/{evidence_id}")
        assert shot.status_code == 200 and shot.headers["content-type"] == "image/jpeg"
        assert shot.content[:2] == b"\xff\xd8" and shot.headers["cache-control"] == "no-store"
        listed = op.get("/api/v1/health/cameras", params={"facility_id": world.ids["fac_a"]}).json()
        assert [c["camera_id"] for c in listed] == [world.ids["cam_a"]]
    looks = [e for e in audit(world, "footage.snapshot") if evidence_id in e.details]
    assert len(looks) == 1 and looks[0].actor == f"user:{world.users['op_a']}"
    with world.client("op_b") as op_b:
        assert op_b.get(f"/api/v1/health/evidence/{evidence_id}").status_code == 404
        assert op_b.get(f"/api/v1/cameras/{world.ids['cam_a']}/health").status_code == 404
    with world.client("legal_a") as legal:
        assert legal.get(f"/api/v1/health/evidence/{evidence_id}").status_code == 403
    refused = [e for e in audit(world, "footage.snapshot") if e.outcome == "denied"]
    assert {e.actor for e in refused} >= {f"user:{world.users['op_b']}"}


def test_forgetting_a_cameras_normal_needs_registry_edit_and_is_audited(world: World) -> None:
    with world.client("op_a") as op:
        assert op.post(f"/api/v1/cameras/{world.ids['cam_a']}/health/reference").status_code == 403
    with world.client("installer_a") as installer:
        done = installer.post(f"/api/v1/cameras/{world.ids['cam_a']}/health/reference")
        assert done.status_code == 202 and done.json() == {
            "camera_id": world.ids["cam_a"],
            "relearning": False,
        }
    [entry] = audit(world, "camera.health.rebaseline")
    assert entry.object_id == world.ids["cam_a"]


def test_every_state_change_is_audited_and_announced_with_its_evidence(world: World) -> None:
    online(world, "cam_a")
    picture(world, "cam_a", HealthState.BLACK)
    picture(world, "cam_a", HealthState.BLACK)  # the same verdict again changes nothing
    changes = [
        (json.loads(c.details)["from"], json.loads(c.details)["to"]) for c in audit(world, "camera.health")
    ]
    assert changes == [("unknown", "ok"), ("ok", "black")]
    assert audit(world, "camera.health")[-1].scope == world.ids["fac_a"]
    with world.container.db.read() as conn:
        count = conn.execute(select(func.count()).select_from(health_store.evidence)).scalar()
    assert count == 1
    payload = json.loads(events(world, "health.camera.state")[-1])["payload"]
    assert (payload["state"], payload["previous"], payload["measured"]["uniform"]) == ("black", "ok", 0.99)
    assert payload["evidence_id"] and payload["reason"] == {
        "code": "flat",
        "params": {"uniform_pct": 99, "luma": 16},
    }


def test_a_deactivated_camera_and_a_restart_leave_the_state_unknown_not_stale(world: World) -> None:
    online(world, "cam_a")
    online(world, "cam_a2")
    with world.client("admin") as admin:
        assert admin.post(f"/api/v1/cameras/{world.ids['cam_a']}/deactivate").status_code == 200
    world.container.health.sync()
    health = world.container.health.service
    with world.client("admin") as admin:
        view = admin.get(f"/api/v1/cameras/{world.ids['cam_a']}/health").json()
        assert (view["state"], view["reason"]["code"]) == ("unknown", "camera_inactive")
        assert admin.get(f"/api/v1/cameras/{world.ids['cam_a2']}/health").json()["state"] == "ok"
    start = world.clock.now()
    advance(world, 300)
    health.handle(BaselineReport(world.ids["cam_a2"], {"samples": 12}, None, {}, True))  # last heard of
    advance(world, 300)  # ... then WardWatch went down, and starts again now
    assert health.resume() == 1
    with world.client("admin") as admin:
        view = admin.get(f"/api/v1/cameras/{world.ids['cam_a2']}/health").json()
        assert (view["state"], view["reason"]["code"]) == ("unknown", "monitoring_restarted")
        figures = admin.get(
            "/api/v1/health/uptime",
            params={
                "node_id": world.ids["fac_a2"],
                "start": start.isoformat(),
                "end": world.clock.now().isoformat(),
            },
        ).json()["cameras"][0]
        assert (figures["up_s"], figures["unknown_s"]) == (300, 300), "the time nobody watched is unknown"
    online(world, "cam_a2")
    with world.client("admin") as admin:
        assert admin.get(f"/api/v1/cameras/{world.ids['cam_a2']}/health").json()["state"] == "ok"
        metrics = admin.get("/metrics", headers={"authorization": "Bearer scrape-token-for-tests"})
    assert 'wardwatch_camera_health{state="ok"} 1.0' in metrics.text
    assert 'wardwatch_camera_health{state="unknown"} 1.0' in metrics.text
