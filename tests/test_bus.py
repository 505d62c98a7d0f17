"""Events: stored with their change, delivered at least once, consumed exactly once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from support import build_world
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.bus import Event, InProcessBus
from wardwatch.kernel.outbox import OutboxRelay, idempotent, outbox, processed_events


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(tmp_path / "data", database_url, now)
    yield w
    w.container.close()


def test_event_round_trips_as_plain_json() -> None:
    event = Event(type="registry.camera.created", payload={"id": "c1", "n": 2}, key="c1")
    again = Event.from_json(event.to_json())
    assert again == event


def test_events_commit_with_their_change_and_vanish_with_a_rollback(world) -> None:
    c = world.container
    with c.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    with pytest.raises(RuntimeError), c.deps.uow(system_actor("t")) as uow:
        uow.audit("t", object_type="t", object_id="1")
        uow.emit("test.rolled_back", {"x": 1})
        raise RuntimeError
    with c.deps.uow(system_actor("t")) as uow:
        uow.audit("t", object_type="t", object_id="2")
        uow.emit("test.kept", {"x": 2})
        uow.commit()
    with c.db.read() as conn:
        types = list(conn.execute(select(outbox.c.type)).scalars())
    assert len(types) == before + 1 and "test.kept" in types and "test.rolled_back" not in types


def test_relay_redelivers_after_a_crash_and_consumers_drop_duplicates(world) -> None:
    c = world.container
    handled: list[str] = []
    lock = threading.Lock()

    def handler(conn, event: Event) -> None:
        with lock:
            handled.append(event.id)

    bus = InProcessBus()
    bus.subscribe("counter", idempotent(c.db, "counter", handler), types=["registry.*"])
    bus.start()
    relay = OutboxRelay(c.db, bus)
    # Events were committed by the world's set-up but never relayed: as after a crash.
    published = relay.publish_pending()
    assert published > 0
    assert bus.drain()
    first = list(handled)
    # The same events arrive again (at-least-once); the consumer handles each once.
    with c.db.read() as conn:
        rows = conn.execute(select(outbox.c.body)).scalars().all()
    bus.publish([Event.from_json(body) for body in rows])
    assert bus.drain()
    assert sorted(handled) == sorted(first)
    with c.db.read() as conn:
        recorded = conn.execute(select(func.count()).select_from(processed_events)).scalar_one()
    assert recorded == len(first)
    assert relay.publish_pending() == 0
    bus.stop()


def test_failing_handler_is_retried_then_dead_lettered_loudly() -> None:
    attempts: list[int] = []
    dead: list[str] = []

    def flaky(event: Event) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("temporary")

    def broken(event: Event) -> None:
        raise RuntimeError("always")

    bus = InProcessBus(
        max_attempts=4, base_delay_s=0.001, on_dead_letter=lambda consumer, event, exc: dead.append(consumer)
    )
    bus.subscribe("flaky", flaky)
    bus.subscribe("broken", broken, types=["x.y"])
    bus.start()
    bus.publish([Event(type="x.y", payload={})])
    assert bus.drain()
    bus.stop()
    assert len(attempts) == 3
    assert dead == ["broken"] and bus.dead_letters[0][0] == "broken"
