"""The health wing assembled: states, incidents, evidence, the analysis workers and the jobs.

The container builds one ``HealthWing``, starts it after recording (so that stream states
from the recorder are the ones that count while it runs) and stops it before recording,
leaving every camera's state unknown from then on rather than frozen at its last value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection

from wardwatch.alerts.inbox import Inbox
from wardwatch.alerts.service import AlertService
from wardwatch.authz.model import RoleCatalog
from wardwatch.authz.principal import Principal
from wardwatch.health.evidence import EvidenceStore
from wardwatch.health.incidents import IncidentService, open_incidents
from wardwatch.health.messages import WorkerStats
from wardwatch.health.schemas import IncidentSummary, RebaselineView
from wardwatch.health.service import HealthService
from wardwatch.health.worker import HealthSupervisor
from wardwatch.kernel.bus import Event, EventBus
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.periodic import Periodic
from wardwatch.media.views import ViewSessions
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)


@dataclass
class HealthWing:
    deps: Deps
    service: HealthService
    incidents: IncidentService
    evidence: EvidenceStore
    supervisor: HealthSupervisor | None = None
    workers: list[Periodic] = field(default_factory=list)

    def open_incidents(self, conn: Connection, node_paths: list[str]) -> list[IncidentSummary]:
        """Unclosed incidents under ``node_paths`` (duty handovers list them)."""
        return open_incidents(conn, node_paths)

    def resume(self) -> None:
        """Before recording starts: what a previous run left standing is unknown from now on."""
        self.service.resume()

    def start(self, *, recording: Callable[[], bool]) -> None:
        settings = self.deps.settings.health
        self.service.recording = recording
        self.service.refresh_cameras()
        self.service.forget_inactive()
        self.workers = [
            Periodic(
                "health-incidents",
                settings.incident_check_s,
                self.tick,
                "camera incident check failed; a lasting fault may not open an incident",
            ),
            Periodic(
                "health-evidence",
                settings.evidence_retention_check_s,
                self.evidence.sweep,
                "evidence retention sweep failed; evidence keyframes may outlive their retention",
            ),
        ]
        for worker in self.workers:
            worker.start()
        if settings.analysis:
            self.start_analysis()

    def tick(self) -> None:
        """The periodic work: states past the analysis grace period, then incidents."""
        self.service.reassess()
        self.incidents.check()

    def start_analysis(self) -> HealthSupervisor:
        if self.supervisor is None:
            supervisor = HealthSupervisor(
                self.service.handle,
                self.service.jobs,
                workers=self.deps.settings.health.workers,
                on_worker_died=self._worker_died,
            )
            supervisor.start()
            self.supervisor = supervisor
        return self.supervisor

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        for worker in self.workers:
            worker.stop()
        if self.workers:
            try:
                self.service.suspend_all()
            except Exception:
                log.exception("could not mark the cameras' health unknown at shutdown")
        self.workers = []

    def sync(self, _event: Event | None = None) -> None:
        """A camera was added, changed, activated or deactivated."""
        self.service.refresh_cameras()
        if self.supervisor is not None:
            self.supervisor.sync()
        self.service.forget_inactive()

    def stats(self) -> list[WorkerStats]:
        return self.supervisor.stats() if self.supervisor is not None else []

    def rebaseline(self, principal: Principal, camera_id: str) -> RebaselineView:
        found = self.service.forget_baseline(principal, camera_id)
        relearning = self.supervisor.rebaseline(found) if self.supervisor is not None else False
        return RebaselineView(camera_id=found, relearning=relearning)

    def _worker_died(self, worker: int, exitcode: int | None) -> None:
        log.error(
            "camera pictures are unwatched while their analysis worker restarts", extra={"worker": worker}
        )
        if self.supervisor is not None:
            self.service.analyser_lost(self.supervisor.cameras_of(worker))


def build_health(
    deps: Deps,
    registry: RegistryService,
    roles: RoleCatalog,
    inbox: Inbox,
    views: ViewSessions,
    bus: EventBus,
    alerts: AlertService | None = None,
) -> HealthWing:
    """The wing; with ``alerts``, incidents reach the supervisor through the alert routing."""
    service = HealthService(deps, registry, roles)
    incidents = IncidentService(deps, registry, inbox, service.camera, alerts)
    service.on_change.append(incidents.on_state)
    wing = HealthWing(deps, service, incidents, EvidenceStore(deps, registry, views))
    bus.subscribe("health-stream-status", service.on_stream_status, types=["media.stream.status"])
    bus.subscribe("health-camera-sync", wing.sync, types=["registry.camera.*"])
    return wing
