"""The practitioner register: imports refused whole, counted, audited, and read in scope."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from test_access_world import NOW, REGISTER_CSV, access_world, audit_actions, bus_events, import_register
from wardwatch.cli import app as cli_app
from wardwatch.rules.source import AccessFacts


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = access_world(tmp_path, database_url)
    yield w
    w.container.close()


def practitioners(world, username: str, **params):
    with world.client(username) as client:
        response = client.get("/api/v1/practitioners", params=params)
    assert response.status_code == 200, response.text
    return {p["licence_number"]: p for p in response.json()}


def test_a_file_with_bad_rows_is_refused_whole_with_every_row_error(world) -> None:
    bad = (
        REGISTER_CSV
        + "CCHN-006,P-X,Vũ Thị Giang,dentist,,no,2021-01-01,,active\n"
        + "CCHN-007,,Đỗ Văn Hải,nurse,,maybe,,2020-01-01,active\n"
        + "CCHN-001,P-DUP,Duplicate Licence,nurse,,no,2021-01-01,,active\n"
    )
    response = import_register(world, "prov_sup_a", "prov_a", bad)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "import_rows_invalid"
    found = {(e["row"], e["field"], e["reason"]) for e in body["errors"]}
    assert found == {
        (7, "profession", "not_allowed"),
        (8, "lead_physician", "not_boolean"),
        (8, "valid_from", "required"),
        (9, "licence_number", "duplicate_in_file"),
    }
    assert all(e["message"] for e in body["errors"])
    assert body["error_count"] == 4 and "row 7, profession" in body["detail"]
    # Nothing of the good rows was imported, and the refusal itself is on the record.
    assert practitioners(world, "prov_sup_a") == {}
    assert ("practitioner.import", "failure") in audit_actions(world)
    with world.client("prov_sup_a") as client:
        vi = client.post(
            f"/api/v1/org/nodes/{world.ids['prov_a']}/practitioners/imports",
            content=bad.encode(),
            headers={"content-type": "text/csv", "accept-language": "vi"},
        )
    assert vi.status_code == 422 and "dòng 7" in vi.json()["detail"]


def test_unreadable_files_are_refused_with_one_clear_problem(world) -> None:
    cases = [
        (b"licence_no,name\nX,Y\n", "text/csv", "import_columns"),
        ("licence_number,name\nX,Y\n".encode("utf-16"), "text/csv", "import_not_utf8"),
        (b'[{"licence_number": 1', "application/json", "import_not_json"),
        (b'{"rows": []}', "application/json", "import_not_a_list"),
        (b"licence_number,name,profession,valid_from\n", "text/csv", "import_empty"),
        (b"licence_number,name\n", "text/plain", "import_format_unknown"),
    ]
    for body, content_type, code in cases:
        with world.client("prov_sup_a") as client:
            response = client.post(
                f"/api/v1/org/nodes/{world.ids['prov_a']}/practitioners/imports",
                params={"filename": "upload"},
                content=body,
                headers={"content-type": content_type},
            )
        assert response.status_code == 422, (code, response.text)
        assert response.json()["code"] == code
        if code == "import_columns":
            assert response.json()["unknown_columns"] == ["licence_no"]
    assert practitioners(world, "prov_sup_a") == {}


def test_imports_count_added_changed_unchanged_and_a_full_import_revokes_the_absent(world) -> None:
    first = import_register(world, "prov_sup_a", "prov_a", REGISTER_CSV)
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("rows", "added", "changed", "unchanged", "revoked")} == {
        "rows": 5,
        "added": 5,
        "changed": 0,
        "unchanged": 0,
        "revoked": 0,
    }
    again = import_register(world, "prov_sup_a", "prov_a", REGISTER_CSV).json()
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 5)
    listed = practitioners(world, "prov_sup_a")
    assert listed["CCHN-001"]["scopes"] == ["cosmetic_surgery", "general_surgery"]
    assert listed["CCHN-001"]["lead_physician"] is True
    assert listed["CCHN-005"]["status"] == "suspended"

    world.clock.advance(timedelta(hours=1))
    changed = REGISTER_CSV.replace(
        "CCHN-003,P-NURSE,Lê Thị Cúc,nurse,,no,2021-01-01,,active",
        "CCHN-003,P-NURSE,Lê Thị Cúc,nurse,,no,2021-01-01,2027-01-01,active",
    )
    lines = changed.splitlines()
    full = "\n".join(line for line in lines if not line.startswith("CCHN-004")) + "\n"
    result = import_register(world, "prov_sup_a", "prov_a", full, mode="full").json()
    assert (result["added"], result["changed"], result["unchanged"], result["revoked"]) == (0, 1, 3, 1)
    listed = practitioners(world, "prov_sup_a")
    assert listed["CCHN-004"]["status"] == "revoked"
    assert listed["CCHN-004"]["status_reason"] == "absent_from_full_import"
    assert listed["CCHN-003"]["valid_to"] == "2027-01-01"
    # Revoked, never deleted: the history says what the licence said before.
    with world.client("prov_sup_a") as client:
        history = client.get(f"/api/v1/practitioners/{listed['CCHN-004']['id']}/history").json()
    assert [h["change"] for h in history] == ["added", "revoked_absent"]
    assert history[0]["record"]["status"] == "active"
    # An incremental import leaves the absent alone, and can bring someone back.
    back = import_register(
        world, "prov_sup_a", "prov_a", REGISTER_CSV.splitlines()[0] + "\n" + lines[4] + "\n"
    )
    assert (back.json()["changed"], back.json()["revoked"]) == (1, 0)
    assert practitioners(world, "prov_sup_a")["CCHN-004"]["status"] == "active"
    actions = audit_actions(world)
    assert actions.count(("practitioner.import", "success")) == 4
    events = bus_events(world, "access.register.changed")
    assert [e["revoked"] for e in events] == [0, 0, 1, 0]


def test_json_exports_and_the_status_at_a_given_time(world) -> None:
    rows = [
        {
            "licence_number": "BYT-77",
            "name": "Ngô Thị Lan",
            "profession": "anaesthetist",
            "scopes": ["anaesthesia"],
            "lead_physician": False,
            "valid_from": "2020-01-01",
        }
    ]
    response = import_register(
        world, "admin", "root", json.dumps({"practitioners": rows}), content_type="application/json"
    )
    assert response.status_code == 201, response.text
    listed = practitioners(world, "admin", node_id=world.ids["root"])
    assert listed["BYT-77"]["person_id"] == "BYT-77", "the person id defaults to the licence number"
    before_suspension = NOW + timedelta(minutes=5)
    world.clock.advance(timedelta(hours=2))
    rows[0]["status"] = "suspended"
    import_register(world, "admin", "root", json.dumps(rows), content_type="application/json")
    access = world.container.access
    then = access.practitioner_at(world.ids["fac_a"], "BYT-77", before_suspension)
    later = access.practitioner_at(world.ids["fac_a"], "BYT-77", world.clock.now())
    assert then is not None and then.record.status == "active"
    assert later is not None and later.record.status == "suspended"
    # Before the first import the register's own valid_from speaks: licensed since 2020, the
    # day before the import was a licensed day (the rule engine answers the same, see below).
    before_import = access.practitioner_at(world.ids["fac_a"], "BYT-77", NOW - timedelta(days=1))
    assert before_import is not None and before_import.record.status == "active"
    assert access.practitioner_at(world.ids["fac_a"], "BYT-77", datetime(2019, 12, 31, tzinfo=UTC)) is None
    book = AccessFacts(access).book(world.ids["fac_a"])
    for moment in (
        NOW - timedelta(days=1),
        before_suspension,
        world.clock.now(),
        datetime(2019, 12, 31, tzinfo=UTC),
    ):
        ledger, rules = (
            access.practitioner_at(world.ids["fac_a"], "BYT-77", moment),
            book.person_at("BYT-77", moment),
        )
        assert (ledger and ledger.record) == (rules and rules.record), moment


def test_a_person_id_already_held_by_another_licence_is_refused(world) -> None:
    import_register(world, "prov_sup_a", "prov_a", REGISTER_CSV)
    clash = REGISTER_CSV.splitlines()[0] + "\nCCHN-099,P-SURG,Someone Else,nurse,,no,2021-01-01,,active\n"
    response = import_register(world, "prov_sup_a", "prov_a", clash)
    assert response.status_code == 422
    assert response.json()["errors"][0]["reason"] == "person_id_taken"
    # Two licences may swap their person ids in one file.
    swap = (
        REGISTER_CSV.replace("CCHN-003,P-NURSE", "CCHN-003,P-TMP")
        .replace("CCHN-004,P-ADMIN", "CCHN-004,P-NURSE")
        .replace("CCHN-003,P-TMP", "CCHN-003,P-ADMIN")
    )
    assert import_register(world, "prov_sup_a", "prov_a", swap).json()["changed"] == 2


def test_register_scope_import_needs_the_permission_on_the_node_and_reads_follow_the_chain(world) -> None:
    assert import_register(world, "prov_sup_a", "prov_b", REGISTER_CSV).status_code == 404
    refused = import_register(world, "sup_a", "fac_a", REGISTER_CSV)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert import_register(world, "prov_sup_a", "prov_a", REGISTER_CSV).status_code == 201
    # A facility supervisor reads the province's register, the one their doors apply.
    assert set(practitioners(world, "sup_a", facility_id=world.ids["fac_a"])) >= {"CCHN-001", "CCHN-005"}
    assert "CCHN-001" in practitioners(world, "sup_a")
    assert practitioners(world, "sup_b") == {}
    any_id = practitioners(world, "sup_a")["CCHN-001"]["id"]
    with world.client("sup_b") as client:
        assert client.get(f"/api/v1/practitioners/{any_id}").status_code == 404
        assert (
            client.get("/api/v1/practitioners", params={"facility_id": world.ids["fac_a"]}).status_code == 404
        )
    with world.client("op_a") as client:
        assert client.get("/api/v1/practitioners").status_code == 403


def test_cli_import_prints_counts_and_refuses_a_bad_file_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str, backend: str
) -> None:
    runner = CliRunner()
    monkeypatch.setenv("WARDWATCH_LANG", "en")
    monkeypatch.setenv("WARDWATCH_AUTH__ARGON2_TIME_COST", "1")
    monkeypatch.setenv("WARDWATCH_AUTH__ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("WARDWATCH_ADMIN_PASSWORD", "an-admin-passphrase")
    if backend == "postgres":
        monkeypatch.setenv("WARDWATCH_DATABASE_URL", database_url)
    else:
        monkeypatch.delenv("WARDWATCH_DATABASE_URL", raising=False)
    data = tmp_path / "instance"
    assert runner.invoke(cli_app, ["init", "--data", str(data), "--admin", "nam.admin"]).exit_code == 0
    from wardwatch.instance import open_instance
    from wardwatch.kernel.config import load_settings

    container = open_instance(load_settings(data))
    with container.db.read() as conn:
        root = container.registry.roots(conn)[0].id
    container.close()
    good = tmp_path / "register.csv"
    good.write_text(REGISTER_CSV, "utf-8")
    result = runner.invoke(
        cli_app, ["practitioners", "import", str(good), "--node", root, "--data", str(data)]
    )
    assert result.exit_code == 0, result.output
    assert "5 added, 0 changed, 0 unchanged, 0 revoked" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text(REGISTER_CSV + "CCHN-009,,X,astronaut,,no,2021-01-01,,active\n", "utf-8")
    refused = runner.invoke(
        cli_app, ["practitioners", "import", str(bad), "--node", root, "--mode", "full", "--data", str(data)]
    )
    assert refused.exit_code == 1
    assert refused.output.strip().count("\n") == 0
    assert "row 7, profession" in refused.output
    missing = runner.invoke(
        cli_app, ["practitioners", "import", str(good), "--node", "nope", "--data", str(data)]
    )
    assert missing.exit_code == 1 and "does not exist" in missing.output
    wrong_mode = runner.invoke(
        cli_app, ["practitioners", "import", str(good), "--node", root, "--mode", "all", "--data", str(data)]
    )
    assert wrong_mode.exit_code == 1 and "--mode all" in wrong_mode.output
    container = open_instance(load_settings(data))
    try:
        with container.db.read() as conn:
            entries = container.audit.search(conn, scopes=None, action="practitioner.import", limit=10)
        assert [e.outcome for e in entries] == ["failure", "success"]
        assert {
            p.licence_number
            for p in container.access.register.list_practitioners(
                container.accounts.principal_of(container.accounts.users_matching_name("nam.admin"))
            )
        } == {"CCHN-001", "CCHN-002", "CCHN-003", "CCHN-004", "CCHN-005"}
    finally:
        container.close()
