"""Deny by default, proven by walking every operation in the OpenAPI document.

1. Every route declares its access policy, and a route without one cannot be built.
2. Without credentials, every operation but /healthz is refused.
3. A user holding every permission at facility A is refused on every object of the sibling
   facility B, and never sees B's objects in a list. Each operation must be classified
   below, so a new route cannot slip past this test unexamined.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi import APIRouter, WebSocket
from fastapi.testclient import TestClient
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from footage import record_segments
from support import build_world, ready_camera_body
from wardwatch.alerts.model import AlertSignal, Severity
from wardwatch.api import app as app_module
from wardwatch.api.app import create_app
from wardwatch.api.guard import PUBLIC_PATHS, GuardedRoute, GuardedWebSocketRoute, leaf_routes, ws_permission
from wardwatch.kernel.actor import system_actor
from wardwatch.media.ingest import StatusEvent
from wardwatch.media.model import StreamStatus

GLOBAL = {  # not tied to any facility; reasons matter, so they are written down
    ("get", "/healthz"): "public liveness probe",
    ("get", "/"): "public console shell, holds no data",
    ("get", "/static/{asset}"): "public console scripts, styles and catalogs, no data",
    ("get", "/metrics"): "scrape token, no tenant data",
    ("get", "/api/v1/openapi.json"): "the API description",
    ("get", "/api/v1/roles"): "the role catalogue",
    ("get", "/api/v1/permissions"): "the permission catalogue",
    ("get", "/api/v1/audit/checkpoint"): "signed tree head, hashes only (witness material)",
    ("get", "/api/v1/audit/checkpoint.txt"): "signed tree head, hashes only (witness material)",
    ("get", "/api/v1/audit/checkpoints/{size}"): "signed tree head, hashes only",
    ("get", "/api/v1/audit/public-key"): "public verifier key",
    ("get", "/api/v1/audit/proofs/consistency"): "hashes only, no entry content",
    ("get", "/api/v1/rules"): "the rule catalogue in force (ids, versions, hashes), no facility data",
    ("get", "/api/v1/rules/{rule_id}"): "one rule of the catalogue, no facility data",
}
SELF = {  # act on the caller's own account only
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/activate"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/me"),
    ("post", "/api/v1/auth/mfa/enroll"),
    ("post", "/api/v1/auth/mfa/confirm"),
    ("post", "/api/v1/auth/password"),
    ("put", "/api/v1/auth/locale"),
    ("get", "/api/v1/auth/tokens"),
    ("post", "/api/v1/auth/tokens"),
    ("get", "/api/v1/inbox"),
    ("post", "/api/v1/inbox/{notice_id}/read"),
}
PLATFORM = {  # whole-log or whole-system operations: they need the permission at a root node
    ("post", "/api/v1/audit/checkpoints"),
    ("post", "/api/v1/audit/verify"),
    ("get", "/api/v1/media/storage"),
    ("get", "/api/v1/alerts/integrations"),
}
DEVICE = {  # the calling terminal's own doors; a person is refused, even one holding device.*
    ("get", "/api/v1/terminal"): None,
    ("get", "/api/v1/terminal/doors/{door_id}/allowlist"): None,
    ("post", "/api/v1/terminal/doors/{door_id}/allowlist/report"): {"person_ids": [], "hash": "0" * 64},
    ("post", "/api/v1/terminal/events"): [],
}
LISTS = {
    "/api/v1/practitioners",
    "/api/v1/practitioner-imports",
    "/api/v1/terminals",
    "/api/v1/terminal-reconciliation",
    "/api/v1/entries",
    "/api/v1/door-events",
    "/api/v1/procedures",
    "/api/v1/org/nodes",
    "/api/v1/facilities",
    "/api/v1/rollout",
    "/api/v1/cameras",
    "/api/v1/doors",
    "/api/v1/users",
    "/api/v1/role-bindings",
    "/api/v1/account-requests",
    "/api/v1/audit/entries",
    "/api/v1/media/status",
    "/api/v1/alerts",
    "/api/v1/silences",
    "/api/v1/duty/shifts",
    "/api/v1/duty/coverage",
    "/api/v1/duty/gaps",
    "/api/v1/duty/logbook",
    "/api/v1/duty/breaches",
    "/api/v1/health/cameras",
    "/api/v1/incidents",
    "/api/v1/overview",
}


def operations(app) -> list[tuple[str, str]]:
    return sorted((method, path) for path, item in app.openapi()["paths"].items() for method in item)


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(
        tmp_path / "data",
        database_url,
        now,
        auth={"mfa_required_roles": []},
        health={"incident_debounce_s": 0},
    )
    w.add_user("sibling", "administrator", "fac_a")
    w.add_user("denied", "administrator", "root")
    w.add_user("op_b", "duty_operator", "fac_b")
    with w.client("admin") as admin:
        # An administrator over everything, with province B denied: deny must beat allow.
        admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": w.users["denied"],
                "node_id": w.ids["prov_b"],
                "role": "administrator",
                "effect": "deny",
            },
        )
        cam_a = admin.post("/api/v1/cameras", json=ready_camera_body(w.ids["fac_a_corridor"]))
        w.ids["cam_a"] = cam_a.json()["id"]
        door_a = admin.post(
            "/api/v1/doors",
            json={"zone_id": w.ids["fac_a_ordoor"], "name": "DA", "kind": "operating_room_door"},
        )
        w.ids["door_a"] = door_a.json()["id"]
        req_a = admin.post(
            "/api/v1/account-requests",
            json={
                "node_id": w.ids["fac_a"],
                "role": "duty_operator",
                "username": "pending.a",
                "display_name": "Pending A",
                "justification": "x",
            },
        )
        w.ids["request_a"] = req_a.json()["id"]
        cam = admin.post("/api/v1/cameras", json=ready_camera_body(w.ids["fac_b_corridor"]))
        w.ids["cam_b"] = cam.json()["id"]
        door = admin.post(
            "/api/v1/doors",
            json={"zone_id": w.ids["fac_b_ordoor"], "name": "D", "kind": "operating_room_door"},
        )
        w.ids["door_b"] = door.json()["id"]
        binding = admin.post(
            "/api/v1/role-bindings",
            json={"user_id": w.users["op_b"], "node_id": w.ids["fac_b"], "role": "legal_representative"},
        )
        w.ids["binding_b"] = binding.json()["id"]
        req = admin.post(
            "/api/v1/account-requests",
            json={
                "node_id": w.ids["fac_b"],
                "role": "duty_operator",
                "username": "pending.b",
                "display_name": "Pending B",
                "justification": "x",
            },
        )
        w.ids["request_b"] = req.json()["id"]
        tokens = admin.get("/api/v1/auth/tokens").json()
        w.ids["token_admin"] = tokens[0]["id"]
        cp = admin.post("/api/v1/audit/checkpoints").json()
        w.ids["size"] = str(cp["size"])
        b_entry = next(
            e
            for e in admin.get("/api/v1/audit/entries", params={"limit": 500}).json()
            if e["scope"] == w.ids["fac_b"]
        )
        w.ids["seq_b"] = str(b_entry["seq"])
        # Footage of B: a segment, a legal hold, a playback session and an exported clip.
        start = now - timedelta(hours=1)
        for key in ("cam_a", "cam_b"):
            facility = "fac_a" if key == "cam_a" else "fac_b"
            record_segments(w.container, w.ids[facility], w.ids[key], start, 1)
            w.container.media.record(StatusEvent(w.ids[key], StreamStatus.ONLINE, "receiving video", now, {}))
        footage = {"start": start.isoformat(), "end": (start + timedelta(seconds=2)).isoformat()}
        playback = admin.post(
            f"/api/v1/cameras/{w.ids['cam_b']}/playback", json={**footage, "purpose": "rule_supervision"}
        ).json()
        w.ids["session_b"] = playback["session_id"]
        w.ids["segment_b"] = playback["segments"][0]["id"]
        hold = admin.post(
            f"/api/v1/cameras/{w.ids['cam_b']}/holds", json={**footage, "reason": "kept for B"}
        ).json()
        w.ids["hold_b"] = hold["id"]
        clip = admin.post(
            f"/api/v1/cameras/{w.ids['cam_b']}/clips", json={**footage, "purpose": "rule_supervision"}
        ).json()
        w.ids["clip_b"] = clip["id"]
        w.ids["footage_start"], w.ids["footage_end"] = footage["start"], footage["end"]
        # Duty of A and of B: shifts (nobody took A's), a handover in B, logbook entries,
        # breach reports and the live gaps the check finds.
        for side, facility, operator, camera in (
            ("a", "fac_a", "sibling", "cam_a"),
            ("b", "fac_b", "op_b", "cam_b"),
        ):
            for index, hours in enumerate((-1, 7)):
                shift = admin.post(
                    "/api/v1/duty/shifts",
                    json={
                        "node_id": w.ids[facility],
                        "operator_ids": [w.users[operator]],
                        "starts_at": (now + timedelta(hours=hours)).isoformat(),
                        "ends_at": (now + timedelta(hours=hours + 8)).isoformat(),
                    },
                )
                assert shift.status_code == 201, shift.text
                w.ids[f"shift_{side}{index}"] = shift.json()["id"]
            entry = admin.post(
                "/api/v1/duty/logbook",
                json={"facility_id": w.ids[facility], "kind": "observation", "text": f"seen in {side}"},
            )
            w.ids[f"entry_{side}"] = entry.json()["id"]
            breach = admin.post(
                "/api/v1/duty/breaches",
                json={
                    "camera_id": w.ids[camera],
                    "category": "no_mask",
                    "occurred_at": now.isoformat(),
                    "snapshot_at": now.isoformat(),
                    "source": "live",
                    "note": f"breach in {side}",
                },
            )
            w.ids[f"breach_{side}"] = breach.json()["id"]
        opened = w.container.duty.check_live_gaps().opened  # A first: facilities go by name
        assert len(opened) == 2
        w.ids["gap_b"] = opened[1]
        w.ids["duty_start"] = (now + timedelta(hours=20)).isoformat()
        w.ids["duty_end"] = (now + timedelta(hours=28)).isoformat()
    with w.client("op_b") as op_b:
        op_b.post(f"/api/v1/duty/shifts/{w.ids['shift_b0']}/start", json={"reason": "taking over"})
        handover = op_b.post(
            f"/api/v1/duty/shifts/{w.ids['shift_b0']}/handover", json={"summary": "B is quiet"}
        )
        w.ids["handover_b"] = handover.json()["id"]
    # Alerts and silences of A and of B.
    for side, facility in (("a", "fac_a"), ("b", "fac_b")):
        with w.container.deps.uow(system_actor("test")) as uow:
            fired = w.container.alerts.fire(uow, alert_signal(w.ids[facility], now))
            uow.audit("test.fire", object_type="alert", object_id=fired.alert_id, scope=w.ids[facility])
            uow.commit()
        w.ids[f"alert_{side}"] = fired.alert_id
        with w.client("admin") as admin:
            silence = admin.post(
                "/api/v1/silences",
                json={
                    "node_id": w.ids[facility],
                    "matchers": [{"name": "rule_id", "op": "=", "value": "R9"}],
                    "comment": f"silence in {side}",
                    "ends_at": (now + timedelta(hours=1)).isoformat(),
                },
            )
            assert silence.status_code == 201, silence.text
            w.ids[f"silence_{side}"] = silence.json()["id"]
    access_objects(w)
    health_objects(w)
    yield w
    w.container.close()


def health_objects(w) -> None:
    """Camera health of A and of B: a black picture with its evidence keyframe, and the
    incident it opened."""
    from sqlalchemy import select

    from wardwatch.health import store as health_store
    from wardwatch.health.messages import PictureReport
    from wardwatch.health.model import HealthState, Reason

    ok, jpeg = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    assert ok
    for side in ("a", "b"):
        camera_id = w.ids[f"cam_{side}"]
        w.container.health.service.handle(
            PictureReport(camera_id, HealthState.BLACK, Reason("flat"), {}, jpeg.tobytes(), 16, 16)
        )
    assert w.container.health.incidents.check() == 2
    with w.container.db.read() as conn:
        for side in ("a", "b"):
            camera_id = w.ids[f"cam_{side}"]
            state = conn.execute(
                select(health_store.camera_state).where(health_store.camera_state.c.camera_id == camera_id)
            ).one()
            incident = conn.execute(
                select(health_store.incidents).where(health_store.incidents.c.camera_id == camera_id)
            ).one()
            w.ids[f"evidence_{side}"], w.ids[f"incident_{side}"] = state.evidence_id, incident.id


def access_objects(w) -> None:
    """The access wing of A and of B: a register, an operating room, a terminal and an entry
    through the room's door, and an operation on the schedule."""
    register = (
        "licence_number,name,profession,valid_from\nLIC-{side},Practitioner {side},surgeon,2020-01-01\n"
    )
    with w.client("admin") as admin:
        for side in ("a", "b"):
            facility, door, upper = w.ids[f"fac_{side}"], w.ids[f"door_{side}"], side.upper()
            imported = admin.post(
                f"/api/v1/org/nodes/{w.ids[f'prov_{side}']}/practitioners/imports",
                content=register.format(side=upper).encode(),
                headers={"content-type": "text/csv"},
            )
            assert imported.status_code == 201, imported.text
            w.ids[f"import_{side}"] = imported.json()["id"]
            listed = admin.get("/api/v1/practitioners", params={"node_id": w.ids[f"prov_{side}"]}).json()
            w.ids[f"practitioner_{side}"] = listed[0]["id"]
            room = admin.post(
                f"/api/v1/facilities/{facility}/operating-rooms", json={"name": "OR", "door_ids": [door]}
            )
            w.ids[f"room_{side}"] = room.json()["id"]
            terminal = admin.post(
                "/api/v1/terminals",
                json={
                    "facility_id": facility,
                    "serial_number": f"SN-{upper}",
                    "name": "T",
                    "door_ids": [door],
                },
            ).json()
            w.ids[f"terminal_{side}"], w.ids[f"terminal_token_{side}"] = terminal["id"], terminal["token"]
            procedure = admin.post(f"/api/v1/facilities/{facility}/procedures", json=procedure_body(w, side))
            assert procedure.status_code == 201, procedure.text
            w.ids[f"procedure_{side}"] = procedure.json()["id"]
            event = {
                "serial": 1,
                "time": w.clock.now().isoformat(),
                "door_id": door,
                "person_id": f"LIC-{upper}",
                "verify_mode": "face",
                "result": "granted",
                "direction": "in",
            }
            headers = {"authorization": f"Bearer {terminal['token']}"}
            with TestClient(create_app(w.container, manage_lifecycle=False), headers=headers) as device:
                assert device.post("/api/v1/terminal/events", json=event).json()["accepted"] == 1
            w.ids[f"event_{side}"] = admin.get(
                "/api/v1/door-events", params={"facility_id": facility}
            ).json()[0]["id"]


