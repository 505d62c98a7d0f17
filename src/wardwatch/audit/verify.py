"""Full verification of the audit log, naming the first bad entry when there is one.

Every entry is re-hashed from its stored fields and compared with its leaf hash and its
keyed MAC; the tree is rebuilt and compared with the authenticated head and with signed
checkpoints. The scan runs in parallel over aligned chunks of 2**16 leaves, whose subtree
roots combine exactly as RFC 6962 combines leaves.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from wardwatch.audit import store
from wardwatch.audit.merkle import Frontier
from wardwatch.audit.model import head_mac_message
from wardwatch.audit.note import Checkpoint, NoteError, Verifier, open_checkpoint
from wardwatch.audit.scan import DbLocator, ScanResult, ScanTask, scan
from wardwatch.kernel.crypto import Mac
from wardwatch.kernel.db import Database

log = logging.getLogger(__name__)

CHUNK_BITS = 16
_PARALLEL_MIN_ENTRIES = 4 << CHUNK_BITS


@dataclass
class VerifyReport:
    """What verification found. ``code`` is None when the log is intact."""

    ok: bool
    entries: int
    head_size: int
    root: str
    checkpoint_size: int | None
    first_bad_seq: int | None = None
    bad_range: tuple[int, int] | None = None
    code: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def locator_for(db: Database) -> DbLocator:
    url = make_url(db.url)
    if db.dialect == "sqlite":
        return DbLocator("sqlite", str(url.database))
    return DbLocator("postgresql", url.set(drivername="postgresql").render_as_string(False))


def _split(end: int, workers: int) -> list[tuple[int, int]]:
    chunks = (end + (1 << CHUNK_BITS) - 1) >> CHUNK_BITS
    per = max(1, -(-chunks // workers))
    ranges = []
    for first in range(0, chunks, per):
        start = first << CHUNK_BITS
        ranges.append((start, min(end, (first + per) << CHUNK_BITS)))
    return ranges or [(0, 0)]


def _root_at(size: int, results: list[ScanResult]) -> bytes | None:
    """The recomputed root of the first ``size`` entries, or None if not scanned that far."""
    frontier = Frontier()
    full = size >> CHUNK_BITS
    roots = [r for res in results for r in res.chunk_roots]
    if len(roots) < full:
        return None
    for chunk_root in roots[:full]:
        frontier.append_node(CHUNK_BITS, chunk_root)
    if size & ((1 << CHUNK_BITS) - 1):
        partial = next((res.snapshots[size] for res in results if size in res.snapshots), None)
        if partial is None:
            return None
        for level, node in partial:
            frontier.append_node(level, node)
    return frontier.root()


@dataclass
class _LogState:
    head_size: int
    head_frontier: bytes | None
    head_mac: bytes | None
    checkpoints: list[Any]
    rows_end: int


def _load_state(db: Database) -> _LogState:
    with db.read() as conn:
        head = conn.execute(select(store.head.c.size, store.head.c.frontier, store.head.c.mac)).first()
        stored = conn.execute(
            select(store.checkpoints.c.size, store.checkpoints.c.root, store.checkpoints.c.note).order_by(
                store.checkpoints.c.size
            )
        ).all()
        max_seq = conn.execute(select(func.max(store.entries.c.seq))).scalar()
    return _LogState(
        head_size=int(head.size) if head else 0,
        head_frontier=bytes(head.frontier) if head else None,
        head_mac=bytes(head.mac) if head else None,
        checkpoints=list(stored),
        rows_end=-1 if max_seq is None else int(max_seq),
    )


def _scan_all(
    db: Database, state: _LogState, end: int, snapshot_sizes: set[int], mac_key: bytes | None, workers: int
) -> list[ScanResult]:
    locator = locator_for(db)
    ranges = _split(end, workers if end >= _PARALLEL_MIN_ENTRIES else 1)
    tasks = [
        ScanTask(locator, a, b, CHUNK_BITS, mac_key, tuple(sorted(s for s in snapshot_sizes if a < s <= b)))
        for a, b in ranges
    ]
    if len(tasks) == 1:
        return [scan(tasks[0])]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=len(tasks), mp_context=context) as pool:
        return list(pool.map(scan, tasks))


def _classify(results: list[ScanResult], state: _LogState) -> tuple[str, int] | None:
    """The first anomaly in log order, as (code, sequence number)."""
    anomalies = [r.anomaly for r in results if r.anomaly is not None]
    first = min(anomalies, key=lambda a: a.seq) if anomalies else None
    if (first is None or first.seq >= state.head_size) and state.rows_end >= state.head_size:
        # Rows the authenticated head does not cover were not appended through the log.
        return "entry_inserted", state.head_size
    if first is None:
        return None
    if first.kind == "missing":
        return ("log_truncated" if first.seq > state.rows_end else "entry_deleted"), first.seq
    return ("entry_edited" if first.kind == "edited" else "entry_forged"), first.seq


def _localize(
    results: list[ScanResult], state: _LogState, verifier: Verifier, checkpoint: Checkpoint
) -> tuple[int, int]:
    """Entries and hashes were rewritten consistently: narrow it down with signed checkpoints."""
    low = 0
    for row in state.checkpoints:
        size = int(row.size)
        if size > checkpoint.size:
            break
        try:
            signed = open_checkpoint(row.note, verifier)
        except NoteError:
            continue
        if _root_at(size, results) != signed.root:
            return low, size - 1
        low = size
    return low, checkpoint.size - 1


def verify_log(
    db: Database,
    *,
    verifier: Verifier,
    mac: Mac | None,
    mac_key: bytes | None,
    checkpoint_note: str | None = None,
    workers: int = 2,
) -> VerifyReport:
    started = time.perf_counter()
    state = _load_state(db)
    warnings: list[str] = []
    checkpoint: Checkpoint | None = None

    def report(**kw: Any) -> VerifyReport:
        base: dict[str, Any] = {
            "ok": False,
            "entries": state.rows_end + 1,
            "head_size": state.head_size,
            "root": "",
            "checkpoint_size": checkpoint.size if checkpoint else None,
            "warnings": warnings,
        }
        base.update(kw)
        base["seconds"] = round(time.perf_counter() - started, 3)
        return VerifyReport(**base)

    if state.head_frontier is None or state.head_mac is None:
        return report(code="head_missing")
    head_authentic: bool | None = None
    if mac is not None:
        head_authentic = mac.check(head_mac_message(state.head_size, state.head_frontier), state.head_mac)
    else:
        warnings.append("no_secret_key")

    # The checkpoint to hold the log to: one supplied by a witness, else the latest stored.
    try:
        if checkpoint_note is not None:
            checkpoint = open_checkpoint(checkpoint_note, verifier)
        elif state.checkpoints:
            checkpoint = open_checkpoint(state.checkpoints[-1].note, verifier)
    except NoteError:
        return report(code="checkpoint_signature_invalid")
    if checkpoint is None:
        warnings.append("no_checkpoint")

    end = max(state.head_size, state.rows_end + 1, checkpoint.size if checkpoint else 0)
    sizes = {int(s.size) for s in state.checkpoints} | {state.head_size}
    if checkpoint is not None:
        sizes.add(checkpoint.size)
    results = _scan_all(db, state, end, sizes, mac_key, workers)
    scanned = sum(r.rows for r in results)

    found = _classify(results, state)
    if found is not None:
        return report(code=found[0], first_bad_seq=found[1], entries=scanned)

    head_root = _root_at(state.head_size, results)
    root_hex = head_root.hex() if head_root else ""
    if head_authentic is False:
        return report(code="head_forged", root=root_hex, entries=scanned)
    recorded = Frontier.from_bytes(state.head_size, state.head_frontier).root()
    if head_authentic and head_root != recorded:
        return report(code="head_mismatch", root=root_hex, entries=scanned)
    if checkpoint is not None and _root_at(checkpoint.size, results) != checkpoint.root:
        low, high = _localize(results, state, verifier, checkpoint)
        return report(
            code="checkpoint_mismatch",
            root=root_hex,
            entries=scanned,
            first_bad_seq=low,
            bad_range=(low, high),
        )
    return report(ok=True, root=root_hex, entries=scanned)
