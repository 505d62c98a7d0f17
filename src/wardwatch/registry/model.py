"""Registry rules that hold whatever the storage: placement, activation, rollout.

These are the refusals the guidance demands: no camera in a private place, no camera
switched on before its purpose, legal basis, retention and signage are on record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wardwatch.kernel.errors import Invalid


class OrgKind(StrEnum):
    MINISTRY = "ministry"
    PROVINCE = "province"
    DISTRICT = "district"
    FACILITY = "facility"
    MONITORING_CENTRE = "monitoring_centre"


PARENT_KINDS = frozenset({OrgKind.MINISTRY, OrgKind.PROVINCE, OrgKind.DISTRICT})
"""Only administrative levels have children; facilities and monitoring centres are leaves."""


class FacilityType(StrEnum):
    QUARANTINE_CENTRE = "quarantine_centre"
    CLINIC = "clinic"
    HOSPITAL = "hospital"
    MEDICAL_AESTHETICS_CLINIC = "medical_aesthetics_clinic"


class AreaType(StrEnum):
    CORRIDOR_OUTSIDE_ROOMS = "corridor_outside_rooms"
    LOBBY = "lobby"
    YARD = "yard"
    SAMPLING_AREA = "sampling_area"
    INTAKE = "intake"
    MEDICAL_CHECK = "medical_check"
    SUPPLY_RECEPTION = "supply_reception"
    SHARED_TOILET_EXTERIOR = "shared_toilet_exterior"
    GATE = "gate"
    FACILITY_ENTRANCE = "facility_entrance"
    SURGICAL_AREA_ENTRANCE = "surgical_area_entrance"
    OPERATING_ROOM_DOOR = "operating_room_door"
    RECEPTION = "reception"
    OTHER_PUBLIC_AREA = "other_public_area"
    ROOM_INTERIOR = "room_interior"
    TOILET = "toilet"
    BATHROOM = "bathroom"
    CHANGING_ROOM = "changing_room"
    WARD_BED_AREA = "ward_bed_area"


PRIVATE_AREAS = frozenset(
    {
        AreaType.ROOM_INTERIOR,
        AreaType.TOILET,
        AreaType.BATHROOM,
        AreaType.CHANGING_ROOM,
        AreaType.WARD_BED_AREA,
    }
)

PLACEMENT_RULE = "placement.private_zone"


class Purpose(StrEnum):
    RULE_SUPERVISION = "rule_supervision"
    BREACH_REMINDERS = "breach_reminders"
    EPIDEMIOLOGICAL_INVESTIGATION = "epidemiological_investigation"
    REMEDY_VERIFICATION = "remedy_verification"
    OPERATING_ROOM_SUPERVISION = "operating_room_supervision"


class DoorKind(StrEnum):
    OPERATING_ROOM_DOOR = "operating_room_door"
    SURGICAL_AREA_ENTRANCE = "surgical_area_entrance"
    FACILITY_ENTRANCE = "facility_entrance"


class CameraStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    INACTIVE = "inactive"


class RolloutStatus(StrEnum):
    REQUIRED = "required"
    COMMITTED = "committed"
    INSTALLED = "installed"
    CONNECTED = "connected"
    VERIFIED = "verified"


ROLLOUT_ORDER = list(RolloutStatus)
MAX_RETENTION_DAYS = 3650


def is_private(area_type: AreaType) -> bool:
    return area_type in PRIVATE_AREAS


def check_placement(area_type: AreaType, zone_name: str) -> None:
    """Refuse a camera in a private area, naming the rule."""
    if is_private(area_type):
        raise Invalid(
            "private_zone",
            params={"zone": zone_name, "area_type": area_type.value},
            extra={"rule": PLACEMENT_RULE, "area_type": area_type.value},
        )


def check_parent(parent_kind: OrgKind | None, child_kind: OrgKind) -> None:
    if parent_kind is not None and parent_kind not in PARENT_KINDS:
        raise Invalid(
            "org_parent_not_allowed",
            params={"parent_kind": parent_kind.value, "kind": child_kind.value},
            extra={"field": "parent_id"},
        )


@dataclass(frozen=True)
class ActivationFacts:
    purposes: tuple[str, ...]
    legal_basis: str
    retention_days: int | None
    signage_posted: bool


def activation_missing(facts: ActivationFacts) -> list[str]:
    """The fields that must be on record before a camera may record; empty when ready."""
    missing = []
    if not facts.purposes:
        missing.append("purposes")
    if not facts.legal_basis.strip():
        missing.append("legal_basis")
    if not facts.retention_days:
        missing.append("retention_days")
    if not facts.signage_posted:
        missing.append("signage_posted")
    return missing


def check_activation(facts: ActivationFacts) -> None:
    missing = activation_missing(facts)
    if missing:
        raise Invalid(
            "activation_incomplete",
            params={"fields": ", ".join(missing)},
            extra={"rule": "camera.activation", "missing": missing},
        )


def validate_rtsp_url(url: str, field: str) -> str:
    """An ``rtsp://`` or ``rtsps://`` URL with a host and no embedded credentials.

    Credentials inside a URL would be stored and shown in clear text, so they are refused
    here and taken through the sealed credentials field instead.
    """
    value = url.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise Invalid("rtsp_url_invalid", params={"field": field}, extra={"field": field}) from None
    if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
        raise Invalid("rtsp_url_invalid", params={"field": field}, extra={"field": field})
    if parts.username or parts.password:
        raise Invalid("rtsp_url_credentials", params={"field": field}, extra={"field": field})
    if port is not None and not 0 < port < 65536:
        raise Invalid("rtsp_url_invalid", params={"field": field}, extra={"field": field})
    return value


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("timezone_unknown", params={"timezone": name}, extra={"field": "timezone"}) from None
    return name


def check_rollout_transition(current: RolloutStatus, target: RolloutStatus, note: str) -> None:
    """Forward one step at a time; backwards (a lost connection, say) only with a reason."""
    cur, nxt = ROLLOUT_ORDER.index(current), ROLLOUT_ORDER.index(target)
    if nxt == cur + 1:
        return
    if nxt < cur and note.strip():
        return
    raise Invalid(
        "rollout_transition",
        params={"current": current.value, "target": target.value},
        extra={"field": "status", "current": current.value},
    )


def is_overdue(required_by: date | None, status: RolloutStatus, today: date) -> bool:
    return required_by is not None and status != RolloutStatus.VERIFIED and today > required_by
