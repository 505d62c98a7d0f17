"""``wardwatch bench audit``: committed appends per second and full verification speed.

Appends go through the real unit of work (one transaction each, as a mutation would pay
for it). The log is then filled to the requested size with batched appends through the
same audit log, checkpointed, and verified in full from the database.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.progress import Progress

from wardwatch.audit.model import AuditRecord
from wardwatch.audit.verify import verify_log
from wardwatch.instance import init_instance, open_instance
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.config import load_settings

TARGETS = {"append_per_s": 5_000, "verify_per_s": 200_000, "entries": 1_000_000}
_BATCH = 20_000


def run_audit_bench(*, appends: int, entries: int, scratch: Path | None, progress: bool) -> dict[str, Any]:
    owned = scratch is None
    root = Path(tempfile.mkdtemp(prefix="wardwatch-bench-")) if owned else scratch
    assert root is not None
    data = root / "audit-bench"
    if data.exists():
        shutil.rmtree(data)
    settings = load_settings(data, auth={"argon2_time_cost": 1, "argon2_memory_kib": 8192}, database_url=None)
    try:
        result = init_instance(
            settings, admin_username="bench", admin_password=secrets.token_urlsafe(16), org_name="Bench"
        )
        container = open_instance(settings)
        try:
            return _measure(container, result.root_id, appends, entries, progress)
        finally:
            container.close()
    finally:
        if owned:
            shutil.rmtree(root, ignore_errors=True)


def _measure(container: Any, scope: str, appends: int, entries: int, progress: bool) -> dict[str, Any]:
    actor = system_actor("bench")
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("appends", total=appends)
        started = time.perf_counter()
        for i in range(appends):
            with container.deps.uow(actor) as uow:
                uow.audit(
                    "bench.append", object_type="bench", object_id=str(i), scope=scope, details={"i": i}
                )
                uow.commit()
            if i % 1000 == 0:
                bar.update(task, completed=i)
        append_seconds = time.perf_counter() - started

        with container.db.read() as conn:
            size = container.audit.size(conn)
        fill = bar.add_task("filling log", total=max(entries - size, 0))
        while size < entries:
            batch = min(_BATCH, entries - size)
            records = [
                AuditRecord("bench.fill", "bench", str(size + j), scope, details={"j": j})
                for j in range(batch)
            ]
            with container.db.write() as conn:
                pending = container.audit.append(conn, actor, records, "bench")
            container.audit.accept(pending)
            size += batch
            bar.update(fill, completed=entries - (entries - size))
        container.audit.sign_checkpoint(container.db)

    keys = container.keys
    report = verify_log(
        container.db,
        verifier=keys.signer.verifier,
        mac=keys.audit_mac,
        mac_key=keys.audit_mac_key,
        exported_notes=container.audit.exported_notes(),
        workers=container.settings.audit.verify_workers,
    )
    verify_seconds = report.seconds
    append_per_s = appends / append_seconds if append_seconds else 0.0
    verify_per_s = report.entries / verify_seconds if verify_seconds else 0.0
    return {
        "benchmark": "audit",
        "backend": container.db.dialect,
        "appends": appends,
        "append_seconds": round(append_seconds, 3),
        "append_per_s": round(append_per_s, 1),
        "entries": report.entries,
        "verify_seconds": round(verify_seconds, 3),
        "verify_per_s": round(verify_per_s, 1),
        "verify_ok": report.ok,
        "verify_workers": container.settings.audit.verify_workers,
        "targets": TARGETS,
        "meets_targets": {
            "append_per_s": append_per_s >= TARGETS["append_per_s"],
            "verify_per_s": verify_per_s >= TARGETS["verify_per_s"],
            "entries": report.entries >= TARGETS["entries"],
        },
    }
