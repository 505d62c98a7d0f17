"""Domain errors that become RFC 9457 problem+json responses or one-line CLI messages.

Each problem has a stable ``code``; its type URI, title and detail come from it, and the
title and detail are translated from the catalog (``problem.<code>.title`` / ``.detail``).
"""

from __future__ import annotations

from typing import Any

from wardwatch.kernel.i18n import t

PROBLEM_BASE = "https://wardwatch.org/problems/"

# Parameters whose values are catalogue ids and are shown by their translated label.
_LABELLED = {
    "object": "object",
    "area_type": "area_type",
    "role": "role",
    "current": "rollout_status",
    "target": "rollout_status",
    "parent_kind": "org_kind",
    "kind": "org_kind",
    "status": "request_status",
    "what": "range_kind",
}


class Problem(Exception):
    """A refusal with a reason a user can act on."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        code: str | None = None,
        *,
        status: int | None = None,
        params: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        audit_info: dict[str, str] | None = None,
    ) -> None:
        self.code = code or type(self).code
        # What a refused caller attempted, for a "denied" audit entry written by the API.
        self.audit_info = audit_info
        self.status = status or type(self).status
        self.params = params or {}
        self.extra = extra or {}
        super().__init__(self.code)

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.code.replace("_", "-")

    def title(self, locale: str | None = None) -> str:
        return t(f"problem.{self.code}.title", locale)

    def detail(self, locale: str | None = None) -> str:
        params = {
            key: t(f"{_LABELLED[key]}.{value}", locale) if key in _LABELLED else value
            for key, value in self.params.items()
        }
        return t(f"problem.{self.code}.detail", locale, **params)

    def to_body(self, locale: str | None = None, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title(locale),
            "status": self.status,
            "detail": self.detail(locale),
            "code": self.code,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body

    def __str__(self) -> str:
        return self.detail()


class BadRequest(Problem):
    status = 400
    code = "bad_request"


class Unauthorized(Problem):
    status = 401
    code = "unauthorized"


class Forbidden(Problem):
    status = 403
    code = "forbidden"


class NotFound(Problem):
    status = 404
    code = "not_found"


class Conflict(Problem):
    status = 409
    code = "conflict"


class Invalid(Problem):
    """Input that is well-formed but breaks a rule; names the field and the rule."""

    status = 422
    code = "invalid"


class Locked(Problem):
    status = 423
    code = "account_locked"


class ConfigError(Exception):
    """A configuration file or variable that cannot be used; the message says where."""
