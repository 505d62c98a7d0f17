"""The migrations build exactly the schema the code declares; the demo seeds every role and camera."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from wardwatch.authz.model import BUILTIN_ROLES
from wardwatch.cli import app
from wardwatch.demo import DEMO_PASSWORD, camera_sites
from wardwatch.kernel.db import Database, metadata
from wardwatch.registry.model import FacilityType, is_private


def test_migrated_schema_matches_the_declared_tables(database_url: str) -> None:
    db = Database(database_url)
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    db.dispose()
    assert diff == []


def test_demo_seeds_a_ministry_two_provinces_every_facility_type_and_every_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("WARDWATCH_LANG", "en")
    data = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--data", str(data), "--seed-only"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000" in result.output and DEMO_PASSWORD in result.output
    from wardwatch.instance import open_instance
    from wardwatch.kernel.config import load_settings

    container = open_instance(load_settings(data))
    try:
        admin = container.accounts.principal_of(container.accounts.users_matching_name("admin"))
        nodes = container.registry.list_nodes(admin)
        assert [n.kind for n in nodes].count("province") == 2
        assert [n.kind for n in nodes].count("ministry") == 1
        facilities = container.registry.list_facilities(admin)
        for ftype in FacilityType:
            assert sum(f.facility_type == ftype for f in facilities) >= 2
        roles = {
            b.role
            for u in container.accounts.list_users(admin)
            for b in container.accounts.list_bindings(admin, None, u.id)
        }
        assert roles == set(BUILTIN_ROLES)
        from wardwatch.api.app import create_app

        with TestClient(create_app(container, manage_lifecycle=False)) as client:
            ok = client.post("/api/v1/auth/login", json={"username": "operator", "password": DEMO_PASSWORD})
            assert ok.status_code == 200
            assert len(client.get("/api/v1/facilities").json()) == 4
        cameras = container.registry.list_cameras(admin, None)
        assert len(cameras) == len(camera_sites()) == 16
        zones = {z.id: z for f in facilities for z in container.registry.list_zones(admin, f.id)}
        for camera in cameras:
            assert camera.status == "active" and not camera.activation_missing
            assert not is_private(zones[camera.zone_id].area_type), "no camera in a private area"
            assert camera.main_url.startswith("rtsp://127.0.0.1:") and camera.sub_url
        report = container.audit_service.verify()
        assert report.ok
    finally:
        container.close()
    rerun = CliRunner().invoke(app, ["demo", "--data", str(data), "--seed-only"])
    assert rerun.exit_code == 0 and "operator" in rerun.output


def test_the_demo_never_wipes_a_directory_it_did_not_create(tmp_path: Path) -> None:
    instance = tmp_path / "real-instance"
    instance.mkdir()
    (instance / "wardwatch.db").write_bytes(b"precious")
    for args in (["--seed-only"], ["--seed-only", "--fresh"]):
        result = CliRunner().invoke(app, ["demo", "--data", str(instance), *args])
        assert result.exit_code == 1 and "not a demo data directory" in result.output
        assert (instance / "wardwatch.db").read_bytes() == b"precious"


def test_the_demo_refuses_to_listen_beyond_this_machine_unless_told(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--data", str(tmp_path / "d"), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "--expose" in result.output
    assert not (tmp_path / "d").exists()
