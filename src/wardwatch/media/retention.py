"""Deleting footage only as policy says, and never silently.

Two things delete recorded segments, and legal holds beat both:

- **retention**: a segment that ended more than its camera's ``retention_days`` ago;
- **disk pressure**: when the recordings volume (or the configured quota) passes the
  critical threshold, the oldest unheld footage goes until usage is below the target.
  Passing the warning threshold first opens a storage alert; deleting under pressure
  raises it to critical, logs an error and puts it on the bus.

Each deleted segment gets its own audit entry (path, time range, SHA-256 and why), written
in the transaction that removes its index row; the file is unlinked after the commit, so
the index never points at a file that is gone without the record saying so. The hold check
runs again inside that transaction, so a hold placed a moment earlier still wins.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Row, and_, delete, func, insert, select, update

from wardwatch.alerts.inbox import Inbox, NoticeKind
from wardwatch.authz.principal import Principal
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.ids import new_id
from wardwatch.media import store
from wardwatch.media.holds import lock_footage, unheld_clause
from wardwatch.media.model import retention_cutoff
from wardwatch.media.schemas import StorageAlertView, StorageView
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

S = store.segments.c
CL = store.clips.c
A = store.storage_alerts.c
BATCH = 200
"""Segments deleted per transaction: bounded so the audit head is never held for long."""


@dataclass(frozen=True)
class StorageUsage:
    disk_total: int
    disk_free: int
    recordings_bytes: int
    quota_bytes: int | None

    @property
    def disk_pct(self) -> float:
        return 100.0 * (self.disk_total - self.disk_free) / self.disk_total if self.disk_total else 0.0

    @property
    def quota_pct(self) -> float | None:
        return 100.0 * self.recordings_bytes / self.quota_bytes if self.quota_bytes else None

    @property
    def used_pct(self) -> float:
        """The fuller of the two: the volume itself, or the recordings' share of their quota."""
        return max(self.disk_pct, self.quota_pct or 0.0)

    def bytes_over(self, pct: float) -> int:
        """How many bytes must go for usage to fall below ``pct``."""
        over = (self.disk_total - self.disk_free) - int(self.disk_total * pct / 100)
        if self.quota_bytes:
            over = max(over, self.recordings_bytes - int(self.quota_bytes * pct / 100))
        return max(0, over + 1)


@dataclass(frozen=True)
class Deletion:
    count: int = 0
    bytes: int = 0

    def __add__(self, other: Deletion) -> Deletion:
        return Deletion(self.count + other.count, self.bytes + other.bytes)


@dataclass(frozen=True)
class PressureReport:
    level: str
    used_pct: float
    deleted: Deletion
    stuck: bool
    """Still critical, and everything left is on legal hold."""


