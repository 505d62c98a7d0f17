"""The rules wing assembled from settings: the rule set, the service, its tick."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from wardwatch.access.wing import Access
from wardwatch.alerts.service import AlertService
from wardwatch.kernel.bus import EventBus
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import ConfigError
from wardwatch.kernel.periodic import Periodic
from wardwatch.registry.service import RegistryService
from wardwatch.rules.loader import RuleSet, load_rules
from wardwatch.rules.service import RulesService
from wardwatch.rules.spec import RuleError

log = logging.getLogger(__name__)


@dataclass
class RulesWing:
    service: RulesService
    rules: RuleSet
    workers: list[Periodic] = field(default_factory=list)

    def start(self) -> None:
        if not self.service.deps.settings.rules.evaluate:
            log.warning("rules.evaluate is false: no rule raises alerts in this process")
            return
        self.service.start()
        worker = Periodic(
            "rules-tick",
            self.service.deps.settings.rules.tick_s,
            self.service.tick,
            "closing rule windows failed; alerts due at the end of a window may be late",
        )
        worker.start()
        self.workers = [worker]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []


def rule_set(deps: Deps) -> RuleSet:
    """The rules the settings name; a bad rule file refuses to start (file, rule and field)."""
    settings = deps.settings.rules
    try:
        return load_rules(
            builtin=settings.builtin, directories=settings.directories, disabled=settings.disabled
        )
    except RuleError as exc:
        raise ConfigError(f"rules: {exc}") from None


def build_rules(
    deps: Deps, access: Access, alerts: AlertService, registry: RegistryService, bus: EventBus
) -> RulesWing:
    rules = rule_set(deps)
    service = RulesService(deps, access, alerts, registry, rules)
    if deps.settings.rules.evaluate:
        service.subscribe(bus)
    return RulesWing(service, rules)
