"""Full verification of the audit log, naming the first bad entry when there is one.

Every entry is re-hashed from its stored fields and compared with its leaf hash and its
keyed MAC; the tree is rebuilt and compared with the authenticated head and with signed
checkpoints. The scan runs in parallel over aligned chunks of 2**16 leaves, whose subtree
roots combine exactly as RFC 6962 combines leaves.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Sequence
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
from wardwatch.kernel import affinity
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
    upper_nodes: dict[tuple[int, int], bytes]


def _load_state(db: Database) -> _LogState:
    """Everything verification starts from, read in one consistent snapshot.

    On PostgreSQL that needs REPEATABLE READ: under READ COMMITTED an append landing
    between reading the head and reading the last entry would look like an insertion.
    """
    with db.engine.connect() as raw:
        conn = raw.execution_options(isolation_level="REPEATABLE READ") if db.dialect != "sqlite" else raw
        with conn.begin():
            head = conn.execute(select(store.head.c.size, store.head.c.frontier, store.head.c.mac)).first()
            stored = conn.execute(
                select(store.checkpoints.c.size, store.checkpoints.c.root, store.checkpoints.c.note).order_by(
                    store.checkpoints.c.size
                )
            ).all()
            max_seq = conn.execute(select(func.max(store.entries.c.seq))).scalar()
            upper = conn.execute(
                select(store.nodes.c.level, store.nodes.c.idx, store.nodes.c.hash).where(
                    store.nodes.c.level > CHUNK_BITS
                )
            ).all()
    return _LogState(
        head_size=int(head.size) if head else 0,
        head_frontier=bytes(head.frontier) if head else None,
        head_mac=bytes(head.mac) if head else None,
        checkpoints=list(stored),
        rows_end=-1 if max_seq is None else int(max_seq),
        upper_nodes={(int(r.level), int(r.idx)): bytes(r.hash) for r in upper},
    )


def _scan_all(
    db: Database,
    state: _LogState,
    end: int,
    snapshot_sizes: set[int],
    mac_key: bytes | None,
    workers: int,
) -> list[ScanResult]:
    locator = locator_for(db)
    ranges = _split(end, workers if end >= _PARALLEL_MIN_ENTRIES else 1)
    tasks = [
        ScanTask(locator, a, b, CHUNK_BITS, mac_key, tuple(sorted(s for s in snapshot_sizes if a < s <= b)))
        for a, b in ranges
    ]
    if len(tasks) == 1:
        return [scan(tasks[0])]
    # Forking is near-free and safe from a single-threaded caller (the CLI, a benchmark);
    # a threaded server spawns fresh interpreters instead, since a fork would copy locks
    # that other threads may hold.
    method = "fork" if threading.active_count() == 1 else "spawn"
    with ProcessPoolExecutor(
        max_workers=len(tasks),
        mp_context=multiprocessing.get_context(method),
        initializer=affinity.unpin,
        initargs=(affinity.all_cpus(),),
    ) as pool:
        return list(pool.map(scan, tasks))


def _classify(results: list[ScanResult], state: _LogState) -> tuple[str, int, int] | None:
    """The first anomaly in log order, as (code, first bad sequence number, last one)."""
    anomalies = [r.anomaly for r in results if r.anomaly is not None]
    first = min(anomalies, key=lambda a: a.seq) if anomalies else None
    if (first is None or first.seq >= state.head_size) and state.rows_end >= state.head_size:
        # Rows the authenticated head does not cover were not appended through the log.
        return "entry_inserted", state.head_size, state.head_size
    if first is None:
        return None
    if first.kind == "missing":
        return ("log_truncated" if first.seq > state.rows_end else "entry_deleted"), first.seq, first.seq
    if first.kind == "node":
        return "proof_node_altered", first.seq, first.seq + (1 << first.level) - 1
    return ("entry_edited" if first.kind == "edited" else "entry_forged"), first.seq, first.seq


def _upper_nodes_intact(results: list[ScanResult], state: _LogState, size: int) -> tuple[int, int] | None:
    """Check stored proof nodes above the chunk level; the leaf range of the first bad one."""
    frontier = Frontier()
    for chunk_root in [r for res in results for r in res.chunk_roots][: size >> CHUNK_BITS]:
        for level, index, node in frontier.append_node(CHUNK_BITS, chunk_root):
            if state.upper_nodes.get((level, index)) != node:
                return index << level, ((index + 1) << level) - 1
    return None


def _open_valid(notes: Sequence[str], verifier: Verifier) -> list[Checkpoint]:
    opened = []
    for note in notes:
        try:
            opened.append(open_checkpoint(note, verifier))
        except NoteError:
            continue
    return opened


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
    exported_notes: Sequence[str] = (),
    workers: int = 2,
) -> VerifyReport:
    """Verify the whole log.

    ``checkpoint_note`` is a witness's copy to hold the log to; ``exported_notes`` are the
    checkpoint files kept outside the database. The newest valid checkpoint of all of them
    is the reference, and an exported checkpoint missing from the database is itself a
    finding: deleting checkpoint rows cannot make a truncation pass.
    """
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

    stored_sizes = {int(s.size) for s in state.checkpoints}
    try:
        witness = open_checkpoint(checkpoint_note, verifier) if checkpoint_note is not None else None
        latest_stored = open_checkpoint(state.checkpoints[-1].note, verifier) if state.checkpoints else None
    except NoteError:
        return report(code="checkpoint_signature_invalid")
    exported = _open_valid(exported_notes, verifier)
    candidates = [c for c in (witness, latest_stored, *exported) if c is not None]
    checkpoint = max(candidates, key=lambda c: c.size) if candidates else None
    if checkpoint is None:
        warnings.append("no_checkpoint")

    references = {c.size: c for c in (*exported, *([witness] if witness else []))}
    end = max(state.head_size, state.rows_end + 1, checkpoint.size if checkpoint else 0)
    sizes = stored_sizes | {state.head_size} | set(references)
    if checkpoint is not None:
        sizes.add(checkpoint.size)
    results = _scan_all(db, state, end, sizes, mac_key, workers)
    scanned = sum(r.rows for r in results)

    found = _classify(results, state)
    if found is not None:
        code, low, high = found
        return report(
            code=code, first_bad_seq=low, bad_range=(low, high) if high != low else None, entries=scanned
        )
    bad_nodes = _upper_nodes_intact(results, state, state.head_size)
    if bad_nodes is not None:
        return report(
            code="proof_node_altered", first_bad_seq=bad_nodes[0], bad_range=bad_nodes, entries=scanned
        )

    head_root = _root_at(state.head_size, results)
    root_hex = head_root.hex() if head_root else ""
    if head_authentic is False:
        return report(code="head_forged", root=root_hex, entries=scanned)
    recorded = Frontier.from_bytes(state.head_size, state.head_frontier).root()
    if head_authentic and head_root != recorded:
        return report(code="head_mismatch", root=root_hex, entries=scanned)
    for reference in sorted(references.values(), key=lambda c: c.size):
        if _root_at(reference.size, results) != reference.root:
            low, high = _localize(results, state, verifier, reference)
            return report(
                code="checkpoint_mismatch",
                root=root_hex,
                entries=scanned,
                first_bad_seq=low,
                bad_range=(low, high),
            )
    if checkpoint is not None and _root_at(checkpoint.size, results) != checkpoint.root:
        low, high = _localize(results, state, verifier, checkpoint)
        return report(
            code="checkpoint_mismatch",
            root=root_hex,
            entries=scanned,
            first_bad_seq=low,
            bad_range=(low, high),
        )
    missing = sorted(size for size in references if size not in stored_sizes)
    if missing:
        return report(code="checkpoint_missing", root=root_hex, entries=scanned, checkpoint_size=missing[0])
    return report(ok=True, root=root_hex, entries=scanned)
