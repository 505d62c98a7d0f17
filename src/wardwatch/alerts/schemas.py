"""Typed commands and views of the alerts wing, shared by the API and the services."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from wardwatch.alerts.model import Matcher
from wardwatch.registry.schemas import Command


class MatcherBody(Command):
    """One matcher, as Alertmanager's API spells it out: label, operator, value."""

    name: str = Field(min_length=1, max_length=63)
    op: Literal["=", "!=", "=~", "!~"] = "="
    value: str = Field(max_length=1000)

    @model_validator(mode="after")
    def _compiles(self) -> MatcherBody:
        Matcher.of(self.name, self.op, self.value)  # a bad name or regex is a validation error
        return self

    def compile(self) -> Matcher:
        return Matcher.of(self.name, self.op, self.value)


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time must carry its offset (e.g. 2026-12-01T08:00:00Z)")
    return value.astimezone(UTC)


class SilenceCreate(Command):
    node_id: str = Field(min_length=1, max_length=26)
    """The org node whose alerts (those of facilities under it) the silence may reach."""
    matchers: list[MatcherBody] = Field(min_length=1, max_length=20)
    comment: str = Field(min_length=3, max_length=2000)
    starts_at: datetime | None = None
    ends_at: datetime

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value) if value is not None else None


class SilenceUpdate(Command):
    """A change to a silence still in force or pending: a new end, comment or matchers."""

    matchers: list[MatcherBody] | None = Field(None, min_length=1, max_length=20)
    comment: str | None = Field(None, min_length=3, max_length=2000)
    ends_at: datetime | None = None

    @field_validator("ends_at")
    @classmethod
    def _with_offset(cls, value: datetime | None) -> datetime | None:
        return _aware(value) if value is not None else None


class SilenceView(BaseModel):
    id: str
    node_id: str
    matchers: list[MatcherBody]
    comment: str
    created_by: str
    created_by_name: str | None
    """The creator's display name (None if the account is gone), so the console shows a name."""
    created_at: datetime
    starts_at: datetime
    ends_at: datetime
    updated_by: str | None
    updated_at: datetime
    expired_by: str | None
    expired_at: datetime | None
    state: Literal["pending", "active", "expired"]


class AckCommand(Command):
    comment: str = Field(min_length=1, max_length=2000)


class AckView(BaseModel):
    by: str
    by_name: str | None
    """The acknowledger's display name (None if the account is gone), so the console shows a name."""
    at: datetime
    comment: str
    expires_at: datetime | None


class AlertSummary(BaseModel):
    id: str
    fingerprint: str
    source: str
    rule_id: str
    rule_version: str
    severity: str
    status: str
    facility_id: str
    facility_name: str
    labels: dict[str, str]
    title: str
    starts_at: datetime
    triggered_at: datetime
    resolved_at: datetime | None
    trigger_count: int
    escalation_level: int
    acknowledged: AckView | None
    silenced_by: list[str]
    inhibited_by: list[str]


class EscalationStepView(BaseModel):
    level: int
    receiver: str
    after_s: float
    escalated_at: datetime | None


class EscalationView(BaseModel):
    policy: str | None
    level: int
    next_at: datetime | None
    ack_timeout_s: float | None
    steps: list[EscalationStepView]


class HistoryEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    details: dict[str, Any]


class AttemptView(BaseModel):
    attempt: int
    at: datetime
    outcome: str
    error: str | None
    duration_ms: int


class DeliveryView(BaseModel):
    id: str
    notification_id: str
    reason: str
    level: int
    receiver: str
    integration: str
    channel: str
    target: str
    """The target with its secrets masked; the real one is sealed at rest."""
    recipients: list[str]
    locale: str
    state: str
    attempts: list[AttemptView]
    last_error: str | None
    created_at: datetime


class AlertDetail(AlertSummary):
    rule_hash: str
    titles: dict[str, str]
    measures: dict[str, float | int]
    event_ids: list[str]
    first_seen_at: datetime
    updated_at: datetime
    receiver: str
    escalation: EscalationView
    history: list[HistoryEntry]
    deliveries: list[DeliveryView]


class IntegrationView(BaseModel):
    key: str
    receiver: str
    channel: str
    target: str
    consecutive_failures: int
    failing: bool
    last_error: str | None
    last_failure_at: datetime | None
    last_success_at: datetime | None


AlertStatusFilter = Literal["firing", "acknowledged", "resolved"]
SeverityFilter = Literal["blue", "yellow", "red"]
SilenceStateFilter = Literal["pending", "active", "expired"]
