"""Builders for the access-wing tests: a register, doors, an operating room and terminals.

Facility A (medical aesthetics, Asia/Ho_Chi_Minh, UTC+7) has an operating room ``OR 1``
entered through one operating-room door, and a surgical-area entrance; facility B has an
operating-room door of its own. The register of province A holds a lead surgeon, an
anaesthetist whose licence ends today, a nurse, an administrator (profession ``other``)
and a suspended surgeon.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from support import World, build_world
from wardwatch.api.app import create_app
from wardwatch.kernel.outbox import outbox

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
"""10:00 on 10 March 2026 in Ho Chi Minh City."""

REGISTER_CSV = """licence_number,person_id,name,profession,scopes,lead_physician,valid_from,valid_to,status
CCHN-001,P-SURG,Nguyễn Văn An,surgeon,Cosmetic surgery|general surgery,yes,2020-01-01,,active
CCHN-002,P-ANA,Trần Thị Bình,anaesthetist,anaesthesia,no,2019-05-01,2026-03-10,active
CCHN-003,P-NURSE,Lê Thị Cúc,nurse,,no,2021-01-01,,active
CCHN-004,P-ADMIN,Phạm Văn Dũng,other,,no,2021-01-01,,active
CCHN-005,P-SUSP,Hoàng Văn Em,surgeon,cosmetic surgery,yes,2018-01-01,,suspended
"""


def with_field(csv_text: str, licence: str, column: str, value: str) -> str:
    """The register CSV with one practitioner's field changed."""
    lines = csv_text.splitlines()
    header = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[0] == licence:
            cells[header.index(column)] = value
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def access_world(tmp_path: Path, database_url: str, now: datetime = NOW, **overrides: Any) -> World:
    world = build_world(tmp_path / "data", database_url, now, auth={"mfa_required_roles": []}, **overrides)
    world.add_user("prov_sup_a", "supervisor", "prov_a")
    world.add_user("sup_a", "facility_supervisor", "fac_a")
    world.add_user("legal_a", "legal_representative", "fac_a")
    world.add_user("installer_a", "installer", "fac_a")
    world.add_user("op_a", "duty_operator", "fac_a")
    world.add_user("sup_b", "facility_supervisor", "fac_b")
    with world.client("admin") as admin:
        for key, zone, kind in (
            ("door_or", "fac_a_ordoor", "operating_room_door"),
            ("door_or2", "fac_a_ordoor", "operating_room_door"),
            ("door_sa", "fac_a_corridor", "surgical_area_entrance"),
            ("door_fe", "fac_a_corridor", "facility_entrance"),
            ("door_b", "fac_b_ordoor", "operating_room_door"),
        ):
            made = admin.post("/api/v1/doors", json={"zone_id": world.ids[zone], "name": key, "kind": kind})
            assert made.status_code == 201, made.text
            world.ids[key] = made.json()["id"]
        room = admin.post(
            f"/api/v1/facilities/{world.ids['fac_a']}/operating-rooms",
            json={"name": "OR 1", "door_ids": [world.ids["door_or"]]},
        )
        assert room.status_code == 201, room.text
        world.ids["room"] = room.json()["id"]
        room_b = admin.post(
            f"/api/v1/facilities/{world.ids['fac_b']}/operating-rooms",
            json={"name": "OR B", "door_ids": [world.ids["door_b"]]},
        )
        world.ids["room_b"] = room_b.json()["id"]
    return world


def import_register(
    world: World,
    username: str,
    node_key: str,
    body: str | bytes,
    *,
    mode: str = "incremental",
    content_type: str = "text/csv",
) -> Any:
    with world.client(username) as client:
        return client.post(
            f"/api/v1/org/nodes/{world.ids[node_key]}/practitioners/imports",
            params={"mode": mode, "filename": "register.csv"},
            content=body.encode() if isinstance(body, str) else body,
            headers={"content-type": content_type},
        )


def make_terminal(
    world: World, serial: str, door_keys: list[str], facility: str = "fac_a"
) -> tuple[str, str]:
    """(terminal id, bearer token) of a new terminal registered by the installer (or admin for B)."""
    username = "installer_a" if facility == "fac_a" else "admin"
    with world.client(username) as client:
        made = client.post(
            "/api/v1/terminals",
            json={
                "facility_id": world.ids[facility],
                "serial_number": serial,
                "name": f"Terminal {serial}",
                "door_ids": [world.ids[k] for k in door_keys],
            },
        )
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["token"]


@contextmanager
def device(world: World, token: str) -> Iterator[TestClient]:
    app = create_app(world.container, manage_lifecycle=False)
    with TestClient(
        app, headers={"authorization": f"Bearer {token}"}, raise_server_exceptions=False
    ) as client:
        yield client


def door_event(world: World, serial: int, door_key: str = "door_or", **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "serial": serial,
        "time": (NOW - timedelta(minutes=2) + timedelta(seconds=serial)).isoformat(),
        "door_id": world.ids[door_key],
        "person_id": "P-SURG",
        "verify_mode": "face",
        "result": "granted",
        "direction": "in",
    }
    event.update(fields)
    return event


def bus_events(world: World, event_type: str) -> list[dict[str, Any]]:
    """Payloads of the events of a type written to the outbox, oldest first."""
    with world.container.db.read() as conn:
        rows = conn.execute(
            select(outbox.c.body).where(outbox.c.type == event_type).order_by(outbox.c.id)
        ).all()
    return [json.loads(r.body)["payload"] for r in rows]


def audit_actions(world: World) -> list[tuple[str, str]]:
    with world.container.db.read() as conn:
        entries = world.container.audit.search(conn, scopes=None, limit=1000)
    return [(e.action, e.outcome) for e in entries]


def events_world(tmp_path: Path, database_url: str) -> World:
    """The world of the door-event tests: the register on record from the day before, and
    terminal ZK-0001 on the operating-room and surgical-area doors."""
    world = access_world(tmp_path, database_url)
    world.clock.set(NOW - timedelta(days=1))
    assert import_register(world, "prov_sup_a", "prov_a", REGISTER_CSV).status_code == 201
    world.clock.set(NOW)
    world.ids["terminal"], world.ids["token"] = make_terminal(world, "ZK-0001", ["door_or", "door_sa"])
    return world
