"""The evaluator: event-time windows kept up to date one fact at a time, without I/O.

Facts are kept per facility and local day (loaded from the access wing when a day is
first needed). Each rule's windows hold the ids of the facts each measure counts:

- a ``day`` window per rule, group and local day gains an event or operation as it
  arrives (an operation that changes or is cancelled moves out of the windows it left);
- a ``sliding`` window is recomputed for its group and day when an event falls in it:
  the window holds at any moment ending with one of its events where the condition held;
- a ``procedure`` window per rule and operation gains the events that fall inside its
  joined operations' ranges, and is rebuilt when an operation nearby changes.

Windows are evaluated on event time. A window whose rule says ``at_close`` says nothing
until the clock passes its end plus the grace for late events; after that any fact that
falls inside it (a late event, an operation moved) evaluates it again at once. What the
engine returns are changes to the alerts it has raised: fire (new or new evidence) or
resolve; the caller stores them and then confirms them with ``settled``.
"""

from __future__ import annotations

import heapq
import logging
import string
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from wardwatch.access.model import day_bounds, local_day
from wardwatch.alerts.model import MAX_EVENT_IDS, AlertSignal, fingerprint
from wardwatch.rules.condition import ConditionError
from wardwatch.rules.facts import EventFact, IncidentFact, ProcedureFact, RegisterBook
from wardwatch.rules.fields import Source
from wardwatch.rules.loader import RuleSet
from wardwatch.rules.spec import Measure, Rule, WindowKind

log = logging.getLogger(__name__)

NEAR_DAYS = 1
"""Days either side of a fact's own day whose windows it may fall in (anchors reach 12 h)."""


class FactSource(Protocol):
    """Where the engine reads what it has not seen on the bus: the access wing."""

    def place(self, facility_id: str) -> tuple[str, str] | None:
        """(register chain path, time zone) of a facility."""
        ...

    def book(self, facility_id: str) -> RegisterBook: ...

    def forget_register(self, node_id: str) -> None:
        """An authority's register changed: what was read of it is stale."""
        ...

    def days(
        self, facility_id: str, days: Sequence[date], book: RegisterBook, timezone: str, *, incidents: bool
    ) -> tuple[list[EventFact], list[ProcedureFact], list[IncidentFact]]:
        """The door events, operations and (if asked) camera incidents of these local days."""
        ...

    def incident(self, incident_id: str, timezone: str) -> IncidentFact | None:
        """One camera incident as it stands now (None if there is no such incident)."""
        ...


@dataclass(frozen=True)
class Fire:
    fingerprint: str
    signal: AlertSignal
    digest: tuple[Any, ...]

    @property
    def facility_id(self) -> str:
        return self.signal.facility_id


@dataclass(frozen=True)
class Resolve:
    fingerprint: str
    facility_id: str
    at: datetime


Change = Fire | Resolve


@dataclass(frozen=True)
class Raised:
    """An alert this engine holds firing: whose it is, and the evidence last stored."""

    facility_id: str
    rule_id: str
    day: str
    digest: tuple[Any, ...] | None


WindowKey = tuple[str, tuple[str, ...], str]
"""(rule id, group values, local day or operation id)."""


@dataclass
class Window:
    rule: Rule
    key: WindowKey
    day: date
    labels: dict[str, str]
    start: datetime
    end: datetime
    procedure: ProcedureFact | None = None
    incident: IncidentFact | None = None
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    """measure -> {fact id: the distinct value, or None for a count}."""
    sliding: tuple[dict[str, int], list[str], datetime] | None = None
    """For a sliding window: the worst measures, the evidence and when it first held."""

    def measures(self) -> dict[str, int]:
        out = {}
        for m in self.rule.measures:
            members = self.members.get(m.name, {})
            out[m.name] = len(set(members.values())) if m.distinct else len(members)
        return out