class RetentionService:
    def __init__(self, deps: Deps, registry: RegistryService, inbox: Inbox | None = None) -> None:
        self.deps = deps
        self.registry = registry
        self.inbox = inbox  # administrators hear of storage alerts in their inbox
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        return self.deps.settings.data

    # ---------------------------------------------------------------- measuring

    def usage(self) -> StorageUsage:
        media = self.deps.settings.media
        recordings = self.root / "recordings"
        recordings.mkdir(parents=True, exist_ok=True)
        disk = shutil.disk_usage(recordings)
        with self.deps.db.read() as conn:
            total = sum(
                int(conn.execute(select(func.coalesce(func.sum(t.c.bytes), 0))).scalar() or 0)
                for t in (store.segments, store.clips)
            )
        quota = int(media.storage_quota_gb * 1024**3) if media.storage_quota_gb else None
        return StorageUsage(disk.total, disk.free, total, quota)

    # ---------------------------------------------------------------- deleting

    def _delete(self, ids: list[str], reason: str, detail: dict[str, Any]) -> Deletion:
        """Remove these segments (those still unheld) from the index, audited, then from disk."""
        if not ids:
            return Deletion()
        with self.deps.uow(system_actor("retention")) as uow:
            cameras = {r.camera_id for r in uow.conn.execute(select(S.camera_id).where(S.id.in_(ids)))}
            lock_footage(uow.conn, cameras)
            rows = uow.conn.execute(
                delete(store.segments)
                .where(and_(S.id.in_(ids), unheld_clause()))
                .returning(S.id, S.camera_id, S.facility_id, S.path, S.start, S.end, S.bytes, S.sha256)
            ).all()
            for row in rows:
                uow.audit(
                    "footage.delete",
                    object_type="segment",
                    object_id=row.id,
                    scope=row.facility_id,
                    details={
                        "reason": reason,
                        "camera_id": row.camera_id,
                        "path": row.path,
                        "from": row.start.isoformat(),
                        "to": row.end.isoformat(),
                        "sha256": row.sha256,
                        "bytes": row.bytes,
                        **detail,
                    },
                )
            if not rows:
                return Deletion()
            uow.emit(
                "media.segments.deleted",
                {
                    "reason": reason,
                    "count": len(rows),
                    "bytes": sum(r.bytes for r in rows),
                    "cameras": sorted({r.camera_id for r in rows}),
                },
            )
            uow.commit()
        for row in rows:
            self._unlink(row.path)
        return Deletion(len(rows), sum(r.bytes for r in rows))

    def _unlink(self, relative: str) -> None:
        path = self.root / relative
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            self._report_not_removed(relative, exc)
            return
        # Prune the hour/day/month directories the deletion emptied, up to the camera's.
        parent = path.parent
        for _ in range(4):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def _report_not_removed(self, relative: str, exc: OSError) -> None:
        """The record says the footage is gone but the file is not: say so, loudly."""
        log.error("could not remove a deleted file", extra={"path": relative, "error": exc.strerror})
        with self.deps.uow(system_actor("retention")) as uow:
            details = {"path": relative, "error": exc.strerror or type(exc).__name__}
            uow.audit(
                "footage.file_not_removed",
                object_type="file",
                object_id=relative,
                outcome="failure",
                details=details,
            )
            uow.emit("media.storage.file_not_removed", details, key="storage")
            uow.commit()

    def sweep_expired(self) -> Deletion:
        """Delete every unheld segment that outlived its camera's retention."""
        now = self.deps.clock.now()
        total = Deletion()
        with self.deps.db.read() as conn:
            policies = self.registry.retention_days_by_camera(conn)
        for camera_id, days in policies.items():
            if days is None:
                continue  # no retention on record: keep (a camera cannot be activated without one)
            cutoff = retention_cutoff(now, days)
            while True:
                with self.deps.db.read() as conn:
                    ids = [
                        r.id
                        for r in conn.execute(
                            select(S.id)
                            .where(and_(S.camera_id == camera_id, S.end <= cutoff, unheld_clause()))
                            .order_by(S.start)
                            .limit(BATCH)
                        )
                    ]
                done = self._delete(ids, "retention", {"retention_days": days, "cutoff": cutoff.isoformat()})
                total += done
                if len(ids) < BATCH or done.count == 0:
                    break
        if total.count:
            log.info(
                "retention deleted expired footage", extra={"segments": total.count, "bytes": total.bytes}
            )
        return total

    def sweep_clips(self) -> Deletion:
        """Delete exported clips older than ``clip_retention_days`` that no legal hold covers."""
        days = self.deps.settings.media.clip_retention_days
        cutoff = retention_cutoff(self.deps.clock.now(), days)
        with self.deps.uow(system_actor("retention")) as uow:
            rows = uow.conn.execute(
                delete(store.clips)
                .where(and_(CL.created_at <= cutoff, unheld_clause(store.clips)))
                .returning(
                    CL.id, CL.camera_id, CL.facility_id, CL.path, CL.start, CL.end, CL.bytes, CL.sha256
                )
            ).all()
            for row in rows:
                uow.audit(
                    "footage.export.delete",
                    object_type="clip",
                    object_id=row.id,
                    scope=row.facility_id,
                    details={
                        "reason": "retention",
                        "camera_id": row.camera_id,
                        "path": row.path,
                        "from": row.start.isoformat(),
                        "to": row.end.isoformat(),
                        "sha256": row.sha256,
                        "clip_retention_days": days,
                    },
                )
            if not rows:
                return Deletion()
            uow.commit()
        for row in rows:
            self._unlink(row.path)
            self._unlink(str(Path(row.path).with_suffix(".manifest.json")))
        return Deletion(len(rows), sum(r.bytes for r in rows))

    def relieve_pressure(self) -> PressureReport:
        """Warn, or delete the oldest unheld footage until usage is below the target."""
        media = self.deps.settings.media
        usage = self.usage()
        deleted = Deletion()
        stuck = False
        if usage.used_pct >= media.disk_critical_pct:
            level = "critical"
            # Free what is over the target by bytes, measuring the volume only between rounds
            # (a sum over every segment is not free); three rounds bound the damage when
            # something other than footage is filling the volume.
            for _ in range(3):
                need = usage.bytes_over(media.disk_target_pct)
                if need <= 0:
                    break
                freed, exhausted = self._delete_oldest(need, usage)
                deleted += freed
                usage = self.usage()
                if exhausted:
                    stuck = usage.used_pct >= media.disk_critical_pct
                    break
            else:
                if usage.used_pct >= media.disk_target_pct:
                    log.critical(
                        "disk pressure: deleting footage does not relieve the volume; stopped",
                        extra={"used_pct": round(usage.used_pct, 2), "deleted": deleted.count},
                    )
        elif usage.used_pct >= media.disk_warning_pct:
            level = "warning"
        else:
            level = "ok"
        if deleted.count:
            log.error(
                "disk pressure: deleted the oldest unheld footage",
                extra={
                    "segments": deleted.count,
                    "bytes": deleted.bytes,
                    "used_pct": round(usage.used_pct, 2),
                },
            )
        if stuck:
            log.critical(
                "disk pressure: still critical and every remaining segment is on legal hold",
                extra={"used_pct": round(usage.used_pct, 2)},
            )
        self._record_alert(level, usage, deleted, stuck)
        return PressureReport(level, usage.used_pct, deleted, stuck)

    def _delete_oldest(self, need: int, usage: StorageUsage) -> tuple[Deletion, bool]:
        """Delete the oldest unheld segments until ``need`` bytes are freed; True if none are left."""
        media = self.deps.settings.media
        freed = Deletion()
        while freed.bytes < need:
            with self.deps.db.read() as conn:
                ids = [
                    r.id
                    for r in conn.execute(
                        select(S.id).where(unheld_clause()).order_by(S.end, S.start).limit(BATCH)
                    )
                ]
            done = self._delete(
                ids,
                "disk_pressure",
                {"used_pct": round(usage.used_pct, 2), "target_pct": media.disk_target_pct},
            )
            if done.count == 0:
                return freed, True
            freed += done
        return freed, False

    def run_once(self) -> tuple[Deletion, PressureReport]:
        with self._lock:
            expired = self.sweep_expired() + self.sweep_clips()
            return expired, self.relieve_pressure()

    # ---------------------------------------------------------------- alerts

    def _open_alert(self) -> Row[Any] | None:
        with self.deps.db.read() as conn:
            return conn.execute(
                select(store.storage_alerts).where(A.cleared_at.is_(None)).order_by(A.opened_at.desc())
            ).first()

    def _record_alert(self, level: str, usage: StorageUsage, deleted: Deletion, stuck: bool) -> None:
        """Open, raise, update or clear the storage alert; every change is audited and announced."""
        current = self._open_alert()
        now = self.deps.clock.now()
        used = round(usage.used_pct, 2)
        detail = _alert_detail(level, usage, deleted, stuck)
        if current is None and level == "ok":
            return
        if current is not None and current.level == level and not deleted.count and not stuck:
            return  # unchanged; the open alert already says so
        with self.deps.uow(system_actor("retention")) as uow:
            if current is None:
                alert_id = new_id()
                uow.conn.execute(
                    insert(store.storage_alerts).values(
                        id=alert_id,
                        level=level,
                        used_pct=used,
                        detail=detail,
                        deleted_segments=deleted.count,
                        deleted_bytes=deleted.bytes,
                        opened_at=now,
                        updated_at=now,
                    )
                )
                action = "storage.alert.open"
            elif level == "ok":
                alert_id = current.id
                uow.conn.execute(
                    update(store.storage_alerts)
                    .where(A.id == alert_id)
                    .values(cleared_at=now, updated_at=now, used_pct=used)
                )
                action = "storage.alert.clear"
            else:
                alert_id = current.id
                uow.conn.execute(
                    update(store.storage_alerts)
                    .where(A.id == alert_id)
                    .values(
                        level=level,
                        used_pct=used,
                        detail=detail,
                        deleted_segments=current.deleted_segments + deleted.count,
                        deleted_bytes=current.deleted_bytes + deleted.bytes,
                        updated_at=now,
                    )
                )
                action = "storage.alert.update"
            payload = {
                "alert_id": alert_id,
                "level": level,
                "used_pct": used,
                "deleted_segments": deleted.count,
                "deleted_bytes": deleted.bytes,
                "stuck_on_holds": stuck,
            }
            uow.audit(action, object_type="storage_alert", object_id=alert_id, details=payload)
            uow.emit("media.storage.alert", payload, key="storage")
            if self.inbox is not None and (current is None or current.level != level or deleted.count):
                for root in self.registry.roots(uow.conn):
                    self.inbox.deliver(
                        uow,
                        node_id=root.id,
                        roles=["administrator"],
                        kind=NoticeKind.STORAGE_ALERT,
                        params={"level": level, "used_pct": used, "deleted_segments": deleted.count},
                        ref_type="storage_alert",
                        ref_id=alert_id,
                        severity={"ok": "info", "warning": "yellow", "critical": "red"}[level],
                    )
            uow.commit()
        if level == "warning" and (current is None or current.level != level):
            log.warning("recordings storage passed the warning threshold", extra={"used_pct": used})

    # ---------------------------------------------------------------- reading

    def storage_view(self, principal: Principal) -> StorageView:
        """Storage state, for those who may read the registry at a root of the tree."""
        media = self.deps.settings.media
        with self.deps.db.read() as conn:
            roots = self.registry.roots(conn)
            for root in roots:
                self.registry.require_node(conn, principal, root.id, "registry.read", "org_node")
            rows = conn.execute(select(store.storage_alerts).order_by(A.opened_at.desc()).limit(20)).all()
        usage = self.usage()
        return StorageView(
            used_pct=round(usage.used_pct, 2),
            disk_used_pct=round(usage.disk_pct, 2),
            quota_used_pct=round(usage.quota_pct, 2) if usage.quota_pct is not None else None,
            recordings_bytes=usage.recordings_bytes,
            disk_total_bytes=usage.disk_total,
            disk_free_bytes=usage.disk_free,
            warning_pct=media.disk_warning_pct,
            critical_pct=media.disk_critical_pct,
            alerts=[StorageAlertView(**dict(r._mapping)) for r in rows],
        )


def _alert_detail(level: str, usage: StorageUsage, deleted: Deletion, stuck: bool) -> str:
    parts = [f"recordings storage at {usage.used_pct:.1f}%"]
    if usage.quota_pct is not None:
        parts.append(f"quota {usage.quota_pct:.1f}%, disk {usage.disk_pct:.1f}%")
    if deleted.count:
        parts.append(f"deleted the oldest {deleted.count} unheld segments ({deleted.bytes} bytes)")
    if stuck:
        parts.append("every remaining segment is on legal hold")
    return f"{level}: " + "; ".join(parts)