def procedure_body(w, side: str) -> dict[str, Any]:
    start = w.clock.now() + timedelta(hours=1)
    return {
        "ref": f"OP-{side}",
        "room_id": w.ids[f"room_{side}"],
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=1)).isoformat(),
        "category": "cosmetic_surgery",
        "anaesthesia": "general",
        "lead_surgeon": f"LIC-{side.upper()}",
    }


def alert_signal(facility_id: str, now) -> AlertSignal:
    return AlertSignal(
        source="rule",
        rule_id="R3",
        rule_version="1",
        rule_hash="h",
        severity=Severity.YELLOW,
        facility_id=facility_id,
        labels={},
        starts_at=now,
        measures={},
        event_ids=[],
        titles={"vi": "cảnh báo", "zh-Hans": "告警", "en": "alert"},
    )


def b_targets(world) -> dict[str, Any]:
    ids = world.ids
    path_params = {
        "node_id": ids["fac_b"],
        "facility_id": ids["fac_b"],
        "zone_id": ids["fac_b_corridor"],
        "camera_id": ids["cam_b"],
        "door_id": ids["door_b"],
        "user_id": world.users["op_b"],
        "binding_id": ids["binding_b"],
        "request_id": ids["request_b"],
        "seq": ids["seq_b"],
        "token_id": ids["token_admin"],
        "size": ids["size"],
        "hold_id": ids["hold_b"],
        "session_id": ids["session_b"],
        "segment_id": ids["segment_b"],
        "clip_id": ids["clip_b"],
        "alert_id": ids["alert_b"],
        "silence_id": ids["silence_b"],
        "shift_id": ids["shift_b0"],
        "handover_id": ids["handover_b"],
        "entry_id": ids["entry_b"],
        "report_id": ids["breach_b"],
        "practitioner_id": ids["practitioner_b"],
        "room_id": ids["room_b"],
        "terminal_id": ids["terminal_b"],
        "procedure_id": ids["procedure_b"],
        "incident_id": ids["incident_b"],
        "evidence_id": ids["evidence_b"],
    }
    footage = {"start": ids["footage_start"], "end": ids["footage_end"]}
    bodies = {
        ("post", "/api/v1/org/nodes"): {"kind": "district", "name": "X", "parent_id": ids["prov_b"]},
        ("patch", "/api/v1/org/nodes/{node_id}"): {"name": "Renamed"},
        ("post", "/api/v1/facilities"): {
            "parent_id": ids["dist_b"],
            "name": "X",
            "facility_type": "clinic",
            "address": "a",
            "timezone": "Asia/Ho_Chi_Minh",
        },
        ("patch", "/api/v1/facilities/{facility_id}"): {"address": "moved"},
        ("post", "/api/v1/facilities/{facility_id}/rollout"): {"status": "committed"},
        ("put", "/api/v1/facilities/{facility_id}/rollout/deadline"): {"required_by": None},
        ("post", "/api/v1/facilities/{facility_id}/zones"): {"name": "new", "area_type": "yard"},
        ("patch", "/api/v1/zones/{zone_id}"): {"name": "renamed"},
        ("post", "/api/v1/cameras"): ready_camera_body(ids["fac_b_corridor"]),
        ("patch", "/api/v1/cameras/{camera_id}"): {"name": "renamed"},
        ("put", "/api/v1/cameras/{camera_id}/credentials"): {"username": "u", "password": "p"},
        ("post", "/api/v1/doors"): {
            "zone_id": ids["fac_b_ordoor"],
            "name": "D",
            "kind": "operating_room_door",
        },
        ("patch", "/api/v1/doors/{door_id}"): {"name": "renamed"},
        ("post", "/api/v1/role-bindings"): {
            "user_id": world.users["op_b"],
            "node_id": ids["fac_b"],
            "role": "duty_operator",
        },
        ("post", "/api/v1/account-requests"): {
            "node_id": ids["fac_b"],
            "role": "duty_operator",
            "username": "sneaky",
            "display_name": "S",
            "justification": "x",
        },
        ("post", "/api/v1/account-requests/{request_id}/approve"): {},
        ("post", "/api/v1/account-requests/{request_id}/reject"): {"note": "no"},
        ("post", "/api/v1/audit/verify"): {},
        ("post", "/api/v1/cameras/{camera_id}/playback"): {**footage, "purpose": "rule_supervision"},
        ("post", "/api/v1/cameras/{camera_id}/clips"): {**footage, "purpose": "rule_supervision"},
        ("post", "/api/v1/cameras/{camera_id}/holds"): {**footage, "reason": "sneaky hold"},
        ("post", "/api/v1/holds/{hold_id}/lift"): {"reason": "sneaky lift"},
        ("post", "/api/v1/alerts/{alert_id}/ack"): {"comment": "sneaky ack"},
        ("post", "/api/v1/silences"): {
            "node_id": ids["fac_b"],
            "matchers": [{"name": "rule_id", "op": "=", "value": "R3"}],
            "comment": "sneaky silence",
            "ends_at": ids["footage_end"],
        },
        ("patch", "/api/v1/silences/{silence_id}"): {"comment": "sneaky change"},
        ("post", "/api/v1/duty/shifts"): {
            "node_id": ids["fac_b"],
            "operator_ids": [world.users["op_b"]],
            "starts_at": ids["duty_start"],
            "ends_at": ids["duty_end"],
        },
        ("post", "/api/v1/duty/shifts/{shift_id}/cancel"): {"reason": "sneaky cancel"},
        ("post", "/api/v1/duty/shifts/{shift_id}/start"): {"reason": "sneaky start"},
        ("post", "/api/v1/duty/shifts/{shift_id}/handover"): {"summary": "sneaky"},
        ("post", "/api/v1/duty/handovers/{handover_id}/acknowledge"): {"note": "sneaky"},
        ("post", "/api/v1/duty/logbook"): {
            "facility_id": ids["fac_b"],
            "kind": "observation",
            "text": "sneaky",
        },
        ("post", "/api/v1/duty/breaches"): {
            "camera_id": ids["cam_b"],
            "category": "other",
            "occurred_at": ids["footage_start"],
            "snapshot_at": ids["footage_start"],
            "source": "playback",
            "note": "sneaky",
        },
        ("post", "/api/v1/duty/breaches/{report_id}/remedy"): {"action": "sneaky", "performed_by": "x"},
        ("post", "/api/v1/duty/breaches/{report_id}/verify"): {},
        ("post", "/api/v1/duty/breaches/{report_id}/reject"): {"note": "sneaky"},
        ("post", "/api/v1/duty/breaches/{report_id}/close"): {},
        ("post", "/api/v1/org/nodes/{node_id}/practitioners/imports"): [],
        ("post", "/api/v1/facilities/{facility_id}/operating-rooms"): {
            "name": "X",
            "door_ids": [ids["door_b"]],
        },
        ("patch", "/api/v1/operating-rooms/{room_id}"): {"name": "renamed"},
        ("post", "/api/v1/terminals"): {
            "facility_id": ids["fac_b"],
            "serial_number": "SNEAKY",
            "name": "sneaky",
            "door_ids": [ids["door_b"]],
        },
        ("put", "/api/v1/terminals/{terminal_id}/doors"): {"door_ids": [ids["door_b"]]},
        ("post", "/api/v1/facilities/{facility_id}/procedures"): {
            **procedure_body(world, "b"),
            "ref": "SNEAKY",
        },
        ("patch", "/api/v1/procedures/{procedure_id}"): {"category": "sneaky"},
        ("post", "/api/v1/facilities/{facility_id}/procedures/imports"): [],
        ("post", "/api/v1/incidents/{incident_id}/ack"): {"note": "sneaky"},
        ("post", "/api/v1/incidents/{incident_id}/notes"): {"text": "sneaky"},
        ("put", "/api/v1/incidents/{incident_id}/repair"): {"action": "sneaky", "repaired_by": "me"},
        ("put", "/api/v1/incidents/{incident_id}/fallback"): {"measure": "sneaky", **footage},
        ("post", "/api/v1/incidents/{incident_id}/close"): {
            "repair": {"action": "sneaky", "repaired_by": "me"},
            "fallback": {"measure": "sneaky", **footage},
        },
    }
    queries = {
        ("get", "/api/v1/audit/proofs/inclusion"): {"index": ids["seq_b"]},
        ("get", "/api/v1/rollout"): {"node_id": ids["fac_b"]},
        ("get", "/api/v1/cameras/{camera_id}/timeline"): footage,
        ("get", "/api/v1/cameras/{camera_id}/health/history"): footage,
        ("get", "/api/v1/health/uptime"): {"node_id": ids["fac_b"], **footage},
    }
    return {"path": path_params, "body": bodies, "query": queries}


