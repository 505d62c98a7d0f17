"""Issue 6's end-to-end walk through the console against the real ``wardwatch demo``.

One demo process serves every test here: the real command as a child process, on a fresh
data directory and free loopback ports, with its 16 simulated cameras and yesterday's
theatre day replayed with violations (see web_support.running_demo, which kills its
process group on the way out). The tests run in the issue's order: the duty operator
signs in, switches language, watches a live 4-tile grid, acknowledges a red alert, flags
a breach, writes a handover that the next operator acknowledges; then the operator of
another facility finds none of the first facility's cameras, by list or by URL. A last
test checks the top bar at a laptop's and a wall's size. Each step saves a screenshot
under test-artifacts/demo-console/.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from support import wait_for
from wardwatch.demo import DEMO_PASSWORD, NEXT_OPERATOR
from wardwatch.kernel.i18n import catalog
from web_support import (
    ARTIFACTS_ROOT,
    LAPTOP,
    WALL,
    RunningDemo,
    launch,
    live_stats,
    open_page,
    running_demo,
    shot,
    sign_in,
)

FOLDER = "demo-console"
OPERATOR = "operator"
OTHER_FACILITY_OPERATOR = "operator2"
"""The duty operator of the Hồ Chí Minh City quarantine centre alone (see demo.py)."""
EN, VI, ZH = catalog("en"), catalog("vi"), catalog("zh-Hans")
PLAYING_S = 90  # four streams starting at once on a loaded two-core machine


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    directory = tmp_path_factory.mktemp("demo-console")
    try:
        with running_demo(directory) as running:
            yield running
    finally:
        # The demo's own log beside the screenshots: what the server said during the walk.
        with suppress(OSError):
            shutil.copyfile(directory / "demo.log", ARTIFACTS_ROOT / FOLDER / "demo.log")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, demo: RunningDemo) -> Iterator[Page]:
    with open_page(browser, demo.base, WALL) as page:
        page.set_default_timeout(30_000)
        yield page


Api = Callable[[str], httpx.Client]
"""A demo account's signed-in API client, by username (one sign-in each for the module)."""


@pytest.fixture(scope="module")
def api(demo: RunningDemo) -> Iterator[Api]:
    opened: dict[str, httpx.Client] = {}

    def client(username: str) -> httpx.Client:
        if username not in opened:
            opened[username] = demo.client(username)
        return opened[username]

    try:
        yield client
    finally:
        for each in opened.values():
            each.close()


def api_get(api: Api, username: str, path: str, **params: Any) -> Any:
    response = api(username).get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def saved_locale(api: Api, username: str) -> str:
    """The language the server remembers for the user."""
    return str(api_get(api, username, "/api/v1/auth/me")["user"]["locale"])


def nav_link(page: Page, route: str) -> Any:
    return page.locator(f"#nav a[href='#/{route}']")


