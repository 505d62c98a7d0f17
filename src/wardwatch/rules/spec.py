"""Rule files: the strict schema, the checks pydantic cannot make, and each rule's hash.

A rule file is YAML::

    schema: wardwatch.rules/v1
    rules:
      - id: R1
        version: 1.0.0
        severity: red
        title: {vi: ..., zh-Hans: ..., en: ...}        # may use {label} and {measure}
        description: {vi: ..., zh-Hans: ..., en: ...}
        window: {procedure: {where: {anaesthesia: general}, from: start - 30m, to: start + 10m}}
        evaluate: at_close                              # or continuous (the default)
        group_by: []
        measures:
          anaesthetist_entries:
            count: entries
            where: {direction: in, profession: anaesthetist, licensed: true}
            same: {room_id: room_id}
        condition: anaesthetist_entries == 0

Windows are a calendar ``day`` in the facility's time zone, a ``sliding`` window of a
given length over door events, or one window per operation (``procedure``) between two
anchors. In a procedure window an event measure is *joined* with operations: an event
counts when it falls between the measure's ``from`` and ``to`` (default: the window's)
of the window's own operation, or of any operation counted by the measure named in
``join``, and its fields equal the operation's as ``same`` says. A procedure measure in a
procedure window counts the operations overlapping ``from``..``to``.

An ``incident`` window (``{incident: {where: {...}, open_for: 30m}}``) is one window per
camera incident the filter takes, from the moment the fault began to ``open_for`` later,
judged when it closes (``evaluate: at_close``). Its measures count ``incidents``: the
window's own incident, when it passes the measure's filter and the camera was still out
when the window ended (neither recovered nor closed before). That is how "an incident
open for more than 30 minutes without a fallback measure" is written (R9).

Unknown keys are refused, filters name known fields, the condition compiles and names only
measures, and every message names the file, the rule and the field. The hash is the
SHA-256 of the rule's canonical JSON form, so a reworded description is a new hash and
an alert can always be traced to the exact rule that raised it.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wardwatch.alerts.model import Severity
from wardwatch.rules.condition import Condition, ConditionError
from wardwatch.rules.fields import (
    INCIDENT_FIELDS,
    PROCEDURE_FIELDS,
    Kind,
    Source,
    fields_of,
    is_event_source,
)
from wardwatch.rules.filters import Clause, Predicate, canonical_filter, compile_filter, parse_filter
from wardwatch.rules.timing import MAX_SPAN, Anchor, format_duration, parse_duration

SCHEMA = "wardwatch.rules/v1"
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_VERSION = re.compile(r"^\d+(\.\d+){0,2}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


class RuleError(ValueError):
    """A rule file that cannot be used, with where: file, rule and field."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Texts(_Strict):
    vi: str = Field(min_length=1, max_length=500)
    zh_hans: str = Field(alias="zh-Hans", min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)

    def by_locale(self) -> dict[str, str]:
        return {"vi": self.vi, "zh-Hans": self.zh_hans, "en": self.en}


class DayWindow(_Strict):
    pass


class SlidingWindow(_Strict):
    length: str

    @field_validator("length")
    @classmethod
    def _length(cls, value: str) -> str:
        delta = parse_duration(value)
        if not timedelta(0) < delta <= MAX_SPAN:
            raise ValueError(f"must be longer than 0s and at most {format_duration(MAX_SPAN)}")
        return value


class ProcedureWindow(_Strict):
    where: dict[str, Any] = {}
    from_: str = Field(alias="from")
    to: str

    @field_validator("from_", "to")
    @classmethod
    def _anchor(cls, value: str) -> str:
        Anchor.parse(value)
        return value


class IncidentWindow(_Strict):
    where: dict[str, Any] = {}
    open_for: str

    @field_validator("open_for")
    @classmethod
    def _open_for(cls, value: str) -> str:
        delta = parse_duration(value)
        if not timedelta(0) < delta <= MAX_SPAN:
            raise ValueError(f"must be longer than 0s and at most {format_duration(MAX_SPAN)}")
        return value


class WindowFile(_Strict):
    day: DayWindow | None = None
    sliding: SlidingWindow | None = None
    procedure: ProcedureWindow | None = None
    incident: IncidentWindow | None = None


