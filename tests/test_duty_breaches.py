"""Breach reports through the API, on SQLite and PostgreSQL: notices, remedy, verification, refusals.

A clip cited by a report is a real one, exported from real H.264 footage through the
media wing, and checked through the resolver the container registers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from footage import record_segments
from support import World, ready_camera_body
from test_duty_world import PROBLEM, T0, H, M, audit_actions, duty_world, plan
from wardwatch.duty import store as duty_store
from wardwatch.kernel.i18n import t


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    w = duty_world(tmp_path, database_url)
    with w.client("admin") as admin:
        for key, zone, name in (
            ("cam_a", "fac_a_corridor", "Gate"),
            ("cam_a_or", "fac_a_ordoor", "OR door"),
            ("cam_b", "fac_b_corridor", "Yard"),
        ):
            created = admin.post("/api/v1/cameras", json=ready_camera_body(w.ids[zone], name=name))
            assert created.status_code == 201, created.text
            w.ids[key] = created.json()["id"]
    yield w
    w.container.close()


def report_body(world: World, camera: str = "cam_a", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "camera_id": world.ids[camera],
        "category": "no_mask",
        "occurred_at": (world.clock.now() - 2 * M).isoformat(),
        "snapshot_at": (world.clock.now() - 2 * M).isoformat(),
        "source": "live",
        "note": "Hai người ở hành lang tầng 3 không đeo khẩu trang",
    }
    body.update(extra)
    return body


def inbox(world: World, username: str) -> list[dict[str, Any]]:
    with world.client(username) as client:
        notices: list[dict[str, Any]] = client.get("/api/v1/inbox").json()
    return notices


def test_a_breach_report_lives_from_report_to_close_with_notices_and_refusals_out_of_order(
    world: World,
) -> None:
    shift = plan(world, "fac_a", ["op1"], T0, T0 + 8 * H)
    with world.client("op1") as op1:
        op1.post(f"/api/v1/duty/shifts/{shift}/start", json={"reason": "first shift"})
        world.clock.advance(H)
        created = op1.post("/api/v1/duty/breaches", json=report_body(world))
        assert created.status_code == 201, created.text
        report = created.json()
        assert report["status"] == "open" and report["allowed_steps"] == ["record_remedy"]
        assert report["shift_id"] == shift and report["category_label"] == t("breach_category.no_mask", "en")
        rid = report["id"]
        # A step out of order names the rule and what is allowed now.
        for step in ("verify", "close"):
            refused = op1.post(f"/api/v1/duty/breaches/{rid}/{step}", json={})
            assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
            body = refused.json()
            assert body["code"] == "breach_step_out_of_order" and body["rule"] == "breach.lifecycle"
            assert body["status"] == "open" and body["allowed_steps"] == ["record_remedy"]
        in_vietnamese = op1.post(f"/api/v1/duty/breaches/{rid}/verify", params={"lang": "vi"}, json={}).json()
        assert t("breach_step.verify_remedy", "vi") in in_vietnamese["detail"]
        assert t("breach_status.open", "vi") in in_vietnamese["detail"]
        entries = op1.get("/api/v1/duty/logbook", params={"facility_id": world.ids["fac_a"]}).json()
        assert [(e["kind"], e["ref_id"], e["system"]) for e in entries] == [
            ("breach_seen", rid, True),
            ("manager_notified", rid, True),
        ]
        assert entries[1]["text"] == t("duty_log.system.manager_notified", "en", recipients=1)
    (notice,) = inbox(world, "sup_a")
    assert notice["kind"] == "breach_reported" and notice["ref_id"] == rid
    assert "Gate" in notice["body"] and "2026-03-02T08:58+07:00" in notice["body"]
    assert inbox(world, "sup_b") == [] and inbox(world, "sup_a2") == []
    with world.client("sup_a") as manager:
        # The facility's manager records what was done; they may not judge it.
        remedy = {"action": "Nhắc nhở, phát khẩu trang", "performed_by": "Nguyễn Văn A, bảo vệ"}
        recorded = manager.post(f"/api/v1/duty/breaches/{rid}/remedy", json=remedy)
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["status"] == "remedy_recorded"
        assert recorded.json()["remedy"]["performed_by"] == "Nguyễn Văn A, bảo vệ"
        assert manager.post(f"/api/v1/duty/breaches/{rid}/verify", json={}).status_code == 403
    assert [n["kind"] for n in inbox(world, "op1")] == ["breach_remedy_recorded"]
    with world.client("op1") as op1:
        rejected = op1.post(
            f"/api/v1/duty/breaches/{rid}/reject", json={"note": "Vẫn còn một người không đeo"}
        )
        assert rejected.status_code == 200 and rejected.json()["status"] == "open"
        assert rejected.json()["remedy"] is None
    assert [n["kind"] for n in inbox(world, "sup_a")] == ["breach_remedy_rejected", "breach_reported"]
    with world.client("op1") as op1:
        # The operator records the remedy the manager phoned in: someone else must verify it.
        again = op1.post(
            f"/api/v1/duty/breaches/{rid}/remedy",
            json={
                "action": "Both masked now",
                "performed_by": "Guard Trần B",
                "performed_at": T0.isoformat(),
            },
        )
        assert again.status_code == 200
        own = op1.post(f"/api/v1/duty/breaches/{rid}/verify", json={"note": "checked"})
        assert own.status_code == 422 and own.json()["rule"] == "breach.four_eyes"
    with world.client("op2") as op2:
        verified = op2.post(f"/api/v1/duty/breaches/{rid}/verify", json={"note": "Seen on camera 09:10"})
        assert verified.status_code == 200 and verified.json()["status"] == "remedy_verified"
        closed = op2.post(f"/api/v1/duty/breaches/{rid}/close", json={"note": "done"})
        assert closed.status_code == 200 and closed.json()["status"] == "closed"
        assert closed.json()["allowed_steps"] == []
        final = op2.get(f"/api/v1/duty/breaches/{rid}").json()
        chinese = op2.get(f"/api/v1/duty/breaches/{rid}", params={"lang": "zh-Hans"}).json()
        assert chinese["status_label"] == t("breach_status.closed", "zh-Hans")
        assert chinese["category_label"] == t("breach_category.no_mask", "zh-Hans")
    assert [(e["step"], e["actor_name"]) for e in final["timeline"]] == [
        ("report", "op1"),
        ("record_remedy", "sup_a"),
        ("reject_remedy", "op1"),
        ("record_remedy", "op1"),
        ("verify_remedy", "op2"),
        ("close", "op2"),
    ]
    steps = [a.action for a in audit_actions(world, "duty.breach.")]
    assert steps == [
        "duty.breach.report",
        "duty.breach.record_remedy",
        "duty.breach.reject_remedy",
        "duty.breach.record_remedy",
        "duty.breach.verify_remedy",
        "duty.breach.close",
    ]
    with world.client("sup_a") as manager:
        assert [
            r["id"] for r in manager.get("/api/v1/duty/breaches", params={"status": "closed"}).json()
        ] == [rid]
    # The timeline is append-only in the database too.
    for statement in (
        update(duty_store.breach_events).values(note="rewritten"),
        delete(duty_store.breach_events),
    ):
        with pytest.raises(DBAPIError), world.container.db.write() as conn:
            conn.execute(statement)


def test_a_breach_report_needs_its_footage_and_a_valid_category(world: World) -> None:
    with world.client("op1") as op1:
        cases = [
            (report_body(world, snapshot_at=None), "breach_evidence_required"),
            (report_body(world, category="looked_suspicious"), "validation_failed"),
            (report_body(world, occurred_at=(T0 + H).isoformat()), "breach_time_in_future"),
            (report_body(world, clip_id="01ZZZZZZZZZZZZZZZZZZZZZZZZ"), "breach_clip_unknown"),
            (report_body(world, note=""), "validation_failed"),
        ]
        for body, code in cases:
            refused = op1.post("/api/v1/duty/breaches", json=body)
            assert refused.status_code == 422, (code, refused.text)
            assert refused.json()["code"] == code
        assert op1.get("/api/v1/duty/breaches").json() == []
    assert inbox(world, "sup_a") == []


def test_a_breach_report_cites_a_real_clip_of_the_same_camera(world: World) -> None:
    start = T0 - timedelta(minutes=30)
    for camera in ("cam_a", "cam_a_or"):
        record_segments(world.container, world.ids["fac_a"], world.ids[camera], start, 2)
    footage = {"start": start.isoformat(), "end": (start + timedelta(seconds=3)).isoformat()}
    with world.client("planner") as planner:
        clips = {}
        for camera in ("cam_a", "cam_a_or"):
            made = planner.post(
                f"/api/v1/cameras/{world.ids[camera]}/clips", json={**footage, "purpose": "rule_supervision"}
            )
            assert made.status_code == 201, made.text
            clips[camera] = made.json()["id"]
        cited = planner.post(
            "/api/v1/duty/breaches",
            json=report_body(world, source="playback", snapshot_at=None, clip_id=clips["cam_a"]),
        )
        assert cited.status_code == 201, cited.text
        assert cited.json()["clip_id"] == clips["cam_a"] and cited.json()["source"] == "playback"
        other = planner.post(
            "/api/v1/duty/breaches", json=report_body(world, snapshot_at=None, clip_id=clips["cam_a_or"])
        )
        assert other.status_code == 422 and other.json()["code"] == "breach_clip_other_camera"
    (entry,) = audit_actions(world, "duty.breach.report")
    assert json.loads(entry.details)["clip_id"] == clips["cam_a"]


def test_an_operator_of_another_facility_sees_and_reaches_no_breach_of_the_first(world: World) -> None:
    with world.client("op1") as op1:
        rid = op1.post("/api/v1/duty/breaches", json=report_body(world)).json()["id"]
    with world.client("op_b") as op_b:
        assert op_b.post("/api/v1/duty/breaches", json=report_body(world)).status_code == 404
        assert op_b.get(f"/api/v1/duty/breaches/{rid}").status_code == 404
        assert op_b.get("/api/v1/duty/breaches").json() == []
        for step, body in (
            ("remedy", {"action": "nothing", "performed_by": "nobody"}),
            ("verify", {}),
            ("reject", {"note": "sneaky"}),
            ("close", {}),
        ):
            assert op_b.post(f"/api/v1/duty/breaches/{rid}/{step}", json=body).status_code == 404
        mine = op_b.post("/api/v1/duty/breaches", json=report_body(world, "cam_b"))
        assert mine.status_code == 201
    with world.client("op1") as op1:
        assert [r["id"] for r in op1.get("/api/v1/duty/breaches").json()] == [rid]
    assert [n["kind"] for n in inbox(world, "sup_b")] == ["breach_reported"]
