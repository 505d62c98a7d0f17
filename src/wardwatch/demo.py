"""Seeds the demo: a ministry, two provinces, facilities of every type, one user per role.

When simulated cameras are given, every public zone of the Hà Nội facilities and of the
Hồ Chí Minh City quarantine centre gets one, registered with its purposes, legal basis,
retention and signage, activated, and (at operating-room doors) linked to its door, so
the demo records, streams live and plays back from the first minute.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from wardwatch.authz.principal import Principal
from wardwatch.authz.schemas import BindingCreate
from wardwatch.bootstrap import Container
from wardwatch.duty.schemas import ShiftCreate, ShiftStart
from wardwatch.instance import init_instance, open_instance
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.config import load_settings
from wardwatch.kernel.errors import ConfigError
from wardwatch.kernel.i18n import t
from wardwatch.registry.model import (
    AreaType,
    DoorKind,
    FacilityType,
    OrgKind,
    Purpose,
    RolloutStatus,
    is_private,
)
from wardwatch.registry.schemas import (
    CameraCreate,
    Contact,
    DoorCreate,
    FacilityContacts,
    FacilityCreate,
    OrgNodeCreate,
    RolloutTransition,
    ZoneCreate,
)

# Shared by every demo account and printed on start: the demo is a showcase, never production.
DEMO_PASSWORD = "WardWatch-demo-2026!"  # noqa: S105
ADMIN_USERNAME = "admin"
ORG_NAME = "Bộ Y tế (Ministry of Health)"

_ZONES: dict[FacilityType, list[tuple[str, AreaType]]] = {
    FacilityType.QUARANTINE_CENTRE: [
        ("Cổng chính", AreaType.GATE),
        ("Hành lang tầng 3", AreaType.CORRIDOR_OUTSIDE_ROOMS),
        ("Khu lấy mẫu", AreaType.SAMPLING_AREA),
        ("Sảnh tiếp nhận", AreaType.INTAKE),
        ("Phòng cách ly 301", AreaType.ROOM_INTERIOR),
    ],
    FacilityType.CLINIC: [
        ("Lối vào", AreaType.FACILITY_ENTRANCE),
        ("Quầy tiếp đón", AreaType.RECEPTION),
    ],
    FacilityType.HOSPITAL: [
        ("Sảnh chính", AreaType.LOBBY),
        ("Lối vào khu phẫu thuật", AreaType.SURGICAL_AREA_ENTRANCE),
        ("Cửa phòng mổ 1", AreaType.OPERATING_ROOM_DOOR),
    ],
    FacilityType.MEDICAL_AESTHETICS_CLINIC: [
        ("Lối vào khu phẫu thuật", AreaType.SURGICAL_AREA_ENTRANCE),
        ("Cửa phòng mổ A", AreaType.OPERATING_ROOM_DOOR),
        ("Cửa phòng mổ B", AreaType.OPERATING_ROOM_DOOR),
        ("Phòng thay đồ", AreaType.CHANGING_ROOM),
    ],
}

_PROVINCES = [
    ("Hà Nội", "Quận Đống Đa", "Asia/Ho_Chi_Minh", "HN"),
    ("Thành phố Hồ Chí Minh", "Quận 1", "Asia/Ho_Chi_Minh", "HCM"),
]

_FACILITY_NAMES = {
    FacilityType.QUARANTINE_CENTRE: "Khu cách ly tập trung",
    FacilityType.CLINIC: "Trạm y tế",
    FacilityType.HOSPITAL: "Bệnh viện đa khoa",
    FacilityType.MEDICAL_AESTHETICS_CLINIC: "Phòng khám thẩm mỹ",
}

_ROLLOUT = [RolloutStatus.VERIFIED, RolloutStatus.CONNECTED, RolloutStatus.COMMITTED, RolloutStatus.REQUIRED]

_PURPOSES: dict[FacilityType, list[Purpose]] = {
    FacilityType.QUARANTINE_CENTRE: [
        Purpose.RULE_SUPERVISION,
        Purpose.BREACH_REMINDERS,
        Purpose.EPIDEMIOLOGICAL_INVESTIGATION,
        Purpose.REMEDY_VERIFICATION,
    ],
    FacilityType.CLINIC: [Purpose.RULE_SUPERVISION, Purpose.BREACH_REMINDERS, Purpose.REMEDY_VERIFICATION],
    FacilityType.HOSPITAL: [Purpose.RULE_SUPERVISION, Purpose.OPERATING_ROOM_SUPERVISION],
    FacilityType.MEDICAL_AESTHETICS_CLINIC: [Purpose.RULE_SUPERVISION, Purpose.OPERATING_ROOM_SUPERVISION],
}
_LEGAL_BASIS: dict[FacilityType, str] = {
    FacilityType.QUARANTINE_CENTRE: "Công văn 4403/CV-BCĐ ngày 30/5/2021 (Ban Chỉ đạo Quốc gia)",
    FacilityType.CLINIC: "Cam kết lắp camera lối vào cơ sở khám chữa bệnh (demo)",
    FacilityType.HOSPITAL: "Quy định giám sát khu phẫu thuật (demo)",
    FacilityType.MEDICAL_AESTHETICS_CLINIC: "Quy định giám sát phòng mổ thẩm mỹ (demo)",
}
DEMO_RETENTION_DAYS = 7
CAMERA_RESOLUTION = ("720p", "360p")
"""Main and sub stream of the demo's simulated cameras: 720p keeps the demo's disk use modest."""
DEMO_CONFIG = (
    "server:\n  cookie_secure: false\naudit:\n  checkpoint_interval_s: 60\n"
    "metrics:\n  token: {token}\n"
    # A quota bounds the demo's disk use; past its critical level the oldest footage goes.
    "media:\n  storage_quota_gb: 6\n  retention_interval_s: 60\n"
)


def camera_sites() -> list[tuple[str, str]]:
    """(facility key, zone name) of every demo camera, in the simulator's camera order."""
    sites = []
    for code, ftypes in (("HN", list(FacilityType)), ("HCM", [FacilityType.QUARANTINE_CENTRE])):
        for ftype in ftypes:
            sites += [(f"{code}:{ftype.value}", name) for name, area in _ZONES[ftype] if not is_private(area)]
    return sites


