"""Door events over MQTT through the real Mosquitto at 127.0.0.1:1883.

Each test uses a topic prefix of its own, so concurrent runs on the shared broker never
see each other's messages.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from support import wait_for
from test_access_world import (
    REGISTER_CSV,
    access_world,
    audit_actions,
    bus_events,
    device,
    door_event,
    import_register,
    make_terminal,
)
from wardwatch.access import store

BROKER = ("127.0.0.1", 1883)


class Publisher:
    """A terminal's side of the broker: publishes events and collects what comes back."""

    def __init__(self) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"wwtest-terminal-{secrets.token_hex(4)}"
        )
        self.received: list[tuple[str, Any]] = []
        self._subscribed = threading.Event()
        self.client.on_message = lambda _c, _u, m: self.received.append((m.topic, json.loads(m.payload)))
        self.client.on_subscribe = lambda *_args: self._subscribed.set()
        self.client.connect(*BROKER)
        self.client.loop_start()

    def listen(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(10), "the broker did not confirm the subscription"

    def publish(self, topic: str, payload: Any) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(topic, body, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    prefix = f"wwtest-{secrets.token_hex(4)}"
    w = access_world(tmp_path, database_url, access={"mqtt": {"topic_prefix": prefix, "reconnect_max_s": 2}})
    assert import_register(w, "prov_sup_a", "prov_a", REGISTER_CSV).status_code == 201
    w.ids["terminal"], w.ids["token"] = make_terminal(w, "ZK-MQTT-1", ["door_or"])
    w.ids["prefix"] = prefix
    ingest = w.container.access.mqtt
    ingest.start()
    wait_for(lambda: ingest.connected, 20, "the subscriber to connect to Mosquitto")
    publisher = Publisher()
    yield w, publisher
    publisher.close()
    ingest.stop()
    w.container.close()


def topic(world, door_key: str = "door_or", facility: str = "fac_a") -> str:
    return f"{world.ids['prefix']}/{world.ids[facility]}/doors/{world.ids[door_key]}/events"


def count(world, table) -> int:
    with world.container.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_an_event_published_on_the_door_topic_reaches_the_ledger(world) -> None:
    w, publisher = world
    event = door_event(w, 1, terminal="ZK-MQTT-1")
    del event["door_id"]  # the topic names the door
    publisher.publish(topic(w), event)
    wait_for(lambda: count(w, store.door_events) == 1, 20, "the event to be stored")
    assert w.container.metrics_registry.get_sample_value("wardwatch_access_mqtt_connected") == 1
    with w.client("sup_a") as supervisor:
        entries = supervisor.get("/api/v1/entries", params={"room_id": w.ids["room"]}).json()
    assert [(e["person_id"], e["direction"]) for e in entries] == [("P-SURG", "in")]
    announced = bus_events(w, "access.door_event.accepted")
    assert announced[0]["channel"] == "mqtt" and announced[0]["room_id"] == w.ids["room"]
    # The same event again over HTTP is a duplicate, whichever way it came first.
    with device(w, w.ids["token"]) as terminal:
        again = terminal.post("/api/v1/terminal/events", json=[door_event(w, 1)]).json()
    assert again["duplicates"] == 1 and count(w, store.door_events) == 1


def test_a_batch_with_a_malformed_event_is_taken_in_part_and_the_refusal_published_back(world) -> None:
    w, publisher = world
    publisher.listen(topic(w) + "/refused")
    good = door_event(w, 1, terminal="ZK-MQTT-1")
    bad = door_event(w, 2, terminal="ZK-MQTT-1", direction="sideways")
    publisher.publish(topic(w), [good, bad, door_event(w, 3, terminal="ZK-MQTT-1")])
    wait_for(lambda: publisher.received, 20, "the refusal to be published back")
    refused_topic, body = publisher.received[0]
    assert refused_topic == topic(w) + "/refused"
    assert [(r["index"], r["serial"]) for r in body["refused"]] == [(1, 2)]
    assert body["refused"][0]["errors"][0]["field"] == "direction"
    assert count(w, store.door_events) == 2
    with w.client("installer_a") as installer:
        health = installer.get(f"/api/v1/terminals/{w.ids['terminal']}").json()["health"]
    assert (health["events_accepted"], health["events_refused"]) == (2, 1)


def test_a_message_queued_behind_others_keeps_the_time_it_arrived(world) -> None:
    """received_at is when the message reached the server, not when the worker got to it:
    the wait in the queue is part of the way to an alert."""
    w, publisher = world
    ingest, c = w.container.access.mqtt, w.container
    first_at = w.clock.now()
    with c.db.write() as conn:
        # The worker cannot store anything while this holds the terminal (the write turn on
        # SQLite, the row's lock on PostgreSQL): what arrives meanwhile waits in its queue.
        conn.execute(
            select(store.terminals.c.id).where(store.terminals.c.id == w.ids["terminal"]).with_for_update()
        )
        publisher.publish(topic(w), door_event(w, 1, terminal="ZK-MQTT-1"))
        wait_for(lambda: ingest.messages == 1, 20, "the first message to arrive")
        second_at = first_at + timedelta(seconds=5)
        w.clock.set(second_at)
        publisher.publish(topic(w), door_event(w, 2, terminal="ZK-MQTT-1"))
        wait_for(lambda: ingest.messages == 2, 20, "the second message to arrive")
        w.clock.set(first_at + timedelta(minutes=1))  # when the worker gets its turn
    wait_for(lambda: count(w, store.door_events) == 2, 20, "both events to be stored")
    de = store.door_events.c
    with c.db.read() as conn:
        stored = dict(conn.execute(select(de.serial, de.received_at)).all())
    assert stored == {1: first_at, 2: second_at}
    announced = {e["serial"]: e["received_at"] for e in bus_events(w, "access.door_event.accepted")}
    assert announced == {1: first_at.isoformat(), 2: second_at.isoformat()}


def test_messages_the_trust_model_refuses_are_recorded_and_never_stored(world) -> None:
    w, publisher = world
    unbound = door_event(w, 1, terminal="ZK-MQTT-1")
    publisher.publish(topic(w, "door_sa"), unbound)  # a door this terminal is not bound to
    publisher.publish(topic(w), door_event(w, 2, terminal="ZK-FORGED"))  # no such terminal
    wrong_facility = f"{w.ids['prefix']}/{w.ids['fac_b']}/doors/{w.ids['door_or']}/events"
    publisher.publish(wrong_facility, door_event(w, 3, terminal="ZK-MQTT-1"))
    publisher.publish(topic(w), b"\xff not json")
    publisher.publish(topic(w), door_event(w, 4))  # names no terminal
    wait_for(lambda: count(w, store.event_refusals) == 5, 20, "five refusals to be recorded")
    assert count(w, store.door_events) == 0
    with w.container.db.read() as conn:
        reasons = sorted(r[0] for r in conn.execute(select(store.event_refusals.c.reasons)).scalars())
    assert reasons == [
        "door_events_not_json",
        "door_not_bound",
        "door_not_bound",
        "terminal_required",
        "terminal_unknown",
    ]
    with w.client("installer_a") as installer:
        health = installer.get(f"/api/v1/terminals/{w.ids['terminal']}").json()["health"]
    # Unattributable messages (a forged serial) count against no terminal.
    assert health["events_refused"] == 4


def test_an_unreachable_broker_is_loud(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    w = access_world(tmp_path, database_url, access={"mqtt": {"port": port, "reconnect_max_s": 1}})
    ingest = w.container.access.mqtt
    try:
        with caplog.at_level(logging.ERROR, logger="wardwatch.access.mqtt"):
            ingest.start()
            wait_for(lambda: ingest.state == "down", 20, "the subscriber to notice the broker is down")
            wait_for(lambda: bus_events(w, "access.mqtt.down"), 20, "the outage to be announced")
        assert any("MQTT broker unreachable" in r.getMessage() for r in caplog.records)
        assert ("access.mqtt.down", "success") in audit_actions(w)
        with w.client("admin") as admin:
            notices = admin.get("/api/v1/inbox").json()
        assert [n["kind"] for n in notices] == ["mqtt_unreachable"]
        assert f"127.0.0.1:{port}" in notices[0]["title"]
        assert w.container.metrics_registry.get_sample_value("wardwatch_access_mqtt_connected") == 0
        # Announced once per outage, not at every retry.
        wait_for(lambda: ingest.failures >= 3, 30, "the subscriber to retry")
        assert len(bus_events(w, "access.mqtt.down")) == 1
    finally:
        ingest.stop()
        w.container.close()
