"""The authenticated caller and the single place where permission checks are made."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from wardwatch.authz.model import Grants
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.errors import Forbidden, NotFound

AccountKind = Literal["person", "device"]


@dataclass(frozen=True)
class Principal:
    actor: Actor
    user_id: str
    username: str
    kind: AccountKind
    grants: Grants
    locale: str
    session_id: str | None = None
    via: Literal["session", "token", "system"] = "session"

    def require(
        self, permission: str, node_path: str, *, object_type: str, object_id: str, node_id: str
    ) -> None:
        """Allow, or refuse: 404 outside everything the caller may see, 403 inside it.

        A 403 carries what was attempted so the API can write a ``denied`` audit entry.
        """
        if self.grants.allows(permission, node_path):
            return
        if not self.grants.sees(node_path):
            raise NotFound("not_found", params={"object": object_type})
        raise Forbidden(
            "permission_denied",
            params={"permission": permission},
            extra={"permission": permission},
            audit_info={
                "action": permission,
                "object_type": object_type,
                "object_id": object_id,
                "scope": node_id,
            },
        )

    def require_visible(self, permission: str, node_path: str, *, object_type: str) -> None:
        """For reads: an object the caller may not read is one they are not told about."""
        if not self.grants.allows(permission, node_path):
            raise NotFound("not_found", params={"object": object_type})

    def can(self, permission: str, node_path: str) -> bool:
        return self.grants.allows(permission, node_path)

    def scope_clause(self, permission: str, path_column: ColumnElement[str]) -> ColumnElement[bool]:
        """SQL condition selecting rows whose node path the caller holds ``permission`` on."""
        allowed, denied = self.grants.scope_of(permission)
        if not allowed:
            return false()
        clause = or_(*(path_column.startswith(p, autoescape=True) for p in allowed))
        if denied:
            clause = and_(clause, not_(or_(*(path_column.startswith(p, autoescape=True) for p in denied))))
        return clause if allowed else true()
