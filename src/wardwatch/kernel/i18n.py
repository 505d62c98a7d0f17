"""Translation catalogs (vi, zh-Hans, en) for every user-facing string.

Messages are looked up by stable keys (``problem.private_zone.title``) so the API, the CLI
and the web console share one catalog per language, and a test can prove that all three
catalogs hold every key the code uses.
"""

from __future__ import annotations

import json
import logging
import string
from functools import cache
from importlib import resources
from typing import Any

from wardwatch.kernel.context import current_locale

log = logging.getLogger(__name__)

LOCALES: tuple[str, ...] = ("vi", "zh-Hans", "en")
DEFAULT_LOCALE = "en"


@cache
def catalog(locale: str) -> dict[str, str]:
    """The flat key -> message mapping of one locale."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    text = resources.files("wardwatch.web").joinpath("locales", f"{locale}.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


def normalize_locale(value: str | None) -> str | None:
    """Map a BCP 47 tag (``zh-CN``, ``vi-VN``, ``en_US``) onto a supported locale."""
    if not value:
        return None
    tag = value.strip().replace("_", "-").lower()
    if tag.startswith("zh"):
        return "zh-Hans"
    if tag.startswith("vi"):
        return "vi"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(accept_language: str | None, fallback: str = DEFAULT_LOCALE) -> str:
    """Pick the best supported locale from an Accept-Language header."""
    if not accept_language:
        return fallback
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        quality = 1.0
        for param in pieces[1:]:
            name, _, val = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(val)
                except ValueError:
                    quality = 0.0
        locale = normalize_locale(pieces[0])
        if locale and quality > 0:
            weighted.append((-quality, index, locale))
    return sorted(weighted)[0][2] if weighted else fallback


def t(key: str, locale: str | None = None, **params: Any) -> str:
    """Translate ``key`` into ``locale`` (default: the request's), filling ``{name}`` fields."""
    loc = locale or current_locale()
    if loc not in LOCALES:
        loc = DEFAULT_LOCALE
    message = catalog(loc).get(key)
    if message is None:
        message = catalog(DEFAULT_LOCALE).get(key)
        if message is None:
            log.warning("missing translation key %s", key)
            return key
    if not params:
        return message
    try:
        return message.format(**params)
    except (KeyError, IndexError, ValueError):
        log.warning("translation placeholders do not match for %s", key)
        return message


def placeholders(message: str) -> set[str]:
    """The ``{name}`` fields a message expects; used to check catalogs agree."""
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}
