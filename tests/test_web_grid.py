"""The overview, the live grid, flagging a breach and the camera timeline, in Debian's Chromium.

One module-scoped world (SQLite) serves the API and the console with uvicorn: four
simulated cameras at facility A, recorded and watched live; one camera at facility A2 and
one at facility B whose RTSP ports answer nobody, so they are offline for real, and the
A2 camera's outage opens a real incident. Alerts of each colour are fired through the
alert service as the rule engine fires them, and facility A has a taken shift. Screenshots
go under test-artifacts/web-grid/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import make_database
from support import World, build_world, ready_camera_body, wait_for
from test_alerts_support import fire, signal
from test_duty_world import shift_body
from test_sim_cameras import free_base_port
from wardwatch.alerts.model import Severity
from wardwatch.api.app import create_app
from wardwatch.bench.live import BackgroundServer
from wardwatch.kernel.i18n import catalog
from wardwatch.sim.fleet import fleet
from wardwatch.sim.server import CameraFarm
from web_support import LAPTOP, WALL, live_stats, open_page, shot, sign_in

FOLDER = "web-grid"
LIVE_CAMERAS = 4


@dataclass
class Site:
    world: World
    url: str
    cameras: list[str]
    """Facility A's four live cameras, in the grid's order (by name)."""
    started: datetime


def admin_post(world: World, path: str, body: Any) -> Any:
    with world.client("admin") as admin:
        response = admin.post(path, json=body)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    base = free_base_port(LIVE_CAMERAS + 2)
    names = [f"Cam {i + 1}" for i in range(LIVE_CAMERAS)]
    configs = fleet(LIVE_CAMERAS, base, main=(640, 360), sub=(320, 176), scene="moving", names=names)
    farm = CameraFarm(configs, tmp_path_factory.mktemp("loops"))
    farm.prepare()
    farm.start()
    directory = tmp_path_factory.mktemp("grid")
    url, drop = make_database("sqlite", directory / "data", sqlite_template)
    started = datetime.now(UTC).replace(microsecond=0)
    world = build_world(
        directory / "data",
        url,
        started,
        auth={"mfa_required_roles": []},
        media={"segment_seconds": 2, "recorder_workers": 1, "retention": False},
        health={"incident_debounce_s": 0},
        duty={"coverage_check": False},
    )
    world.add_user("operator", "duty_operator", "fac_a")
    world.add_user("officer", "enforcement_officer", "dist_a")
    cameras = []
    for name, config in zip(names, configs, strict=True):
        body = ready_camera_body(
            world.ids["fac_a_corridor"], name=name, main_url=config.url("main"), sub_url=config.url("sub")
        )
        cameras.append(admin_post(world, "/api/v1/cameras", body)["id"])
    dead = f"rtsp://127.0.0.1:{base + LIVE_CAMERAS}/main"  # reserved by free_base_port, never served
    for key, zone in (("cam_a2", "fac_a2_corridor"), ("cam_b", "fac_b_corridor")):
        body = ready_camera_body(world.ids[zone], name=key, main_url=dead, sub_url=dead)
        world.ids[key] = admin_post(world, "/api/v1/cameras", body)["id"]
    for camera_id in [*cameras, world.ids["cam_a2"], world.ids["cam_b"]]:
        admin_post(world, f"/api/v1/cameras/{camera_id}/activate", None)
    shift = admin_post(
        world,
        "/api/v1/duty/shifts",
        shift_body(world, "fac_a", ["operator"], started - timedelta(hours=1), started + timedelta(hours=8)),
    )
    with world.client("operator") as op:
        taken = op.post(f"/api/v1/duty/shifts/{shift['id']}/start", json={"reason": "day shift"})
        assert taken.status_code == 200, taken.text
    # Started first: on start the rule engine resolves the alerts its own evaluation does not
    # hold, and these are fired as though it had raised them.
    world.container.start()
    world.ids["red"] = fire(world, signal(world, "fac_a", rule="R1", severity=Severity.RED)).alert_id
    fire(world, signal(world, "fac_a", rule="R3", severity=Severity.YELLOW))
    world.ids["blue"] = fire(world, signal(world, "fac_a2", rule="R6", severity=Severity.BLUE)).alert_id
    fire(world, signal(world, "fac_b", rule="R1", severity=Severity.RED))
    app = create_app(world.container, manage_lifecycle=False)
    try:
        with BackgroundServer(app) as server:
            seeded(world, cameras)
            yield Site(world, server.url, cameras, started)
    finally:
        world.container.close()
        farm.stop()
        drop()


def health_states(world: World) -> dict[str, str]:
    with world.client("admin") as admin:
        return {v["camera_id"]: v["state"] for v in admin.get("/api/v1/health/cameras").json()}


def seeded(world: World, cameras: list[str]) -> None:
    """Wait until the recorder has reported every camera: four online, two offline."""
    expected = {**dict.fromkeys(cameras, "ok"), world.ids["cam_a2"]: "offline", world.ids["cam_b"]: "offline"}
    wait_for(lambda: health_states(world) == expected, 90, "every camera's health to be known")
    world.container.health.incidents.check()  # as the periodic check would, without waiting for it

    def incident() -> str | None:
        with world.client("admin") as admin:
            found = admin.get("/api/v1/incidents", params={"camera_id": world.ids["cam_a2"]}).json()
        return found[0]["id"] if found else None

    world.ids["incident_a2"] = wait_for(incident, 30, "the offline camera's incident")


@pytest.fixture
def page(browser: Browser, site: Site) -> Iterator[Page]:
    with open_page(browser, site.url) as page:
        yield page


def cell(page: Page, node_id: str, column: int) -> Any:
    """A figure cell of a node's row.

    Columns: online, offline, impaired, incidents, red, yellow, blue, duty.
    """
    return page.locator(f"#overview tr[data-node='{node_id}'] td.num").nth(column)


def test_overview_counts_the_seeded_world_and_shows_only_the_callers_nodes(page: Page, site: Site) -> None:
    ids = site.world.ids
    sign_in(page, "officer")
    # The overview is the home screen; the officer's part of the tree is district A and below.
    expect(page.locator("main h1")).to_have_text(catalog("en")["web.overview.title"])
    rows = page.locator("#overview tbody tr")
    expect(rows).to_have_count(3)
    assert [r.get_attribute("data-node") for r in rows.all()] == [ids["dist_a"], ids["fac_a"], ids["fac_a2"]]
    expect(page.locator(f"#overview tr[data-node='{ids['fac_b']}']")).to_have_count(0)
    # Blue at A2: the R6 alert and the offline camera's incident alert.
    expected = {
        ids["fac_a"]: ["4", "0", "0", "0", "1", "1", "0"],
        ids["fac_a2"]: ["0", "1", "0", "1", "0", "0", "2"],
        ids["dist_a"]: ["4", "1", "0", "1", "1", "1", "2"],
    }
    for node_id, values in expected.items():
        for column, value in enumerate(values):
            expect(cell(page, node_id, column)).to_have_attribute("data-value", value)
    expect(cell(page, ids["fac_a"], 7)).to_contain_text("1 of 1 covered")
    expect(cell(page, ids["fac_a"], 7)).to_contain_text("1 on duty")
    expect(cell(page, ids["dist_a"], 7)).to_contain_text("1 of 2 covered")
    shot(page, "01-overview-officer", FOLDER)
    page.locator("#locale").select_option("vi")
    expect(page.locator("main h1")).to_have_text(catalog("vi")["web.overview.title"])
    expect(page.locator("#overview thead")).to_contain_text(catalog("vi")["web.overview.col_offline"])
    shot(page, "02-overview-officer-vi", FOLDER)
    page.locator("#locale").select_option("en")
    page.locator("#logout").click()

    # A facility's operator sees their facility alone: no district, no sibling, nothing of B.
    sign_in(page, "operator")
    expect(rows).to_have_count(1)
    expect(page.locator(f"#overview tr[data-node='{ids['fac_a']}']")).to_be_visible()
    text = page.locator("main").inner_text()
    assert "Facility fac_a2" not in text and "Facility fac_b" not in text and "District a" not in text
    expect(cell(page, ids["fac_a"], 0)).to_have_attribute("data-value", "4")
    shot(page, "03-overview-operator", FOLDER)


def test_a_four_tile_grid_plays_shows_health_flags_a_breach_and_opens_full_screen(
    page: Page, site: Site
) -> None:
    world, ids = site.world, site.world.ids
    page.set_viewport_size(WALL)
    sign_in(page, "operator")
    # From the tree: the facility's row opens its cameras in the grid.
    page.locator(f"#overview tr[data-node='{ids['fac_a']}'] a[href^='#/live']").click()
    tiles = page.locator("#live-grid .tile")
    expect(tiles).to_have_count(4)
    assert [t.get_attribute("data-camera") for t in tiles.all()] == site.cameras
    for tile in tiles.all():
        expect(tile).to_have_attribute("data-status", "playing", timeout=30_000)
        expect(tile.locator(".badge.health")).to_have_attribute("data-health", "ok", timeout=20_000)
        expect(tile.locator(".badge.health")).to_have_text(catalog("en")["health_state.ok"])
    first = {p["cameraId"]: p["frames"] for p in live_stats(page)}
    assert set(first) == set(site.cameras) and all(p["variant"] == "sub" for p in live_stats(page))
    page.wait_for_function(
        "(before) => Object.values(window.__wardwatchLive.players)"
        ".every((p) => p.frames > before[p.cameraId] + 25)",
        arg=first,
        timeout=30_000,
    )
    shot(page, "10-grid-4-wall", FOLDER)

    # Flag a breach from the second tile: a snapshot, then the form.
    world.clock.set(datetime.now(UTC))  # the world's clock catches up with the camera's
    camera_id = site.cameras[1]
    tiles.nth(1).locator("[data-action='flag-breach']").click()
    dialog = page.locator("#breach-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#breach-camera")).to_have_value("Cam 2")
    expect(page.locator("#breach-snapshot")).to_be_visible(timeout=20_000)
    assert page.evaluate("document.querySelector('#breach-snapshot').naturalWidth") == 640
    capture_ms = float(page.locator("#breach-snapshot-time").get_attribute("data-capture-ms") or 0)
    assert abs(capture_ms / 1000 - datetime.now(UTC).timestamp()) < 120
    page.locator("#breach-submit").click()  # nothing chosen yet: the browser refuses
    assert page.evaluate("document.querySelector('#breach-category').matches(':invalid')")
    page.locator("#breach-category").select_option("no_mask")
    page.locator("#breach-note").fill("Two people in the corridor without masks")
    shot(page, "11-breach-form", FOLDER)
    page.locator("#breach-submit").click()
    result = page.locator("#breach-result")
    expect(result).to_contain_text("Cam 2")
    breach_id = result.get_attribute("data-breach-id")
    shot(page, "12-breach-reported", FOLDER)
    with world.client("admin") as admin:
        breach = admin.get(f"/api/v1/duty/breaches/{breach_id}").json()
    assert (breach["camera_id"], breach["category"], breach["source"], breach["status"]) == (
        camera_id,
        "no_mask",
        "live",
        "open",
    )
    assert breach["reported_by"] == world.users["operator"]
    snapshot_at = datetime.fromisoformat(breach["snapshot_at"])
    assert abs(snapshot_at.timestamp() * 1000 - capture_ms) < 1, "the frame captured is the reference"
    page.locator("#breach-close").click()
    expect(dialog).to_have_count(0)
    assert all(p["frames"] > first[p["cameraId"]] for p in live_stats(page)), "the grid kept playing"

    # A 1366x768 laptop shows the same grid; Enter on a tile opens it full-screen.
    page.set_viewport_size(LAPTOP)
    shot(page, "13-grid-4-laptop", FOLDER)
    tiles.nth(2).locator("a.tile-open").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/#/camera/{site.cameras[2]}")
    # The hash changes before the router has swapped the grid for the single camera.
    expect(page.locator("#live-grid .tile")).to_have_count(1)
    expect(page.locator("#live-grid .tile")).to_have_attribute("data-status", "playing", timeout=30_000)
    expect(page.locator("#camera-health")).to_have_attribute("data-health", "ok")
    expect(page.locator("#flag-breach")).to_be_visible()
    (player,) = live_stats(page)
    assert player["variant"] == "main" and player["cameraId"] == site.cameras[2]
    shot(page, "14-camera-full-screen", FOLDER)

    # The breach form opens on the full-screen camera too; cancelling reports nothing.
    page.locator("#flag-breach").click()
    expect(page.locator("#breach-snapshot")).to_be_visible(timeout=20_000)
    page.locator("#breach-cancel").click()
    expect(page.locator("#breach-dialog")).to_have_count(0)
    with world.client("admin") as admin:
        assert [b["id"] for b in admin.get("/api/v1/duty/breaches").json()] == [breach_id]


def test_the_camera_timeline_marks_its_incidents_and_its_facilitys_alerts(page: Page, site: Site) -> None:
    ids = site.world.ids
    sign_in(page, "officer")
    start = (site.started - timedelta(minutes=15)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    page.goto(f"/#/playback/{ids['cam_a2']}?start={start}&end={end}")
    incident = page.locator(f"#timeline .marks.incidents .incident[data-id='{ids['incident_a2']}']")
    expect(incident).to_be_visible()
    assert "offline" in (incident.get_attribute("title") or "")
    alert = page.locator(f"#timeline .marks.alerts .alert[data-id='{ids['blue']}']")
    expect(alert).to_have_attribute("data-severity", "blue")
    expect(page.locator("#timeline .marks.alerts .alert")).to_have_count(1)  # facility A2's alerts only
    listed = page.locator("#timeline-events li")
    expect(listed).to_have_count(2)
    expect(page.locator(f"#timeline-events li[data-id='{ids['incident_a2']}']")).to_contain_text(
        catalog("en")["health_state.offline"]
    )
    # Playback still asks for a purpose first; this officer may export.
    expect(page.locator("#purpose-form")).to_be_visible()
    expect(page.locator("#export-form")).to_be_visible()
    shot(page, "20-timeline-marks", FOLDER)
    page.locator("#locale").select_option("zh-Hans")
    expect(page.locator("#timeline-events-title")).to_have_text(
        catalog("zh-Hans")["web.timeline.events_title"]
    )
    expect(page.locator(f"#timeline-events li[data-id='{ids['incident_a2']}']")).to_contain_text(
        catalog("zh-Hans")["health_state.offline"]
    )
    shot(page, "21-timeline-marks-zh", FOLDER)
    page.locator("#locale").select_option("en")

    # An enforcement officer may watch but not report breaches: the grid offers no flag.
    page.goto(f"/#/live?facility={ids['fac_a']}")
    expect(page.locator("#live-grid .tile")).to_have_count(4)
    expect(page.locator("#live-grid .tile .badge.health").first).to_have_attribute("data-health", "ok")
    expect(page.locator("[data-action='flag-breach']")).to_have_count(0)
