"""The route tree, compiled from settings: which receivers an alert goes to, and how grouped.

Matching is Alertmanager's: an alert walks down from the root; at each level the first
child whose matchers all match takes it (and, with ``continue``, the next matching
siblings too); where no child matches, the route itself does. Every field not set on a
route is inherited from its parent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from wardwatch.alerts.config import NO_ESCALATION, AlertSettings, RouteSettings
from wardwatch.alerts.model import EscalationPolicy, EscalationStep, InhibitRule, Matcher, all_match


@dataclass(frozen=True)
class Route:
    id: str
    """Its position in the tree (``root``, ``root.2``, ``root.2.0``): stable while the YAML is."""
    matchers: tuple[Matcher, ...]
    receiver: str
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    escalation: str | None
    continue_: bool
    children: tuple[Route, ...]

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes (this one or its descendants) that take an alert with these labels."""
        if not all_match(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.children:
            taken = child.match(labels)
            found.extend(taken)
            if taken and not child.continue_:
                break
        return found or [self]

    def walk(self) -> list[Route]:
        return [self, *(r for child in self.children for r in child.walk())]


def _compile(settings: RouteSettings, parent: Route | None, route_id: str) -> Route:
    def seconds(name: str, inherited: timedelta | None) -> timedelta:
        value = getattr(settings, f"{name}_s")
        if value is None:
            assert inherited is not None
            return inherited
        return timedelta(seconds=float(value))

    escalation = (
        settings.escalation if settings.escalation is not None else (parent.escalation if parent else None)
    )
    route = Route(
        id=route_id,
        matchers=tuple(Matcher.parse(m) for m in settings.matchers),
        receiver=str(
            settings.receiver if settings.receiver is not None else parent.receiver if parent else ""
        ),
        group_by=tuple(
            settings.group_by if settings.group_by is not None else parent.group_by if parent else ()
        ),
        group_wait=seconds("group_wait", parent.group_wait if parent else None),
        group_interval=seconds("group_interval", parent.group_interval if parent else None),
        repeat_interval=seconds("repeat_interval", parent.repeat_interval if parent else None),
        escalation=None if escalation == NO_ESCALATION else escalation,
        continue_=settings.continue_,
        children=(),
    )
    children = tuple(_compile(child, route, f"{route_id}.{i}") for i, child in enumerate(settings.routes))
    return Route(**{**route.__dict__, "children": children})


@dataclass(frozen=True)
class Routing:
    """Everything the alert pipeline reads from the settings, compiled once."""

    root: Route
    policies: Mapping[str, EscalationPolicy]
    inhibit_rules: tuple[InhibitRule, ...]

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> Routing:
        policies = {
            name: EscalationPolicy(
                name,
                tuple(EscalationStep(timedelta(seconds=s.after_s), s.receiver) for s in policy.steps),
                timedelta(seconds=policy.ack_timeout_s) if policy.ack_timeout_s is not None else None,
            )
            for name, policy in settings.escalation_policies.items()
        }
        rules = tuple(
            InhibitRule(
                tuple(Matcher.parse(m) for m in rule.source_matchers),
                tuple(Matcher.parse(m) for m in rule.target_matchers),
                tuple(rule.equal),
            )
            for rule in settings.inhibit_rules
        )
        return cls(_compile(settings.route, None, "root"), policies, rules)

    def routes_for(self, labels: Mapping[str, str]) -> list[Route]:
        return self.root.match(labels)

    def route(self, route_id: str) -> Route | None:
        return next((r for r in self.root.walk() if r.id == route_id), None)

    def policy_for(self, routes: list[Route]) -> EscalationPolicy | None:
        """The escalation policy of the first route that takes the alert."""
        name = routes[0].escalation if routes else None
        return self.policies.get(name) if name else None
