"""Wiring: builds the real adapters and services from settings (the composition root)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from wardwatch.access.mqtt import MqttCollector
from wardwatch.access.wing import Access, build_access
from wardwatch.alerts.dispatcher import AlertDispatcher
from wardwatch.alerts.inbox import Inbox
from wardwatch.alerts.service import AlertService
from wardwatch.alerts.silences import Silences
from wardwatch.alerts.wiring import announce_channels, build_alerts, open_alert_items
from wardwatch.audit.log import AuditLog
from wardwatch.audit.note import NoteError, Signer
from wardwatch.audit.service import AuditService
from wardwatch.audit.worker import CheckpointScheduler
from wardwatch.authz.model import RoleCatalog
from wardwatch.authz.passwords import Passwords
from wardwatch.authz.service import AccountService
from wardwatch.duty.service import DutyService
from wardwatch.health.metrics import HealthCollector
from wardwatch.health.wing import HealthWing, build_health
from wardwatch.health.wiring import open_incident_items
from wardwatch.kernel.bus import EventBus, InProcessBus
from wardwatch.kernel.clock import Clock, SystemClock
from wardwatch.kernel.config import Settings
from wardwatch.kernel.crypto import (
    Mac,
    SecretBox,
    derive_key,
    load_master_key,
    write_private_file,
)
from wardwatch.kernel.db import Database
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import ConfigError
from wardwatch.kernel.outbox import OutboxRelay
from wardwatch.kernel.periodic import Periodic
from wardwatch.media.clips import ClipExporter
from wardwatch.media.holds import LegalHolds
from wardwatch.media.live import LiveHub, registry_credentials
from wardwatch.media.metrics import MediaCollector
from wardwatch.media.playback import Playback
from wardwatch.media.recorder import RecorderSupervisor
from wardwatch.media.retention import RetentionService
from wardwatch.media.service import MediaIndex
from wardwatch.media.views import ViewSessions
from wardwatch.registry.service import RegistryService
from wardwatch.rules.wing import RulesWing, build_rules

log = logging.getLogger(__name__)

AUDIT_MAC_PURPOSE = "audit-mac"


@dataclass(frozen=True)
class Keys:
    master: bytes
    signer: Signer

    @property
    def audit_mac(self) -> Mac:
        return Mac(self.master, AUDIT_MAC_PURPOSE)

    @property
    def audit_mac_key(self) -> bytes:
        return derive_key(self.master, AUDIT_MAC_PURPOSE)


def signing_key_path(settings: Settings) -> Path:
    return settings.keys_dir / "audit-signing.key"


def load_keys(settings: Settings, *, create: bool = False) -> Keys:
    """The master key and the checkpoint signing key; made on first ``init``."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    master = load_master_key(settings.keys_dir, secret, create=create)
    path = signing_key_path(settings)
    if not path.exists():
        if not create:
            raise ConfigError(f"{path}: audit signing key missing; run 'wardwatch init' first")
        write_private_file(path, (Signer.generate(settings.audit.origin).encode() + "\n").encode())
        public = Signer.parse(path.read_text()).verifier.encode()
        (settings.keys_dir / "audit-verifier.vkey").write_text(public + "\n")
    try:
        signer = Signer.parse(path.read_text())
    except NoteError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if signer.name != settings.audit.origin:
        raise ConfigError(f"{path}: signs as '{signer.name}' but audit.origin is '{settings.audit.origin}'")
    return Keys(master, signer)


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: Clock
    keys: Keys
    bus: EventBus
    relay: OutboxRelay
    audit: AuditLog
    deps: Deps
    roles: RoleCatalog
    registry: RegistryService
    accounts: AccountService
    audit_service: AuditService
    media: MediaIndex
    views: ViewSessions
    inbox: Inbox
    holds: LegalHolds
    retention: RetentionService
    playback: Playback
    clips: ClipExporter
    checkpoints: CheckpointScheduler
    live: LiveHub
    access: Access
    alerts: AlertService
    silences: Silences
    alert_dispatcher: AlertDispatcher
    duty: DutyService
    health: HealthWing
    rules: RulesWing
    metrics_registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    extensions: dict[str, Any] = field(default_factory=dict)
    recorder: RecorderSupervisor | None = None
    workers: list[Periodic] = field(default_factory=list)
    _started: bool = False

    def start(self, *, record: bool | None = None) -> None:
        """Start background work: events, outbox recovery, checkpoints and, if enabled, recording."""
        if self._started:
            return
        self.bus.start()
        self.relay.start()
        self.relay.notify()
        self.views.close_stale(restart=True)
        self.clips.discard_staged()
        self.health.resume()  # before recording reports anything new
        self.checkpoints.start()
        self.access.start()
        self.rules.start()
        self.workers = [
            Periodic("media-sessions", 60, self.views.close_stale, "closing expired viewing sessions failed")
        ]
        if self.db.dialect == "sqlite":
            self.workers.append(
                Periodic(
                    "db-checkpoint",
                    1.0,
                    self.db.checkpoint,
                    "the database's write-ahead log could not be checkpointed; it grows until it is",
                )
            )
        if self.settings.media.retention:
            self.workers.append(
                Periodic(
                    "media-retention",
                    self.settings.media.retention_interval_s,
                    self.retention.run_once,
                    "retention sweep failed; footage may outlive its retention",
                )
            )
        if self.settings.duty.coverage_check:
            self.workers.append(
                Periodic(
                    "duty-coverage",
                    self.settings.duty.coverage_check_interval_s,
                    self.duty.check_live_gaps,
                    "duty coverage check failed; a facility without anyone on duty may go unnoticed",
                )
            )
        if self.settings.alerts.dispatch:
            announce_channels(self.deps)
            self.workers.append(
                Periodic(
                    "alerts-dispatch",
                    self.settings.alerts.tick_s,
                    self.alert_dispatcher.tick,
                    "alert dispatch failed; notifications, escalations and retries may be late",
                )
            )
        for worker in self.workers:
            worker.start()
        if self.settings.media.record if record is None else record:
            self.start_recording()
        # After recording: while the recorder runs, its stream states say whether video arrives.
        self.health.start(recording=lambda: self.recorder is not None)
        self._started = True

    def start_recording(self) -> RecorderSupervisor:
        if self.recorder is None:
            recorder = RecorderSupervisor(
                self.settings.data,
                self.media.record,
                self.media.jobs,
                workers=self.settings.media.recorder_workers,
            )
            recorder.start()
            self.bus.subscribe("recorder-sync", lambda _event: recorder.sync(), types=["registry.camera.*"])
            self.recorder = recorder
        return self.recorder

    def stop(self) -> None:
        self.live.stop()  # live pullers run whether or not background work was started
        self.access.stop()  # so does the MQTT subscriber (with the intake it feeds)
        self.health.stop()  # before the outbox relay: every camera's state becomes unknown
        if self.recorder is not None:
            self.recorder.stop()
            self.recorder = None
        if not self._started:
            return
        for worker in self.workers:
            worker.stop()
        self.workers = []
        self.checkpoints.stop()
        self.rules.stop()
        self.relay.stop()
        self.bus.stop()
        self._started = False

    def close(self) -> None:
        self.stop()
        self.alert_dispatcher.close()
        self.db.dispose()