CameraUrls = Callable[[int], tuple[str, str]]
"""Camera index -> (main URL, sub URL) of the simulated camera that serves it."""


@dataclass
class DemoAccount:
    username: str
    role: str
    node_name: str
    totp_secret: str | None = None


@dataclass
class DemoSeed:
    facilities: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, str] = field(default_factory=dict)
    accounts: list[DemoAccount] = field(default_factory=list)
    cameras: dict[str, str] = field(default_factory=dict)


def _advance(container: Container, admin: Principal, facility_id: str, target: RolloutStatus) -> None:
    order = list(RolloutStatus)
    for status in order[1 : order.index(target) + 1]:
        container.registry.transition_rollout(
            admin, facility_id, RolloutTransition(status=status, note="demo")
        )


def seed(
    container: Container, admin_id: str, root_id: str, camera_urls: CameraUrls | None = None
) -> DemoSeed:
    """Build the demo tree through the real services, so every step is audited."""
    registry = container.registry
    admin = container.accounts.principal_of(admin_id)
    result = DemoSeed()
    result.nodes["root"] = root_id
    today = container.clock.now().date()
    sites = {site: index for index, site in enumerate(camera_sites())} if camera_urls else {}
    for p_index, (province, district, tz, code) in enumerate(_PROVINCES):
        prov = registry.create_node(
            admin, OrgNodeCreate(kind=OrgKind.PROVINCE, name=province, parent_id=root_id)
        )
        dist = registry.create_node(
            admin, OrgNodeCreate(kind=OrgKind.DISTRICT, name=district, parent_id=prov.id)
        )
        registry.create_node(
            admin,
            OrgNodeCreate(
                kind=OrgKind.MONITORING_CENTRE, name=f"Trung tâm giám sát {code}", parent_id=prov.id
            ),
        )
        result.nodes[f"province:{code}"] = prov.id
        result.nodes[f"district:{code}"] = dist.id
        for f_index, ftype in enumerate(FacilityType):
            name = f"{_FACILITY_NAMES[ftype]} {district}"
            deadline = today + timedelta(days=30) if f_index % 2 else today - timedelta(days=10)
            facility = registry.create_facility(
                admin,
                FacilityCreate(
                    parent_id=dist.id,
                    name=name,
                    facility_type=ftype,
                    address=f"{10 + f_index} Phố Demo, {district}, {province}",
                    timezone=tz,
                    contacts=FacilityContacts(
                        supervisor=Contact(name="Giám sát cơ sở", email=f"sup.{code}{f_index}@demo.test"),
                        legal_representative=Contact(
                            name="Người đại diện pháp luật", email=f"legal.{code}{f_index}@demo.test"
                        ),
                        enforcement_team=Contact(
                            name=f"Đội thanh tra {district}", email=f"enforce.{code}@demo.test"
                        ),
                    ),
                    enforcement_node_id=dist.id,
                    required_by=deadline,
                ),
            )
            result.facilities[f"{code}:{ftype.value}"] = facility.id
            _advance(container, admin, facility.id, _ROLLOUT[(f_index + p_index) % 4])
            for zone_name, area in _ZONES[ftype]:
                zone = registry.create_zone(admin, facility.id, ZoneCreate(name=zone_name, area_type=area))
                camera_ids = []
                index = sites.get((f"{code}:{ftype.value}", zone_name))
                if index is not None and camera_urls is not None:
                    main_url, sub_url = camera_urls(index)
                    camera = registry.create_camera(
                        admin,
                        CameraCreate(
                            zone_id=zone.id,
                            name=f"Camera {zone_name}",
                            main_url=main_url,
                            sub_url=sub_url,
                            purposes=_PURPOSES[ftype],
                            legal_basis=_LEGAL_BASIS[ftype],
                            retention_days=DEMO_RETENTION_DAYS,
                            signage_posted=True,
                        ),
                    )
                    registry.activate_camera(admin, camera.id)
                    result.cameras[f"{code}:{ftype.value}:{zone_name}"] = camera.id
                    camera_ids.append(camera.id)
                kinds = {
                    AreaType.OPERATING_ROOM_DOOR: DoorKind.OPERATING_ROOM_DOOR,
                    AreaType.SURGICAL_AREA_ENTRANCE: DoorKind.SURGICAL_AREA_ENTRANCE,
                }
                if area in kinds:
                    registry.create_door(
                        admin,
                        DoorCreate(zone_id=zone.id, name=zone_name, kind=kinds[area], camera_ids=camera_ids),
                    )
    result.accounts = _seed_accounts(container, result)
    _seed_roster(container, admin, result)
    _theatre_supervision(container, admin, result)
    return result


