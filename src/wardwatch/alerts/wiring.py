"""Builds the alerts wing from settings and checks what pydantic alone cannot.

The settings model knows receiver and policy names; only the container knows the role
catalogue (custom roles come from the configuration) and only apprise knows its URL
schemes. Both are checked here, at start, so a misspelt role or a broken webhook URL
refuses to start instead of failing at the first alert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from wardwatch.alerts.dispatcher import AlertDispatcher
from wardwatch.alerts.inbox import Inbox
from wardwatch.alerts.notifiers import Senders, check_apprise_url
from wardwatch.alerts.routing import Routing
from wardwatch.alerts.service import AlertService
from wardwatch.alerts.silences import Silences
from wardwatch.authz.model import RoleCatalog
from wardwatch.authz.service import AccountService
from wardwatch.duty.handover import OpenItem
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import ConfigError
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertsWing:
    service: AlertService
    silences: Silences
    dispatcher: AlertDispatcher


def check_alert_settings(deps: Deps, roles: RoleCatalog) -> None:
    """Refuse receivers that name unknown roles or URLs apprise cannot use (never quoting them)."""
    settings = deps.settings.alerts
    problems: list[str] = []
    for name, receiver in settings.receivers.items():
        for index, target in enumerate(receiver.roles):
            if target.role not in roles:
                problems.append(f"alerts.receivers.{name}.roles.{index}: unknown role {target.role!r}")
        for index, url in enumerate(receiver.apprise):
            reason = check_apprise_url(url.get_secret_value())
            if reason:
                problems.append(f"alerts.receivers.{name}.apprise.{index}: {reason}")
    if settings.email.url is not None:
        reason = check_apprise_url(settings.email.url.get_secret_value())
        if reason:
            problems.append(f"alerts.email.url: {reason}")
    if problems:
        raise ConfigError("; ".join(problems))


def build_alerts(
    deps: Deps, registry: RegistryService, accounts: AccountService, inbox: Inbox, roles: RoleCatalog
) -> AlertsWing:
    check_alert_settings(deps, roles)
    settings = deps.settings.alerts
    routing = Routing.from_settings(settings)
    silences = Silences(deps, registry)
    service = AlertService(deps, registry, routing, silences)
    dispatcher = AlertDispatcher(
        deps, service, registry, accounts, inbox, routing, Senders(settings.send_timeout_s, settings.mqtt)
    )
    return AlertsWing(service, silences, dispatcher)


def announce_channels(deps: Deps) -> None:
    """Say at start which channels are off, so a missing e-mail is a known choice, not a surprise."""
    settings = deps.settings.alerts
    if settings.email.url is None:
        log.warning("alerts.email.url is not set: alert notifications reach the in-app inbox but no e-mail")
    wants_mqtt = any(r.mqtt for r in settings.receivers.values())
    if wants_mqtt and not settings.mqtt.enabled:
        log.warning("receivers ask for MQTT but alerts.mqtt.enabled is false: nothing is published")


def open_alert_items(service: AlertService, locale: str) -> Callable[[Connection, list[str]], list[OpenItem]]:
    """The duty wing's handover provider: unresolved alerts under the covered nodes."""

    def provider(conn: Connection, paths: list[str]) -> list[OpenItem]:
        return [
            OpenItem(
                kind="alert",
                id=row.id,
                node_id=row.facility_id,
                summary=row.titles.get(locale) or row.titles.get("en") or row.rule_id,
                severity=row.severity,
                since=row.triggered_at,
                details={
                    "status": row.status,
                    "rule_id": row.rule_id,
                    "fingerprint": row.fingerprint,
                    "escalation_level": row.escalation_level,
                    "acknowledged_by": row.ack_by,
                },
            )
            for row in service.open_alerts(conn, paths)
        ]

    return provider
