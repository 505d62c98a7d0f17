"""Roles bound on the tree: subtree inheritance, deny beats allow, no over-delegation."""

from __future__ import annotations

import pytest

from wardwatch.authz.model import (
    BUILTIN_ROLES,
    PERMISSIONS,
    Binding,
    Grants,
    RoleCatalog,
    UnknownRole,
    over_delegation,
    password_problems,
)

ROOT, PROV, FAC_A, FAC_B = "/r/", "/r/p/", "/r/p/a/", "/r/p/b/"
CATALOG = RoleCatalog()


def grants(*bindings: tuple[str, str, str | None, str | None]) -> Grants:
    return Grants(
        [
            Binding(f"b{i}", "u", path.strip("/").split("/")[-1], path, effect, role, perm)
            for i, (path, effect, role, perm) in enumerate(bindings)
        ],
        CATALOG,
    )


def test_a_role_holds_for_the_whole_subtree_and_nowhere_else() -> None:
    g = grants((FAC_A, "allow", "duty_operator", None))
    assert g.allows("camera.view_live", FAC_A)
    assert g.allows("camera.view_live", FAC_A + "zone/")
    assert not g.allows("camera.view_live", FAC_B)
    assert not g.allows("camera.view_live", PROV)
    assert not g.allows("registry.edit", FAC_A)


def test_explicit_deny_beats_allow_even_when_the_allow_is_deeper() -> None:
    g = grants((ROOT, "deny", None, "recording.export"), (FAC_A, "allow", "supervisor", None))
    assert g.allows("recording.view", FAC_A)
    assert not g.allows("recording.export", FAC_A)
    g2 = grants((PROV, "allow", "supervisor", None), (FAC_B, "deny", "supervisor", None))
    assert g2.allows("camera.view_live", FAC_A)
    assert not g2.allows("camera.view_live", FAC_B)
    assert g2.sees(FAC_A) and not g2.sees(FAC_B)


def test_over_delegation_names_the_permissions_the_granter_lacks() -> None:
    supervisor = grants((PROV, "allow", "supervisor", None))
    assert over_delegation(supervisor, BUILTIN_ROLES["duty_operator"], FAC_A) == []
    missing = over_delegation(supervisor, BUILTIN_ROLES["installer"], FAC_A)
    assert missing == ["registry.edit"]
    assert over_delegation(supervisor, BUILTIN_ROLES["duty_operator"], "/other/") != []


def test_every_role_uses_only_catalogued_permissions_and_custom_roles_are_checked() -> None:
    for perms in BUILTIN_ROLES.values():
        assert perms <= set(PERMISSIONS)
    custom = RoleCatalog({"night_watch": ["camera.view_live", "alert.read"]})
    assert custom.permissions_of("night_watch") == {"camera.view_live", "alert.read"}
    with pytest.raises(UnknownRole):
        RoleCatalog({"bad": ["camera.teleport"]})
    with pytest.raises(UnknownRole):
        RoleCatalog({"auditor": ["alert.read"]})


def test_password_policy_refuses_short_common_and_username_passwords() -> None:
    assert password_problems("short", "nam", 12) == ["too_short"]
    assert "contains_username" in password_problems("nguyenvan-nam-2026", "nguyenvan-nam", 12)
    assert "too_common" in password_problems("password1234", "x", 12)
    assert password_problems("a-long-unique-passphrase", "nam", 12) == []
