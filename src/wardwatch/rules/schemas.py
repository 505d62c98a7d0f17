"""What the rules API shows of a rule: identity, version, hash, and what it says in each language."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from wardwatch.rules.spec import Rule


class RuleView(BaseModel):
    id: str
    version: str
    hash: str
    severity: str
    window: str
    evaluate: str
    group_by: list[str]
    measures: list[str]
    condition: str
    title: str
    description: str
    titles: dict[str, str]
    descriptions: dict[str, str]
    origin: str
    enabled: bool


class RuleDetail(RuleView):
    canonical: dict[str, Any]
    """The canonical form the hash is computed over."""


def rule_view(rule: Rule, locale: str, *, enabled: bool = True) -> RuleView:
    return RuleView(**_fields(rule, locale, enabled))


def rule_detail(rule: Rule, locale: str, *, enabled: bool = True) -> RuleDetail:
    return RuleDetail(**_fields(rule, locale, enabled), canonical=json.loads(rule.canonical))


def _fields(rule: Rule, locale: str, enabled: bool) -> dict[str, Any]:
    return {
        "id": rule.id,
        "version": rule.version,
        "hash": rule.hash,
        "severity": rule.severity.value,
        "window": rule.window.value,
        "evaluate": rule.evaluate,
        "group_by": list(rule.group_by),
        "measures": [m.name for m in rule.measures],
        "condition": rule.condition.text,
        "title": rule.titles.get(locale) or rule.titles["en"],
        "description": rule.descriptions.get(locale) or rule.descriptions["en"],
        "titles": dict(rule.titles),
        "descriptions": dict(rule.descriptions),
        "origin": rule.origin,
        "enabled": enabled,
    }
