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

import pytest
from fastapi import APIRouter, WebSocket
from fastapi.testclient import TestClient
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from footage import record_segments
from support import build_world, ready_camera_body
from wardwatch.api import app as app_module
from wardwatch.api.app import create_app
from wardwatch.api.guard import PUBLIC_PATHS, GuardedRoute, GuardedWebSocketRoute, leaf_routes, ws_permission
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
}
LISTS = {
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
}


def operations(app) -> list[tuple[str, str]]:
    return sorted((method, path) for path, item in app.openapi()["paths"].items() for method in item)


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(tmp_path / "data", database_url, now, auth={"mfa_required_roles": []})
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
    yield w
    w.container.close()


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
    }
    queries = {
        ("get", "/api/v1/audit/proofs/inclusion"): {"index": ids["seq_b"]},
        ("get", "/api/v1/rollout"): {"node_id": ids["fac_b"]},
        ("get", "/api/v1/cameras/{camera_id}/timeline"): footage,
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
    }
    a_ids = {
        world.ids["fac_a"],
        world.ids["cam_a"],
        world.ids["door_a"],
        world.ids["request_a"],
        world.users[username],
    }
    with world.client(username) as client:
        app = client.app
        unclassified = []
        for method, path in operations(app):
            key = (method, path)
            if key in GLOBAL or key in SELF:
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
