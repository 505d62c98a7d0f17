"""Sealed secrets, derived keys and strict configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from wardwatch.kernel.config import load_settings
from wardwatch.kernel.crypto import Mac, SecretBox, load_master_key
from wardwatch.kernel.errors import ConfigError


def test_sealed_secret_opens_only_in_its_own_context_and_under_its_own_key(tmp_path: Path) -> None:
    master = load_master_key(tmp_path, None, create=True)
    box = SecretBox(master)
    blob = box.seal(b"cam-password", "camera:A:credentials")
    assert b"cam-password" not in blob
    assert box.open(blob, "camera:A:credentials") == b"cam-password"
    with pytest.raises(ValueError):
        box.open(blob, "camera:B:credentials")
    with pytest.raises(ValueError):
        SecretBox(bytes(32)).open(blob, "camera:A:credentials")
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0


def test_derived_keys_are_independent() -> None:
    master = bytes(range(32))
    assert Mac(master, "audit-mac").tag(b"m") != Mac(master, "other").tag(b"m")
    assert Mac(master, "audit-mac").check(b"m", Mac(master, "audit-mac").tag(b"m"))


def test_unknown_yaml_key_is_refused_naming_key_and_file(tmp_path: Path) -> None:
    (tmp_path / "wardwatch.yaml").write_text("server:\n  prot: 8000\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert "unknown setting 'server.prot'" in str(caught.value)
    assert str(tmp_path / "wardwatch.yaml") in str(caught.value)


def test_environment_overrides_yaml_and_bad_values_are_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wardwatch.yaml").write_text("server:\n  port: 9000\n  host: 0.0.0.0\n")
    monkeypatch.setenv("WARDWATCH_SERVER__PORT", "9100")
    settings = load_settings(tmp_path)
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9100)
    monkeypatch.setenv("WARDWATCH_SERVER__PORT", "not-a-port")
    with pytest.raises(ConfigError, match=r"server\.port"):
        load_settings(tmp_path)


def test_invalid_yaml_and_database_url_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "wardwatch.yaml").write_text("server: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(tmp_path)
    (tmp_path / "wardwatch.yaml").write_text("")
    monkeypatch.setenv("WARDWATCH_DATABASE_URL", "postgresql://db.example/ww")
    assert load_settings(tmp_path).effective_database_url == "postgresql://db.example/ww"
    monkeypatch.delenv("WARDWATCH_DATABASE_URL")
    assert load_settings(tmp_path).effective_database_url.startswith("sqlite:///")
