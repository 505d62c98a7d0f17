"""The alerts, incidents and duty screens in Debian's Chromium, against a seeded world.

One module-scoped world (SQLite) is filled through the real services: a theatre day at
facility A replayed through the terminal endpoint and judged by the rule engine (a red R1
and R4, a yellow R3, a blue R7, each with its real evidence), a camera whose picture went
black for 36 minutes (an incident that needs a repair and a fallback record to close), and
a roster at facility A: ``op1`` on a shift that ends in 20 minutes, ``op2`` on the next,
then a gap. The clock is fixed at the start, so "now" on the server does not move while the
browser works. Screenshots go under test-artifacts/web-alerts-duty/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect

from conftest import make_database
from support import TZ, World, build_world, ready_camera_body
from test_health_incidents import online, picture
from test_rules_world import pump
from wardwatch.api.app import create_app
from wardwatch.bench.live import BackgroundServer
from wardwatch.duty.schemas import ShiftCreate, ShiftStart
from wardwatch.health.model import HealthState
from wardwatch.kernel.i18n import catalog
from wardwatch.sim import doors as sim
from web_support import WALL, open_page, shot, sign_in

FOLDER = "web-alerts-duty"
EN = catalog("en")


@dataclass
class DutyConsole:
    world: World
    url: str
    alerts: dict[str, str]
    """rule id -> alert id."""
    incident_id: str
    shifts: dict[str, str]


def theatre_day(world: World) -> dict[str, str]:
    """Yesterday's operations at facility A with R1, R3, R4 and R7 broken, judged by the rules."""
    admin = sim.admin_principal(world.container, "admin")
    plan = sim.plan_day(sim.yesterday(TZ, world.clock.now()), ["R1", "R3", "R4", "R7"], rooms=1, tag="WEB")
    where = sim.provision(world.container, admin, world.ids["fac_a"], plan)
    app = create_app(world.container, manage_lifecycle=False)
    with TestClient(app, base_url="http://testserver") as client:
        sent = sim.send_http("http://testserver", where.token, sim.door_events(plan, where), client=client)
    assert sent["refused"] == 0
    world.ids["pumped"] = ""
    pump(world)
    world.container.rules.service.tick()
    pump(world)
    with world.client("admin") as admin_client:
        found = {a["rule_id"]: a["id"] for a in admin_client.get("/api/v1/alerts").json()}
    assert set(found) == set(plan.expected), found
    return found


def black_camera(world: World) -> str:
    """The corridor camera goes black for 36 minutes: an incident past the fallback time."""
    world.container.health.service.recording = lambda: True
    online(world, "cam_a")
    picture(world, "cam_a", HealthState.BLACK)
    world.clock.advance(timedelta(seconds=61))
    assert world.container.health.incidents.check() == 1
    world.clock.advance(timedelta(minutes=35))
    world.container.health.incidents.check()
    picture(world, "cam_a", HealthState.OK)
    with world.client("admin") as admin:
        (incident,) = admin.get("/api/v1/incidents").json()
    assert incident["status"] == "recovered" and incident["fallback_required"]
    return str(incident["id"])