def test_a_duty_operator_signs_in_switches_language_and_watches_a_live_four_tile_grid(
    page: Page, api: Api
) -> None:
    # 1. Sign in as the duty operator on shift; the console opens on the overview.
    sign_in(page, OPERATOR, DEMO_PASSWORD)
    expect(page.locator("main h1")).to_have_text(EN["web.overview.title"])
    expect(page.locator("#overview tbody tr").first).to_be_visible()
    expect(page.locator("#user")).to_have_text(re.compile("operator", re.IGNORECASE))
    english = page.locator("main").inner_text()
    shot(page, "01-signed-in", FOLDER)

    # 2. Vietnamese, then Chinese: the page's own text follows, the facility names stay.
    texts = {}
    for locale, messages, step in (("vi", VI, "02-vietnamese"), ("zh-Hans", ZH, "03-chinese")):
        page.locator("#locale").select_option(locale)
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.locator("main h1")).to_have_text(messages["web.overview.title"])
        expect(nav_link(page, "live")).to_have_text(messages["web.nav.live"])
        expect(nav_link(page, "alerts")).to_have_text(messages["web.nav.alerts"])
        expect(nav_link(page, "duty")).to_have_text(messages["web.nav.duty"])
        expect(page.locator("#logout")).to_have_text(messages["web.auth.logout"])
        expect(page.locator("#overview thead")).to_contain_text(messages["web.overview.col_offline"])
        texts[locale] = page.locator("main").inner_text()
        wait_for(lambda loc=locale: saved_locale(api, OPERATOR) == loc, 30, f"{locale} saved", interval=0.5)
        shot(page, step, FOLDER)
    assert texts["vi"] != english and texts["zh-Hans"] != english and texts["vi"] != texts["zh-Hans"]
    assert EN["web.overview.title"] not in texts["vi"] + texts["zh-Hans"]
    assert re.search(r"[\u4e00-\u9fff]", texts["zh-Hans"]), "Chinese text is shown"
    assert "Quận Đống Đa" in texts["zh-Hans"], "names from the data are not translated"
    page.locator("#locale").select_option("en")
    expect(page.locator("main h1")).to_have_text(EN["web.overview.title"])
    expect(nav_link(page, "live")).to_have_text(EN["web.nav.live"])
    wait_for(lambda: saved_locale(api, OPERATOR) == "en", 30, "English saved", interval=0.5)

    # 3. A live grid of four tiles from the operator's own cameras, each one playing.
    own = {c["id"] for c in api_get(api, OPERATOR, "/api/v1/cameras")}
    nav_link(page, "live").click()
    expect(page.locator("main h1")).to_have_text(EN["web.live.title"])
    expect(page.locator("[data-layout='4']")).to_have_attribute("aria-pressed", "true")  # the default
    tiles = page.locator("#live-grid .tile")
    expect(tiles).to_have_count(4)
    shown = [t.get_attribute("data-camera") for t in tiles.all()]
    assert len(set(shown)) == 4 and set(shown) <= own, shown
    for tile in tiles.all():
        expect(tile).to_have_attribute("data-status", "playing", timeout=PLAYING_S * 1000)
    before = {p["cameraId"]: p["frames"] for p in live_stats(page)}
    assert set(before) == set(shown)
    page.wait_for_function(
        "(before) => { const p = Object.values(window.__wardwatchLive.players);"
        " return p.length === 4 && p.every((x) => x.frames > before[x.cameraId] + 25); }",
        arg=before,
        timeout=PLAYING_S * 1000,
    )
    shot(page, "04-live-grid-4", FOLDER)


def red_alert(api: Api) -> dict[str, Any] | None:
    """A firing red alert the operator may see, once the replayed theatre day has raised one."""
    found = api_get(api, OPERATOR, "/api/v1/alerts", severity="red", status="firing")
    return found[0] if found else None