def _theatre_supervision(container: Container, admin: Principal, seed_: DemoSeed) -> None:
    """The facility supervisor also supervises the Hà Nội clinic and hospital, whose replayed
    theatre days raise the blue alerts, and the legal representative also answers for the
    hospital (granted as an administrator would, on the record)."""
    with container.db.read() as conn:
        user_id = container.accounts.users_matching(conn, ["facility.supervisor"])["facility.supervisor"]
        legal_id = container.accounts.users_matching(conn, ["legal.rep"])["legal.rep"]
    for key in ("HN:medical_aesthetics_clinic", "HN:hospital"):
        container.accounts.grant(
            admin, BindingCreate(user_id=user_id, node_id=seed_.facilities[key], role="facility_supervisor")
        )
    # The hospital's yellow alerts need a legal representative too.
    container.accounts.grant(
        admin,
        BindingCreate(user_id=legal_id, node_id=seed_.facilities["HN:hospital"], role="legal_representative"),
    )
    for username, extra in (
        ("facility.supervisor", " + Phòng khám thẩm mỹ, Bệnh viện đa khoa Quận Đống Đa"),
        ("legal.rep", " + Bệnh viện đa khoa Quận Đống Đa"),
    ):
        next(a for a in seed_.accounts if a.username == username).node_name += extra


