"""What every browser test of the console needs: Debian's Chromium, a page, sign-in, screenshots.

Shared by the console's browser tests (test_web_*.py) so each file only builds the world
its screens need. Screenshots go under test-artifacts/<folder>/, one per step. The tests
against the real ``wardwatch demo`` (test_demo_*.py) start it here too, as a child process
in a process group of its own, so that nothing it started outlives the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, Playwright, expect

from support import PASSWORD, wait_for
from test_sim_cameras import free_base_port
from wardwatch.bench.live import CHROMIUM, CHROMIUM_ARGS
from wardwatch.demo import DEMO_PASSWORD, camera_sites

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


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#signin-form button[type=submit]").click()
    expect(page.locator("#logout")).to_be_visible()


def live_stats(page: Page) -> list[dict[str, Any]]:
    """What each live player on the page counted (frames, latency, status), from window.__wardwatchLive."""
    players: list[dict[str, Any]] = page.evaluate(
        "() => Object.values((window.__wardwatchLive || {players: {}}).players)"
    )
    return players


# ---------------------------------------------------------------- the real `wardwatch demo`

DEMO_START_S = 600
"""A first run on a machine encodes the simulated cameras' loops (minutes on two cores)."""
DEMO_STOP_S = 60


@dataclass
class RunningDemo:
    """``wardwatch demo`` running as a child process, the leader of its own process group."""

    base: str
    camera_port: int
    data: Path
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, username: str) -> httpx.Client:
        """An API client signed in as a demo account (with the CSRF header set)."""
        client = httpx.Client(base_url=self.base, timeout=60)
        response = client.post("/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.text
        client.headers["x-csrf-token"] = client.cookies["ww_csrf"]
        return client

    @contextmanager
    def session(self, username: str) -> Iterator[httpx.Client]:
        """``client(username)``, closed afterwards."""
        client = self.client(username)
        try:
            yield client
        finally:
            client.close()

    def log_tail(self, lines: int = 40) -> str:
        with suppress(OSError):
            return "\n".join(self.log.read_text("utf-8", errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = DEMO_STOP_S) -> int:
        """Stop it with SIGINT to the demo alone; its exit status.

        Stricter than Ctrl-C in a terminal, which signals the whole group: here the demo must
        stop its simulated cameras and workers itself.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def leftovers(self) -> list[str]:
        """The processes of its group still running (the demo's own, or what it started)."""
        return group_members(self.process.pid)


def group_members(pgid: int) -> list[str]:
    """Command lines of the live (not zombie) processes in process group ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name is in parentheses and may hold spaces: split after it.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (OSError, IndexError, ValueError):
            continue  # it ended while we looked
    return found


def _free_port(avoid: range) -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port


@contextmanager
def running_demo(directory: Path) -> Iterator[RunningDemo]:
    """``wardwatch demo`` on a fresh data directory under ``directory``, on free loopback ports.

    It runs in a new session, so the demo, its simulated cameras and its worker processes
    share a process group. On the way out it is stopped as a user would stop it, and then
    whatever is left of the group is killed, whether the test passed or not: a simulator
    left running from a failed test went on eating the CPU of the tests after it.
    """
    count = len(camera_sites())
    camera_port = free_base_port(count + 1)  # the control port is the one below the first
    api_port = _free_port(range(camera_port - 1, camera_port + count))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WARDWATCH_")}
    env["WARDWATCH_LANG"] = "en"
    data = directory / "demo-data"
    log = directory / "demo.log"
    command = [
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
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True
        )
    demo = RunningDemo(f"http://127.0.0.1:{api_port}", camera_port, data, process, log)

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"wardwatch demo exited with {process.returncode}:\n{demo.log_tail()}")
        try:
            return httpx.get(f"{demo.base}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(up, DEMO_START_S, "the demo to serve")
        yield demo
    finally:
        try:
            demo.stop()
        except subprocess.TimeoutExpired:
            print(f"wardwatch demo did not stop in {DEMO_STOP_S} s; killing its group:\n{demo.log_tail()}")
        finally:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
