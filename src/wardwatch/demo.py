"""Seeds the demo: a ministry, two provinces, facilities of every type, one user per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from wardwatch.authz.principal import Principal
from wardwatch.bootstrap import Container
from wardwatch.kernel.actor import system_actor
from wardwatch.registry.model import AreaType, DoorKind, FacilityType, OrgKind, RolloutStatus
from wardwatch.registry.schemas import (
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


def _advance(container: Container, admin: Principal, facility_id: str, target: RolloutStatus) -> None:
    order = list(RolloutStatus)
    for status in order[1 : order.index(target) + 1]:
        container.registry.transition_rollout(
            admin, facility_id, RolloutTransition(status=status, note="demo")
        )


def seed(container: Container, admin_id: str, root_id: str) -> DemoSeed:
    """Build the demo tree through the real services, so every step is audited."""
    registry = container.registry
    admin = container.accounts.principal_of(admin_id)
    result = DemoSeed()
    result.nodes["root"] = root_id
    today = container.clock.now().date()
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
                kinds = {
                    AreaType.OPERATING_ROOM_DOOR: DoorKind.OPERATING_ROOM_DOOR,
                    AreaType.SURGICAL_AREA_ENTRANCE: DoorKind.SURGICAL_AREA_ENTRANCE,
                }
                if area in kinds:
                    registry.create_door(admin, DoorCreate(zone_id=zone.id, name=zone_name, kind=kinds[area]))
    result.accounts = _seed_accounts(container, result)
    return result


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