def test_the_operator_acknowledges_a_red_alert_with_a_comment_and_flags_a_breach_from_a_tile(
    page: Page, api: Api
) -> None:
    me = api_get(api, OPERATOR, "/api/v1/auth/me")["user"]
    # The demo replays yesterday's theatre day after it starts: wait for the rules' verdict.
    wait_for(lambda: red_alert(api), 300, "a red alert in the operator's scope", interval=1)
    sign_in(page, OPERATOR, DEMO_PASSWORD)

    # 4. The alert queue, narrowed to red alerts still firing; the first one, acknowledged.
    nav_link(page, "alerts").click()
    expect(page.locator("main h1")).to_have_text(EN["web.alerts.title"])
    page.locator("#filter-severity").select_option("red")
    page.locator("#filter-status").select_option("firing")
    rows = page.locator("#alert-queue tr[data-alert]")
    expect(rows.first).to_be_visible()
    expect(page.locator("#alert-queue tr[data-alert]:not([data-severity='red'])")).to_have_count(0)
    expect(page.locator("#alert-queue tr[data-alert]:not([data-status='firing'])")).to_have_count(0)
    alert_id = rows.first.get_attribute("data-alert")
    assert alert_id
    rows.first.locator("button.linklike").click()
    detail = page.locator("#alert-detail")
    expect(detail).to_have_attribute("data-alert", alert_id)
    expect(detail.locator(".meta .sev")).to_have_text(EN["web.alerts.colour.red"])
    comment = "Called the clinic's legal representative; enforcement team informed for an inspection."
    page.locator("#ack-comment").fill(comment)
    page.locator("#ack-form button[type=submit]").click()
    expect(page.locator("#alert-ack-comment")).to_have_text(comment)
    expect(detail.locator(".meta .badge")).to_have_text(EN["web.alerts.status.acknowledged"])
    shot(page, "05-red-alert-acknowledged", FOLDER)
    acked = api_get(api, OPERATOR, f"/api/v1/alerts/{alert_id}")
    assert (acked["severity"], acked["status"]) == ("red", "acknowledged")
    assert acked["acknowledged"]["by"] == me["id"] and acked["acknowledged"]["comment"] == comment

    # 5. A breach flagged from the second live tile: a snapshot, the form, then the report.
    nav_link(page, "live").click()
    tiles = page.locator("#live-grid .tile")
    expect(tiles).to_have_count(4)
    tile = tiles.nth(1)
    camera_id = tile.get_attribute("data-camera")
    expect(tile).to_have_attribute("data-status", "playing", timeout=PLAYING_S * 1000)
    tile.locator("[data-action='flag-breach']").click()
    expect(page.locator("#breach-dialog")).to_be_visible()
    expect(page.locator("#breach-snapshot")).to_be_visible(timeout=60_000)
    page.locator("#breach-category").select_option("gathering")
    note = "Five people gathered at the corridor camera, no distance kept."
    page.locator("#breach-note").fill(note)
    shot(page, "06-breach-form", FOLDER)
    page.locator("#breach-submit").click()
    result = page.locator("#breach-result")
    expect(result).to_be_visible()
    breach_id = result.get_attribute("data-breach-id")
    shot(page, "07-breach-reported", FOLDER)
    breach = api_get(api, OPERATOR, f"/api/v1/duty/breaches/{breach_id}")
    assert (breach["camera_id"], breach["category"], breach["source"], breach["status"]) == (
        camera_id,
        "gathering",
        "live",
        "open",
    )
    assert breach["reported_by"] == me["id"] and breach["note"] == note and breach["snapshot_at"]
    assert breach_id in {b["id"] for b in api_get(api, OPERATOR, "/api/v1/duty/breaches")}
    page.locator("#breach-close").click()
    expect(page.locator("#breach-dialog")).to_have_count(0)


def demo_shifts(api: Api) -> dict[str, dict[str, Any]]:
    """The Hà Nội shifts by label: Ca 1 is the operator's (taken), Ca 2 the next operator's."""
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(hours=12)).isoformat(),
        "end": (now + timedelta(hours=12)).isoformat(),
    }
    return {s["label"]: s for s in api_get(api, OPERATOR, "/api/v1/duty/shifts", **window)}


def test_the_operator_writes_a_handover_and_the_next_operator_acknowledges_it(page: Page, api: Api) -> None:
    shifts = demo_shifts(api)
    current, following = shifts["Ca 1"], shifts["Ca 2"]
    assert [o["username"] for o in current["operators"]] == [OPERATOR] and current["taken"]
    assert [o["username"] for o in following["operators"]] == [NEXT_OPERATOR] and not following["taken"]

    # 6a. The outgoing operator writes it; what is still open is listed by the server.
    sign_in(page, OPERATOR, DEMO_PASSWORD)
    nav_link(page, "duty").click()
    page.locator("a[data-tab='handover']").click()
    card = page.locator(f"#shift-{current['id']}")
    summary = "Red alerts at the aesthetics clinic acknowledged; a gathering flagged on the live grid."
    card.locator("textarea.handover-summary-input").fill(summary)
    card.locator(f"#handover-to-{current['id']}").select_option(following["id"])
    card.locator("form.handover-write button[type=submit]").click()
    written = card.locator("article.handover")
    expect(written).to_contain_text(summary)
    expect(written).to_have_attribute("data-acknowledged", "false")
    expect(written.locator("ul.open-items li[data-kind='alert']").first).to_be_visible()
    handover_id = written.get_attribute("data-handover")
    shot(page, "08-handover-written", FOLDER)
    page.locator("#logout").click()
    expect(page.locator("#signin-form")).to_be_visible()

    # 6b. The incoming operator reads it and acknowledges it, which takes the shift.
    sign_in(page, NEXT_OPERATOR, DEMO_PASSWORD)
    page.goto("/#/duty?tab=handover")
    incoming = page.locator(f"#shift-{following['id']}")
    expect(incoming.locator("article.handover")).to_contain_text(summary)
    expect(incoming).to_have_attribute("data-taken", "false")
    incoming.locator("textarea.handover-ack-note").fill("Read; will follow up the clinic's red alerts.")
    incoming.locator("form.handover-ack button[type=submit]").click()
    expect(incoming.locator("article.handover")).to_have_attribute("data-acknowledged", "true")
    expect(page.locator(f"#shift-{following['id']}")).to_have_attribute("data-taken", "true")
    expect(page.locator(f"#shift-state-{following['id']}")).to_have_text(EN["web.duty.shift.taken_by_you"])
    shot(page, "09-handover-acknowledged", FOLDER)
    handover = api_get(api, NEXT_OPERATOR, f"/api/v1/duty/handovers/{handover_id}")
    next_id = api_get(api, NEXT_OPERATOR, "/api/v1/auth/me")["user"]["id"]
    assert handover["acknowledged_by"] == next_id and handover["summary"] == summary
    assert handover["ack_note"] == "Read; will follow up the clinic's red alerts."
    taken = api_get(api, NEXT_OPERATOR, f"/api/v1/duty/shifts/{following['id']}")
    assert taken["taken"] and taken["handover_in"] == handover_id


