"""Camera health states: what the recorder and the analysis report, written down and announced.

Three sources speak about a camera: the recorder's connection (``media.stream.status`` on
the bus), the analysis worker's own connection, and the analysis of its keyframes. The
service keeps what each said last, works out the camera's state (``model.assess``) and,
when it changes, writes it down in one unit of work: the state, the closed and opened
periods (for uptime), the keyframe that decided it (evidence), an audit entry, the bus
event ``health.camera.state`` and whatever it means for the camera's incident.

A state change is audited although a device, not a person, caused it: a covered or
disconnected camera is exactly what the guidance forbids people to do to a camera, so
the tamper-evident log should show when supervision was lost and regained.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from wardwatch.authz.model import Binding, Grants, RoleCatalog
from wardwatch.authz.principal import Principal
from wardwatch.health import store
from wardwatch.health.messages import BaselineReport, LinkReport, PictureReport, Report, WatchJob
from wardwatch.health.model import (
    FAULTS,
    NO_REASON,
    Assessment,
    HealthState,
    LinkStatus,
    Period,
    Reason,
    Thresholds,
    Uptime,
    assess,
    recorder_link,
    recorder_reason,
)
from wardwatch.health.model import uptime as uptime_of
from wardwatch.health.schemas import (
    CameraHealthView,
    CameraHistoryView,
    CameraUptime,
    FacilityUptime,
    HealthPeriodView,
    ReasonView,
    UptimeFigures,
    UptimeView,
)
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.bus import Event
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

ACTOR = system_actor("health")
S = store.camera_state.c
P = store.periods.c
B = store.baselines.c
INC = store.incidents.c
MAX_UPTIME_DAYS = 366


@dataclass(frozen=True)
class CameraInfo:
    id: str
    name: str
    facility_id: str
    facility_path: str


@dataclass(frozen=True)
class Evidence:
    jpeg: bytes
    width: int
    height: int
    measured: dict[str, Any]


@dataclass
class _State:
    """One camera's health row, as read and about to be written."""

    camera_id: str
    facility_id: str
    facility_path: str
    state: HealthState
    reason: Reason
    since: datetime
    fault_since: datetime | None
    recorder: LinkStatus
    recorder_reason: Reason
    recorder_at: datetime | None
    analyser: LinkStatus
    analyser_reason: Reason
    picture: HealthState
    picture_reason: Reason
    measured: dict[str, Any]
    evidence_id: str | None
    seen_at: datetime

    @classmethod
    def fresh(cls, camera: CameraInfo, now: datetime) -> _State:
        return cls(
            camera.id,
            camera.facility_id,
            camera.facility_path,
            HealthState.UNKNOWN,
            Reason("waiting"),
            now,
            None,
            LinkStatus.UNKNOWN,
            NO_REASON,
            None,
            LinkStatus.UNKNOWN,
            NO_REASON,
            HealthState.OK,
            NO_REASON,
            {},
            None,
            now,
        )

    @classmethod
    def of(cls, row: DbRow) -> _State:
        return cls(
            row.camera_id,
            row.facility_id,
            row.facility_path,
            HealthState(row.state),
            _reason(row.reason),
            row.since,
            row.fault_since,
            LinkStatus(row.recorder),
            _reason(row.recorder_reason),
            row.recorder_at,
            LinkStatus(row.analyser),
            _reason(row.analyser_reason),
            HealthState(row.picture),
            _reason(row.picture_reason),
            dict(row.measured or {}),
            row.evidence_id,
            row.seen_at,
        )

    def values(self, now: datetime) -> dict[str, Any]:
        return {
            "facility_id": self.facility_id,
            "facility_path": self.facility_path,
            "state": self.state.value,
            "reason": self.reason.as_json(),
            "since": self.since,
            "fault_since": self.fault_since,
            "recorder": self.recorder.value,
            "recorder_reason": self.recorder_reason.as_json(),
            "recorder_at": self.recorder_at,
            "analyser": self.analyser.value,
            "analyser_reason": self.analyser_reason.as_json(),
            "picture": self.picture.value,
            "picture_reason": self.picture_reason.as_json(),
            "measured": self.measured,
            "evidence_id": self.evidence_id,
            "seen_at": self.seen_at,
            "updated_at": now,
        }