def _seed_accounts(container: Container, seed_: DemoSeed) -> list[DemoAccount]:
    f = seed_.facilities
    n = seed_.nodes
    plan = [
        ("operator", "duty_operator", n["district:HN"], "Quận Đống Đa"),
        ("operator2", "duty_operator", f["HCM:quarantine_centre"], "Khu cách ly tập trung Quận 1"),
        (
            "facility.supervisor",
            "facility_supervisor",
            f["HN:quarantine_centre"],
            "Khu cách ly tập trung Quận Đống Đa",
        ),
        (
            "legal.rep",
            "legal_representative",
            f["HN:medical_aesthetics_clinic"],
            "Phòng khám thẩm mỹ Quận Đống Đa",
        ),
        ("enforcement", "enforcement_officer", n["district:HN"], "Quận Đống Đa"),
        ("supervisor", "supervisor", n["province:HN"], "Hà Nội"),
        ("account.admin", "account_administrator", n["province:HN"], "Hà Nội"),
        ("auditor", "auditor", n["root"], ORG_NAME),
        ("installer", "installer", n["province:HN"], "Hà Nội"),
    ]
    mfa_roles = set(container.settings.auth.mfa_required_roles)
    accounts = [DemoAccount(ADMIN_USERNAME, "administrator", ORG_NAME)]
    with container.deps.uow(system_actor("demo")) as uow:
        for username, role, node_id, node_name in plan:
            user_id = container.accounts.create_account(
                uow.conn,
                username=username,
                display_name=username.replace(".", " ").title(),
                password=DEMO_PASSWORD,
                home_node_id=node_id,
                role=role,
                email=f"{username}@demo.test",
            )
            secret = container.accounts.enroll_totp_directly(uow.conn, user_id) if role in mfa_roles else None
            uow.audit(
                "account.create",
                object_type="user",
                object_id=user_id,
                scope=node_id,
                details={"username": username, "role": role, "demo": True},
            )
            accounts.append(DemoAccount(username, role, node_name, secret))
        terminal_id = container.accounts.create_account(
            uow.conn,
            username="terminal.hn.aesthetics",
            display_name="Door terminal",
            password=None,
            home_node_id=f["HN:medical_aesthetics_clinic"],
            role="door_terminal",
            kind="device",
        )
        uow.audit(
            "account.create",
            object_type="user",
            object_id=terminal_id,
            scope=f["HN:medical_aesthetics_clinic"],
            details={"username": "terminal.hn.aesthetics", "role": "door_terminal"},
        )
        admin_secret = (
            container.accounts.enroll_totp_directly(
                uow.conn, container.accounts.users_matching(uow.conn, [ADMIN_USERNAME])[ADMIN_USERNAME]
            )
            if "administrator" in mfa_roles
            else None
        )
        accounts[0].totp_secret = admin_secret
        uow.commit()
    return accounts


NEXT_OPERATOR = "operator3"
"""The Hà Nội duty operator who takes over from ``operator`` (a handover needs two people)."""
HANDOVER_IN = timedelta(minutes=30)
"""The demo's current Hà Nội shift ends this long after seeding; the next operator may take
over already (``duty.takeover_early_minutes``), so the handover can be shown at once."""
SHIFT = timedelta(hours=8)
BEGUN = timedelta(minutes=10)
"""How long before seeding the shifts on now began: within the takeover grace, so taking
them at seeding is on time (a shift begun hours before would show as taken late)."""