PUBLIC = {  # the only routes anyone may call, and what an anonymous caller gets
    "/healthz": ("/healthz", 200),
    "/": ("/", 200),
    "/static/{asset}": ("/static/app.js", 200),  # /static/{asset:path}; OpenAPI drops ":path"
}


def fill(path: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: params.get(m.group(1), "01ZZZZZZZZZZZZZZZZZZZZZZZZ"), path)


def test_every_route_declares_an_access_policy(world) -> None:
    app = create_app(world.container, manage_lifecycle=False)
    spec = app.openapi()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op.get("x-wardwatch-access"), f"{method} {path} has no declared policy"
    router = APIRouter(route_class=GuardedRoute)
    with pytest.raises(RuntimeError, match="declares no single access policy"):

        @router.get("/api/v1/oops")
        def oops() -> dict[str, str]:
            return {}


def test_unauthenticated_calls_are_refused_on_every_route(world) -> None:
    app = create_app(world.container, manage_lifecycle=False)
    credential_bodies = {
        "/api/v1/auth/login": {"username": "admin", "password": "wrong-password-1"},
        "/api/v1/auth/activate": {"username": "admin", "code": "x", "password": "whatever-long-1"},
    }
    public = {
        path
        for path, item in app.openapi()["paths"].items()
        for op in item.values()
        if op["x-wardwatch-access"] == "public"
    }
    assert public == set(PUBLIC) == {re.sub(r":\w+\}", "}", p) for p in PUBLIC_PATHS}
    with TestClient(app, raise_server_exceptions=False) as anon:
        checked = 0
        for method, path in operations(app):
            if path in PUBLIC:
                url, status = PUBLIC[path]
                assert anon.request(method.upper(), url).status_code == status, path
                continue
            url = fill(path, {})
            response = anon.request(method.upper(), url, json=credential_bodies.get(path))
            assert response.status_code == 401, f"{method} {path}: {response.status_code}"
            assert response.headers["content-type"] == "application/problem+json"
            checked += 1
    assert checked >= 50


