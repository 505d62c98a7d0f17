"""Camera incidents as alerts: how the facility supervisor hears of one through the routing.

Issue 4 asks that an incident reach the facility supervisor through the alert routing of
the operating-theatre wing where it exists. So an incident opening (or recurring) fires a
blue alert of its own (source ``health``, the built-in condition ``camera.incident``), and
the camera recovering resolves it: the route tree, grouping, silences, escalation and
every receiver configured for blue (inbox, e-mail, webhooks, MQTT) apply to it like to any
rule's alert.

One alert per incident and fault: the labels name the camera, the incident and the fault
that (re)opened it, so a recurrence of the same fault re-triggers the same alert (and its
escalation starts over) while a different fault is an alert of its own. Recovery resolves
every fault's alert of the incident, as of the recovery's time.

Both run inside the incident's own unit of work, in a savepoint: an alert that cannot be
fired is logged as critical and undone alone, and the caller then delivers its own inbox
notice, so a broken alert wing never costs the incident or its notification.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from wardwatch.alerts.model import LOCALES, AlertSignal, Severity, fingerprint
from wardwatch.alerts.service import AlertService
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.i18n import t
from wardwatch.kernel.uow import UnitOfWork

log = logging.getLogger(__name__)

SOURCE = "health"
INCIDENT_RULE = "camera.incident"
INCIDENT_RULE_VERSION = "1"
INCIDENT_RULE_HASH = hashlib.sha256(f"{INCIDENT_RULE}/{INCIDENT_RULE_VERSION}".encode()).hexdigest()[:16]
TITLE_KEY = "health.alert.incident.title"
NEWS = frozenset({"fired", "retriggered"})
"""What ``AlertService.fire`` reports when the routing will notify; an update notifies no one."""
MAX_LABEL = 200


def incident_labels(incident: DbRow, fault: str) -> dict[str, str]:
    """The labels of an incident's alert for one fault (fixed for the incident's life)."""
    return {
        "camera_id": incident.camera_id,
        "camera": incident.camera_name[:MAX_LABEL],
        "incident_id": incident.id,
        "fault": fault,
    }


def incident_fingerprint(incident: DbRow, fault: str) -> str:
    return fingerprint(INCIDENT_RULE, incident.facility_id, incident_labels(incident, fault))


def incident_signal(
    incident: DbRow,
    *,
    fault: str,
    facility: str,
    starts_at: datetime,
    evidence_id: str | None,
    now: datetime,
) -> AlertSignal:
    """The blue alert of an incident (re)opened by ``fault``, which began at ``starts_at``."""
    evidence = [f"incident:{incident.id}"]
    if evidence_id:
        evidence.append(f"evidence:{evidence_id}")
    return AlertSignal(
        source=SOURCE,
        rule_id=INCIDENT_RULE,
        rule_version=INCIDENT_RULE_VERSION,
        rule_hash=INCIDENT_RULE_HASH,
        severity=Severity.BLUE,
        facility_id=incident.facility_id,
        labels=incident_labels(incident, fault),
        starts_at=starts_at,
        measures={"minutes_out": round(max((now - starts_at).total_seconds(), 0.0) / 60, 1)},
        event_ids=evidence,
        titles={
            locale: t(
                TITLE_KEY,
                locale,
                camera=incident.camera_name,
                facility=facility,
                fault=t(f"health_state.{fault}", locale),
            )
            for locale in LOCALES
        },
    )


class IncidentAlerts:
    """Fires and resolves incidents' alerts; says whether the routing carries the notice."""

    def __init__(self, deps: Deps, alerts: AlertService | None) -> None:
        self.deps = deps
        self.alerts = alerts

    @property
    def routed(self) -> bool:
        """Whether alerts reach anyone: wired, and dispatched by this server."""
        return self.alerts is not None and self.deps.settings.alerts.dispatch

    def fire(
        self,
        uow: UnitOfWork,
        incident: DbRow,
        *,
        fault: str,
        facility: str,
        starts_at: datetime,
        evidence_id: str | None,
        now: datetime,
    ) -> bool:
        """Fire in ``uow``; True when the routing will notify, False when the caller must."""
        if self.alerts is None or not self.routed:
            return False
        try:
            signal = incident_signal(
                incident,
                fault=fault,
                facility=facility,
                starts_at=starts_at,
                evidence_id=evidence_id,
                now=now,
            )
            with uow.savepoint():
                result = self.alerts.fire(uow, signal)
        except Exception:
            log.critical(
                "a camera incident's alert could not be fired; the supervisor is notified directly",
                exc_info=True,
                extra={"incident_id": incident.id, "facility_id": incident.facility_id},
            )
            return False
        return result.change in NEWS

    def acknowledge(self, uow: UnitOfWork, incident: DbRow, *, user_id: str, comment: str) -> list[str]:
        """Acknowledge the incident's firing alerts for ``user_id``, in ``uow``; their ids.

        Someone handling the incident is handling its alert, so its escalation stops (until
        the policy's ``ack_timeout``, as for any acknowledgement). ``incident.manage`` is what
        allows this, not ``alert.ack``: the alert is only the incident's notice, and an
        incident acknowledged by someone whose roles lack ``alert.ack`` must not go on
        escalating as if no one had taken it. The alert's history and audit entry name the
        incident, so the record shows why the acknowledgement was allowed.

        In a savepoint, like ``fire``: a failing alert wing is logged as critical and the
        incident's acknowledgement still stands; the alert then escalates, the safe side.
        """
        if self.alerts is None:
            return []
        fingerprints = [incident_fingerprint(incident, fault) for fault in incident.faults]
        try:
            with uow.savepoint():
                return self.alerts.acknowledge_firing(
                    uow,
                    fingerprints,
                    user_id=user_id,
                    comment=comment,
                    context={"via": "incident", "incident_id": incident.id},
                )
        except Exception:
            log.critical(
                "a camera incident's alert could not be acknowledged with the incident; it may escalate",
                exc_info=True,
                extra={"incident_id": incident.id, "facility_id": incident.facility_id},
            )
            return []

    def resolve(self, uow: UnitOfWork, incident: DbRow, faults: list[str], at: datetime) -> bool:
        """Resolve the incident's alerts as of ``at``; True when the routing will say so."""
        if self.alerts is None:
            return False
        resolved = False
        try:
            with uow.savepoint():
                for fault in faults:
                    resolved = self.alerts.resolve(uow, incident_fingerprint(incident, fault), at) or resolved
        except Exception:
            log.critical(
                "a recovered camera's incident alert could not be resolved; the supervisor is told directly",
                exc_info=True,
                extra={"incident_id": incident.id, "facility_id": incident.facility_id},
            )
            return False
        # Resolved even when not dispatched (the alert list stays true), but then nobody hears.
        return resolved and self.routed