def _seed_roster(container: Container, admin: Principal, seed_: DemoSeed) -> None:
    """A roster on duty from the first minute, with a hole in it.

    The Hà Nội monitoring centre watches the district's facilities: ``operator`` has taken
    the shift that ends in ``HANDOVER_IN``, ``operator3`` has the next (so a handover can be
    written and acknowledged in the demo), and they alternate after that, but for four
    hours of the coming night nobody is planned: the coverage gap the duty screen shows.
    ``operator2`` holds the Hồ Chí Minh City quarantine centre, which has a gap too. Every
    step goes through the duty services, so it is audited like a planner's work.
    """
    n = seed_.nodes
    f = seed_.facilities
    registry = container.registry
    centre = next(
        node
        for node in registry.list_nodes(admin)
        if node.kind == OrgKind.MONITORING_CENTRE and node.parent_id == n["province:HN"]
    )
    with container.deps.uow(system_actor("demo")) as uow:
        operator3 = container.accounts.create_account(
            uow.conn,
            username=NEXT_OPERATOR,
            display_name=NEXT_OPERATOR.title(),
            password=DEMO_PASSWORD,
            home_node_id=n["district:HN"],
            role="duty_operator",
            email=f"{NEXT_OPERATOR}@demo.test",
        )
        uow.audit(
            "account.create",
            object_type="user",
            object_id=operator3,
            scope=n["district:HN"],
            details={"username": NEXT_OPERATOR, "role": "duty_operator", "demo": True},
        )
        users = container.accounts.users_matching(uow.conn, ["operator", "operator2"])
        uow.commit()
    seed_.accounts.insert(
        next(i for i, a in enumerate(seed_.accounts) if a.username == "operator2") + 1,
        DemoAccount(NEXT_OPERATOR, "duty_operator", "Quận Đống Đa"),
    )
    # The centre's operators work on its roster (taking a shift and handing over need
    # duty.write on the roster's unit) and watch the district it covers.
    for user_id in (users["operator"], operator3):
        container.accounts.grant(
            admin, BindingCreate(user_id=user_id, node_id=centre.id, role="duty_operator")
        )
    now = container.clock.now().replace(second=0, microsecond=0)
    hn_end = now + HANDOVER_IN
    plan = [
        # (unit, covers, label, start, end, operator)
        (centre.id, [n["district:HN"]], "Ca 1", now - BEGUN, hn_end, users["operator"]),
        (centre.id, [n["district:HN"]], "Ca 2", hn_end, hn_end + SHIFT, operator3),
        (centre.id, [n["district:HN"]], "Ca 3", hn_end + SHIFT, hn_end + 2 * SHIFT, users["operator"]),
        # 4 hours of nobody on duty, then the roster carries on.
        (
            centre.id,
            [n["district:HN"]],
            "Ca 4",
            hn_end + 2 * SHIFT + timedelta(hours=4),
            hn_end + 3 * SHIFT + timedelta(hours=4),
            operator3,
        ),
        (
            f["HCM:quarantine_centre"],
            [],
            "Ca ngày",
            now - BEGUN,
            now + SHIFT,
            users["operator2"],
        ),
        (
            f["HCM:quarantine_centre"],
            [],
            "Ca đêm",
            now + SHIFT + timedelta(hours=2),
            now + 2 * SHIFT + timedelta(hours=2),
            users["operator2"],
        ),
    ]
    shifts = [
        container.duty.roster.create(
            admin,
            ShiftCreate(
                node_id=unit, covers=covers, label=label, starts_at=start, ends_at=end, operator_ids=[who]
            ),
        )
        for unit, covers, label, start, end, who in plan
    ]
    # The shifts on now are taken: the first of a roster has no handover to acknowledge.
    for shift, (_unit, _covers, _label, start, _end, who) in zip(shifts, plan, strict=True):
        if start <= now:
            container.duty.handovers.start(
                container.accounts.principal_of(who),
                shift.id,
                ShiftStart(reason="demo: first shift of the roster"),
            )


DEMO_MARKER = ".wardwatch-demo"
"""Marks a data directory the demo made, so that only such a directory is ever wiped."""


def remove_demo(data: Path) -> None:
    """Delete a demo data directory; refuse anything the demo did not create.

    ``--data`` could point at a real instance's directory (recordings, audit log, keys),
    and those must never go because a demo was asked for there.
    """
    if not data.exists():
        return
    if not any((data / name).is_file() for name in (DEMO_MARKER, "demo-credentials.json")):
        if data.is_dir() and not any(data.iterdir()):
            data.rmdir()
            return
        raise ConfigError(t("cli.demo_not_demo_dir", data=str(data), marker=DEMO_MARKER))
    shutil.rmtree(data)


