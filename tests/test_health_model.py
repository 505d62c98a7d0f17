"""The rules of camera health: picture verdicts, link assessment, uptime and closing rules.

The picture checks run on real H.264 keyframes: the simulator's own scene loops, encoded
by libx264 and decoded by FFmpeg exactly as a camera's stream is, without the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import cycle, islice

import av
import pytest

from wardwatch.health import features
from wardwatch.health.model import (
    Baseline,
    Features,
    HealthState,
    LinkStatus,
    Period,
    PictureMonitor,
    Reason,
    Thresholds,
    assess,
    close_missing,
    outage,
    recorder_link,
    recorder_reason,
    uptime,
)
from wardwatch.health.watch import luma_of
from wardwatch.sim.loops import load_loop, spec_for
from wardwatch.sim.scenes import Scene

T = Thresholds()
NONE = Reason("none")


def healthy(motion: float = 2.5, sharpness: float = 0.5, similarity: float | None = 0.99) -> Features:
    return Features(
        luma=90, uniform=0.2, sharpness=sharpness, motion=motion, similarity=similarity, fps=25, kbps=600
    )


def learnt_monitor() -> PictureMonitor:
    monitor = PictureMonitor(T)
    for _ in range(T.learn_samples):
        assert monitor.observe(healthy()) is None
        monitor.took_reference()
    assert monitor.learnt and monitor.reference_ready
    return monitor


def verdicts(monitor: PictureMonitor, frames: list[Features]) -> list[HealthState | None]:
    out = []
    for frame in frames:
        verdict = monitor.observe(frame)
        out.append(verdict.condition if verdict else None)
    return out


def test_a_condition_is_reported_only_after_it_held_for_its_confirmation_count() -> None:
    monitor = learnt_monitor()
    black = Features(luma=16, uniform=0.99, sharpness=0, motion=0, similarity=0.1)
    assert verdicts(monitor, [black, black, black]) == [None, HealthState.BLACK, None]
    assert verdicts(monitor, [healthy(), healthy(), healthy()]) == [None, HealthState.OK, None]
    frozen = healthy(motion=0.4)
    assert verdicts(monitor, [frozen, frozen, frozen, frozen]) == [None, None, HealthState.FROZEN, None]


def test_one_odd_keyframe_raises_nothing_and_teaches_nothing() -> None:
    monitor = learnt_monitor()
    before = monitor.baseline.to_dict()
    odd = Features(luma=16, uniform=0.99, sharpness=0, motion=0, similarity=0.1)
    assert verdicts(monitor, [odd, healthy(), odd, healthy(), healthy(motion=0.3), healthy()]) == [None] * 6
    after = monitor.baseline.to_dict()
    assert after["samples"] == before["samples"] + 3, "only the healthy keyframes were learnt from"


def test_a_blurred_picture_is_covered_not_frozen_and_a_noisy_static_one_is_neither() -> None:
    monitor = learnt_monitor()
    blurred = healthy(motion=0.9, sharpness=0.1)  # a blur removes the noise that made it change
    assert verdicts(monitor, [blurred] * 3) == [None, None, HealthState.COVERED]
    monitor = learnt_monitor()
    noisy = healthy(motion=2.2, sharpness=0.45)
    assert verdicts(monitor, [noisy] * 20) == [None] * 20


def test_a_worse_fault_takes_over_and_a_milder_one_waits_for_the_worse_to_clear() -> None:
    monitor = learnt_monitor()
    moved = healthy(similarity=0.3)
    black = Features(luma=16, uniform=0.99, sharpness=0, motion=0, similarity=0.1)
    assert verdicts(monitor, [moved] * 5) == [None] * 4 + [HealthState.MOVED]
    assert verdicts(monitor, [black, black]) == [None, HealthState.BLACK]
    assert verdicts(monitor, [moved] * 5) == [None] * 4 + [HealthState.MOVED], "no 'ok' in between"


def test_a_frame_rate_or_bitrate_far_below_the_cameras_own_normal_is_degraded() -> None:
    monitor = learnt_monitor()
    slow = Features(luma=90, uniform=0.2, sharpness=0.5, motion=2.5, similarity=0.99, fps=8, kbps=600)
    assert verdicts(monitor, [slow] * 10)[-1] == HealthState.DEGRADED
    assert monitor.reason.code == "fps_low" and monitor.reason.params == {"value": 8, "normal": 25.0}
    monitor = learnt_monitor()
    starved = Features(luma=90, uniform=0.2, sharpness=0.5, motion=2.5, similarity=0.99, fps=25, kbps=60)
    assert verdicts(monitor, [starved] * 10)[-1] == HealthState.DEGRADED
    monitor = learnt_monitor()
    quieter = Features(luma=90, uniform=0.2, sharpness=0.5, motion=2.5, similarity=0.99, fps=24, kbps=300)
    assert verdicts(monitor, [quieter] * 30) == [None] * 30, "half the usual bitrate is still normal"


def test_without_a_learnt_normal_only_absolute_faults_are_judged() -> None:
    monitor = PictureMonitor(T)
    assert verdicts(monitor, [healthy(sharpness=0.01, similarity=None)] * 5) == [None] * 5
    fresh = PictureMonitor(T)
    still = healthy(motion=0.0)
    assert verdicts(fresh, [still] * 3)[-1] == HealthState.FROZEN, "an exactly repeated picture is frozen"


def test_a_baseline_survives_a_round_trip_through_storage() -> None:
    monitor = learnt_monitor()
    restored = PictureMonitor(T, Baseline.from_dict(monitor.baseline.to_dict()))
    assert restored.learnt and restored.reference_ready
    assert restored.baseline.motion.mean == pytest.approx(2.5)
    assert verdicts(restored, [healthy(motion=0.4)] * 3)[-1] == HealthState.FROZEN


def test_the_reference_learns_from_healthy_keyframes_then_only_follows_slow_change() -> None:
    monitor = PictureMonitor(T)
    weights = []
    for _ in range(T.learn_samples):
        frame = healthy(similarity=None)
        monitor.observe(frame)
        weights.append(monitor.reference_weight(frame))
        monitor.took_reference()
    assert weights == [1 / (i + 1) for i in range(T.learn_samples)], "a running mean"
    matching = healthy(similarity=0.97)
    monitor.observe(matching)
    assert monitor.reference_weight(matching) == T.reference_rate
    doubtful = healthy(similarity=0.85)
    monitor.observe(doubtful)
    assert monitor.reference_weight(doubtful) is None


# ---------------------------------------------------------------- on real keyframes


@pytest.fixture(scope="module")
def keyframes(tmp_path_factory: pytest.TempPathFactory) -> dict[Scene, list[features.Gray]]:
    """The keyframes' luma of each simulated scene, encoded and decoded for real."""
    spec = spec_for(320, 176)
    cache = tmp_path_factory.mktemp("loops")
    found: dict[Scene, list[features.Gray]] = {}
    for scene in (
        Scene.CORRIDOR,
        Scene.DARK,
        Scene.MOVING,
        Scene.STILL,
        Scene.BLURRED,
        Scene.YARD,
        Scene.BLACK,
    ):
        loop = load_loop(scene, spec, cache)
        decoder = av.CodecContext.create("h264", "r")
        pictures = []
        for index in loop.keyframes:
            for frame in decoder.decode(av.Packet(loop.access_units[index])):
                pictures.append(luma_of(frame).copy())
        found[scene] = pictures
    return found


