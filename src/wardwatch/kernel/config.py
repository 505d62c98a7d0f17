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
    metrics: MetricsSettings = MetricsSettings()
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