@dataclass
class FacilityState:
    facility_id: str
    path: str
    timezone: str
    book: RegisterBook
    events: dict[str, EventFact] = field(default_factory=dict)
    events_by_day: dict[date, list[EventFact]] = field(default_factory=lambda: defaultdict(list))
    procedures: dict[str, ProcedureFact] = field(default_factory=dict)
    procedures_by_day: dict[date, set[str]] = field(default_factory=lambda: defaultdict(set))
    loaded: set[date] = field(default_factory=set)
    windows: dict[WindowKey, Window] = field(default_factory=dict)
    windows_by_day: dict[date, set[WindowKey]] = field(default_factory=lambda: defaultdict(set))
    procedure_windows: dict[str, set[WindowKey]] = field(default_factory=lambda: defaultdict(set))
    incidents: dict[str, IncidentFact] = field(default_factory=dict)
    incidents_by_day: dict[date, set[str]] = field(default_factory=lambda: defaultdict(set))
    incident_windows: dict[str, set[WindowKey]] = field(default_factory=lambda: defaultdict(set))

    def events_between(self, lo: datetime, hi: datetime) -> Iterable[EventFact]:
        """Events with lo <= time <= hi (among the loaded days)."""
        day = lo.astimezone(UTC).date() - timedelta(days=1)
        last = hi.astimezone(UTC).date() + timedelta(days=1)
        while day <= last:
            for fact in self.events_by_day.get(day, ()):
                if lo <= fact.time <= hi:
                    yield fact
            day += timedelta(days=1)