def run(scene_frames: Iterator[features.Gray], monitor: PictureMonitor, reference: features.Floats | None):
    previous = None
    seen: list[HealthState] = []
    for luma in scene_frames:
        work = features.prepare(luma, 320)
        measured = features.measure(work, previous, reference if monitor.reference_ready else None)
        verdict = monitor.observe(measured)
        weight = monitor.reference_weight(measured)
        if weight is not None:
            reference = features.blend(reference, work.thumb, weight)
            if not monitor.reference_ready:
                monitor.took_reference()
        if verdict is not None:
            seen.append(verdict.condition)
        previous = work.luma
    return seen, reference


@pytest.mark.parametrize("base", [Scene.CORRIDOR, Scene.DARK, Scene.MOVING])
def test_real_scenes_raise_nothing_while_healthy_and_each_fault_once(
    keyframes: dict[Scene, list[features.Gray]], base: Scene
) -> None:
    monitor = PictureMonitor(T)
    seen, reference = run(islice(cycle(keyframes[base]), 60), monitor, None)
    assert seen == [], f"the {base.value} scene raised {seen} while healthy"
    for fault, expected in (
        (Scene.BLACK, HealthState.BLACK),
        (Scene.STILL, HealthState.FROZEN),
        (Scene.BLURRED, HealthState.COVERED),
        (Scene.YARD, HealthState.MOVED),
    ):
        seen, reference = run(islice(cycle(keyframes[fault]), 8), monitor, reference)
        assert seen == [expected], f"{fault.value} on a {base.value} camera gave {seen}"
        seen, reference = run(islice(cycle(keyframes[base]), 6), monitor, reference)
        assert seen == [HealthState.OK]


def test_the_reference_thumbnail_is_small_and_grey(keyframes: dict[Scene, list[features.Gray]]) -> None:
    work = features.prepare(keyframes[Scene.CORRIDOR][0], 320)
    encoded = features.encode_reference(work.thumb)
    decoded = features.decode_reference(encoded)
    assert decoded is not None and decoded.shape == (44, 80)
    assert len(encoded) < 8_000


# ---------------------------------------------------------------- the link


def link_assessment(**overrides: object) -> HealthState:
    values: dict[str, object] = {
        "recorder": LinkStatus.ONLINE,
        "recorder_reason": NONE,
        "analyser": LinkStatus.ONLINE,
        "analyser_reason": NONE,
        "picture": HealthState.OK,
        "picture_reason": NONE,
        "recording": True,
    }
    values.update(overrides)
    return assess(**values).state  # type: ignore[arg-type]