def refused_by_the_api(client: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = client.request(method, path, **kwargs)
    assert response.status_code in (403, 404), (path, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), path
    problem: dict[str, Any] = response.json()
    return problem


def test_another_facilitys_operator_neither_lists_nor_reaches_the_first_facilitys_cameras(
    page: Page, api: Api
) -> None:
    first = {c["id"]: c for c in api_get(api, OPERATOR, "/api/v1/cameras")}
    theirs = {c["id"]: c for c in api_get(api, OTHER_FACILITY_OPERATOR, "/api/v1/cameras")}
    assert theirs and not set(theirs) & set(first)
    assert len({c["facility_id"] for c in theirs.values()}) == 1, "a facility's operator sees one facility"
    target = next(iter(first.values()))

    # 7a. Not listed: the camera list, the overview and the live grid's pickers hold theirs only.
    sign_in(page, OTHER_FACILITY_OPERATOR, DEMO_PASSWORD)
    expect(page.locator("#overview tbody tr").first).to_be_visible()
    overview = page.locator("main").inner_text()
    assert "Quận Đống Đa" not in overview and "Hà Nội" not in overview, overview
    nav_link(page, "cameras").click()
    listed = page.locator("tr[data-camera]")
    expect(listed).to_have_count(len(theirs))
    assert {r.get_attribute("data-camera") for r in listed.all()} == set(theirs)
    shot(page, "10-other-facility-cameras", FOLDER)
    nav_link(page, "live").click()
    expect(page.locator("#live-grid .tile").first).to_be_visible()
    for camera_id in first:
        expect(page.locator(f"option[value='{camera_id}']")).to_have_count(0)

    # 7b. Not reachable by URL: the camera's live page and its playback page show the refusal.
    client = api(OTHER_FACILITY_OPERATOR)
    detail = refused_by_the_api(client, "GET", f"/api/v1/cameras/{target['id']}")["detail"]
    for step, route in (("11-camera-page-refused", "camera"), ("12-playback-page-refused", "playback")):
        page.goto(f"/#/{route}/{target['id']}")
        refusal = page.locator("#screen-error")
        expect(refusal).to_be_visible()
        expect(refusal).to_have_attribute("data-status", "404")
        expect(page.locator("#screen-error-detail")).to_have_text(detail)
        expect(page.locator("video")).to_have_count(0)
        assert target["name"] not in page.locator("main").inner_text()
        shot(page, step, FOLDER)
    # A grid asked for the camera by URL leaves it out and plays only the operator's own.
    page.goto(f"/#/live?layout=1&cams={target['id']}")
    expect(page.locator("#live-grid .tile")).to_have_count(1)
    expect(page.locator("#live-grid .tile")).to_have_attribute("data-camera", re.compile("|".join(theirs)))
    assert target["id"] not in {p["cameraId"] for p in live_stats(page)}
    # Its snapshot URL, opened in the browser, is a problem, not a picture.
    snapshot = page.goto(f"/api/v1/cameras/{target['id']}/snapshot")
    assert snapshot is not None and snapshot.status == 404
    assert snapshot.headers["content-type"].startswith("application/problem+json")
    assert json.loads(snapshot.text())["code"] == "not_found"
    shot(page, "13-snapshot-refused", FOLDER)
    # Its live stream: the WebSocket is closed as a policy violation, naming the problem.
    page.goto("/")
    expect(page.locator("#logout")).to_be_visible()
    closed = page.evaluate(
        """(path) => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}${path}`);
            ws.binaryType = "arraybuffer";
            let frames = 0;
            ws.onmessage = () => { frames += 1; };
            ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, frames });
        })""",
        f"/api/v1/cameras/{target['id']}/live?variant=sub",
    )
    assert closed == {"code": 1008, "reason": "not_found", "frames": 0}

    # 7c. The API says the same to every door into the camera, as problem+json.
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(minutes=30)).isoformat(), "end": now.isoformat()}
    camera_path = f"/api/v1/cameras/{target['id']}"
    codes = {
        path: refused_by_the_api(client, method, path, **kwargs)["status"]
        for method, path, kwargs in (
            ("GET", camera_path, {}),
            ("GET", f"{camera_path}/snapshot", {}),
            ("GET", f"{camera_path}/health", {}),
            ("GET", f"{camera_path}/timeline", {"params": window}),
            ("POST", f"{camera_path}/playback", {"json": {**window, "purpose": target["purposes"][0]}}),
        )
    }
    assert set(codes.values()) == {404}, codes
    # Their own camera answers, so the refusals above are the scope speaking.
    own = next(iter(theirs))
    assert client.get(f"/api/v1/cameras/{own}").status_code == 200