def roster(world: World, now: datetime) -> dict[str, str]:
    """op1 is on duty until now + 20 min, op2 takes over then; nobody from +8h20 to +10h."""
    planner = world.principal("supervisor")
    plan = {
        "current": ("op1", now - timedelta(hours=7), now + timedelta(minutes=20)),
        "next": ("op2", now + timedelta(minutes=20), now + timedelta(hours=8, minutes=20)),
        "later": ("op1", now + timedelta(hours=10), now + timedelta(hours=18)),
    }
    shifts = {}
    for key, (who, start, end) in plan.items():
        made = world.container.duty.roster.create(
            planner,
            ShiftCreate(
                node_id=world.ids["fac_a"],
                label=f"Shift {key}",
                starts_at=start,
                ends_at=end,
                operator_ids=[world.users[who]],
            ),
        )
        shifts[key] = made.id
    world.container.duty.handovers.start(
        world.principal("op1"), shifts["current"], ShiftStart(reason="first shift of the roster")
    )
    return shifts


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[DutyConsole]:
    directory = tmp_path_factory.mktemp("alerts-duty")
    url, drop = make_database("sqlite", directory / "data", sqlite_template)
    now = datetime.now(UTC).replace(microsecond=0)
    # The world starts in the past so that the incident's 36 minutes end before "now".
    world = build_world(
        directory / "data",
        url,
        now - timedelta(hours=1),
        auth={"mfa_required_roles": []},
        alerts={"dispatch": False},
        duty={"coverage_check": False},
        health={"incident_debounce_s": 60, "fallback_after_minutes": 30},
    )
    world.add_user("supervisor", "supervisor", "dist_a")
    world.add_user("op1", "duty_operator", "fac_a")
    world.add_user("op2", "duty_operator", "fac_a")
    with world.client("admin") as admin:
        for key, zone, kind in (
            ("door_or", "fac_a_ordoor", "operating_room_door"),
            ("door_sa", "fac_a_corridor", "surgical_area_entrance"),
        ):
            made = admin.post("/api/v1/doors", json={"zone_id": world.ids[zone], "name": key, "kind": kind})
            assert made.status_code == 201, made.text
        camera = admin.post(
            "/api/v1/cameras", json=ready_camera_body(world.ids["fac_a_corridor"], name="Corridor 3F")
        ).json()
        assert admin.post(f"/api/v1/cameras/{camera['id']}/activate").status_code == 200
        world.ids["cam_a"] = camera["id"]
    alerts = theatre_day(world)
    incident_id = black_camera(world)
    world.clock.set(now)
    shifts = roster(world, now)
    app = create_app(world.container, manage_lifecycle=False)
    try:
        with BackgroundServer(app) as server:
            yield DutyConsole(world, server.url, alerts, incident_id, shifts)
    finally:
        world.container.close()
        drop()


@pytest.fixture
def page(browser: Browser, console: DutyConsole) -> Iterator[Page]:
    with open_page(browser, console.url) as page:
        yield page


def api_get(console: DutyConsole, username: str, path: str, **params: Any) -> Any:
    with console.world.client(username) as client:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


