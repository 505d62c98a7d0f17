"""Live view over a real server: fMP4 over WebSocket from simulated RTSP cameras, and snapshots.

One world per database backend serves the API with uvicorn for the whole module, so the
WebSocket handshakes, close codes and Origin headers are real ones. The cameras: a healthy
one with a sub stream, the same camera registered without one, a camera whose password
the registry holds wrongly, a VP8 camera, and an address where nothing listens.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest
import uvicorn
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from conftest import make_database
from support import PASSWORD, build_world, ready_camera_body, wait_for
from test_sim_cameras import free_base_port
from wardwatch.api.app import create_app
from wardwatch.audit import store as audit_store
from wardwatch.authz.schemas import TokenCreate
from wardwatch.media import store as media_store
from wardwatch.media.fmp4 import AvcConfig, Fragment, parse_sps
from wardwatch.media.live import LiveHub, LiveSource, Subscription
from wardwatch.media.live_frames import Frame, InitSegment, StreamInfo
from wardwatch.sim.fleet import fleet
from wardwatch.sim.pattern import PatternCamera
from wardwatch.sim.server import CameraFarm

SIZE = (320, 176)
SUB = (160, 96)
HEADER = struct.Struct(">BQQ")
TIMEOUT = 30.0


class Server:
    """The API under uvicorn in a thread, on a port of its own."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", ws="websockets-sansio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        wait_for(lambda: self.server.started or not self.thread.is_alive(), TIMEOUT, "uvicorn to start")
        assert self.server.started, "uvicorn did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    backend = request.param
    base = free_base_port(4)
    configs = fleet(1, base, main=SIZE, sub=SUB, scene="corridor", names=["steady"])
    configs += fleet(
        1, base + 1, main=SIZE, sub=None, scene="corridor", credentials=("viewer", "pw1"), names=["locked"]
    )
    farm = CameraFarm(configs, tmp_path_factory.mktemp("loops"))
    farm.prepare()
    farm.start()
    vp8 = PatternCamera(base + 2, "vp8")
    vp8.start()
    directory = tmp_path_factory.mktemp(f"live-{backend}")
    template = request.getfixturevalue("sqlite_template") if backend == "sqlite" else None
    url, drop = make_database(backend, directory / "data", template)
    world = build_world(directory / "data", url, datetime.now(UTC).replace(microsecond=0))
    world.add_user("op_a", "duty_operator", "fac_a")
    world.add_user("legal_a", "legal_representative", "fac_a")
    world.add_user("op_b", "duty_operator", "fac_b")
    steady, locked = configs
    bodies = {
        "steady": {"main_url": steady.url("main"), "sub_url": steady.url("sub")},
        "main_only": {"main_url": steady.url("main"), "sub_url": None},
        "locked": {
            "main_url": locked.url("main"),
            "sub_url": None,
            "username": "viewer",
            "password": "wrong",
        },
        "vp8": {"main_url": vp8.url, "sub_url": None},
        "gone": {"main_url": f"rtsp://127.0.0.1:{base + 3}/main", "sub_url": None},
        "draft": {"main_url": steady.url("main"), "sub_url": steady.url("sub")},
    }
    cameras: dict[str, str] = {}
    with world.client("admin") as admin:
        for name, body in bodies.items():
            created = admin.post(
                "/api/v1/cameras", json=ready_camera_body(world.ids["fac_a_corridor"], name=name, **body)
            )
            assert created.status_code == 201, created.text
            cameras[name] = created.json()["id"]
            if name != "draft":
                activated = admin.post(f"/api/v1/cameras/{cameras[name]}/activate")
                assert activated.status_code == 200, activated.text
    hub = world.container.live
    hub.linger_s = 1.0
    tokens = {name: world.token(name) for name in ("op_a", "legal_a", "op_b", "admin")}
    with Server(create_app(world.container, manage_lifecycle=False)) as server:
        yield {"world": world, "cameras": cameras, "server": server, "hub": hub, "tokens": tokens}
    world.container.close()
    vp8.stop()
    farm.stop()
    drop()


def open_live(
    live: dict[str, Any], camera: str, *, user: str | None = "op_a", query: str = "", **headers: str
) -> ClientConnection:
    if user is not None:
        headers["authorization"] = f"Bearer {live['tokens'][user]}"
    path = f"/api/v1/cameras/{live['cameras'].get(camera, camera)}/live{query}"
    # An unbounded client queue: a test that stops reading must still see the server's close.
    return connect(live["server"].ws(path), additional_headers=headers, open_timeout=TIMEOUT, max_queue=None)


