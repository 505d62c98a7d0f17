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

WebSocket routes use ``GuardedWebSocketRoute`` and the one WebSocket policy,
``ws_permission(p)``. A browser sends cookies with a WebSocket handshake from any site,
and no CSRF header can ride along, so the handshake's ``Origin`` must name this host
(cross-site WebSocket hijacking); a cookie-authenticated handshake without one is
refused. A refusal is a close with code 1008 (policy violation) and the problem code as
its reason, after the handshake is accepted so that a browser can read the reason; a
refused known caller gets a ``denied`` audit entry, as over HTTP.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request, WebSocket
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocketDisconnect, WebSocketState

from wardwatch.api.problems import record_denial
from wardwatch.authz.principal import Principal
from wardwatch.kernel.context import locale_var
from wardwatch.kernel.errors import Forbidden, Problem, Unauthorized
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
WS_POLICY_VIOLATION = 1008
_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessPolicy:
    kind: str
    permission: str | None = None
    allow_mfa_pending: bool = False
    websocket: bool = False

    def describe(self) -> str:
        return f"permission:{self.permission}" if self.permission else self.kind


@dataclass
class Caller:
    """The authenticated principal of a request and the services it may use."""

    principal: Principal
    session: SessionInfo | None
    container: Container


def container_of(request: HTTPConnection) -> Container:
    container: Container = request.app.state.container
    return container


def _request_locale(request: HTTPConnection, saved: str | None) -> str:
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
    _check_policy(policy, principal, session, request.url.path)
    return Caller(principal, session, container)


def _check_policy(policy: AccessPolicy, principal: Principal, session: SessionInfo | None, path: str) -> None:
    """What every policy asks of an authenticated caller: finished MFA set-up, the permission."""
    if session is not None and session.mfa_pending and not policy.allow_mfa_pending:
        raise Forbidden("mfa_enrollment_required")
    if policy.permission is not None and not principal.grants.holds_anywhere(policy.permission):
        raise Forbidden(
            "permission_denied",
            params={"permission": policy.permission},
            extra={"permission": policy.permission},
            audit_info={"action": policy.permission, "object_type": "route", "object_id": path, "scope": ""},
        )


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
        if policy is None or policy.websocket:
            raise RuntimeError(f"route {path} declares no single access policy")
        if policy.kind == "public" and path not in PUBLIC_PATHS:
            raise RuntimeError(f"route {path} may not be public")
        self.access = policy
        extra = dict(self.openapi_extra or {})
        extra["x-wardwatch-access"] = policy.describe()
        self.openapi_extra = extra


# ---------------------------------------------------------------- WebSocket routes


class _Refused:
    """What a WebSocket policy hands the endpoint once it has refused the caller itself."""


_REFUSED = _Refused()


def _origin_matches(connection: HTTPConnection) -> bool | None:
    """Whether the handshake's Origin names this host; None when there is no Origin.

    A Host without a port matches an Origin on its scheme's default port, since a TLS
    proxy in front may hand the handshake on as plain ``ws``.
    """
    origin = connection.headers.get("origin")
    if origin is None:
        return None
    try:
        sent = urlsplit(origin)
        host = urlsplit("//" + connection.headers.get("host", ""))
        sent_port = sent.port or _DEFAULT_PORTS.get(sent.scheme)
        host_port = host.port
    except ValueError:
        return False
    if not sent.hostname or not host.hostname or sent_port is None:
        return False
    if sent.hostname.lower() != host.hostname.lower():
        return False
    return sent_port == host_port if host_port is not None else sent_port in (80, 443)


def authenticate_websocket(websocket: WebSocket, policy: AccessPolicy) -> Caller:
    """The caller of a WebSocket handshake (runs in a worker thread: it reads the database)."""
    container = container_of(websocket)
    accounts = container.accounts
    websocket.state.locale = _request_locale(websocket, None)
    origin = _origin_matches(websocket)
    principal: Principal | None = None
    session: SessionInfo | None = None
    header = websocket.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            principal = accounts.authenticate_token(token.strip())
    else:
        cookie = websocket.cookies.get(SESSION_COOKIE)
        found = accounts.authenticate_session(cookie) if cookie else None
        if found is not None:
            principal, session = found
    if principal is not None:
        websocket.state.principal = principal
        websocket.state.locale = _request_locale(websocket, principal.locale)
    # The Origin is judged before the credentials, so that a foreign page cannot learn from
    # the close reason whether its visitor is signed in here. A cookie only rides along in
    # browsers, and browsers always send an Origin.
    if origin is False or (origin is None and session is not None):
        raise Forbidden(
            "origin_mismatch",
            audit_info={
                "action": "websocket.origin",
                "object_type": "route",
                "object_id": websocket.url.path,
                "scope": "",
            },
        )
    if principal is None:
        raise Unauthorized("unauthenticated")
    _check_policy(policy, principal, session, websocket.url.path)
    return Caller(principal, session, container)