class MeasureFile(_Strict):
    count: Source | None = None
    distinct: str | None = None
    of: Source | None = None
    where: dict[str, Any] = {}
    same: dict[str, str] = {}
    join: str | None = None
    from_: str | None = Field(None, alias="from")
    to: str | None = None

    @field_validator("from_", "to")
    @classmethod
    def _anchor(cls, value: str | None) -> str | None:
        if value is not None:
            Anchor.parse(value)
        return value


class RuleFile(_Strict):
    id: str
    version: str
    severity: Severity
    title: Texts
    description: Texts
    window: WindowFile
    evaluate: Literal["continuous", "at_close"] = "continuous"
    group_by: list[str] = []
    measures: dict[str, MeasureFile] = Field(min_length=1, max_length=16)
    condition: str = Field(min_length=1, max_length=2000)
    enabled: bool = True

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("must start with a letter and hold only letters, digits, '_', '.' or '-'")
        return value

    @field_validator("version")
    @classmethod
    def _version(cls, value: Any) -> str:
        if not _VERSION.match(str(value)):
            raise ValueError("must be a version such as 1, 1.2 or 1.2.3")
        return str(value)


class PackFile(_Strict):
    schema_: Literal["wardwatch.rules/v1"] = Field(alias="schema")
    rules: list[dict[str, Any]] = Field(min_length=1)


# ---------------------------------------------------------------- the checked, compiled rule


class WindowKind(StrEnum):
    DAY = "day"
    SLIDING = "sliding"
    PROCEDURE = "procedure"
    INCIDENT = "incident"


@dataclass(frozen=True)
class Measure:
    name: str
    source: Source
    distinct: str | None
    clauses: tuple[Clause, ...]
    matches: Predicate = field(compare=False, repr=False)
    on: tuple[tuple[str, str], ...] = ()
    join: str | None = None
    start: Anchor | None = None
    end: Anchor | None = None

    @property
    def on_events(self) -> bool:
        return is_event_source(self.source)


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    severity: Severity
    titles: dict[str, str]
    descriptions: dict[str, str]
    window: WindowKind
    evaluate: str
    group_by: tuple[str, ...]
    measures: tuple[Measure, ...]
    condition: Condition = field(compare=False, repr=False)
    canonical: str
    hash: str
    origin: str
    """Where the rule came from: ``builtin:<file>`` or the file's path."""
    length: timedelta | None = None
    """A sliding window's length; an incident window's ``open_for``."""
    start: Anchor | None = None
    end: Anchor | None = None
    procedures: tuple[Clause, ...] = ()
    """Which operations get a window of their own (procedure windows)."""
    takes_procedure: Predicate | None = field(default=None, compare=False, repr=False)
    incidents: tuple[Clause, ...] = ()
    """Which camera incidents get a window of their own (incident windows)."""
    takes_incident: Predicate | None = field(default=None, compare=False, repr=False)

    @property
    def at_close(self) -> bool:
        return self.evaluate == "at_close"

    def measure(self, name: str) -> Measure:
        return next(m for m in self.measures if m.name == name)

    @property
    def event_measures(self) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures if m.on_events)

    @property
    def procedure_measures(self) -> tuple[Measure, ...]:
        return tuple(m for m in self.measures if m.source == Source.PROCEDURES)


def _where(base: str, name: str) -> str:
    return f"{base}: {name}" if name else base


def _errors_of(exc: Exception) -> list[tuple[str, str]]:
    if isinstance(exc, ValidationError):
        out = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]).replace("from_", "from").replace("zh_hans", "zh-Hans")
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            out.append((loc or "(rule)", message.removeprefix("Value error, ")))
        return out
    return [("(rule)", str(exc))]


def build_rule(raw: dict[str, Any], where: str, origin: str) -> Rule:
    """Check one rule's mapping and compile it; RuleError names ``where`` and the field."""
    rule_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    here = f"{where}: rule {rule_id}" if rule_id else f"{where}: rule without a valid id"
    try:
        spec = RuleFile.model_validate(raw)
    except Exception as exc:
        loc, message = _errors_of(exc)[0]
        raise RuleError(f"{here}: {loc}", message) from None
    return _compile(spec, here, origin)


