"""Typed commands and views of accounts, sessions and provisioning."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

Username = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(Command):
    username: str = Field(min_length=1, max_length=64)
    password: SecretStr = Field(max_length=1024)
    totp: str | None = Field(None, max_length=10)


class UserView(BaseModel):
    id: str
    username: str
    display_name: str
    kind: Literal["person", "device"]
    email: str
    phone: str
    home_node_id: str
    locale: str
    mfa_enabled: bool
    locked: bool
    disabled: bool
    activated: bool


class LoginResponse(BaseModel):
    user: UserView
    csrf_token: str
    mfa_enrollment_required: bool
    expires_at: datetime


class BindingView(BaseModel):
    id: str
    user_id: str
    node_id: str
    role: str | None
    permission: str | None
    effect: Literal["allow", "deny"]
    granted_by: str
    created_at: datetime


class MeResponse(BaseModel):
    user: UserView
    bindings: list[BindingView]
    permissions: list[str]
    mfa_pending: bool


class MfaEnrollResponse(BaseModel):
    secret: str
    otpauth_uri: str


class MfaConfirm(Command):
    code: str = Field(min_length=6, max_length=10)


class PasswordChange(Command):
    current_password: SecretStr = Field(max_length=1024)
    new_password: SecretStr = Field(max_length=1024)


class Activation(Command):
    username: str = Field(min_length=1, max_length=64)
    code: SecretStr = Field(max_length=200)
    password: SecretStr = Field(max_length=1024)


class LocaleChange(Command):
    locale: Literal["vi", "zh-Hans", "en"]


class TokenCreate(Command):
    name: str = Field(min_length=1, max_length=200)
    expires_in_days: int | None = Field(90, ge=1, le=3650)


class TokenView(BaseModel):
    id: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class TokenCreated(TokenView):
    token: str


class BindingCreate(Command):
    user_id: str
    node_id: str
    role: str | None = Field(None, max_length=64)
    permission: str | None = Field(None, max_length=64)
    effect: Literal["allow", "deny"] = "allow"

    @model_validator(mode="after")
    def _one_target(self) -> BindingCreate:
        if (self.role is None) == (self.permission is None):
            raise ValueError("give exactly one of role or permission")
        return self


class AccountRequestCreate(Command):
    node_id: str
    role: str = Field(min_length=1, max_length=64)
    username: str = Username
    display_name: str = Field(min_length=1, max_length=200)
    email: str = Field("", max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = Field("", max_length=40)
    justification: str = Field(min_length=1, max_length=2000)


class AccountRequestView(BaseModel):
    id: str
    requested_by: str
    node_id: str
    role: str
    username: str
    display_name: str
    email: str
    phone: str
    justification: str
    status: Literal["pending", "approved", "rejected"]
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str
    user_id: str | None


class Decision(Command):
    note: str = Field("", max_length=2000)


class ApprovalResult(BaseModel):
    request: AccountRequestView
    user_id: str
    activation_code: str
    activation_expires_at: datetime


class RoleView(BaseModel):
    name: str
    permissions: list[str]
    requires_mfa: bool
    device: bool
