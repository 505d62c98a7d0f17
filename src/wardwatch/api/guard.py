"""Deny by default: a route exists only if it declares who may call it.

Every router uses ``GuardedRoute``, which refuses to build a route whose dependencies do
not include exactly one access policy from this module. The policies are:

- ``permission(p)``: an authenticated principal holding ``p`` somewhere (the service then
  checks ``p`` on the object's own node);
- ``authenticated()``: any authenticated principal (their own profile, logout);
- ``credentials()``: the route itself checks presented credentials (login, activation);
- ``scrape_token()``: the Prometheus scrape token;
- ``public()``: reserved for the routes in ``PUBLIC_PATHS``: ``/healthz`` and the web
  console's shell and static assets, which hold no data (the console fetches everything
  else through the guarded API once the user has signed in).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from wardwatch.authz.principal import Principal
from wardwatch.kernel.context import locale_var
from wardwatch.kernel.errors import Forbidden, Unauthorized
from wardwatch.kernel.i18n import LOCALES, negotiate, normalize_locale

if TYPE_CHECKING:
    from wardwatch.authz.service import SessionInfo
    from wardwatch.bootstrap import Container

SESSION_COOKIE = "ww_session"
CSRF_COOKIE = "ww_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PATHS = frozenset({"/healthz", "/", "/static/{asset:path}"})
"""Route templates (not URLs) that may use ``public()``."""


@dataclass(frozen=True)
class AccessPolicy:
    kind: str
    permission: str | None = None
    allow_mfa_pending: bool = False

    def describe(self) -> str:
        return f"permission:{self.permission}" if self.permission else self.kind


@dataclass
class Caller:
    """The authenticated principal of a request and the services it may use."""

    principal: Principal
    session: SessionInfo | None
    container: Container


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _request_locale(request: Request, saved: str | None) -> str:
    query = normalize_locale(request.query_params.get("lang"))
    if query:
        return query
    if saved in LOCALES:
        return saved
    container = container_of(request)
    return negotiate(request.headers.get("accept-language"), container.settings.default_locale)


def _authenticate(request: Request, policy: AccessPolicy) -> Caller:
    container = container_of(request)
    accounts = container.accounts
    header = request.headers.get("authorization", "")
    principal: Principal | None = None
    session: SessionInfo | None = None
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("unauthenticated")
        principal = accounts.authenticate_token(token.strip())
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            found = accounts.authenticate_session(cookie)
            if found is not None:
                principal, session = found
                if request.method not in _SAFE_METHODS:
                    sent = request.headers.get(CSRF_HEADER, "")
                    if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
                        request.state.locale = _request_locale(request, principal.locale)
                        raise Forbidden("csrf_failed")
    if principal is None:
        raise Unauthorized("unauthenticated")
    request.state.locale = _request_locale(request, principal.locale)
    request.state.principal = principal
    if session is not None and session.mfa_pending and not policy.allow_mfa_pending:
        raise Forbidden("mfa_enrollment_required")
    if policy.permission is not None and not principal.grants.holds_anywhere(policy.permission):
        raise Forbidden(
            "permission_denied",
            params={"permission": policy.permission},
            extra={"permission": policy.permission},
            audit_info={
                "action": policy.permission,
                "object_type": "route",
                "object_id": request.url.path,
                "scope": "",
            },
        )
    return Caller(principal, session, container)


def _policy_dependency(policy: AccessPolicy, fn: Callable[..., Any]) -> Callable[..., Any]:
    fn.__ww_access__ = policy  # type: ignore[attr-defined]
    return fn


async def _authenticated_caller(request: Request, policy: AccessPolicy) -> Caller:
    """Authenticate off the event loop, then adopt the caller's locale in this request's context.

    Sync dependencies run in worker threads whose context changes are lost, so the locale
    is carried back through ``request.state`` and set here, where the endpoint and the
    error handlers will see it.
    """
    try:
        return await run_in_threadpool(_authenticate, request, policy)
    finally:
        locale = getattr(request.state, "locale", None)
        if locale:
            locale_var.set(locale)


def permission(name: str) -> Any:
    """Depends on a principal holding ``name`` (checked again on the object by the service)."""
    policy = AccessPolicy("permission", name)

    async def dependency(request: Request) -> Caller:
        return await _authenticated_caller(request, policy)

    return Depends(_policy_dependency(policy, dependency))


def authenticated(*, allow_mfa_pending: bool = False) -> Any:
    policy = AccessPolicy("authenticated", allow_mfa_pending=allow_mfa_pending)

    async def dependency(request: Request) -> Caller:
        return await _authenticated_caller(request, policy)

    return Depends(_policy_dependency(policy, dependency))


def credentials() -> Any:
    """The endpoint authenticates the credentials in its own body (login, activation)."""
    policy = AccessPolicy("credentials")

    async def dependency(request: Request) -> Container:
        request.state.locale = _request_locale(request, None)
        locale_var.set(request.state.locale)
        return container_of(request)

    return Depends(_policy_dependency(policy, dependency))


def scrape_token() -> Any:
    policy = AccessPolicy("scrape_token")

    def dependency(request: Request) -> Container:
        container = container_of(request)
        expected = container.settings.metrics.token
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if (
            expected is None
            or scheme.lower() != "bearer"
            or not hmac.compare_digest(token.strip().encode(), expected.get_secret_value().encode())
        ):
            raise Unauthorized("unauthenticated")
        return container

    return Depends(_policy_dependency(policy, dependency))


def public() -> Any:
    policy = AccessPolicy("public")

    def dependency(request: Request) -> Container:
        route = request.scope.get("route")
        if getattr(route, "path", None) not in PUBLIC_PATHS:
            raise RuntimeError("public() is reserved for the routes in PUBLIC_PATHS")
        return container_of(request)

    return Depends(_policy_dependency(policy, dependency))


def access_policy_of(route: APIRoute) -> AccessPolicy | None:
    found = [
        dep.call.__ww_access__  # type: ignore[union-attr]
        for dep in route.dependant.dependencies
        if hasattr(dep.call, "__ww_access__")
    ]
    return found[0] if len(found) == 1 else None


class GuardedRoute(APIRoute):
    """An APIRoute that will not exist without exactly one declared access policy."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        policy = access_policy_of(self)
        if policy is None:
            raise RuntimeError(f"route {path} declares no single access policy")
        if policy.kind == "public" and path not in PUBLIC_PATHS:
            raise RuntimeError(f"route {path} may not be public")
        self.access = policy
        extra = dict(self.openapi_extra or {})
        extra["x-wardwatch-access"] = policy.describe()
        self.openapi_extra = extra