def test_the_overview_top_bar_stays_on_one_line_on_a_laptop_and_on_a_wall(page: Page, api: Api) -> None:
    sign_in(page, OPERATOR, DEMO_PASSWORD)
    for viewport, locale, step in (
        (LAPTOP, "en", "14-overview-1366x768"),
        (LAPTOP, "vi", "15-overview-1366x768-vi"),
        (WALL, "en", "16-overview-1920x1080"),
    ):
        page.set_viewport_size(viewport)
        page.locator("#locale").select_option(locale)
        expect(page.locator("html")).to_have_attribute("lang", locale)
        expect(page.locator("#overview tbody tr").first).to_be_visible()
        bar = top_bar(page)
        assert bar["links"] == 7, bar  # the operator's screens: overview to duty, and registry
        assert len(set(bar["tops"])) == 1, f"the nav wraps at {viewport} in {locale}: {bar}"
        assert bar["nav_scroll"] <= bar["nav_width"], (
            f"nav links are cut off at {viewport} in {locale}: {bar}"
        )
        assert bar["bar_height"] == bar["topbar_var"], f"the top bar grew at {viewport} in {locale}: {bar}"
        assert bar["nav_height"] <= bar["bar_height"] and all(
            bar["bar_top"] <= top and bottom <= bar["bar_bottom"] for top, bottom in bar["children"]
        ), f"something sticks out of the top bar at {viewport} in {locale}: {bar}"
        assert bar["page_scroll"] <= viewport["width"], f"the page scrolls sideways at {viewport}: {bar}"
        shot(page, step, FOLDER)
    page.locator("#locale").select_option("en")
    wait_for(lambda: saved_locale(api, OPERATOR) == "en", 30, "English saved", interval=0.5)


def top_bar(page: Page) -> dict[str, Any]:
    """Where the top bar and its nav links are drawn (CSS pixels)."""
    measured: dict[str, Any] = page.evaluate(
        """() => {
            const bar = document.querySelector('header.topbar');
            const nav = document.getElementById('nav');
            const links = [...nav.querySelectorAll('a')].filter((a) => !a.hidden);
            const box = bar.getBoundingClientRect();
            return {
                links: links.length,
                tops: links.map((a) => Math.round(a.getBoundingClientRect().top)),
                nav_height: nav.getBoundingClientRect().height,
                nav_width: nav.clientWidth,
                nav_scroll: nav.scrollWidth,
                bar_height: box.height,
                bar_top: box.top,
                bar_bottom: box.bottom,
                topbar_var: parseFloat(getComputedStyle(document.documentElement)
                    .getPropertyValue('--topbar')),
                children: [...bar.children]
                    .filter((el) => el.getClientRects().length)
                    .map((el) => [el.getBoundingClientRect().top, el.getBoundingClientRect().bottom]),
                page_scroll: document.documentElement.scrollWidth,
            };
        }"""
    )
    return measured
