"""``wardwatch demo`` starts its simulated cameras, records them, and shows them in the browser.

The real command runs as a child process (SQLite, local disk, in-process bus) on free
ports; the test talks to it over HTTP as the demo's duty operator would.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from support import wait_for
from test_sim_cameras import free_base_port
from wardwatch.bench.live import CHROMIUM, CHROMIUM_ARGS
from wardwatch.demo import DEMO_PASSWORD, camera_sites
from wardwatch.sim.process import port_open


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("demo") / "demo-data"
    camera_port = free_base_port(len(camera_sites()) + 1)
    api_port = free_base_port(1) + 50
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")}
    env["WARDWATCH_LANG"] = "en"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wardwatch.cli",
            "demo",
            "--data",
            str(data),
            "--port",
            str(api_port),
            "--camera-port",
            str(camera_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{api_port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"wardwatch demo exited with {process.returncode}")
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, 600, "the demo to serve")  # a first run encodes the cameras' loops
        yield {"base": base, "camera_port": camera_port, "data": data, "process": process}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def operator_client(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    response = client.post("/api/v1/auth/login", json={"username": "operator", "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["x-csrf-token"] = client.cookies["ww_csrf"]
    return client


def test_the_demo_records_its_cameras_and_plays_back_for_a_purpose(demo: dict[str, Any]) -> None:
    client = operator_client(demo["base"])
    try:
        cameras = client.get("/api/v1/cameras").json()
        assert len(cameras) == sum(1 for key, _ in camera_sites() if key.startswith("HN:"))
        camera = cameras[0]
        wait_for(
            lambda: (
                {s["camera_id"]: s["status"] for s in client.get("/api/v1/media/status").json()}.get(
                    camera["id"]
                )
                == "online"
            ),
            120,
            "the camera online",
        )
        now = datetime.now(UTC)
        window = {
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        }
        timeline = wait_for(
            lambda: client.get(f"/api/v1/cameras/{camera['id']}/timeline", params=window).json()["recorded"],
            120,
            "a recorded segment",
        )
        assert timeline
        opened = client.post(
            f"/api/v1/cameras/{camera['id']}/playback", json={**window, "purpose": camera["purposes"][0]}
        )
        assert opened.status_code == 201, opened.text
        segment = opened.json()["segments"][0]
        served = client.get(segment["url"])
        assert served.status_code == 200
        with av.open(io.BytesIO(served.content)) as container:
            frame = next(container.decode(video=0))
            assert (frame.width, frame.height) == (1280, 720) and frame.key_frame
        assert client.delete(f"/api/v1/playback/{opened.json()['session_id']}").status_code == 204
    finally:
        client.close()


def test_the_demo_shows_live_and_recorded_video_in_the_browser(demo: dict[str, Any]) -> None:
    artifacts = Path(__file__).resolve().parents[1] / "test-artifacts" / "demo"
    artifacts.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080}, base_url=demo["base"])
            page.set_default_timeout(20_000)
            sign_in(page, "operator")
            page.locator("#nav a[href='#/live']").click()
            expect(page.locator("#live-grid .tile")).to_have_count(4)
            page.wait_for_function(
                "() => { const p = Object.values((window.__wardwatchLive || {players: {}}).players);"
                " return p.length >= 1 && p.every((x) => x.frames > 25); }",
                timeout=30_000,
            )
            page.screenshot(path=str(artifacts / "live-grid.png"))
            page.locator("#logout").click()

            sign_in(page, "enforcement")
            client = operator_client(demo["base"])
            try:
                camera = client.get("/api/v1/cameras").json()[0]
            finally:
                client.close()
            now = datetime.now(UTC)
            span = f"start={(now - timedelta(minutes=5)).isoformat()}&end={now.isoformat()}".replace(
                "+", "%2B"
            )
            page.goto(f"/#/playback/{camera['id']}?{span}")
            expect(page.locator("#timeline .recorded").first).to_be_visible()
            page.locator("#purpose").select_option(camera["purposes"][0])
            page.locator("#play").click()
            page.wait_for_function("() => window.__wardwatchPlayback.frames > 10", timeout=30_000)
            page.screenshot(path=str(artifacts / "playback.png"))
        finally:
            browser.close()


def sign_in(page: Any, username: str) -> None:
    page.goto("/")
    page.locator("#username").fill(username)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#logout")).to_be_visible()


def test_stopping_the_demo_stops_its_simulated_cameras(demo: dict[str, Any]) -> None:
    assert port_open(demo["camera_port"])
    process: subprocess.Popen[bytes] = demo["process"]
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    wait_for(lambda: not port_open(demo["camera_port"]), 30, "the simulated cameras to stop")
    assert not list(Path(demo["data"]).rglob("*.partial")), "segments in progress were finished on stop"
