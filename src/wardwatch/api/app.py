"""Assembles the FastAPI application from the wings' routers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from wardwatch import __version__
from wardwatch.access.api import router as access_router
from wardwatch.access.device_api import router as terminal_router
from wardwatch.alerts.api import router as inbox_router
from wardwatch.api import problems
from wardwatch.api.guard import unguarded_routes
from wardwatch.api.middleware import HttpMetrics, RequestContextMiddleware
from wardwatch.api.system import router as system_router
from wardwatch.audit.api import router as audit_router
from wardwatch.authz.api import router as authz_router
from wardwatch.bootstrap import Container
from wardwatch.duty.api import router as duty_router
from wardwatch.health.api import router as health_router
from wardwatch.media.api import router as media_router
from wardwatch.media.live_api import router as live_router
from wardwatch.overview.api import router as overview_router
from wardwatch.registry.api import router as registry_router
from wardwatch.rules.api import router as rules_router
from wardwatch.web.routes import router as web_router

ROUTERS = (
    # First: routes are matched in this order, and door terminals post a hundred batches a
    # second while people's requests are a handful; their paths overlap no other router's.
    terminal_router,
    system_router,
    authz_router,
    registry_router,
    audit_router,
    media_router,
    live_router,
    web_router,
    inbox_router,
    duty_router,
    access_router,
    health_router,
    rules_router,
    overview_router,
)


def create_app(
    container: Container,
    *,
    manage_lifecycle: bool = True,
    on_started: Callable[[], None] | None = None,
) -> FastAPI:
    """The API; refuses to start if any route (HTTP or WebSocket) slipped in without an access policy."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            container.start()
        if on_started is not None:
            on_started()
        try:
            yield
        finally:
            if manage_lifecycle:
                container.stop()

    app = FastAPI(
        title="WardWatch",
        version=__version__,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = container
    for router in ROUTERS:
        app.include_router(router)
    # HTTP and WebSocket routes alike, inside included routers too (FastAPI may keep them whole).
    unguarded = unguarded_routes(app.routes)
    if unguarded:
        raise RuntimeError(f"routes without an access policy: {unguarded}")
    problems.install(app)
    metrics = container.extensions.get("http_metrics")
    if metrics is None:
        metrics = container.extensions["http_metrics"] = HttpMetrics(container.metrics_registry)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, default_locale=container.settings.default_locale
    )
    return app
