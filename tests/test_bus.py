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


def test_a_batch_consumer_gets_what_queued_up_in_one_call_up_to_the_cap() -> None:
    batches: list[list[int]] = []
    bus = InProcessBus()
    bus.subscribe_batches(
        "gatherer",
        lambda event: pytest.fail("the batch handler did not fail: nothing goes one by one"),
        lambda events: batches.append([e.payload["n"] for e in events]),
        types=["x.*"],
        max_batch=3,
    )
    # Published before the consumer's thread runs: all seven have queued up.
    bus.publish([Event(type="x.y", payload={"n": n}) for n in range(7)] + [Event(type="z.z", payload={})])
    bus.start()
    assert bus.drain()
    bus.stop()
    assert batches == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_failed_batch_goes_one_by_one_with_retries_and_dead_letters_and_nothing_twice(world) -> None:
    c = world.container
    handled: list[int] = []
    tries: dict[int, int] = {}
    lock = threading.Lock()

    def take(conn, event: Event) -> None:
        n = event.payload["n"]
        with lock:
            tries[n] = tries.get(n, 0) + 1
            if n == 2 and tries[n] < 3:
                raise RuntimeError("temporary")  # succeeds at its third delivery
            if n == 4:
                raise RuntimeError("always")
            handled.append(n)

    one = idempotent(c.db, "gatherer", take)

    def many(events) -> None:
        # Takes the first events of the batch for good, then fails part-way.
        for event in events[:2]:
            one(event)
        raise RuntimeError("the batch failed")

    bus = InProcessBus(max_attempts=4, base_delay_s=0.001)
    bus.subscribe_batches("gatherer", one, many, types=["x.*"])
    events = [Event(type="x.y", payload={"n": n}) for n in range(6)]
    bus.publish(events)
    bus.start()
    assert bus.drain()
    bus.stop()
    assert sorted(handled) == [0, 1, 2, 3, 5], "each event that can be taken is taken exactly once"
    assert tries[2] == 3
    assert [(consumer, e.payload["n"]) for consumer, e, _ in bus.dead_letters] == [("gatherer", 4)]
    with c.db.read() as conn:
        recorded = set(
            conn.execute(select(processed_events.c.event_id).where(processed_events.c.consumer == "gatherer"))
            .scalars()
            .all()
        )
    assert recorded == {e.id for e in events if e.payload["n"] != 4}
