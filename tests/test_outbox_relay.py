"""The outbox relay: what a commit hands over is published as it is, the table catches the rest.

Each test counts deliveries with a plain consumer (what the relay itself publishes, repeats
included) and, where it matters, with an idempotent one (what a real consumer takes).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from support import World, build_world, wait_for
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.bus import Event, InProcessBus
from wardwatch.kernel.outbox import OutboxRelay, idempotent, outbox, processed_events
from wardwatch.kernel.uow import UnitOfWork


class Counted:
    """A bus with a plain counting consumer and an idempotent one on ``test.*`` events."""

    def __init__(self, world: World) -> None:
        self.db = world.container.db
        self.seen: Counter[str] = Counter()
        self.taken: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.bus = InProcessBus()
        self.bus.subscribe("counter", self._count, types=["test.*"])
        self.bus.subscribe("taker", idempotent(self.db, "taker", self._take), types=["test.*"])
        self.bus.start()

    def _count(self, event: Event) -> None:
        with self._lock:
            self.seen[event.id] += 1

    def _take(self, _conn: object, event: Event) -> None:
        with self._lock:
            self.taken[event.id] += 1


@pytest.fixture
def world(tmp_path: Path, database_url: str, now) -> Iterator[World]:
    w = build_world(tmp_path / "data", database_url, now)
    # What the world's set-up stored is relayed and marked first, so only the test's own
    # events are unpublished (the container's own relay is never started here).
    OutboxRelay(w.container.db, InProcessBus()).publish_pending(limit=100_000)
    yield w
    w.container.close()


@pytest.fixture
def counted(world: World) -> Iterator[Counted]:
    made = Counted(world)
    yield made
    made.bus.stop()


def commit(world: World, relay: OutboxRelay | None, n: int) -> Event:
    """One unit of work with one event; ``relay`` is told of it (None: a path that does not notify)."""
    c = world.container
    with UnitOfWork(c.db, c.audit, relay, system_actor("test")) as uow:
        uow.audit("test.change", object_type="test", object_id=str(n))
        uow.emit("test.happened", {"n": n})
        uow.commit()
    with c.db.read() as conn:
        body = conn.execute(
            select(outbox.c.body)
            .where(outbox.c.type == "test.happened")
            .order_by(outbox.c.id.desc())
            .limit(1)
        ).scalar_one()
    event = Event.from_json(body)
    assert event.payload == {"n": n}
    return event


def unmarked(world: World) -> list[str]:
    with world.container.db.read() as conn:
        return list(conn.execute(select(outbox.c.id).where(outbox.c.published_at.is_(None))).scalars())


def marks(world: World, ids: list[str]) -> list[object]:
    with world.container.db.read() as conn:
        return list(conn.execute(select(outbox.c.published_at).where(outbox.c.id.in_(ids))).scalars())


def test_handed_over_events_are_published_once_and_marked_in_one_write(
    world: World, counted: Counted
) -> None:
    relay = OutboxRelay(world.container.db, counted.bus)
    # Five commits hand their events over before the relay runs; it also reads the table
    # at start, where the same five rows are: each must still reach the bus once.
    events = [commit(world, relay, n) for n in range(5)]
    ids = [e.id for e in events]
    relay.start()
    try:
        wait_for(lambda: not unmarked(world), 20, "every relayed row to be marked")
        assert counted.bus.drain()
    finally:
        relay.stop()
    assert counted.seen == Counter(ids), "published once each, the table's copies dropped"
    published = marks(world, ids)
    assert None not in published and len(set(published)) == 1, "five commits, one marking write"


def test_an_event_read_from_the_table_first_is_dropped_when_handed_over_later(
    world: World, counted: Counted
) -> None:
    relay = OutboxRelay(world.container.db, counted.bus)
    event = commit(world, None, 1)
    assert relay.publish_pending() == 1  # the table read relays and marks it
    relay.notify([event])  # ... and then the commit's hand-over arrives
    relay.start()
    try:
        later = commit(world, relay, 2)
        wait_for(lambda: counted.seen[later.id] == 1 and not unmarked(world), 20, "the next event")
        assert counted.bus.drain()
    finally:
        relay.stop()
    assert counted.seen == Counter([event.id, later.id])


def test_events_committed_without_a_hand_over_are_found_by_the_table_read(
    world: World, counted: Counted
) -> None:
    relay = OutboxRelay(world.container.db, counted.bus)
    relay.start()
    try:
        handed = commit(world, relay, 1)
        quiet = [commit(world, None, n) for n in range(2, 5)]  # another process, say
        wait_for(
            lambda: all(counted.seen[e.id] for e in quiet) and not unmarked(world),
            30,
            "the relay's next table read",
        )
        assert counted.bus.drain()
    finally:
        relay.stop()
    assert counted.seen == Counter([handed.id] + [e.id for e in quiet])
    assert counted.taken == counted.seen


def test_after_a_restart_unmarked_rows_are_relayed_again_and_idempotent_consumers_drop_them(
    world: World, counted: Counted
) -> None:
    relay = OutboxRelay(world.container.db, counted.bus)
    relay.start()
    events = [commit(world, relay, n) for n in range(3)]
    ids = [e.id for e in events]
    wait_for(lambda: not unmarked(world), 20, "the events to be relayed and marked")
    assert counted.bus.drain()
    relay.stop()
    # A crash between publishing and marking: the marks never reached the table.
    with world.container.db.write() as conn:
        conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=None))
    # Events committed while no relay ran, handed to the one that died.
    orphan = commit(world, relay, 9)
    again = OutboxRelay(world.container.db, counted.bus)
    again.start()
    try:
        wait_for(lambda: not unmarked(world), 20, "the restarted relay to relay and mark them")
        assert counted.bus.drain()
    finally:
        again.stop()
    assert counted.seen == Counter({**dict.fromkeys(ids, 2), orphan.id: 1}), "relayed again: at least once"
    assert counted.taken == Counter([*ids, orphan.id]), "taken once each"
    with world.container.db.read() as conn:
        processed = conn.execute(
            select(processed_events.c.event_id).where(processed_events.c.consumer == "taker")
        ).scalars()
        assert sorted(processed) == sorted([*ids, orphan.id])