class Engine:
    def __init__(
        self,
        rules: RuleSet,
        source: FactSource,
        clock: Callable[[], datetime],
        *,
        grace: timedelta = timedelta(minutes=2),
    ) -> None:
        self.rules = rules
        self.source = source
        self.clock = clock
        self.grace = grace
        self.facilities: dict[str, FacilityState] = {}
        self.raised: dict[str, Raised] = {}
        self._due: list[tuple[datetime, str, WindowKey]] = []
        self._broken: set[str] = set()
        self._batch: dict[str, Change] = {}
        self._gathering = False
        self.rules_on_incidents = tuple(r for r in rules.rules if r.window == WindowKind.INCIDENT)
        self.rules_on_procedures = tuple(
            r
            for r in rules.rules
            if r.window == WindowKind.PROCEDURE or any(m.source == Source.PROCEDURES for m in r.measures)
        )
        """Rules whose windows an operation's change can alter."""
        """Rules with incident windows: without any, incidents are not even read."""

    def _note(self, change: Change) -> None:
        """Collect a change of this call; a later verdict on the same alert replaces it."""
        if isinstance(change, Resolve) and change.fingerprint not in self.raised:
            self._batch.pop(change.fingerprint, None)
            return
        self._batch[change.fingerprint] = change

    def _firing(self, fp: str) -> Raised | None:
        pending = self._batch.get(fp)
        if isinstance(pending, Fire):
            return Raised(pending.signal.facility_id, pending.signal.rule_id, "", pending.digest)
        if isinstance(pending, Resolve):
            return None
        return self.raised.get(fp)

    def _take(self, _changes: object = None) -> list[Change]:
        if self._gathering:
            return []  # kept for ``gathered``: later verdicts on the same alert replace these
        taken, self._batch = list(self._batch.values()), {}
        return taken

    @contextmanager
    def gathered(self) -> Iterator[list[Change]]:
        """The changes of several calls, handed over together (filled when the block ends).

        A burst of events (a hundred clinics' doors at once) is judged as if each verdict
        had been stored before the next event, and stored once: the last verdict on each
        alert, and nothing for an alert raised and cleared within the burst.
        """
        out: list[Change] = []
        self._gathering = True
        try:
            yield out
        finally:
            self._gathering = False
            out.extend(self._take())

    # ---------------------------------------------------------------- what is firing

    def adopt(self, fingerprint_: str, facility_id: str, rule_id: str, day: str) -> None:
        """An alert the store says is firing (at start): its windows will say if it still holds.

        One this engine already stored (events handled before the start caught up) keeps its
        evidence: forgetting it would make every later verdict look new.
        """
        if fingerprint_ not in self.raised:
            self.raised[fingerprint_] = Raised(facility_id, rule_id, day, None)

    def settled(self, changes: Iterable[Change]) -> None:
        """The caller stored these changes: remember them as the engine's own state."""
        for change in changes:
            if isinstance(change, Fire):
                signal = change.signal
                self.raised[change.fingerprint] = Raised(
                    signal.facility_id, signal.rule_id, signal.labels.get("day", ""), change.digest
                )
            else:
                self.raised.pop(change.fingerprint, None)

    # ---------------------------------------------------------------- facilities and days

    def facility(self, facility_id: str) -> FacilityState | None:
        state = self.facilities.get(facility_id)
        if state is None:
            place = self.source.place(facility_id)
            if place is None:
                return None
            state = FacilityState(facility_id, place[0], place[1], self.source.book(facility_id))
            self.facilities[facility_id] = state
        return state

    def _ensure(self, state: FacilityState, day: date) -> list[date]:
        """Load the days around ``day`` not loaded yet; the days whose windows must be rebuilt."""
        fresh = [
            day + timedelta(days=offset)
            for offset in range(-NEAR_DAYS, NEAR_DAYS + 1)
            if day + timedelta(days=offset) not in state.loaded
        ]
        if not fresh:
            return []
        events, procedures, incidents = self.source.days(
            state.facility_id, fresh, state.book, state.timezone, incidents=bool(self.rules_on_incidents)
        )
        state.loaded.update(fresh)
        for fact in events:
            self._store_event(state, fact)
        for proc in procedures:
            self._store_procedure(state, proc)
        for incident in incidents:
            self._store_incident(state, incident)
        return fresh

    def _store_incident(self, state: FacilityState, incident: IncidentFact) -> None:
        before = state.incidents.get(incident.id)
        if before is not None:
            state.incidents_by_day[before.local_date].discard(incident.id)
        state.incidents[incident.id] = incident
        state.incidents_by_day[incident.local_date].add(incident.id)

    def _store_event(self, state: FacilityState, fact: EventFact) -> bool:
        if fact.id in state.events:
            return False
        state.events[fact.id] = fact
        state.events_by_day[fact.local_date].append(fact)
        return True

    def _store_procedure(self, state: FacilityState, proc: ProcedureFact) -> ProcedureFact | None:
        before = state.procedures.get(proc.id)
        if before is not None:
            state.procedures_by_day[before.local_date].discard(proc.id)
        state.procedures[proc.id] = proc
        state.procedures_by_day[proc.local_date].add(proc.id)
        return before

    def reload(self, facility_id: str) -> list[Change]:
        """Forget what is held of a facility and read it again (the register changed)."""
        old = self.facilities.pop(facility_id, None)
        state = self.facility(facility_id)
        if state is None or old is None:
            return []
        days: set[date] = set()
        for day in sorted(old.loaded):
            if day in state.loaded:
                continue
            days.update(self._ensure(state, day))
        return self._take(self._rebuild(state, days))

    def load(self, state: FacilityState, days: Iterable[date]) -> list[Change]:
        """Load these days (and their neighbours) and evaluate their windows."""
        fresh: set[date] = set()
        for day in sorted(days):
            fresh.update(self._ensure(state, day))
        near = {d + timedelta(days=o) for d in fresh for o in range(-NEAR_DAYS, NEAR_DAYS + 1)}
        return self._take(self._rebuild(state, near & state.loaded))

    def forget_before(self, day: date) -> None:
        """Drop facts and windows of days before ``day`` (a late fact loads them again)."""
        for state in self.facilities.values():
            for old in [d for d in state.loaded if d < day]:
                state.loaded.discard(old)
                for fact in state.events_by_day.pop(old, []):
                    state.events.pop(fact.id, None)
                for proc_id in state.procedures_by_day.pop(old, set()):
                    state.procedures.pop(proc_id, None)
                    state.procedure_windows.pop(proc_id, None)
                for incident_id in state.incidents_by_day.pop(old, set()):
                    state.incidents.pop(incident_id, None)
                    state.incident_windows.pop(incident_id, None)
                for key in state.windows_by_day.pop(old, set()):
                    state.windows.pop(key, None)

    # ---------------------------------------------------------------- facts arriving

    def on_event(self, facility_id: str, make: Callable[[FacilityState], EventFact]) -> list[Change]:
        """A door event was accepted (``make`` builds its fact with the facility's register)."""
        state = self.facility(facility_id)
        if state is None:
            return []
        fact = make(state)
        fresh = self._ensure(state, fact.local_date)
        if fresh:
            near = {d + timedelta(days=o) for d in fresh for o in range(-NEAR_DAYS, NEAR_DAYS + 1)}
            self._rebuild(state, near & state.loaded)
            if self._store_event(state, fact):
                self._add_event(state, fact)
            return self._take()
        if not self._store_event(state, fact):
            return []  # a redelivery: nothing new
        return self._take(self._add_event(state, fact))

    def on_procedure(self, facility_id: str, make: Callable[[FacilityState], ProcedureFact]) -> list[Change]:
        """An operation was created or changed (a cancellation is a change of status)."""
        state = self.facility(facility_id)
        if state is None:
            return []
        proc = make(state)
        fresh = set(self._ensure(state, proc.local_date))
        days = set(fresh)
        before = self._store_procedure(state, proc)
        if before is not None:
            days.add(before.local_date)
        days.add(proc.local_date)
        near = {d + timedelta(days=o) for d in days for o in range(-NEAR_DAYS, NEAR_DAYS + 1)}
        loaded = {d + timedelta(days=o) for d in fresh for o in range(-NEAR_DAYS, NEAR_DAYS + 1)}
        # Days just read need every window; on the others only rules that count operations
        # can change (rebuilding a busy day's door-event windows too cost ms per operation).
        self._rebuild(state, loaded & state.loaded)
        self._rebuild(state, (near - loaded) & state.loaded, self.rules_on_procedures)
        return self._take()

    def on_incident(
        self, facility_id: str, make: Callable[[FacilityState], IncidentFact | None]
    ) -> list[Change]:
        """A camera incident opened, changed (recovered, a fallback recorded) or closed."""
        state = self.facility(facility_id)
        if state is None or not self.rules_on_incidents:
            return []
        incident = make(state)
        if incident is None:
            return []
        fresh = self._ensure(state, incident.local_date)
        if fresh:
            near = {d + timedelta(days=o) for d in fresh for o in range(-NEAR_DAYS, NEAR_DAYS + 1)}
            self._rebuild(state, near & state.loaded)
        self._store_incident(state, incident)
        # Only this incident's windows are touched: nothing else counts incidents.
        for key in state.incident_windows.pop(incident.id, set()):
            window = state.windows.pop(key, None)
            if window is not None:
                state.windows_by_day[window.day].discard(key)
        for rule in self.rules_on_incidents:
            window = self._incident_window(state, rule, incident)
            if window is not None:
                self._evaluate(state, window)
        return self._take()

    def tick(self) -> list[Change]:
        """Evaluate the windows whose end (plus grace) the clock has passed."""
        now = self.clock()
        changes: list[Change] = []
        while self._due and self._due[0][0] <= now:
            _, facility_id, key = heapq.heappop(self._due)
            state = self.facilities.get(facility_id)
            window = state.windows.get(key) if state else None
            if state is None or window is None or window.end + self.grace > now:
                continue
            changes += self._evaluate(state, window)
        return self._take(changes)

    # ---------------------------------------------------------------- incremental updates

    def _add_event(self, state: FacilityState, fact: EventFact) -> list[Change]:
        touched: dict[WindowKey, Window] = {}
        for rule in self.rules.rules:
            matching = [m for m in rule.event_measures if _takes(m, fact)]
            if not matching:
                continue
            if rule.window == WindowKind.DAY:
                window = self._day_window(state, rule, fact.local_date, fact.fields)
                for m in matching:
                    window.members.setdefault(m.name, {})[fact.id] = _value(m, fact.fields)
                touched[window.key] = window
            elif rule.window == WindowKind.SLIDING:
                for window in self._slide(state, rule, fact):
                    touched[window.key] = window
            else:
                for window in self._procedure_windows_near(state, rule, fact.local_date):
                    if self._join(state, window, matching, fact):
                        touched[window.key] = window
        changes: list[Change] = []
        for window in touched.values():
            changes += self._evaluate(state, window)
        return changes

    def _join(self, state: FacilityState, window: Window, measures: list[Measure], fact: EventFact) -> bool:
        added = False
        for m in measures:
            if _joined(state, window, m, fact):
                window.members.setdefault(m.name, {})[fact.id] = _value(m, fact.fields)
                added = True
        return added

    def _procedure_windows_near(self, state: FacilityState, rule: Rule, day: date) -> list[Window]:
        found = []
        for offset in range(-NEAR_DAYS, NEAR_DAYS + 1):
            for proc_id in state.procedures_by_day.get(day + timedelta(days=offset), ()):
                for key in state.procedure_windows.get(proc_id, ()):
                    if key[0] == rule.id and key in state.windows:
                        found.append(state.windows[key])
        return found

    # ---------------------------------------------------------------- windows

    def _day_window(self, state: FacilityState, rule: Rule, day: date, fields: dict[str, Any]) -> Window:
        group = tuple(_label(fields[g]) for g in rule.group_by)
        key: WindowKey = (rule.id, group, day.isoformat())
        window = state.windows.get(key)
        if window is None:
            start, end = day_bounds(day, state.timezone)
            labels = {"day": day.isoformat(), **dict(zip(rule.group_by, group, strict=True))}
            window = Window(rule, key, day, labels, start, end)
            self._add_window(state, window)
        return window

    def _add_window(self, state: FacilityState, window: Window) -> None:
        state.windows[window.key] = window
        state.windows_by_day[window.day].add(window.key)
        if window.procedure is not None:
            state.procedure_windows[window.procedure.id].add(window.key)
        if window.incident is not None:
            state.incident_windows[window.incident.id].add(window.key)
        if window.rule.at_close:
            heapq.heappush(self._due, (window.end + self.grace, state.facility_id, window.key))

    def _slide(self, state: FacilityState, rule: Rule, fact: EventFact) -> list[Window]:
        """Recompute the sliding windows of the fact's group on the days it reaches."""
        assert rule.length is not None
        group = tuple(_label(fact.fields[g]) for g in rule.group_by)
        days = {fact.local_date, local_day(fact.time + rule.length, state.timezone)}
        return [self._slide_day(state, rule, group, day) for day in sorted(days)]

    def _slide_day(self, state: FacilityState, rule: Rule, group: tuple[str, ...], day: date) -> Window:
        assert rule.length is not None
        key: WindowKey = (rule.id, group, day.isoformat())
        window = state.windows.get(key)
        if window is None:
            start, end = day_bounds(day, state.timezone)
            labels = {"day": day.isoformat(), **dict(zip(rule.group_by, group, strict=True))}
            window = Window(rule, key, day, labels, start, end)
            self._add_window(state, window)
        lo = window.start - rule.length
        candidates = [
            f
            for f in state.events_between(lo, window.end)
            if tuple(_label(f.fields[g]) for g in rule.group_by) == group
            and any(_takes(m, f) for m in rule.measures)
        ]
        candidates.sort(key=lambda f: (f.time, f.id))
        worst: dict[str, int] | None = None
        evidence: set[str] = set()
        first: datetime | None = None
        for index, anchor in enumerate(candidates):
            if not window.start <= anchor.time < window.end:
                continue
            inside = [f for f in candidates[: index + 1] if anchor.time - rule.length < f.time <= anchor.time]
            members = {
                m.name: {f.id: _value(m, f.fields) for f in inside if _takes(m, f)} for m in rule.measures
            }
            measures = {
                m.name: len(set(members[m.name].values())) if m.distinct else len(members[m.name])
                for m in rule.measures
            }
            if not self._holds(rule, measures):
                continue
            worst = measures if worst is None else {k: max(v, worst[k]) for k, v in measures.items()}
            evidence.update(f.id for f in inside)
            first = first or anchor.time
        window.sliding = (worst, sorted(evidence), first) if worst is not None and first else None
        return window

    def _rebuild(
        self, state: FacilityState, days: set[date], only: tuple[Rule, ...] | None = None
    ) -> list[Change]:
        """Recompute every window of these days (of ``only`` these rules) from the facts held,
        then evaluate them."""
        rules = self.rules.rules if only is None else only
        ids = {r.id for r in rules}
        for day in days:
            keys = state.windows_by_day.get(day, set())
            gone = {k for k in keys if k[0] in ids}
            keys -= gone
            if not keys:
                state.windows_by_day.pop(day, None)
            for key in gone:
                window = state.windows.pop(key, None)
                if window is not None and window.procedure is not None:
                    state.procedure_windows[window.procedure.id].discard(key)
                if window is not None and window.incident is not None:
                    state.incident_windows[window.incident.id].discard(key)
        touched: dict[WindowKey, Window] = {}
        for day in sorted(days):
            events = list(state.events_by_day.get(day, ()))
            procedures = [state.procedures[p] for p in sorted(state.procedures_by_day.get(day, ()))]
            for rule in rules:
                if rule.window == WindowKind.DAY:
                    for proc in procedures:
                        for m in rule.procedure_measures:
                            if m.matches(proc.fields):
                                window = self._day_window(state, rule, day, proc.fields)
                                window.members.setdefault(m.name, {})[proc.id] = _value(m, proc.fields)
                                touched[window.key] = window
                    for fact in events:
                        for m in rule.event_measures:
                            if _takes(m, fact):
                                window = self._day_window(state, rule, day, fact.fields)
                                window.members.setdefault(m.name, {})[fact.id] = _value(m, fact.fields)
                                touched[window.key] = window
                elif rule.window == WindowKind.SLIDING:
                    groups = {
                        tuple(_label(f.fields[g]) for g in rule.group_by)
                        for f in events
                        if any(_takes(m, f) for m in rule.measures)
                    }
                    for group in groups:
                        window = self._slide_day(state, rule, group, day)
                        touched[window.key] = window
                elif rule.window == WindowKind.INCIDENT:
                    for incident_id in sorted(state.incidents_by_day.get(day, ())):
                        window = self._incident_window(state, rule, state.incidents[incident_id])
                        if window is not None:
                            touched[window.key] = window
                else:
                    for proc in procedures:
                        window = self._procedure_window(state, rule, proc)
                        if window is not None:
                            touched[window.key] = window
        changes: list[Change] = []
        for window in touched.values():
            changes += self._evaluate(state, window)
        return changes + self._orphans(state, days, ids)

    def _procedure_window(self, state: FacilityState, rule: Rule, proc: ProcedureFact) -> Window | None:
        assert rule.takes_procedure is not None and rule.start is not None and rule.end is not None
        if not rule.takes_procedure(proc.fields):
            return None
        group = tuple(_label(proc.fields[g]) for g in rule.group_by)
        key: WindowKey = (rule.id, group, proc.id)
        labels = {
            "day": proc.local_date.isoformat(),
            "procedure_id": proc.id,
            "procedure_ref": _label(proc.fields["procedure_ref"]),
            **dict(zip(rule.group_by, group, strict=True)),
        }
        start, end = rule.start.at(proc.start, proc.end), rule.end.at(proc.start, proc.end)
        window = Window(rule, key, proc.local_date, labels, start, max(start, end), procedure=proc)
        for m in rule.procedure_measures:
            lo = (m.start or rule.start).at(proc.start, proc.end)
            hi = (m.end or rule.end).at(proc.start, proc.end)
            window.members[m.name] = {
                q.id: _value(m, q.fields)
                for q in _procedures_near(state, proc.local_date)
                if m.matches(q.fields) and q.start < hi and lo < q.end
            }
        for m in rule.event_measures:
            joined = _join_targets(state, window, m)
            if not joined:
                continue
            lo = min((m.start or rule.start).at(q.start, q.end) for q in joined)
            hi = max((m.end or rule.end).at(q.start, q.end) for q in joined)
            members = window.members.setdefault(m.name, {})
            for fact in state.events_between(lo, hi):
                if _takes(m, fact) and _joined(state, window, m, fact):
                    members[fact.id] = _value(m, fact.fields)
        self._add_window(state, window)
        return window

    def _incident_window(self, state: FacilityState, rule: Rule, incident: IncidentFact) -> Window | None:
        """The incident's first ``open_for``: its measures count it if the camera was still out then."""
        assert rule.takes_incident is not None and rule.length is not None
        if not rule.takes_incident(incident.fields):
            return None
        group = tuple(_label(incident.fields[g]) for g in rule.group_by)
        key: WindowKey = (rule.id, group, incident.id)
        labels = {
            "day": incident.local_date.isoformat(),
            "incident_id": incident.id,
            **dict(zip(rule.group_by, group, strict=True)),
        }
        start, end = incident.start, incident.start + rule.length
        window = Window(rule, key, incident.local_date, labels, start, end, incident=incident)
        outlasted = incident.end is None or incident.end > end
        for m in rule.measures:
            taken = outlasted and m.matches(incident.fields)
            window.members[m.name] = {incident.id: _value(m, incident.fields)} if taken else {}
        self._add_window(state, window)
        return window

    # ---------------------------------------------------------------- verdicts

    def _holds(self, rule: Rule, measures: dict[str, int]) -> bool:
        try:
            return rule.condition.holds(measures)
        except ConditionError as exc:
            if rule.id not in self._broken:
                self._broken.add(rule.id)
                log.error(
                    "a rule's condition failed; the rule cannot raise alerts for these values",
                    extra={"rule_id": rule.id, "error": str(exc), "measures": measures},
                )
            return False

    def _evaluate(self, state: FacilityState, window: Window) -> list[Change]:
        rule = window.rule
        fp = fingerprint(rule.id, state.facility_id, window.labels)
        now = self.clock()
        pending = rule.at_close and now < window.end + self.grace
        measures: dict[str, int]
        evidence: list[str]
        if window.sliding is not None:
            measures, evidence, starts_at = window.sliding
            holds = True
        elif rule.window == WindowKind.SLIDING:
            holds, measures, evidence, starts_at = False, {}, [], window.start
        else:
            measures = window.measures()
            holds = not pending and self._holds(rule, measures)
            evidence, starts_at = self._evidence(state, window)
        if not holds:
            if self._firing(fp) is not None:
                self._note(Resolve(fp, state.facility_id, min(now, window.end)))
            return []
        signal = AlertSignal(
            source="rule",
            rule_id=rule.id,
            rule_version=rule.version,
            rule_hash=rule.hash,
            severity=rule.severity,
            facility_id=state.facility_id,
            labels=dict(window.labels),
            starts_at=starts_at.astimezone(UTC),
            measures=dict(measures),
            event_ids=evidence[:MAX_EVENT_IDS],
            titles=_titles(rule, window.labels, measures),
        )
        digest = (
            rule.version,
            rule.hash,
            tuple(sorted(measures.items())),
            tuple(signal.event_ids),
            starts_at,
        )
        raised = self._firing(fp)
        if raised is not None and raised.digest == digest:
            return []
        self._note(Fire(fp, signal, digest))
        return []

    def _evidence(self, state: FacilityState, window: Window) -> tuple[list[str], datetime]:
        ids: set[str] = set()
        times: list[datetime] = []
        for m in window.rule.measures:
            for item in window.members.get(m.name, {}):
                if m.on_events:
                    ids.add(item)
                    fact = state.events.get(item)
                    if fact is not None:
                        times.append(fact.time)
                elif m.source == Source.INCIDENTS:
                    ids.add(f"incident:{item}")
                else:
                    ids.add(f"procedure:{item}")
        if window.procedure is not None:
            ids.add(f"procedure:{window.procedure.id}")
        if window.rule.at_close:
            starts_at = window.end
        elif times:
            starts_at = min(times)
        elif window.procedure is not None:
            starts_at = window.procedure.start
        else:
            procs = [
                p
                for i in ids
                if i.startswith("procedure:") and (p := state.procedures.get(i.split(":", 1)[1])) is not None
            ]
            starts_at = min((p.start for p in procs), default=window.start)

        # Events first, in time order; then the operations the window is about.
        def when(item: str) -> tuple[datetime, str]:
            fact = state.events.get(item)
            return (fact.time if fact else window.start, item)

        others = ("procedure:", "incident:")
        events = sorted((i for i in ids if not i.startswith(others)), key=when)
        return events + sorted(i for i in ids if i.startswith(others)), starts_at

    def _orphans(self, state: FacilityState, days: set[date], rule_ids: set[str]) -> list[Change]:
        """Alerts of these rules raised for windows of these days that no longer exist."""
        wanted = {d.isoformat() for d in days}
        alive = {
            fingerprint(w.rule.id, state.facility_id, w.labels)
            for key, w in state.windows.items()
            if w.day.isoformat() in wanted
        }
        now = self.clock()
        held = [(fp, r.facility_id, r.day, r.rule_id) for fp, r in self.raised.items()]
        # An alert fired earlier in a gathered batch is not stored yet, but it is raised all
        # the same: left out, a window gone later in the batch would leave its Fire standing.
        held += [
            (fp, c.signal.facility_id, c.signal.labels.get("day", ""), c.signal.rule_id)
            for fp, c in self._batch.items()
            if isinstance(c, Fire) and fp not in self.raised
        ]
        for fp, facility_id, day, rule_id in held:
            if facility_id == state.facility_id and day in wanted and rule_id in rule_ids and fp not in alive:
                self._note(Resolve(fp, state.facility_id, now))
        return []


