"""The world the camera benchmarks run in: a fresh instance, one facility, its cameras.

``bench live`` and ``bench health`` both need the same small org tree (a province, a
district, one quarantine centre with a corridor zone) and active cameras pointing at the
simulator; this builds it once, through the real registry services, so what a benchmark
measures went through the same placement and activation rules as production.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wardwatch.authz.principal import Principal
from wardwatch.bootstrap import Container
from wardwatch.kernel.config import load_settings
from wardwatch.registry.model import AreaType, FacilityType, OrgKind, Purpose
from wardwatch.registry.schemas import CameraCreate, FacilityCreate, OrgNodeCreate, ZoneCreate


def bench_password() -> str:
    return "Bench-" + secrets.token_urlsafe(18)


@dataclass(frozen=True)
class BenchWorld:
    container: Container
    admin: Principal
    facility_id: str
    camera_ids: list[str]


def create_world(data: Path, urls: list[tuple[str, str]], **settings: Any) -> BenchWorld:
    """A fresh instance under ``data`` with one active camera per (main, sub) URL pair.

    ``settings`` are sections merged over the benchmark defaults (no secure cookies, no
    retention sweeper, no MFA), e.g. ``media={"record": False}``.
    """
    from wardwatch.instance import init_instance, open_instance  # noqa: PLC0415

    sections: dict[str, dict[str, Any]] = {
        "server": {"cookie_secure": False},
        "media": {"retention": False},
        "auth": {"mfa_required_roles": []},
    }
    for name, values in settings.items():
        sections[name] = {**sections.get(name, {}), **values}
    loaded = load_settings(data, None, **sections)
    result = init_instance(
        loaded, admin_username="bench.admin", admin_password=bench_password(), org_name="Bench"
    )
    container = open_instance(loaded)
    admin = container.accounts.principal_of(result.admin_id)
    registry = container.registry
    province = registry.create_node(
        admin, OrgNodeCreate(kind=OrgKind.PROVINCE, name="Province", parent_id=result.root_id)
    )
    district = registry.create_node(
        admin, OrgNodeCreate(kind=OrgKind.DISTRICT, name="District", parent_id=province.id)
    )
    facility = registry.create_facility(
        admin,
        FacilityCreate(
            parent_id=district.id,
            name="Bench quarantine centre",
            facility_type=FacilityType.QUARANTINE_CENTRE,
            address="loopback",
            timezone="Asia/Ho_Chi_Minh",
        ),
    )
    zone = registry.create_zone(
        admin, facility.id, ZoneCreate(name="Corridor", area_type=AreaType.CORRIDOR_OUTSIDE_ROOMS)
    )
    ids = []
    for index, (main_url, sub_url) in enumerate(urls):
        camera = registry.create_camera(
            admin,
            CameraCreate(
                zone_id=zone.id,
                name=f"Corridor {index + 1:02d}",
                main_url=main_url,
                sub_url=sub_url,
                purposes=[Purpose.RULE_SUPERVISION],
                legal_basis="benchmark",
                retention_days=1,
                signage_posted=True,
            ),
        )
        registry.activate_camera(admin, camera.id)
        ids.append(camera.id)
    return BenchWorld(container, admin, facility.id, ids)
