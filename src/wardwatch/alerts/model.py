"""The alert domain, without I/O: signals, fingerprints, matchers, suppression and grouping.

An ``AlertSignal`` is the only way into the wing: a rule (or a camera incident, storage,
a failing notifier) says "this condition holds, with this evidence". The signal's
fingerprint (rule, facility, group-by labels) names the alert it creates or updates, so
the same breach seen again updates one alert instead of paging people twice.

Matching follows Alertmanager: every alert has a label set (its own labels plus the
reserved ``source``, ``rule_id``, ``facility_id``, ``severity`` and ``day``), and routes,
silences and inhibition rules select alerts with matchers (``=``, ``!=``, ``=~``, ``!~``;
regular expressions are anchored).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from wardwatch.kernel.errors import Invalid

LOCALES = ("vi", "zh-Hans", "en")


class Severity(StrEnum):
    """The three colours of the Hangzhou programme, lowest first."""

    BLUE = "blue"
    YELLOW = "yellow"
    RED = "red"


SEVERITY_RANK = {Severity.BLUE: 1, Severity.YELLOW: 2, Severity.RED: 3}


class AlertStatus(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


NOTIFICATION_REASONS = ("firing", "resolved", "repeat", "escalation", "fallback")
"""Why a notification is sent; each has ``alerts.reason.<reason>`` in the catalogs."""

RESERVED_LABELS = frozenset({"source", "rule_id", "facility_id", "severity"})
"""Labels every alert carries from its signal's own fields; a signal may not set them."""
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,62}$")
MAX_LABELS = 16
MAX_LABEL_VALUE = 200
MAX_EVENT_IDS = 10_000


@dataclass(frozen=True)
class AlertSignal:
    """A condition that holds now, with the evidence that shows it (see the module doc)."""

    source: str
    rule_id: str
    rule_version: str
    rule_hash: str
    severity: Severity
    facility_id: str
    labels: dict[str, str]
    starts_at: datetime
    measures: dict[str, float | int]
    event_ids: list[str]
    titles: dict[str, str]


def validate_signal(signal: AlertSignal) -> None:
    """Refuse a signal that would store an alert nobody can route, read or trust."""
    problems: list[str] = []
    if not signal.source or len(signal.source) > 20:
        problems.append("source")
    if not signal.rule_id or len(signal.rule_id) > 100:
        problems.append("rule_id")
    if not signal.rule_version or len(signal.rule_version) > 40:
        problems.append("rule_version")
    if not signal.rule_hash or len(signal.rule_hash) > 128:
        problems.append("rule_hash")
    if signal.severity not in SEVERITY_RANK:
        problems.append("severity")
    if not signal.facility_id:
        problems.append("facility_id")
    if signal.starts_at.tzinfo is None or signal.starts_at.utcoffset() != timedelta(0):
        problems.append("starts_at")
    if len(signal.labels) > MAX_LABELS:
        problems.append("labels")
    for name, value in signal.labels.items():
        if (
            name in RESERVED_LABELS
            or not _LABEL_NAME.match(name)
            or not isinstance(value, str)
            or len(value) > MAX_LABEL_VALUE
        ):
            problems.append(f"labels.{name}")
    for name, number in signal.measures.items():
        if not _LABEL_NAME.match(name) or isinstance(number, bool) or not isinstance(number, int | float):
            problems.append(f"measures.{name}")
    if len(signal.event_ids) > MAX_EVENT_IDS or not all(isinstance(e, str) for e in signal.event_ids):
        problems.append("event_ids")
    if any(not (signal.titles.get(locale) or "").strip() for locale in LOCALES):
        problems.append("titles")
    if problems:
        raise Invalid("alert_signal_invalid", params={"fields": ", ".join(problems)})