@pytest.mark.parametrize("username", ["sibling", "denied"])
def test_scoped_user_is_refused_on_every_object_outside_their_subtree(world, username: str) -> None:
    targets = b_targets(world)
    b_ids = {
        world.ids["fac_b"],
        world.ids["cam_b"],
        world.ids["door_b"],
        world.ids["fac_b_corridor"],
        world.users["op_b"],
        world.ids["binding_b"],
        world.ids["request_b"],
        world.ids["dist_b"],
        world.ids["hold_b"],
        world.ids["clip_b"],
        world.ids["session_b"],
        world.ids["segment_b"],
        world.ids["alert_b"],
        world.ids["silence_b"],
        world.ids["shift_b0"],
        world.ids["shift_b1"],
        world.ids["handover_b"],
        world.ids["entry_b"],
        world.ids["breach_b"],
        world.ids["gap_b"],
        world.ids["incident_b"],
        world.ids["evidence_b"],
        world.ids["practitioner_b"],
        world.ids["import_b"],
        world.ids["room_b"],
        world.ids["terminal_b"],
        world.ids["procedure_b"],
        world.ids["event_b"],
    }
    a_ids = {
        world.ids["fac_a"],
        world.ids["cam_a"],
        world.ids["door_a"],
        world.ids["request_a"],
        world.users[username],
        world.ids["practitioner_a"],
        world.ids["import_a"],
    }
    with world.client(username) as client:
        app = client.app
        unclassified = []
        for method, path in operations(app):
            key = (method, path)
            if key in GLOBAL or key in SELF:
                continue
            if key in DEVICE:
                refused = client.request(method.upper(), fill(path, targets["path"]), json=DEVICE[key])
                assert (refused.status_code, refused.json()["code"]) == (403, "terminal_only"), key
                continue
            url = fill(path, targets["path"])
            body = targets["body"].get(key)
            params = targets["query"].get(key)
            response = client.request(method.upper(), url, json=body, params=params)
            if method == "get" and path in LISTS and key not in targets["query"]:
                assert response.status_code == 200, f"{method} {path}"
                leaked = [i for i in b_ids if i in response.text]
                assert not leaked, f"{method} {path} lists objects of facility B: {leaked}"
                # And the list is not trivially empty: the caller's own objects are in it.
                assert any(i in response.text for i in a_ids), f"{method} {path} lists nothing of A"
                continue
            if (
                "{" not in path
                and key not in targets["body"]
                and key not in targets["query"]
                and key not in PLATFORM
            ):
                unclassified.append(key)
                continue
            if key in PLATFORM and username == "denied":
                continue  # an administrator at the root may verify the whole log
            assert response.status_code in (403, 404), (
                f"{method} {path} answered {response.status_code}: {response.text[:200]}"
            )
        assert not unclassified, f"classify these operations in this test: {unclassified}"
        for path in websocket_paths(app):
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                client.websocket_connect(fill(path, targets["path"])) as socket,
            ):
                socket.receive_text()
            assert refused.value.code == 1008, path
            assert refused.value.reason in ("not_found", "permission_denied"), path
        assert client.get(f"/api/v1/facilities/{world.ids['fac_a']}").status_code == 200
        assert client.get(f"/api/v1/cameras?facility_id={world.ids['fac_b']}").json() == []
    with world.client("admin") as admin:
        camera = admin.get(f"/api/v1/cameras/{world.ids['cam_b']}").json()
        assert camera["name"] == "Cam", "nothing of B was changed by the refused calls"


