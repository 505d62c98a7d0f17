"""Checking stored footage against its index before anyone is shown it.

Every segment row holds the SHA-256 of its file. Before a segment is served for playback
or copied into a clip, the file is hashed again (about 4 ms for a 10 s 1080p segment). A
file that changed, shrank or vanished is refused, and the finding is audited and put on
the bus, so an altered recording is noticed loudly rather than shown as evidence.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from sqlalchemy import select

from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Conflict, NotFound
from wardwatch.media.store import segments

log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def verified_segment(deps: Deps, segment: DbRow) -> Path:
    """The segment's file, if it still matches its index row; refused and reported otherwise."""
    path: Path = deps.settings.data / str(segment.path)
    try:
        actual = file_sha256(path)
        problem = None if actual == segment.sha256 else "hash_mismatch"
    except FileNotFoundError:
        actual, problem = None, "missing"
    if problem is None:
        return path
    if problem == "missing" and not _still_indexed(deps, segment.id):
        # Retention removed it a moment ago: gone by policy, not tampered with.
        raise NotFound("not_found", params={"object": "segment"})
    report_integrity_failure(
        deps,
        object_type="segment",
        object_id=segment.id,
        scope=segment.facility_id,
        camera_id=segment.camera_id,
        path=segment.path,
        problem=problem,
        expected=segment.sha256,
        actual=actual,
    )
    raise Conflict(
        "segment_integrity",
        params={"segment": segment.id},
        extra={"segment_id": segment.id, "problem": problem},
    )


def _still_indexed(deps: Deps, segment_id: str) -> bool:
    with deps.db.read() as conn:
        return conn.execute(select(segments.c.id).where(segments.c.id == segment_id)).first() is not None


def report_integrity_failure(
    deps: Deps,
    *,
    object_type: str,
    object_id: str,
    scope: str,
    camera_id: str,
    path: str,
    problem: str,
    expected: str,
    actual: str | None,
) -> None:
    """Log, audit and announce footage that no longer matches its recorded hash."""
    log.error(
        "stored footage does not match its recorded hash",
        extra={"object_type": object_type, "object_id": object_id, "path": path, "problem": problem},
    )
    details = {
        "problem": problem,
        "camera_id": camera_id,
        "path": path,
        "expected_sha256": expected,
        "actual_sha256": actual,
    }
    with deps.uow(system_actor("integrity")) as uow:
        uow.audit(
            "footage.integrity_failed",
            object_type=object_type,
            object_id=object_id,
            scope=scope,
            outcome="failure",
            details=details,
        )
        uow.emit(
            "media.integrity_failed",
            {"object_type": object_type, "object_id": object_id, **details},
            key=camera_id,
        )
        uow.commit()