def ensure_demo(data: Path, *, camera_port: int | None) -> dict[str, Any]:
    """The saved demo (accounts, tokens, cameras), seeded into ``data`` first if it is not there.

    ``camera_port`` is where the simulated cameras will listen (None: a demo without cameras).
    """
    credentials_file = data / "demo-credentials.json"
    if credentials_file.exists():
        saved: dict[str, Any] = json.loads(credentials_file.read_text("utf-8"))
        return saved
    remove_demo(data)  # a half-seeded demo from an interrupted run
    data.mkdir(parents=True)
    (data / DEMO_MARKER).write_text("created by 'wardwatch demo'; safe to delete\n", "utf-8")
    token = secrets.token_urlsafe(24)
    (data / "wardwatch.yaml").write_text(DEMO_CONFIG.format(token=token), "utf-8")
    settings = load_settings(data, None)
    result = init_instance(
        settings, admin_username=ADMIN_USERNAME, admin_password=DEMO_PASSWORD, org_name=ORG_NAME
    )

    def urls(index: int) -> tuple[str, str]:
        assert camera_port is not None
        base = f"rtsp://127.0.0.1:{camera_port + index}"
        return f"{base}/main", f"{base}/sub"

    container = open_instance(settings)
    try:
        seeded = seed(container, result.admin_id, result.root_id, urls if camera_port else None)
        container.audit.sign_checkpoint(container.db)
    finally:
        container.close()
    saved = {
        "password": DEMO_PASSWORD,
        "metrics_token": token,
        "accounts": [a.__dict__ for a in seeded.accounts],
        "cameras": {"port": camera_port, "count": len(seeded.cameras)} if camera_port else None,
    }
    fd = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(saved, handle, ensure_ascii=False, indent=2)
    return saved


# ---------------------------------------------------------------- the theatre day with violations

DEMO_THEATRE_DAYS: dict[FacilityType, tuple[str, ...]] = {
    # The Hà Nội medical-aesthetics clinic breaks every rule; the hospital (one theatre) a few.
    FacilityType.MEDICAL_AESTHETICS_CLINIC: ("R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"),
    FacilityType.HOSPITAL: ("R1", "R6", "R8"),
}


def prepare_theatre_days(settings: Any) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Put yesterday's theatre day of the demo's Hà Nội clinic and hospital on record.

    Practitioners, operating rooms, a terminal and the schedule are written now (the
    server relays the schedule when it starts); the door events come back as (facility,
    terminal token, events) for ``replay_theatre_days`` to post to the running server.
    """
    from wardwatch.sim import doors as sim  # noqa: PLC0415

    container = open_instance(settings)
    days = []
    try:
        admin = sim.admin_principal(container, ADMIN_USERNAME)
        for facility in container.registry.list_facilities(admin):
            violations = DEMO_THEATRE_DAYS.get(facility.facility_type)
            if violations is None or _PROVINCES[0][1] not in facility.name:
                continue
            rooms = [
                d
                for d in container.registry.list_doors(admin, facility.id)
                if d.kind == DoorKind.OPERATING_ROOM_DOOR
            ]
            plan = sim.plan_day(
                sim.yesterday(facility.timezone), violations, rooms=len(rooms), tag=facility.id[-6:].upper()
            )
            where = sim.provision(container, admin, facility.id, plan)
            days.append((facility.name, where.token, sim.door_events(plan, where)))
    finally:
        container.close()
    return days


def replay_theatre_days(url: str, days: list[tuple[str, str, list[dict[str, Any]]]]) -> None:
    """Post the prepared door events through the server's terminal endpoint, once it answers."""
    from wardwatch.sim import doors as sim  # noqa: PLC0415

    sim.wait_for_server(url, timeout=120)
    for _name, token, events in days:
        sim.send_http(url, token, events)
