"""Request context, access logging and metrics, as plain ASGI middleware (no body buffering)."""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wardwatch.kernel.context import locale_var, request_id_var
from wardwatch.kernel.i18n import negotiate, normalize_locale
from wardwatch.kernel.ids import new_id

log = logging.getLogger("wardwatch.access")
_RID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "wardwatch_http_requests_total",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "wardwatch_http_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
        )


class RequestContextMiddleware:
    """Gives each request an id (echoed as X-Request-ID), a locale, a log line and metrics."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics, default_locale: str) -> None:
        self.app = app
        self.metrics = metrics
        self.default_locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        incoming = headers.get("x-request-id", "")
        rid = incoming if _RID.match(incoming) else new_id()
        rid_token = request_id_var.set(rid)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        locale = normalize_locale((query.get("lang") or [""])[0]) or negotiate(
            headers.get("accept-language"), self.default_locale
        )
        locale_token = locale_var.set(locale)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route: Any = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "request_id": rid,
                },
            )
            request_id_var.reset(rid_token)
            locale_var.reset(locale_token)
