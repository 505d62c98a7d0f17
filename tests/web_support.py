"""What every browser test of the console needs: Debian's Chromium, a page, sign-in, screenshots.

Shared by the console's browser tests (test_web_*.py) so each file only builds the world
its screens need. Screenshots go under test-artifacts/<folder>/, one per step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright, expect

from support import PASSWORD
from wardwatch.bench.live import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS_ROOT = Path(__file__).resolve().parents[1] / "test-artifacts"
LAPTOP = {"width": 1366, "height": 768}
WALL = {"width": 1920, "height": 1080}


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True)


@contextmanager
def open_page(browser: Browser, base_url: str, viewport: dict[str, int] | None = None) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies shared between tests).

    What the page itself complained about (console errors and warnings, uncaught errors) is
    printed afterwards, so a failing test's output shows it.
    """
    context = browser.new_context(viewport=viewport or LAPTOP, base_url=base_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    messages: list[str] = []
    page.on(
        "console",
        lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: messages.append(f"page error: {e}"))
    try:
        yield page
    finally:
        context.close()
        for line in messages:
            print("browser", line)


def shot(page: Page, name: str, folder: str = "web-console") -> None:
    directory = ARTIFACTS_ROOT / folder
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"))


def sign_in(page: Page, username: str) -> None:
    page.goto("/")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#logout")).to_be_visible()


def live_stats(page: Page) -> list[dict[str, Any]]:
    """What each live player on the page counted (frames, latency, status), from window.__wardwatchLive."""
    players: list[dict[str, Any]] = page.evaluate(
        "() => Object.values((window.__wardwatchLive || {players: {}}).players)"
    )
    return players
