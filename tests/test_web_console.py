"""The web console in a real browser: Debian's Chromium, headless, driven by Playwright.

One module-scoped world (SQLite) serves the API and the console with uvicorn on a free
port, records one simulated camera, and serves its live stream. Each test signs in with a
fresh browser context and saves a screenshot per step under test-artifacts/web-console/.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from typer.testing import CliRunner

from conftest import make_database
from support import PASSWORD, TZ, World, build_world, ready_camera_body, wait_for
from test_sim_cameras import free_base_port
from wardwatch.api.app import create_app
from wardwatch.bench.live import BackgroundServer, percentile, summarize
from wardwatch.cli import app as cli
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.i18n import LOCALES, catalog
from wardwatch.sim.faults import Fault
from wardwatch.sim.fleet import fleet
from wardwatch.sim.server import CameraFarm
from wardwatch.web.routes import CATALOG_GROUPS, assets
from web_support import WALL, live_stats, open_page, shot, sign_in

SEGMENT_SECONDS = 2


@dataclass
class Console:
    world: World
    url: str
    camera_id: str
    facility_id: str
    started: datetime
    farm: CameraFarm


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Console]:
    base = free_base_port(1)
    configs = fleet(1, base, main=(640, 360), sub=(320, 176), scene="moving", names=["lobby"])
    farm = CameraFarm(configs, tmp_path_factory.mktemp("loops"))
    farm.prepare()
    farm.start()
    directory = tmp_path_factory.mktemp("console")
    url, drop = make_database("sqlite", directory / "data", sqlite_template)
    world = build_world(
        directory / "data",
        url,
        datetime.now(UTC).replace(microsecond=0),
        media={"segment_seconds": SEGMENT_SECONDS, "recorder_workers": 1, "retention": False},
    )
    world.add_user("operator", "duty_operator", "fac_a")
    world.add_user("officer", "enforcement_officer", "dist_a")
    world.add_user("auditor1", "auditor", "fac_a")  # the role requires TOTP; not enrolled yet
    world.add_user("auditor2", "auditor", "fac_a")
    with world.container.deps.uow(system_actor("test")) as uow:
        world.ids["totp_auditor2"] = world.container.accounts.enroll_totp_directly(
            uow.conn, world.users["auditor2"]
        )
        uow.audit(
            "account.mfa", object_type="user", object_id=world.users["auditor2"], scope=world.ids["fac_a"]
        )
        uow.commit()
    with world.client("admin") as admin:
        body = ready_camera_body(
            world.ids["fac_a_corridor"],
            name="Lobby",
            main_url=configs[0].url("main"),
            sub_url=configs[0].url("sub"),
            purposes=["rule_supervision", "epidemiological_investigation"],
        )
        camera = admin.post("/api/v1/cameras", json=body).json()
        assert admin.post(f"/api/v1/cameras/{camera['id']}/activate").status_code == 200
    started = datetime.now(UTC)
    world.container.start()
    app = create_app(world.container, manage_lifecycle=False)
    try:
        with BackgroundServer(app) as server:
            yield Console(world, server.url, camera["id"], world.ids["fac_a"], started, farm)
    finally:
        world.container.close()
        farm.stop()
        drop()


@pytest.fixture
def farm(console: Console) -> CameraFarm:
    return console.farm


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    with open_page(browser, console.url) as page:
        yield page


def test_assets_are_served_only_from_the_package_with_types_and_cache_headers(console: Console) -> None:
    with console.world.client() as anon:
        shell = anon.get("/")
        assert shell.status_code == 200
        assert shell.headers["content-type"].startswith("text/html")
        assert "default-src 'self'" in shell.headers["content-security-policy"]
        assert 'data-default-locale="en"' in shell.text or 'data-default-locale="vi"' in shell.text
        script = anon.get("/static/app.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert script.headers["cache-control"] == "no-cache"
        assert script.headers["x-content-type-options"] == "nosniff"
        again = anon.get("/static/app.js", headers={"if-none-match": script.headers["etag"]})
        assert again.status_code == 304
        for probe in (
            "/static/../routes.py",
            "/static/%2e%2e/routes.py",
            "/static/..%2Froutes.py",
            "/static//etc/passwd",
            "/static/locales/en.json",
            "/static/index.html",
            "/static/nope.js",
        ):
            response = anon.get(probe)
            assert response.status_code == 404, probe
        catalog_vi = anon.get("/static/i18n/vi.json")
        assert catalog_vi.headers["content-type"] == "application/json"
        messages = catalog_vi.json()
        assert messages["web.auth.submit"] == catalog("vi")["web.auth.submit"]
        assert all(k.startswith(CATALOG_GROUPS) for k in messages)
        assert "problem.unauthenticated.title" not in messages
    assert set(assets()) >= {f"i18n/{loc}.json" for loc in LOCALES}


def test_sign_in_switch_language_and_list_cameras(page: Page, console: Console) -> None:
    page.goto("/")
    expect(page.locator("#signin-form")).to_be_visible()
    shot(page, "01-sign-in")
    page.locator("#username").fill("operator")
    page.locator("#password").fill("wrong-password-1")
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#signin-error")).to_be_visible()
    shot(page, "02-sign-in-refused")
    # By keyboard alone: the form is reachable and submits with Enter.
    page.locator("#username").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.press("Control+A")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#overview")).to_be_visible()  # signed in, the console opens on the overview
    page.locator("#nav a[href='#/cameras']").click()
    expect(page.locator("table.cameras")).to_be_visible()
    expect(page.locator("tr[data-camera] th")).to_have_text("Lobby")
    shot(page, "03-cameras")

    texts = {}
    for locale in ("vi", "zh-Hans", "en"):
        page.locator("#locale").select_option(locale)
        expect(page.locator("html")).to_have_attribute("lang", locale)
        title = catalog(locale)["web.cameras.title"]
        expect(page.locator("main h1")).to_have_text(title)
        expect(page.locator("#logout")).to_have_text(catalog(locale)["web.auth.logout"])
        texts[locale] = page.locator("main").inner_text()
        shot(page, f"04-cameras-{locale}")
    assert len(set(texts.values())) == 3, "each language shows different page text"
    assert re.search(r"[\u4e00-\u9fff]", texts["zh-Hans"])
    assert "Trạng thái" in texts["vi"]

    # The choice is remembered for the user, not only in this browser.
    page.locator("#locale").select_option("zh-Hans")
    wait_for(
        lambda: (
            console.world.container.accounts.me(console.world.principal("operator"), False).user.locale
            == "zh-Hans"
        ),
        10,
        "the language to be saved",
    )
    page.locator("#logout").click()
    expect(page.locator("#signin-form")).to_be_visible()
    page.evaluate("localStorage.clear()")
    page.locator("#username").fill("operator")
    page.locator("#password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("main h1")).to_have_text(catalog("zh-Hans")["web.overview.title"])
    shot(page, "05-language-remembered")
    page.locator("#locale").select_option("en")


def totp_now(console: Console, secret: str) -> str:
    code: str = pyotp.TOTP(secret).at(console.world.clock.now())
    return code


def test_sign_in_asks_for_the_totp_code_and_enrols_where_the_role_requires_it(
    page: Page, console: Console
) -> None:
    page.goto("/")
    page.locator("#username").fill("auditor2")
    page.locator("#password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#totp")).to_be_visible()
    expect(page.locator("#signin-error")).to_have_text(catalog("en")["web.auth.totp_needed"])
    shot(page, "06-sign-in-totp")
    page.locator("#totp").fill(totp_now(console, console.world.ids["totp_auditor2"]))
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#overview")).to_be_visible()
    page.locator("#logout").click()

    page.locator("#username").fill("auditor1")
    page.locator("#password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").click()
    secret = page.locator("#mfa-secret")
    expect(secret).to_have_text(re.compile(r"^[A-Z2-7]{16,}$"))
    page.goto("/#/cameras")  # nothing else opens before the enrolment is done
    expect(page.locator("#mfa-secret")).to_be_visible()
    shot(page, "07-mfa-enrolment")
    page.locator("#mfa-code").fill(totp_now(console, secret.inner_text()))
    page.locator("form button[type=submit]").click()
    expect(page.locator("#overview")).to_be_visible()


def test_live_grid_and_full_screen_tiles_show_advancing_frames(page: Page, console: Console) -> None:
    page.set_viewport_size(WALL)
    sign_in(page, "operator")
    page.locator("#nav a[href='#/live']").click()
    expect(page.locator("#live-grid .tile")).to_have_count(4)
    tile = page.locator(f"#live-grid .tile[data-camera='{console.camera_id}']")
    expect(tile).to_have_attribute("data-status", "playing", timeout=20_000)
    first = live_stats(page)[0]["frames"]
    page.wait_for_function(
        "(n) => Object.values(window.__wardwatchLive.players).every((p) => p.frames > n)",
        arg=first + 25,
        timeout=15_000,
    )
    (player,) = live_stats(page)
    assert player["variant"] == "sub" and player["height"] == 176
    shot(page, "10-live-grid-4")

    for layout in (9, 16, 1):
        page.locator(f"[data-layout='{layout}']").click()
        expect(page.locator("#live-grid .tile")).to_have_count(layout)
        expect(tile).to_have_attribute("data-status", "playing", timeout=20_000)
        shot(page, f"11-live-grid-{layout}")
    assert live_stats(page)[0]["variant"] == "main", "a single tile shows the main stream"

    # The switch re-translates the running grid without restarting its players.
    frames = live_stats(page)[0]["frames"]
    page.locator("#locale").select_option("vi")
    expect(tile.locator(".badge[data-status]")).to_have_text(catalog("vi")["web.live.status.playing"])
    assert live_stats(page)[0]["frames"] >= frames
    page.locator("#locale").select_option("en")

    page.goto(f"/#/camera/{console.camera_id}")
    expect(page.locator("#live-grid .tile")).to_have_attribute("data-status", "playing", timeout=20_000)
    page.evaluate("() => { window.__wardwatchLive.samples.length = 0; }")
    page.wait_for_function(
        "() => Object.values(window.__wardwatchLive.players).every((p) => p.matched > 50)", timeout=20_000
    )
    (player,) = live_stats(page)
    assert player["height"] == 360 and player["unmatched"] <= 2
    latencies = page.evaluate("() => window.__wardwatchLive.samples.map((s) => s.latency_ms)")
    latencies.sort()
    assert 0 < latencies[len(latencies) // 2] < 1500, latencies
    shot(page, "12-live-full-screen")

    # A stalled camera shows as offline, and the tile comes back by itself once it heals.
    single = page.locator("#live-grid .tile")
    console.farm.set_fault(0, Fault.STALL)
    try:
        expect(single).to_have_attribute("data-status", re.compile("offline|reconnecting"), timeout=20_000)
        shot(page, "13-live-camera-stalled")
    finally:
        console.farm.set_fault(0, Fault.HEALTHY)
    expect(single).to_have_attribute("data-status", "playing", timeout=30_000)
    assert live_stats(page)[0]["reconnects"] >= 1

    # Leaving the page closes the viewing sessions on the record.
    page.locator("#nav a[href='#/cameras']").click()
    with console.world.client("admin") as admin:
        wait_for(
            lambda: admin.get("/api/v1/audit/entries", params={"action": "footage.live.close"}).json(),
            10,
            "the live session to be closed",
        )


def timeline(console: Console, start: datetime, end: datetime) -> dict[str, Any]:
    with console.world.client("admin") as admin:
        response = admin.get(
            f"/api/v1/cameras/{console.camera_id}/timeline",
            params={"start": start.isoformat(), "end": end.isoformat()},
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def audit_entries(console: Console, action: str) -> list[dict[str, Any]]:
    with console.world.client("admin") as admin:
        entries: list[dict[str, Any]] = admin.get(
            "/api/v1/audit/entries", params={"action": action, "limit": 50}
        ).json()
        return entries


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def local_input(when: datetime) -> str:
    return when.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%dT%H:%M:%S")


def recorded_with_a_gap(console: Console, farm: CameraFarm) -> tuple[datetime, dict[str, Any]]:
    """Footage from now on, then a gap (the camera stalled), then footage again.

    A stall rather than a stop: re-listening on a just-closed port sometimes fails in the
    simulator, and the recorder treats both the same way (offline, with a gap).
    """
    since = datetime.now(UTC)
    known = {g["start"] for g in timeline(console, console.started, since)["gaps"]}
    time.sleep(3 * SEGMENT_SECONDS)
    farm.set_fault(0, Fault.STALL)
    try:
        wait_for(
            lambda: [
                g for g in timeline(console, since, datetime.now(UTC))["gaps"] if g["start"] not in known
            ],
            30,
            "a gap",
        )
    finally:
        farm.set_fault(0, Fault.HEALTHY)

    def resumed() -> dict[str, Any] | None:
        gaps = [g for g in timeline(console, since, datetime.now(UTC))["gaps"] if g["start"] not in known]
        if not gaps[0]["end"]:
            return None
        after = [
            r
            for r in timeline(console, since, datetime.now(UTC))["recorded"]
            if r["start"] >= gaps[0]["end"]
            and datetime.fromisoformat(r["end"]) - datetime.fromisoformat(r["start"])
            >= timedelta(seconds=2 * SEGMENT_SECONDS)
        ]
        return gaps[0] if after else None

    gap: dict[str, Any] = wait_for(resumed, 60, "footage after the gap")
    return since, gap


def test_playback_asks_for_a_purpose_plays_across_a_gap_and_exports(
    page: Page, console: Console, farm: CameraFarm
) -> None:
    since, gap = recorded_with_a_gap(console, farm)
    gap_start = datetime.fromisoformat(gap["start"])
    gap_end = datetime.fromisoformat(gap["end"])
    start = since - timedelta(seconds=1)
    end = datetime.now(UTC) + timedelta(seconds=1)
    opened_before = len(audit_entries(console, "footage.playback.open"))

    sign_in(page, "officer")
    page.goto(f"/#/playback/{console.camera_id}?start={iso(start)}&end={iso(end)}")
    expect(page.locator("#timeline .recorded").first).to_be_visible()
    gap_box = page.locator("#timeline .gap").last
    expect(gap_box).to_have_attribute("data-reason", gap["reason"])
    assert catalog("en")[f"web.gap.{gap['reason']}"] in (gap_box.get_attribute("title") or "")
    shot(page, "20-playback-timeline")

    # Without a purpose nothing plays, and nothing is opened on the record.
    page.locator("#play").click()
    assert page.evaluate("document.querySelector('#purpose').matches(':invalid')")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__wardwatchPlayback.sessionId") is None
    assert page.evaluate("document.querySelector('#playback-video').currentSrc") == ""
    assert len(audit_entries(console, "footage.playback.open")) == opened_before
    shot(page, "21-playback-no-purpose")

    page.locator("#purpose").select_option("epidemiological_investigation")
    page.locator("#play").click()
    page.wait_for_function("() => window.__wardwatchPlayback.frames > 10", timeout=20_000)
    session_id = page.evaluate("window.__wardwatchPlayback.sessionId")
    shot(page, "22-playback-playing")
    opened = [
        e for e in audit_entries(console, "footage.playback.open") if e["details"]["session_id"] == session_id
    ]
    assert len(opened) == 1
    assert opened[0]["purpose"] == "epidemiological_investigation"
    assert opened[0]["actor"] == f"user:{console.world.users['officer']}"

    # Seek just before the gap by clicking the timeline: playback carries on after it.
    box = page.locator("#timeline .track").bounding_box()
    assert box is not None
    target = gap_start - timedelta(seconds=0.8)
    fraction = (target - start) / (end - start)
    page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "(after) => Date.parse(window.__wardwatchPlayback.wallTime || 0) > after",
        arg=gap_end.timestamp() * 1000,
        timeout=20_000,
    )
    frames = page.evaluate("window.__wardwatchPlayback.frames")
    page.wait_for_function("(n) => window.__wardwatchPlayback.frames > n", arg=frames + 5, timeout=10_000)
    shot(page, "23-playback-after-gap")

    # Export a clip of the first recorded seconds: the manifest's hash and a download.
    clip_start = since.replace(microsecond=0) + timedelta(seconds=1)
    page.locator("#clip-start").fill(local_input(clip_start))
    page.locator("#clip-end").fill(local_input(clip_start + timedelta(seconds=2)))
    page.locator("#export-form button[type=submit]").click()
    expect(page.locator("#clip-sha256")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    href = page.locator("#clip-download").get_attribute("href") or ""
    assert href.startswith("/api/v1/clips/")
    shot(page, "24-clip-exported")
    download = page.request.get(href)
    assert download.status == 200
    assert hashlib.sha256(download.body()).hexdigest() == page.locator("#clip-sha256").inner_text()

    # Leaving the page closes the session on the record.
    page.locator("#nav a[href='#/cameras']").click()
    wait_for(
        lambda: [
            e
            for e in audit_entries(console, "footage.playback.close")
            if e["details"]["session_id"] == session_id
        ],
        10,
        "the playback session to be closed",
    )


def test_export_is_offered_only_to_those_who_may_export(page: Page, console: Console) -> None:
    sign_in(page, "operator")
    page.goto(f"/#/playback/{console.camera_id}")
    expect(page.locator("#purpose-form")).to_be_visible()
    expect(page.locator("#export-form")).to_have_count(0)


def test_live_bench_summary_uses_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile([7.0], 95) == 7
    summary = summarize(values)
    assert summary["samples"] == 100 and summary["latency_ms_p95"] == 95 and summary["latency_ms_max"] == 100
    assert summarize([]) == {"samples": 0, "latency_ms_p50": None, "latency_ms_p95": None}


def test_live_bench_refuses_bad_input_with_one_line() -> None:
    result = CliRunner().invoke(cli, ["bench", "live", "--json", "--variant", "side"])
    assert result.exit_code == 1
    assert result.output.strip() == "wardwatch: variant must be main or sub"
