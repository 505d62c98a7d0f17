"""Routing: each colour reaches the people and addresses the registry and role bindings name.

Blue goes to the facility supervisor, yellow to the legal representative, red to the
enforcement team with jurisdiction, each through the in-app inbox and e-mail (a real SMTP
server); nobody at another facility or in another district hears of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from support import World, wait_for
from test_alerts_support import (
    Mail,
    advance,
    alert_notices,
    alert_world,
    deliveries,
    fire,
    signal,
    smtp_server,
)
from wardwatch.alerts import store as alerts_store
from wardwatch.alerts.model import Severity
from wardwatch.kernel.i18n import t


@pytest.fixture
def mailbox() -> Iterator[tuple[int, list[Mail]]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def world(
    database_url: str, tmp_path: Path, now: datetime, mailbox: tuple[int, list[Mail]]
) -> Iterator[World]:
    port, _ = mailbox
    w = alert_world(
        tmp_path / "data",
        database_url,
        now,
        {"email": {"url": f"mailto://127.0.0.1:{port}?from=alerts@wardwatch.test"}},
    )
    yield w
    w.container.close()


PEOPLE = ("sup_a", "legal_a", "enf_a", "op_a", "prov_sup_a", "sup_b", "legal_b", "enf_b", "op_b")


def told(world: World) -> dict[str, list[Any]]:
    return {who: alert_notices(world, who) for who in PEOPLE}


@pytest.mark.parametrize(
    ("severity", "person", "contact"),
    [
        (Severity.BLUE, "sup_a", "supervisor.desk.a@example.org"),
        (Severity.YELLOW, "legal_a", "legal.office.a@example.org"),
        (Severity.RED, "enf_a", "enforcement.team.a@example.org"),
    ],
)
def test_each_colour_reaches_its_people_and_addresses_and_no_one_else(
    world: World, mailbox: tuple[int, list[Mail]], severity: Severity, person: str, contact: str
) -> None:
    _, box = mailbox
    fired = fire(world, signal(world, severity=severity, rule=f"R-{severity.value}"))
    assert fired.change == "fired"
    advance(world, 5)
    assert box == [] and all(not n for n in told(world).values()), "nothing before group_wait"
    advance(world, 30)
    got = told(world)
    assert [who for who, n in got.items() if n] == [person], got
    (notice,) = got[person]
    assert notice.kind == "alert_firing" and notice.ref_type == "alert" and notice.ref_id == fired.alert_id
    assert notice.severity == severity.value
    # The person's e-mail and the facility's listed contact, each a message of their own.
    address = f"{person.replace('_', '.')}@example.org"
    assert sorted(r for m in box for r in m.recipients) == sorted([address, contact])
    mail = next(m for m in box if m.recipients == [address])
    locale = {"sup_a": "vi", "legal_a": "en", "enf_a": "zh-Hans"}[person]
    assert (
        f"R-{severity.value}" in mail.subject
        and t(f"alerts.severity.{severity.value}", locale) in mail.subject
    )
    assert signal(world).titles[locale].split(" (")[0] in mail.text
    states = {(d.channel, d.state) for d in deliveries(world)}
    assert states == {("inbox", "delivered"), ("email", "delivered")}


def test_the_enforcement_team_is_resolved_over_the_facilitys_enforcement_node(world: World) -> None:
    # Move facility A's jurisdiction to province A: an officer bound at district A (below
    # it) no longer holds the role over the enforcement node; one at the province does.
    with world.client("admin") as admin:
        assert (
            admin.patch(
                f"/api/v1/facilities/{world.ids['fac_a']}", json={"enforcement_node_id": world.ids["prov_a"]}
            ).status_code
            == 200
        )
        admin.post(
            "/api/v1/role-bindings",
            json={
                "user_id": world.users["prov_sup_a"],
                "node_id": world.ids["prov_a"],
                "role": "enforcement_officer",
            },
        )
    fire(world, signal(world, severity=Severity.RED))
    advance(world, 60)
    assert alert_notices(world, "enf_a") == []
    assert len(alert_notices(world, "prov_sup_a")) == 1


def test_recipients_are_resolved_when_notified_not_when_fired(world: World) -> None:
    fire(world, signal(world, severity=Severity.BLUE))
    with world.client("admin") as admin:  # the supervisor leaves before the group is sent
        admin.post(f"/api/v1/users/{world.users['sup_a']}/disable")
    advance(world, 60)
    assert alert_notices(world, "sup_a") == []
    (inbox,) = [d for d in deliveries(world) if d.channel == "inbox" and d.receiver == "facility_supervisor"]
    assert inbox.state == "no_recipient"
    # The e-mail contact on record still gets it, so the notification reached someone.
    assert {d.channel for d in deliveries(world)} >= {"email"}


def test_a_notification_that_reaches_nobody_goes_to_the_duty_operators(
    database_url: str, tmp_path: Path, now: datetime
) -> None:
    world = alert_world(tmp_path / "data", database_url, now)  # no SMTP: inbox only
    try:
        fire(world, signal(world, "fac_a2", severity=Severity.YELLOW))  # nobody is legal rep at A2
        world.add_user("op_a2", "duty_operator", "fac_a2")
        advance(world, 60)
        (fallback,) = alert_notices(world, "op_a2")
        assert fallback.kind == "alert_fallback"
        assert fallback.params["receiver"] == "legal_representative"
        with world.container.db.read() as conn:
            reasons = [r.reason for r in conn.execute(select(alerts_store.alert_notifications))]
        assert sorted(reasons) == ["fallback", "firing"]
    finally:
        world.container.close()


def test_the_server_dispatches_on_its_own_tick(database_url: str, tmp_path: Path, now: datetime) -> None:
    world = alert_world(tmp_path / "data", database_url, now, {"dispatch": True, "tick_s": 0.2})
    try:
        world.container.start(record=False)
        fired = fire(world, signal(world, severity=Severity.RED))
        world.clock.advance(timedelta(seconds=11))  # red's group_wait is over; the worker notices
        (notice,) = wait_for(lambda: alert_notices(world, "enf_a"), 30, "the red alert in the inbox")
        assert notice.ref_id == fired.alert_id
    finally:
        world.container.close()
