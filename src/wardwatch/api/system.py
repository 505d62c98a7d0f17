"""Health, metrics and the API description."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from wardwatch.api.guard import Caller, GuardedRoute, authenticated, public, scrape_token
from wardwatch.bootstrap import Container

router = APIRouter(route_class=GuardedRoute)


@router.get("/healthz", tags=["system"])
def healthz(container: Container = public()) -> JSONResponse:
    """Liveness and database reachability; the only route open to anyone."""
    try:
        with container.db.read() as conn:
            conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})
    except Exception:
        return JSONResponse({"status": "unavailable"}, status_code=503)


@router.get("/metrics", tags=["system"], include_in_schema=True)
def metrics(container: Container = scrape_token()) -> Response:
    return Response(generate_latest(container.metrics_registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/openapi.json", tags=["system"])
def openapi(request: Request, caller: Caller = authenticated()) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema
