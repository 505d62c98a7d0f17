"""The live coverage check: a gap in the watch, right now, reaches the facility supervisor once.

Run every ``duty.coverage_check_interval_s`` by a ``Periodic`` (and callable directly,
with the container's clock, so tests are deterministic). For each facility under duty
supervision it asks whether anyone is on duty now. A new gap is stored, audited, put on
the bus (``duty.coverage.gap_opened``) and delivered as a ``duty_coverage_gap`` notice to
whoever holds the facility supervisor role over the facility, in the same transaction;
while it lasts nothing more is sent. When someone is on duty again the gap is closed,
audited and announced (``duty.coverage.gap_closed``).

Which facilities are watched: with ``duty.live_gap_scope: rostered`` (the default),
those any shift has ever covered, so a fresh installation without a roster does not
page every supervisor at once; with ``all``, every facility. The coverage report shows
unrostered facilities as uncovered either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.authz.principal import Principal
from wardwatch.duty import store
from wardwatch.duty.directory import Directory, FacilityRef
from wardwatch.duty.model import Gap, live_gap
from wardwatch.duty.roster import Roster
from wardwatch.duty.schemas import LiveGapView
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import NotFound
from wardwatch.kernel.ids import new_id

log = logging.getLogger(__name__)

G = store.coverage_gaps.c
LOOKBACK = timedelta(days=7)
"""How far back a live gap's start is looked for (an older start is shown as this bound)."""


@dataclass(frozen=True)
class CheckResult:
    opened: list[str]
    closed: list[str]


def _view(row: DbRow) -> LiveGapView:
    return LiveGapView(
        id=row.id,
        facility_id=row.facility_id,
        reason=row.reason,
        started_at=row.started_at,
        detected_at=row.detected_at,
        ended_at=row.ended_at,
        recipients=row.recipients,
    )


class CoverageWatch:
    def __init__(self, deps: Deps, roster: Roster, directory: Directory, inbox: Inbox) -> None:
        self.deps = deps
        self.roster = roster
        self.directory = directory
        self.inbox = inbox

    def check(self) -> CheckResult:
        """Open a gap (and notify) for every watched facility nobody covers now; close the rest."""
        settings = self.deps.settings.duty
        now = self.deps.clock.now()
        grace = timedelta(minutes=settings.takeover_grace_minutes)
        facilities = self.directory.all_facilities()
        with self.deps.db.read() as conn:
            if settings.live_gap_scope == "rostered":
                rostered = self.roster.rostered_paths(conn)
                facilities = [f for f in facilities if any(f.path.startswith(p) for p in rostered)]
            shifts = self.roster.active_in(conn, now - LOOKBACK, now + timedelta(microseconds=1), None)
            open_gaps = {
                r.facility_id: r
                for r in conn.execute(select(store.coverage_gaps).where(G.ended_at.is_(None)))
            }
        opened: list[str] = []
        closed: list[str] = []
        failed: list[str] = []
        watched = {f.id for f in facilities}
        for facility in facilities:
            facts = [s.facts() for s in shifts if s.covers(facility.path)]
            gap = live_gap(facts, now, grace, LOOKBACK)
            current = open_gaps.get(facility.id)
            try:
                if gap is not None and current is None:
                    gap_id = self._open(facility, gap)
                    if gap_id is not None:
                        opened.append(gap_id)
                elif gap is None and current is not None:
                    self._close(current)
                    closed.append(current.id)
            except Exception:
                # One facility's failure must not hide the others' gaps; it is raised below.
                log.exception("could not record a coverage gap", extra={"facility_id": facility.id})
                failed.append(facility.id)
        for facility_id, row in open_gaps.items():
            if facility_id not in watched:  # the facility left supervision (or the tree)
                self._close(row)
                closed.append(row.id)
        if failed:
            raise RuntimeError(f"coverage gaps of {len(failed)} facilities could not be recorded")
        return CheckResult(opened, closed)

    def _open(self, facility: FacilityRef, gap: Gap) -> str | None:
        now = self.deps.clock.now()
        gap_id = new_id()
        try:
            with self.deps.uow(system_actor("duty-coverage")) as uow:
                uow.conn.execute(
                    insert(store.coverage_gaps).values(
                        id=gap_id,
                        facility_id=facility.id,
                        facility_path=facility.path,
                        reason=gap.reason.value,
                        started_at=gap.start,
                        detected_at=now,
                        recipients=0,
                        open_facility_id=facility.id,
                    )
                )
                recipients = self.inbox.deliver(
                    uow,
                    node_id=facility.id,
                    roles=["facility_supervisor"],
                    kind=NoticeKind.DUTY_COVERAGE_GAP,
                    params={
                        "facility": facility.name,
                        "since": facility.local(gap.start),
                        "timezone": facility.timezone,
                    },
                    ref_type="duty_coverage_gap",
                    ref_id=gap_id,
                    severity="yellow",
                )
                uow.conn.execute(
                    update(store.coverage_gaps).where(G.id == gap_id).values(recipients=len(recipients))
                )
                payload = {
                    "id": gap_id,
                    "facility_id": facility.id,
                    "reason": gap.reason.value,
                    "started_at": gap.start.isoformat(),
                    "recipients": len(recipients),
                }
                uow.audit(
                    "duty.coverage.gap_open",
                    object_type="duty_coverage_gap",
                    object_id=gap_id,
                    scope=facility.id,
                    details=payload,
                )
                uow.emit("duty.coverage.gap_opened", payload, key=facility.id)
                uow.commit()
        except IntegrityError:
            # Another server opened this facility's gap first; it sent the notice.
            log.info("a coverage gap was opened concurrently", extra={"facility_id": facility.id})
            return None
        log.warning(
            "nobody is on duty at a facility",
            extra={"facility_id": facility.id, "since": gap.start.isoformat(), "reason": gap.reason.value},
        )
        return gap_id

    def _close(self, row: DbRow) -> None:
        now = self.deps.clock.now()
        with self.deps.uow(system_actor("duty-coverage")) as uow:
            done = uow.conn.execute(
                update(store.coverage_gaps)
                .where(and_(G.id == row.id, G.ended_at.is_(None)))
                .values(ended_at=now, open_facility_id=None)
                .returning(G.id)
            ).first()
            if done is None:
                return
            payload = {
                "id": row.id,
                "facility_id": row.facility_id,
                "started_at": row.started_at.isoformat(),
                "ended_at": now.isoformat(),
            }
            uow.audit(
                "duty.coverage.gap_close",
                object_type="duty_coverage_gap",
                object_id=row.id,
                scope=row.facility_id,
                details=payload,
            )
            uow.emit("duty.coverage.gap_closed", payload, key=row.facility_id)
            uow.commit()

    def list_gaps(self, principal: Principal, node_id: str | None, open_only: bool) -> list[LiveGapView]:
        """The live gaps found so far in the facilities the caller may read."""
        with self.deps.db.read() as conn:
            query = select(store.coverage_gaps).where(principal.scope_clause("duty.read", G.facility_path))
            if node_id is not None:
                root = self.roster.registry.node(conn, node_id)
                if root is None:
                    raise NotFound("not_found", params={"object": "org_node"})
                principal.require_visible("duty.read", root.path, object_type="org_node")
                query = query.where(G.facility_path.startswith(root.path, autoescape=True))
            if open_only:
                query = query.where(G.ended_at.is_(None))
            rows = conn.execute(query.order_by(G.started_at.desc(), G.id).limit(500)).all()
        return [_view(r) for r in rows]