def _compile(spec: RuleFile, here: str, origin: str) -> Rule:  # noqa: PLR0915 - one check after another
    kinds = [k for k in ("day", "sliding", "procedure", "incident") if getattr(spec.window, k) is not None]
    if len(kinds) != 1:
        raise RuleError(f"{here}: window", "holds exactly one of day, sliding, procedure or incident")
    kind = WindowKind(kinds[0])
    names = list(spec.measures)
    for name in names:
        if not _NAME.match(name):
            raise RuleError(f"{here}: measures.{name}", "a measure name is lower case: letters, digits, '_'")
    measures: list[Measure] = []
    for name, given in spec.measures.items():
        measures.append(_measure(name, given, kind, spec, f"{here}: measures.{name}"))
    by_name = {m.name: m for m in measures}
    for m in measures:
        if m.join is not None:
            target = by_name.get(m.join)
            if target is None or target.source != Source.PROCEDURES or target.join is not None:
                raise RuleError(
                    f"{here}: measures.{m.name}.join", f"{m.join!r} is not a procedure measure of this rule"
                )
    window_start = window_end = None
    procedures: tuple[Clause, ...] = ()
    incidents: tuple[Clause, ...] = ()
    length = None
    if kind == WindowKind.PROCEDURE:
        assert spec.window.procedure is not None
        window_start = Anchor.parse(spec.window.procedure.from_)
        window_end = Anchor.parse(spec.window.procedure.to)
        try:
            procedures = parse_filter(spec.window.procedure.where, PROCEDURE_FIELDS)
        except ValueError as exc:
            raise RuleError(f"{here}: window.procedure.where", str(exc)) from None
    elif kind == WindowKind.SLIDING:
        assert spec.window.sliding is not None
        length = parse_duration(spec.window.sliding.length)
        if any(not m.on_events for m in measures):
            raise RuleError(f"{here}: window.sliding", "a sliding window counts door events or entries only")
    elif kind == WindowKind.INCIDENT:
        assert spec.window.incident is not None
        length = parse_duration(spec.window.incident.open_for)
        try:
            incidents = parse_filter(spec.window.incident.where, INCIDENT_FIELDS)
        except ValueError as exc:
            raise RuleError(f"{here}: window.incident.where", str(exc)) from None
        if spec.evaluate != "at_close":
            raise RuleError(f"{here}: evaluate", "an incident window is judged when it closes (at_close)")
    if kind != WindowKind.INCIDENT and any(m.source == Source.INCIDENTS for m in measures):
        raise RuleError(f"{here}: measures", "camera incidents are counted in an incident window only")
    if kind == WindowKind.INCIDENT and any(m.source != Source.INCIDENTS for m in measures):
        raise RuleError(f"{here}: measures", "an incident window counts camera incidents only")
    if spec.evaluate == "at_close" and kind == WindowKind.SLIDING:
        raise RuleError(f"{here}: evaluate", "a sliding window is evaluated as events arrive (continuous)")
    for index, key in enumerate(spec.group_by):
        if kind == WindowKind.PROCEDURE:
            if key not in PROCEDURE_FIELDS:
                raise RuleError(f"{here}: group_by.{index}", f"{key!r} is not a field of an operation")
            continue
        lacking = [m.name for m in measures if key not in fields_of(m.source)]
        if lacking:
            raise RuleError(
                f"{here}: group_by.{index}", f"{key!r} is not a field of what {', '.join(lacking)} counts"
            )
        if fields_of(measures[0].source).get(key) == Kind.LIST:
            raise RuleError(f"{here}: group_by.{index}", f"{key!r} is a list and cannot group")
    try:
        condition = Condition(spec.condition, names)
    except ConditionError as exc:
        raise RuleError(f"{here}: condition", str(exc)) from None
    labels = set(spec.group_by) | {"day"}
    if kind == WindowKind.PROCEDURE:
        labels |= {"procedure_id", "procedure_ref"}
    elif kind == WindowKind.INCIDENT:
        labels.add("incident_id")
    for locale, text in spec.title.by_locale().items():
        try:
            used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
        except ValueError as exc:
            raise RuleError(f"{here}: title.{locale}", f"is not a valid template: {exc}") from None
        unknown = sorted(used - labels - set(names))
        if unknown:
            raise RuleError(f"{here}: title.{locale}", f"names {', '.join(unknown)}: not a label or measure")
    canonical = _canonical(spec, kind, measures, procedures + incidents, window_start, window_end, length)
    return Rule(
        id=spec.id,
        version=spec.version,
        severity=spec.severity,
        titles=spec.title.by_locale(),
        descriptions=spec.description.by_locale(),
        window=kind,
        evaluate=spec.evaluate,
        group_by=tuple(spec.group_by),
        measures=tuple(measures),
        condition=condition,
        canonical=canonical,
        hash=hashlib.sha256(canonical.encode()).hexdigest(),
        origin=origin,
        length=length,
        start=window_start,
        end=window_end,
        procedures=procedures,
        takes_procedure=compile_filter(procedures) if kind == WindowKind.PROCEDURE else None,
        incidents=incidents,
        takes_incident=compile_filter(incidents) if kind == WindowKind.INCIDENT else None,
    )


