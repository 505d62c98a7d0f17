"""What a notification says, in the reader's language: subjects, bodies and machine payloads.

Rules bring their own titles in the three languages; everything around them (colour,
status, why this message was sent) comes from the catalogs. The text is rendered when the
notification is made and kept with each delivery, so a retry sends exactly what the first
attempt did.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wardwatch.alerts.model import LOCALES
from wardwatch.kernel.i18n import t


@dataclass(frozen=True)
class AlertFacts:
    """One alert as a message shows it."""

    id: str
    fingerprint: str
    source: str
    rule_id: str
    rule_version: str
    rule_hash: str
    severity: str
    status: str
    facility_id: str
    facility_name: str
    timezone: str | None
    labels: dict[str, str]
    titles: dict[str, str]
    starts_at: datetime
    measures: dict[str, Any]
    event_ids: list[str]

    def title(self, locale: str) -> str:
        return self.titles.get(locale) or self.titles.get("en") or self.rule_id

    def local_start(self) -> str:
        moment = self.starts_at.astimezone(ZoneInfo(self.timezone)) if self.timezone else self.starts_at
        return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


@dataclass(frozen=True)
class Why:
    """Why a notification was sent: a group update, a repeat, an escalation, a fallback."""

    reason: str
    level: int = 0
    receiver: str = ""
    integration: str = ""


def localized(key: str, **params: Any) -> dict[str, str]:
    """A catalog message in every language (for inbox parameters and rule-less titles)."""
    return {locale: t(key, locale, **params) for locale in LOCALES}


def _reason(why: Why, locale: str) -> str:
    return t(f"alerts.reason.{why.reason}", locale, level=why.level, receiver=why.receiver)


def render(
    firing: Sequence[AlertFacts], resolved: Sequence[AlertFacts], why: Why, locale: str
) -> tuple[str, str]:
    """(subject, body) of one notification in ``locale``."""
    every = [*firing, *resolved]
    first = every[0]
    worst = max((a.severity for a in firing), key=("blue", "yellow", "red").index, default=first.severity)
    summary = first.title(locale) if len(every) == 1 else t("alerts.count", locale, count=len(every))
    subject = t(
        "alerts.subject",
        locale,
        reason=_reason(why, locale),
        severity=t(f"alerts.severity.{worst}", locale),
        facility=first.facility_name,
        summary=summary,
    )
    lines = []
    if why.reason == "fallback":
        lines.append(t("alerts.body.fallback", locale, receiver=why.receiver, integration=why.integration))
    for alert in every:
        lines.append(
            t(
                "alerts.line",
                locale,
                severity=t(f"alerts.severity.{alert.severity}", locale),
                status=t(f"alerts.status.{alert.status}", locale),
                title=alert.title(locale),
                facility=alert.facility_name,
                starts_at=alert.local_start(),
                rule_id=alert.rule_id,
                rule_version=alert.rule_version,
            )
        )
    lines.append(t("alerts.body.footer", locale))
    return subject, "\n".join(lines)


def machine_payload(alert: AlertFacts, why: Why, locale: str) -> dict[str, Any]:
    """The JSON an MQTT subscriber gets for one alert: the evidence, and the title in ``locale``."""
    return {
        "version": 1,
        "reason": why.reason,
        "level": why.level,
        "alert": {
            "id": alert.id,
            "fingerprint": alert.fingerprint,
            "status": alert.status,
            "source": alert.source,
            "rule_id": alert.rule_id,
            "rule_version": alert.rule_version,
            "rule_hash": alert.rule_hash,
            "severity": alert.severity,
            "facility_id": alert.facility_id,
            "facility": alert.facility_name,
            "labels": alert.labels,
            "starts_at": alert.starts_at.isoformat(),
            "measures": alert.measures,
            "event_ids": alert.event_ids,
            "title": alert.title(locale),
        },
    }


def inbox_params(alert: AlertFacts, why: Why) -> dict[str, Any]:
    """Inbox parameters: words that differ by language are given in all three."""
    return {
        "severity": localized(f"alerts.severity.{alert.severity}"),
        "status": alert.status,
        "title": dict(alert.titles),
        "facility": alert.facility_name,
        "starts_at": alert.local_start(),
        "rule_id": alert.rule_id,
        "rule_version": alert.rule_version,
        "level": why.level,
        "receiver": why.receiver,
        "integration": why.integration,
        "fingerprint": alert.fingerprint,
    }