def build_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    create_keys: bool = False,
    db: Database | None = None,
) -> Container:
    keys = load_keys(settings, create=create_keys)
    clock = clock or SystemClock()
    database = db or Database(settings.effective_database_url)
    bus = InProcessBus()
    relay = OutboxRelay(database, bus)
    audit = AuditLog(keys.audit_mac, keys.signer, clock, settings.data / "checkpoints")
    deps = Deps(
        settings=settings, db=database, clock=clock, audit=audit, box=SecretBox(keys.master), relay=relay
    )
    try:
        roles = RoleCatalog({k: v.permissions for k, v in settings.authz.custom_roles.items()})
    except ValueError as exc:
        raise ConfigError(f"authz.custom_roles: {exc}") from exc
    unknown = set(settings.auth.mfa_required_roles) - set(roles.names())
    if unknown:
        raise ConfigError(f"auth.mfa_required_roles: unknown roles {sorted(unknown)}")
    registry = RegistryService(deps)
    passwords = Passwords(settings.auth.argon2_time_cost, settings.auth.argon2_memory_kib)
    accounts = AccountService(deps, registry, roles, passwords)
    audit_service = AuditService(deps, audit, registry, keys.audit_mac, keys.audit_mac_key)
    media = MediaIndex(deps, registry)
    views = ViewSessions(deps, registry)
    inbox = Inbox(deps, accounts)
    checkpoints = CheckpointScheduler(database, audit, settings.audit.checkpoint_interval_s)
    alerts = build_alerts(deps, registry, accounts, inbox, roles)
    access = build_access(deps, registry, accounts, inbox)
    container = Container(
        settings=settings,
        db=database,
        clock=clock,
        keys=keys,
        bus=bus,
        relay=relay,
        audit=audit,
        deps=deps,
        roles=roles,
        registry=registry,
        accounts=accounts,
        audit_service=audit_service,
        media=media,
        views=views,
        inbox=inbox,
        holds=LegalHolds(deps, registry),
        retention=RetentionService(deps, registry, inbox),
        playback=Playback(deps, views),
        clips=ClipExporter(deps, views),
        checkpoints=checkpoints,
        access=access,
        live=LiveHub(
            registry_credentials(database, registry),
            transport=settings.media.transport,
            read_timeout_s=settings.media.read_timeout_s,
        ),
        alerts=alerts.service,
        silences=alerts.silences,
        alert_dispatcher=alerts.dispatcher,
        duty=DutyService(deps, registry, accounts, inbox),
        health=build_health(deps, registry, roles, inbox, views, bus, alerts.service),
        rules=build_rules(deps, access, alerts.service, registry, bus),
    )
    # Breach reports cite exported clips; the media wing says whose camera a clip is.
    container.duty.register_media_ref(
        "clip", lambda principal, clip_id: container.clips.get(principal, clip_id).camera_id
    )
    # Handovers list the alerts still open under the shift's facilities.
    container.duty.register_open_items("alert", open_alert_items(container.alerts, settings.default_locale))
    container.duty.register_open_items("incident", open_incident_items(settings.default_locale))
    container.metrics_registry.register(MediaCollector(container.retention))
    container.metrics_registry.register(HealthCollector(database, container.health.stats))
    container.metrics_registry.register(MqttCollector(container.access.mqtt))
    return container