def _measure(name: str, m: MeasureFile, kind: WindowKind, spec: RuleFile, here: str) -> Measure:
    if (m.count is None) == (m.distinct is None):
        raise RuleError(here, "holds exactly one of count or distinct")
    if m.count is not None and m.of is not None:
        raise RuleError(f"{here}.of", "goes with distinct (count names its source itself)")
    if m.distinct is not None and m.of is None:
        raise RuleError(f"{here}.of", "distinct needs of: door_events, entries or procedures")
    source = m.count if m.count is not None else m.of
    assert source is not None
    fields = fields_of(source)
    if m.distinct is not None and fields.get(m.distinct) not in (Kind.TEXT, Kind.FLAG):
        raise RuleError(f"{here}.distinct", f"{m.distinct!r} is not a field of {source.value}")
    try:
        clauses = parse_filter(m.where, fields)
    except ValueError as exc:
        raise RuleError(f"{here}.where", str(exc)) from None
    procedure_window = kind == WindowKind.PROCEDURE
    for key in ("same", "join", "from_", "to"):
        if getattr(m, key) not in (None, {}) and not procedure_window:
            raise RuleError(f"{here}.{key.rstrip('_')}", "only a measure of a procedure window has it")
    if not is_event_source(source) and (m.same or m.join):
        raise RuleError(f"{here}.{'same' if m.same else 'join'}", "only a measure of events is joined")
    on = []
    for event_field, procedure_field in m.same.items():
        if event_field not in fields or fields[event_field] == Kind.LIST:
            raise RuleError(f"{here}.same.{event_field}", f"{event_field!r} is not a field of {source.value}")
        if PROCEDURE_FIELDS.get(procedure_field) not in (Kind.TEXT, Kind.FLAG):
            raise RuleError(
                f"{here}.same.{event_field}", f"{procedure_field!r} is not a field of an operation"
            )
        on.append((event_field, procedure_field))
    return Measure(
        name=name,
        source=source,
        distinct=m.distinct,
        clauses=clauses,
        matches=compile_filter(clauses),
        on=tuple(sorted(on)),
        join=m.join,
        start=Anchor.parse(m.from_) if m.from_ else None,
        end=Anchor.parse(m.to) if m.to else None,
    )


def _canonical(
    spec: RuleFile,
    kind: WindowKind,
    measures: list[Measure],
    procedures: tuple[Clause, ...],
    start: Anchor | None,
    end: Anchor | None,
    length: timedelta | None,
) -> str:
    window: dict[str, Any] = {"kind": kind.value}
    if kind == WindowKind.SLIDING:
        assert length is not None
        window["length_s"] = int(length.total_seconds())
    if kind == WindowKind.INCIDENT:
        assert length is not None
        window.update(where=canonical_filter(procedures), open_for_s=int(length.total_seconds()))
    if kind == WindowKind.PROCEDURE:
        assert start is not None and end is not None
        window.update(where=canonical_filter(procedures), start=start.text(), end=end.text())
    body = {
        "schema": SCHEMA,
        "id": spec.id,
        "version": spec.version,
        "severity": spec.severity.value,
        "title": spec.title.by_locale(),
        "description": spec.description.by_locale(),
        "window": window,
        "evaluate": spec.evaluate,
        "group_by": list(spec.group_by),
        "measures": {
            m.name: {
                "source": m.source.value,
                "distinct": m.distinct,
                "where": canonical_filter(m.clauses),
                "same": [list(pair) for pair in m.on],
                "join": m.join,
                "from": m.start.text() if m.start else None,
                "to": m.end.text() if m.end else None,
            }
            for m in sorted(measures, key=lambda m: m.name)
        },
        "condition": " ".join(spec.condition.split()),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
