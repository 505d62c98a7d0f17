"""End to end in a running server: MQTT through Mosquitto, the outbox relay, the bus, the rules.

Nothing is pumped by hand here: the container runs its relay, bus and rule tick, and the
test waits (generously) for the alert to be stored.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import pytest

from support import wait_for
from test_access_mqtt import Publisher
from test_rules_world import at, firing, operation, rules_world


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    prefix = f"wwtest-{secrets.token_hex(4)}"
    w = rules_world(
        tmp_path,
        database_url,
        access={"mqtt": {"topic_prefix": prefix, "reconnect_max_s": 2}},
        rules={"tick_s": 0.2, "close_grace_s": 0},
    )
    w.ids["prefix"] = prefix
    w.container.start(record=False)
    wait_for(lambda: w.container.access.mqtt.connected, 20, "the subscriber to connect to Mosquitto")
    publisher = Publisher()
    yield w, publisher
    publisher.close()
    w.container.close()


def test_door_events_over_mqtt_raise_and_a_closing_window_raises_in_a_running_server(world) -> None:
    w, publisher = world
    topic = f"{w.ids['prefix']}/{w.ids['fac_a']}/doors/{w.ids['door_sa']}/events"
    w.clock.advance(timedelta(hours=2))  # 08:00 at the facility
    publisher.publish(topic, {"terminal": "ZK-R1", "serial": 1, "time": at("07:59"), "result": "forced"})
    [alert] = wait_for(lambda: firing(w, "R8"), 30, "R8 raised from an MQTT event")
    assert alert.severity == "blue" and alert.labels["door_id"] == w.ids["door_sa"]
    assert len(alert.event_ids) == 1
    # A general-anaesthesia operation at 08:00 that no anaesthetist came to: the tick closes it.
    operation(w, "OP-1", "07:40", "09:00")
    w.clock.advance(timedelta(minutes=11))
    [r1] = wait_for(lambda: firing(w, "R1"), 30, "R1 raised when its window closed")
    assert r1.severity == "red" and r1.labels["procedure_ref"] == "OP-1"
