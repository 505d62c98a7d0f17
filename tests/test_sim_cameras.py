"""Simulated cameras over real RTSP (GStreamer) decoded by real FFmpeg (PyAV).

Small pictures keep the loops quick to encode; everything else is what the demo and the
benchmarks use: per-camera ports, spliced wall clocks, SEI capture times and every fault.
"""

from __future__ import annotations

import itertools
import json
import socket
import time
import urllib.request
from collections.abc import Iterator

import av
import numpy as np
import pytest

from wardwatch.sim.control import ControlServer
from wardwatch.sim.faults import Fault
from wardwatch.sim.fleet import fleet
from wardwatch.sim.scenes import STRIP_ROWS
from wardwatch.sim.sei import read_frame_time
from wardwatch.sim.server import CameraFarm

SIZE = (320, 176)


def free_base_port(count: int) -> int:
    for base in range(21000, 40000, 97):
        sockets = []
        try:
            for port in range(base - 1, base + count):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CameraFarm, ControlServer]]:
    base = free_base_port(3)
    configs = fleet(2, base, main=SIZE, sub=(160, 96), scene="corridor")
    configs += fleet(
        1,
        base + 2,
        main=SIZE,
        sub=None,
        scene="corridor",
        credentials=("viewer", "s3cret"),
        names=["secure-cam"],
        first_index=2,
    )
    farm = CameraFarm(configs, tmp_path_factory.mktemp("loops"))
    farm.prepare()
    farm.start()
    control = ControlServer(farm, base - 1)
    control.start()
    yield farm, control
    control.stop()
    farm.stop()


def open_stream(url: str) -> av.container.InputContainer:
    return av.open(url, options={"rtsp_transport": "tcp"}, timeout=(5, 3))


def frames(url: str, count: int) -> list[np.ndarray]:
    with open_stream(url) as container:
        out = []
        for frame in container.decode(video=0):
            out.append(frame.to_ndarray(format="gray"))
            if len(out) == count:
                return out
    raise AssertionError("stream ended early")


def set_fault(control: ControlServer, index: int, fault: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{control.port}/cameras/{index}/fault",
        data=json.dumps({"fault": fault}).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@pytest.fixture(autouse=True)
def healthy(farm) -> Iterator[None]:
    yield
    _, control = farm
    for index in range(3):
        set_fault(control, index, "healthy")


def test_cameras_stream_h264_with_a_burned_in_clock_and_capture_times(farm) -> None:
    farm_, _ = farm
    url = farm_.cameras[0].config.url("main")
    with open_stream(url) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.width) == ("h264", SIZE[0])
        stamps, pictures = [], []
        for packet in container.demux(stream):
            stamp = read_frame_time(bytes(packet))
            if stamp is not None:
                stamps.append(stamp)
            pictures += [f.to_ndarray(format="gray") for f in packet.decode()]
            if len(pictures) >= 40:
                break
    assert len(stamps) >= 30 and stamps == sorted(stamps)
    assert abs(stamps[-1] / 1e6 - time.time()) < 5
    strip = pictures[-1][:STRIP_ROWS]
    assert (strip > 200).sum() > 50, "the clock text is drawn in the top band"
    assert pictures[-1][STRIP_ROWS:].mean() > 60, "the scene is below it"
    sub = frames(farm_.cameras[0].config.url("sub"), 3)
    assert sub[0].shape == (96, 160)


def test_static_corridor_is_noisy_not_frozen_and_freeze_repeats_the_picture(farm) -> None:
    farm_, control = farm
    url = farm_.cameras[1].config.url("main")
    live = frames(url, 10)
    body = [f[STRIP_ROWS:].astype(int) for f in live]
    assert any(np.abs(a - b).mean() > 0.5 for a, b in itertools.pairwise(body))
    assert set_fault(control, 1, "freeze") == 200
    frozen = frames(url, 30)[-10:]
    assert all(np.array_equal(frozen[0], f) for f in frozen[1:]), "the whole picture, clock included, repeats"


def test_black_covered_and_moved_change_what_the_camera_sees(farm) -> None:
    farm_, control = farm
    url = farm_.cameras[0].config.url("main")
    healthy = frames(url, 5)[-1][STRIP_ROWS:].astype(float)

    def sharpness(image: np.ndarray) -> float:
        return float(np.abs(np.diff(image, axis=1)).mean() + np.abs(np.diff(image, axis=0)).mean())

    set_fault(control, 0, "black")
    black = frames(url, 5)[-1][STRIP_ROWS:]
    assert black.mean() < 20
    set_fault(control, 0, "covered")
    covered = frames(url, 5)[-1][STRIP_ROWS:].astype(float)
    assert sharpness(covered) < 0.5 * sharpness(healthy)
    set_fault(control, 0, "moved")
    moved = frames(url, 5)[-1][STRIP_ROWS:].astype(float)
    assert np.abs(moved - healthy).mean() > 20
    set_fault(control, 0, "healthy")
    back = frames(url, 5)[-1][STRIP_ROWS:].astype(float)
    assert np.abs(back - healthy).mean() < 8


def test_stop_refuses_connections_and_stall_sends_nothing(farm) -> None:
    farm_, control = farm
    camera = farm_.cameras[1].config
    set_fault(control, 1, "stop")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", camera.port), 2):
        pass
    set_fault(control, 1, "healthy")
    assert len(frames(camera.url("main"), 3)) == 3
    set_fault(control, 1, "stall")
    socket.create_connection(("127.0.0.1", camera.port), 2).close()  # accepted...
    started = time.monotonic()
    with pytest.raises(av.error.FFmpegError):  # ...but no media arrives
        frames(camera.url("main"), 1)
    assert time.monotonic() - started >= 2.5


def test_a_camera_stopped_and_healed_again_and_again_serves_each_time(farm) -> None:
    farm_, control = farm
    camera = farm_.cameras[0].config
    for _ in range(4):
        with open_stream(camera.url("main")) as container:  # a viewer connected when it stops
            next(container.demux(video=0))
            set_fault(control, 0, "stop")
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", camera.port), 2):
            pass
        set_fault(control, 0, "healthy")
        deadline = time.monotonic() + 15
        while True:  # the old listening socket may take a moment to be released
            try:
                assert len(frames(camera.url("main"), 2)) == 2
                break
            except (ConnectionRefusedError, av.error.FFmpegError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def test_credentials_are_required_and_wrong_credentials_answer_401(farm) -> None:
    farm_, control = farm
    config = farm_.cameras[2].config
    with pytest.raises(av.error.HTTPUnauthorizedError):
        open_stream(config.url("main"))
    good = config.url("main").replace("rtsp://", "rtsp://viewer:s3cret@")
    assert len(frames(good, 2)) == 2
    set_fault(control, 2, "wrong_credentials")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        open_stream(good)
    set_fault(control, 2, "healthy")
    assert len(frames(good, 2)) == 2


def test_control_api_lists_cameras_and_refuses_bad_requests(farm) -> None:
    _, control = farm
    with urllib.request.urlopen(f"http://127.0.0.1:{control.port}/cameras", timeout=5) as response:
        cameras = json.loads(response.read())
    assert [c["name"] for c in cameras] == ["cam-00", "cam-01", "secure-cam"]
    assert cameras[0]["fault"] == Fault.HEALTHY.value and cameras[2]["credentials"] is True
    assert set_fault(control, 0, "on-fire") == 422
    assert set_fault(control, 7, "black") == 404