def read_stream(
    ws: ClientConnection, fragments: int
) -> tuple[dict[str, Any], list[tuple[int, int, int, bytes]]]:
    """The init message and the binary messages up to ``fragments`` media fragments."""
    init = json.loads(ws.recv(timeout=TIMEOUT))
    messages: list[tuple[int, int, int, bytes]] = []
    while sum(1 for m in messages if m[0] == 1) < fragments:
        data = ws.recv(timeout=TIMEOUT)
        assert isinstance(data, bytes), f"expected video, got {data!r}"
        kind, capture_us, decode_us = HEADER.unpack_from(data)
        messages.append((kind, capture_us, decode_us, data[HEADER.size :]))
    return init, messages


def refusal(ws: ClientConnection) -> tuple[int, str]:
    """The close code and reason of a refused handshake (nothing is sent before the close)."""
    with ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


def final_status(ws: ClientConnection) -> dict[str, Any]:
    status = json.loads(ws.recv(timeout=TIMEOUT))
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    return dict(status)


def audit_entries(live: dict[str, Any], action: str) -> list[Any]:
    with live["world"].container.db.read() as conn:
        rows = conn.execute(select(audit_store.entries).where(audit_store.entries.c.action == action)).all()
    return [(row, json.loads(row.details)) for row in rows]


def view_session(live: dict[str, Any], session_id: str) -> Any:
    with live["world"].container.db.read() as conn:
        return conn.execute(
            select(media_store.view_sessions).where(media_store.view_sessions.c.id == session_id)
        ).first()


