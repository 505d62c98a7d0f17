"""Accounts arrive by request and approval; nobody hands out more than they hold."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import build_world, camera_body
from wardwatch.api.app import create_app


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(tmp_path / "data", database_url, now, auth={"mfa_required_roles": []})
    w.add_user("sup_a", "supervisor", "prov_a")
    w.add_user("acct_a", "account_administrator", "prov_a")
    w.add_user("acct_b", "account_administrator", "prov_b")
    w.add_user("installer_a", "installer", "prov_a")
    yield w
    w.container.close()


def request_body(world, **extra) -> dict:
    body = {
        "node_id": world.ids["fac_a"],
        "role": "duty_operator",
        "username": "new.operator",
        "display_name": "New Operator",
        "email": "new@example.test",
        "justification": "Night shift at facility A",
    }
    body.update(extra)
    return body


def test_request_approve_activate_login_each_step_audited(world) -> None:
    with world.client("sup_a") as sup:
        created = sup.post("/api/v1/account-requests", json=request_body(world))
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        assert created.json()["status"] == "pending"
        own = sup.post(f"/api/v1/account-requests/{request_id}/approve", json={})
        assert own.status_code == 403, "a supervisor cannot provision"
    with world.client("acct_b") as other:
        assert other.post(f"/api/v1/account-requests/{request_id}/approve", json={}).status_code == 404, (
            "outside acct_b's subtree"
        )
    with world.client("acct_a") as acct:
        approved = acct.post(
            f"/api/v1/account-requests/{request_id}/approve", json={"note": "verified with facility"}
        )
        assert approved.status_code == 200, approved.text
        result = approved.json()
        assert result["request"]["status"] == "approved"
        again = acct.post(f"/api/v1/account-requests/{request_id}/approve", json={})
        assert again.status_code == 409
    with TestClient(create_app(world.container, manage_lifecycle=False)) as anon:
        wrong = anon.post(
            "/api/v1/auth/activate",
            json={"username": "new.operator", "code": "nope", "password": "a-long-passphrase-1"},
        )
        assert wrong.status_code == 401
        activated = anon.post(
            "/api/v1/auth/activate",
            json={
                "username": "new.operator",
                "code": result["activation_code"],
                "password": "a-long-passphrase-1",
            },
        )
        assert activated.status_code == 204
        logged_in = anon.post(
            "/api/v1/auth/login", json={"username": "new.operator", "password": "a-long-passphrase-1"}
        )
        assert logged_in.status_code == 200
        me = anon.get("/api/v1/auth/me").json()
        assert [b["role"] for b in me["bindings"]] == ["duty_operator"]
        assert me["bindings"][0]["node_id"] == world.ids["fac_a"]
    with world.container.db.read() as conn:
        actions = {e.action for e in world.container.audit.search(conn, scopes=None, limit=500)}
    assert {"account.request", "account.approve", "account.create", "account.activate"} <= actions


def test_over_delegation_is_refused_when_requesting_or_granting(world) -> None:
    with world.client("sup_a") as sup:
        refused = sup.post("/api/v1/account-requests", json=request_body(world, role="installer"))
        assert refused.status_code == 403
        assert refused.json()["code"] == "over_delegation"
        assert refused.json()["missing"] == ["registry.edit"]
        outside = sup.post("/api/v1/account-requests", json=request_body(world, node_id=world.ids["fac_b"]))
        assert outside.status_code in (403, 404)
        granted = sup.post(
            "/api/v1/role-bindings",
            json={"user_id": world.users["installer_a"], "node_id": world.ids["fac_a"], "role": "auditor"},
        )
        assert granted.status_code == 403 and "audit.read" in granted.json()["missing"]
        fine = sup.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["installer_a"],
                "node_id": world.ids["fac_a"],
                "role": "duty_operator",
            },
        )
        assert fine.status_code == 201
    with world.container.db.read() as conn:
        denied = world.container.audit.search(conn, scopes=None, outcome="denied")
    assert denied, "refused attempts are on the record"


def test_deny_binding_beats_allow_through_the_api(world) -> None:
    with world.client("admin") as admin:
        cam_a = admin.post("/api/v1/cameras", json=camera_body(world.ids["fac_a_corridor"]))
        cam_a2 = admin.post("/api/v1/cameras", json=camera_body(world.ids["fac_a2_corridor"]))
        deny = admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["installer_a"],
                "node_id": world.ids["fac_a"],
                "permission": "registry.read",
                "effect": "deny",
            },
        )
        assert deny.status_code == 201
    with world.client("installer_a") as installer:
        listed = {c["id"] for c in installer.get("/api/v1/cameras").json()}
        assert listed == {cam_a2.json()["id"]}
        assert installer.get(f"/api/v1/cameras/{cam_a.json()['id']}").status_code == 404


def test_four_eyes_rejection_needs_a_reason_and_device_roles_stay_on_devices(world) -> None:
    world.add_user("acct_root", "account_administrator", "root")
    with world.client("admin") as admin:
        created = admin.post("/api/v1/account-requests", json=request_body(world)).json()
        self_approve = admin.post(f"/api/v1/account-requests/{created['id']}/approve", json={})
        assert self_approve.status_code == 403 and self_approve.json()["code"] == "four_eyes"
        device_role = admin.post(
            "/api/v1/account-requests", json=request_body(world, role="door_terminal", username="t1")
        )
        assert device_role.status_code == 422
    with world.client("acct_a") as acct:
        no_reason = acct.post(f"/api/v1/account-requests/{created['id']}/reject", json={})
        assert no_reason.status_code == 422
        rejected = acct.post(
            f"/api/v1/account-requests/{created['id']}/reject",
            json={"note": "duplicate of an existing account"},
        )
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
