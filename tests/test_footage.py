"""Recorded footage: playback for a purpose, clip export with hashes, holds, retention, disk pressure.

Every test runs on SQLite and PostgreSQL against real H.264 segments on disk (see
``footage.py``), through the API where a person acts and through the retention service
where WardWatch acts on its own.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from prometheus_client import generate_latest
from sqlalchemy import select

from footage import record_gap, record_segments
from support import World, build_world, ready_camera_body, wait_for
from wardwatch.audit import store as audit_store
from wardwatch.media import store as media_store
from wardwatch.media.views import ViewKind


@dataclass
class Site:
    world: World
    camera: str
    other_camera: str
    now: datetime

    @property
    def container(self) -> Any:
        return self.world.container

    @property
    def root(self) -> Path:
        return Path(self.container.settings.data)


@pytest.fixture
def site(database_url: str, tmp_path: Path, now: datetime) -> Iterator[Site]:
    world = build_world(tmp_path / "data", database_url, now)
    world.add_user("officer", "enforcement_officer", "dist_a")
    world.add_user("watcher", "duty_operator", "fac_a")
    world.add_user("legal", "legal_representative", "fac_a")
    world.add_user("outsider", "enforcement_officer", "fac_b")
    with world.client("admin") as admin:
        camera = admin.post(
            "/api/v1/cameras",
            json=ready_camera_body(
                world.ids["fac_a_corridor"],
                name="Corridor",
                purposes=["rule_supervision", "breach_reminders"],
            ),
        ).json()["id"]
        other = admin.post(
            "/api/v1/cameras", json=ready_camera_body(world.ids["fac_b_corridor"], name="Gate B")
        ).json()["id"]
        for camera_id in (camera, other):
            assert admin.post(f"/api/v1/cameras/{camera_id}/activate").status_code == 200
    yield Site(world, camera, other, now)
    world.container.close()


def audit_entries(site: Site, action: str) -> list[Any]:
    with site.container.db.read() as conn:
        return conn.execute(
            select(audit_store.entries)
            .where(audit_store.entries.c.action == action)
            .order_by(audit_store.entries.c.seq)
        ).all()


def segment_rows(site: Site, camera: str | None = None) -> list[Any]:
    with site.container.db.read() as conn:
        return conn.execute(
            select(media_store.segments)
            .where(media_store.segments.c.camera_id == (camera or site.camera))
            .order_by(media_store.segments.c.start)
        ).all()


def iso(moment: datetime) -> str:
    """ISO 8601 as the API writes UTC times."""
    return moment.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------- playback


def test_playback_needs_a_purpose_the_camera_allows_and_is_audited_with_it(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    record_segments(site.container, site.world.ids["fac_a"], site.camera, start, 3)
    body = {"start": iso(start), "end": iso(start + timedelta(seconds=6))}
    with site.world.client("watcher") as watcher:
        missing = watcher.post(f"/api/v1/cameras/{site.camera}/playback", json=body)
        assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "purpose"
        wrong = watcher.post(
            f"/api/v1/cameras/{site.camera}/playback", json={**body, "purpose": "operating_room_supervision"}
        )
        assert wrong.status_code == 422 and wrong.json()["code"] == "purpose_not_allowed"
        assert sorted(wrong.json()["allowed_purposes"]) == ["breach_reminders", "rule_supervision"]
        assert not audit_entries(site, "footage.playback.open")

        opened = watcher.post(
            f"/api/v1/cameras/{site.camera}/playback", json={**body, "purpose": "breach_reminders"}
        )
        assert opened.status_code == 201, opened.text
        view = opened.json()
        assert view["purpose"] == "breach_reminders" and len(view["segments"]) == 3
        entry = audit_entries(site, "footage.playback.open")[-1]
        assert entry.purpose == "breach_reminders" and entry.object_id == site.camera
        assert entry.actor == f"user:{site.world.users['watcher']}"

        first = view["segments"][0]
        served = watcher.get(first["url"])
        assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
        row = segment_rows(site)[0]
        assert hashlib.sha256(served.content).hexdigest() == row.sha256
        with av.open(io.BytesIO(served.content)) as container:
            frame = next(container.decode(video=0))
            assert (frame.width, frame.height) == (160, 96) and frame.key_frame

        closed = watcher.delete(f"/api/v1/playback/{view['session_id']}")
        assert closed.status_code == 204
        assert watcher.get(first["url"]).status_code == 404, "a closed session serves nothing"
    close = audit_entries(site, "footage.playback.close")[-1]
    assert close.purpose == "breach_reminders"


def test_a_playback_session_serves_only_its_owner_its_camera_and_its_range(site: Site) -> None:
    start = site.now - timedelta(hours=2)
    record_segments(site.container, site.world.ids["fac_a"], site.camera, start, 4)
    body = {"start": iso(start), "end": iso(start + timedelta(seconds=3)), "purpose": "rule_supervision"}
    with site.world.client("watcher") as watcher:
        view = watcher.post(f"/api/v1/cameras/{site.camera}/playback", json=body).json()
    assert [s["start"] for s in view["segments"]] == [iso(start), iso(start + timedelta(seconds=2))]
    outside = segment_rows(site)[3]
    with site.world.client("watcher") as watcher:
        assert watcher.get(f"/api/v1/playback/{view['session_id']}/segments/{outside.id}").status_code == 404
    with site.world.client("officer") as officer:
        assert officer.get(view["segments"][0]["url"]).status_code == 404, "someone else's session"


def test_playback_is_refused_without_the_permission_or_outside_the_scope(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    body = {"start": iso(start), "end": iso(start + timedelta(minutes=1)), "purpose": "rule_supervision"}
    with site.world.client("legal") as legal:
        refused = legal.post(f"/api/v1/cameras/{site.camera}/playback", json=body)
        assert refused.status_code == 403
    with site.world.client("outsider") as outsider:
        assert outsider.post(f"/api/v1/cameras/{site.camera}/playback", json=body).status_code == 404
    with site.world.client("watcher") as watcher:
        too_long = watcher.post(
            f"/api/v1/cameras/{site.camera}/playback",
            json={**body, "end": iso(start + timedelta(hours=25))},
        )
        assert too_long.status_code == 422 and too_long.json()["code"] == "range_too_long"
        backwards = watcher.post(
            f"/api/v1/cameras/{site.camera}/playback", json={**body, "end": iso(start - timedelta(seconds=1))}
        )
        assert backwards.status_code == 422
    assert not audit_entries(site, "footage.playback.open")
    # The refusals are on the access record: the 403 by the API, the 404 where it was decided.
    refused = [(e.actor, e.outcome) for e in audit_entries(site, "footage.playback")]
    assert (f"user:{site.world.users['outsider']}", "denied") in refused
    assert [e.outcome for e in audit_entries(site, "recording.view") if "legal" in e.actor_name] == ["denied"]


def test_the_timeline_shows_recorded_ranges_and_gaps_with_their_reason(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    fac = site.world.ids["fac_a"]
    record_segments(site.container, fac, site.camera, start, 3)
    record_gap(site.container, site.camera, start + timedelta(seconds=6))
    record_segments(site.container, fac, site.camera, start + timedelta(seconds=20), 2)
    with site.world.client("watcher") as watcher:
        timeline = watcher.get(
            f"/api/v1/cameras/{site.camera}/timeline",
            params={"start": iso(start - timedelta(minutes=1)), "end": iso(start + timedelta(minutes=1))},
        )
        assert timeline.status_code == 200, timeline.text
        data = timeline.json()
        assert [(r["start"], r["end"]) for r in data["recorded"]] == [
            (iso(start), iso(start + timedelta(seconds=6))),
            (iso(start + timedelta(seconds=20)), iso(start + timedelta(seconds=24))),
        ]
        assert data["gaps"] == [
            {
                "start": iso(start + timedelta(seconds=6)),
                "end": iso(start + timedelta(seconds=20)),
                "reason": "offline",
                "detail": "connection refused",
            }
        ]
        naive = watcher.get(
            f"/api/v1/cameras/{site.camera}/timeline",
            params={"start": "2026-01-01T00:00:00", "end": iso(start)},
        )
        assert naive.status_code == 422


def test_a_segment_altered_on_disk_is_refused_audited_and_announced(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    record_segments(site.container, site.world.ids["fac_a"], site.camera, start, 2)
    announced: list[Any] = []
    site.container.bus.subscribe("test-integrity", announced.append, types=["media.integrity_failed"])
    site.container.start(record=False)
    row = segment_rows(site)[1]
    path = site.root / row.path
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    body = {"start": iso(start), "end": iso(start + timedelta(seconds=4)), "purpose": "rule_supervision"}
    with site.world.client("watcher") as watcher:
        view = watcher.post(f"/api/v1/cameras/{site.camera}/playback", json=body).json()
        assert watcher.get(view["segments"][0]["url"]).status_code == 200
        tampered = watcher.get(view["segments"][1]["url"])
        assert tampered.status_code == 409 and tampered.json()["code"] == "segment_integrity"
    finding = audit_entries(site, "footage.integrity_failed")[-1]
    assert finding.object_id == row.id and finding.outcome == "failure"
    wait_for(lambda: announced, 10, "the finding on the bus")
    assert announced[0].payload["object_id"] == row.id


# ---------------------------------------------------------------------------------- clips


def test_a_clip_export_is_stream_copied_with_a_manifest_of_hashes_and_audited(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    fac = site.world.ids["fac_a"]
    record_segments(site.container, fac, site.camera, start, 3)
    record_gap(site.container, site.camera, start + timedelta(seconds=6))
    record_segments(site.container, fac, site.camera, start + timedelta(seconds=10), 1)
    body = {
        "start": iso(start + timedelta(seconds=1, milliseconds=500)),
        "end": iso(start + timedelta(seconds=11)),
        "purpose": "rule_supervision",
    }
    with site.world.client("watcher") as watcher:
        assert watcher.post(f"/api/v1/cameras/{site.camera}/clips", json=body).status_code == 403
    with site.world.client("officer") as officer:
        created = officer.post(f"/api/v1/cameras/{site.camera}/clips", json=body)
        assert created.status_code == 201, created.text
        clip = created.json()
        manifest = clip["manifest"]
        # Stream copy starts on the keyframe at or before the requested start (one a second).
        assert clip["start"] == iso(start + timedelta(seconds=1))
        rows = segment_rows(site)
        assert [s["sha256"] for s in manifest["segments"]] == [r.sha256 for r in rows]
        assert manifest["sha256"] == clip["sha256"] and manifest["purpose"] == "rule_supervision"
        assert [g["reason"] for g in manifest["gaps"]] == ["offline"]
        assert officer.get(clip["download_url"]).status_code == 422, "a download states its purpose"
        downloaded = officer.get(clip["download_url"], params={"purpose": "breach_reminders"})
        assert downloaded.status_code == 200
        assert hashlib.sha256(downloaded.content).hexdigest() == clip["sha256"]
        assert downloaded.headers["x-content-sha256"] == clip["sha256"]
    with av.open(io.BytesIO(downloaded.content)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        assert packets[0].is_keyframe
        # 1 s..6 s from the first three segments, then 10 s..11 s after the gap.
        assert len(packets) == (5 + 1) * 10
    with av.open(io.BytesIO(downloaded.content)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 60
    export = audit_entries(site, "footage.export")
    assert [e.purpose for e in export] == ["rule_supervision", "breach_reminders"]
    assert clip["sha256"] in export[0].details and "download" in export[1].details


def test_a_clip_is_refused_when_a_source_segment_was_altered(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    record_segments(site.container, site.world.ids["fac_a"], site.camera, start, 2)
    path = site.root / segment_rows(site)[0].path
    path.write_bytes(path.read_bytes()[:-100])
    body = {"start": iso(start), "end": iso(start + timedelta(seconds=4)), "purpose": "rule_supervision"}
    with site.world.client("officer") as officer:
        refused = officer.post(f"/api/v1/cameras/{site.camera}/clips", json=body)
        assert refused.status_code == 409 and refused.json()["code"] == "segment_integrity"
        nothing = officer.post(
            f"/api/v1/cameras/{site.camera}/clips",
            json={**body, "start": iso(start - timedelta(hours=2)), "end": iso(start - timedelta(hours=1))},
        )
        assert nothing.status_code == 422 and nothing.json()["code"] == "no_footage"
    assert not audit_entries(site, "footage.export")
    exports = site.root / "exports"
    assert not exports.exists() or not list(exports.iterdir()), "nothing half-written"


# ---------------------------------------------------------------------------------- legal holds


def test_legal_holds_need_the_permission_a_reason_and_are_audited(site: Site) -> None:
    start = site.now - timedelta(days=40)
    body = {"start": iso(start), "end": iso(start + timedelta(hours=1)), "reason": "Investigation 2026/114"}
    with site.world.client("watcher") as watcher:
        assert watcher.post(f"/api/v1/cameras/{site.camera}/holds", json=body).status_code == 403
    with site.world.client("outsider") as outsider:
        assert outsider.post(f"/api/v1/cameras/{site.camera}/holds", json=body).status_code == 404
    with site.world.client("officer") as officer:
        assert (
            officer.post(f"/api/v1/cameras/{site.camera}/holds", json={**body, "reason": ""}).status_code
            == 422
        )
        placed = officer.post(f"/api/v1/cameras/{site.camera}/holds", json=body)
        assert placed.status_code == 201, placed.text
        hold = placed.json()
        assert hold["active"] and hold["reason"] == "Investigation 2026/114"
        assert officer.post(f"/api/v1/holds/{hold['id']}/lift", json={}).status_code == 422
        lifted = officer.post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "case closed"})
        assert lifted.status_code == 200 and not lifted.json()["active"]
        again = officer.post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "case closed"})
        assert again.status_code == 409 and again.json()["code"] == "hold_already_lifted"
        listed = officer.get(f"/api/v1/cameras/{site.camera}/holds").json()
        assert [h["lift_reason"] for h in listed] == ["case closed"]
    placed_entry = audit_entries(site, "recording.hold.place")[-1]
    assert placed_entry.object_id == hold["id"] and "Investigation 2026/114" in placed_entry.details
    assert audit_entries(site, "recording.hold.lift")[-1].object_id == hold["id"]
    denied = [e for e in audit_entries(site, "recording.hold") if e.outcome == "denied"]
    assert denied and denied[0].actor == f"user:{site.world.users['watcher']}"


# ---------------------------------------------------------------------------------- retention


def test_retention_deletes_expired_footage_audits_each_deletion_and_spares_holds(site: Site) -> None:
    fac = site.world.ids["fac_a"]
    old = site.now - timedelta(days=40)
    expired = record_segments(site.container, fac, site.camera, old, 3)
    recent = record_segments(site.container, fac, site.camera, site.now - timedelta(days=1), 2)
    with site.world.client("officer") as officer:
        hold = officer.post(
            f"/api/v1/cameras/{site.camera}/holds",
            json={
                "start": iso(old + timedelta(seconds=2)),
                "end": iso(old + timedelta(seconds=3)),
                "reason": "Complaint 7",
            },
        ).json()
    deleted = site.container.retention.sweep_expired()
    assert deleted.count == 2
    remaining = {r.path for r in segment_rows(site)}
    assert remaining == {expired[1].path} | {e.path for e in recent}
    for event in (expired[0], expired[2]):
        assert not (site.root / event.path).exists()
    entries = audit_entries(site, "footage.delete")
    assert len(entries) == 2
    for entry in entries:
        assert '"reason":"retention"' in entry.details.replace(" ", "")
        assert entry.actor == "system:retention"
    assert sorted(
        ev.sha256 for ev in (expired[0], expired[2]) if any(ev.sha256 in e.details for e in entries)
    ) == sorted(ev.sha256 for ev in (expired[0], expired[2]))

    with site.world.client("officer") as officer:
        officer.post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "resolved"})
    assert site.container.retention.sweep_expired().count == 1
    assert {r.path for r in segment_rows(site)} == {e.path for e in recent}


def test_disk_pressure_warns_first_then_deletes_the_oldest_unheld_footage_loudly(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    fac = site.world.ids["fac_a"]
    events = record_segments(site.container, fac, site.camera, site.now - timedelta(hours=3), 8)
    size = sum(e.bytes for e in events) / len(events)
    quota_gb = size * 10 / 1024**3
    media = site.container.settings.media.model_copy(
        update={
            "storage_quota_gb": quota_gb,
            "disk_warning_pct": 85,
            "disk_critical_pct": 95,
            "disk_target_pct": 90,
        }
    )
    site.container.deps.settings = site.container.settings.model_copy(update={"media": media})
    announced: list[Any] = []
    site.container.bus.subscribe("test-storage", announced.append, types=["media.storage.alert"])
    site.container.start(record=False)
    retention = site.container.retention

    report = retention.relieve_pressure()
    assert report.level == "ok" and report.deleted.count == 0
    record_segments(site.container, fac, site.camera, site.now - timedelta(hours=2), 1)  # ~90 %
    report = retention.relieve_pressure()
    assert report.level == "warning" and report.deleted.count == 0
    assert len(segment_rows(site)) == 9, "the warning level deletes nothing"
    with site.world.client("officer") as officer:
        officer.post(
            f"/api/v1/cameras/{site.camera}/holds",
            json={
                "start": iso(events[0].start),
                "end": iso(events[0].end),
                "reason": "Oldest segment kept for an inquiry",
            },
        )
    record_segments(site.container, fac, site.camera, site.now - timedelta(hours=1), 1)  # ~100 %
    with caplog.at_level(logging.ERROR, logger="wardwatch.media.retention"):
        report = retention.relieve_pressure()
    assert report.level == "critical" and report.deleted.count >= 1 and not report.stuck
    assert report.used_pct < 90
    left = [r.path for r in segment_rows(site)]
    assert events[0].path in left, "the held oldest segment survives"
    assert events[1].path not in left, "the oldest unheld segment went first"
    assert any("disk pressure" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    deletions = audit_entries(site, "footage.delete")
    assert len(deletions) == report.deleted.count
    assert all("disk_pressure" in e.details for e in deletions)
    with site.container.db.read() as conn:
        alert = conn.execute(select(media_store.storage_alerts)).one()
    assert alert.level == "critical" and alert.deleted_segments == report.deleted.count
    wait_for(lambda: [e for e in announced if e.payload["level"] == "critical"], 10, "the critical alert")
    assert [e.payload["level"] for e in announced][:1] == ["warning"]
    scraped = generate_latest(site.container.metrics_registry).decode()
    assert "wardwatch_storage_alert_level 2.0" in scraped
    assert f"wardwatch_recordings_bytes {float(sum(r.bytes for r in segment_rows(site)))}" in scraped
    with site.world.client("admin") as admin:
        storage = admin.get("/api/v1/media/storage").json()
        assert storage["alerts"][0]["level"] == "critical" and storage["quota_used_pct"] < 90
    with site.world.client("watcher") as watcher:
        assert watcher.get("/api/v1/media/storage").status_code in (403, 404)
    with site.world.client("admin") as admin:
        notices = [n for n in admin.get("/api/v1/inbox").json() if n["kind"] == "storage_alert"]
    assert [n["severity"] for n in notices][:2] == ["red", "yellow"], "administrators are told, newest first"


def test_pressure_with_everything_on_hold_deletes_nothing_and_says_so(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    fac = site.world.ids["fac_a"]
    events = record_segments(site.container, fac, site.camera, site.now - timedelta(hours=3), 4)
    media = site.container.settings.media.model_copy(
        update={"storage_quota_gb": sum(e.bytes for e in events) / 1024**3}
    )
    site.container.deps.settings = site.container.settings.model_copy(update={"media": media})
    with site.world.client("officer") as officer:
        officer.post(
            f"/api/v1/cameras/{site.camera}/holds",
            json={"start": iso(events[0].start), "end": iso(events[-1].end), "reason": "Everything kept"},
        )
    with caplog.at_level(logging.CRITICAL, logger="wardwatch.media.retention"):
        report = site.container.retention.relieve_pressure()
    assert report.stuck and report.deleted.count == 0 and len(segment_rows(site)) == 4
    assert any(r.levelno == logging.CRITICAL for r in caplog.records)
    with site.container.db.read() as conn:
        alert = conn.execute(select(media_store.storage_alerts)).one()
    assert "legal hold" in alert.detail


# ---------------------------------------------------------------------------------- sessions


def test_viewing_sessions_left_open_by_a_crash_are_closed_on_start_and_audited(site: Site) -> None:
    principal = site.world.principal("watcher")
    session = site.container.views.open(principal, site.camera, ViewKind.LIVE, variant="sub")
    assert site.container.views.close_stale(restart=True) == 1
    closing = audit_entries(site, "footage.live.close")[-1]
    assert session.id in closing.details and "server restart" in closing.details
    with site.container.db.read() as conn:
        row = conn.execute(
            select(media_store.view_sessions).where(media_store.view_sessions.c.id == session.id)
        ).one()
    assert row.ended_at is not None


def test_an_expired_playback_session_is_closed_on_the_record_when_it_expired(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    record_segments(site.container, site.world.ids["fac_a"], site.camera, start, 1)
    body = {"start": iso(start), "end": iso(start + timedelta(seconds=2)), "purpose": "rule_supervision"}
    with site.world.client("watcher") as watcher:
        first = watcher.post(f"/api/v1/cameras/{site.camera}/playback", json=body).json()
        second = watcher.post(f"/api/v1/cameras/{site.camera}/playback", json=body).json()
    site.world.clock.advance(timedelta(minutes=61))
    with site.world.client("watcher") as watcher:
        assert watcher.get(first["segments"][0]["url"]).status_code == 404, "expired"
        # Its owner may still close it: the end of a viewing is always recorded.
        assert watcher.delete(f"/api/v1/playback/{first['session_id']}").status_code == 204
    assert site.container.views.close_stale() == 1
    closes = {e.details: e for e in audit_entries(site, "footage.playback.close")}
    by_expiry = next(e for d, e in closes.items() if second["session_id"] in d)
    assert '"closed_by":"expired"' in by_expiry.details.replace(" ", "")
    assert second["expires_at"].replace("Z", "") in by_expiry.details.replace("+00:00", "")
    assert by_expiry.actor == "system:media-sessions" and by_expiry.purpose == "rule_supervision"
    assert site.container.views.close_stale() == 0


def test_exported_clips_expire_after_their_retention_unless_held(site: Site) -> None:
    start = site.now - timedelta(hours=1)
    fac = site.world.ids["fac_a"]
    record_segments(site.container, fac, site.camera, start, 2)
    body = {"start": iso(start), "end": iso(start + timedelta(seconds=2)), "purpose": "rule_supervision"}
    with site.world.client("officer") as officer:
        kept = officer.post(f"/api/v1/cameras/{site.camera}/clips", json=body).json()
        later = {**body, "start": iso(start + timedelta(seconds=2)), "end": iso(start + timedelta(seconds=4))}
        gone = officer.post(f"/api/v1/cameras/{site.camera}/clips", json=later).json()
        officer.post(
            f"/api/v1/cameras/{site.camera}/holds",
            json={"start": body["start"], "end": body["end"], "reason": "Evidence for case 12"},
        )
    assert (
        site.container.retention.usage().recordings_bytes
        == sum(r.bytes for r in segment_rows(site)) + kept["bytes"] + gone["bytes"]
    ), "clips count towards storage"
    assert site.container.retention.sweep_clips().count == 0, "not yet expired"
    site.world.clock.advance(timedelta(days=91))
    assert site.container.retention.sweep_clips().count == 1
    exports = site.root / "exports"
    assert sorted(p.name for p in exports.iterdir() if p.is_file()) == [
        f"{kept['id']}.manifest.json",
        f"{kept['id']}.mp4",
    ]
    entry = audit_entries(site, "footage.export.delete")[-1]
    assert entry.object_id == gone["id"] and gone["sha256"] in entry.details
    with site.world.client("officer") as officer:
        assert officer.get(f"/api/v1/clips/{gone['id']}").status_code == 404


def test_a_hold_is_answered_to_someone_who_may_hold_but_not_view(
    database_url: str, tmp_path: Path, now: datetime
) -> None:
    world = build_world(
        tmp_path / "data",
        database_url,
        now,
        authz={"custom_roles": {"evidence_clerk": {"permissions": ["org.read", "recording.hold"]}}},
    )
    try:
        world.add_user("clerk", "evidence_clerk", "fac_a")
        with world.client("admin") as admin:
            camera = admin.post("/api/v1/cameras", json=ready_camera_body(world.ids["fac_a_corridor"])).json()
        body = {"start": iso(now - timedelta(days=1)), "end": iso(now), "reason": "Court order 88"}
        with world.client("clerk") as clerk:
            placed = clerk.post(f"/api/v1/cameras/{camera['id']}/holds", json=body)
            assert placed.status_code == 201, placed.text
            lifted = clerk.post(f"/api/v1/holds/{placed.json()['id']}/lift", json={"reason": "order ended"})
            assert lifted.status_code == 200 and lifted.json()["lift_reason"] == "order ended"
    finally:
        world.container.close()
