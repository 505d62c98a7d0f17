"""The door-event intake and the directory it judges against: one writer, changes seen at once."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from test_access_events import post
from test_access_world import bus_events, door_event, events_world
from wardwatch.access import store
from wardwatch.access.events import Delivery
from wardwatch.access.intake import Job
from wardwatch.access.model import TerminalStatus
from wardwatch.access.schemas import IngestResult
from wardwatch.access.terminals import TerminalRef
from wardwatch.kernel.actor import system_actor


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = events_world(tmp_path, database_url)
    yield w
    w.container.close()


def test_disabling_a_terminal_refuses_its_very_next_event(world) -> None:
    """The directory held the terminal as active: the disable's commit drops it, no wait."""
    assert post(world, door_event(world, 1)).status_code == 200
    with world.client("installer_a") as installer:
        assert installer.post(f"/api/v1/terminals/{world.ids['terminal']}/disable").status_code == 200
    refused = post(world, door_event(world, 2))
    assert refused.status_code == 403 and refused.json()["code"] == "terminal_disabled"
    with world.client("installer_a") as installer:
        assert installer.post(f"/api/v1/terminals/{world.ids['terminal']}/enable").status_code == 200
    assert post(world, door_event(world, 2)).json()["accepted"] == 1


def test_a_door_unbound_from_the_terminal_is_refused_at_once(world) -> None:
    assert post(world, [door_event(world, 1, door_key="door_sa")]).json()["accepted"] == 1
    with world.client("installer_a") as installer:
        rebound = installer.put(
            f"/api/v1/terminals/{world.ids['terminal']}/doors", json={"door_ids": [world.ids["door_or"]]}
        )
        assert rebound.status_code == 200, rebound.text
    body = post(world, [door_event(world, 2, door_key="door_sa")]).json()
    assert body["accepted"] == 0
    assert {e["reason"] for e in body["refused"][0]["errors"]} == {"door_not_bound"}


def test_a_door_added_to_an_operating_room_is_announced_with_that_room(world) -> None:
    """The room a door opens into is what the rules count entries by: a change shows at once."""
    with world.client("installer_a") as installer:
        doors = [world.ids["door_or"], world.ids["door_or2"]]
        assert installer.put(f"/api/v1/terminals/{world.ids['terminal']}/doors", json={"door_ids": doors})
    assert post(world, [door_event(world, 1, door_key="door_or2")]).json()["accepted"] == 1
    with world.client("admin") as admin:
        changed = admin.patch(f"/api/v1/operating-rooms/{world.ids['room']}", json={"door_ids": doors})
        assert changed.status_code == 200, changed.text
    assert post(world, [door_event(world, 2, door_key="door_or2")]).json()["accepted"] == 1
    rooms = {e["serial"]: e["room_id"] for e in bus_events(world, "access.door_event.accepted")}
    assert rooms == {1: None, 2: world.ids["room"]}


def test_a_message_that_cannot_be_stored_fails_alone_and_the_rest_of_the_turn_is_stored(world) -> None:
    c = world.container
    with c.db.read() as conn:
        real = c.access.terminals.by_serials(conn, ["ZK-0001"])["zk-0001"]
    # A terminal that is not in the database (deleted between reading and storing, say).
    ghost = TerminalRef(
        "01GHOSTTERMINAL00000000000", real.user_id, real.facility_id, real.facility_path,
        "ZK-GHOST", "ghost", TerminalStatus.ACTIVE, real.door_ids,
    )  # fmt: skip
    outcomes: dict[str, object] = {}

    def job(name: str, terminal: TerminalRef, serial: int) -> Job:
        delivery = Delivery(terminal, [door_event(world, serial)], "http", "api")
        return Job(lambda: delivery, lambda outcome: outcomes.__setitem__(name, outcome))

    def unreadable() -> Delivery:
        raise ValueError("this message cannot be read")

    c.access.intake.turn(
        [
            job("first", real, 1),
            job("ghost", ghost, 1),
            Job(unreadable, lambda outcome: outcomes.__setitem__("unreadable", outcome)),
            job("second", real, 2),
        ]
    )
    assert isinstance(outcomes["first"], IngestResult) and outcomes["first"].accepted == 1
    assert isinstance(outcomes["second"], IngestResult) and outcomes["second"].accepted == 1
    assert isinstance(outcomes["ghost"], Exception)
    assert isinstance(outcomes["unreadable"], ValueError)
    with c.db.read() as conn:
        serials = conn.execute(select(store.door_events.c.serial).order_by(store.door_events.c.serial)).all()
        stored = conn.execute(select(func.count()).select_from(store.door_events)).scalar_one()
    assert [s for (s,) in serials] == [1, 2] and stored == 2


def test_a_running_intake_stores_on_its_worker_and_answers_each_sender(world) -> None:
    """Started, the intake's one worker stores HTTP batches (and MQTT messages) in its turns."""
    c = world.container
    c.access.intake.start()
    try:
        assert post(world, [door_event(world, 1), door_event(world, 2)]).json()["accepted"] == 2
        with c.db.read() as conn:
            real = c.access.terminals.by_serials(conn, ["ZK-0001"])["zk-0001"]
        stored_by: list[str] = []
        c.access.intake.put(
            Job(
                lambda: Delivery(
                    real, [door_event(world, 3, terminal="ZK-0001")], "mqtt", "topic", world.ids["door_or"]
                ),
                lambda _outcome: stored_by.append(threading.current_thread().name),
            )
        )
        good = c.access.intake.submit(Delivery(real, [door_event(world, 4)], "http", "api"))
        assert good.result(timeout=20).accepted == 1  # after the MQTT message: one queue, in order
        assert stored_by == ["door-event-intake"]
    finally:
        c.access.intake.stop()
    assert not c.access.intake.running


def test_a_committed_change_is_told_to_the_feed_and_a_rolled_back_one_is_not(world) -> None:
    c = world.container
    seen: list[list[str]] = []
    c.deps.changes.subscribe(["door_terminal"], lambda records: seen.append([r.action for r in records]))

    def broken(_records) -> None:
        raise RuntimeError("a cache that fails must not fail the commit")

    c.deps.changes.subscribe(["door_terminal"], broken)
    with c.deps.uow(system_actor("test")) as uow:
        uow.audit("terminal.note", object_type="door_terminal", object_id="t1")
        uow.audit("camera.note", object_type="camera", object_id="c1")
        uow.commit()
    with c.deps.uow(system_actor("test")) as uow:
        uow.audit("terminal.never", object_type="door_terminal", object_id="t1")
        # left without a commit: rolled back
    assert seen == [["terminal.note"]]
