"""The in-app inbox: notices reach whoever holds the role over the facility, in their language."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from support import World, build_world, wait_for
from wardwatch.alerts import store as alerts_store
from wardwatch.alerts.inbox import NoticeKind
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.i18n import t


@pytest.fixture
def world(database_url: str, tmp_path: Path, now: datetime) -> Iterator[World]:
    w = build_world(tmp_path / "data", database_url, now)
    w.add_user("sup_here", "facility_supervisor", "fac_a")
    w.add_user("sup_district", "facility_supervisor", "dist_a")
    w.add_user("sup_elsewhere", "facility_supervisor", "fac_b")
    w.add_user("sup_denied", "facility_supervisor", "dist_a")
    w.add_user("sup_disabled", "facility_supervisor", "fac_a")
    w.add_user("operator", "duty_operator", "fac_a")
    with w.client("admin") as admin:
        admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": w.users["sup_denied"],
                "node_id": w.ids["fac_a"],
                "role": "facility_supervisor",
                "effect": "deny",
            },
        )
        admin.post(f"/api/v1/users/{w.users['sup_disabled']}/disable")
    yield w
    w.container.close()


def deliver(world: World, facility: str, roles: list[str]) -> list[str]:
    container = world.container
    with container.deps.uow(system_actor("test")) as uow:
        recipients = container.inbox.deliver(
            uow,
            node_id=world.ids[facility],
            roles=roles,
            kind=NoticeKind.STORAGE_ALERT,
            params={"used_pct": 91.5, "deleted_segments": 3},
            ref_type="storage_alert",
            ref_id="A1",
            severity="yellow",
        )
        uow.audit("test.notice", object_type="notice", object_id="A1")
        uow.commit()
    return recipients


def test_a_notice_reaches_every_holder_of_the_role_over_the_facility_and_no_one_else(world: World) -> None:
    recipients = deliver(world, "fac_a", ["facility_supervisor"])
    assert set(recipients) == {world.users["sup_here"], world.users["sup_district"]}
    with world.client("sup_here") as here:
        here.put("/api/v1/auth/locale", json={"locale": "vi"})
    with world.client("sup_here") as here:
        (notice,) = here.get("/api/v1/inbox").json()
        assert notice["title"] == t("inbox.storage_alert.title", "vi", used_pct=91.5)
        assert notice["severity"] == "yellow" and notice["read_at"] is None
        assert here.get("/api/v1/inbox", params={"unread": True}).json() != []
        read = here.post(f"/api/v1/inbox/{notice['id']}/read").json()
        assert read["read_at"] is not None
        assert here.get("/api/v1/inbox", params={"unread": True}).json() == []
    for someone in ("sup_elsewhere", "operator", "sup_denied"):
        with world.client(someone) as client:
            assert client.get("/api/v1/inbox").json() == []
            assert client.post(f"/api/v1/inbox/{notice['id']}/read").status_code == 404
    with world.container.db.read() as conn:
        entries = conn.execute(select(alerts_store.inbox)).all()
    assert len(entries) == 2


def test_a_notice_nobody_can_receive_is_kept_logged_and_announced(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    announced: list[Any] = []
    world.container.bus.subscribe("test-undeliverable", announced.append, types=["inbox.undeliverable"])
    world.container.start(record=False)
    with caplog.at_level(logging.ERROR, logger="wardwatch.alerts.inbox"):
        assert deliver(world, "fac_a2", ["legal_representative"]) == []
    assert any("no recipient" in r.getMessage() for r in caplog.records)
    with world.container.db.read() as conn:
        (row,) = conn.execute(select(alerts_store.inbox)).all()
    assert row.user_id is None and row.audience == "legal_representative"
    wait_for(lambda: announced, 10, "the undeliverable notice on the bus")
    assert announced[0].payload["node_id"] == world.ids["fac_a2"]