def websocket_paths(app) -> list[str]:
    """WebSocket routes are not in the OpenAPI document; walk the app's routes for them."""
    return sorted(r.path for r in leaf_routes(app.routes) if isinstance(r, WebSocketRoute))


def test_every_websocket_route_refuses_callers_without_credentials(world) -> None:
    app = create_app(world.container, manage_lifecycle=False)
    paths = websocket_paths(app)
    assert "/api/v1/cameras/{camera_id}/live" in paths
    with TestClient(app, raise_server_exceptions=False) as anon:
        for path in paths:
            with (
                pytest.raises(WebSocketDisconnect) as refused,
                anon.websocket_connect(fill(path, {})) as socket,
            ):
                socket.receive_text()
            assert (refused.value.code, refused.value.reason) == (1008, "unauthenticated"), path


def test_a_websocket_route_without_its_policy_cannot_be_built_or_served(world, monkeypatch) -> None:
    rogue = APIRouter()

    @rogue.websocket("/api/v1/rogue")
    async def rogue_socket(websocket: WebSocket) -> None:
        await websocket.accept()

    monkeypatch.setattr(app_module, "ROUTERS", (*app_module.ROUTERS, rogue))
    with pytest.raises(RuntimeError, match="websocket /api/v1/rogue"):
        app_module.create_app(world.container, manage_lifecycle=False)
    with pytest.raises(RuntimeError, match="declares no single WebSocket access policy"):
        GuardedWebSocketRoute("/api/v1/oops", rogue_socket)
    router = APIRouter(route_class=GuardedRoute)
    websocket_policy = ws_permission("camera.view_live")
    with pytest.raises(RuntimeError, match="declares no single access policy"):

        @router.get("/api/v1/oops")
        def http_with_a_websocket_policy(caller=websocket_policy) -> dict[str, str]:
            return {}