def recheck_websocket(websocket: WebSocket, permission_name: str) -> Caller:
    """Authenticate a long-lived WebSocket's handshake again (a session may since have ended)."""
    return authenticate_websocket(websocket, AccessPolicy("permission", permission_name, websocket=True))


async def refuse_websocket(websocket: WebSocket, problem: Problem) -> None:
    """Close with 1008 and the problem code as the reason (accepting first, so it is read)."""
    if problem.status == 403:
        await run_in_threadpool(record_denial, websocket, problem)
    try:
        if websocket.application_state == WebSocketState.CONNECTING:
            await websocket.accept()
        if websocket.application_state == WebSocketState.CONNECTED:
            await websocket.close(WS_POLICY_VIOLATION, problem.code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        log.debug("a refused WebSocket client left before the close")


def ws_permission(name: str) -> Any:
    """The WebSocket counterpart of ``permission(name)``; use it in ``Annotated[Caller, ...]``."""
    policy = AccessPolicy("permission", name, websocket=True)

    async def dependency(websocket: WebSocket) -> Any:
        try:
            return await run_in_threadpool(authenticate_websocket, websocket, policy)
        except Problem as exc:
            await refuse_websocket(websocket, exc)
            return _REFUSED
        finally:
            locale = getattr(websocket.state, "locale", None)
            if locale:
                locale_var.set(locale)

    return Depends(_policy_dependency(policy, dependency))


def _guard_endpoint(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Skip the endpoint for a refused caller, and turn the problems it raises into refusals."""
    if getattr(endpoint, "__ww_guarded__", False):
        return endpoint

    @functools.wraps(endpoint)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        if any(value is _REFUSED for value in kwargs.values()):
            return None
        websocket = next(v for v in (*args, *kwargs.values()) if isinstance(v, WebSocket))
        try:
            return await endpoint(*args, **kwargs)
        except Problem as exc:
            await refuse_websocket(websocket, exc)
            return None

    guarded.__ww_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def websocket_policy_of(route: BaseRoute) -> AccessPolicy | None:
    """The WebSocket route's single policy, if its endpoint is guarded; None otherwise."""
    endpoint = getattr(route, "endpoint", None)
    dependant = getattr(route, "dependant", None)
    if not getattr(endpoint, "__ww_guarded__", False) or dependant is None:
        return None
    found = [dep.call.__ww_access__ for dep in dependant.dependencies if hasattr(dep.call, "__ww_access__")]
    return found[0] if len(found) == 1 and found[0].websocket else None


class GuardedWebSocketRoute(APIWebSocketRoute):
    """A WebSocket route that will not exist without exactly one ``ws_permission`` policy.

    FastAPI rebuilds included WebSocket routes as plain ones from their endpoint and
    dependencies, so the guard lives in those two (the wrapped endpoint and the policy),
    not in this class; ``websocket_policy_of`` recognises them on any route.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _guard_endpoint(endpoint), **kwargs)
        policy = websocket_policy_of(self)
        if policy is None:
            raise RuntimeError(f"websocket route {path} declares no single WebSocket access policy")
        if self.dependant.websocket_param_name is None:
            raise RuntimeError(f"websocket route {path} must take the WebSocket as a parameter")
        self.access = policy


def add_websocket_route(router: Any, path: str, endpoint: Callable[..., Any]) -> None:
    """Register ``endpoint`` on ``router`` (its prefix applies) as a guarded WebSocket route."""
    router.add_api_websocket_route(path, endpoint)
    plain = router.routes[-1]
    router.routes[-1] = GuardedWebSocketRoute(plain.path, endpoint, name=plain.name)


def leaf_routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route of an app, looking inside included routers (which FastAPI may keep whole)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from leaf_routes(included.routes)
        else:
            yield route


def unguarded_routes(routes: list[BaseRoute]) -> list[str]:
    """Every route that slipped in without an access policy.

    Anything that is neither a ``GuardedRoute`` nor a guarded WebSocket route counts: a plain
    Starlette ``Route``, an ``add_route``, or a ``Mount`` (static files, a sub-application)
    would otherwise serve without a policy.
    """
    found = []
    for route in leaf_routes(routes):
        if isinstance(route, GuardedRoute):
            continue
        if isinstance(route, WebSocketRoute):
            if websocket_policy_of(route) is None:
                found.append(f"websocket {route.path}")
            continue
        found.append(f"{type(route).__name__} {getattr(route, 'path', '?')}")
    return found
