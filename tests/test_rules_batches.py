"""Events that queued up together reach the rules as one batch, and their alerts one write.

Within a batch the engine judges each event as if the verdicts before it had been stored,
then stores only the last verdict on each alert: nothing for one raised and cleared inside
the batch. Each behaviour is shown against the same events handled one by one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import World
from test_access_world import import_register
from test_rules_world import REGISTER, alerts, at, door, pump, queued, rules_world
from wardwatch.kernel.bus import Event, InProcessBus
from wardwatch.rules.service import CONSUMER


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    w = rules_world(tmp_path, database_url)
    yield w
    w.container.close()


def history(world: World, alert_id: str) -> list[str]:
    return [h.kind for h in world.container.alerts.get(world.principal("admin"), alert_id).history]


@pytest.mark.parametrize("together", [False, True], ids=["one_by_one", "batch"])
def test_an_alert_raised_and_cleared_within_a_batch_writes_nothing(world: World, together: bool) -> None:
    door(world, at("08:10"), "P-SURG")
    pump(world)  # the engine holds the facility, and the register as it was
    door(world, at("08:12"), "X-NEW")  # not on the register: R4
    added = REGISTER + "CCHN-009,X-NEW,Ngô Văn Mới,nurse,,no,2021-01-01,,active\n"
    assert import_register(world, "prov_sup_a", "prov_a", added).status_code == 201
    events = queued(world)
    assert [e.type for e in events] == ["access.door_event.accepted", "access.register.changed"]
    service = world.container.rules.service
    if together:
        service.handle_many(events)
        assert alerts(world, "R4") == [], "raised and cleared inside the batch: nothing stored"
    else:
        for event in events:
            service.handle(event)
        [alert] = alerts(world, "R4")
        assert alert.status == "resolved" and history(world, alert.id) == ["fired", "resolved"]


@pytest.mark.parametrize("together", [False, True], ids=["one_by_one", "batch"])
def test_the_last_verdict_on_an_alert_in_a_batch_is_the_one_stored(world: World, together: bool) -> None:
    door(world, at("07:50"), "P-SURG")
    pump(world)  # the engine holds the day: what follows is judged event by event
    for hhmm in ("08:00", "08:02", "08:04", "08:06"):  # a burst of refusals: R7 at the third
        door(world, at(hhmm), "X-1", door_key="door_sa", result="denied")
    events = queued(world)
    service = world.container.rules.service
    if together:
        service.handle_many(events)
    else:
        for event in events:
            service.handle(event)
    [alert] = alerts(world, "R7")
    assert alert.status == "firing" and dict(alert.measures) == {"denied": 4}
    assert history(world, alert.id) == (["fired"] if together else ["fired", "updated"])


def test_an_event_that_fails_to_judge_is_retried_by_the_bus_while_the_others_alerts_are_stored(
    world: World,
) -> None:
    door(world, at("08:00"), "X-UNKNOWN")  # R4
    for hhmm in ("08:01", "08:02", "08:03"):
        door(world, at(hhmm), "X-1", door_key="door_sa", result="denied")  # R7
    good = queued(world)
    broken = Event("access.door_event.accepted", {"id": "no-such-event"})  # no facility: cannot be judged
    bus = InProcessBus(max_attempts=3, base_delay_s=0.001)
    world.container.rules.service.subscribe(bus)
    bus.publish([*good[:2], broken, *good[2:]])  # queued up before the consumer runs: one batch
    bus.start()
    try:
        assert bus.drain(timeout=60)
    finally:
        bus.stop()
    assert sorted(a.rule_id for a in alerts(world)) == ["R4", "R7"]
    for alert in alerts(world):
        assert history(world, alert.id) == ["fired"], "the others were judged once, not again at the retry"
    assert [(consumer, e.id) for consumer, e, _ in bus.dead_letters] == [(CONSUMER, broken.id)]


@contextmanager
def alerts_refused(world: World) -> Iterator[None]:
    """Every insert into the alerts table fails (a real database error) inside the block."""
    db = world.container.db
    if db.dialect == "sqlite":
        create = [
            "CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts "
            "BEGIN SELECT RAISE(ABORT, 'alerts refused for the test'); END"
        ]
        drop = ["DROP TRIGGER refuse_alerts"]
    else:
        create = [
            "CREATE FUNCTION refuse_alerts() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'alerts refused for the test'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts "
            "FOR EACH ROW EXECUTE FUNCTION refuse_alerts()",
        ]
        drop = ["DROP TRIGGER refuse_alerts ON alerts", "DROP FUNCTION refuse_alerts()"]
    with db.write() as conn:
        for statement in create:
            conn.exec_driver_sql(statement)
    try:
        yield
    finally:
        with db.write() as conn:
            for statement in drop:
                conn.exec_driver_sql(statement)


@pytest.mark.parametrize("retried_by", ["the bus", "the tick"])
def test_an_alert_whose_storing_failed_is_stored_at_the_next_chance(world: World, retried_by: str) -> None:
    """The engine already holds the fact when storing its alert fails: handling the event
    again finds nothing new, so the facility is judged again from the store instead."""
    door(world, at("07:50"), "P-SURG")
    pump(world)
    forced = door(world, at("08:00"), None, door_key="door_sa", result="forced")
    [event] = queued(world)
    service = world.container.rules.service
    with alerts_refused(world):
        with pytest.raises(Exception, match="alerts refused"):
            service.handle(event)
        assert alerts(world, "R8") == []
    if retried_by == "the bus":
        service.handle(event)  # what the bus does with an event whose handler raised
    else:
        service.tick()
    [alert] = alerts(world, "R8")
    assert alert.status == "firing" and forced in alert.event_ids
    service.handle(event)
    assert len(alerts(world, "R8")) == 1, "stored once, however often it is retried"
