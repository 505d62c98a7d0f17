"""Door events from terminals, over HTTP or MQTT: judged one by one, stored, announced.

What happens to each event of a batch:

- **malformed** (a field missing or wrong, a door the terminal is not bound to, a time
  too far ahead of WardWatch's clock): refused with its reasons, kept (truncated) for the
  terminal's technician and counted against the terminal's health; the rest of the batch
  is still taken and the answer says which were refused and why;
- **duplicate** (same terminal and serial, same content): taken again without effect, so
  a terminal may resend whatever it is unsure of; the same serial with *other* content is
  refused (``serial_reused``);
- **a jump in serials**: the skipped range is recorded as possibly lost events, announced
  and told to the facility supervisor; an event that arrives later inside the range fills
  it;
- **late** (older than ``access.late_after_s`` on arrival, or below the terminal's highest
  serial): accepted, flagged, and announced with ``access.window.stale`` so the rules
  evaluate the windows it falls in again.

Every accepted event is announced as ``access.door_event.accepted`` with its fields, the
door's kind and its operating room. Door events are facts the terminals report, not
actions of a person: like the recorders' segments they go to their own table, with their
events in the outbox in the same transaction, not to the audit log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, and_, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from wardwatch.access import places, store
from wardwatch.access.directory import DoorDirectory
from wardwatch.access.model import DoorResult, local_day
from wardwatch.access.schemas import DoorEventIn, EventRefusal, IngestResult, LostRange
from wardwatch.access.terminals import TerminalRef, Terminals
from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.authz.principal import Principal
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.bus import Event
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid
from wardwatch.kernel.i18n import catalog, t
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.outbox import store_events

log = logging.getLogger(__name__)

TM = store.terminals.c
DE = store.door_events.c
G = store.serial_gaps.c

EVENT_REASONS = (
    "not_an_object",
    "serial_reused",
    "door_required",
    "topic_door_mismatch",
    "door_not_bound",
    "terminal_required",
    "terminal_mismatch",
    "time_in_future",
    "person_required",
    "verify_mode_required",
    "direction_required",
    "door_events_not_json",
    "door_events_shape",
    "door_events_empty",
    "door_events_too_many",
    "topic_unknown",
    "terminal_unknown",
    "terminal_disabled",
)
"""Every reason an event (or a whole message) is refused for, with ``access.event.<reason>``."""
NOTICE_INTERVAL = timedelta(hours=1)
"""A failing terminal's supervisor is told at once, then at most this often."""
EXCERPT_CHARS = 2000


def _error(field_name: str, reason: str) -> dict[str, Any]:
    return {"field": field_name, "reason": reason, "message": t(f"access.event.{reason}")}


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        key = f"validation.{err['type']}"
        message = t(key if key in catalog("en") else "validation.value_error")
        where = ".".join(str(p) for p in err.get("loc", ())) or "event"
        errors.append({"field": where, "reason": err["type"], "message": message})
    return errors


def _trackable(refusal: EventRefusal) -> bool:
    """Whether a refused event's serial is a real one (not itself what was wrong)."""
    return (
        refusal.serial is not None
        and 0 <= refusal.serial < 2**62
        and not any(e["field"] == "serial" for e in refusal.errors)
    )