def test_either_connection_losing_the_camera_makes_it_offline_at_once() -> None:
    assert link_assessment() == HealthState.OK
    assert link_assessment(recorder=LinkStatus.OFFLINE, picture=HealthState.BLACK) == HealthState.OFFLINE
    assert link_assessment(recorder=LinkStatus.AUTH_FAILED) == HealthState.AUTH_FAILED
    assert link_assessment(analyser=LinkStatus.OFFLINE, lost_while_recorded_s=3) == HealthState.OFFLINE
    assert link_assessment(recording=False, recorder=LinkStatus.OFFLINE) == HealthState.OK
    assert link_assessment(recording=False, analyser=LinkStatus.AUTH_FAILED) == HealthState.AUTH_FAILED


def test_an_analysis_stream_lost_while_recording_goes_on_is_degraded_not_a_stale_verdict() -> None:
    state = link_assessment(
        analyser=LinkStatus.OFFLINE, picture=HealthState.BLACK, lost_while_recorded_s=25, grace_s=20
    )
    assert state == HealthState.DEGRADED
    assert link_assessment(recorder=LinkStatus.DEGRADED) == HealthState.DEGRADED
    assert link_assessment(recorder=LinkStatus.DEGRADED, picture=HealthState.FROZEN) == HealthState.FROZEN
    assert link_assessment(recorder=LinkStatus.UNKNOWN, analyser=LinkStatus.UNKNOWN) == HealthState.UNKNOWN
    lost = link_assessment(analyser=LinkStatus.LOST, picture=HealthState.BLACK)
    assert lost == HealthState.DEGRADED, "a dead analysis worker is loud, and no camera is called offline"
    assert link_assessment(analyser=LinkStatus.LOST, recording=False) == HealthState.DEGRADED


def test_recorder_statuses_become_link_states_and_catalog_reasons() -> None:
    assert recorder_link("stopped") is None and recorder_link("connecting") is None
    assert recorder_link("unsupported") == LinkStatus.OFFLINE
    assert recorder_reason("offline", "connection refused") == Reason("link_refused")
    assert recorder_reason("degraded", "x", {"fps": 6.0, "nominal": 25}).code == "fps_low"
    assert recorder_reason("offline", "stream error: EOF").params == {"detail": "stream error: EOF"}


# ---------------------------------------------------------------- uptime and incidents

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_uptime_clips_periods_to_the_range_and_counts_the_uncovered_time_as_unknown() -> None:
    periods = [
        Period(HealthState.OK, at(-30), at(10)),
        Period(HealthState.OFFLINE, at(10), at(20)),
        Period(HealthState.COVERED, at(20), at(25)),
        Period(HealthState.OK, at(25), None),
    ]
    figures = uptime(periods, at(0), at(60), now=at(50))
    assert (figures.up_s, figures.down_s, figures.impaired_s, figures.unknown_s) == (2100, 600, 300, 0)
    assert figures.uptime_pct == pytest.approx(70.0), "the future is not counted"
    assert figures.availability_pct == pytest.approx(80.0)
    late = uptime([Period(HealthState.OK, at(30), None)], at(0), at(60), now=at(60))
    assert (late.up_s, late.unknown_s) == (1800, 1800)
    assert uptime([], at(0), at(60), now=at(60)).uptime_pct is None


def test_closing_needs_a_repair_and_after_the_fallback_time_a_fallback_measure() -> None:
    thirty = timedelta(minutes=30)
    assert close_missing(has_repair=False, has_fallback=False, outage_time=thirty, fallback_after=thirty) == [
        "repair"
    ]
    long = timedelta(minutes=31)
    assert close_missing(has_repair=True, has_fallback=False, outage_time=long, fallback_after=thirty) == [
        "fallback"
    ]
    assert close_missing(has_repair=True, has_fallback=True, outage_time=long, fallback_after=thirty) == []
    assert outage(at(0), at(12), now=at(600)) == timedelta(minutes=12), "confirming late does not count"
    assert outage(at(0), None, now=at(45)) == timedelta(minutes=45)


def test_credentials_stay_in_the_url_for_ffmpeg_and_out_of_every_report() -> None:
    from wardwatch.health.messages import WatchJob
    from wardwatch.health.watch import describe_failure

    job = WatchJob("cam", "rtsp://10.0.0.5:554/sub", "admin", "p@ss:w/rd")
    assert "p@ss" not in repr(job)
    assert job.authenticated_url() == "rtsp://admin:p%40ss%3Aw%2Frd@10.0.0.5:554/sub"
    url = job.authenticated_url()
    assert describe_failure(OSError(111, "Connection refused", url)) == (
        LinkStatus.OFFLINE,
        Reason("link_refused"),
    )
    status, reason = describe_failure(OSError(5, "Input/output error", url))
    assert status == LinkStatus.OFFLINE and reason == Reason("link_other", {"detail": "Input/output error"})
