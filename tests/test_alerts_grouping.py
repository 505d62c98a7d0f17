"""Grouping: alerts of one (facility, rule, day) travel together, Alertmanager's way.

``group_wait`` batches the first alerts into one message, later ones wait for the next
``group_interval``, and a group with nothing new repeats itself after ``repeat_interval``,
not before. Checked on what a real webhook receiver and a real SMTP server got.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from support import World
from test_alerts_support import (
    Mail,
    Webhook,
    advance,
    alert_world,
    fire,
    receivers,
    resolve,
    signal,
    smtp_server,
    webhook_server,
)
from wardwatch.kernel.i18n import t


@pytest.fixture
def services() -> Iterator[tuple[Webhook, int, list[Mail]]]:
    with webhook_server() as hook, smtp_server() as (port, box):
        yield hook, port, box


@pytest.fixture
def world(
    database_url: str, tmp_path: Path, now: datetime, services: tuple[Webhook, int, list[Mail]]
) -> Iterator[World]:
    hook, port, _ = services
    w = alert_world(
        tmp_path / "data",
        database_url,
        now,
        {
            "email": {"url": f"mailto://127.0.0.1:{port}?from=alerts@wardwatch.test"},
            "receivers": receivers(legal_representative={"apprise": [hook.url("/legal")], "locale": "en"}),
            "route": {
                "receiver": "facility_supervisor",
                "group_by": ["facility_id", "rule_id", "day"],
                "group_wait_s": 30,
                "group_interval_s": 300,
                "repeat_interval_s": 1800,
                "escalation": "none",
                "routes": [{"matchers": ['severity="yellow"'], "receiver": "legal_representative"}],
            },
        },
    )
    yield w
    w.container.close()


def room(world: World, name: str, **kw: Any) -> Any:
    return signal(world, labels={"day": "2026-12-01", "room": name}, **kw)


def test_group_wait_batches_the_first_alerts_of_a_group_into_one_message(
    world: World, services: tuple[Webhook, int, list[Mail]]
) -> None:
    hook, _, box = services
    fire(world, room(world, "OR1"))
    advance(world, 10)
    fire(world, room(world, "OR2"))
    advance(world, 15)
    assert hook.posts == [] and box == []
    advance(world, 10)  # 35 s after the first: group_wait is over
    (post,) = hook.to("/legal")
    assert t("alerts.count", "en", count=2) in post["title"]
    assert post["message"].count("Too few anaesthetists") == 2
    # One message per address (the person and the facility's contact), not one per alert.
    assert sorted(r for m in box for r in m.recipients) == [
        "legal.a@example.org",
        "legal.office.a@example.org",
    ]


def test_other_rules_facilities_and_days_are_other_groups(
    world: World, services: tuple[Webhook, int, list[Mail]]
) -> None:
    hook, _, _ = services
    fire(world, room(world, "OR1"))
    fire(world, room(world, "OR1", rule="R5"))
    fire(world, signal(world, labels={"day": "2026-12-02", "room": "OR1"}))
    fire(world, signal(world, "fac_b", labels={"day": "2026-12-01", "room": "OR1"}))
    advance(world, 31)
    assert len(hook.to("/legal")) == 4
    assert all(t("alerts.count", "en", count=2) not in p["title"] for p in hook.to("/legal"))


def test_a_later_alert_waits_for_the_group_interval_and_the_message_carries_the_whole_group(
    world: World, services: tuple[Webhook, int, list[Mail]]
) -> None:
    hook, _, _ = services
    fire(world, room(world, "OR1"))
    advance(world, 31)
    assert len(hook.to("/legal")) == 1
    fire(world, room(world, "OR2"))
    advance(world, 60)
    advance(world, 239)  # 299 s after the first flush: not yet
    assert len(hook.to("/legal")) == 1
    advance(world, 1)
    assert len(hook.to("/legal")) == 2
    assert t("alerts.count", "en", count=2) in hook.to("/legal")[1]["title"]


def test_an_unchanged_group_repeats_after_the_repeat_interval_and_not_before(
    world: World, services: tuple[Webhook, int, list[Mail]]
) -> None:
    hook, _, _ = services
    breach = world.clock.now()
    fire(world, room(world, "OR1", at=breach))
    advance(world, 31)
    # The same alert fired again with the same evidence changes nothing.
    assert fire(world, room(world, "OR1", at=breach)).change == "unchanged"
    for _ in range(5):  # 5 group intervals = 1500 s < 1800 s
        advance(world, 300)
    assert len(hook.to("/legal")) == 1
    advance(world, 300)  # 1800 s since the message
    assert len(hook.to("/legal")) == 2
    repeat = hook.to("/legal")[1]
    assert t("alerts.reason.repeat", "en") in repeat["title"]
    advance(world, 300)
    assert len(hook.to("/legal")) == 2


def test_new_evidence_updates_the_alert_without_a_new_message_and_resolution_is_told(
    world: World, services: tuple[Webhook, int, list[Mail]]
) -> None:
    hook, _, _ = services
    breach = world.clock.now()
    first = fire(world, room(world, "OR1", at=breach))
    advance(world, 31)
    more = {"ga_operations": 4, "anaesthetist_entries": 1}
    updated = fire(world, room(world, "OR1", at=breach, measures=more, events=["EV1", "EV2", "EV3"]))
    assert (updated.change, updated.alert_id) == ("updated", first.alert_id)
    advance(world, 300)
    assert len(hook.to("/legal")) == 1
    assert resolve(world, first.fingerprint)
    advance(world, 300)
    (_, told) = hook.to("/legal")
    assert t("alerts.reason.resolved", "en") in told["title"]
    assert t("alerts.status.resolved", "en") in told["message"]
    advance(world, 3600)
    assert len(hook.to("/legal")) == 2, "a group with nothing left unresolved falls silent"