def fingerprint(event: DoorEventIn, door_id: str) -> str:
    """What makes two reports the same event (the channel it came by does not)."""
    content = {
        "door_id": door_id,
        "time": event.time.isoformat(timespec="microseconds"),
        "person_id": event.person_id,
        "credential_id": event.credential_id,
        "verify_mode": event.verify_mode.value if event.verify_mode else None,
        "result": event.result.value,
        "direction": event.direction.value if event.direction else None,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


_COUNTED = (
    "high_serial",
    "last_seen_at",
    "last_event_at",
    "events_accepted",
    "events_duplicate",
    "events_refused",
    "events_lost",
    "last_refusal_reason",
    "last_refusal_at",
)
_COUNTERS = (
    update(store.terminals)
    .where(TM.id == bindparam("b_id"))
    .values({name: bindparam(f"b_{name}") for name in _COUNTED})
)
"""A terminal's serial state and counters after a turn (executed for many terminals at once)."""


@dataclass(frozen=True)
class Delivery:
    """One message from one terminal: an HTTP body or an MQTT message, with what it came by."""

    terminal: TerminalRef
    items: list[Any]
    channel: str
    source: str
    topic_door: str | None = None
    received_at: datetime | None = None
    """When the message arrived (it waited in the intake's queue since); None: the turn's now."""


@dataclass(frozen=True)
class _Candidate:
    index: int
    event: DoorEventIn
    door: places.Door


@dataclass
class _Step:
    """One serial of a terminal's turn: an event to store (with its row) or a refused one."""

    serial: int
    refused: bool
    number: int
    """Which message of the turn it came in."""
    candidate: _Candidate | None
    row: dict[str, Any] | None = None


_ANNOUNCED = (
    "id",
    "terminal_id",
    "serial",
    "facility_id",
    "door_id",
    "person_id",
    "credential_id",
    "verify_mode",
    "result",
    "direction",
    "channel",
    "late",
)
"""The stored fields an accepted event's announcement carries as they are."""


def _row(candidate: _Candidate, delivery: Delivery, now: datetime) -> dict[str, Any]:
    """The door event's row as it will be stored (``late`` is set under the terminal's lock)."""
    event, door = candidate.event, candidate.door
    return {
        "id": new_id(),
        "terminal_id": delivery.terminal.id,
        "serial": event.serial,
        "facility_id": door.facility_id,
        "door_id": door.id,
        "person_id": event.person_id,
        "credential_id": event.credential_id,
        "verify_mode": event.verify_mode.value if event.verify_mode else None,
        "result": event.result.value,
        "direction": event.direction.value if event.direction else None,
        "channel": delivery.channel,
        "late": False,
        "time": event.time,
        "local_date": local_day(event.time, door.timezone),
        "received_at": now,
        "fingerprint": fingerprint(event, door.id),
    }


@dataclass
class _Run:
    """The terminal's serial state while one batch is stored."""

    terminal: TerminalRef
    channel: str
    now: datetime
    rooms: dict[str, str]
    high: int | None
    last_event_at: datetime | None
    lost: int = 0


@dataclass
class _Outcome:
    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    refused: list[EventRefusal] = field(default_factory=list)
    lost: list[LostRange] = field(default_factory=list)

    def result(self) -> IngestResult:
        return IngestResult(
            accepted=self.accepted,
            duplicates=self.duplicates,
            late=self.late,
            refused=sorted(self.refused, key=lambda r: r.index),
            lost=self.lost,
        )


class DoorEvents:
    def __init__(
        self, deps: Deps, terminals: Terminals, directory: DoorDirectory, inbox: Inbox | None
    ) -> None:
        self.deps = deps
        self.terminals = terminals
        self.directory = directory
        self.inbox = inbox

    # ---------------------------------------------------------------- HTTP

    def http_delivery(
        self, principal: Principal, body: bytes, received_at: datetime | None = None
    ) -> tuple[Delivery, bool]:
        """A terminal's HTTP body as a message to store, and whether it was a single event.

        A body that is not events at all is refused whole here (``Invalid``).
        """
        terminal = self.terminals.admit(principal, lambda: self.directory.terminal_of_user(principal.user_id))
        try:
            items, single = self.items_of(body)
        except Invalid as problem:
            self.refuse_whole(terminal, "http", "api", problem.code, body)
            raise
        return Delivery(terminal, items, "http", "api", received_at=received_at), single

    @staticmethod
    def http_answer(result: IngestResult, single: bool) -> IngestResult:
        """The answer to an HTTP body: a single event that was refused is a 422 problem."""
        if single and result.refused:
            errors = result.refused[0].errors
            raise Invalid(
                "door_event_refused",
                params={"reasons": ", ".join(e["reason"] for e in errors)},
                extra={"errors": errors, "serial": result.refused[0].serial},
            )
        return result

    def items_of(self, body: bytes) -> tuple[list[Any], bool]:
        """The events of a body, and whether it was a single event rather than a batch."""
        try:
            loaded = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise Invalid("door_events_not_json") from None
        single = isinstance(loaded, dict) and "events" not in loaded
        if isinstance(loaded, dict) and set(loaded) == {"events"}:
            loaded = loaded["events"]
        items = [loaded] if single else loaded
        if not isinstance(items, list):
            raise Invalid("door_events_shape")
        if not items:
            raise Invalid("door_events_empty")
        limit = self.deps.settings.access.max_batch
        if len(items) > limit:
            raise Invalid("door_events_too_many", params={"max": limit}, extra={"max_batch": limit})
        return items, single

    # ---------------------------------------------------------------- the shared path

    def ingest_many(self, deliveries: Sequence[Delivery]) -> list[IngestResult]:
        """Judge and store several messages in one transaction; one result per message, in order.

        The intake hands over whatever arrived since its last turn: at a thousand
        events a second from many terminals a transaction per message is what limits the
        rate, not the work each event needs. A terminal's events are stored in serial order
        across its messages, as if they had come as one batch.
        """
        now = self.deps.clock.now()
        outcomes = [_Outcome() for _ in deliveries]
        doors = self.directory.doors({d for delivery in deliveries for d in delivery.terminal.door_ids})
        candidates: list[list[_Candidate]] = []
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            terminal = delivery.terminal
            bound = {d: doors[d] for d in terminal.door_ids if d in doors}
            judged: list[_Candidate] = []
            for index, item in enumerate(delivery.items):
                candidate, refusal = self._judge(
                    index, item, terminal, bound, delivery.topic_door, delivery.channel, now
                )
                if refusal is not None:
                    outcome.refused.append(refusal)
                if candidate is not None:
                    judged.append(candidate)
            candidates.append(judged)
        by_terminal: dict[str, list[int]] = {}
        for number, delivery in enumerate(deliveries):
            by_terminal.setdefault(delivery.terminal.id, []).append(number)
        # Rows are made before the write transaction: the lock is held for the statements only.
        steps = {
            terminal_id: self._steps([(n, deliveries[n]) for n in numbers], candidates, outcomes, now)
            for terminal_id, numbers in by_terminal.items()
        }
        late_after = self.deps.settings.access.late_after_s
        announce: list[Event] = []
        rooms = self.directory.room_of_doors({c.door.id for judged in candidates for c in judged})
        with self.deps.db.write() as conn:
            # Every terminal of the turn in one statement each way, not two per terminal.
            locked = select(store.terminals).where(TM.id.in_(sorted(by_terminal))).order_by(TM.id)
            states = {row.id: row for row in conn.execute(locked.with_for_update())}
            rows: list[dict[str, Any]] = []
            for terminal_id, mine in steps.items():
                high = states[terminal_id].high_serial
                for step in mine:
                    if step.row is not None:
                        behind = high is not None and step.serial < high
                        waited = step.row["received_at"] - step.row["time"]
                        step.row["late"] = behind or waited.total_seconds() > late_after
                        rows.append(step.row)
                    high = step.serial if high is None else max(high, step.serial)
            inserted = self._insert_new(conn, rows)
            earlier = self._fingerprints(conn, [r for r in rows if r["id"] not in inserted])
            counters: list[dict[str, Any]] = []
            for terminal_id, numbers in by_terminal.items():
                events, values = self._store_terminal(
                    conn,
                    [(n, deliveries[n]) for n in numbers],
                    steps[terminal_id],
                    outcomes,
                    rooms,
                    now,
                    states[terminal_id],
                    inserted,
                    earlier,
                )
                announce += events
                counters.append({"b_id": terminal_id, **{f"b_{k}": v for k, v in values.items()}})
            conn.execute(_COUNTERS, counters)
            store_events(conn, announce)
        if announce and self.deps.relay is not None:
            self.deps.relay.notify(announce)
        for terminal_id, numbers in by_terminal.items():
            self._after(
                [deliveries[n] for n in numbers], [outcomes[n] for n in numbers], states[terminal_id], now
            )
        return [outcome.result() for outcome in outcomes]

    def _steps(
        self,
        mine: list[tuple[int, Delivery]],
        candidates: list[list[_Candidate]],
        outcomes: list[_Outcome],
        now: datetime,
    ) -> list[_Step]:
        """A terminal's events of a turn in serial order, each accepted one with its row made."""
        steps: list[_Step] = []
        for number, delivery in mine:
            received = delivery.received_at or now
            for c in candidates[number]:
                steps.append(_Step(c.event.serial, False, number, c, _row(c, delivery, received)))
            # A refused event still used its serial: it was received, not lost.
            steps += [
                _Step(r.serial, True, number, None)
                for r in outcomes[number].refused
                if r.serial is not None and _trackable(r)
            ]
        return sorted(steps, key=lambda s: (s.serial, s.refused, s.number))

    @staticmethod
    def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
        """Insert the rows no terminal serial already holds, in one statement; the ids inserted."""
        if not rows:
            return set()
        dialect = conn.dialect.name
        insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert_fn(store.door_events).on_conflict_do_nothing().returning(DE.id)
        return set(conn.execute(stmt, rows).scalars())

    @staticmethod
    def _fingerprints(conn: Connection, rows: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
        """What is already stored under the (terminal, serial) of rows that were not inserted."""
        found: dict[tuple[str, int], str] = {}
        by_terminal: dict[str, set[int]] = {}
        for row in rows:
            by_terminal.setdefault(row["terminal_id"], set()).add(row["serial"])
        for terminal_id, serials in by_terminal.items():
            query = select(DE.serial, DE.fingerprint).where(
                and_(DE.terminal_id == terminal_id, DE.serial.in_(sorted(serials)))
            )
            for serial, digest in conn.execute(query):
                found[(terminal_id, serial)] = digest
        return found

    def _store_terminal(
        self,
        conn: Connection,
        mine: list[tuple[int, Delivery]],
        steps: list[_Step],
        outcomes: list[_Outcome],
        rooms: dict[str, str],
        now: datetime,
        state: DbRow,
        inserted: set[str],
        earlier: dict[tuple[str, int], str],
    ) -> tuple[list[Event], dict[str, Any]]:
        """One terminal's messages of a turn: the events to announce and its new counters."""
        terminal = mine[0][1].terminal
        run = _Run(
            terminal=terminal,
            channel=mine[0][1].channel,
            now=now,
            rooms=rooms,
            high=state.high_serial,
            last_event_at=state.last_event_at,
        )
        channels = {number: delivery.channel for number, delivery in mine}
        announce: list[Event] = []
        for step in steps:
            run.channel = channels[step.number]
            outcome = outcomes[step.number]
            if step.candidate is None or step.row is None:
                self._track_serial(conn, run, step.serial, outcome)
            elif step.row["id"] in inserted:
                announce += self._accepted(conn, run, step.candidate, step.row, outcome)
            elif earlier.get((terminal.id, step.serial)) == step.row["fingerprint"]:
                outcome.duplicates += 1
            else:
                outcome.refused.append(
                    EventRefusal(
                        index=step.candidate.index,
                        serial=step.serial,
                        errors=[_error("serial", "serial_reused")],
                    )
                )
        accepted = sum(outcomes[n].accepted for n, _ in mine)
        duplicates = sum(outcomes[n].duplicates for n, _ in mine)
        refused = [r for n, _ in mine for r in outcomes[n].refused]
        values: dict[str, Any] = {
            "high_serial": run.high,
            "last_seen_at": now,
            "last_event_at": run.last_event_at,
            "events_accepted": state.events_accepted + accepted,
            "events_duplicate": state.events_duplicate + duplicates,
            "events_refused": state.events_refused + len(refused),
            "events_lost": max(0, state.events_lost + run.lost),
            "last_refusal_reason": refused[0].errors[0]["reason"] if refused else state.last_refusal_reason,
            "last_refusal_at": now if refused else state.last_refusal_at,
        }
        for number, delivery in mine:
            outcome = outcomes[number]
            if outcome.refused:
                self._store_refusals(
                    conn, terminal.id, delivery.channel, delivery.source, delivery.items, outcome.refused, now
                )
                announce.append(self._refused_event(terminal, outcome.refused, delivery.channel))
        lost = [g for n, _ in mine for g in outcomes[n].lost]
        if lost:
            announce.append(
                Event(
                    "access.door_events.lost",
                    {
                        "terminal_id": terminal.id,
                        "facility_id": terminal.facility_id,
                        "ranges": [g.model_dump() for g in lost],
                    },
                    key=terminal.id,
                )
            )
        return announce, values

    def _after(self, mine: list[Delivery], outcomes: list[_Outcome], state: DbRow, now: datetime) -> None:
        """After the commit: say out loud what was refused or lost, and tell the supervisor."""
        terminal = mine[0].terminal
        refused = sum(len(o.refused) for o in outcomes)
        lost = [g for o in outcomes for g in o.lost]
        if refused:
            channels = sorted({d.channel for d in mine})
            log.warning(
                "door events refused",
                extra={"terminal_id": terminal.id, "refused": refused, "channel": ",".join(channels)},
            )
            self._tell_supervisor(
                terminal, NoticeKind.TERMINAL_EVENTS_REFUSED, {"count": refused}, state.last_refusal_at, now
            )
        if lost:
            count = sum(g.last_serial - g.first_serial + 1 for g in lost)
            log.warning("door events possibly lost", extra={"terminal_id": terminal.id, "serials": count})
            self._tell_supervisor(
                terminal,
                NoticeKind.TERMINAL_EVENTS_LOST,
                {"count": count},
                self._last_gap_before(terminal.id, now),
                now,
            )

    def _accepted(
        self, conn: Connection, run: _Run, candidate: _Candidate, row: dict[str, Any], outcome: _Outcome
    ) -> list[Event]:
        """An event just stored: follow its serial, and the bus events it causes."""
        event, door, received = candidate.event, candidate.door, row["received_at"]
        outcome.accepted += 1
        self._track_serial(conn, run, event.serial, outcome)
        if run.last_event_at is None or event.time > run.last_event_at:
            run.last_event_at = event.time
        room_id = run.rooms.get(door.id)
        local_date: date = row["local_date"]
        payload = {
            **{k: row[k] for k in _ANNOUNCED},
            "time": event.time.isoformat(),
            "received_at": received.isoformat(),
            "local_date": local_date.isoformat(),
            "door_kind": door.kind,
            "room_id": room_id,
            "delay_s": round((received - event.time).total_seconds(), 3),
        }
        announce = [Event("access.door_event.accepted", payload, key=door.id)]
        if row["late"]:
            outcome.late += 1
            stale = {
                "cause": "late_door_event",
                "event_id": row["id"],
                "facility_id": door.facility_id,
                "door_id": door.id,
                "room_id": room_id,
                "time": event.time.isoformat(),
                "local_date": local_date.isoformat(),
            }
            announce.append(Event("access.window.stale", stale, key=door.facility_id))
        return announce

    def _track_serial(self, conn: Connection, run: _Run, serial: int, outcome: _Outcome) -> None:
        """Follow the terminal's running number: record a jump, or fill an earlier one."""
        high = run.high
        if high is not None and serial > high + 1:
            gap = LostRange(first_serial=high + 1, last_serial=serial - 1)
            outcome.lost.append(gap)
            run.lost += gap.last_serial - gap.first_serial + 1
            conn.execute(
                insert(store.serial_gaps).values(
                    id=new_id(),
                    terminal_id=run.terminal.id,
                    first_serial=gap.first_serial,
                    last_serial=gap.last_serial,
                    recovered=0,
                    detected_at=run.now,
                )
            )
        elif high is not None and serial < high:
            run.lost -= self._fill_gap(conn, run.terminal.id, serial, run.now)
        run.high = serial if high is None else max(high, serial)

    def _judge(
        self,
        index: int,
        item: Any,
        terminal: TerminalRef,
        doors: dict[str, places.Door],
        topic_door: str | None,
        channel: str,
        now: datetime,
    ) -> tuple[_Candidate | None, EventRefusal | None]:
        if not isinstance(item, dict):
            return None, EventRefusal(index=index, serial=None, errors=[_error("event", "not_an_object")])
        raw_serial = item.get("serial")
        serial = raw_serial if isinstance(raw_serial, int) and not isinstance(raw_serial, bool) else None
        try:
            event = DoorEventIn.model_validate(item)
        except ValidationError as exc:
            return None, EventRefusal(index=index, serial=serial, errors=_validation_errors(exc))
        errors = []
        door_id = event.door_id or topic_door
        if door_id is None:
            errors.append(_error("door_id", "door_required"))
        elif topic_door is not None and door_id != topic_door:
            errors.append(_error("door_id", "topic_door_mismatch"))
        elif door_id not in doors:
            errors.append(_error("door_id", "door_not_bound"))
        if channel == "mqtt" and event.terminal is None:
            errors.append(_error("terminal", "terminal_required"))
        elif event.terminal is not None and event.terminal.lower() != terminal.serial_number.lower():
            errors.append(_error("terminal", "terminal_mismatch"))
        if event.time > now + timedelta(seconds=self.deps.settings.access.max_future_s):
            errors.append(_error("time", "time_in_future"))
        if event.result in (DoorResult.GRANTED, DoorResult.DENIED):
            if event.person_id is None and event.credential_id is None:
                errors.append(_error("person_id", "person_required"))
            if event.verify_mode is None:
                errors.append(_error("verify_mode", "verify_mode_required"))
            if event.direction is None:
                errors.append(_error("direction", "direction_required"))
        if errors:
            return None, EventRefusal(index=index, serial=event.serial, errors=errors)
        assert door_id is not None
        return _Candidate(index, event, doors[door_id]), None

    def _fill_gap(self, conn: Connection, terminal_id: str, serial: int, now: datetime) -> int:
        """A late event inside a recorded gap: one fewer possibly lost (1), else 0."""
        gap = conn.execute(
            select(store.serial_gaps).where(
                and_(
                    G.terminal_id == terminal_id,
                    G.closed_at.is_(None),
                    G.first_serial <= serial,
                    G.last_serial >= serial,
                )
            )
        ).first()
        if gap is None:
            return 0
        recovered = gap.recovered + 1
        values: dict[str, Any] = {"recovered": recovered}
        if recovered >= gap.last_serial - gap.first_serial + 1:
            values["closed_at"] = now
        conn.execute(update(store.serial_gaps).where(G.id == gap.id).values(**values))
        return 1

    # ---------------------------------------------------------------- refusals

    def refuse_whole(
        self, terminal: TerminalRef | None, channel: str, source: str, reason: str, body: bytes
    ) -> None:
        """A body that is not events at all: kept, counted against the terminal if known, announced."""
        now = self.deps.clock.now()
        refusal = EventRefusal(index=0, serial=None, errors=[_error("body", reason)])
        previous = None
        with self.deps.db.write() as conn:
            excerpt = body[:EXCERPT_CHARS].decode("utf-8", "replace")
            conn.execute(
                insert(store.event_refusals).values(
                    id=new_id(),
                    terminal_id=terminal.id if terminal else None,
                    channel=channel,
                    source=source[:300],
                    serial=None,
                    reasons=[reason],
                    excerpt=excerpt,
                    received_at=now,
                )
            )
            if terminal is not None:
                state = conn.execute(
                    select(TM.events_refused, TM.last_refusal_at)
                    .where(TM.id == terminal.id)
                    .with_for_update()
                ).one()
                previous = state.last_refusal_at
                conn.execute(
                    update(store.terminals)
                    .where(TM.id == terminal.id)
                    .values(
                        events_refused=state.events_refused + 1,
                        last_refusal_reason=reason,
                        last_refusal_at=now,
                        last_seen_at=now,
                    )
                )
            refused = self._refused_event(terminal, [refusal], channel, source=source)
            store_events(conn, [refused])
        if self.deps.relay is not None:
            self.deps.relay.notify([refused])
        log.warning(
            "door event message refused",
            extra={"terminal_id": terminal.id if terminal else None, "reason": reason, "source": source},
        )
        if terminal is not None:
            self._tell_supervisor(terminal, NoticeKind.TERMINAL_EVENTS_REFUSED, {"count": 1}, previous, now)

    def _store_refusals(
        self,
        conn: Connection,
        terminal_id: str,
        channel: str,
        source: str,
        items: list[Any],
        refused: list[EventRefusal],
        now: datetime,
    ) -> None:
        rows = []
        for refusal in refused:
            item = items[refusal.index] if refusal.index < len(items) else None
            rows.append(
                {
                    "id": new_id(),
                    "terminal_id": terminal_id,
                    "channel": channel,
                    "source": source[:300],
                    "serial": refusal.serial,
                    "reasons": [e["reason"] for e in refusal.errors],
                    "excerpt": json.dumps(item, default=str, ensure_ascii=False)[:EXCERPT_CHARS],
                    "received_at": now,
                }
            )
        conn.execute(insert(store.event_refusals), rows)

    @staticmethod
    def _refused_event(
        terminal: TerminalRef | None, refused: list[EventRefusal], channel: str, source: str = ""
    ) -> Event:
        return Event(
            "access.door_event.refused",
            {
                "terminal_id": terminal.id if terminal else None,
                "facility_id": terminal.facility_id if terminal else None,
                "channel": channel,
                "source": source,
                "count": len(refused),
                "reasons": sorted({e["reason"] for r in refused for e in r.errors}),
                "serials": [r.serial for r in refused if r.serial is not None][:100],
            },
            key=terminal.id if terminal else "unattributed",
        )

    def _last_gap_before(self, terminal_id: str, now: datetime) -> datetime | None:
        with self.deps.db.read() as conn:
            return conn.execute(
                select(G.detected_at)
                .where(and_(G.terminal_id == terminal_id, G.detected_at < now))
                .order_by(G.detected_at.desc())
                .limit(1)
            ).scalar()

    def _tell_supervisor(
        self,
        terminal: TerminalRef,
        kind: NoticeKind,
        params: dict[str, Any],
        previous: datetime | None,
        now: datetime,
    ) -> None:
        """The facility supervisor hears of a failing terminal at once, then at most hourly."""
        if self.inbox is None or (previous is not None and now - previous < NOTICE_INTERVAL):
            return
        try:
            with self.deps.uow(system_actor("door-events")) as uow:
                uow.audit(
                    f"terminal.{kind.value}",
                    object_type="door_terminal",
                    object_id=terminal.id,
                    scope=terminal.facility_id,
                    details=params,
                )
                self.inbox.deliver(
                    uow,
                    node_id=terminal.facility_id,
                    roles=["facility_supervisor"],
                    kind=kind,
                    params={"terminal": terminal.name, **params},
                    ref_type="door_terminal",
                    ref_id=terminal.id,
                    severity="yellow",
                )
                uow.commit()
        except Exception:
            log.exception("could not tell the facility supervisor about a failing door terminal")