def test_a_viewer_gets_fragments_that_decode_in_order_inside_an_audited_session(live: dict[str, Any]) -> None:
    with open_live(live, "steady", query="?variant=main") as ws:
        init, messages = read_stream(ws, 30)
        received_us = time.time_ns() // 1000
    assert init["type"] == "init" and init["camera_id"] == live["cameras"]["steady"]
    assert (init["variant"], init["width"], init["height"]) == ("main", *SIZE)
    assert init["codec"].startswith("avc1.") and init["mime"] == f'video/mp4; codecs="{init["codec"]}"'
    kinds = [m[0] for m in messages]
    assert kinds[0] == 0 and set(kinds[1:]) == {1}
    media = [m for m in messages if m[0] == 1]
    captures = [m[1] for m in media]
    decodes = [m[2] for m in media]
    assert captures == sorted(set(captures)), "capture times increase"
    assert captures[-1] <= received_us, "a frame is not captured after it is received"
    assert decodes[0] == 0 and decodes == sorted(set(decodes)), "decode times count from the session start"
    stream = b"".join(m[3] for m in messages)
    with av.open(io.BytesIO(stream)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == len(media)
    assert {(f.width, f.height) for f in frames} == {SIZE}
    assert frames[0].key_frame, "the first fragment is a keyframe"
    assert [f.pts for f in frames] == sorted({f.pts for f in frames})

    session = wait_for(
        lambda: (s := view_session(live, init["session_id"])) and s.ended_at and s, 20, "close"
    )
    assert (session.kind, session.camera_id, session.user_id) == (
        "live",
        live["cameras"]["steady"],
        live["world"].users["op_a"],
    )
    opened = [e for e, d in audit_entries(live, "footage.live.open") if d["session_id"] == session.id]
    closed = [d for _, d in audit_entries(live, "footage.live.close") if d["session_id"] == session.id]
    assert len(opened) == 1 and opened[0].actor_name == "op_a" and opened[0].object_id == session.camera_id
    assert len(closed) == 1 and closed[0]["ended_by"] == "viewer" and closed[0]["variant_served"] == "main"


def test_two_viewers_share_one_puller_and_it_stops_after_they_leave(live: dict[str, Any]) -> None:
    hub: LiveHub = live["hub"]
    camera = live["cameras"]["steady"]
    with (
        open_live(live, "steady", query="?variant=sub") as first,
        open_live(live, "steady", user="admin") as second,
    ):
        one, _ = read_stream(first, 3)
        two, _ = read_stream(second, 3)
        assert hub.pullers()[(camera, "sub")] == 2
        assert (one["width"], one["height"]) == SUB and one["variant"] == "sub"
        assert one["session_id"] != two["session_id"]
    wait_for(lambda: (camera, "sub") not in hub.pullers(), 30, "the idle puller to stop")


def test_sub_falls_back_to_main_when_the_camera_has_none(live: dict[str, Any]) -> None:
    with open_live(live, "main_only", query="?variant=sub") as ws:
        init, _ = read_stream(ws, 1)
    assert (init["variant"], init["width"], init["height"]) == ("main", *SIZE)


def test_handshakes_without_credentials_or_with_bad_input_are_refused(live: dict[str, Any]) -> None:
    assert refusal(open_live(live, "steady", user=None)) == (1008, "unauthenticated")
    assert refusal(open_live(live, "steady", user=None, authorization="Bearer nope")) == (
        1008,
        "unauthenticated",
    )
    assert refusal(open_live(live, "steady", query="?variant=huge")) == (1008, "live_variant_invalid")
    assert refusal(open_live(live, "01ZZZZZZZZZZZZZZZZZZZZZZZZ")) == (1008, "not_found")


def test_a_session_cookie_needs_this_site_as_origin(live: dict[str, Any]) -> None:
    server: Server = live["server"]
    with httpx.Client(base_url=server.http) as client:
        login = client.post("/api/v1/auth/login", json={"username": "op_a", "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    here = f"http://127.0.0.1:{server.port}"
    with open_live(live, "steady", user=None, cookie=cookie, origin=here) as ws:
        init, _ = read_stream(ws, 1)
        assert init["type"] == "init"
    before = len(audit_entries(live, "websocket.origin"))
    evil = open_live(live, "steady", user=None, cookie=cookie, origin="http://evil.example")
    assert refusal(evil) == (1008, "origin_mismatch")
    assert refusal(open_live(live, "steady", user=None, cookie=cookie)) == (1008, "origin_mismatch")
    other_port = open_live(
        live, "steady", user=None, cookie=cookie, origin=f"http://127.0.0.1:{server.port + 1}"
    )
    assert refusal(other_port) == (1008, "origin_mismatch")
    # A foreign page learns nothing from the reason: without the cookie it reads the same.
    assert refusal(open_live(live, "steady", user=None, origin="http://evil.example")) == (
        1008,
        "origin_mismatch",
    )
    denied = audit_entries(live, "websocket.origin")[before:]
    assert len(denied) == 3 and {e.outcome for e, _ in denied} == {"denied"}
    assert {e.actor_name for e, _ in denied} == {"op_a"}


def test_a_user_without_the_permission_is_refused_and_audited(live: dict[str, Any]) -> None:
    assert refusal(open_live(live, "steady", user="legal_a")) == (1008, "permission_denied")
    denied = [
        (e, d)
        for e, d in audit_entries(live, "camera.view_live")
        if e.actor_name == "legal_a" and e.outcome == "denied"
    ]
    assert denied and denied[-1][1]["method"] == "WEBSOCKET"


def test_a_camera_not_yet_active_is_shown_only_to_those_who_commission_cameras(live: dict[str, Any]) -> None:
    assert refusal(open_live(live, "draft")) == (1008, "camera_not_active")
    with httpx.Client(base_url=live["server"].http) as client:
        refused = client.get(
            f"/api/v1/cameras/{live['cameras']['draft']}/snapshot",
            headers={"authorization": f"Bearer {live['tokens']['op_a']}"},
        )
        assert refused.status_code == 409 and refused.json()["code"] == "camera_not_active"
    with open_live(live, "draft", user="admin") as ws:  # registry.edit: checking placement
        init, _ = read_stream(ws, 2)
    opened = [d for _, d in audit_entries(live, "footage.live.open") if d["session_id"] == init["session_id"]]
    assert opened[0]["commissioning"] is True and opened[0]["camera_status"] == "draft"


def test_a_user_of_another_facility_does_not_find_the_camera(live: dict[str, Any]) -> None:
    assert refusal(open_live(live, "steady", user="op_b")) == (1008, "not_found")
    with httpx.Client(base_url=live["server"].http) as client:
        answer = client.get(
            f"/api/v1/cameras/{live['cameras']['steady']}/snapshot",
            headers={"authorization": f"Bearer {live['tokens']['op_b']}"},
        )
    assert answer.status_code == 404


def test_a_vp8_camera_is_refused_naming_the_codec(live: dict[str, Any]) -> None:
    with open_live(live, "vp8", query="?lang=en") as ws:
        status = final_status(ws)
    assert status["type"] == "status" and status["status"] == "unsupported"
    assert "vp8" in status["reason"]
    with httpx.Client(base_url=live["server"].http) as client:
        answer = client.get(
            f"/api/v1/cameras/{live['cameras']['vp8']}/snapshot",
            headers={"authorization": f"Bearer {live['tokens']['op_a']}"},
        )
    assert answer.status_code == 422 and answer.json()["codec"] == "vp8"
    assert "vp8" in answer.json()["detail"]


def test_an_unreachable_camera_reports_offline_with_the_reason(live: dict[str, Any]) -> None:
    with open_live(live, "gone", query="?lang=en") as ws:
        status = final_status(ws)
    assert status == {"type": "status", "status": "offline", "reason": "the camera refused the connection"}
    with httpx.Client(base_url=live["server"].http) as client:
        answer = client.get(
            f"/api/v1/cameras/{live['cameras']['gone']}/snapshot?lang=vi",
            headers={"authorization": f"Bearer {live['tokens']['op_a']}"},
        )
    assert answer.status_code == 503
    assert answer.json()["code"] == "camera_offline" and "camera từ chối kết nối" in answer.json()["detail"]


def test_wrong_camera_credentials_report_auth_failed(live: dict[str, Any]) -> None:
    with open_live(live, "locked") as ws:
        status = final_status(ws)
    assert status["status"] == "auth_failed" and status["reason"]


def test_a_snapshot_is_a_decodable_jpeg_of_the_camera_and_is_audited(live: dict[str, Any]) -> None:
    camera = live["cameras"]["steady"]
    headers = {"authorization": f"Bearer {live['tokens']['op_a']}"}
    with httpx.Client(base_url=live["server"].http, headers=headers, timeout=TIMEOUT) as client:
        full = client.get(f"/api/v1/cameras/{camera}/snapshot")
        small = client.get(f"/api/v1/cameras/{camera}/snapshot", params={"width": 160})
        refused = client.get(
            f"/api/v1/cameras/{camera}/snapshot",
            headers={"authorization": f"Bearer {live['tokens']['legal_a']}"},
        )
    assert full.status_code == 200, full.text
    assert full.headers["content-type"] == "image/jpeg" and full.headers["cache-control"] == "no-store"
    image = cv2.imdecode(np.frombuffer(full.content, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (SIZE[1], SIZE[0], 3)
    assert float(image.std()) > 1.0, "a real picture, not a blank one"
    scaled = cv2.imdecode(np.frombuffer(small.content, np.uint8), cv2.IMREAD_COLOR)
    assert scaled.shape == (88, 160, 3)
    assert refused.status_code == 403
    looks = [
        (e, d)
        for e, d in audit_entries(live, "footage.snapshot")
        if e.object_id == camera and e.outcome == "success"
    ]
    assert len(looks) >= 2 and {e.actor_name for e, _ in looks} == {"op_a"}
    for _, details in looks:
        session = view_session(live, details["session_id"])
        assert session.kind == "snapshot" and session.ended_at is not None


def test_a_viewer_whose_access_ends_is_cut_off(live: dict[str, Any]) -> None:
    world = live["world"]
    hub: LiveHub = live["hub"]
    token = world.container.accounts.create_token(
        world.principal("op_a"), TokenCreate(name="live", expires_in_days=1)
    )
    hub.access_recheck_s = 0.5
    try:
        with open_live(
            live, "steady", user=None, authorization=f"Bearer {token.token}", query="?lang=en"
        ) as ws:
            init, _ = read_stream(ws, 1)
            world.container.accounts.revoke_token(world.principal("op_a"), token.id)
            for _ in range(100_000):  # frames until the status (the recheck runs twice a second)
                message = ws.recv(timeout=TIMEOUT)
                if isinstance(message, str):
                    break
            status = json.loads(message)
    finally:
        hub.access_recheck_s = 30.0
    assert status == {"type": "status", "status": "ended", "reason": "your access to this camera has ended"}
    session = wait_for(
        lambda: (s := view_session(live, init["session_id"])) and s.ended_at and s, 20, "close"
    )
    closed = [d for _, d in audit_entries(live, "footage.live.close") if d["session_id"] == session.id]
    assert closed[0]["ended_by"] == "access"


# ---------------------------------------------------------------- the hub without a network


def synthetic_frames(count: int, gop: int) -> list[Frame]:
    sps = bytes.fromhex("6764000dacb60a0bd0800000030080000019078a1570")
    config = AvcConfig((sps,), (bytes.fromhex("68eacf2c"),))
    init = InitSegment(1, b"init", StreamInfo(config.codec, 320, 176), config)
    return [
        Frame(init, Fragment(b"h", b"t"), b"s", i * 3600, 90_000, i % gop == 0, 1_000_000 + i)
        for i in range(count)
    ]


def test_a_slow_subscriber_skips_to_the_next_keyframe_and_never_holds_the_puller() -> None:
    hub = LiveHub(lambda _: None, queue_frames=5)
    subscription = Subscription(hub, LiveSource("c", "f", "main", "rtsp://x"), capacity=5)
    frames = synthetic_frames(40, gop=10)
    for frame in frames[3:35]:
        subscription._offer(frame)  # nobody reads: offering never waits
    first = subscription.get(1)
    assert first.kind == 0
    taken = [subscription.get(1) for _ in range(5)]
    captures = [chunk.capture_us - 1_000_000 for chunk in taken]
    assert captures == [30, 31, 32, 33, 34], "the stale queue went; the viewer resumed at the last keyframe"
    assert subscription.skips >= 1
    assert taken[0].decode_us == 0
    with pytest.raises(TimeoutError):
        subscription.get(0.05)


def test_the_sps_of_a_simulated_camera_reads_back_its_size() -> None:
    info = parse_sps(bytes.fromhex("6764000dacb60a0bd0800000030080000019078a1570"))
    assert (info.profile, info.level, info.width, info.height) == (100, 13, 320, 176)
