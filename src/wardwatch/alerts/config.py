"""The ``alerts`` settings section: route tree, receivers, escalation, inhibition, notifiers.

It is Alertmanager's configuration in WardWatch's terms. The default tree sends blue to
the facility supervisor, yellow to the legal representative and red to the enforcement
team with jurisdiction; people are named by the roles they hold over the facility (or
over its enforcement node, or the tree's root), never by a list kept here, so a change of
staff needs no change of configuration. Unknown keys are refused like everywhere else, and
every receiver and policy a route names must exist.

A YAML ``alerts.route`` (or ``receivers``, ``escalation_policies``, ``inhibit_rules``)
replaces the default of that key whole.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from wardwatch.alerts.model import Matcher

NO_ESCALATION = "none"
"""The policy name that switches escalation off for a route."""
MQTT_TOPIC_FIELDS = frozenset({"facility_id", "severity", "rule_id", "source", "alert_id"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_matchers(values: list[str]) -> list[str]:
    for text in values:
        Matcher.parse(text)  # raises ValueError naming the matcher
    return values


Where = Literal["facility", "jurisdiction", "root"]


class RoleTarget(_Section):
    """Everyone holding ``role`` over the alert's facility, its enforcement node, or the root."""

    role: str
    at: Where = "facility"


ContactKind = Literal["supervisor", "legal_representative", "enforcement_team"]


class ReceiverSettings(_Section):
    """Who hears of an alert, and through which integrations.

    ``inbox`` notifies the role holders in the console; ``email`` mails them (their account's
    address) and the facility's listed ``contacts`` through ``alerts.email.url``; ``mqtt``
    publishes each alert; ``apprise`` lists further URLs (webhooks ``json://``/``jsons://``,
    chat services). Apprise URLs can hold passwords: they are secrets and never shown.
    """

    roles: list[RoleTarget] = []
    contacts: list[ContactKind] = []
    inbox: bool = True
    email: bool = True
    mqtt: bool = False
    apprise: list[SecretStr] = []
    send_resolved: bool = True
    fallback: str | None = None
    """Told when an integration of this receiver gives up; ``alerts.fallback_receiver`` if unset."""
    locale: Literal["vi", "zh-Hans", "en"] | None = None
    """Language of what goes to the apprise and MQTT targets (default: ``default_locale``)."""


