"""Door terminals: registration, allow-list sync (whole and incremental), reconciliation, scope."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from test_access_world import (
    REGISTER_CSV,
    access_world,
    audit_actions,
    bus_events,
    device,
    import_register,
    make_terminal,
    with_field,
)
from wardwatch.access.model import list_hash


@pytest.fixture
def world(tmp_path: Path, database_url: str):
    w = access_world(tmp_path, database_url)
    assert import_register(w, "prov_sup_a", "prov_a", REGISTER_CSV).status_code == 201
    yield w
    w.container.close()


def sync(client, world, door_key: str, since: int | None = None):
    params = {} if since is None else {"since": since}
    response = client.get(f"/api/v1/terminal/doors/{world.ids[door_key]}/allowlist", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_terminal_is_a_device_account_bound_to_its_doors(world) -> None:
    terminal_id, token = make_terminal(world, "ZK-0001", ["door_or", "door_sa"])
    assert token.startswith("wwt_")
    with device(world, token) as terminal:
        me = terminal.get("/api/v1/terminal").json()
        assert me["id"] == terminal_id and me["serial_number"] == "ZK-0001"
        assert sorted(me["door_ids"]) == sorted([world.ids["door_or"], world.ids["door_sa"]])
    with world.client("op_a") as operator:
        view = operator.get(f"/api/v1/terminals/{terminal_id}").json()
        assert view["health"]["events_accepted"] == 0 and view["status"] == "active"
        assert "token" not in view
        assert operator.post(f"/api/v1/terminals/{terminal_id}/disable").status_code == 403
    with world.client("installer_a") as installer:
        taken = installer.post(
            "/api/v1/terminals",
            json={
                "facility_id": world.ids["fac_a"],
                "serial_number": "zk-0001",
                "name": "Clone",
                "door_ids": [world.ids["door_or"]],
            },
        )
        assert taken.status_code == 409 and taken.json()["code"] == "terminal_serial_taken"
        other_facility = installer.post(
            "/api/v1/terminals",
            json={
                "facility_id": world.ids["fac_a"],
                "serial_number": "ZK-0002",
                "name": "Wrong door",
                "door_ids": [world.ids["door_b"]],
            },
        )
        assert other_facility.status_code == 422 and other_facility.json()["code"] == "terminal_door_unknown"
    assert ("terminal.create", "success") in audit_actions(world)


def test_allow_list_admits_by_door_kind_and_ends_with_the_licence(world) -> None:
    _, token = make_terminal(world, "ZK-0001", ["door_or", "door_fe"])
    with device(world, token) as terminal:
        theatre = sync(terminal, world, "door_or")
        entrance = sync(terminal, world, "door_fe")
    people = {e["person_id"]: e for e in theatre["entries"]}
    # Suspended licences never appear; an operating room admits clinical staff only.
    assert set(people) == {"P-SURG", "P-ANA", "P-NURSE"}
    assert {e["person_id"] for e in entrance["entries"]} == {"P-SURG", "P-ANA", "P-NURSE", "P-ADMIN"}
    # The anaesthetist's licence ends today: the door must stop at midnight, facility time.
    assert people["P-ANA"]["valid_until"] == "2026-03-10T17:00:00Z"
    assert people["P-SURG"]["valid_until"] is None
    assert theatre["full"] is True and theatre["version"] == 1 and theatre["count"] == 3
    assert theatre["hash"] == list_hash(
        [("P-SURG", None), ("P-ANA", "2026-03-10T17:00:00Z"), ("P-NURSE", None)]
    )


def test_incremental_sync_carries_suspensions_and_expiries_at_the_next_sync(world) -> None:
    _, token = make_terminal(world, "ZK-0001", ["door_or"])
    with device(world, token) as terminal:
        first = sync(terminal, world, "door_or")
        unchanged = sync(terminal, world, "door_or", since=first["version"])
        assert unchanged["version"] == first["version"]
        assert (unchanged["full"], unchanged["entries"], unchanged["removed"]) == (False, [], [])
        suspend = with_field(REGISTER_CSV, "CCHN-001", "status", "suspended")
        lift = with_field(REGISTER_CSV, "CCHN-005", "status", "active")
        import_register(world, "prov_sup_a", "prov_a", suspend)
        second = sync(terminal, world, "door_or", since=first["version"])
        assert second["version"] == first["version"] + 1
        assert second["removed"] == ["P-SURG"] and second["entries"] == []
        import_register(world, "prov_sup_a", "prov_a", lift)
        third = sync(terminal, world, "door_or", since=second["version"])
        assert [e["person_id"] for e in third["entries"]] == ["P-SURG", "P-SUSP"]
        # A terminal that missed a version gets everything it missed in one answer.
        assert sync(terminal, world, "door_or", since=first["version"])["removed"] == []
        # The anaesthetist's licence lapses at local midnight: gone at the first sync after it.
        world.clock.advance(timedelta(hours=14, minutes=1))
        fourth = sync(terminal, world, "door_or", since=third["version"])
        assert fourth["removed"] == ["P-ANA"]
        # An unknown version (a restored database, a new terminal) gets the whole list.
        whole = sync(terminal, world, "door_or", since=fourth["version"] + 50)
        assert whole["full"] is True and {e["person_id"] for e in whole["entries"]} == {
            "P-SURG",
            "P-SUSP",
            "P-NURSE",
        }
        assert whole["hash"] == fourth["hash"]


def test_reconciliation_reports_every_terminal_whose_list_differs(world) -> None:
    good_id, good = make_terminal(world, "ZK-GOOD", ["door_or"])
    drift_id, drifted = make_terminal(world, "ZK-DRIFT", ["door_or"])
    silent_id, _ = make_terminal(world, "ZK-SILENT", ["door_sa"])
    with device(world, good) as terminal:
        held = sync(terminal, world, "door_or")
        ids = [e["person_id"] for e in held["entries"]]
        report = terminal.post(
            f"/api/v1/terminal/doors/{world.ids['door_or']}/allowlist/report",
            json={"person_ids": ids, "hash": held["hash"], "version": held["version"]},
        ).json()
        assert report["state"] == "in_sync"
    stale = [*ids, "P-SUSP"]
    stale_hash = list_hash([(p, None) for p in stale])
    with device(world, drifted) as terminal:
        report = terminal.post(
            f"/api/v1/terminal/doors/{world.ids['door_or']}/allowlist/report",
            json={"person_ids": stale, "hash": stale_hash},
        ).json()
    assert report["state"] == "drifted" and report["extra"] == ["P-SUSP"] and not report["hash_matches"]
    with world.client("installer_a") as installer:
        listed = installer.get("/api/v1/terminal-reconciliation").json()
        everything = installer.get("/api/v1/terminal-reconciliation", params={"include_in_sync": True}).json()
    states = {(r["terminal_id"], r["state"]) for r in listed}
    assert states == {(drift_id, "drifted"), (silent_id, "unreported")}
    assert (good_id, "in_sync") in {(r["terminal_id"], r["state"]) for r in everything}
    # The drift is loud: on the bus, audited, and in the facility supervisor's inbox.
    assert bus_events(world, "access.terminal.drifted")[0]["extra"] == 1
    assert ("terminal.allowlist.drifted", "success") in audit_actions(world)
    with world.client("sup_a") as supervisor:
        notices = supervisor.get("/api/v1/inbox").json()
    assert [n["kind"] for n in notices] == ["terminal_drift"]
    assert "ZK-DRIFT" in notices[0]["title"]
    # A register change after the report makes the in-sync terminal drift too, until it syncs.
    import_register(
        world, "prov_sup_a", "prov_a", REGISTER_CSV.replace("2019-05-01,2026-03-10", "2019-05-01,2026-12-31")
    )
    with world.client("installer_a") as installer:
        again = {r["terminal_id"]: r for r in installer.get("/api/v1/terminal-reconciliation").json()}
    assert again[good_id]["state"] == "drifted" and again[good_id]["missing"] == []
    assert not again[good_id]["hash_matches"], "same people, a different expiry: the hash tells"


def test_device_routes_refuse_people_other_doors_and_disabled_or_rotated_terminals(world) -> None:
    terminal_id, token = make_terminal(world, "ZK-0001", ["door_or"])
    with world.client("admin") as admin:
        refused = admin.get(f"/api/v1/terminal/doors/{world.ids['door_or']}/allowlist")
        assert refused.status_code == 403 and refused.json()["code"] == "terminal_only"
    with device(world, token) as terminal:
        assert terminal.get(f"/api/v1/terminal/doors/{world.ids['door_sa']}/allowlist").status_code == 404
        assert terminal.get(f"/api/v1/terminal/doors/{world.ids['door_b']}/allowlist").status_code == 404
        # A device holds only device permissions: nothing of the people's API.
        assert terminal.get("/api/v1/practitioners").status_code == 403
        assert terminal.get(f"/api/v1/terminals/{terminal_id}").status_code == 403
    with world.client("installer_a") as installer:
        assert installer.post(f"/api/v1/terminals/{terminal_id}/disable").json()["status"] == "disabled"
    with device(world, token) as terminal:
        disabled = terminal.get(f"/api/v1/terminal/doors/{world.ids['door_or']}/allowlist")
        assert disabled.status_code == 403 and disabled.json()["code"] == "terminal_disabled"
    with world.client("installer_a") as installer:
        installer.post(f"/api/v1/terminals/{terminal_id}/enable")
        rotated = installer.post(f"/api/v1/terminals/{terminal_id}/token").json()["token"]
        doors = installer.put(
            f"/api/v1/terminals/{terminal_id}/doors", json={"door_ids": [world.ids["door_sa"]]}
        ).json()
        assert doors["door_ids"] == [world.ids["door_sa"]]
    with device(world, token) as terminal:
        assert terminal.get("/api/v1/terminal").status_code == 401
    with device(world, rotated) as terminal:
        assert terminal.get(f"/api/v1/terminal/doors/{world.ids['door_sa']}/allowlist").status_code == 200
        assert terminal.get(f"/api/v1/terminal/doors/{world.ids['door_or']}/allowlist").status_code == 404
    with world.client("sup_b") as outsider:
        assert outsider.get(f"/api/v1/terminals/{terminal_id}").status_code == 404
        assert outsider.get("/api/v1/terminals").json() == []
    actions = audit_actions(world)
    assert {
        ("terminal.disable", "success"),
        ("terminal.token.rotate", "success"),
        ("terminal.doors", "success"),
    } <= set(actions)
