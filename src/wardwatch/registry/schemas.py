"""Typed commands and views of the registry, shared by the API and the services."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from wardwatch.registry.model import (
    AreaType,
    CameraStatus,
    DoorKind,
    FacilityType,
    OrgKind,
    Purpose,
    RolloutStatus,
)

Name = Field(min_length=1, max_length=200)


class Command(BaseModel):
    """Input: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Patch(Command):
    """A partial update: absent fields stay as they are; ``null`` only where it means "clear"."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _null_only_where_clearable(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise PydanticCustomError("null_not_allowed", "this field cannot be cleared")
        return value


class OrgNodeCreate(Command):
    kind: OrgKind
    name: str = Name
    parent_id: str | None = None


class OrgNodeUpdate(Patch):
    name: str = Name


class OrgNodeView(BaseModel):
    id: str
    kind: OrgKind
    name: str
    parent_id: str | None
    depth: int


class Contact(Command):
    name: str = Field("", max_length=200)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")


class FacilityContacts(Command):
    supervisor: Contact = Contact()
    legal_representative: Contact = Contact()
    enforcement_team: Contact = Contact()


class FacilityCreate(Command):
    parent_id: str
    name: str = Name
    facility_type: FacilityType
    address: str = Field(min_length=1, max_length=500)
    timezone: str = Field(min_length=1, max_length=64)
    contacts: FacilityContacts = FacilityContacts()
    enforcement_node_id: str | None = None
    required_by: date | None = None


class FacilityUpdate(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"enforcement_node_id"})
    name: str | None = Field(None, min_length=1, max_length=200)
    facility_type: FacilityType | None = None
    address: str | None = Field(None, min_length=1, max_length=500)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    contacts: FacilityContacts | None = None
    enforcement_node_id: str | None = None


class RolloutView(BaseModel):
    status: RolloutStatus
    required_by: date | None
    overdue: bool


class FacilityView(BaseModel):
    id: str
    name: str
    parent_id: str | None
    facility_type: FacilityType
    address: str
    timezone: str
    contacts: FacilityContacts
    enforcement_node_id: str | None
    rollout: RolloutView


class ZoneCreate(Command):
    name: str = Name
    area_type: AreaType


class ZoneUpdate(Patch):
    name: str | None = Field(None, min_length=1, max_length=200)
    area_type: AreaType | None = None


class ZoneView(BaseModel):
    id: str
    facility_id: str
    name: str
    area_type: AreaType
    private: bool


class CameraCreate(Command):
    zone_id: str
    name: str = Name
    main_url: str = Field(min_length=1, max_length=2000)
    sub_url: str | None = Field(None, max_length=2000)
    username: str | None = Field(None, max_length=200)
    password: SecretStr | None = Field(None, max_length=200)
    purposes: list[Purpose] = []
    legal_basis: str = Field("", max_length=2000)
    retention_days: int | None = Field(None, ge=1, le=3650)
    signage_posted: bool = False


class CameraUpdate(Patch):
    nullable: ClassVar[frozenset[str]] = frozenset({"sub_url", "retention_days"})
    zone_id: str | None = None
    name: str | None = Field(None, min_length=1, max_length=200)
    main_url: str | None = Field(None, min_length=1, max_length=2000)
    sub_url: str | None = Field(None, max_length=2000)
    purposes: list[Purpose] | None = None
    legal_basis: str | None = Field(None, max_length=2000)
    retention_days: int | None = Field(None, ge=1, le=3650)
    signage_posted: bool | None = None


class CameraCredentials(Command):
    username: str = Field(min_length=1, max_length=200)
    password: SecretStr = Field(max_length=200)


class CameraView(BaseModel):
    id: str
    facility_id: str
    zone_id: str
    name: str
    main_url: str
    sub_url: str | None
    has_credentials: bool
    purposes: list[Purpose]
    legal_basis: str
    retention_days: int | None
    signage_posted: bool
    status: CameraStatus
    activation_missing: list[str]


class DoorCreate(Command):
    zone_id: str
    name: str = Name
    kind: DoorKind
    camera_ids: list[str] = []


class DoorUpdate(Patch):
    name: str | None = Field(None, min_length=1, max_length=200)
    kind: DoorKind | None = None
    camera_ids: list[str] | None = None


class DoorView(BaseModel):
    id: str
    facility_id: str
    zone_id: str
    name: str
    kind: DoorKind
    camera_ids: list[str]


class RolloutTransition(Command):
    status: RolloutStatus
    note: str = Field("", max_length=2000)


class RolloutDeadline(Command):
    """``null`` clears the deadline."""

    required_by: date | None


class RolloutEntry(BaseModel):
    facility_id: str
    name: str
    parent_id: str | None
    status: RolloutStatus
    required_by: date | None
    overdue: bool
