"""The web console's shell, static assets and translation catalogs, served beside the API.

None of these responses holds tenant data, so they are the only ``public()`` routes apart
from /healthz: the console must be able to show its sign-in screen, in the user's
language, before anyone has signed in. Everything else it shows comes from the guarded
API afterwards.

Assets are read once from the package's ``web/static/`` folder into a table keyed by their
relative path; a request is answered only when its path is a key of that table, so no URL
(``..``, encoded slashes, absolute paths, symlinks added later) can reach another file.
The translation catalogs are built into the same table from ``web/locales/``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request, Response

from wardwatch.api.guard import GuardedRoute, public
from wardwatch.bootstrap import Container
from wardwatch.kernel.errors import NotFound
from wardwatch.kernel.i18n import LOCALES, catalog

log = logging.getLogger(__name__)

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
"""Only these kinds are served; anything else in the folder stays private."""

CATALOG_GROUPS = (
    "web.",
    "purpose.",
    "camera_status.",
    "facility_type.",
    "area_type.",
    # registry, accounts, theatres and audit screens
    "org_kind.",
    "door_kind.",
    "rollout_status.",
    "role.",
    "permission.",
    "request_status.",
    "object.",
    "profession.",
    "licence_status.",
    "anaesthesia.",
    "direction.",
    "door_result.",
    "procedure_status.",
    # overview, live grid, breach form and playback timeline
    "health_state.",
    "incident_status.",
    "alerts.severity.",
    "breach_category.",
    # alerts, incidents and duty screens
    "incident_event.",
    "gap_reason.",
    "log_kind.",
)
"""Catalog keys the console shows: its own (``web.``) and the labels of API enums."""

SHELL = "index.html"
LOCALE_MARK = "__DEFAULT_LOCALE__"
# The shell's policy: scripts, styles and media only from this origin (MSE plays blob:
# URLs); 'self' covers the same-origin WebSocket of the live view in current browsers.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_COMMON = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
"""Revalidate every time (cheap with ETags): asset names carry no version, and a console
left open on a video wall must pick up an upgrade on its next load."""


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _walk(folder: Traversable, prefix: str = "") -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            found.update(_walk(entry, f"{prefix}{entry.name}/"))
            continue
        suffix = entry.name[entry.name.rfind(".") :] if "." in entry.name else ""
        media_type = MEDIA_TYPES.get(suffix)
        if media_type is not None:
            found[prefix + entry.name] = _asset(entry.read_bytes(), media_type)
    return found


def console_catalog(locale: str) -> dict[str, str]:
    """The part of one locale's catalog that the console uses."""
    return {k: v for k, v in catalog(locale).items() if k.startswith(CATALOG_GROUPS)}


@cache
def assets() -> dict[str, Asset]:
    """Every servable asset by its path under /static/, read once per process."""
    table = _walk(resources.files("wardwatch.web").joinpath("static"))
    for locale in LOCALES:
        body = json.dumps(console_catalog(locale), ensure_ascii=False, sort_keys=True).encode()
        table[f"i18n/{locale}.json"] = _asset(body, MEDIA_TYPES[".json"])
    return table


def _respond(asset: Asset, request: Request, extra: dict[str, str] | None = None) -> Response:
    headers = {**_COMMON, "ETag": asset.etag, **(extra or {})}
    if asset.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


router = APIRouter(route_class=GuardedRoute)


@router.get("/", tags=["console"], response_class=Response)
def shell(request: Request, container: Container = public()) -> Response:
    """The console's single page; it names the instance's default language."""
    page = assets()[SHELL]
    body = page.body.replace(LOCALE_MARK.encode(), container.settings.default_locale.encode())
    return _respond(
        _asset(body, page.media_type),
        request,
        {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"},
    )


@router.get("/static/{asset:path}", tags=["console"], response_class=Response)
def static(asset: str, request: Request, container: Container = public()) -> Response:
    """A file of the console (scripts, styles, catalogs); unknown paths are not found."""
    found = assets().get(asset)
    if found is None or asset == SHELL:
        raise NotFound("not_found", params={"object": "asset"})
    return _respond(found, request)
