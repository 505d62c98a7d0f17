"""Tampering done directly in the database is detected and the first bad entry is named.

Each test edits, deletes, reorders, inserts or truncates rows with plain SQL, then runs
``wardwatch audit verify`` exactly as an operator would, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from support import PASSWORD, make_container
from wardwatch.audit import store
from wardwatch.audit.merkle import Frontier
from wardwatch.audit.model import AuditRecord, leaf_hash_of
from wardwatch.cli import app
from wardwatch.instance import create_first_records
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.clock import FixedClock

E = store.entries.c
SIZE = 300


@pytest.fixture
def log(tmp_path: Path, database_url: str, now, monkeypatch: pytest.MonkeyPatch):
    data = tmp_path / "data"
    clock = FixedClock(now)
    container = make_container(data, database_url, clock)
    create_first_records(container, "admin", PASSWORD, "Root")
    with container.db.write() as conn:
        pending = container.audit.append(
            conn,
            system_actor("t"),
            [AuditRecord("test.event", "thing", str(i), details={"i": i}) for i in range(SIZE - 2)],
            "req",
        )
    container.audit.accept(pending)
    with container.db.write() as conn:
        container.audit.create_checkpoint(conn)
    monkeypatch.setenv("WARDWATCH_DATABASE_URL", database_url)
    monkeypatch.setenv("WARDWATCH_LANG", "en")
    yield container, data
    container.close()


def verify(data: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify", "--data", str(data), *extra])
    return result.exit_code, result.output


def row(conn, seq: int):
    return conn.execute(select(store.entries).where(E.seq == seq)).one()


def test_untouched_log_verifies(log) -> None:
    _, data = log
    code, output = verify(data)
    assert code == 0, output
    assert f"{SIZE} entries" in output


def test_edited_entry_is_named(log) -> None:
    container, data = log
    with container.db.write() as conn:
        conn.execute(update(store.entries).where(E.seq == 117).values(actor="user:someone-else"))
    code, output = verify(data)
    assert code == 1
    assert "Entry #117 was edited" in output


def test_edited_entry_with_recomputed_hash_is_named(log) -> None:
    container, data = log
    with container.db.write() as conn:
        r = row(conn, 42)
        fields = [
            r.seq,
            r.ts_us,
            r.actor,
            r.actor_name,
            "test.forged",
            r.object_type,
            r.object_id,
            r.scope,
            r.purpose,
            r.outcome,
            r.request_id,
            r.details,
        ]
        conn.execute(
            update(store.entries)
            .where(E.seq == 42)
            .values(action="test.forged", leaf_hash=leaf_hash_of(*fields))
        )
    code, output = verify(data)
    assert code == 1
    assert "Entry #42 was rewritten" in output


def test_deleted_entry_is_named(log) -> None:
    container, data = log
    with container.db.write() as conn:
        conn.execute(delete(store.entries).where(E.seq == 200))
    code, output = verify(data)
    assert code == 1
    assert "Entry #200 was deleted" in output


def test_reordered_entries_are_named(log) -> None:
    container, data = log
    columns = [c.name for c in store.entries.columns if c.name != "seq"]
    with container.db.write() as conn:
        a, b = row(conn, 60), row(conn, 61)
        conn.execute(update(store.entries).where(E.seq == 60).values(**{c: getattr(b, c) for c in columns}))
        conn.execute(update(store.entries).where(E.seq == 61).values(**{c: getattr(a, c) for c in columns}))
    code, output = verify(data)
    assert code == 1
    assert "Entry #60 was edited or moved" in output


def test_inserted_entry_in_the_middle_is_named(log) -> None:
    container, data = log
    with container.db.write() as conn:
        conn.execute(update(store.entries).where(E.seq >= 150).values(seq=E.seq + 1_000_000))
        conn.execute(update(store.entries).where(E.seq >= 1_000_000).values(seq=E.seq - 999_999))
        template = row(conn, 149)._asdict()
        fields = [
            150,
            template["ts_us"],
            "user:intruder",
            "intruder",
            "camera.update",
            "camera",
            "x",
            "",
            "",
            "success",
            "req",
            "",
        ]
        conn.execute(
            store.entries.insert().values(
                seq=150,
                ts_us=fields[1],
                actor=fields[2],
                actor_name=fields[3],
                action=fields[4],
                object_type=fields[5],
                object_id=fields[6],
                scope="",
                purpose="",
                outcome="success",
                request_id="req",
                details="",
                leaf_hash=leaf_hash_of(*fields),
                mac=b"\0" * 32,
            )
        )
    code, output = verify(data)
    assert code == 1
    assert "Entry #150 was rewritten" in output


def test_entry_appended_behind_the_logs_back_is_named(log) -> None:
    container, data = log
    fields = [
        SIZE,
        1,
        "user:intruder",
        "intruder",
        "camera.delete",
        "camera",
        "x",
        "",
        "",
        "success",
        "req",
        "",
    ]
    with container.db.write() as conn:
        conn.execute(
            store.entries.insert().values(
                seq=SIZE,
                ts_us=1,
                actor=fields[2],
                actor_name=fields[3],
                action=fields[4],
                object_type="camera",
                object_id="x",
                scope="",
                purpose="",
                outcome="success",
                request_id="req",
                details="",
                leaf_hash=leaf_hash_of(*fields),
                mac=b"\0" * 32,
            )
        )
    code, output = verify(data)
    assert code == 1
    assert f"Entry #{SIZE} was inserted" in output


def test_truncated_log_is_named(log) -> None:
    container, data = log
    with container.db.write() as conn:
        conn.execute(delete(store.entries).where(E.seq >= 250))
    code, output = verify(data)
    assert code == 1
    assert "Log truncated: entries from #250 on are missing" in output


def test_truncation_with_a_rolled_back_head_is_caught_by_the_checkpoint(log) -> None:
    container, data = log
    with container.db.write() as conn:
        conn.execute(delete(store.entries).where(E.seq >= 250))
        conn.execute(update(store.head).values(size=250))
    code, output = verify(data)
    assert code == 1
    assert "#250" in output


def test_consistent_rewrite_without_the_secret_key_is_caught_by_signed_checkpoints(
    log, tmp_path: Path
) -> None:
    container, data = log
    with container.db.write() as conn:
        for seq in range(SIZE):
            r = row(conn, seq)
            details = r.details.replace('"i":7}', '"i":8}') if seq == 9 else r.details
            fields = [
                r.seq,
                r.ts_us,
                r.actor,
                r.actor_name,
                r.action,
                r.object_type,
                r.object_id,
                r.scope,
                r.purpose,
                r.outcome,
                r.request_id,
                details,
            ]
            conn.execute(
                update(store.entries)
                .where(E.seq == seq)
                .values(details=details, leaf_hash=leaf_hash_of(*fields))
            )
    # A witness with only the public key and its own copy of a checkpoint:
    witness = tmp_path / "witness"
    (witness / "keys").mkdir(parents=True)
    vkey = data / "keys" / "audit-verifier.vkey"
    note = container.audit_service.latest_checkpoint().note
    (witness / "checkpoint").write_text(note)
    from wardwatch.audit.verify import verify_log

    def witness_verify():
        return verify_log(
            container.db,
            verifier=container.audit.verifier,
            mac=None,
            mac_key=None,
            checkpoint_note=(witness / "checkpoint").read_text(),
        )

    # Leaves rewritten but the stored proof nodes left alone: the nodes give it away.
    report = witness_verify()
    assert report.code == "proof_node_altered" and report.bad_range == (0, 255)
    # The stored nodes rewritten as well: only the signed checkpoint is left to tell.
    with container.db.write() as conn:
        leaves = [bytes(h) for h in conn.execute(select(E.leaf_hash).order_by(E.seq)).scalars()]
        frontier = Frontier()
        for leaf in leaves:
            for level, index, node in frontier.append(leaf):
                conn.execute(
                    update(store.nodes)
                    .where(store.nodes.c.level == level, store.nodes.c.idx == index)
                    .values(hash=node)
                )
    report = witness_verify()
    assert not report.ok and report.code == "checkpoint_mismatch"
    assert report.bad_range is not None and report.bad_range[0] <= 9 <= report.bad_range[1]
    code, output = verify(data, "--public-key", str(vkey))
    assert code == 1 and "Entry #9 was rewritten" in output