def test_a_mount_or_plain_route_cannot_slip_past_the_guard(world, monkeypatch, tmp_path: Path) -> None:
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    (tmp_path / "secret.txt").write_text("footage index")
    for rogue_route in (
        Mount("/files", app=StaticFiles(directory=tmp_path)),
        Route("/plain", endpoint=lambda request: None),
    ):
        rogue = APIRouter()
        rogue.routes.append(rogue_route)
        monkeypatch.setattr(app_module, "ROUTERS", (*app_module.ROUTERS, rogue))
        with pytest.raises(RuntimeError, match="routes without an access policy"):
            app_module.create_app(world.container, manage_lifecycle=False)
        monkeypatch.undo()


def test_a_door_terminal_reaches_only_its_own_doors_and_no_route_for_people(world) -> None:
    """A device account holds device.* only, and only for the doors bound to its terminal."""
    targets = b_targets(world)
    headers = {"authorization": f"Bearer {world.ids['terminal_token_a']}"}
    app = create_app(world.container, manage_lifecycle=False)
    with TestClient(app, headers=headers, raise_server_exceptions=False) as terminal:
        own = terminal.get(f"/api/v1/terminal/doors/{world.ids['door_a']}/allowlist")
        assert own.status_code == 200 and [e["person_id"] for e in own.json()["entries"]] == ["LIC-A"]
        assert terminal.get("/api/v1/terminal").json()["door_ids"] == [world.ids["door_a"]]
        for method, path in operations(app):
            key = (method, path)
            if key in GLOBAL or key in SELF or path in PUBLIC:
                continue
            body = DEVICE[key] if key in DEVICE else targets["body"].get(key)
            response = terminal.request(
                method.upper(), fill(path, targets["path"]), json=body, params=targets["query"].get(key)
            )
            if key in DEVICE and "{door_id}" not in path:
                continue  # its own record and its own events: tested with the access wing
            expected = (404,) if key in DEVICE else (403, 404)
            assert response.status_code in expected, f"{method} {path}: {response.status_code}"
        events = terminal.post(
            "/api/v1/terminal/events",
            json=[
                {
                    "serial": 2,
                    "time": world.clock.now().isoformat(),
                    "door_id": world.ids["door_b"],
                    "result": "forced",
                }
            ],
        ).json()
        assert events["accepted"] == 0 and events["refused"][0]["errors"][0]["reason"] == "door_not_bound"