def _procedures_near(state: FacilityState, day: date) -> list[ProcedureFact]:
    found = []
    for offset in range(-NEAR_DAYS, NEAR_DAYS + 1):
        for proc_id in state.procedures_by_day.get(day + timedelta(days=offset), ()):
            found.append(state.procedures[proc_id])
    return found


def _join_targets(state: FacilityState, window: Window, m: Measure) -> list[ProcedureFact]:
    if window.procedure is None:
        return []
    if m.join is None:
        return [window.procedure]
    return [state.procedures[p] for p in window.members.get(m.join, {}) if p in state.procedures]


def _joined(state: FacilityState, window: Window, m: Measure, fact: EventFact) -> bool:
    rule = window.rule
    assert rule.start is not None and rule.end is not None
    for q in _join_targets(state, window, m):
        lo = (m.start or rule.start).at(q.start, q.end)
        hi = (m.end or rule.end).at(q.start, q.end)
        if lo <= fact.time <= hi and all(fact.fields[a] == q.fields[b] for a, b in m.on):
            return True
    return False


def _takes(m: Measure, fact: EventFact) -> bool:
    if m.source == Source.PROCEDURES:
        return False
    if m.source == Source.ENTRIES and not fact.is_entry:
        return False
    return m.matches(fact.fields)


def _value(m: Measure, fields: dict[str, Any]) -> Any:
    return fields[m.distinct] if m.distinct else None


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)[:200]


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def _titles(rule: Rule, labels: dict[str, str], measures: dict[str, int]) -> dict[str, str]:
    values = _Blank({**labels, **{k: str(v) for k, v in measures.items()}})
    formatter = string.Formatter()
    return {locale: formatter.vformat(text, (), values) for locale, text in rule.titles.items()}
