"""Camera health against real simulated cameras: every fault found, no false alarms.

Ten GStreamer cameras serve real RTSP; the recorder records them and the analysis worker
watches them, both as in production. Three are never touched (the static but noisy
corridor, the walking scene and the dark corridor), and each of the others gets one
fault. One world per database backend for the whole module.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from conftest import make_database
from support import build_world, ready_camera_body, wait_for
from test_sim_cameras import free_base_port
from wardwatch.health import features
from wardwatch.health import store as health_store
from wardwatch.health.model import Baseline, PictureMonitor
from wardwatch.kernel.bus import Event
from wardwatch.media.ingest import StatusEvent
from wardwatch.media.model import StreamStatus
from wardwatch.sim.faults import Fault
from wardwatch.sim.fleet import fleet
from wardwatch.sim.server import CameraFarm

COUNT = 10
UNTOUCHED = {0: "corridor", 1: "moving", 2: "dark"}
FAULTS = {  # camera index: (fault, the state it must produce); scenes cycle corridor, moving, dark
    3: (Fault.BLACK, "black"),
    4: (Fault.COVERED, "covered"),
    5: (Fault.FREEZE, "frozen"),  # a dark camera whose encoder froze
    6: (Fault.MOVED, "moved"),
    7: (Fault.STOP, "offline"),
    8: (Fault.STALL, "offline"),
    9: (Fault.WRONG_CREDENTIALS, "auth_failed"),
}


class Seen:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self.lock:
            self.events.append(event.payload)

    def of(self, camera_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["camera_id"] == camera_id]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    base = free_base_port(COUNT + 1)
    configs = fleet(COUNT, base, main=(320, 176), sub=None, scene="mixed")
    farm = CameraFarm(configs, tmp_path_factory.mktemp("loops"))
    farm.prepare()
    farm.start()
    directory = tmp_path_factory.mktemp(f"health-{request.param}")
    template = request.getfixturevalue("sqlite_template") if request.param == "sqlite" else None
    url, drop = make_database(request.param, directory / "data", template)
    world = build_world(
        directory / "data",
        url,
        datetime.now(UTC).replace(microsecond=0),
        media={"segment_seconds": 4},
        health={"incident_debounce_s": 3600, "analysis": True},
        duty={"coverage_check": False},
    )
    ids: list[str] = []
    with world.client("admin") as admin:
        for config in configs:
            body = ready_camera_body(
                world.ids["fac_a_corridor"], name=config.name, main_url=config.url("main"), sub_url=None
            )
            camera = admin.post("/api/v1/cameras", json=body).json()
            assert admin.post(f"/api/v1/cameras/{camera['id']}/activate").status_code == 200
            ids.append(camera["id"])
    seen = Seen()
    world.container.bus.subscribe("test-health", seen, types=["health.camera.state"])
    world.container.start()

    def learnt() -> bool:
        with world.container.db.read() as conn:
            rows = conn.execute(select(health_store.baselines.c.camera_id, health_store.baselines.c.learnt))
            return {r.camera_id for r in rows if r.learnt} >= set(ids)

    wait_for(learnt, 240, "every camera to learn its normal")
    yield {"world": world, "ids": ids, "farm": farm, "seen": seen}
    world.container.close()
    farm.stop()
    drop()


def states(site: dict[str, Any], index: int) -> list[tuple[str, str]]:
    return [(e["previous"], e["state"]) for e in site["seen"].of(site["ids"][index])]


def test_the_static_noisy_walking_and_dark_scenes_raise_nothing_over_a_healthy_period(
    site: dict[str, Any],
) -> None:
    seen: Seen = site["seen"]
    before = len(seen.events)
    threading.Event().wait(40)  # twenty keyframes of each camera, judged against its own normal
    assert len(seen.events) == before, [e for e in seen.events[before:]]
    for index in range(COUNT):
        assert states(site, index) == [("unknown", "ok")], (index, states(site, index))


def test_every_fault_is_detected_with_its_measurements_and_evidence(site: dict[str, Any]) -> None:
    farm: CameraFarm = site["farm"]
    ids: list[str] = site["ids"]
    world = site["world"]
    for index, (fault, _state) in FAULTS.items():
        farm.set_fault(index, fault)
    try:
        for index, (fault, state) in FAULTS.items():
            wait_for(
                lambda i=index, s=state: any(st == s for _p, st in states(site, i)),
                90,
                f"{fault.value} on camera {index} to be reported as {state}",
            )
    finally:
        for index in FAULTS:
            farm.set_fault(index, Fault.HEALTHY)
    for index, (fault, state) in FAULTS.items():
        reported = [s for _p, s in states(site, index)[1:]]
        assert reported[0] == state, f"{fault.value} was first reported as {reported[0]}"
    with world.client("admin") as admin:
        for index in (3, 4, 5, 6):
            event = next(e for e in site["seen"].of(ids[index]) if e["state"] == FAULTS[index][1])
            assert event["measured"]["learnt"] is True and event["reason"]["code"] != "none"
            shot = admin.get(f"/api/v1/health/evidence/{event['evidence_id']}")
            assert shot.status_code == 200, (index, shot.text)
            picture = cv2.imdecode(np.frombuffer(shot.content, np.uint8), cv2.IMREAD_COLOR)
            assert picture is not None and picture.shape[1] == 320
    black = next(e for e in site["seen"].of(ids[3]) if e["state"] == "black")
    assert black["measured"]["uniform"] >= 0.9
    frozen = next(e for e in site["seen"].of(ids[5]) if e["state"] == "frozen")
    assert frozen["measured"]["motion"] < 0.5 * frozen["measured"]["motion_normal"]
    covered = next(e for e in site["seen"].of(ids[4]) if e["state"] == "covered")
    assert covered["measured"]["sharpness"] < 0.4 * covered["measured"]["sharpness_normal"]
    moved = next(e for e in site["seen"].of(ids[6]) if e["state"] == "moved")
    assert moved["measured"]["similarity"] < 0.8
    for index in FAULTS:
        wait_for(lambda i=index: states(site, i)[-1][1] == "ok", 150, f"camera {index} to recover")
    for index in UNTOUCHED:
        assert states(site, index) == [("unknown", "ok")], "no false alarm on the untouched cameras"
    with world.client("admin") as admin:
        history = admin.get(
            f"/api/v1/cameras/{ids[3]}/health/history",
            params={"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
        ).json()
        assert [p["state"] for p in history["periods"]][:3] == ["ok", "black", "ok"]


def test_a_recorder_reporting_a_low_frame_rate_makes_the_camera_degraded(site: dict[str, Any]) -> None:
    world, ids = site["world"], site["ids"]
    media = world.container.media
    media.record(
        StatusEvent(
            ids[3],
            StreamStatus.DEGRADED,
            "frame rate 6.0 fps, normal 25 fps",
            datetime.now(UTC),
            {"fps": 6.0, "nominal": 25.0},
        )
    )
    wait_for(lambda: states(site, 3)[-1][1] == "degraded", 30, "the degraded state")
    event = site["seen"].of(ids[3])[-1]
    assert event["reason"] == {"code": "fps_low", "params": {"value": 6.0, "normal": 25.0}}
    media.record(StatusEvent(ids[3], StreamStatus.ONLINE, "frame rate back to normal", datetime.now(UTC), {}))
    wait_for(lambda: states(site, 3)[-1][1] == "ok", 30, "the camera to be ok again")


def test_each_cameras_normal_and_reference_are_kept_for_a_restart(site: dict[str, Any]) -> None:
    world, ids = site["world"], site["ids"]
    jobs = {job.camera_id: job for job in world.container.health.service.jobs()}
    assert set(jobs) == set(ids)
    for camera_id in ids:
        job = jobs[camera_id]
        assert job.password is None and job.url.startswith("rtsp://127.0.0.1:")
        monitor = PictureMonitor(job.thresholds, Baseline.from_dict(job.baseline))
        assert monitor.learnt and monitor.reference_ready
        reference = features.decode_reference(job.reference)
        assert reference is not None and reference.shape[1] == features.THUMB_WIDTH
        assert len(job.reference or b"") < 8_000, "the reference is a small grey thumbnail, not footage"
    with world.container.db.read() as conn:
        stored = conn.execute(select(health_store.baselines.c.baseline)).first()
    assert stored is not None and json.loads(json.dumps(stored.baseline))["samples"] >= 10


def test_a_killed_analysis_worker_is_loud_and_restarted_with_the_normals_it_had(site: dict[str, Any]) -> None:
    world, ids = site["world"], site["ids"]
    supervisor = world.container.health.supervisor
    assert supervisor is not None
    [pid] = supervisor.worker_pids()
    os.kill(pid, signal.SIGKILL)
    for index in range(COUNT):
        wait_for(
            lambda i=index: site["seen"].of(ids[i])[-1]["reason"]["code"] == "analysis_worker_died",
            60,
            f"camera {index} to say its picture is unchecked",
        )
        assert states(site, index)[-1] == ("ok", "degraded")
    for index in range(COUNT):
        wait_for(lambda i=index: states(site, i)[-1][1] == "ok", 90, f"camera {index} watched again")
    assert supervisor.worker_pids() != [pid]
