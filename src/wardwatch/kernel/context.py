"""Per-request context (request id, locale) carried through logs, audit entries and errors."""

from __future__ import annotations

from contextvars import ContextVar

from wardwatch.kernel.ids import new_id

request_id_var: ContextVar[str | None] = ContextVar("wardwatch_request_id", default=None)
locale_var: ContextVar[str] = ContextVar("wardwatch_locale", default="en")


def current_request_id() -> str:
    """The id of the request being served, or a fresh one for CLI and background work."""
    rid = request_id_var.get()
    if rid is None:
        rid = new_id()
        request_id_var.set(rid)
    return rid


def current_locale() -> str:
    return locale_var.get()