def fingerprint(rule_id: str, facility_id: str, labels: Mapping[str, str]) -> str:
    """The stable identity of an alert: the same breach, seen again, is the same alert."""
    canonical = json.dumps([rule_id, facility_id, sorted(labels.items())], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def label_set(
    signal_labels: Mapping[str, str], *, source: str, rule_id: str, facility_id: str, severity: str, day: str
) -> dict[str, str]:
    """What routes, silences and inhibition rules see of an alert."""
    labels = dict(signal_labels)
    labels.setdefault("day", day)
    labels.update(source=source, rule_id=rule_id, facility_id=facility_id, severity=severity)
    return labels


def alert_day(labels: Mapping[str, str], starts_at: datetime, tz: tzinfo | None) -> str:
    """The grouping day: the signal's own ``day`` label, else the breach's date where it happened."""
    day = labels.get("day")
    if day:
        return day
    return starts_at.astimezone(tz or UTC).date().isoformat()


# ---------------------------------------------------------------- matchers

_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
MATCH_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager matcher; regular expressions must match the whole value."""

    name: str
    op: str
    value: str
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, name: str, op: str, value: str) -> Matcher:
        if not _LABEL_NAME.match(name):
            raise ValueError(f"matcher label name {name!r} is not valid")
        if op not in MATCH_OPS:
            raise ValueError(f"matcher operator {op!r} is not one of {', '.join(MATCH_OPS)}")
        if len(value) > 1000:
            raise ValueError("matcher value is too long")
        pattern = None
        if op in ("=~", "!~"):
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f"matcher regular expression {value!r} does not compile: {exc}") from exc
        return cls(name, op, value, pattern)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``name="value"``, ``name!="value"``, ``name=~"regex"`` or ``name!~"regex"``."""
        found = _MATCHER.match(text)
        if found is None:
            raise ValueError(f'matcher {text!r} is not of the form name="value" (or !=, =~, !~)')
        value = re.sub(r"\\(.)", r"\1", found.group(3))
        return cls.of(found.group(1), found.group(2), value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._pattern is not None
        hit = self._pattern.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit

    def text(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def all_match(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def matches_everything(matchers: Sequence[Matcher]) -> bool:
    """True when no matcher excludes an alert with no labels at all (Alertmanager refuses those)."""
    return all(m.matches({}) for m in matchers)


# ---------------------------------------------------------------- suppression


@dataclass(frozen=True)
class InhibitRule:
    """An alert matching ``source`` mutes alerts matching ``target`` that agree on ``equal``."""

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True)
class ActiveAlert:
    """What suppression needs to know about one unresolved alert."""

    id: str
    labels: Mapping[str, str]
    node_path: str


@dataclass(frozen=True)
class SilenceRule:
    id: str
    matchers: tuple[Matcher, ...]
    node_path: str
    starts_at: datetime
    ends_at: datetime

    def in_force(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def covers(self, alert: ActiveAlert) -> bool:
        """A silence reaches only alerts of facilities under its own node."""
        return alert.node_path.startswith(self.node_path) and all_match(self.matchers, alert.labels)


def inhibitors(alert: ActiveAlert, sources: Iterable[ActiveAlert], rules: Iterable[InhibitRule]) -> list[str]:
    """Ids of the unresolved alerts that inhibit ``alert`` (an alert never inhibits itself)."""
    found: list[str] = []
    for rule in rules:
        if not all_match(rule.target, alert.labels):
            continue
        for source in sources:
            if source.id == alert.id or source.id in found:
                continue
            if all_match(rule.source, source.labels) and all(
                source.labels.get(name, "") == alert.labels.get(name, "") for name in rule.equal
            ):
                found.append(source.id)
    return found


class InhibitionIndex:
    """``inhibitors`` for many alerts at once: sources indexed by the labels they must share."""

    def __init__(self, rules: Iterable[InhibitRule], active: Iterable[ActiveAlert]) -> None:
        self._rules = tuple(rules)
        alerts = list(active)
        self._sources: list[dict[tuple[str, ...], list[str]]] = []
        for rule in self._rules:
            index: dict[tuple[str, ...], list[str]] = {}
            for source in alerts:
                if all_match(rule.source, source.labels):
                    key = tuple(source.labels.get(name, "") for name in rule.equal)
                    index.setdefault(key, []).append(source.id)
            self._sources.append(index)

    def inhibitors(self, alert: ActiveAlert) -> list[str]:
        found: list[str] = []
        for rule, index in zip(self._rules, self._sources, strict=True):
            if not index or not all_match(rule.target, alert.labels):
                continue
            key = tuple(alert.labels.get(name, "") for name in rule.equal)
            found.extend(i for i in index.get(key, ()) if i != alert.id and i not in found)
        return found


def silencers(alert: ActiveAlert, silences: Iterable[SilenceRule], now: datetime) -> list[str]:
    return [s.id for s in silences if s.in_force(now) and s.covers(alert)]


# ---------------------------------------------------------------- grouping

NotifiedKey = tuple[str, int]
"""(fingerprint, trigger count): a re-triggered alert is news again."""


@dataclass(frozen=True)
class Member:
    """One alert of an aggregation group, as the group flush sees it."""

    id: str
    fingerprint: str
    trigger_count: int
    status: AlertStatus
    suppressed: bool

    @property
    def key(self) -> NotifiedKey:
        return (self.fingerprint, self.trigger_count)


@dataclass(frozen=True)
class FlushDecision:
    """What a group flush sends, and what the notification log holds afterwards."""

    reason: str | None
    """``firing`` (something new), ``repeat`` (nothing new, repeat interval passed), or None."""
    firing: tuple[str, ...]
    resolved: tuple[str, ...]
    notified_after: frozenset[NotifiedKey]
    active: bool
    """Whether the group still has unresolved alerts (and so flushes again later)."""


def decide_flush(
    members: Sequence[Member],
    notified: frozenset[NotifiedKey],
    last_notified_at: datetime | None,
    now: datetime,
    repeat_interval: timedelta,
    send_resolved: bool,
) -> FlushDecision:
    """Alertmanager's notification log, with PagerDuty's acknowledgement on top.

    A group tells its receiver about its unacknowledged, unsuppressed firing alerts when
    one of them is new since the last notification (or re-triggered), about alerts that
    resolved after it was told they fired, and repeats itself once ``repeat_interval``
    passed with firing alerts still unacknowledged. Acknowledged and suppressed alerts
    stay quiet.
    """
    firing = [m for m in members if m.status == AlertStatus.FIRING and not m.suppressed]
    current = frozenset(m.key for m in firing)
    resolved = [m for m in members if m.status == AlertStatus.RESOLVED and m.key in notified]
    # An acknowledged alert stays in the log: when it resolves, the receiver hears of it.
    quiet = frozenset(m.key for m in members if m.status == AlertStatus.ACKNOWLEDGED and m.key in notified)
    active = any(m.status != AlertStatus.RESOLVED for m in members)
    reason: str | None = None
    if current - notified or (resolved and send_resolved):
        reason = "firing" if current - notified else "resolved"
    elif current and (last_notified_at is None or now - last_notified_at >= repeat_interval):
        reason = "repeat"
    if reason is None:
        keep = frozenset(k for k in notified if k in current or k in quiet)
        return FlushDecision(None, (), (), keep, active)
    return FlushDecision(
        reason,
        tuple(m.id for m in firing),
        tuple(m.id for m in resolved) if send_resolved else (),
        current | quiet,
        active,
    )


def group_key(
    route_id: str, group_by: Sequence[str], labels: Mapping[str, str]
) -> tuple[str, dict[str, str]]:
    """The aggregation group of an alert on a route: its id and the labels it groups by."""
    grouped = dict(labels) if "..." in group_by else {name: labels.get(name, "") for name in group_by}
    canonical = json.dumps([route_id, sorted(grouped.items())], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32], grouped


# ---------------------------------------------------------------- escalation


@dataclass(frozen=True)
class EscalationStep:
    after: timedelta
    receiver: str


@dataclass(frozen=True)
class EscalationPolicy:
    """PagerDuty-style levels: unacknowledged for ``after``, the next receiver is told."""

    name: str
    steps: tuple[EscalationStep, ...]
    ack_timeout: timedelta | None

    def first_due(self, triggered_at: datetime) -> datetime | None:
        return triggered_at + self.steps[0].after if self.steps else None

    def due_after(self, level: int, escalated_at: datetime) -> datetime | None:
        """When level ``level`` (just reached) hands on to the next, if there is one."""
        return escalated_at + self.steps[level].after if level < len(self.steps) else None

    def step(self, level: int) -> EscalationStep:
        """The step that brings an alert to ``level`` (1-based)."""
        return self.steps[level - 1]
