"""Metrics behind a scrape token; JSON logs that never carry a secret."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from support import PASSWORD, build_world, ready_camera_body
from wardwatch.api.app import create_app
from wardwatch.kernel.logging import JsonFormatter, redact


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(tmp_path / "data", database_url, now, metrics={"token": "scrape-me-please"})
    yield w
    w.container.close()


def test_metrics_need_the_scrape_token(world) -> None:
    with TestClient(create_app(world.container, manage_lifecycle=False)) as client:
        client.get("/healthz")
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
        ok = client.get("/metrics", headers={"authorization": "Bearer scrape-me-please"})
        assert ok.status_code == 200
        assert 'wardwatch_http_requests_total{method="GET",route="/healthz",status="200"}' in ok.text


def test_logs_are_json_and_never_contain_secrets(world) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    camera_secret = "cam-Secret-Value-42"
    try:
        with TestClient(create_app(world.container, manage_lifecycle=False)) as client:
            login = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
            csrf = login.json()["csrf_token"]
            client.post(
                "/api/v1/cameras",
                headers={"x-csrf-token": csrf},
                json=ready_camera_body(world.ids["fac_a_corridor"], username="u", password=camera_secret),
            )
            client.post("/api/v1/auth/login", json={"username": "admin", "password": "typo-" + PASSWORD})
        logging.getLogger("probe").warning("connecting to rtsp://user:pw@cam/1 with token=abc123")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    output = stream.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert any(line.get("route") == "/api/v1/cameras" for line in lines)
    for secret in (PASSWORD, camera_secret, csrf, "user:pw@", "abc123"):
        assert secret not in output


def test_redaction_catches_tokens_and_url_credentials() -> None:
    text = (
        "Authorization: Bearer wwt_0011_secretpart password=hunter2 rtsp://admin:pw@10.0.0.1/live wws_abcd_ef"
    )
    cleaned = redact(text)
    for leaked in ("secretpart", "hunter2", "admin:pw", "wws_abcd_ef"):
        assert leaked not in cleaned
