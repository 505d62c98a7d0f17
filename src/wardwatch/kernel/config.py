"""Validated configuration from environment variables and an optional YAML file.

Precedence: explicit overrides (CLI flags) > ``WARDWATCH_*`` environment > YAML file >
defaults. Unknown keys anywhere are refused with a message that names the key and file,
because a misspelt security setting silently falling back to a default is worse than
refusing to start.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# The alerts section is long (a route tree); it lives beside its wing, pure pydantic.
from wardwatch.alerts.config import AlertSettings
from wardwatch.kernel.errors import ConfigError

_yaml_values: ContextVar[dict[str, Any]] = ContextVar("wardwatch_yaml_values", default={})  # noqa: B039

Locale = Literal["vi", "zh-Hans", "en"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    cookie_secure: bool = True
    session_idle_minutes: int = Field(30, ge=1)
    session_max_hours: int = Field(12, ge=1)
    cpu_affinity: list[int] | None = None
    """CPUs ``wardwatch serve`` runs its own threads on (worker processes use every CPU).
    One core is what the event path needs (its threads share the GIL) and what keeps it
    fast next to other work; None leaves the placement to the operating system."""


class AuthSettings(_Section):
    lockout_threshold: int = Field(5, ge=1)
    lockout_minutes: int = Field(15, ge=1)
    mfa_required_roles: list[str] = ["administrator", "account_administrator", "auditor"]
    password_min_length: int = Field(12, ge=8)
    activation_hours: int = Field(72, ge=1)
    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65536, ge=1024)


class RoleDefinition(_Section):
    permissions: list[str]


class AuthzSettings(_Section):
    custom_roles: dict[str, RoleDefinition] = {}


class AuditSettings(_Section):
    origin: str = "wardwatch.local/audit"
    checkpoint_interval_s: int = Field(300, ge=5)
    verify_workers: int = Field(2, ge=1, le=64)

    @field_validator("origin")
    @classmethod
    def _origin_is_a_note_name(cls, value: str) -> str:
        if not value or any(ch.isspace() for ch in value) or "+" in value:
            raise ValueError("origin must be non-empty, without spaces or '+'")
        return value


class MediaSettings(_Section):
    segment_seconds: float = Field(10, ge=2, le=600)
    recorder_workers: int = Field(2, ge=1, le=32)
    transport: Literal["tcp", "udp"] = "tcp"
    read_timeout_s: float = Field(3, ge=1, le=60)
    read_batch_s: float = Field(0.5, ge=0, le=0.8)
    """How long a caught-up ingest thread lets frames gather before reading them (0: per frame).

    Longer batches cost less CPU; what a killed recorder can lose grows with them (about
    1.5 batches + the 0.5 s fragment + a frame), and the issue allows 2 s per camera.
    """
    record: bool = True
    disk_warning_pct: float = Field(85, gt=0, lt=100)
    disk_critical_pct: float = Field(95, gt=0, le=100)
    disk_target_pct: float = Field(90, gt=0, lt=100)
    """Under critical pressure, the oldest unheld footage goes until usage is below this."""
    storage_quota_gb: float | None = Field(None, gt=0)
    """A cap on the recordings' size; usage is the larger of disk fill and quota use."""
    retention: bool = True
    """Run the retention sweeper and the disk-pressure check in the server."""
    retention_interval_s: int = Field(300, ge=5)
    playback_max_hours: float = Field(24, gt=0, le=24 * 31)
    playback_session_minutes: int = Field(60, ge=1, le=24 * 60)
    clip_max_minutes: float = Field(60, gt=0, le=24 * 60)
    clip_retention_days: int = Field(90, ge=1, le=3650)
    """Exported clips are kept this long (unless a legal hold covers them), then deleted, audited."""

    @model_validator(mode="after")
    def _thresholds_in_order(self) -> MediaSettings:
        if not self.disk_target_pct < self.disk_critical_pct:
            raise ValueError("disk_target_pct must be below disk_critical_pct")
        if not self.disk_warning_pct < self.disk_critical_pct:
            raise ValueError("disk_warning_pct must be below disk_critical_pct")
        return self


