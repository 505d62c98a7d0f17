"""Test harness: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a schema of their own per run (``ww_test_<pid>_<random>``), migrated
once and truncated between tests, so concurrent runs on the shared server never collide.
SQLite tests copy a migrated template file into the test's temporary directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright
from sqlalchemy import create_engine, text

from wardwatch.kernel import migrate
from wardwatch.kernel.db import Database, metadata
from web_support import launch

PG_BASE = os.environ.get("WARDWATCH_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres")

# Browser assertions wait for the page, not for a clock: on a shared 2-core machine a
# sign-in (a password hash) under load can take longer than Playwright's 5 s default.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    schema = f"ww_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_engine(PG_BASE)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # pragma: no cover - environment problem, reported loudly
        pytest.fail(f"PostgreSQL at {PG_BASE} is required for the test suite: {exc}")
    db = Database(pg_url(schema))
    migrate.upgrade(db)
    db.dispose()
    yield schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def pg_url(schema: str) -> str:
    return f"{PG_BASE}?options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "wardwatch.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A migrated, empty database for this test on the chosen backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "data" / "wardwatch.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(template, target)
        return f"sqlite:///{target}"
    schema: str = request.getfixturevalue("pg_schema")
    url = pg_url(schema)
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


def make_database(backend: str, directory: Path, template: Path | None) -> tuple[str, Callable[[], None]]:
    """A migrated database of its own (for module-scoped worlds) and how to remove it."""
    if backend == "sqlite":
        target = directory / "wardwatch.db"
        directory.mkdir(parents=True, exist_ok=True)
        if template is not None:
            shutil.copy(template, target)
        else:
            db = Database(f"sqlite:///{target}")
            migrate.upgrade(db)
            db.dispose()
        return f"sqlite:///{target}", lambda: None
    schema = f"ww_test_{os.getpid()}_{secrets.token_hex(3)}"
    engine = create_engine(PG_BASE)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(pg_url(schema))
    migrate.upgrade(db)
    db.dispose()

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    return pg_url(schema), drop


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, one per test module (a module's pages share it)."""
    with sync_playwright() as playwright:
        yield launch(playwright)
