"""Builders shared by the tests: a small but realistic world and API clients for its users."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from wardwatch.api.app import create_app
from wardwatch.authz.schemas import TokenCreate
from wardwatch.bootstrap import Container, build_container
from wardwatch.instance import create_first_records
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.clock import FixedClock
from wardwatch.kernel.config import Settings, load_settings
from wardwatch.registry.model import AreaType, FacilityType, OrgKind
from wardwatch.registry.schemas import FacilityCreate, OrgNodeCreate, ZoneCreate

PASSWORD = "Test-password-2026"
TZ = "Asia/Ho_Chi_Minh"


def make_settings(data: Path, database_url: str, **overrides: Any) -> Settings:
    auth = {"argon2_time_cost": 1, "argon2_memory_kib": 1024}
    auth.update(overrides.pop("auth", {}))
    server = {"cookie_secure": False}
    server.update(overrides.pop("server", {}))
    # The retention sweeper would act on the real disk's fill; tests that want it run it.
    media: dict[str, Any] = {"retention": False}
    media.update(overrides.pop("media", {}))
    # Picture analysis spawns a worker process per server; tests that check it ask for it.
    health: dict[str, Any] = {"analysis": False}
    health.update(overrides.pop("health", {}))
    return load_settings(
        data,
        None,
        database_url=database_url,
        auth=auth,
        server=server,
        media=media,
        health=health,
        **overrides,
    )


def make_container(data: Path, database_url: str, clock: FixedClock, **overrides: Any) -> Container:
    settings = make_settings(data, database_url, **overrides)
    return build_container(settings, clock=clock, create_keys=True)


@dataclass
class World:
    """root ─ province A ─ district A ─ facility A (aesthetics), facility A2 (hospital)
    └ province B ─ district B ─ facility B (quarantine centre)"""

    container: Container
    clock: FixedClock
    ids: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def principal(self, username: str) -> Any:
        return self.container.accounts.principal_of(self.users[username])

    def token(self, username: str) -> str:
        return self.container.accounts.create_token(
            self.principal(username), TokenCreate(name="test", expires_in_days=1)
        ).token

    @contextmanager
    def client(self, username: str | None = None) -> Iterator[TestClient]:
        app = create_app(self.container, manage_lifecycle=False)
        headers = {"authorization": f"Bearer {self.token(username)}"} if username else {}
        with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
            yield client

    def add_user(self, username: str, role: str, node: str, kind: str = "person") -> str:
        with self.container.deps.uow(system_actor("test")) as uow:
            user_id = self.container.accounts.create_account(
                uow.conn,
                username=username,
                display_name=username,
                password=PASSWORD if kind == "person" else None,
                home_node_id=self.ids[node],
                role=role,
                kind=kind,
            )
            uow.audit("account.create", object_type="user", object_id=user_id, scope=self.ids[node])
            uow.commit()
        self.users[username] = user_id
        return user_id


def build_world(data: Path, database_url: str, now: datetime, **overrides: Any) -> World:
    clock = FixedClock(now)
    container = make_container(data, database_url, clock, **overrides)
    root_id, admin_id = create_first_records(container, "admin", PASSWORD, "Ministry")
    world = World(container, clock, {"root": root_id}, {"admin": admin_id})
    admin = world.principal("admin")
    reg = container.registry
    for side in ("a", "b"):
        prov = reg.create_node(
            admin, OrgNodeCreate(kind=OrgKind.PROVINCE, name=f"Province {side}", parent_id=root_id)
        )
        dist = reg.create_node(
            admin, OrgNodeCreate(kind=OrgKind.DISTRICT, name=f"District {side}", parent_id=prov.id)
        )
        world.ids[f"prov_{side}"] = prov.id
        world.ids[f"dist_{side}"] = dist.id
    specs = [
        ("fac_a", "dist_a", FacilityType.MEDICAL_AESTHETICS_CLINIC),
        ("fac_a2", "dist_a", FacilityType.HOSPITAL),
        ("fac_b", "dist_b", FacilityType.QUARANTINE_CENTRE),
    ]
    for key, parent, ftype in specs:
        facility = reg.create_facility(
            admin,
            FacilityCreate(
                parent_id=world.ids[parent],
                name=f"Facility {key}",
                facility_type=ftype,
                address="1 Test Street",
                timezone=TZ,
                enforcement_node_id=world.ids[parent],
            ),
        )
        world.ids[key] = facility.id
        for zone_key, area in (
            ("corridor", AreaType.CORRIDOR_OUTSIDE_ROOMS),
            ("ordoor", AreaType.OPERATING_ROOM_DOOR),
            ("toilet", AreaType.TOILET),
        ):
            zone = reg.create_zone(admin, facility.id, ZoneCreate(name=zone_key, area_type=area))
            world.ids[f"{key}_{zone_key}"] = zone.id
    return world


def camera_body(zone_id: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "zone_id": zone_id,
        "name": "Cam",
        "main_url": "rtsp://10.0.0.5/main",
        "sub_url": "rtsp://10.0.0.5/sub",
    }
    body.update(extra)
    return body


def ready_camera_body(zone_id: str, **extra: Any) -> dict[str, Any]:
    ready: dict[str, Any] = {
        "purposes": ["rule_supervision"],
        "legal_basis": "CV 4403/CV-BCĐ",
        "retention_days": 30,
        "signage_posted": True,
    }
    return camera_body(zone_id, **{**ready, **extra})


def wait_for(predicate: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll until ``predicate`` returns something truthy (and return it), or fail naming ``what``.

    Waiting has a generous limit and no timed assertion: the machine is shared and noisy.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