class MqttSettings(_Section):
    """The broker door terminals publish their events to (``access`` wing)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = "wardwatch"
    """Events arrive on ``<topic_prefix>/<facility id>/doors/<door id>/events``."""
    client_id: str = ""
    """Set it for a persistent session (QoS 1 events queued while WardWatch is down are kept);
    empty: a fresh id and a clean session at every start."""
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    keepalive_s: int = Field(30, ge=5, le=3600)
    reconnect_min_s: float = Field(1, gt=0, le=60)
    reconnect_max_s: float = Field(60, gt=0, le=3600)

    @field_validator("topic_prefix")
    @classmethod
    def _plain_topic_level(cls, value: str) -> str:
        if not value or any(ch in value for ch in "#+") or value.startswith("/") or value.endswith("/"):
            raise ValueError("topic_prefix must be non-empty, without wildcards or outer slashes")
        return value


class AccessSettings(_Section):
    """Practitioner register, door terminals and door events."""

    mqtt: MqttSettings = MqttSettings()
    door_professions: dict[str, list[str]] = {
        "facility_entrance": ["physician", "surgeon", "anaesthetist", "nurse", "other"],
        "surgical_area_entrance": ["physician", "surgeon", "anaesthetist", "nurse"],
        "operating_room_door": ["physician", "surgeon", "anaesthetist", "nurse"],
    }
    """Which professions a door of each kind admits (besides a valid licence)."""
    late_after_s: int = Field(300, ge=1)
    """An event whose time is this much older than its arrival is late (windows re-evaluated)."""
    max_future_s: int = Field(300, ge=0)
    """An event stamped further ahead of WardWatch's clock than this is refused (bad clock)."""
    max_batch: int = Field(1000, ge=1, le=100_000)
    intake_linger_ms: float = Field(10.0, ge=0, le=1000)
    """How long the door-event intake gathers messages after the first before storing them
    together (group commit): added latency for fewer, larger transactions under load."""
    directory_max_age_s: float = Field(10.0, ge=0, le=3600)
    """How long the door-event intake trusts what it read of terminals, doors and rooms when
    a change could have come from another process (this process's own changes apply at once);
    0 reads them for every turn."""
    import_max_bytes: int = Field(20_000_000, ge=1024)
    import_max_rows: int = Field(100_000, ge=1)

    @field_validator("door_professions")
    @classmethod
    def _known_kinds_and_professions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        kinds = {"facility_entrance", "surgical_area_entrance", "operating_room_door"}
        professions = {"physician", "surgeon", "anaesthetist", "nurse", "other"}
        unknown = sorted(set(value) - kinds) + sorted({p for ps in value.values() for p in ps} - professions)
        if unknown:
            raise ValueError(f"unknown door kinds or professions: {unknown}")
        missing = sorted(kinds - set(value))
        if missing:
            raise ValueError(f"door kinds without professions: {missing}")
        return value


class DutySettings(_Section):
    """The duty roster's rules: when an assigned shift counts as taken, and the live gap check."""

    takeover_grace_minutes: int = Field(15, ge=0, le=240)
    """A shift counts as staffed for this long after its start even before anyone takes it;
    after that, until an operator takes it (acknowledges the handover), it is a gap."""
    takeover_early_minutes: int = Field(30, ge=0, le=240)
    """How long before its start an operator may take a shift."""
    max_shift_hours: float = Field(24, gt=0, le=72)
    coverage_max_days: int = Field(31, ge=1, le=366)
    """The longest range one coverage query may span."""
    coverage_check: bool = True
    """Run the live coverage check in the server (a notice per gap to the facility supervisor)."""
    coverage_check_interval_s: int = Field(60, ge=5)
    live_gap_scope: Literal["rostered", "all"] = "rostered"
    """``rostered``: watch facilities that have had a shift; ``all``: every facility."""
    handover_item_kinds: list[str] = ["incident", "alert"]
    """Open items every handover must list; a kind no wing provides is shown as unavailable."""
    handover_next_shift_minutes: int = Field(60, ge=0, le=24 * 60)
    """How long after the outgoing shift ends the incoming one may start to be picked for it."""


class HealthSettings(_Section):
    """Camera health analytics and incidents (``health`` wing).

    The picture checks compare each camera with its own learnt normal; the ratios below
    say how far from it a keyframe must fall, the ``*_confirm`` counts for how many
    analysed keyframes in a row, before the condition is reported.
    """

    analysis: bool = True
    """Run the picture analysis workers in the server."""
    workers: int = Field(1, ge=1, le=16)
    stream: Literal["sub", "main"] = "sub"
    """Analyse the camera's sub stream (its main stream where it has none)."""
    keyframe_interval_s: float = Field(2.0, ge=0.5, le=60)
    """At most one keyframe per this many seconds is decoded and analysed."""
    analysis_width: int = Field(320, ge=64, le=1920)
    read_timeout_s: float = Field(5, ge=1, le=60)
    stall_s: float = Field(3, ge=0.5, le=60)
    """No packet for this long on the analysis connection: the camera has stalled."""
    analysis_grace_s: float = Field(20, ge=0, le=600)
    """How long the recorder must go on receiving video after the analysis connection failed
    before the camera counts as degraded (picture unchecked) rather than offline."""
    learn_samples: int = Field(10, ge=3, le=10_000)
    """Healthy keyframes a camera's normal is learnt from before it is relied on."""
    baseline_save_s: float = Field(60, ge=5, le=3600)
    black_uniform: float = Field(0.9, gt=0.5, le=1)
    black_confirm: int = Field(2, ge=1, le=100)
    covered_ratio: float = Field(0.4, gt=0, lt=1)
    covered_confirm: int = Field(3, ge=1, le=100)
    frozen_ratio: float = Field(0.5, gt=0, lt=1)
    frozen_confirm: int = Field(3, ge=2, le=100)
    moved_similarity: float = Field(0.8, gt=0, lt=1)
    moved_confirm: int = Field(5, ge=1, le=100)
    degraded_fps_ratio: float = Field(0.5, gt=0, lt=1)
    degraded_bitrate_ratio: float = Field(0.2, gt=0, lt=1)
    degraded_confirm: int = Field(10, ge=1, le=1000)
    recover_confirm: int = Field(2, ge=1, le=100)
    incident_debounce_s: float = Field(60, ge=0, le=86_400)
    """A fault must last this long before it opens an incident."""
    fallback_after_minutes: float = Field(30, gt=0, le=7 * 24 * 60)
    """An outage longer than this needs a recorded fallback supervision measure to close."""
    incident_check_s: float = Field(5, ge=0.5, le=3600)
    evidence_width: int = Field(320, ge=64, le=1920)
    evidence_retention_check_s: int = Field(3600, ge=60)


