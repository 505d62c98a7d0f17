"""The rule engine at work: bus events in, alerts out, windows closed as the clock moves.

One consumer (``rules``) takes the access wing's events in order: accepted door events
(late ones included), late-event notices, schedule changes and register imports, and the
health wing's camera incidents (opened, recurred, recovered, updated, closed). Each
is turned into a fact, the engine updates the windows it falls in, and the alerts that
changed are fired or resolved through the alerts wing inside one unit of work, so an
alert exists exactly when the evaluation that raised it committed. A periodic tick
closes windows whose end (plus the grace for late events) the injected clock passed.

Duplicates are dropped by event id in memory rather than in a table: the engine's state
is rebuilt from the stored facts after a restart, and firing an unchanged alert writes
nothing, so redelivery cannot raise an alert twice. At start, the alerts still firing are
adopted, the days within ``lookback_days`` of every facility with operations are loaded
and evaluated, and the rule set in force (ids, versions, hashes) is written to the audit
log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wardwatch.access.model import Anaesthesia, ProcedureRecord, ProcedureStatus
from wardwatch.access.wing import Access
from wardwatch.alerts.service import AlertService
from wardwatch.health.spans import facilities_with_open_incidents
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.bus import Event, EventBus
from wardwatch.kernel.deps import Deps
from wardwatch.registry.service import RegistryService
from wardwatch.rules.engine import Change, Engine, FacilityState, Fire, Resolve
from wardwatch.rules.facts import event_fact, procedure_fact
from wardwatch.rules.loader import RuleSet
from wardwatch.rules.source import AccessFacts

log = logging.getLogger(__name__)

CONSUMER = "rules"
EVENT_TYPES = (
    "access.door_event.accepted",
    "access.window.stale",
    "access.schedule.changed",
    "access.register.changed",
    "health.incident.opened",
    "health.incident.recurred",
    "health.incident.recovered",
    "health.incident.updated",
    "health.incident.closed",
)
ACTOR = system_actor("rules")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def procedure_record(data: dict[str, Any]) -> ProcedureRecord:
    """An operation as ``access.schedule.changed`` states it."""
    start, end = _time(data["planned_start"]), _time(data["planned_end"])
    assert start is not None and end is not None
    return ProcedureRecord(
        ref=data["ref"],
        room_id=data["room_id"],
        planned_start=start,
        planned_end=end,
        actual_start=_time(data.get("actual_start")),
        actual_end=_time(data.get("actual_end")),
        category=data["category"],
        anaesthesia=Anaesthesia(data["anaesthesia"]),
        lead_surgeon=data["lead_surgeon"],
        anaesthetist=data.get("anaesthetist"),
        status=ProcedureStatus(data["status"]),
    )


class RulesService:
    def __init__(
        self, deps: Deps, access: Access, alerts: AlertService, registry: RegistryService, rules: RuleSet
    ) -> None:
        self.deps = deps
        self.access = access
        self.alerts = alerts
        self.registry = registry
        self.rules = rules
        settings = deps.settings.rules
        self.engine = Engine(
            rules, AccessFacts(access), deps.clock.now, grace=timedelta(seconds=settings.close_grace_s)
        )
        self._lock = threading.RLock()
        self._seen: dict[str, None] = {}
        self._unsettled: set[str] = set()
        """Facilities with a verdict that could not be stored (judged again, see ``_apply``)."""
        self.failures = 0

    # ---------------------------------------------------------------- wiring

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe_batches(CONSUMER, self.handle, self.handle_many, types=list(EVENT_TYPES))

    def start(self) -> None:
        """Adopt the alerts still firing, catch up the recent days, and record the rule set."""
        with self._lock:
            self._record_rule_set()
            self._adopt()
            self._apply(self._catch_up())

    # ---------------------------------------------------------------- events

    def handle(self, event: Event) -> None:
        """One bus event; raises (so the bus retries) only when storing alerts failed."""
        if event.id in self._seen:
            return
        with self._lock:
            changes = self._judge(event)
            self._apply(changes)
            self._seen_now([event])

    def handle_many(self, events: Sequence[Event]) -> None:
        """Events that queued up together: judged in order, their alerts stored in one unit of work.

        Storing an alert takes the database's write turn; a burst of violations (many
        clinics at once) handled one event at a time queued every later event behind a
        transaction each. An event whose judging fails is left unseen and the batch raises
        after the others' alerts are stored, so the bus hands it to ``handle`` again.
        """
        failed = 0
        with self._lock:
            judged: list[Event] = []
            with self.engine.gathered() as changes:
                for event in events:
                    if event.id in self._seen:
                        continue
                    try:
                        self._judge(event)
                    except Exception:
                        failed += 1
                        log.exception("a bus event could not be judged", extra={"event_id": event.id})
                        continue
                    judged.append(event)
            self._apply(changes)
            self._seen_now(judged)
        if failed:
            raise RuntimeError(f"{failed} of {len(events)} events could not be judged")

    def _seen_now(self, events: Sequence[Event]) -> None:
        for event in events:
            self._seen[event.id] = None
        if len(self._seen) > 100_000:
            for key in list(self._seen)[:50_000]:
                self._seen.pop(key, None)

    def _judge(self, event: Event) -> list[Change]:
        """The alert changes one event causes (none yet while the engine gathers a batch)."""
        payload = event.payload
        changes: list[Change] = []
        if event.type == "access.door_event.accepted":
            changes = self.engine.on_event(
                payload["facility_id"], lambda s: event_fact(payload, s.book, s.timezone)
            )
        elif event.type == "access.window.stale":
            changes = self._stale(payload)
        elif event.type == "access.schedule.changed":
            record = procedure_record(payload["procedure"])
            changes = self.engine.on_procedure(
                payload["facility_id"],
                lambda s: procedure_fact(payload["procedure_id"], record, s.book, s.timezone),
            )
        elif event.type.startswith("health.incident."):
            changes = self.engine.on_incident(
                payload["facility_id"], lambda s: self.engine.source.incident(payload["id"], s.timezone)
            )
        elif event.type == "access.register.changed":
            node = payload.get("node_id", "")
            self.engine.source.forget_register(node)
            for state in list(self.engine.facilities.values()):
                if node in state.path.split("/"):
                    changes += self.engine.reload(state.facility_id)
        return changes

    def _stale(self, payload: dict[str, Any]) -> list[Change]:
        """A late event's days: loaded (and so evaluated) if the engine does not hold them."""
        state = self.engine.facility(payload["facility_id"])
        if state is None or payload.get("event_id") in state.events:
            return []
        # The accepted event comes first on the bus; this only matters after a restart in between.
        moment = datetime.fromisoformat(payload["time"])
        return self.engine.on_event(
            state.facility_id,
            lambda s: self._fact_from_store(s, payload["event_id"], moment),
        )

    def _fact_from_store(self, state: FacilityState, event_id: str, moment: datetime) -> Any:
        facts, _, _ = self.engine.source.days(
            state.facility_id,
            [moment.astimezone(_zone(state.timezone)).date()],
            state.book,
            state.timezone,
            incidents=False,
        )
        for fact in facts:
            if fact.id == event_id:
                return fact
        raise LookupError(f"door event {event_id} announced late but not stored")

    def tick(self) -> None:
        """Close the windows that ended; forget facts older than the look-back."""
        with self._lock:
            self._apply(self.engine.tick())
            lookback = self.deps.settings.rules.lookback_days
            self.engine.forget_before(self.deps.clock.now().date() - timedelta(days=lookback + 1))

    # ---------------------------------------------------------------- storing verdicts

    def _apply(self, changes: Sequence[Change]) -> None:
        """Store the verdicts, and again those of facilities whose verdicts could not be stored.

        The engine's windows already hold the facts that led to a verdict, so when storing
        it fails, handling the same event again (the bus retries) finds nothing new: the
        alert would be lost. A facility whose verdict failed is re-judged from the store at
        the next chance (the next event, batch or tick) against what is stored as raised.
        """
        changes = list(changes) + self._rejudged()
        if not changes:
            return
        try:
            self._store(changes)
        except Exception:
            # One bad signal must not hold back the others: store them one by one.
            log.exception("storing rule alerts together failed; storing them one at a time")
            stored = 0
            for change in changes:
                try:
                    self._store([change])
                    stored += 1
                except Exception:
                    self.failures += 1
                    self._unsettled.add(change.facility_id)
                    log.exception(
                        "a rule alert could not be stored; its facility is judged again at the next chance",
                        extra={"fingerprint": change.fingerprint, "change": type(change).__name__},
                    )
            if not stored:
                raise

    def _rejudged(self) -> list[Change]:
        """The verdicts of facilities whose last verdicts could not be stored, judged anew."""
        facilities, self._unsettled = sorted(self._unsettled), set()
        changes: list[Change] = []
        for facility_id in facilities:
            try:
                changes += self.engine.reload(facility_id)
            except Exception:
                self._unsettled.add(facility_id)
                log.exception("a facility could not be judged again", extra={"facility_id": facility_id})
        return changes

    def _store(self, changes: Sequence[Change]) -> None:
        with self.deps.uow(ACTOR) as uow:
            recorded = False
            for change in changes:
                if isinstance(change, Fire):
                    # "unchanged": the store already holds this evidence (an alert adopted at
                    # start and found again); nothing to write, but the engine learns it is stored.
                    fired = self.alerts.fire(uow, change.signal)
                    recorded = fired.change != "unchanged" or recorded
                elif isinstance(change, Resolve):
                    recorded = self.alerts.resolve(uow, change.fingerprint, change.at) or recorded
            if recorded:
                uow.commit()
        self.engine.settled(changes)

    # ---------------------------------------------------------------- start

    def _adopt(self) -> None:
        known = {r.id for r in self.rules.rules}
        gone: list[Change] = []
        with self.deps.db.read() as conn:
            roots = [r.path for r in self.registry.roots(conn)]
            rows = self.alerts.open_alerts(conn, roots)
        for row in rows:
            if row.source != "rule":
                continue
            if row.rule_id not in known:
                log.warning(
                    "an alert of a rule no longer in force is resolved",
                    extra={"rule_id": row.rule_id, "alert_id": row.id},
                )
                gone.append(Resolve(row.fingerprint, row.facility_id, self.deps.clock.now()))
                continue
            self.engine.adopt(row.fingerprint, row.facility_id, row.rule_id, row.day)
        self._apply(gone)

    def _catch_up(self) -> list[Change]:
        today = self.deps.clock.now().date()
        since = today - timedelta(days=self.deps.settings.rules.lookback_days)
        facilities = set(self.access.facilities_with_operations_since(since))
        facilities |= {r.facility_id for r in self.engine.raised.values()}
        if self.engine.rules_on_incidents:
            # An incident still open from before the restart must still be judged (R9).
            with self.deps.db.read() as conn:
                facilities |= set(facilities_with_open_incidents(conn))
        changes: list[Change] = []
        for facility_id in sorted(facilities):
            state = self.engine.facility(facility_id)
            if state is None:
                continue
            days = {since + timedelta(days=n) for n in range((today - since).days + 2)}
            days |= {
                datetime.fromisoformat(r.day).date()
                for r in self.engine.raised.values()
                if r.facility_id == facility_id and r.day
            }
            changes += self.engine.load(state, days)
        return changes

    def _record_rule_set(self) -> None:
        with self.deps.uow(ACTOR) as uow:
            uow.audit(
                "rules.activate",
                object_type="rule_set",
                object_id="rules",
                details={
                    "rules": self.rules.summary(),
                    "disabled": [{"id": r.id, "version": r.version} for r in self.rules.disabled],
                },
            )
            uow.commit()
        log.info("rules in force", extra={"rules": [f"{r.id}@{r.version}" for r in self.rules.rules]})


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