def _reason(data: Any) -> Reason:
    if isinstance(data, dict):
        return Reason(str(data.get("code") or "none"), dict(data.get("params") or {}))
    return NO_REASON


StateHook = Callable[[UnitOfWork, CameraInfo, HealthState, Assessment, str | None, datetime], None]
"""Called inside the unit of work of every state change (the incidents react to it)."""


class HealthService:
    def __init__(
        self,
        deps: Deps,
        registry: RegistryService,
        roles: RoleCatalog,
        *,
        recording: Callable[[], bool] = lambda: False,
    ) -> None:
        self.deps = deps
        self.registry = registry
        self.roles = roles
        self.recording = recording
        self.on_change: list[StateHook] = []
        self._lock = threading.RLock()
        self._cameras: dict[str, CameraInfo] = {}
        # When each camera's analysis connection went down (monotonic), and which of them
        # were since judged against the grace period: kept in memory, a restart starts afresh.
        self._analyser_down: dict[str, float] = {}
        self._recorder_up: dict[str, float] = {}
        self._graced: set[str] = set()

    @property
    def settings(self) -> Any:
        return self.deps.settings.health

    # ---------------------------------------------------------------- the camera directory

    def _reader(self, conn: Connection) -> Principal:
        """WardWatch itself reading the registry (names and facilities of cameras), nothing more."""
        bindings = [
            Binding(f"health-{root.id}", "system", root.id, root.path, "allow", permission="registry.read")
            for root in self.registry.roots(conn)
        ]
        return Principal(
            ACTOR, "system", "wardwatch", "device", Grants(bindings, self.roles), "en", via="system"
        )

    def refresh_cameras(self) -> dict[str, CameraInfo]:
        with self.deps.db.read() as conn:
            reader = self._reader(conn)
        cameras = self.registry.list_cameras(reader, None)
        with self.deps.db.read() as conn:
            paths = self.registry.paths_of(conn, sorted({c.facility_id for c in cameras}))
        found = {c.id: CameraInfo(c.id, c.name, c.facility_id, paths.get(c.facility_id, "")) for c in cameras}
        with self._lock:
            self._cameras = found
        return found

    def camera(self, camera_id: str) -> CameraInfo | None:
        with self._lock:
            found = self._cameras.get(camera_id)
        if found is None:
            found = self.refresh_cameras().get(camera_id)
        return found

    # ---------------------------------------------------------------- analysis jobs

    def thresholds(self) -> Thresholds:
        h = self.settings
        return Thresholds(
            learn_samples=h.learn_samples,
            blank_uniform=h.black_uniform,
            frozen_ratio=h.frozen_ratio,
            covered_ratio=h.covered_ratio,
            moved_similarity=h.moved_similarity,
            degraded_fps_ratio=h.degraded_fps_ratio,
            degraded_bitrate_ratio=h.degraded_bitrate_ratio,
            confirm={
                HealthState.BLACK: h.black_confirm,
                HealthState.FROZEN: h.frozen_confirm,
                HealthState.COVERED: h.covered_confirm,
                HealthState.MOVED: h.moved_confirm,
                HealthState.DEGRADED: h.degraded_confirm,
            },
            recover_confirm=h.recover_confirm,
        )

    def jobs(self) -> list[WatchJob]:
        """One watch per active camera, on its sub stream where it has one."""
        h = self.settings
        thresholds = self.thresholds()
        with self.deps.db.read() as conn:
            cameras = self.registry.active_cameras(conn)
            stored = {r.camera_id: r for r in conn.execute(select(store.baselines))}
        jobs = []
        for camera in cameras:
            url = camera.sub_url if h.stream == "sub" and camera.sub_url else camera.main_url
            saved = stored.get(camera.id)
            jobs.append(
                WatchJob(
                    camera_id=camera.id,
                    url=url,
                    username=camera.credentials[0] if camera.credentials else None,
                    password=camera.credentials[1] if camera.credentials else None,
                    thresholds=thresholds,
                    interval_s=h.keyframe_interval_s,
                    analysis_width=h.analysis_width,
                    evidence_width=h.evidence_width,
                    read_timeout_s=h.read_timeout_s,
                    stall_s=h.stall_s,
                    transport=self.deps.settings.media.transport,
                    baseline_save_s=h.baseline_save_s,
                    baseline=saved.baseline if saved is not None else None,
                    reference=bytes(saved.reference) if saved is not None and saved.reference else None,
                )
            )
        return jobs

    # ---------------------------------------------------------------- reports

    def handle(self, report: Report) -> None:
        """A report from an analysis worker."""
        if isinstance(report, PictureReport):
            evidence = (
                Evidence(report.jpeg, report.width, report.height, report.measured) if report.jpeg else None
            )

            def picture(s: _State) -> None:
                s.picture, s.picture_reason = report.condition, report.reason
                s.measured = dict(report.measured)

            self._update(report.camera_id, picture, evidence=evidence)
        elif isinstance(report, LinkReport):

            def link(s: _State) -> None:
                s.analyser, s.analyser_reason = report.status, report.reason

            self._update(report.camera_id, link)
        elif isinstance(report, BaselineReport):
            self.save_baseline(report)

    def on_stream_status(self, event: Event) -> None:
        """``media.stream.status`` from the recorder (stale or replayed ones are ignored)."""
        payload = event.payload
        link = recorder_link(str(payload.get("status", "")))
        if link is None:
            return
        at = _parse_time(payload.get("at")) or datetime.now(UTC)
        reason = recorder_reason(
            str(payload.get("status")), str(payload.get("reason", "")), payload.get("details")
        )

        def recorder(s: _State) -> bool:
            if s.recorder_at is not None and at < s.recorder_at:
                return False
            s.recorder, s.recorder_reason, s.recorder_at = link, reason, at
            return True

        self._update(str(payload.get("camera_id", "")), recorder)

    def save_baseline(self, report: BaselineReport) -> None:
        """Keep a camera's learnt normal (telemetry: no audit entry, nobody did anything)."""
        now = self.deps.clock.now()
        values = {
            "baseline": report.baseline,
            "reference": report.reference,
            "learnt": report.learnt,
            "updated_at": now,
        }
        with self._lock, self.deps.db.write() as conn:
            done = conn.execute(
                update(store.baselines)
                .where(B.camera_id == report.camera_id)
                .values(**values)
                .returning(B.camera_id)
            ).first()
            if done is None:
                if self.camera(report.camera_id) is None:
                    return
                conn.execute(insert(store.baselines).values(camera_id=report.camera_id, **values))
            conn.execute(
                update(store.camera_state)
                .where(S.camera_id == report.camera_id)
                .values(measured=report.measured, seen_at=now, updated_at=now)
            )

    def unwatch(self, camera_id: str, reason: str = "camera_inactive", at: datetime | None = None) -> None:
        """The camera is no longer watched: its state is unknown from now (or ``at``) on."""

        def forget(s: _State) -> None:
            s.recorder, s.recorder_reason = LinkStatus.UNKNOWN, NO_REASON
            s.recorder_at = datetime.now(UTC)
            s.analyser, s.analyser_reason = LinkStatus.UNKNOWN, NO_REASON

        self._update(
            camera_id, forget, force=Assessment(HealthState.UNKNOWN, Reason(reason), "monitoring"), at=at
        )

    def forget_inactive(self) -> int:
        """Cameras no longer active are no longer watched: their state becomes unknown."""
        with self.deps.db.read() as conn:
            active = {c.id for c in self.registry.active_cameras(conn)}
            known = [
                r.camera_id
                for r in conn.execute(select(S.camera_id).where(S.state != HealthState.UNKNOWN.value))
            ]
        gone = [camera_id for camera_id in known if camera_id not in active]
        for camera_id in gone:
            self.unwatch(camera_id, "camera_inactive")
        return len(gone)

    def suspend_all(self, reason: str = "monitoring_stopped") -> int:
        """Every watched camera's state becomes unknown (WardWatch stops watching)."""
        with self.deps.db.read() as conn:
            ids = [
                r.camera_id
                for r in conn.execute(select(S.camera_id).where(S.state != HealthState.UNKNOWN.value))
            ]
        for camera_id in ids:
            self.unwatch(camera_id, reason)
        return len(ids)

    def resume(self) -> int:
        """At start-up: states a previous run left standing end when it was last heard from.

        After a crash nobody knows what the cameras did while WardWatch was down, so that
        time is unknown rather than counted as whatever state was last seen.
        """
        with self.deps.db.read() as conn:
            rows = conn.execute(select(store.camera_state).where(S.state != HealthState.UNKNOWN.value)).all()
        for row in rows:
            self.unwatch(row.camera_id, "monitoring_restarted", at=max(row.since, row.seen_at))
        return len(rows)

    def reassess(self) -> int:
        """Judge again the cameras whose analysis connection has been down past the grace
        period while the recorder still receives their video (offline becomes degraded)."""
        grace = self.settings.analysis_grace_s
        now = time.monotonic()
        with self._lock:
            due = [
                camera_id
                for camera_id, since in self._analyser_down.items()
                if camera_id in self._recorder_up
                and now - max(since, self._recorder_up[camera_id]) >= grace
                and camera_id not in self._graced
            ]
            self._graced.update(due)
        for camera_id in due:
            self._update(camera_id, lambda _s: None)
        return len(due)

    def analyser_lost(self, camera_ids: set[str]) -> None:
        """An analysis worker died: its cameras' pictures are unwatched until it is back."""
        for camera_id in camera_ids:

            def lost(s: _State) -> None:
                s.analyser, s.analyser_reason = LinkStatus.LOST, Reason("analysis_worker_died")

            self._update(camera_id, lost)

    def forget_baseline(self, principal: Principal, camera_id: str) -> str:
        """Drop the camera's stored normal and reference, audited (it was re-aimed on purpose)."""
        with self.deps.uow(principal.actor) as uow:
            camera = self.registry.camera_for(uow.conn, principal, camera_id, "registry.edit")
            uow.conn.execute(delete(store.baselines).where(B.camera_id == camera.id))
            uow.audit(
                "camera.health.rebaseline",
                object_type="camera",
                object_id=camera.id,
                scope=camera.facility_id,
            )
            uow.emit(
                "health.camera.rebaselined",
                {"camera_id": camera.id, "facility_id": camera.facility_id},
                key=camera.id,
            )
            uow.commit()
        return camera.id

    # ---------------------------------------------------------------- state changes

    def _update(
        self,
        camera_id: str,
        change: Callable[[_State], bool | None],
        *,
        evidence: Evidence | None = None,
        force: Assessment | None = None,
        at: datetime | None = None,
    ) -> HealthState | None:
        camera = self.camera(camera_id)
        if camera is None:
            log.warning(
                "a health report for a camera the registry does not know", extra={"camera_id": camera_id}
            )
            return None
        with self._lock:
            now = at or self.deps.clock.now()
            with self.deps.db.read() as conn:
                row = conn.execute(select(store.camera_state).where(S.camera_id == camera_id)).first()
            before = _State.of(row) if row is not None else _State.fresh(camera, now)
            after = replace(before, measured=dict(before.measured))
            if change(after) is False:
                return before.state
            if row is None and force is not None and force.state == HealthState.UNKNOWN:
                return None  # never watched: nothing to end
            after.seen_at = now
            lost_s = self._lost_while_recorded(camera_id, after)
            verdict = force or assess(
                recorder=after.recorder,
                recorder_reason=after.recorder_reason,
                analyser=after.analyser,
                analyser_reason=after.analyser_reason,
                picture=after.picture,
                picture_reason=after.picture_reason,
                recording=self.recording(),
                lost_while_recorded_s=lost_s,
                grace_s=self.settings.analysis_grace_s,
            )
            if verdict.state == before.state and row is not None:
                if verdict.reason != before.reason and verdict.state in FAULTS:
                    after.reason = verdict.reason
                with self.deps.db.write() as conn:
                    conn.execute(
                        update(store.camera_state).where(S.camera_id == camera_id).values(**after.values(now))
                    )
                return after.state
            self._change(camera, before, after, verdict, evidence, now, exists=row is not None)
            return after.state

    def _lost_while_recorded(self, camera_id: str, s: _State) -> float:
        """For how long the recorder has had video while the analysis connection had none."""
        now = time.monotonic()
        if s.recorder in (LinkStatus.ONLINE, LinkStatus.DEGRADED):
            recorder_up = self._recorder_up.setdefault(camera_id, now)
        else:
            self._recorder_up.pop(camera_id, None)
            recorder_up = None
        if s.analyser in (LinkStatus.OFFLINE, LinkStatus.AUTH_FAILED):
            analyser_down = self._analyser_down.setdefault(camera_id, now)
        else:
            self._analyser_down.pop(camera_id, None)
            self._graced.discard(camera_id)
            analyser_down = None
        if recorder_up is None or analyser_down is None:
            return 0.0
        return now - max(recorder_up, analyser_down)

    def _change(
        self,
        camera: CameraInfo,
        before: _State,
        after: _State,
        verdict: Assessment,
        evidence: Evidence | None,
        now: datetime,
        *,
        exists: bool,
    ) -> None:
        after.state, after.reason, after.since = verdict.state, verdict.reason, now
        if verdict.state in FAULTS:
            after.fault_since = before.fault_since if before.state in FAULTS and before.fault_since else now
        else:
            after.fault_since = None
        with self.deps.uow(ACTOR) as uow:
            conn = uow.conn
            evidence_id = self._store_evidence(conn, camera, verdict.state, evidence, now)
            if evidence_id is not None:
                after.evidence_id = evidence_id
            conn.execute(
                update(store.periods).where(and_(P.camera_id == camera.id, P.end.is_(None))).values(end=now)
            )
            conn.execute(
                insert(store.periods).values(
                    id=new_id(),
                    camera_id=camera.id,
                    facility_id=camera.facility_id,
                    facility_path=camera.facility_path,
                    state=verdict.state.value,
                    reason=verdict.reason.as_json(),
                    start=now,
                    end=None,
                    evidence_id=evidence_id,
                )
            )
            if exists:
                conn.execute(
                    update(store.camera_state).where(S.camera_id == camera.id).values(**after.values(now))
                )
            else:
                conn.execute(insert(store.camera_state).values(camera_id=camera.id, **after.values(now)))
            measured = evidence.measured if evidence is not None else after.measured
            uow.audit(
                "camera.health",
                object_type="camera",
                object_id=camera.id,
                scope=camera.facility_id,
                details={
                    "from": before.state.value,
                    "to": verdict.state.value,
                    "reason": verdict.reason.as_json(),
                    "source": verdict.source,
                    "evidence_id": evidence_id,
                },
            )
            uow.emit(
                "health.camera.state",
                {
                    "camera_id": camera.id,
                    "facility_id": camera.facility_id,
                    "state": verdict.state.value,
                    "previous": before.state.value,
                    "reason": verdict.reason.as_json(),
                    "source": verdict.source,
                    "at": now.isoformat(),
                    "fault_since": after.fault_since.isoformat() if after.fault_since else None,
                    "measured": measured,
                    "evidence_id": evidence_id,
                },
                key=camera.id,
            )
            for hook in self.on_change:
                hook(uow, camera, before.state, verdict, evidence_id, now)
            uow.commit()
        log.info(
            "camera health changed",
            extra={"camera_id": camera.id, "from": before.state.value, "to": verdict.state.value},
        )

    def _store_evidence(
        self,
        conn: Connection,
        camera: CameraInfo,
        state: HealthState,
        evidence: Evidence | None,
        now: datetime,
    ) -> str | None:
        if evidence is None:
            return None
        evidence_id = new_id()
        conn.execute(
            insert(store.evidence).values(
                id=evidence_id,
                camera_id=camera.id,
                facility_id=camera.facility_id,
                state=state.value,
                start=now,
                end=now,
                jpeg=evidence.jpeg,
                width=evidence.width,
                height=evidence.height,
                sha256=hashlib.sha256(evidence.jpeg).hexdigest(),
                measured=evidence.measured,
            )
        )
        return evidence_id

    # ---------------------------------------------------------------- reading

    def _view(self, row: DbRow, learnt: bool, incident_id: str | None) -> CameraHealthView:
        return CameraHealthView(
            camera_id=row.camera_id,
            facility_id=row.facility_id,
            state=HealthState(row.state),
            reason=ReasonView.of(row.reason),
            since=row.since,
            fault_since=row.fault_since,
            recorder=row.recorder,
            analyser=row.analyser,
            picture=HealthState(row.picture),
            measured=dict(row.measured or {}),
            learnt=learnt,
            evidence_id=row.evidence_id,
            open_incident_id=incident_id,
            seen_at=row.seen_at,
        )

    def _views(self, conn: Connection, camera_ids: list[str]) -> list[CameraHealthView]:
        if not camera_ids:
            return []
        rows = conn.execute(select(store.camera_state).where(S.camera_id.in_(camera_ids))).all()
        learnt = {
            r.camera_id: bool(r.learnt)
            for r in conn.execute(select(B.camera_id, B.learnt).where(B.camera_id.in_(camera_ids)))
        }
        open_ids = {
            r.camera_id: r.id
            for r in conn.execute(select(INC.camera_id, INC.id).where(INC.open_key.in_(camera_ids)))
        }
        order = {camera_id: index for index, camera_id in enumerate(camera_ids)}
        views = [self._view(r, learnt.get(r.camera_id, False), open_ids.get(r.camera_id)) for r in rows]
        return sorted(views, key=lambda v: order[v.camera_id])

    def camera_health(self, principal: Principal, camera_id: str) -> CameraHealthView:
        with self.deps.db.read() as conn:
            camera = self.registry.camera_for(conn, principal, camera_id, "registry.read")
            found = self._views(conn, [camera.id])
        if not found:
            raise NotFound("not_found", params={"object": "camera_health"})
        return found[0]

    def list_health(self, principal: Principal, facility_id: str | None) -> list[CameraHealthView]:
        cameras = self.registry.list_cameras(principal, facility_id)
        with self.deps.db.read() as conn:
            return self._views(conn, [c.id for c in cameras])

    def history(
        self, principal: Principal, camera_id: str, start: datetime, end: datetime
    ) -> CameraHistoryView:
        with self.deps.db.read() as conn:
            camera = self.registry.camera_for(conn, principal, camera_id, "registry.read")
            rows = conn.execute(
                select(store.periods)
                .where(and_(P.camera_id == camera.id, P.start < end, or_(P.end.is_(None), P.end > start)))
                .order_by(P.start)
            ).all()
        return CameraHistoryView(
            camera_id=camera.id,
            start=start,
            end=end,
            periods=[
                HealthPeriodView(
                    state=HealthState(r.state),
                    reason=ReasonView.of(r.reason),
                    start=r.start,
                    end=r.end,
                    evidence_id=r.evidence_id,
                )
                for r in rows
            ],
        )

    def uptime(self, principal: Principal, node_id: str, start: datetime, end: datetime) -> UptimeView:
        """Up and down time of every camera in the node's subtree, per facility and in total."""
        if (end - start).days > MAX_UPTIME_DAYS:
            raise Invalid("uptime_range_too_long", params={"days": MAX_UPTIME_DAYS}, extra={"field": "end"})
        now = self.deps.clock.now()
        with self.deps.db.read() as conn:
            node = self.registry.require_node(conn, principal, node_id, "incident.read", "org_node")
            rows = conn.execute(
                select(P.camera_id, P.facility_id, P.state, P.start, P.end)
                .where(
                    and_(
                        P.facility_path.startswith(node.path, autoescape=True),
                        principal.scope_clause("incident.read", P.facility_path),
                        P.start < end,
                        or_(P.end.is_(None), P.end > start),
                    )
                )
                .order_by(P.camera_id, P.start)
            ).all()
        per_camera: dict[str, list[Period]] = {}
        facility_of: dict[str, str] = {}
        for r in rows:
            per_camera.setdefault(r.camera_id, []).append(Period(HealthState(r.state), r.start, r.end))
            facility_of[r.camera_id] = r.facility_id
        cameras: list[CameraUptime] = []
        facilities: dict[str, tuple[Any, int]] = {}
        total = Uptime()
        for camera_id, periods in sorted(per_camera.items()):
            figures = uptime_of(periods, start, end, now)
            facility_id = facility_of[camera_id]
            cameras.append(
                CameraUptime(camera_id=camera_id, facility_id=facility_id, **UptimeFigures.of(figures))
            )
            merged, count = facilities.get(facility_id, (Uptime(), 0))
            merged.merge(figures)
            facilities[facility_id] = (merged, count + 1)
            total.merge(figures)
        return UptimeView(
            node_id=node.id,
            start=start,
            end=end,
            total=UptimeFigures(**UptimeFigures.of(total)),
            facilities=[
                FacilityUptime(facility_id=f, cameras=n, **UptimeFigures.of(u))
                for f, (u, n) in sorted(facilities.items())
            ],
            cameras=cameras,
        )


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