class RouteSettings(_Section):
    """A node of the route tree. Unset fields are inherited from the parent route."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    matchers: list[str] = []
    receiver: str | None = None
    group_by: list[str] | None = None
    group_wait_s: float | None = Field(None, ge=0)
    group_interval_s: float | None = Field(None, gt=0)
    repeat_interval_s: float | None = Field(None, gt=0)
    escalation: str | None = None
    continue_: bool = Field(False, alias="continue")
    routes: list[RouteSettings] = []

    @field_validator("matchers")
    @classmethod
    def _parse(cls, value: list[str]) -> list[str]:
        return _check_matchers(value)


class EscalationStepSettings(_Section):
    after_s: float = Field(gt=0)
    receiver: str


class EscalationPolicySettings(_Section):
    steps: list[EscalationStepSettings] = []
    ack_timeout_s: float | None = Field(4 * 3600, gt=0)
    """An acknowledged alert still unresolved after this fires again; null: never."""


class InhibitRuleSettings(_Section):
    source_matchers: list[str] = Field(min_length=1)
    target_matchers: list[str] = Field(min_length=1)
    equal: list[str] = []

    @field_validator("source_matchers", "target_matchers")
    @classmethod
    def _parse(cls, value: list[str]) -> list[str]:
        return _check_matchers(value)


class EmailSettings(_Section):
    url: SecretStr | None = None
    """An apprise ``mailto://`` or ``mailtos://`` URL of the SMTP server (with ``from=``);
    the recipients are added per notification. Unset: no alert e-mail is sent."""

    @field_validator("url")
    @classmethod
    def _is_mail(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("mailto://", "mailtos://")):
            raise ValueError("must be a mailto:// or mailtos:// URL")
        return value


class MqttSettings(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    topic: str = "wardwatch/alerts/{facility_id}/{severity}"
    qos: Literal[0, 1, 2] = 1
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False

    @field_validator("topic")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        fields = {name for _, name, _, _ in string.Formatter().parse(value) if name}
        unknown = fields - MQTT_TOPIC_FIELDS
        if unknown:
            raise ValueError(f"unknown topic fields {sorted(unknown)}; use {sorted(MQTT_TOPIC_FIELDS)}")
        if "#" in value or "+" in value:
            raise ValueError("a publish topic may not hold wildcards")
        return value


def _receiver(
    role: str, at: Where, *, contacts: tuple[ContactKind, ...] = (), email: bool = True
) -> ReceiverSettings:
    return ReceiverSettings(roles=[RoleTarget(role=role, at=at)], contacts=list(contacts), email=email)


DEFAULT_RECEIVERS: dict[str, ReceiverSettings] = {
    "facility_supervisor": _receiver("facility_supervisor", "facility", contacts=("supervisor",)),
    "legal_representative": _receiver("legal_representative", "facility", contacts=("legal_representative",)),
    "enforcement_team": _receiver("enforcement_officer", "jurisdiction", contacts=("enforcement_team",)),
    "supervisors": _receiver("supervisor", "facility"),
    # The people on watch around the clock: they hear of what no one else could be told.
    "duty_operators": _receiver("duty_operator", "facility", email=False),
    "administrators": _receiver("administrator", "root"),
}

DEFAULT_ROUTE = RouteSettings(
    receiver="facility_supervisor",
    group_by=["facility_id", "rule_id", "day"],
    group_wait_s=30,
    group_interval_s=300,
    repeat_interval_s=4 * 3600,
    escalation=NO_ESCALATION,
    routes=[
        RouteSettings(matchers=['source="notifier"'], receiver="administrators", group_wait_s=0),
        RouteSettings(matchers=['severity="blue"'], receiver="facility_supervisor", escalation="blue"),
        RouteSettings(matchers=['severity="yellow"'], receiver="legal_representative", escalation="yellow"),
        RouteSettings(
            matchers=['severity="red"'], receiver="enforcement_team", group_wait_s=10, escalation="red"
        ),
    ],
)

DEFAULT_POLICIES: dict[str, EscalationPolicySettings] = {
    "blue": EscalationPolicySettings(
        steps=[EscalationStepSettings(after_s=3600, receiver="legal_representative")]
    ),
    "yellow": EscalationPolicySettings(
        steps=[EscalationStepSettings(after_s=3600, receiver="enforcement_team")]
    ),
    "red": EscalationPolicySettings(steps=[EscalationStepSettings(after_s=1800, receiver="supervisors")]),
}

DEFAULT_INHIBIT: list[InhibitRuleSettings] = [
    InhibitRuleSettings(
        source_matchers=['severity="red"'],
        target_matchers=['severity=~"yellow|blue"'],
        equal=["facility_id", "rule_id"],
    )
]


class AlertSettings(_Section):
    dispatch: bool = True
    """Run the dispatcher (grouping, escalation, delivery) in the server."""
    tick_s: float = Field(2, gt=0, le=60)
    route: RouteSettings = DEFAULT_ROUTE
    receivers: dict[str, ReceiverSettings] = DEFAULT_RECEIVERS
    escalation_policies: dict[str, EscalationPolicySettings] = DEFAULT_POLICIES
    inhibit_rules: list[InhibitRuleSettings] = DEFAULT_INHIBIT
    email: EmailSettings = EmailSettings()
    mqtt: MqttSettings = MqttSettings()
    fallback_receiver: str = "duty_operators"
    failure_threshold: int = Field(3, ge=1, le=100)
    """Consecutive failures of one integration after which it counts as down: the delivery is
    handed to the fallback receiver and a notifier alert is raised."""
    max_attempts: int = Field(5, ge=1, le=100)
    retry_backoff_s: float = Field(30, gt=0)
    send_timeout_s: float = Field(10, gt=0, le=120)
    silence_max_days: int = Field(30, ge=1, le=366)

    @model_validator(mode="after")
    def _names_exist(self) -> AlertSettings:
        if self.route.matchers:
            raise ValueError("route: the root route matches every alert and takes no matchers")
        for name in ("receiver", "group_by", "group_wait_s", "group_interval_s", "repeat_interval_s"):
            if getattr(self.route, name) is None:
                raise ValueError(f"route.{name} must be set on the root route")
        receivers = set(self.receivers)
        policies = set(self.escalation_policies) | {NO_ESCALATION}
        missing: list[str] = []

        def walk(route: RouteSettings, where: str) -> None:
            if route.receiver is not None and route.receiver not in receivers:
                missing.append(f"{where}.receiver: unknown receiver {route.receiver!r}")
            if route.escalation is not None and route.escalation not in policies:
                missing.append(f"{where}.escalation: unknown policy {route.escalation!r}")
            for index, child in enumerate(route.routes):
                walk(child, f"{where}.routes.{index}")

        walk(self.route, "route")
        for name, policy in self.escalation_policies.items():
            for index, step in enumerate(policy.steps):
                if step.receiver not in receivers:
                    missing.append(
                        f"escalation_policies.{name}.steps.{index}: unknown receiver {step.receiver!r}"
                    )
        for name, receiver in self.receivers.items():
            if receiver.fallback is not None and receiver.fallback not in receivers:
                missing.append(f"receivers.{name}.fallback: unknown receiver {receiver.fallback!r}")
        if self.fallback_receiver not in receivers:
            missing.append(f"fallback_receiver: unknown receiver {self.fallback_receiver!r}")
        if NO_ESCALATION in self.escalation_policies:
            missing.append(f"escalation_policies: {NO_ESCALATION!r} is reserved")
        if missing:
            raise ValueError("; ".join(missing))
        return self
