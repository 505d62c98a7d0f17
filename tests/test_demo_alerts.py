"""The demo shows alerts of all three colours, raised by ``sim doors`` replaying a theatre day.

In-process: the demo is seeded as ``wardwatch demo`` seeds it (without cameras), its
theatre days are prepared the same way, and the door events go through the real terminal
endpoint. As in the served demo, the prepared schedule reaches the rule engine before its
start has caught up (the relay runs first): that must not cost a single alert. The demo's
accounts then find the alerts of their colour in their inboxes once the groups flush.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from wardwatch.access import store as access_store
from wardwatch.alerts import store as alerts_store
from wardwatch.api.app import create_app
from wardwatch.authz.schemas import TokenCreate
from wardwatch.bootstrap import Container
from wardwatch.demo import ensure_demo, prepare_theatre_days
from wardwatch.instance import open_instance
from wardwatch.kernel.bus import Event
from wardwatch.kernel.clock import FixedClock
from wardwatch.kernel.config import load_settings
from wardwatch.kernel.outbox import outbox
from wardwatch.rules.service import EVENT_TYPES
from wardwatch.sim import doors as sim


class Demo:
    def __init__(self, container: Container, clock: FixedClock) -> None:
        self.container = container
        self.clock = clock
        self.pumped = ""

    def pump(self) -> None:
        """The outbox, in order, to the rule engine (what the relay and the bus do when served)."""
        with self.container.db.read() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.type, outbox.c.body)
                .where(outbox.c.id > self.pumped)
                .order_by(outbox.c.id)
            ).all()
        for row in rows:
            self.pumped = row.id
            if row.type in EVENT_TYPES:
                self.container.rules.service.handle(Event.from_json(row.body))

    def token(self, username: str) -> str:
        principal = self.container.accounts.principal_of(
            self.container.accounts.users_matching_name(username)
        )
        return self.container.accounts.create_token(
            principal, TokenCreate(name="test", expires_in_days=1)
        ).token


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("demo-alerts") / "demo-data"
    ensure_demo(data, camera_port=None)
    settings = load_settings(data, None, access={"mqtt": {"enabled": False}}, media={"record": False})
    days = prepare_theatre_days(settings)
    clock = FixedClock(datetime.now(UTC))
    container = open_instance(settings, clock=clock)
    running = Demo(container, clock)
    # The schedule written before the server started is handled before the start catches up.
    running.pump()
    container.rules.service.start()
    app = create_app(container, manage_lifecycle=False)
    with TestClient(app, base_url="http://testserver") as client:
        for _name, token, events in days:
            sent = sim.send_http("http://testserver", token, events, client=client)
            assert sent["refused"] == 0 and sent["accepted"] == len(events), sent
    running.pump()
    container.rules.service.tick()
    running.pump()
    try:
        yield running
    finally:
        container.close()


def firing(demo: Demo) -> list[Any]:
    a = alerts_store.alerts.c
    with demo.container.db.read() as conn:
        return list(conn.execute(select(alerts_store.alerts).where(a.status == "firing")).all())


def test_the_replayed_day_raises_red_yellow_and_blue_alerts_each_with_its_evidence(demo: Demo) -> None:
    alerts = firing(demo)
    assert {a.severity for a in alerts} == {"red", "yellow", "blue"}
    # The clinic breaks R1-R8 and the hospital R1, R6 and R8: exactly the alerts planned.
    assert Counter(a.rule_id for a in alerts) == Counter(
        {"R1": 2, "R2": 2, "R3": 2, "R4": 1, "R5": 1, "R6": 2, "R7": 1, "R8": 2}
    )
    with demo.container.db.read() as conn:
        stored = set(conn.execute(select(access_store.door_events.c.id)).scalars())
        operations = set(conn.execute(select(access_store.procedures.c.id)).scalars())
    for alert in alerts:
        assert alert.event_ids and alert.rule_hash and alert.measures, alert.rule_id
        for ref in alert.event_ids:
            if ref.startswith("procedure:"):
                assert ref.split(":", 1)[1] in operations, (alert.rule_id, ref)
            else:
                assert ref in stored, (alert.rule_id, ref)
    assert demo.container.rules.service.failures == 0, "every verdict was stored"


def test_each_colour_reaches_its_demo_account_in_the_inbox(demo: Demo) -> None:
    demo.clock.set(demo.clock.now() + timedelta(seconds=31))  # past the groups' wait
    demo.container.alert_dispatcher.tick()
    app = create_app(demo.container, manage_lifecycle=False)
    expected = {"facility.supervisor": "blue", "legal.rep": "yellow", "enforcement": "red"}
    for username, colour in expected.items():
        headers = {"authorization": f"Bearer {demo.token(username)}"}
        with TestClient(app, base_url="http://testserver", headers=headers) as client:
            notices = client.get("/api/v1/inbox").json()
            listed = client.get("/api/v1/alerts", params={"limit": 500}).json()
        alert_ids = {a["id"] for a in listed if a["severity"] == colour and a["status"] == "firing"}
        told = {n["ref_id"] for n in notices if n["kind"] == "alert_firing" and n["severity"] == colour}
        assert told and told <= alert_ids, (username, colour, told)
        assert {n["severity"] for n in notices if n["kind"] == "alert_firing"} == {colour}, username