def test_alert_queue_acknowledges_a_red_alert_shows_its_evidence_and_creates_a_silence(
    page: Page, console: DutyConsole
) -> None:
    sign_in(page, "supervisor")
    page.locator("#nav a[href='#/alerts']").click()
    rows = page.locator("#alert-queue tr[data-alert]")
    expect(rows).to_have_count(4)
    # Each colour says its name: colour is not the only cue.
    for severity, label in (("red", "Red"), ("yellow", "Yellow"), ("blue", "Blue")):
        expect(page.locator(f"#alert-queue tr[data-severity='{severity}'] .sev").first).to_have_text(label)
    shot(page, "01-alert-queue", FOLDER)

    page.locator("#filter-severity").select_option("red")
    expect(rows).to_have_count(2)
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.severity)")) == {"red"}
    page.locator("#filter-rule").select_option("R4")
    expect(rows).to_have_count(1)
    shot(page, "02-alert-queue-red-r4", FOLDER)

    # The red R4 alert: an unlicensed person walked into the surgical area. By keyboard.
    rows.first.locator("button.linklike").focus()
    page.keyboard.press("Enter")
    detail = page.locator("#alert-detail")
    expect(detail).to_have_attribute("data-alert", console.alerts["R4"])
    expect(detail.locator(".meta .sev")).to_have_text("Red")
    expect(page.locator("#evidence-measures tr[data-measure='unlicensed_entries'] td")).to_have_text("1")
    events = page.locator("#evidence-events tr[data-event]")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text("SIM-WEB-VISITOR")
    expect(events.first).to_contain_text("door_sa")
    expect(events.first).to_contain_text(EN["door_result.granted"])
    expect(page.locator("#alert-escalation-state")).to_have_attribute("data-level", "0")
    expect(page.locator("#alert-escalation li")).to_have_count(1)
    expect(page.locator("#alert-escalation li").first).to_contain_text(EN["web.alerts.receiver.supervisors"])
    shot(page, "03-alert-evidence", FOLDER)

    comment = "Checked the entrance camera: a visitor without a licence, escorted out."
    page.locator("#ack-comment").fill(comment)
    page.locator("#ack-form button[type=submit]").click()
    expect(page.locator("#alert-ack-comment")).to_have_text(comment)
    expect(detail.locator(".meta .badge")).to_have_text(EN["web.alerts.status.acknowledged"])
    expect(page.locator("#alert-escalation")).to_contain_text(EN["web.alerts.escalation.stopped_ack"])
    expect(page.locator("#alert-history li[data-kind='acknowledged']")).to_contain_text(comment)
    shot(page, "04-alert-acknowledged", FOLDER)
    acked = api_get(console, "admin", f"/api/v1/alerts/{console.alerts['R4']}")
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged"]["by"] == console.world.users["supervisor"]
    assert acked["acknowledged"]["comment"] == comment

    # The red R1 alert rests on an operation nobody from anaesthesia walked into.
    page.locator("#filter-rule").select_option("R1")
    expect(rows).to_have_count(1)
    rows.first.locator("button.linklike").click()
    expect(detail).to_have_attribute("data-alert", console.alerts["R1"])
    expect(page.locator("#evidence-measures tr[data-measure='anaesthetist_entries'] td")).to_have_text("0")
    expect(page.locator("#evidence-events-none")).to_be_visible()
    procedure = page.locator("#evidence-procedures tr[data-procedure]")
    expect(procedure).to_have_count(1)
    expect(procedure).to_contain_text(re.compile(r"SIM-\d{8}-OP4"))
    expect(procedure).to_contain_text(EN["anaesthesia.general"])

    # A silence needs an end in the future: the API's refusal is shown in the form.
    page.locator("#silence-comment").fill("Theatre schedule under review with the clinic")
    page.locator("#silence-ends").fill("2020-01-01T08:00")
    page.locator("#silence-form button[type=submit]").click()
    expect(page.locator("#silence-error")).to_have_text(EN["problem.silence_end_in_past.detail"])
    shot(page, "05-silence-refused", FOLDER)
    later = datetime.now(UTC) + timedelta(hours=3)
    page.locator("#silence-ends").fill(later.astimezone(ZoneInfo(TZ)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#silence-form button[type=submit]").click()
    expect(page.locator("#silence-done")).to_be_visible()
    silence_id = page.locator("#silence-done").get_attribute("data-silence")
    row = page.locator(f"#silence-list tr[data-silence='{silence_id}']")
    expect(row).to_contain_text('rule_id="R1"')
    expect(row).to_contain_text(EN["web.common.you"])
    shot(page, "06-silence-created", FOLDER)
    (silence,) = [s for s in api_get(console, "admin", "/api/v1/silences") if s["id"] == silence_id]
    assert silence["created_by"] == console.world.users["supervisor"]
    assert silence["comment"] == "Theatre schedule under review with the clinic"
    assert {(m["name"], m["value"]) for m in silence["matchers"]} == {
        ("rule_id", "R1"),
        ("facility_id", console.world.ids["fac_a"]),
    }

    # The screen follows the language, the colour names included.
    page.locator("#locale").select_option("vi")
    expect(detail.locator(".meta .sev")).to_have_text(catalog("vi")["web.alerts.colour.red"])
    expect(page.locator("main h1")).to_have_text(catalog("vi")["web.alerts.title"])
    shot(page, "07-alerts-vi", FOLDER)
    page.locator("#locale").select_option("en")


def test_incident_close_is_refused_naming_the_missing_record_then_closes_with_repair_and_fallback(
    page: Page, console: DutyConsole
) -> None:
    page.set_viewport_size(WALL)
    sign_in(page, "op1")
    page.locator("#nav a[href='#/incidents']").click()
    row = page.locator(f"#incident-list tr[data-incident='{console.incident_id}']")
    expect(row).to_have_attribute("data-status", "recovered")
    expect(row).to_contain_text("Corridor 3F")
    expect(row).to_contain_text(EN["health_state.black"])
    row.locator("button.linklike").click()
    detail = page.locator("#incident-detail")
    expect(detail).to_have_attribute("data-incident", console.incident_id)
    expect(page.locator("#fallback-required")).to_be_visible()
    expect(page.locator("#incident-timeline li[data-kind='fallback_due']")).to_have_count(1)
    shot(page, "10-incident-detail", FOLDER)

    page.locator("#incident-ack-note").fill("Seen on the grid, technician called")
    page.locator("#incident-ack-form button[type=submit]").click()
    acknowledged = page.locator("#incident-timeline li[data-kind='acknowledged']")
    expect(acknowledged).to_contain_text("technician called")
    expect(page.locator("#incident-ack-form")).to_have_count(0)
    page.locator("#incident-note").fill("Technician on site at 10:40")
    page.locator("#incident-note-form button[type=submit]").click()
    expect(page.locator("#incident-timeline li[data-kind='note']")).to_contain_text("on site at 10:40")

    # Closing without any record: refused, naming the repair record.
    page.locator("#close-submit").click()
    expect(page.locator("#close-error")).to_have_text(EN["problem.incident_repair_missing.detail"])
    expect(page.locator("#close-error")).to_have_attribute("data-field", "repair")
    expect(page.locator("#repair-form")).to_have_attribute("aria-invalid", "true")
    shot(page, "11-close-refused-repair", FOLDER)

    # With the repair but not the fallback: refused again, naming the fallback record.
    page.locator("#repair-action").fill("Replaced the PoE injector")
    page.locator("#repair-by").fill("Trần Văn Kỹ (technician)")
    page.locator("#close-submit").click()
    expect(page.locator("#close-error")).to_have_attribute("data-field", "fallback")
    expect(page.locator("#close-error")).to_contain_text("30")
    expect(page.locator("#fallback-form")).to_have_attribute("aria-invalid", "true")
    shot(page, "12-close-refused-fallback", FOLDER)
    unchanged = api_get(console, "admin", f"/api/v1/incidents/{console.incident_id}")
    assert unchanged["status"] == "recovered" and unchanged["repair"] is None, "nothing half-saved"

    page.locator("#fallback-measure").fill("Guard posted at the 3F corridor")
    page.locator("#close-note-input").fill("Camera checked on the grid")
    page.locator("#close-submit").click()
    expect(detail).to_have_attribute("data-status", "closed")
    expect(page.locator("#repair-record")).to_contain_text("Replaced the PoE injector")
    expect(page.locator("#fallback-record")).to_contain_text("Guard posted at the 3F corridor")
    expect(page.locator("#incident-timeline li[data-kind='closed']")).to_have_count(1)
    expect(page.locator("#close-form")).to_have_count(0)
    shot(page, "13-incident-closed", FOLDER)
    closed = api_get(console, "admin", f"/api/v1/incidents/{console.incident_id}")
    assert closed["status"] == "closed" and closed["closed_by"] == console.world.users["op1"]
    assert closed["repair"]["repaired_by"] == "Trần Văn Kỹ (technician)"
    assert closed["fallback"]["measure"] == "Guard posted at the 3F corridor"
    assert closed["close_note"] == "Camera checked on the grid"


def test_roster_shows_gaps_the_logbook_takes_an_entry_and_a_handover_is_written_and_acknowledged(
    browser: Browser, page: Page, console: DutyConsole
) -> None:
    sign_in(page, "op1")
    page.locator("#nav a[href='#/duty']").click()
    coverage = page.locator(f"section.coverage[data-facility='{console.world.ids['fac_a']}']")
    expect(coverage).to_be_visible()
    # No shift from 12 h ago until op1's began, none between op2's and the next, none after
    # it; and op1 took the shift only now, 7 hours late (past the takeover grace).
    expect(coverage.locator("tr.gap")).to_have_count(4)
    expect(coverage.locator("tr.gap-unstaffed")).to_have_count(3)
    expect(coverage.locator("tr.gap-not_taken")).to_have_count(1)
    expect(coverage.locator("tr.gap-not_taken")).to_contain_text(EN["gap_reason.not_taken"])
    expect(coverage.locator(".duty-lane .gap-bar")).to_have_count(4)
    expect(coverage.locator(".on-duty")).to_contain_text("op1")
    expect(page.locator(f"#shift-list tr[data-shift='{console.shifts['next']}']")).to_contain_text("op2")
    shot(page, "20-roster-gaps", FOLDER)

    # An operator holds no alert.silence: the alert screen offers no silence form.
    page.goto(f"/#/alerts?alert={console.alerts['R3']}")
    expect(page.locator("#alert-detail")).to_have_attribute("data-alert", console.alerts["R3"])
    expect(page.locator("#silence-form")).to_have_count(0)
    expect(page.locator("#ack-form")).to_be_visible()
    # Nor the entry ledger: the evidence names its door events by id, and says why.
    expect(page.locator("#evidence-events")).to_contain_text(EN["web.alerts.evidence.events_not_permitted"])
    expect(page.locator("#evidence-events li")).to_have_count(2)

    page.goto("/#/duty?tab=logbook")
    page.locator("#log-kind").select_option("observation")
    page.locator("#log-text").fill("Night round: all corridor cameras checked on the grid.")
    page.locator("#log-form button[type=submit]").click()
    expect(page.locator("#log-form-done")).to_be_visible()
    expect(page.locator("#logbook tr[data-entry]").first).to_contain_text("Night round")
    shot(page, "21-logbook", FOLDER)

    page.locator("a[data-tab='handover']").click()
    card = page.locator(f"#shift-{console.shifts['current']}")
    summary = "Quiet night. R3 and R7 at the clinic still to be checked with the facility supervisor."
    card.locator("textarea.handover-summary-input").fill(summary)
    card.locator("form.handover-write button[type=submit]").click()
    written = card.locator("article.handover")
    expect(written).to_contain_text(summary)
    # What was still open is listed by the API, not typed by the operator.
    items = written.locator("ul.open-items li[data-kind='alert']")
    expect(items.first).to_be_visible()
    listed = {i.get_attribute("data-item") for i in items.all()}
    assert console.alerts["R3"] in listed and console.alerts["R7"] in listed
    expect(written).to_have_attribute("data-acknowledged", "false")
    shot(page, "22-handover-written", FOLDER)
    handover_id = written.get_attribute("data-handover")

    with open_page(browser, console.url) as next_page:
        sign_in(next_page, "op2")
        next_page.goto("/#/duty?tab=handover")
        incoming = next_page.locator(f"#shift-{console.shifts['next']}")
        expect(incoming.locator("article.handover")).to_contain_text(summary)
        expect(incoming).to_have_attribute("data-taken", "false")
        shot(next_page, "23-handover-incoming", FOLDER)
        incoming.locator("textarea.handover-ack-note").fill("Read; will call the clinic at 8.")
        incoming.locator("form.handover-ack button[type=submit]").click()
        expect(incoming.locator("article.handover")).to_have_attribute("data-acknowledged", "true")
        expect(next_page.locator(f"#shift-{console.shifts['next']}")).to_have_attribute("data-taken", "true")
        expect(next_page.locator(f"#shift-state-{console.shifts['next']}")).to_have_text(
            EN["web.duty.shift.taken_by_you"]
        )
        shot(next_page, "24-handover-acknowledged", FOLDER)
    handover = api_get(console, "op2", f"/api/v1/duty/handovers/{handover_id}")
    assert handover["acknowledged_by"] == console.world.users["op2"]
    assert handover["ack_note"] == "Read; will call the clinic at 8."
    shift = api_get(console, "op2", f"/api/v1/duty/shifts/{console.shifts['next']}")
    assert shift["taken"] and shift["handover_in"] == handover_id
