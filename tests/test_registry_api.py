"""Registry through the API: placement and activation refusals, sealed credentials, rollout."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from support import build_world, camera_body, ready_camera_body
from wardwatch.audit import store as audit_store
from wardwatch.registry import store as registry_store


@pytest.fixture
def world(tmp_path: Path, database_url: str, now):
    w = build_world(tmp_path / "data", database_url, now)
    w.add_user("installer_a", "installer", "prov_a")
    yield w
    w.container.close()


def counts(world) -> tuple[int, int]:
    with world.container.db.read() as conn:
        cams = conn.execute(select(func.count()).select_from(registry_store.cameras)).scalar_one()
        entries = world.container.audit.size(conn)
    return int(cams), int(entries)


def test_camera_in_a_private_zone_is_refused_naming_the_rule(world) -> None:
    with world.client("installer_a") as client:
        before = counts(world)
        response = client.post("/api/v1/cameras", json=camera_body(world.ids["fac_a_toilet"]))
        after = counts(world)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["rule"] == "placement.private_zone"
    assert problem["type"].endswith("/private-zone")
    assert "placement.private_zone" in problem["detail"]
    assert after == before, "a refusal writes nothing, not even an audit entry"


def test_refusal_is_explained_in_the_callers_language(world) -> None:
    with world.client("installer_a") as client:
        vi = client.post(
            "/api/v1/cameras",
            json=camera_body(world.ids["fac_a_toilet"]),
            headers={"accept-language": "vi-VN,vi;q=0.9"},
        ).json()
        zh = client.post(
            "/api/v1/cameras", json=camera_body(world.ids["fac_a_toilet"]), params={"lang": "zh-CN"}
        ).json()
    assert "riêng tư" in vi["detail"] and "nhà vệ sinh" in vi["detail"].lower()
    assert "隐私" in zh["detail"]


def test_camera_cannot_be_activated_until_purpose_basis_retention_and_signage(world) -> None:
    with world.client("installer_a") as client:
        created = client.post("/api/v1/cameras", json=camera_body(world.ids["fac_a_corridor"]))
        assert created.status_code == 201, created.text
        camera = created.json()
        assert camera["status"] == "draft"
        assert camera["activation_missing"] == ["purposes", "legal_basis", "retention_days", "signage_posted"]
        refused = client.post(f"/api/v1/cameras/{camera['id']}/activate")
        assert refused.status_code == 422
        assert refused.json()["missing"] == camera["activation_missing"]
        assert refused.json()["rule"] == "camera.activation"
        client.patch(
            f"/api/v1/cameras/{camera['id']}",
            json={"purposes": ["rule_supervision"], "legal_basis": "CV 4403", "retention_days": 30},
        )
        still = client.post(f"/api/v1/cameras/{camera['id']}/activate")
        assert still.status_code == 422 and still.json()["missing"] == ["signage_posted"]
        client.patch(f"/api/v1/cameras/{camera['id']}", json={"signage_posted": True})
        active = client.post(f"/api/v1/cameras/{camera['id']}/activate")
        assert active.status_code == 200 and active.json()["status"] == "active"
        stripped = client.patch(f"/api/v1/cameras/{camera['id']}", json={"purposes": []})
        assert stripped.status_code == 422, "an active camera keeps its purposes"
        moved = client.patch(f"/api/v1/cameras/{camera['id']}", json={"zone_id": world.ids["fac_a_toilet"]})
        assert moved.status_code == 422 and moved.json()["rule"] == "placement.private_zone"


def test_credentials_are_sealed_at_rest_and_never_returned(world) -> None:
    secret = "Sup3r-secret-cam-pass"
    with world.client("installer_a") as client:
        created = client.post(
            "/api/v1/cameras",
            json=ready_camera_body(world.ids["fac_a_ordoor"], username="viewer", password=secret),
        )
        assert created.status_code == 201
        camera_id = created.json()["id"]
        for response in (created, client.get(f"/api/v1/cameras/{camera_id}"), client.get("/api/v1/cameras")):
            assert secret not in response.text and "viewer" not in response.text
        assert created.json()["has_credentials"] is True
        partial = client.post(
            "/api/v1/cameras", json=camera_body(world.ids["fac_a_ordoor"], username="only-user")
        )
        assert partial.status_code == 422
    with world.container.db.read() as conn:
        blob = conn.execute(
            select(registry_store.cameras.c.credentials).where(registry_store.cameras.c.id == camera_id)
        ).scalar_one()
        audit_text = " ".join(
            str(v) for e in world.container.audit.search(conn, scopes=None) for v in e.fields()
        )
        assert secret.encode() not in bytes(blob)
        assert world.container.registry.camera_credentials(conn, camera_id) == ("viewer", secret)
    assert secret not in audit_text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("http://10.0.0.5/stream", 422),
        ("rtsp://", 422),
        ("rtsp://user:pw@10.0.0.5/s", 422),
        ("rtsp://10.0.0.5:99999/s", 422),
        ("not a url", 422),
    ],
)
def test_invalid_stream_urls_get_422_with_the_reason(world, url: str, status: int) -> None:
    with world.client("installer_a") as client:
        response = client.post("/api/v1/cameras", json=camera_body(world.ids["fac_a_corridor"], main_url=url))
    assert response.status_code == status
    assert response.json()["field"] == "main_url"


def test_malformed_input_is_refused_whole_with_field_errors(world) -> None:
    with world.client("installer_a") as client:
        before = counts(world)
        response = client.post(
            "/api/v1/cameras",
            json={**camera_body(world.ids["fac_a_corridor"]), "colour": "red", "retention_days": -3},
        )
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"colour", "retention_days"}
        bad_tz = client.post(
            "/api/v1/facilities",
            json={
                "parent_id": world.ids["dist_a"],
                "name": "X",
                "facility_type": "clinic",
                "address": "a",
                "timezone": "Mars/Olympus",
            },
        )
        assert bad_tz.status_code == 422 and bad_tz.json()["field"] == "timezone"
        not_json = client.post("/api/v1/cameras", content=b"{", headers={"content-type": "application/json"})
        assert not_json.status_code == 422
        assert counts(world) == before


def test_zone_with_cameras_cannot_become_private(world) -> None:
    with world.client("installer_a") as client:
        client.post("/api/v1/cameras", json=camera_body(world.ids["fac_a_corridor"]))
        response = client.patch(
            f"/api/v1/zones/{world.ids['fac_a_corridor']}", json={"area_type": "ward_bed_area"}
        )
        assert response.status_code == 422
        assert response.json()["rule"] == "placement.private_zone"
        empty_zone = client.patch(f"/api/v1/zones/{world.ids['fac_a_ordoor']}", json={"area_type": "lobby"})
        assert empty_zone.status_code == 200 and empty_zone.json()["private"] is False


def test_doors_list_their_cameras_from_the_same_facility_only(world) -> None:
    with world.client("admin") as client:
        cam_a = client.post("/api/v1/cameras", json=camera_body(world.ids["fac_a_ordoor"])).json()
        cam_b = client.post("/api/v1/cameras", json=camera_body(world.ids["fac_b_ordoor"])).json()
        door = client.post(
            "/api/v1/doors",
            json={
                "zone_id": world.ids["fac_a_ordoor"],
                "name": "OR 1",
                "kind": "operating_room_door",
                "camera_ids": [cam_a["id"]],
            },
        )
        assert door.status_code == 201 and door.json()["camera_ids"] == [cam_a["id"]]
        mixed = client.patch(
            f"/api/v1/doors/{door.json()['id']}", json={"camera_ids": [cam_a["id"], cam_b["id"]]}
        )
        assert mixed.status_code == 422 and mixed.json()["unknown"] == [cam_b["id"]]
        private = client.post(
            "/api/v1/doors",
            json={"zone_id": world.ids["fac_a_toilet"], "name": "WC", "kind": "facility_entrance"},
        )
        assert private.status_code == 422


def test_rollout_moves_step_by_step_and_lists_overdue_facilities_of_a_subtree(world) -> None:
    today = world.clock.now().date()
    with world.client("admin") as client:
        fid = world.ids["fac_a"]
        assert (
            client.put(
                f"/api/v1/facilities/{fid}/rollout/deadline",
                json={"required_by": str(today - timedelta(days=3))},
            ).status_code
            == 200
        )
        client.put(
            f"/api/v1/facilities/{world.ids['fac_b']}/rollout/deadline",
            json={"required_by": str(today - timedelta(days=3))},
        )
        skip = client.post(f"/api/v1/facilities/{fid}/rollout", json={"status": "connected"})
        assert skip.status_code == 422
        for status in ("committed", "installed"):
            assert (
                client.post(f"/api/v1/facilities/{fid}/rollout", json={"status": status}).status_code == 200
            )
        back = client.post(f"/api/v1/facilities/{fid}/rollout", json={"status": "committed"})
        assert back.status_code == 422
        back = client.post(
            f"/api/v1/facilities/{fid}/rollout", json={"status": "committed", "note": "installer left site"}
        )
        assert back.status_code == 200
        overdue = client.get(
            "/api/v1/rollout", params={"node_id": world.ids["prov_a"], "overdue": True}
        ).json()
        assert [e["facility_id"] for e in overdue] == [fid]
    with world.client("installer_a") as client:
        mine = client.get("/api/v1/rollout", params={"overdue": True}).json()
        assert {e["facility_id"] for e in mine} == {world.ids["fac_a"]}
        assert client.get("/api/v1/rollout", params={"node_id": world.ids["prov_b"]}).status_code == 404


def test_every_registry_change_is_audited_with_its_scope(world) -> None:
    with world.client("installer_a") as client:
        camera = client.post("/api/v1/cameras", json=ready_camera_body(world.ids["fac_a_corridor"])).json()
        client.post(f"/api/v1/cameras/{camera['id']}/activate")
    with world.container.db.read() as conn:
        entries = world.container.audit.search(conn, scopes=None, object_id=camera["id"])
        actions = [e.action for e in entries]
        assert actions == ["camera.activate", "camera.create"]
        assert {e.scope for e in entries} == {world.ids["fac_a"]}
        assert all(e.actor == f"user:{world.users['installer_a']}" for e in entries)
        total = conn.execute(select(func.count()).select_from(audit_store.entries)).scalar_one()
        assert total == world.container.audit.size(conn)