class RulesSettings(_Section):
    """The rule engine (``rules`` wing): which rule files are in force and how windows close."""

    builtin: bool = True
    """Load the built-in rule pack (R1-R9) shipped in the package."""
    directories: list[Path] = []
    """Directories of further rule files (``*.yaml``); a rule there replaces a built-in one of its id."""
    disabled: list[str] = []
    """Rule ids not evaluated (their firing alerts resolve at the next start)."""
    evaluate: bool = True
    """Run the engine in the server (consume door and schedule events, close windows)."""
    close_grace_s: int = Field(120, ge=0, le=86_400)
    """How long after a window's end its ``at_close`` rules wait for late events before judging."""
    tick_s: float = Field(5, ge=0.1, le=3600)
    """How often windows whose end has passed are closed and judged."""
    lookback_days: int = Field(2, ge=0, le=60)
    """At start, the days this far back of every facility with operations are evaluated again;
    facts older than this are dropped from memory (a late event reads them back)."""


class MetricsSettings(_Section):
    token: SecretStr | None = None


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = True


class Settings(BaseSettings):
    """Everything WardWatch can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="WARDWATCH_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data: Path = Path("wardwatch-data")
    database_url: str | None = None
    secret_key: SecretStr | None = None
    default_locale: Locale = "en"
    server: ServerSettings = ServerSettings()
    auth: AuthSettings = AuthSettings()
    authz: AuthzSettings = AuthzSettings()
    audit: AuditSettings = AuditSettings()
    media: MediaSettings = MediaSettings()
    health: HealthSettings = HealthSettings()
    duty: DutySettings = DutySettings()
    metrics: MetricsSettings = MetricsSettings()
    access: AccessSettings = AccessSettings()
    alerts: AlertSettings = AlertSettings()
    rules: RulesSettings = RulesSettings()
    logging: LoggingSettings = LoggingSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @property
    def sqlite_path(self) -> Path:
        return self.data / "wardwatch.db"

    @property
    def effective_database_url(self) -> str:
        """The configured database, or the SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.sqlite_path.resolve()}"

    @property
    def keys_dir(self) -> Path:
        return self.data / "keys"


class _YamlSource(PydanticBaseSettingsSource):
    """Feeds the already-parsed YAML mapping into pydantic-settings at the lowest precedence."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        values = _yaml_values.get()
        return values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_yaml_values.get())


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    return loaded


def _describe(exc: ValidationError, origin: str) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{origin}: unknown setting '{where}'")
        else:
            lines.append(f"{origin}: {where}: {err['msg']}")
    return "; ".join(lines)


def config_file_for(data: Path, explicit: Path | None = None) -> Path | None:
    """The YAML file to read: an explicit one, ``WARDWATCH_CONFIG``, or ``<data>/wardwatch.yaml``."""
    if explicit is not None:
        return explicit
    env = os.environ.get("WARDWATCH_CONFIG")
    if env:
        return Path(env)
    candidate = data / "wardwatch.yaml"
    return candidate if candidate.exists() else None


def load_settings(data: Path | None = None, config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build validated settings; raises ConfigError with a one-line, actionable message."""
    data_dir = data or Path(os.environ.get("WARDWATCH_DATA", "wardwatch-data"))
    path = config_file_for(data_dir, config_file)
    yaml_values = _read_yaml(path) if path is not None else {}
    init: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    if data is not None:
        init["data"] = data
    token = _yaml_values.set(yaml_values)
    try:
        return Settings(**init)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, str(path) if path else "environment")) from exc
    finally:
        _yaml_values.reset(token)
