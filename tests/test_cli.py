"""The command line: init, migrate, verify, checkpoint; clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from wardwatch.cli import app

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, backend: str):
    monkeypatch.setenv("WARDWATCH_LANG", "en")
    monkeypatch.setenv("WARDWATCH_AUTH__ARGON2_TIME_COST", "1")
    monkeypatch.setenv("WARDWATCH_AUTH__ARGON2_MEMORY_KIB", "1024")
    if backend == "postgres":
        monkeypatch.setenv("WARDWATCH_DATABASE_URL", database_url)
        return None
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    return database_url


def test_init_reads_the_password_from_the_environment_then_verify_passes(
    tmp_path: Path, cli_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "fresh"
    monkeypatch.setenv("WARDWATCH_ADMIN_PASSWORD", "an-admin-passphrase")
    result = runner.invoke(app, ["init", "--data", str(data), "--admin", "nam.admin"])
    assert result.exit_code == 0, result.output
    assert "an-admin-passphrase" not in result.output
    assert (data / "keys" / "secret.key").stat().st_mode & 0o077 == 0
    assert (data / "checkpoints" / "latest.checkpoint").read_text().count("\n") == 5
    again = runner.invoke(app, ["init", "--data", str(data), "--admin", "nam.admin"])
    assert again.exit_code == 1
    assert "already holds an initialised WardWatch" in again.output
    verified = runner.invoke(app, ["audit", "verify", "--data", str(data), "--json"])
    assert verified.exit_code == 0 and '"ok": true' in verified.output
    checkpoint = runner.invoke(
        app, ["audit", "checkpoint", "--data", str(data), "--out", str(tmp_path / "cp.txt")]
    )
    assert checkpoint.exit_code == 0
    assert (tmp_path / "cp.txt").read_text() == checkpoint.output
    witness = runner.invoke(
        app, ["audit", "verify", "--data", str(data), "--checkpoint", str(tmp_path / "cp.txt")]
    )
    assert witness.exit_code == 0, witness.output


def test_weak_admin_password_is_refused_and_nothing_is_half_written(
    tmp_path: Path, cli_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARDWATCH_ADMIN_PASSWORD", "short")
    data = tmp_path / "weak"
    result = runner.invoke(app, ["init", "--data", str(data), "--admin", "nam.admin"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "Use at least 12 characters" in result.output
    assert not data.exists(), "a refused init leaves nothing behind"
    monkeypatch.setenv("WARDWATCH_ADMIN_PASSWORD", "a-good-passphrase")
    retry = runner.invoke(app, ["init", "--data", str(data), "--admin", "nam.admin"])
    assert retry.exit_code == 0, retry.output


def test_missing_password_without_a_terminal_and_bad_config_fail_in_one_line(
    tmp_path: Path, cli_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WARDWATCH_ADMIN_PASSWORD", raising=False)
    result = runner.invoke(app, ["init", "--data", str(tmp_path / "x"), "--admin", "a"])
    assert result.exit_code == 1 and "WARDWATCH_ADMIN_PASSWORD" in result.output
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "wardwatch.yaml").write_text("audit:\n  origni: x\n")
    bad = runner.invoke(app, ["audit", "verify", "--data", str(tmp_path / "bad")])
    assert bad.exit_code == 1
    assert bad.output.strip().count("\n") == 0
    assert "unknown setting 'audit.origni'" in bad.output
    uninit = runner.invoke(app, ["audit", "verify", "--data", str(tmp_path / "nothing")])
    assert uninit.exit_code == 1 and "run 'wardwatch init' first" in uninit.output


def test_messages_follow_the_users_language(tmp_path: Path, cli_env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDWATCH_LANG", "vi")
    monkeypatch.delenv("WARDWATCH_ADMIN_PASSWORD", raising=False)
    from wardwatch.cli import _cli_locale
    from wardwatch.kernel.context import locale_var

    token = locale_var.set("en")
    _cli_locale()
    result = runner.invoke(app, ["init", "--data", str(tmp_path / "x"), "--admin", "a"])
    locale_var.reset(token)
    assert result.exit_code == 1 and "WARDWATCH_ADMIN_PASSWORD" in result.output
    assert "hoặc" in result.output or "đặt" in result.output.lower()


def test_migrate_is_idempotent_and_audits_an_upgrade(
    tmp_path: Path, cli_env, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    from sqlalchemy import text

    from wardwatch.instance import open_instance
    from wardwatch.kernel.config import load_settings

    data = tmp_path / "m"
    monkeypatch.setenv("WARDWATCH_ADMIN_PASSWORD", "an-admin-passphrase")
    assert runner.invoke(app, ["init", "--data", str(data), "--admin", "nam.admin"]).exit_code == 0
    from wardwatch.kernel import migrate as migrations
    from wardwatch.kernel.db import Database

    head = migrations.head_revision(Database("sqlite:///" + str(tmp_path / "unused.db")))
    same = runner.invoke(app, ["migrate", "--data", str(data)])
    assert same.exit_code == 0 and str(head) in same.output and "Upgraded" not in same.output
    container = open_instance(load_settings(data))
    with container.db.write() as conn:  # pretend the schema is one revision older
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    container.close()
    # Stand-in for a newer release's migration: it only moves the revision forward.
    monkeypatch.setattr("wardwatch.kernel.migrate.upgrade", lambda db, revision="head": _stamp(db, str(head)))
    upgraded = runner.invoke(app, ["migrate", "--data", str(data)])
    assert upgraded.exit_code == 0 and "Upgraded from revision 0000" in upgraded.output
    container = open_instance(load_settings(data))
    with container.db.read() as conn:
        entries = container.audit.search(conn, scopes=None, action="system.migrate")
    container.close()
    assert [e.details for e in entries] == ['{"from":"0000","to":"' + str(head) + '"}']


def _stamp(db, revision: str) -> None:
    from sqlalchemy import text

    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
