"""Sign-in, sessions with CSRF, lockout, TOTP MFA and API tokens, through the API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient

from support import PASSWORD, build_world
from wardwatch.api.app import create_app


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(
        tmp_path / "data", database_url, now, auth={"lockout_threshold": 3, "lockout_minutes": 15}
    )
    w.add_user("op_a", "duty_operator", "fac_a")
    w.add_user("auditor", "auditor", "root")
    w.add_user("acct_a", "account_administrator", "prov_a")
    yield w
    w.container.close()


@pytest.fixture
def browser(world):
    with TestClient(
        create_app(world.container, manage_lifecycle=False), raise_server_exceptions=False
    ) as client:
        yield client


def login(client: TestClient, username: str, password: str = PASSWORD, totp: str | None = None):
    body = {"username": username, "password": password}
    if totp:
        body["totp"] = totp
    return client.post("/api/v1/auth/login", json=body)


def audit_actions(world, action: str) -> list:
    with world.container.db.read() as conn:
        return world.container.audit.search(conn, scopes=None, action=action)


def test_login_sets_httponly_samesite_cookie_and_csrf_guards_changes(world, browser) -> None:
    response = login(browser, "op_a")
    assert response.status_code == 200, response.text
    cookie = response.headers.get_list("set-cookie")
    session = next(c for c in cookie if c.startswith("ww_session="))
    assert "HttpOnly" in session and "SameSite=strict" in session
    csrf = response.json()["csrf_token"]
    assert browser.get("/api/v1/auth/me").json()["user"]["username"] == "op_a"
    refused = browser.put("/api/v1/auth/locale", json={"locale": "vi"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    ok = browser.put("/api/v1/auth/locale", json={"locale": "vi"}, headers={"x-csrf-token": csrf})
    assert ok.status_code == 204
    assert browser.get("/api/v1/facilities/does-not-exist").json()["title"] == "Không tìm thấy"
    assert browser.post("/api/v1/auth/logout", headers={"x-csrf-token": csrf}).status_code == 204
    assert browser.get("/api/v1/auth/me").status_code == 401
    [success] = [e for e in audit_actions(world, "auth.login") if e.outcome == "success"]
    assert success.actor == f"user:{world.users['op_a']}"


def test_failed_logins_are_audited_and_lock_the_account(world, browser) -> None:
    for _ in range(3):
        assert login(browser, "op_a", "wrong-password-123").status_code == 401
    locked = login(browser, "op_a")
    assert locked.status_code == 423 and locked.json()["code"] == "account_locked"
    failures = [e for e in audit_actions(world, "auth.login") if e.outcome == "failure"]
    assert len(failures) == 4
    assert audit_actions(world, "auth.lockout")
    unknown = login(browser, "nobody")
    assert unknown.status_code == 401 and unknown.json()["code"] == "login_failed"
    with world.client("acct_a") as admin:
        unlocked = admin.post(f"/api/v1/users/{world.users['op_a']}/unlock")
        assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    assert login(browser, "op_a").status_code == 200


def test_lockout_expires_with_time(world, browser) -> None:
    for _ in range(3):
        login(browser, "op_a", "wrong-password-123")
    assert login(browser, "op_a").status_code == 423
    world.clock.advance(timedelta(minutes=16))
    assert login(browser, "op_a").status_code == 200


def test_role_requiring_mfa_must_enrol_before_doing_anything(world, browser) -> None:
    first = login(browser, "auditor")
    assert first.status_code == 200 and first.json()["mfa_enrollment_required"] is True
    csrf = first.json()["csrf_token"]
    blocked = browser.get("/api/v1/audit/entries")
    assert blocked.status_code == 403 and blocked.json()["code"] == "mfa_enrollment_required"
    enrol = browser.post("/api/v1/auth/mfa/enroll", headers={"x-csrf-token": csrf}).json()
    totp = pyotp.TOTP(enrol["secret"])
    code = totp.at(world.clock.now())
    bad = browser.post("/api/v1/auth/mfa/confirm", json={"code": "000000"}, headers={"x-csrf-token": csrf})
    assert bad.status_code == 422
    assert (
        browser.post(
            "/api/v1/auth/mfa/confirm", json={"code": code}, headers={"x-csrf-token": csrf}
        ).status_code
        == 204
    )
    assert browser.get("/api/v1/audit/entries").status_code == 200
    browser.cookies.clear()
    needs_code = login(browser, "auditor")
    assert needs_code.status_code == 401 and needs_code.json()["code"] == "mfa_required"
    world.clock.advance(timedelta(seconds=30))
    fresh = totp.at(world.clock.now())
    assert login(browser, "auditor", totp=fresh).status_code == 200
    assert login(browser, "auditor", totp=fresh).status_code == 401, "a code works once"
    assert audit_actions(world, "auth.mfa.confirm")


def test_api_tokens_authenticate_without_csrf_and_can_be_revoked(world, browser) -> None:
    csrf = login(browser, "op_a").json()["csrf_token"]
    created = browser.post(
        "/api/v1/auth/tokens", json={"name": "wall display"}, headers={"x-csrf-token": csrf}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("wwt_")
    assert token not in browser.get("/api/v1/auth/tokens").text
    with TestClient(create_app(world.container, manage_lifecycle=False)) as api:
        headers = {"authorization": f"Bearer {token}"}
        assert api.get("/api/v1/auth/me", headers=headers).status_code == 200
        assert api.put("/api/v1/auth/locale", json={"locale": "en"}, headers=headers).status_code == 204
        browser.delete(f"/api/v1/auth/tokens/{created.json()['id']}", headers={"x-csrf-token": csrf})
        assert api.get("/api/v1/auth/me", headers=headers).status_code == 401
        assert (
            api.get("/api/v1/auth/me", headers={"authorization": "Bearer wwt_00_forged"}).status_code == 401
        )


def test_password_change_enforces_policy_and_ends_other_sessions(world, browser) -> None:
    csrf = login(browser, "op_a").json()["csrf_token"]
    with TestClient(create_app(world.container, manage_lifecycle=False)) as other:
        assert login(other, "op_a").status_code == 200
        weak = browser.post(
            "/api/v1/auth/password",
            headers={"x-csrf-token": csrf},
            json={"current_password": PASSWORD, "new_password": "short"},
        )
        assert weak.status_code == 422 and weak.json()["code"] == "password_weak"
        ok = browser.post(
            "/api/v1/auth/password",
            headers={"x-csrf-token": csrf},
            json={"current_password": PASSWORD, "new_password": "a-much-longer-passphrase"},
        )
        assert ok.status_code == 204
        assert other.get("/api/v1/auth/me").status_code == 401
    assert browser.get("/api/v1/auth/me").status_code == 200
