"""``wardwatch demo`` starts its simulated cameras, records them, and shows them in the browser.

The real command runs as a child process (SQLite, local disk, in-process bus) on free
ports; the test talks to it over HTTP as the demo's duty operator would.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import av
import pytest
from playwright.sync_api import expect, sync_playwright

from support import wait_for
from wardwatch.demo import DEMO_PASSWORD, camera_sites
from wardwatch.sim.process import port_open
from web_support import WALL, RunningDemo, launch, running_demo, shot, sign_in

FOLDER = "demo"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    with running_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


def test_the_demo_records_its_cameras_and_plays_back_for_a_purpose(demo: RunningDemo) -> None:
    client = demo.client("operator")
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


def test_the_demo_shows_live_and_recorded_video_in_the_browser(demo: RunningDemo) -> None:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport=WALL, base_url=demo.base)
            page.set_default_timeout(20_000)
            sign_in(page, "operator", DEMO_PASSWORD)
            page.locator("#nav a[href='#/live']").click()
            expect(page.locator("#live-grid .tile")).to_have_count(4)
            page.wait_for_function(
                "() => { const p = Object.values((window.__wardwatchLive || {players: {}}).players);"
                " return p.length >= 1 && p.every((x) => x.frames > 25); }",
                timeout=30_000,
            )
            shot(page, "live-grid", FOLDER)
            page.locator("#logout").click()

            sign_in(page, "enforcement", DEMO_PASSWORD)
            client = demo.client("operator")
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
            shot(page, "playback", FOLDER)
        finally:
            browser.close()


def test_stopping_the_demo_stops_its_simulated_cameras(demo: RunningDemo) -> None:
    assert port_open(demo.camera_port)
    assert any(" sim cameras " in command for command in demo.leftovers()), "the simulator runs in the group"
    assert demo.stop() == 0, demo.log_tail()
    wait_for(lambda: not port_open(demo.camera_port), 30, "the simulated cameras to stop")
    # Nothing the demo started outlives it (multiprocessing's tracker ends just after it).
    wait_for(lambda: demo.leftovers() == [], 30, "every process of the demo's group to end")
    assert not list(demo.data.rglob("*.partial")), "segments in progress were finished on stop"
