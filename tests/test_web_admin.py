"""The registry, operating-theatre, accounts and audit screens in a real browser.

One module-scoped world (SQLite, the access wing's world: facility A with an operating room
``OR 1``, doors, a door terminal and province A's practitioner register) is served with
uvicorn; each test signs in with a fresh Chromium context and saves a screenshot per step
under test-artifacts/web-admin/. The world's clock stands at 10:00 on 10 March 2026 in Ho
Chi Minh City, so "the day" of the theatre screen is that day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect

from conftest import make_database
from support import World
from test_access_schedule import procedure_body
from test_access_world import (
    NOW,
    REGISTER_CSV,
    access_world,
    device,
    door_event,
    import_register,
    make_terminal,
    with_field,
)
from wardwatch.api.app import create_app
from wardwatch.bench.live import BackgroundServer
from wardwatch.kernel.i18n import catalog
from web_support import WALL, open_page, shot, sign_in

FOLDER = "web-admin"
EN = catalog("en")


@dataclass
class Served:
    world: World
    url: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("admin")
    url, drop = make_database("sqlite", directory / "data", sqlite_template)
    world = access_world(directory, url)
    world.add_user("acct_a", "account_administrator", "prov_a")
    world.add_user("installer_p", "installer", "prov_a")  # sees both of province A's facilities
    world.add_user("auditor_root", "auditor", "root")
    # The register is on record from the day before, as it would be for the day's events.
    world.clock.set(NOW - timedelta(days=1))
    assert import_register(world, "prov_sup_a", "prov_a", REGISTER_CSV).status_code == 201
    world.clock.set(NOW)
    _, token = make_terminal(world, "ZK-0001", ["door_or"])
    with device(world, token) as terminal:
        events = [door_event(world, 1, time="2026-03-10T07:55:00+07:00", person_id="P-SURG")]
        assert terminal.post("/api/v1/terminal/events", json=events).json()["accepted"] == 1
    with world.client("admin") as admin:
        made = admin.post(f"/api/v1/facilities/{world.ids['fac_a']}/procedures", json=procedure_body(world))
        assert made.status_code == 201, made.text
        late = admin.put(
            f"/api/v1/facilities/{world.ids['fac_a2']}/rollout/deadline", json={"required_by": "2026-03-01"}
        )
        assert late.status_code == 200, late.text
    app = create_app(world.container, manage_lifecycle=False)
    try:
        with BackgroundServer(app) as server:
            yield Served(world, server.url)
    finally:
        world.container.close()
        drop()


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    with open_page(browser, served.url) as page:
        yield page


def sign_out(page: Page) -> None:
    page.locator("#logout").click()
    expect(page.locator("#signin-form")).to_be_visible()


def test_registry_refuses_a_private_zone_and_an_incomplete_activation_and_shows_overdue_rollout(
    page: Page, served: Served
) -> None:
    ids = served.world.ids
    sign_in(page, "installer_p")
    page.locator("#nav a[href='#/registry']").click()
    page.locator(f"#facility-list tr[data-facility='{ids['fac_a']}'] a").click()
    expect(page.locator("#zone-list tbody tr")).to_have_count(3)
    toilet = page.locator(f"#zone-list tr[data-zone='{ids['fac_a_toilet']}']")
    expect(toilet.locator(".badge.private")).to_have_text(EN["web.registry.private"])
    shot(page, "01-registry-facility", FOLDER)

    # The picker marks the private zone; the API's refusal names the placement rule.
    zone_option = page.locator(f"#camera-zone option[value='{ids['fac_a_toilet']}']")
    expect(zone_option).to_have_text("toilet — private zone, cameras refused")
    page.locator("#camera-zone").select_option(ids["fac_a_toilet"])
    expect(page.locator("#camera-private-note")).to_be_visible()
    page.locator("#camera-name").fill("Toilet cam")
    page.locator("#camera-main-url").fill("rtsp://10.0.0.9/main")
    page.locator("#camera-submit").click()
    refusal = page.locator("#camera-form-error")
    expect(refusal).to_contain_text("Rule placement.private_zone")
    expect(refusal).to_contain_text("“toilet”")
    refusal.scroll_into_view_if_needed()
    shot(page, "02-camera-private-zone-refused", FOLDER)
    expect(page.locator("#camera-list")).to_have_count(0)

    # A camera without a legal basis: the form says what activation still needs...
    page.locator("#camera-zone").select_option(ids["fac_a_corridor"])
    page.locator("#camera-name").fill("Corridor cam")
    page.locator("#camera-purpose-rule_supervision").check()
    page.locator("#camera-retention").fill("30")
    page.locator("#camera-signage").check()
    expect(page.locator("#camera-needs")).to_have_text(
        f"{EN['web.registry.activation_needs']} {EN['web.registry.field.legal_basis']}"
    )
    page.locator("#camera-submit").click()
    row = page.locator("#camera-list tbody tr").filter(has_text="Corridor cam")
    expect(row.locator(".badge")).to_have_text(EN["camera_status.draft"])
    expect(row.locator("td.activation")).to_contain_text(EN["web.registry.field.legal_basis"])
    # ...and activating anyway is refused by the API, naming the rule and the missing field.
    row.locator("[data-action=activate]").click()
    refused = page.locator("#camera-action-error")
    expect(refused).to_contain_text("Rule camera.activation")
    expect(refused.locator(".missing")).to_contain_text(EN["web.registry.field.legal_basis"])
    refused.scroll_into_view_if_needed()
    shot(page, "03-activation-refused", FOLDER)

    # Once the legal basis is on record, it activates.
    row.locator("[data-action=edit]").click()
    page.locator("#camera-legal-basis").fill("CV 4403/CV-BCĐ")
    expect(page.locator("#camera-needs")).to_have_text(EN["web.registry.activation_ready"])
    page.locator("#camera-submit").click()
    row = page.locator("#camera-list tbody tr").filter(has_text="Corridor cam")
    row.locator("[data-action=activate]").click()
    expect(row.locator(".badge")).to_have_text(EN["camera_status.active"])
    with served.world.client("admin") as admin:
        cameras = admin.get("/api/v1/cameras", params={"facility_id": ids["fac_a"]}).json()
    assert [(c["name"], c["status"]) for c in cameras] == [("Corridor cam", "active")]
    shot(page, "04-camera-active", FOLDER)

    # A public zone and a door watched by the camera, through the same screen.
    page.locator("#zone-name").fill("Lobby")
    page.locator("#zone-area").select_option("lobby")
    page.locator("#zone-form button[type=submit]").click()
    expect(page.locator("#zone-list tbody tr")).to_have_count(4)
    page.locator("#door-name").fill("Surgical entrance")
    page.locator("#door-kind").select_option("surgical_area_entrance")
    page.locator("#door-zone").select_option(ids["fac_a_corridor"])
    page.locator("#door-cameras label", has_text="Corridor cam").click()
    page.locator("#door-form button[type=submit]").click()
    door = page.locator("#door-list tbody tr").filter(has_text="Surgical entrance")
    expect(door).to_contain_text("Corridor cam")
    expect(door).to_contain_text(EN["door_kind.surgical_area_entrance"])

    # The rollout registry, on a wall screen: the overdue facility stands out.
    page.set_viewport_size(WALL)
    page.locator("a[href='#/registry?tab=rollout']").click()
    overdue = page.locator(f"#rollout-list tr[data-facility='{ids['fac_a2']}']")
    expect(overdue).to_have_class("overdue")
    expect(overdue.locator(".badge.overdue")).to_have_text(EN["web.registry.overdue"])
    expect(page.locator(f"#rollout-list tr[data-facility='{ids['fac_a']}']")).not_to_have_class("overdue")
    expect(page.locator("#rollout-summary")).to_have_text("Facilities: 2, overdue: 1")
    shot(page, "05-rollout-overdue", FOLDER)
    for locale in ("vi", "zh-Hans"):
        page.locator("#locale").select_option(locale)
        expect(page.locator("#rollout-title")).to_have_text(catalog(locale)["web.rollout.title"])
        expect(overdue.locator(".badge.overdue")).to_have_text(catalog(locale)["web.registry.overdue"])
        shot(page, f"06-rollout-{locale}", FOLDER)
    page.locator("#locale").select_option("en")

    # One step forward is recorded; a step back without a reason is refused, and says so.
    overdue.locator("button").click()
    expect(page.locator("#rollout-status")).to_have_value("committed")
    page.locator("#rollout-step-form button[type=submit]").click()
    expect(overdue.locator(".badge").first).to_have_text(EN["rollout_status.committed"])
    page.locator("#rollout-status").select_option("required")
    page.locator("#rollout-step-form button[type=submit]").click()
    expect(page.locator("#rollout-edit-error")).to_have_text(re.compile(".+"))
    shot(page, "07-rollout-step-back-refused", FOLDER)

    # A new facility opens on its own page.
    page.locator(".tabs a[href='#/registry']").click()
    page.locator("details.add > summary").click()
    page.locator("#facility-parent").select_option(ids["dist_a"])
    page.locator("#facility-name").fill("Clinic C")
    page.locator("#facility-type").select_option("clinic")
    page.locator("#facility-address").fill("3 Test Street")
    page.locator("#facility-form button[type=submit]").click()
    expect(page.locator("#facility-title")).to_have_text("Clinic C")
    expect(page.locator("#zone-list")).to_have_count(0)


def test_theatre_day_beside_the_ledger_and_a_register_import_refused_then_accepted(
    page: Page, served: Served
) -> None:
    ids = served.world.ids
    sign_in(page, "prov_sup_a")
    page.goto(f"/#/theatres?facility={ids['fac_a']}&date=2026-03-10")
    room = page.locator(f"#procedures .room[data-room='{ids['room']}']")
    expect(room.locator("h3")).to_have_text("OR 1")
    operation = room.locator("tbody tr")
    expect(operation).to_have_count(1)
    expect(operation.locator("th")).to_have_text("API-1")
    # 13:00-14:00 in the facility's zone (UTC+7), whatever the browser's own zone.
    expect(operation.locator("td .planned")).to_have_text("13:00–14:00")
    entry = page.locator("#entry-list tbody tr")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("Nguyễn Văn An")
    expect(entry).to_contain_text("7:55:00")
    expect(entry).to_contain_text(EN["web.theatres.licence.ok"])
    shot(page, "10-theatre-day", FOLDER)

    # A file with bad rows is refused whole, and every row's error is listed.
    bad = with_field(REGISTER_CSV, "CCHN-003", "profession", "wizard")
    bad = with_field(bad, "CCHN-004", "valid_from", "soon")
    page.locator("#import-node").select_option(ids["prov_a"])
    page.locator("#import-file").set_input_files(
        files=[{"name": "register-bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.locator("#import-form button[type=submit]").click()
    expect(page.locator("#import-error")).to_contain_text("2 errors and nothing was imported")
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_have_attribute("data-row", "4")
    expect(errors.nth(0)).to_contain_text("profession")
    expect(errors.nth(0)).to_contain_text("Not one of:")
    expect(errors.nth(1)).to_have_attribute("data-row", "5")
    expect(errors.nth(1)).to_contain_text(EN["access.row.not_date"])
    expect(page.locator("#import-result")).to_be_hidden()
    errors.last.scroll_into_view_if_needed()
    shot(page, "11-import-refused", FOLDER)

    # A good file: one practitioner added, one changed, the rest unchanged.
    good = with_field(REGISTER_CSV, "CCHN-003", "status", "suspended")
    good += "CCHN-006,P-NEW,Đỗ Văn Phúc,physician,,no,2024-01-01,,active\n"
    page.locator("#import-file").set_input_files(
        files=[{"name": "register.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    page.locator("#import-form button[type=submit]").click()
    result = page.locator("#import-result")
    expect(result).to_have_text("register.csv: rows read: 6; added: 1, changed: 1, unchanged: 4, revoked: 0.")
    expect(page.locator("#import-errors")).to_have_count(0)
    expect(page.locator("#import-error")).to_be_hidden()
    nurse = page.locator("#practitioner-list tr").filter(has_text="CCHN-003")
    expect(nurse.locator(".badge")).to_have_text(EN["licence_status.suspended"])
    expect(page.locator("#practitioner-list tr").filter(has_text="CCHN-006")).to_have_count(1)
    result.scroll_into_view_if_needed()
    shot(page, "12-import-accepted", FOLDER)


def test_an_account_request_is_approved_by_an_account_administrator(page: Page, served: Served) -> None:
    ids = served.world.ids
    sign_in(page, "prov_sup_a")
    page.locator("#nav a[href='#/accounts']").click()
    page.locator("#request-node").select_option(ids["fac_a"])
    page.locator("#request-role").select_option("duty_operator")
    page.locator("#request-username").fill("night.operator")
    page.locator("#request-display-name").fill("Night Operator")
    page.locator("#request-justification").fill("Night shift at facility A")
    page.locator("#request-form button[type=submit]").click()
    expect(page.locator("#request-status")).to_have_text("Request for night.operator sent.")
    row = page.locator("#request-list tr[data-username='night.operator']")
    expect(row.locator(".badge")).to_have_text(EN["request_status.pending"])
    expect(row.locator("[data-action=approve]")).to_have_count(0)  # a supervisor cannot provision
    shot(page, "20-account-requested", FOLDER)
    sign_out(page)
    with served.world.client("prov_sup_a") as supervisor:
        second = {
            "node_id": ids["fac_a"],
            "role": "duty_operator",
            "username": "day.operator",
            "display_name": "Day Operator",
            "justification": "Day shift",
        }
        assert supervisor.post("/api/v1/account-requests", json=second).status_code == 201

    sign_in(page, "acct_a")
    page.locator("#nav a[href='#/accounts']").click()
    row = page.locator("#request-list tr[data-username='night.operator']")
    expect(row).to_contain_text("prov_sup_a")
    row.locator("[data-action=approve]").click()
    expect(page.locator("#activation-code")).to_have_text(re.compile(r"^[A-Za-z0-9_-]{16}$"))
    expect(page.locator("#approval-result")).to_contain_text("Account night.operator created.")
    expect(page.locator("#request-list tr[data-username='night.operator']")).to_have_count(0)
    shot(page, "21-account-approved", FOLDER)

    # A rejection needs a reason: without one the API refuses, and the screen says why.
    other = page.locator("#request-list tr[data-username='day.operator']")
    other.locator("[data-action=reject]").click()
    expect(page.locator("#requests-error")).to_have_text(re.compile(".+"))
    other.locator("input.note").fill("Duplicate of an existing account")
    other.locator("[data-action=reject]").click()
    expect(page.locator("#request-list tr[data-username='day.operator']")).to_have_count(0)
    page.locator("#requests-status").select_option("rejected")
    expect(page.locator("#request-list tr[data-username='day.operator']")).to_contain_text(
        "Duplicate of an existing account"
    )

    page.locator("#bindings-node").select_option(ids["fac_a"])
    expect(page.locator("#bindings .node-bindings")).to_have_count(1)
    binding = page.locator(f"#bindings .node-bindings[data-node='{ids['fac_a']}'] tr").filter(
        has_text="night.operator"
    )
    expect(binding.locator("td").first).to_have_text(EN["role.duty_operator"])
    binding.scroll_into_view_if_needed()
    shot(page, "22-role-bindings", FOLDER)
    with served.world.client("admin") as admin:
        users = {u["username"]: u for u in admin.get("/api/v1/users").json()}
        assert users["night.operator"]["activated"] is False
        approved = admin.get("/api/v1/audit/entries", params={"action": "account.approve"}).json()
    assert [e["actor_name"] for e in approved] == ["acct_a"]


def test_audit_is_for_auditors_only_and_verify_shows_its_result(page: Page, served: Served) -> None:
    asked: list[str] = []

    def note(request: Request) -> None:
        if "/api/v1/audit" in request.url:
            asked.append(request.url)

    page.on("request", note)
    sign_in(page, "op_a")
    # An operator reads the registry but is offered no edit action.
    page.goto(f"/#/registry?facility={served.world.ids['fac_a']}")
    expect(page.locator("#zone-list")).to_be_visible()
    edits = page.locator("#zone-form, #camera-form, #door-form, #facility-form, [data-action]")
    expect(edits).to_have_count(0)
    expect(page.locator("#nav a[href='#/audit']")).to_be_hidden()
    page.goto("/#/audit")
    expect(page.locator("#audit-denied")).to_have_text(EN["web.audit.not_permitted"])
    expect(page.locator("#audit-log, #audit-entries, #checkpoint, #verify-form")).to_have_count(0)
    assert asked == [], "the screen asks nothing of the log for a non-auditor"
    shot(page, "30-audit-not-for-operators", FOLDER)
    sign_out(page)

    sign_in(page, "auditor_root")
    page.locator("#nav a[href='#/audit']").click()
    expect(page.locator("#audit-entries tbody tr").first).to_be_visible()
    page.locator("#audit-action").fill("practitioner.import")
    page.locator("#audit-search button[type=submit]").click()
    rows = page.locator("#audit-entries tbody tr")
    expect(rows.first).to_have_attribute("data-action", "practitioner.import")
    actions = set(rows.evaluate_all("rows => rows.map(r => r.dataset.action)"))
    assert actions == {"practitioner.import"}
    shot(page, "31-audit-search", FOLDER)

    page.set_viewport_size(WALL)
    page.locator("#checkpoint-sign").click()
    expect(page.locator("#checkpoint-size")).to_have_text(re.compile(r"^[1-9][0-9]*$"))
    expect(page.locator("#checkpoint-note")).to_contain_text("wardwatch")
    page.locator("#verify-run").click()
    verdict = page.locator("#verify-verdict")
    expect(verdict).to_have_text(EN["web.audit.intact"])
    expect(page.locator("#verify-result")).to_have_attribute("data-ok", "true")
    expect(page.locator("#verify-message")).to_contain_text("Audit log intact")
    shot(page, "32-audit-verified", FOLDER)
    with served.world.client("admin") as admin:
        runs = admin.get("/api/v1/audit/entries", params={"action": "audit.verify"}).json()
    assert [(e["actor_name"], e["outcome"]) for e in runs] == [("auditor_root", "success")]
