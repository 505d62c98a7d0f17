"""Every error leaves the API as RFC 9457 problem+json, translated to the caller's language."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from wardwatch.kernel.context import current_locale, current_request_id
from wardwatch.kernel.errors import PROBLEM_BASE, Problem
from wardwatch.kernel.i18n import catalog, t

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def problem_response(problem: Problem, request: Request) -> JSONResponse:
    locale = getattr(request.state, "locale", None) or current_locale()
    body = problem.to_body(locale, instance=request.url.path)
    body["request_id"] = current_request_id()
    headers = {"WWW-Authenticate": 'Bearer realm="wardwatch"'} if problem.status == 401 else None
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def record_denial(connection: HTTPConnection, problem: Problem) -> None:
    """A refused attempt by a known principal is itself an audited event (HTTP or WebSocket)."""
    principal = getattr(connection.state, "principal", None)
    if principal is None:
        return
    info = problem.audit_info or {
        "action": f"refused.{problem.code}",
        "object_type": "route",
        "object_id": connection.url.path,
        "scope": "",
    }
    method = connection.method if isinstance(connection, Request) else "WEBSOCKET"
    container = connection.app.state.container
    try:
        with container.deps.uow(principal.actor) as uow:
            uow.audit(
                info["action"],
                object_type=info["object_type"],
                object_id=info["object_id"],
                scope=info.get("scope", ""),
                outcome="denied",
                details={"path": connection.url.path, "method": method, "reason": problem.code},
            )
            uow.commit()
    except Exception:
        log.exception("could not record a denied access in the audit log")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "")


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        if exc.status == 403:
            await _run_sync(record_denial, request, exc)
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        locale = getattr(request.state, "locale", None)
        for err in exc.errors():
            key = f"validation.{err['type']}"
            # Unlisted pydantic error types get the generic message, never untranslated text.
            message = t(key if key in catalog("en") else "validation.value_error", locale)
            errors.append(
                {"field": _field(tuple(err.get("loc", ()))), "type": err["type"], "message": message}
            )
        fields = ", ".join(e["field"] for e in errors)
        problem = Problem(
            "validation_failed", status=422, params={"fields": fields}, extra={"errors": errors}
        )
        return problem_response(problem, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        problem = Problem(code, status=exc.status_code)
        response = problem_response(problem, request)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # Two requests raced for the same unique thing; the loser's change was rolled back.
        log.warning("integrity conflict", extra={"path": request.url.path})
        return problem_response(Problem("conflict", status=409), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(Problem("internal", status=500), request)


async def _run_sync(fn: Any, *args: Any) -> None:
    from starlette.concurrency import run_in_threadpool  # noqa: PLC0415

    await run_in_threadpool(fn, *args)


__all__ = ["PROBLEM_BASE", "PROBLEM_JSON", "install", "problem_response", "record_denial"]
