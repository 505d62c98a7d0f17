"""Coverage: every period a facility has nobody on duty, and who is on duty now.

Computed from the roster on demand (see ``model.py`` for when a shift counts as
staffed), for any range within ``duty.coverage_max_days``, in the past or ahead, for the
facilities of a subtree the caller may read with ``duty.read``. Times are given in UTC
and on each facility's own wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from wardwatch.authz.principal import Principal
from wardwatch.duty.directory import Directory, FacilityRef
from wardwatch.duty.model import gaps
from wardwatch.duty.roster import Roster, Shift
from wardwatch.duty.schemas import CoverageView, FacilityCoverageView, GapView, OnDutyView
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound
from wardwatch.kernel.i18n import t


def on_duty(shifts: list[Shift], facility: FacilityRef, now: datetime) -> list[OnDutyView]:
    """The operators who have taken a shift in force over the facility."""
    found = []
    for shift in shifts:
        if not (shift.starts_at <= now < shift.ends_at and shift.covers(facility.path)):
            continue
        for operator in shift.operators.values():
            if operator.taken_at is not None:
                found.append(
                    OnDutyView(
                        user_id=operator.user_id,
                        username=operator.username,
                        shift_id=shift.id,
                        since=max(operator.taken_at, shift.starts_at),
                        until=shift.ends_at,
                    )
                )
    return sorted(found, key=lambda o: (o.username, o.shift_id))


class Coverage:
    def __init__(self, deps: Deps, roster: Roster, directory: Directory) -> None:
        self.deps = deps
        self.roster = roster
        self.directory = directory

    def facilities_for(
        self, principal: Principal, node_id: str | None
    ) -> tuple[list[FacilityRef], str | None]:
        """The facilities of the subtree (default: all) on which the caller holds ``duty.read``."""
        root_path = None
        if node_id is not None:
            with self.deps.db.read() as conn:
                root = self.roster.registry.node(conn, node_id)
            if root is None:
                raise NotFound("not_found", params={"object": "org_node"})
            principal.require_visible("duty.read", root.path, object_type="org_node")
            root_path = root.path
        found = [
            f
            for f in self.directory.facilities(principal)
            if principal.can("duty.read", f.path) and (root_path is None or f.path.startswith(root_path))
        ]
        return found, root_path

    def report(
        self, principal: Principal, node_id: str | None, start: datetime | None, end: datetime | None
    ) -> CoverageView:
        settings = self.deps.settings.duty
        now = self.deps.clock.now()
        start = start or now
        end = end or start + timedelta(days=7)
        if end <= start:
            raise Invalid("range_end_before_start", extra={"field": "end"})
        if end - start > timedelta(days=settings.coverage_max_days):
            raise Invalid(
                "coverage_range_too_long", params={"days": settings.coverage_max_days}, extra={"field": "end"}
            )
        grace = timedelta(minutes=settings.takeover_grace_minutes)
        facilities, root_path = self.facilities_for(principal, node_id)
        with self.deps.db.read() as conn:
            shifts = self.roster.active_in(conn, start, end, root_path)
            current = self.roster.active_in(conn, now, now + timedelta(microseconds=1), root_path)
        views = []
        for facility in facilities:
            mine = [s for s in shifts if s.covers(facility.path)]
            found = gaps((start, end), [s.facts() for s in mine], now, grace)
            uncovered = sum((g.end - g.start).total_seconds() for g in found)
            views.append(
                FacilityCoverageView(
                    facility_id=facility.id,
                    name=facility.name,
                    timezone=facility.timezone,
                    covered_seconds=int((end - start).total_seconds() - uncovered),
                    gaps=[
                        GapView(
                            start=g.start,
                            end=g.end,
                            start_local=facility.local(g.start),
                            end_local=facility.local(g.end),
                            reason=g.reason,
                            reason_label=t(f"gap_reason.{g.reason.value}"),
                        )
                        for g in found
                    ],
                    on_duty=on_duty(current, facility, now),
                )
            )
        return CoverageView(
            node_id=node_id,
            start=start,
            end=end,
            evaluated_at=now,
            takeover_grace_minutes=settings.takeover_grace_minutes,
            facilities=views,
        )
