"""Signs a checkpoint on a schedule whenever the log has grown since the last one."""

from __future__ import annotations

import logging
import threading

from wardwatch.audit.log import AuditLog
from wardwatch.kernel.db import Database

log = logging.getLogger(__name__)


class CheckpointScheduler:
    def __init__(self, db: Database, audit: AuditLog, interval_s: float) -> None:
        self.db = db
        self.audit = audit
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int | None:
        """Checkpoint now if the log grew; returns the new checkpoint's size."""
        with self.db.read() as conn:
            size = self.audit.size(conn)
            latest = self.audit.latest_checkpoint(conn)
        if size == 0 or (latest is not None and latest.size >= size):
            return None
        return self.audit.sign_checkpoint(self.db).size

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="audit-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                size = self.tick()
                if size is not None:
                    log.info("audit checkpoint signed", extra={"size": size})
            except Exception:
                # A log that cannot be checkpointed is a loud failure, never a silent one.
                log.exception("audit checkpoint failed")
