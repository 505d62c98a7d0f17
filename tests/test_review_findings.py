"""Regression tests for holes a security review found: each names the attack it stops."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from support import PASSWORD, build_world, camera_body
from wardwatch.api.app import create_app
from wardwatch.audit import store as audit_store
from wardwatch.authz import store as authz_store
from wardwatch.cli import app as cli_app
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.errors import Locked, Unauthorized


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(
        tmp_path / "data", database_url, now, auth={"mfa_required_roles": [], "lockout_threshold": 5}
    )
    w.add_user("sup_a", "supervisor", "prov_a")
    w.add_user("sup_dist", "supervisor", "dist_a")
    w.add_user("acct_a", "account_administrator", "prov_a")
    w.add_user("auditor_a", "auditor", "prov_a")
    w.add_user("op_a", "duty_operator", "fac_a")
    yield w
    w.container.close()


def test_nobody_lifts_a_deny_placed_on_them_or_revokes_what_they_could_not_grant(world) -> None:
    with world.client("admin") as admin:
        deny = admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["sup_a"],
                "node_id": world.ids["prov_a"],
                "permission": "recording.export",
                "effect": "deny",
            },
        ).json()
        auditor_binding = admin.get(
            "/api/v1/role-bindings", params={"user_id": world.users["auditor_a"]}
        ).json()[0]
        op_binding = admin.get("/api/v1/role-bindings", params={"user_id": world.users["op_a"]}).json()[0]
    with world.client("sup_a") as sup:
        own = sup.delete(f"/api/v1/role-bindings/{deny['id']}")
        assert own.status_code == 403 and own.json()["code"] == "own_bindings"
        stronger = sup.delete(f"/api/v1/role-bindings/{auditor_binding['id']}")
        assert stronger.status_code == 403 and stronger.json()["code"] == "over_delegation"
        assert sup.delete(f"/api/v1/role-bindings/{op_binding['id']}").status_code == 204
    assert not world.principal("sup_a").grants.allows("recording.export", "/" + world.ids["root"])


def test_approval_rechecks_the_requesters_rights_and_requests_come_from_a_province(world) -> None:
    with world.client("sup_a") as sup:
        request = sup.post(
            "/api/v1/account-requests",
            json={
                "node_id": world.ids["fac_a"],
                "role": "duty_operator",
                "username": "late.op",
                "display_name": "Late",
                "justification": "x",
            },
        ).json()
    with world.client("admin") as admin:
        admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["sup_a"],
                "node_id": world.ids["prov_a"],
                "permission": "camera.view_live",
                "effect": "deny",
            },
        )
    with world.client("acct_a") as acct:
        refused = acct.post(f"/api/v1/account-requests/{request['id']}/approve", json={})
        assert refused.status_code == 403 and refused.json()["code"] == "requester_lacks_rights"
        assert refused.json()["missing"] == ["camera.view_live"]
    with world.client("sup_dist") as district:
        low = district.post(
            "/api/v1/account-requests",
            json={
                "node_id": world.ids["fac_a"],
                "role": "duty_operator",
                "username": "x.op",
                "display_name": "X",
                "justification": "x",
            },
        )
        assert low.status_code == 403 and low.json()["code"] == "request_authority_level"


def test_concurrent_wrong_passwords_all_count_towards_the_lockout(world, backend) -> None:
    accounts = world.container.accounts

    def attempt(_: int) -> str:
        try:
            accounts.login("op_a", "wrong-password-9", None, "test")
        except Locked:
            return "locked"
        except Unauthorized:
            return "refused"
        return "opened"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(24)))
    assert "opened" not in outcomes
    with world.container.db.read() as conn:
        locked = conn.execute(
            select(authz_store.users.c.locked_until).where(authz_store.users.c.id == world.users["op_a"])
        ).scalar_one()
    assert locked is not None, f"not locked after {len(outcomes)} concurrent failures"
    with pytest.raises(Locked):
        accounts.login("op_a", PASSWORD, None, "test")


def test_a_totp_code_opens_one_session_even_when_sent_concurrently(world) -> None:
    accounts = world.container.accounts
    secret = pyotp.random_base32()
    with world.container.db.write() as conn:
        conn.execute(
            update(authz_store.users)
            .where(authz_store.users.c.id == world.users["op_a"])
            .values(
                totp_secret=world.container.deps.box.seal(
                    secret.encode(), f"user:{world.users['op_a']}:totp"
                ),
                totp_enabled=True,
            )
        )
    code = pyotp.TOTP(secret).at(world.clock.now())
    barrier = threading.Barrier(6)

    def attempt(_: int) -> bool:
        barrier.wait()
        try:
            accounts.login("op_a", PASSWORD, code, "test")
            return True
        except Unauthorized:
            return False

    with ThreadPoolExecutor(6) as pool:
        opened = sum(pool.map(attempt, range(6)))
    assert opened == 1


def test_verifying_a_log_that_is_being_written_raises_no_false_alarm(world) -> None:
    container = world.container
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            with container.deps.uow(system_actor("w")) as uow:
                uow.audit("test.write", object_type="t", object_id="x")
                uow.commit()

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        reports = [container.audit_service.verify() for _ in range(15)]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert all(r.ok for r in reports), [r.code for r in reports if not r.ok]


def test_a_replayed_head_cannot_hide_truncation_while_exported_checkpoints_exist(
    world, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    container = world.container
    container.audit.sign_checkpoint(container.db)
    with container.db.read() as conn:
        old_head = conn.execute(select(audit_store.head)).one()._asdict()
    for i in range(5):
        with container.deps.uow(system_actor("w")) as uow:
            uow.audit("test.write", object_type="t", object_id=str(i))
            uow.commit()
    later = container.audit.sign_checkpoint(container.db)
    with container.db.write() as conn:  # the attacker's rollback, done in the database only
        conn.execute(delete(audit_store.entries).where(audit_store.entries.c.seq >= old_head["size"]))
        conn.execute(update(audit_store.head).values(**old_head))
        conn.execute(delete(audit_store.checkpoints).where(audit_store.checkpoints.c.size > old_head["size"]))
        conn.execute(delete(audit_store.nodes))
    monkeypatch.setenv("WARDWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WARDWATCH_LANG", "en")
    result = CliRunner().invoke(cli_app, ["audit", "verify", "--data", str(container.settings.data)])
    assert result.exit_code == 1
    assert f"#{old_head['size']}" in result.output and "truncated" in result.output
    assert later.size > old_head["size"]


def test_tampered_proof_nodes_are_named(world) -> None:
    container = world.container
    from wardwatch.audit.model import AuditRecord

    with container.db.write() as conn:
        pending = container.audit.append(
            conn, system_actor("t"), [AuditRecord("t", "t", str(i)) for i in range(600)], "r"
        )
    container.audit.accept(pending)
    with container.db.write() as conn:
        conn.execute(
            update(audit_store.nodes)
            .where(audit_store.nodes.c.level == 8, audit_store.nodes.c.idx == 1)
            .values(hash=b"\1" * 32)
        )
    report = container.audit_service.verify()
    assert report.code == "proof_node_altered" and report.bad_range == (256, 511)


def test_nulls_and_oversized_numbers_are_refused_with_422_and_races_with_409(world) -> None:
    with world.client("admin") as admin:
        camera = admin.post("/api/v1/cameras", json=camera_body(world.ids["fac_a_corridor"])).json()
        for field in ("name", "signage_posted", "legal_basis", "main_url"):
            response = admin.patch(f"/api/v1/cameras/{camera['id']}", json={field: None})
            assert response.status_code == 422, field
            assert response.json()["errors"][0]["field"] == field
        cleared = admin.patch(f"/api/v1/cameras/{camera['id']}", json={"sub_url": None})
        assert cleared.status_code == 200 and cleared.json()["sub_url"] is None
        for field in ("timezone", "facility_type", "address", "contacts"):
            response = admin.patch(f"/api/v1/facilities/{world.ids['fac_a']}", json={field: None})
            assert response.status_code == 422, field
        for url in (
            "/api/v1/audit/entries/9223372036854775808",
            "/api/v1/audit/checkpoints/99999999999999999999",
            "/api/v1/audit/proofs/inclusion?index=9223372036854775808",
        ):
            assert admin.get(url).status_code == 422, url
        request = admin.post(
            "/api/v1/account-requests",
            json={
                "node_id": world.ids["fac_a"],
                "role": "duty_operator",
                "username": "race.op",
                "display_name": "Race",
                "justification": "x",
            },
        ).json()
    outcomes = []
    barrier = threading.Barrier(4)

    def approve(_: int) -> None:
        with TestClient(
            create_app(world.container, manage_lifecycle=False),
            headers={"authorization": f"Bearer {token}"},
            raise_server_exceptions=False,
        ) as client:
            barrier.wait()
            outcomes.append(
                client.post(f"/api/v1/account-requests/{request['id']}/approve", json={}).status_code
            )

    token = world.token("acct_a")
    threads = [threading.Thread(target=approve, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count(200) == 1 and set(outcomes) <= {200, 409}


def test_disabled_accounts_cannot_activate_and_me_omits_denied_permissions(world) -> None:
    with world.client("sup_a") as sup:
        request = sup.post(
            "/api/v1/account-requests",
            json={
                "node_id": world.ids["fac_a"],
                "role": "duty_operator",
                "username": "to.disable",
                "display_name": "D",
                "justification": "x",
            },
        ).json()
    with world.client("acct_a") as acct:
        approved = acct.post(f"/api/v1/account-requests/{request['id']}/approve", json={}).json()
        acct.post(f"/api/v1/users/{approved['user_id']}/disable")
    with TestClient(create_app(world.container, manage_lifecycle=False)) as anon:
        refused = anon.post(
            "/api/v1/auth/activate",
            json={
                "username": "to.disable",
                "code": approved["activation_code"],
                "password": "a-long-passphrase-1",
            },
        )
        assert refused.status_code == 401
    with world.client("admin") as admin:
        admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["op_a"],
                "node_id": world.ids["fac_a"],
                "permission": "camera.view_live",
                "effect": "deny",
            },
        )
    with world.client("op_a") as op:
        permissions = op.get("/api/v1/auth/me").json()["permissions"]
    assert "camera.view_live" not in permissions and "alert.ack" in permissions
