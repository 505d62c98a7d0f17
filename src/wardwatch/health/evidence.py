"""Evidence keyframes: looking at one is a look at footage, and they go with the footage.

A state change stores the keyframe that decided it as a small JPEG. It shows the scene
as the camera saw it, so it is kept and shown like footage: it needs ``camera.view_live``
on the camera's facility, each look is a one-shot viewing session on the access record
(``footage.snapshot`` with the evidence id), and it is deleted once it is older than its
camera's retention, unless a legal hold covers it or an unclosed incident cites it.
Each deletion is audited in the transaction that removes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, delete, or_, select, update

from wardwatch.authz.principal import Principal
from wardwatch.health import store
from wardwatch.health.service import ACTOR
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import NotFound
from wardwatch.media.holds import unheld_clause
from wardwatch.media.views import ViewKind, ViewSessions
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

EV = store.evidence.c
BATCH = 200


@dataclass(frozen=True)
class EvidenceImage:
    id: str
    camera_id: str
    jpeg: bytes
    sha256: str
    captured_at_us: int


class EvidenceStore:
    def __init__(self, deps: Deps, registry: RegistryService, views: ViewSessions) -> None:
        self.deps = deps
        self.registry = registry
        self.views = views

    def open(self, principal: Principal, evidence_id: str) -> EvidenceImage:
        """The JPEG, once the look is on the record (refusals are recorded too)."""
        with self.deps.db.read() as conn:
            row = conn.execute(
                select(EV.id, EV.camera_id, EV.start, EV.state, EV.sha256, EV.jpeg).where(
                    EV.id == evidence_id
                )
            ).first()
        if row is None:
            raise NotFound("not_found", params={"object": "evidence"})
        self.views.open(
            principal,
            row.camera_id,
            ViewKind.SNAPSHOT,
            closed=True,
            details={
                "evidence_id": row.id,
                "captured_at": row.start.isoformat(),
                "health_state": row.state,
                "sha256": row.sha256,
            },
        )
        captured = int(row.start.timestamp() * 1_000_000)
        return EvidenceImage(row.id, row.camera_id, bytes(row.jpeg), row.sha256, captured)

    def sweep(self) -> int:
        """Delete evidence past its camera's retention (held or cited evidence stays)."""
        now = self.deps.clock.now()
        deleted = 0
        with self.deps.db.read() as conn:
            policies = self.registry.retention_days_by_camera(conn)
        for camera_id, days in sorted(policies.items()):
            if not days:
                continue
            cutoff = now - timedelta(days=days)
            while True:
                done = self._delete_batch(camera_id, cutoff, days)
                deleted += done
                if done < BATCH:
                    break
        if deleted:
            log.info("deleted evidence keyframes past retention", extra={"count": deleted})
        return deleted

    def _delete_batch(self, camera_id: str, cutoff: object, days: int) -> int:
        cited = select(store.incidents.c.evidence_id).where(
            and_(store.incidents.c.open_key.is_not(None), store.incidents.c.evidence_id.is_not(None))
        )
        with self.deps.uow(ACTOR) as uow:
            rows = uow.conn.execute(
                select(EV.id, EV.start, EV.sha256, EV.facility_id, EV.state)
                .where(
                    and_(
                        EV.camera_id == camera_id,
                        EV.start < cutoff,
                        unheld_clause(store.evidence),
                        EV.id.not_in(cited),
                    )
                )
                .order_by(EV.start)
                .limit(BATCH)
            ).all()
            if not rows:
                return 0
            ids = [r.id for r in rows]
            for table in (store.camera_state, store.periods):
                uow.conn.execute(update(table).where(table.c.evidence_id.in_(ids)).values(evidence_id=None))
            uow.conn.execute(
                update(store.incidents)
                .where(or_(store.incidents.c.evidence_id.in_(ids)))
                .values(evidence_id=None)
            )
            uow.conn.execute(delete(store.evidence).where(EV.id.in_(ids)))
            for r in rows:
                uow.audit(
                    "health.evidence.delete",
                    object_type="camera",
                    object_id=camera_id,
                    scope=r.facility_id,
                    details={
                        "evidence_id": r.id,
                        "captured_at": r.start.isoformat(),
                        "sha256": r.sha256,
                        "state": r.state,
                        "reason": "retention",
                        "retention_days": days,
                    },
                )
            uow.commit()
        return len(rows)
