"""Who may do what where: the permission catalogue, roles, and their evaluation on the org tree.

A role is bound at an org node and holds for that node's whole subtree. A binding may also
deny (a role or a single permission); an explicit deny anywhere on the path from the root
to a node beats every allow. Nothing here touches the database: org nodes are known by
their materialised path, ``/<root id>/<child id>/.../<node id>/``, so "node B is inside the
subtree of A" is "B's path starts with A's path".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Effect = Literal["allow", "deny"]

PERMISSIONS: tuple[str, ...] = (
    "org.read",
    "registry.read",
    "registry.edit",
    "rollout.read",
    "rollout.edit",
    "camera.view_live",
    "recording.view",
    "recording.export",
    "recording.hold",
    "alert.read",
    "alert.ack",
    "alert.silence",
    "incident.read",
    "incident.manage",
    "duty.read",
    "duty.write",
    "duty.roster",
    "breach.report",
    "breach.remedy",
    "breach.verify",
    "report.read",
    "practitioner.read",
    "practitioner.import",
    "schedule.edit",
    "schedule.read",
    "ledger.read",
    "account.read",
    "account.request",
    "account.provision",
    "account.manage",
    "role.grant",
    "audit.read",
    "audit.verify",
    "audit.checkpoint",
    "device.door_events",
    "device.allowlist",
)

_OPERATOR = {
    "org.read",
    "registry.read",
    "camera.view_live",
    "recording.view",
    "alert.read",
    "alert.ack",
    "incident.read",
    "incident.manage",
    "duty.read",
    "duty.write",
    "breach.report",
}

BUILTIN_ROLES: dict[str, frozenset[str]] = {
    "duty_operator": frozenset(_OPERATOR | {"breach.remedy", "breach.verify"}),
    "facility_supervisor": frozenset(
        _OPERATOR - {"duty.write"}
        | {"breach.remedy"}
        | {"rollout.read", "report.read", "schedule.edit", "practitioner.read"}
        | {"schedule.read", "ledger.read"}
    ),
    "legal_representative": frozenset(
        {
            "org.read",
            "registry.read",
            "rollout.read",
            "alert.read",
            "alert.ack",
            "incident.read",
            "duty.read",
            "report.read",
            "practitioner.read",
            "schedule.read",
            "ledger.read",
        }
    ),
    "enforcement_officer": frozenset(
        {
            "org.read",
            "registry.read",
            "camera.view_live",
            "recording.view",
            "recording.export",
            "recording.hold",
            "alert.read",
            "alert.ack",
            "incident.read",
            "duty.read",
            "report.read",
            "practitioner.read",
            "schedule.read",
            "ledger.read",
        }
    ),
    "supervisor": frozenset(
        _OPERATOR
        | {
            "rollout.read",
            "rollout.edit",
            "recording.export",
            "recording.hold",
            "alert.silence",
            "duty.roster",
            "breach.remedy",
            "breach.verify",
            "report.read",
            "practitioner.read",
            "practitioner.import",
            "schedule.edit",
            "schedule.read",
            "ledger.read",
            "account.read",
            "account.request",
            "role.grant",
        }
    ),
    "account_administrator": frozenset({"org.read", "account.read", "account.provision", "account.manage"}),
    "auditor": frozenset(
        {
            "org.read",
            "registry.read",
            "audit.read",
            "audit.verify",
            "audit.checkpoint",
            "account.read",
            "report.read",
        }
    ),
    "installer": frozenset(
        {"org.read", "registry.read", "registry.edit", "rollout.read", "rollout.edit", "camera.view_live"}
    ),
    "door_terminal": frozenset({"device.door_events", "device.allowlist"}),
    "administrator": frozenset(PERMISSIONS),
}

DEVICE_ROLES = frozenset({"door_terminal"})


class UnknownRole(ValueError):
    pass


class RoleCatalog:
    """Built-in roles plus any configured ones; every permission must be in the catalogue."""

    def __init__(self, custom: Mapping[str, Iterable[str]] | None = None) -> None:
        self._roles = dict(BUILTIN_ROLES)
        for name, perms in (custom or {}).items():
            unknown = set(perms) - set(PERMISSIONS)
            if unknown:
                raise UnknownRole(f"role {name!r} uses unknown permissions {sorted(unknown)}")
            if name in BUILTIN_ROLES:
                raise UnknownRole(f"role {name!r} is built in and cannot be redefined")
            self._roles[name] = frozenset(perms)

    def permissions_of(self, role: str) -> frozenset[str]:
        try:
            return self._roles[role]
        except KeyError:
            raise UnknownRole(role) from None

    def __contains__(self, role: object) -> bool:
        return role in self._roles

    def names(self) -> list[str]:
        return sorted(self._roles)


@dataclass(frozen=True, slots=True)
class Binding:
    """A role or a single permission, allowed or denied, at a node, for one user."""

    id: str
    user_id: str
    node_id: str
    node_path: str
    effect: Effect
    role: str | None = None
    permission: str | None = None

    def permissions(self, catalog: RoleCatalog) -> frozenset[str]:
        if self.role is not None:
            return catalog.permissions_of(self.role)
        return frozenset({self.permission}) if self.permission else frozenset()

    def covers(self, node_path: str) -> bool:
        return node_path.startswith(self.node_path)


def ancestors_in(path: str) -> list[str]:
    """Node ids on a materialised path, root first."""
    return [p for p in path.split("/") if p]


@dataclass
class Grants:
    """The effective permissions of one principal, derived from their bindings."""

    bindings: list[Binding]
    catalog: RoleCatalog
    _allow: dict[str, list[str]] = field(default_factory=dict, init=False)
    _deny: dict[str, list[str]] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        for binding in self.bindings:
            target = self._allow if binding.effect == "allow" else self._deny
            for perm in binding.permissions(self.catalog):
                target.setdefault(perm, []).append(binding.node_path)

    def allows(self, permission: str, node_path: str) -> bool:
        """True if an allow for ``permission`` covers the node and no deny does."""
        if any(node_path.startswith(p) for p in self._deny.get(permission, ())):
            return False
        return any(node_path.startswith(p) for p in self._allow.get(permission, ()))

    def holds_anywhere(self, permission: str) -> bool:
        return bool(self._allow.get(permission))

    def scope_of(self, permission: str) -> tuple[list[str], list[str]]:
        """(allowed subtree paths, denied subtree paths) for listing queries."""
        return list(self._allow.get(permission, ())), list(self._deny.get(permission, ()))

    def sees(self, node_path: str) -> bool:
        """Whether the node lies inside any subtree the principal was granted anything in.

        Used to answer 404 rather than 403 for objects the principal must not know exist.
        """
        return any(self.allows(perm, node_path) for perm in self._allow)

    def missing(self, permissions: Iterable[str], node_path: str) -> list[str]:
        """The permissions among ``permissions`` this principal does not hold at the node."""
        return sorted(p for p in permissions if not self.allows(p, node_path))

    def all_permissions(self) -> list[str]:
        """Permissions held on at least one node (a deny over every grant removes one)."""
        return sorted(p for p, paths in self._allow.items() if any(self.allows(p, x) for x in paths))


def over_delegation(granter: Grants, permissions: Iterable[str], node_path: str) -> list[str]:
    """What a delegation would hand out that the granter does not hold there (empty: fine)."""
    return granter.missing(permissions, node_path)


COMMON_PASSWORDS = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiop12",
        "administrator",
        "wardwatch123",
        "passwordpassword",
        "letmein12345",
        "matkhau12345",
        "mimamimami12",
    }
)


def password_problems(password: str, username: str, min_length: int) -> list[str]:
    """Reasons a new password is refused (NIST 800-63B style: length and blocklist)."""
    reasons = []
    if len(password) < min_length:
        reasons.append("too_short")
    if username and username.lower() in password.lower():
        reasons.append("contains_username")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        reasons.append("too_common")
    return reasons
