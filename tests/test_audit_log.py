"""The audit log: appended in the caller's transaction, consistent across writers, provable."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from support import PASSWORD, build_world, make_container
from wardwatch.audit import store as audit_store
from wardwatch.audit.merkle import verify_consistency, verify_inclusion
from wardwatch.audit.note import open_checkpoint
from wardwatch.instance import create_first_records
from wardwatch.kernel.actor import system_actor
from wardwatch.kernel.clock import FixedClock
from wardwatch.kernel.uow import UnauditedChange
from wardwatch.registry import store as registry_store


def count(container, table) -> int:
    with container.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_change_and_its_audit_entry_commit_or_roll_back_together(
    tmp_path: Path, database_url: str, now
) -> None:
    world = build_world(tmp_path / "data", database_url, now)
    c = world.container
    before_entries, before_zones = count(c, audit_store.entries), count(c, registry_store.zones)
    with pytest.raises(RuntimeError, match="boom"), c.deps.uow(system_actor("t")) as uow:
        uow.conn.execute(
            insert(registry_store.zones).values(
                id="Z" * 26,
                facility_id=world.ids["fac_a"],
                name="x",
                area_type="lobby",
                created_at=now,
                updated_at=now,
            )
        )
        uow.audit("zone.create", object_type="zone", object_id="Z" * 26)
        raise RuntimeError("boom")
    assert count(c, audit_store.entries) == before_entries
    assert count(c, registry_store.zones) == before_zones
    with c.deps.uow(system_actor("t")) as uow:
        uow.conn.execute(
            insert(registry_store.zones).values(
                id="Y" * 26,
                facility_id=world.ids["fac_a"],
                name="y",
                area_type="lobby",
                created_at=now,
                updated_at=now,
            )
        )
        with pytest.raises(UnauditedChange):
            uow.commit()
    assert count(c, registry_store.zones) == before_zones
    with c.db.read() as conn:
        assert c.audit.size(conn) == before_entries
    c.close()


def test_two_writers_with_stale_caches_still_build_one_consistent_log(
    tmp_path: Path, database_url: str, now
) -> None:
    clock = FixedClock(now)
    first = make_container(tmp_path / "data", database_url, clock)
    create_first_records(first, "admin", PASSWORD, "Root")
    second = make_container(tmp_path / "data", database_url, clock)
    for i in range(30):
        writer = first if i % 3 else second
        with writer.deps.uow(system_actor("w")) as uow:
            uow.audit("test.write", object_type="t", object_id=str(i))
            uow.commit()
    report = first.audit_service.verify()
    assert report.ok, report
    assert report.entries == 32
    with first.db.read() as conn:
        seqs = list(conn.execute(select(audit_store.entries.c.seq).order_by("seq")).scalars())
    assert seqs == list(range(32))
    first.close()
    second.close()


def test_proofs_from_the_stored_log_verify_against_signed_checkpoints(
    tmp_path: Path, database_url: str, now
) -> None:
    clock = FixedClock(now)
    c = make_container(tmp_path / "data", database_url, clock)
    create_first_records(c, "admin", PASSWORD, "Root")
    with c.db.write() as conn:
        small = c.audit.create_checkpoint(conn)
    actor = system_actor("bulk")
    from wardwatch.audit.model import AuditRecord

    with c.db.write() as conn:
        pending = c.audit.append(conn, actor, [AuditRecord("t", "t", str(i)) for i in range(700)], "req")
    c.audit.accept(pending)
    with c.db.write() as conn:
        big = c.audit.create_checkpoint(conn)
    verifier = c.audit.verifier
    for stored in (small, big):
        cp = open_checkpoint(stored.note, verifier)
        assert cp.size == stored.size and cp.root == stored.root
    with c.db.read() as conn:
        nodes = conn.execute(select(func.count()).select_from(audit_store.nodes)).scalar_one()
        assert nodes >= 2, "subtrees of 256 leaves are stored for proofs"
        for index in (0, 1, 255, 256, 511, 600, big.size - 1):
            proof = c.audit.inclusion_proof(conn, index, big.size)
            verify_inclusion(index, big.size, c.audit.leaf_hash(conn, index), proof, big.root)
        proof = c.audit.consistency_proof(conn, small.size, big.size)
    verify_consistency(small.size, big.size, proof, small.root, big.root)
    assert base64.b64decode(big.note.split("\n")[2]) == big.root
    c.close()


def test_auditor_api_serves_scoped_entries_proofs_and_checkpoint(
    tmp_path: Path, database_url: str, now
) -> None:
    world = build_world(tmp_path / "data", database_url, now)
    world.add_user("auditor", "auditor", "root")
    world.add_user("auditor_a", "auditor", "prov_a")
    with world.client("auditor") as client:
        created = client.post("/api/v1/audit/checkpoints")
        assert created.status_code == 201, created.text
        size = created.json()["size"]
        entries = client.get("/api/v1/audit/entries", params={"limit": 500}).json()
        assert {e["action"] for e in entries} >= {"facility.create", "zone.create", "system.init"}
        note = client.get("/api/v1/audit/checkpoint.txt").text
        vkey = client.get("/api/v1/audit/public-key").text
        from wardwatch.audit.note import Verifier

        checkpoint = open_checkpoint(note, Verifier.parse(vkey))
        proof = client.get(
            "/api/v1/audit/proofs/inclusion", params={"index": 3, "size": checkpoint.size}
        ).json()
        verify_inclusion(
            3,
            checkpoint.size,
            bytes.fromhex(proof["leaf_hash"]),
            [bytes.fromhex(p) for p in proof["proof"]],
            checkpoint.root,
        )
        cons = client.get("/api/v1/audit/proofs/consistency", params={"first": 2, "second": size}).json()
        verify_consistency(
            2,
            size,
            [bytes.fromhex(p) for p in cons["proof"]],
            bytes.fromhex(cons["first_root"]),
            checkpoint.root,
        )
        verified = client.post("/api/v1/audit/verify", json={}).json()
        assert verified["ok"] is True and verified["code"] is None
    with world.client("auditor_a") as client:
        scoped = client.get("/api/v1/audit/entries", params={"limit": 500}).json()
        assert scoped and all(e["scope"] != world.ids["fac_b"] for e in scoped)
        assert world.ids["fac_a"] in {e["scope"] for e in scoped}
        b_entry = next(e for e in entries if e["scope"] == world.ids["fac_b"])
        assert client.get(f"/api/v1/audit/entries/{b_entry['seq']}").status_code == 404
        assert client.post("/api/v1/audit/verify", json={}).status_code in (403, 404)
    world.container.close()
