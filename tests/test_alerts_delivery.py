"""Delivery: every attempt on record, failures retried, then handed on and raised as incidents.

A webhook that keeps failing (a real HTTP receiver answering 500) is given up after
``failure_threshold`` consecutive failures: the fallback receiver is told instead, and the
failing integration raises a red alert of its own (source ``notifier``) that reaches the
administrators' inbox, until the integration delivers again. The password and token in
the webhook's URL are never stored, returned or logged. MQTT goes to the real Mosquitto.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import select, update

from support import World, wait_for
from test_alerts_support import (
    Webhook,
    advance,
    alert_notices,
    alert_world,
    deliveries,
    fire,
    receivers,
    signal,
    webhook_server,
)
from wardwatch.alerts import store as alerts_store
from wardwatch.alerts.model import Severity
from wardwatch.kernel.schema import metadata

PASSWORD = "S3cret-Hook-Pass"
TOKEN = "Tok3nInThePath0123456789"


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with webhook_server() as server:
        yield server


@pytest.fixture
def world(database_url: str, tmp_path: Path, now: datetime, hook: Webhook) -> Iterator[World]:
    w = alert_world(
        tmp_path / "data",
        database_url,
        now,
        {
            "failure_threshold": 3,
            "max_attempts": 5,
            "retry_backoff_s": 10,
            "receivers": receivers(
                enforcement_team={
                    "apprise": [hook.url(f"/fail/{TOKEN}", credentials=f"hookuser:{PASSWORD}")]
                },
                duty_operators={"apprise": [hook.url("/duty")]},
            ),
        },
    )
    yield w
    w.container.close()


def everything_stored(world: World) -> str:
    """Every row of every table, as text: where a leaked secret would show."""
    dump = []
    with world.container.db.read() as conn:
        for table in metadata.sorted_tables:
            dump.extend(repr(tuple(row)) for row in conn.execute(select(table)))
    return "\n".join(dump)


def test_a_failing_webhook_is_retried_then_the_fallback_is_told_and_a_notifier_alert_raised(
    world: World, hook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        red = fire(world, signal(world, rule="R1", severity=Severity.RED))
        advance(world, 11)  # red's group_wait is 10 s: inbox delivered, webhook attempt 1 fails
        assert [n.ref_id for n in alert_notices(world, "enf_a")] == [red.alert_id]
        assert len(hook.to("/fail")) == 1
        advance(world, 10)  # attempt 2 after 10 s of backoff
        assert len(hook.to("/fail")) == 2 and hook.to("/duty") == []
        advance(world, 19)  # backoff doubles: not yet
        assert len(hook.to("/fail")) == 2
        advance(world, 1)  # attempt 3: the third failure in a row gives up
        assert len(hook.to("/fail")) == 3
        advance(world, 1)  # the fallback's webhook and the notifier alert's group go out
        advance(world, 60)
        assert len(hook.to("/fail")) == 3, "given up: no more attempts"
    (fallback_post,) = hook.to("/duty")
    assert "enforcement_team" in fallback_post["title"]
    (fallback,) = alert_notices(world, "op_a")
    assert fallback.kind == "alert_fallback" and fallback.ref_id == red.alert_id
    assert fallback.params["integration"] == "enforcement_team/apprise.0"
    # The failure is an incident: a red notifier alert in the administrators' inbox.
    (incident,) = [n for n in alert_notices(world, "admin")]
    with world.client("admin") as admin:
        notifier = admin.get("/api/v1/alerts", params={"source": "notifier"}).json()
        assert [a["id"] for a in notifier] == [incident.ref_id]
        assert notifier[0]["severity"] == "red" and notifier[0]["facility_id"] == world.ids["root"]
        assert notifier[0]["labels"] == {
            "receiver": "enforcement_team",
            "integration": "enforcement_team/apprise.0",
        }
        detail = admin.get(f"/api/v1/alerts/{red.alert_id}").json()
        (integration,) = [
            i
            for i in admin.get("/api/v1/alerts/integrations").json()
            if i["channel"] == "apprise" and i["receiver"] == "enforcement_team"
        ]
    assert integration["failing"] and integration["consecutive_failures"] == 3
    (webhook,) = [d for d in detail["deliveries"] if d["integration"] == "enforcement_team/apprise.0"]
    assert webhook["state"] == "failed"
    assert [(a["attempt"], a["outcome"]) for a in webhook["attempts"]] == [
        (1, "failed"),
        (2, "failed"),
        (3, "failed"),
    ]
    assert all("500" in (a["error"] or "") for a in webhook["attempts"])
    assert {
        d["channel"]: d["state"] for d in detail["deliveries"] if d["receiver"] == "enforcement_team"
    } == {
        "inbox": "delivered",
        "apprise": "failed",
    }
    assert {d["reason"] for d in detail["deliveries"]} == {"firing", "fallback"}
    # No secret of the webhook URL anywhere it could be read back.
    shown = json.dumps([detail, integration, notifier])
    for secret in (PASSWORD, TOKEN):
        assert secret not in shown
        assert secret not in everything_stored(world)
        assert not [r for r in caplog.records if secret in r.getMessage() or secret in repr(r.__dict__)]
    assert "hookuser:****@" in webhook["target"]


def test_the_first_success_after_an_outage_resolves_the_notifier_alert(world: World, hook: Webhook) -> None:
    fire(world, signal(world, rule="R1", severity=Severity.RED))
    for seconds in (11, 10, 20, 1, 1):
        advance(world, seconds)
    with world.client("admin") as admin:
        (notifier,) = admin.get("/api/v1/alerts", params={"source": "notifier"}).json()
    assert notifier["status"] == "firing"
    hook.broken = False
    fire(world, signal(world, rule="R2", severity=Severity.RED))
    advance(world, 11)
    assert len(hook.to("/fail")) == 4
    advance(world, 300)  # the administrators' group tells the resolution
    with world.client("admin") as admin:
        assert admin.get(f"/api/v1/alerts/{notifier['id']}").json()["status"] == "resolved"
        (integration,) = [
            i for i in admin.get("/api/v1/alerts/integrations").json() if i["receiver"] == "enforcement_team"
        ]
    assert not integration["failing"] and integration["consecutive_failures"] == 0
    assert [n.kind for n in alert_notices(world, "admin")] == ["alert_firing", "alert_resolved"]


def test_every_attempt_is_stored_and_a_delivery_gives_up_after_its_attempts(
    database_url: str, tmp_path: Path, now: datetime, hook: Webhook
) -> None:
    world = alert_world(
        tmp_path / "data",
        database_url,
        now,
        {
            "failure_threshold": 10,
            "max_attempts": 2,
            "retry_backoff_s": 5,
            "receivers": receivers(legal_representative={"apprise": [hook.url("/fail/legal")]}),
        },
    )
    try:
        fire(world, signal(world))
        advance(world, 31)
        advance(world, 5)
        advance(world, 60)
        (webhook,) = [d for d in deliveries(world) if d.channel == "apprise"]
        assert (webhook.state, webhook.attempts) == ("failed", 2)
        with world.container.db.read() as conn:
            attempts = conn.execute(
                select(alerts_store.alert_delivery_attempts).where(
                    alerts_store.alert_delivery_attempts.c.delivery_id == webhook.id
                )
            ).all()
        assert [a.outcome for a in attempts] == ["failed", "failed"]
        assert len(hook.to("/fail/legal")) == 2
        # Given up before the integration counts as down: the fallback is told, no incident.
        assert [n.kind for n in alert_notices(world, "op_a")] == ["alert_fallback"]
        with world.client("admin") as admin:
            assert admin.get("/api/v1/alerts", params={"source": "notifier"}).json() == []
    finally:
        world.container.close()


def test_alerts_are_published_to_mosquitto_with_their_evidence(
    database_url: str, tmp_path: Path, now: datetime
) -> None:
    prefix = f"wwtest-{secrets.token_hex(4)}"
    got: list[tuple[str, dict[str, Any]]] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{prefix}-sub")
    client.on_connect = lambda c, *_: c.subscribe(f"{prefix}/#", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, m: got.append((m.topic, json.loads(m.payload)))
    client.connect("127.0.0.1", 1883)
    client.loop_start()
    world = alert_world(
        tmp_path / "data",
        database_url,
        now,
        {
            "mqtt": {"enabled": True, "topic": prefix + "/{facility_id}/{severity}"},
            "receivers": receivers(legal_representative={"mqtt": True}),
        },
    )
    try:
        assert subscribed.wait(10)
        fired = fire(world, signal(world))
        advance(world, 31)
        wait_for(lambda: got, 10, "the alert on MQTT")
        ((topic, message),) = got
        assert topic == f"{prefix}/{world.ids['fac_a']}/yellow"
        alert = message["alert"]
        assert alert["id"] == fired.alert_id and alert["rule_hash"] == "sha256:R31.0.0"
        assert alert["measures"] == {"ga_operations": 3, "anaesthetist_entries": 1}
        assert alert["event_ids"] == ["EV1", "EV2"] and alert["status"] == "firing"
        (published,) = [d for d in deliveries(world) if d.channel == "mqtt"]
        assert published.state == "delivered" and published.target.startswith("mqtt://127.0.0.1:1883/")
    finally:
        client.loop_stop()
        client.disconnect()
        world.container.close()


def test_an_unreachable_broker_is_a_failed_attempt_with_its_reason(
    database_url: str, tmp_path: Path, now: datetime
) -> None:
    world = alert_world(
        tmp_path / "data",
        database_url,
        now,
        {
            "mqtt": {"enabled": True, "port": 1},
            "receivers": receivers(legal_representative={"mqtt": True}),
        },
    )
    try:
        fire(world, signal(world))
        report = advance(world, 31)
        assert report.failed == 1
        (published,) = [d for d in deliveries(world) if d.channel == "mqtt"]
        assert published.state == "pending" and published.attempts == 1
        assert "127.0.0.1:1" in published.last_error
    finally:
        world.container.close()


def test_a_sealed_target_opens_only_for_its_own_delivery(world: World, hook: Webhook) -> None:
    fire(world, signal(world, rule="R1", severity=Severity.RED))
    advance(world, 11)
    (pending,) = [d for d in deliveries(world) if d.channel == "apprise"]
    assert pending.state == "pending" and pending.target_sealed is not None
    assert hook.url("/fail").encode() not in pending.target_sealed, "sealed, not stored in clear"
    # A target sealed for another delivery, copied onto this row, does not open.
    elsewhere = world.container.deps.box.seal(hook.url("/elsewhere").encode(), "alert-delivery:01OTHER")
    d = alerts_store.alert_deliveries.c
    with world.container.db.write() as conn:
        conn.execute(
            update(alerts_store.alert_deliveries).where(d.id == pending.id).values(target_sealed=elsewhere)
        )
    advance(world, 10)
    (after,) = [x for x in deliveries(world) if x.id == pending.id]
    assert "cannot be opened" in (after.last_error or "")
    assert hook.to("/elsewhere") == []
