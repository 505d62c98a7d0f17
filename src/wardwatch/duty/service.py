"""The duty wing's one entry point: roster, coverage, live gap watch, logbook, handovers, breaches.

Other wings plug into it through two seams the container fills: providers of open items
for handovers (``register_open_items``) and resolvers of media references for breach
reports (``register_media_ref``). The roster answers who is on duty now
(``on_duty_at``), for wings that want to reach the person watching a facility.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wardwatch.alerts.inbox import Inbox
from wardwatch.authz.service import AccountService
from wardwatch.duty.breaches import BreachReports, MediaRefResolver
from wardwatch.duty.coverage import Coverage, on_duty
from wardwatch.duty.directory import Directory, FacilityRef
from wardwatch.duty.handover import Handovers, OpenItemsProvider
from wardwatch.duty.logbook import Logbook
from wardwatch.duty.roster import Roster
from wardwatch.duty.schemas import OnDutyView
from wardwatch.duty.watch import CheckResult, CoverageWatch
from wardwatch.kernel.deps import Deps
from wardwatch.registry.service import RegistryService


class DutyService:
    def __init__(self, deps: Deps, registry: RegistryService, accounts: AccountService, inbox: Inbox) -> None:
        self.deps = deps
        self.directory = Directory(deps.db, registry)
        self.roster = Roster(deps, registry, accounts)
        self.coverage = Coverage(deps, self.roster, self.directory)
        self.watch = CoverageWatch(deps, self.roster, self.directory, inbox)
        self.logbook = Logbook(deps, self.roster)
        self.handovers = Handovers(deps, self.roster)
        self.breaches = BreachReports(deps, registry, self.roster, self.logbook, inbox)

    def register_open_items(self, kind: str, provider: OpenItemsProvider) -> None:
        """List open items of ``kind`` (``incident``, ``alert``) in every handover."""
        self.handovers.register(kind, provider)

    def register_media_ref(self, kind: str, resolver: MediaRefResolver) -> None:
        """Check media references of ``kind`` (``clip``) cited by breach reports."""
        self.breaches.register_media_ref(kind, resolver)

    def check_live_gaps(self) -> CheckResult:
        """One run of the live coverage check (the periodic job calls this)."""
        return self.watch.check()

    def on_duty_at(self, facility: FacilityRef, at: datetime) -> list[OnDutyView]:
        """The operators who have taken a shift over ``facility`` in force at ``at``."""
        with self.deps.db.read() as conn:
            shifts = self.roster.active_in(conn, at, at + timedelta(microseconds=1), facility.path)
        return on_duty(shifts, facility, at)
