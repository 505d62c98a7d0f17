"""Read-only rules API: the rules in force with their versions and hashes (``alert.read``).

Rules are the platform's, not a facility's: anyone who may read alerts may read the rule
that raised them, and check an alert's stored hash against the rule's.
"""

from __future__ import annotations

from fastapi import APIRouter

from wardwatch.api.guard import Caller, GuardedRoute, permission
from wardwatch.kernel.errors import NotFound
from wardwatch.rules.schemas import RuleDetail, RuleView, rule_detail, rule_view

router = APIRouter(prefix="/api/v1", route_class=GuardedRoute)


@router.get("/rules", response_model=list[RuleView], tags=["rules"])
def list_rules(caller: Caller = permission("alert.read")) -> list[RuleView]:
    rules = caller.container.rules.rules
    locale = caller.principal.locale
    return [rule_view(r, locale) for r in rules.rules] + [
        rule_view(r, locale, enabled=False) for r in rules.disabled
    ]


@router.get("/rules/{rule_id}", response_model=RuleDetail, tags=["rules"])
def get_rule(rule_id: str, caller: Caller = permission("alert.read")) -> RuleDetail:
    rules = caller.container.rules.rules
    rule = rules.get(rule_id)
    if rule is not None:
        return rule_detail(rule, caller.principal.locale)
    off = next((r for r in rules.disabled if r.id == rule_id), None)
    if off is None:
        raise NotFound("not_found", params={"object": "rule"})
    return rule_detail(off, caller.principal.locale, enabled=False)
