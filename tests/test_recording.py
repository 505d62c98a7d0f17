"""Recording real RTSP streams from simulated cameras into indexed fMP4 segments.

One recorder runs for the whole module (per database backend) while each test drives a
different camera: healthy, stopped, wrong password, unsupported codec, unreachable, and
a recorder process killed with SIGKILL.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import select

from conftest import make_database
from support import build_world, ready_camera_body
from test_sim_cameras import free_base_port
from wardwatch.bench.record import check_segment
from wardwatch.media import ingest
from wardwatch.media import store as media_store
from wardwatch.media.ingest import CameraIngest, CameraJob, Event, SegmentEvent, StatusEvent, StreamClock
from wardwatch.sim.control import ControlServer
from wardwatch.sim.fleet import fleet
from wardwatch.sim.pattern import PatternCamera
from wardwatch.sim.server import CameraFarm

SEGMENT_SECONDS = 4
CAMERAS = ("steady", "flaky", "locked", "crashy")


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def rec(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    backend = request.param
    base = free_base_port(6)
    configs = fleet(4, base, main=(320, 176), sub=None, scene="corridor", names=list(CAMERAS))
    configs[2] = type(configs[2])(
        2, "locked", base + 2, configs[2].scene, configs[2].main, None, "viewer", "pw1"
    )
    farm = CameraFarm(configs, tmp_path_factory.mktemp("loops"))
    farm.prepare()
    farm.start()
    control = ControlServer(farm, base - 1)
    control.start()
    vp8 = PatternCamera(base + 4, "vp8")
    vp8.start()
    directory = tmp_path_factory.mktemp(f"rec-{backend}")
    template = request.getfixturevalue("sqlite_template") if backend == "sqlite" else None
    url, drop = make_database(backend, directory / "data", template)
    world = build_world(
        directory / "data",
        url,
        datetime.now(UTC).replace(microsecond=0),
        media={"segment_seconds": SEGMENT_SECONDS, "recorder_workers": 2},
    )
    cameras: dict[str, str] = {}
    with world.client("admin") as admin:
        for config in configs:
            body = ready_camera_body(
                world.ids["fac_a_corridor"], name=config.name, main_url=config.url("main")
            )
            if config.username:
                body.update(username=config.username, password=config.password)
            camera = admin.post("/api/v1/cameras", json=body).json()
            admin.post(f"/api/v1/cameras/{camera['id']}/activate")
            cameras[config.name] = camera["id"]
        for name, url_ in (("vp8", vp8.url), ("gone", f"rtsp://127.0.0.1:{base + 5}/main")):
            camera = admin.post(
                "/api/v1/cameras",
                json=ready_camera_body(world.ids["fac_a_corridor"], name=name, main_url=url_),
            ).json()
            admin.post(f"/api/v1/cameras/{camera['id']}/activate")
            cameras[name] = camera["id"]
    announced: list[Any] = []
    world.container.bus.subscribe("test-status", announced.append, types=["media.stream.status"])
    world.container.start()
    recorder = world.container.recorder
    assert recorder is not None
    yield {
        "world": world,
        "cameras": cameras,
        "control": control,
        "recorder": recorder,
        "root": directory / "data",
        "farm": farm,
        "announced": announced,
    }
    world.container.close()
    vp8.stop()
    control.stop()
    farm.stop()
    drop()


def set_fault(rec: dict[str, Any], index: int, fault: str) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{rec['control'].port}/cameras/{index}/fault",
        data=json.dumps({"fault": fault}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()


def segments(rec: dict[str, Any], name: str) -> list[Any]:
    with rec["world"].container.db.read() as conn:
        return conn.execute(
            select(media_store.segments)
            .where(media_store.segments.c.camera_id == rec["cameras"][name])
            .order_by("start")
        ).all()


def gaps(rec: dict[str, Any], name: str) -> list[Any]:
    with rec["world"].container.db.read() as conn:
        return conn.execute(
            select(media_store.gaps)
            .where(media_store.gaps.c.camera_id == rec["cameras"][name])
            .order_by("start")
        ).all()


def status(rec: dict[str, Any], name: str) -> Any:
    with rec["world"].container.db.read() as conn:
        return conn.execute(
            select(media_store.stream_status).where(
                media_store.stream_status.c.camera_id == rec["cameras"][name]
            )
        ).first()


def test_active_cameras_are_recorded_into_checked_segments(rec: dict[str, Any]) -> None:
    rows = wait_for(
        lambda: len(segments(rec, "steady")) >= 3 and segments(rec, "steady"), 60, "three segments"
    )
    root: Path = rec["root"]
    facility = rec["world"].ids["fac_a"]
    for row in rows:
        path = root / row.path
        parts = Path(row.path).parts
        assert parts[:3] == ("recordings", facility, rec["cameras"]["steady"])
        assert parts[3:7] == tuple(f"{row.start:%Y %m %d %H}".split())
        assert (
            hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256 and path.stat().st_size == row.bytes
        )
        assert (row.codec, row.width, row.height) == ("h264", 320, 176)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            first = next(container.demux(stream))
            assert first.is_keyframe and next(iter(first.decode())).width == 320
            seconds = float(stream.duration * stream.time_base)
        assert abs(seconds - (row.end - row.start).total_seconds()) < 0.2
        assert SEGMENT_SECONDS - 0.1 <= seconds <= SEGMENT_SECONDS + 2.1
    for before, after in itertools.pairwise(rows):
        assert abs((after.start - before.end).total_seconds()) < 0.2, "segments follow each other"
    assert status(rec, "steady").status == "online"
    stale = [
        p
        for p in root.rglob("*.partial")
        if rec["cameras"]["steady"] in str(p) and p.stat().st_mtime < time.time() - 2 * SEGMENT_SECONDS - 5
    ]
    assert not stale, "only the segment being written is partial"


def test_a_stopped_camera_goes_offline_with_its_reason_and_the_gap_is_recorded(rec: dict[str, Any]) -> None:
    wait_for(lambda: segments(rec, "flaky"), 60, "a first segment")
    set_fault(rec, 1, "stop")
    stopped_at = datetime.now(UTC)
    wait_for(lambda: status(rec, "flaky").status == "offline", 30, "offline")
    assert status(rec, "flaky").reason == "connection refused"
    open_gap = wait_for(lambda: [g for g in gaps(rec, "flaky") if g.end is None], 10, "an open gap")[0]
    assert open_gap.reason == "offline" and open_gap.start <= stopped_at + timedelta(seconds=1)
    set_fault(rec, 1, "healthy")
    wait_for(lambda: status(rec, "flaky").status == "online", 60, "online again")
    closed = wait_for(lambda: [g for g in gaps(rec, "flaky") if g.end is not None], 60, "the gap closed")[0]
    resumed = [s for s in segments(rec, "flaky") if s.start >= closed.end - timedelta(milliseconds=1)]
    assert resumed and resumed[0].start == closed.end
    camera = rec["cameras"]["flaky"]
    changes = wait_for(
        lambda: [
            e.payload
            for e in rec["announced"]
            if e.payload["camera_id"] == camera and e.payload["status"] == "offline"
        ],
        10,
        "the change on the bus",
    )
    assert changes[0]["reason"] == "connection refused"


def test_wrong_credentials_give_auth_failed(rec: dict[str, Any]) -> None:
    wait_for(lambda: segments(rec, "locked"), 60, "recording with the right password")
    set_fault(rec, 2, "wrong_credentials")
    wait_for(lambda: status(rec, "locked").status == "auth_failed", 60, "auth_failed")
    set_fault(rec, 2, "healthy")
    wait_for(lambda: status(rec, "locked").status == "online", 90, "online again")


def test_unsupported_codec_and_unreachable_camera_are_named_without_stopping_others(
    rec: dict[str, Any],
) -> None:
    vp8 = wait_for(lambda: status(rec, "vp8"), 60, "a status for the VP8 camera")
    assert vp8.status == "unsupported" and "vp8" in vp8.reason and vp8.details["codec"] == "vp8"
    gone = wait_for(lambda: status(rec, "gone"), 60, "a status for the unreachable camera")
    assert gone.status == "offline" and gone.reason == "connection refused"
    before = len(segments(rec, "steady"))
    wait_for(lambda: len(segments(rec, "steady")) > before, 30, "the healthy camera to keep recording")


def test_killing_a_recorder_loses_at_most_two_seconds_and_leaves_a_consistent_index(
    rec: dict[str, Any],
) -> None:
    recorder = rec["recorder"]
    camera = rec["cameras"]["crashy"]
    wait_for(lambda: len(segments(rec, "crashy")) >= 1, 60, "a first segment")
    time.sleep(SEGMENT_SECONDS / 2 + 1)
    worker = recorder.assignments()[camera]
    pid = recorder.worker_pids()[worker]
    killed_at = datetime.now(UTC)
    os.kill(pid, signal.SIGKILL)
    # The partial segment is either recovered (its complete fragments kept) or, if the kill
    # came before its first fragment, quarantined; either way a gap starts where footage ends.
    gap = wait_for(
        lambda: [
            g
            for g in gaps(rec, "crashy")
            if g.start >= killed_at - timedelta(seconds=15)
            and g.reason in ("recorder_restart", "recorder_crash")
        ],
        30,
        "the restart gap",
    )[0]
    before = [s for s in segments(rec, "crashy") if s.start < killed_at]
    footage_until = max(s.end for s in before)
    assert killed_at - footage_until <= timedelta(seconds=2), (killed_at, footage_until)
    assert gap.start == footage_until
    recovered = [s for s in before if s.recovered]
    if recovered:
        with av.open(str(rec["root"] / recovered[0].path)) as container:
            assert sum(1 for p in container.demux(video=0) if p.size) > 0
    wait_for(lambda: recorder.worker_pids()[worker] != pid, 30, "a new worker")
    wait_for(lambda: [g for g in gaps(rec, "crashy") if g.id == gap.id and g.end], 60, "the gap to close")
    root: Path = rec["root"]

    # The index and the disk agree: every indexed file exists, and every finished file is
    # indexed (a file renamed a moment ago may still be on its way to the index).
    def agree() -> bool:
        with rec["world"].container.db.read() as conn:
            indexed = {r.path for r in conn.execute(select(media_store.segments.c.path))}
        finished = {str(p.relative_to(root)) for p in (root / "recordings").rglob("*.mp4")}
        assert indexed <= finished
        return indexed == finished

    wait_for(agree, 10, "the index to match the disk")
    assert not list((root / "recordings").rglob("*.partial")) or all(
        p.stat().st_mtime > time.time() - 2 * SEGMENT_SECONDS - 5
        for p in (root / "recordings").rglob("*.partial")
    )


def test_the_benchmark_check_rejects_a_segment_that_is_not_what_its_index_entry_says(
    rec: dict[str, Any], tmp_path: Path
) -> None:
    row = wait_for(lambda: segments(rec, "steady"), 60, "a segment")[0]
    event = SegmentEvent(
        row.camera_id,
        "f",
        row.start,
        row.end,
        row.path,
        row.bytes,
        row.sha256,
        row.codec,
        row.width,
        row.height,
    )
    original = rec["root"] / row.path
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(original.read_bytes())
    assert check_segment(copy, event, SEGMENT_SECONDS, 0.04) is None
    data = bytearray(original.read_bytes())
    data[-100] ^= 0xFF
    copy.write_bytes(data)
    assert check_segment(copy, event, SEGMENT_SECONDS, 0.04) == "SHA-256 differs from the index"
    copy.write_bytes(original.read_bytes()[:-100])
    assert check_segment(copy, event, SEGMENT_SECONDS, 0.04) == "size differs from the index"
    longer = SegmentEvent(**{**event.__dict__, "end": event.end + timedelta(seconds=1)})
    copy.write_bytes(original.read_bytes())
    assert check_segment(copy, longer, SEGMENT_SECONDS, 0.04) == "duration differs from the index"


def test_the_stream_clock_follows_a_camera_whose_clock_runs_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow camera clock must not leave the estimate (and so every stamp) ever earlier."""
    now = [1_000_000.0]
    monkeypatch.setattr(ingest.time, "time", lambda: now[0])
    clock = StreamClock(Fraction(1, 90_000))
    slow = 1.001  # the camera's second lasts 1.001 s of wall time
    lates = []
    for frame in range(25 * 200):  # 200 s at 25 fps
        now[0] = 1_000_000.0 + frame / 25 * slow
        lates.append(clock.observe(frame * 3600))
    truth = 1_000_000.0 + 199.96 * slow
    assert abs(clock.wall(4999 * 3600).timestamp() - truth) < 0.07, "stamps stay within the drift of an epoch"
    assert max(lates[-25 * 60 :]) < 0.07, "a caught-up packet still looks caught up"
    now[0] += 0.5  # a packet that sat half a second in the socket
    assert clock.observe(5000 * 3600) > 0.45


def test_a_disk_that_refuses_segments_is_named_and_the_camera_thread_carries_on(
    rec: dict[str, Any], tmp_path: Path
) -> None:
    not_a_directory = tmp_path / "data"
    not_a_directory.write_text("a file where the recordings should go")
    events: list[Event] = []
    url = rec["farm"].configs[0].url("main")
    ingest_thread = CameraIngest(CameraJob("disk", "fac", url, None, None), not_a_directory, events.append)
    ingest_thread.start()
    try:
        failed = wait_for(
            lambda: [e for e in events if isinstance(e, StatusEvent) and e.status == "offline"],
            30,
            "the storage failure",
        )
        assert failed[0].reason.startswith("recording failed: cannot write segments")
        assert ingest_thread.is_alive()
    finally:
        ingest_thread.stop()
        ingest_thread.join(timeout=15)
