"""Auditor use cases: scoped search, checkpoints on demand, proofs and verification."""

from __future__ import annotations

import base64
import json

from sqlalchemy import Connection

from wardwatch.audit.log import AuditLog, StoredCheckpoint
from wardwatch.audit.model import AuditEntry
from wardwatch.audit.schemas import (
    CheckpointView,
    ConsistencyProofView,
    EntryView,
    InclusionProofView,
    VerifyResult,
)
from wardwatch.audit.verify import VerifyReport, verify_log
from wardwatch.authz.principal import Principal
from wardwatch.kernel.clock import from_micros
from wardwatch.kernel.crypto import Mac
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound
from wardwatch.kernel.i18n import t
from wardwatch.registry.service import RegistryService


def describe(report: VerifyReport, locale: str | None = None) -> str:
    """A translated one-line summary of a verification report."""
    if report.ok:
        return t("audit.verify.ok", locale, entries=report.entries, root=report.root[:16])
    params = {
        "seq": report.first_bad_seq if report.first_bad_seq is not None else "",
        "head": report.head_size,
        "low": report.bad_range[0] if report.bad_range else "",
        "high": report.bad_range[1] if report.bad_range else "",
        "size": report.checkpoint_size if report.checkpoint_size is not None else "",
    }
    return t(f"audit.verify.{report.code}", locale, **params)


class AuditService:
    def __init__(
        self, deps: Deps, log: AuditLog, registry: RegistryService, mac: Mac, mac_key: bytes
    ) -> None:
        self.deps = deps
        self.log = log
        self.registry = registry
        self._mac = mac
        self._mac_key = mac_key

    def _scopes(self, conn: Connection, principal: Principal) -> list[str]:
        """Scopes whose entries the principal may read; '' (platform-wide) needs a root grant."""
        visible = self.registry.visible_node_ids(conn, principal, "audit.read")
        nodes = [self.registry.node(conn, node_id) for node_id in visible]
        if any(node is not None and node.depth == 0 for node in nodes):
            visible.append("")
        return visible

    @staticmethod
    def _view(entry: AuditEntry) -> EntryView:
        return EntryView(
            seq=entry.seq,
            time=from_micros(entry.ts_us),
            actor=entry.actor,
            actor_name=entry.actor_name,
            action=entry.action,
            object_type=entry.object_type,
            object_id=entry.object_id,
            scope=entry.scope,
            purpose=entry.purpose,
            outcome=entry.outcome,
            request_id=entry.request_id,
            details=json.loads(entry.details) if entry.details else None,
            leaf_hash=entry.leaf_hash().hex(),
        )

    def search(self, principal: Principal, **filters: object) -> list[EntryView]:
        with self.deps.db.read() as conn:
            scopes = self._scopes(conn, principal)
            entries = self.log.search(conn, scopes=scopes, **filters)  # type: ignore[arg-type]
        return [self._view(e) for e in entries]

    def entry(self, principal: Principal, seq: int) -> EntryView:
        with self.deps.db.read() as conn:
            entry = self.log.entry(conn, seq)
            if entry is None or entry.scope not in self._scopes(conn, principal):
                raise NotFound("not_found", params={"object": "audit_entry"})
        return self._view(entry)

    def _checkpoint_view(self, stored: StoredCheckpoint) -> CheckpointView:
        return CheckpointView(
            size=stored.size,
            root_hash=base64.b64encode(stored.root).decode(),
            note=stored.note,
            created_at=stored.created_at,
            verifier_key=self.log.verifier.encode(),
        )

    def latest_checkpoint(self) -> CheckpointView:
        with self.deps.db.read() as conn:
            stored = self.log.latest_checkpoint(conn)
        if stored is None:
            raise NotFound("not_found", params={"object": "checkpoint"})
        return self._checkpoint_view(stored)

    def checkpoint_at(self, size: int) -> CheckpointView:
        with self.deps.db.read() as conn:
            stored = self.log.checkpoint_at(conn, size)
        if stored is None:
            raise NotFound("not_found", params={"object": "checkpoint"})
        return self._checkpoint_view(stored)

    def _require_platform(self, conn: Connection, principal: Principal, permission: str) -> None:
        """Checkpoints and verification cover the whole log: they need a grant at a root."""
        roots = self.registry.roots(conn)
        if any(principal.can(permission, root.path) for root in roots):
            return
        root = roots[0] if roots else None
        principal.require(
            permission,
            root.path if root else "/",
            object_type="audit_log",
            object_id="",
            node_id=root.id if root else "",
        )

    def checkpoint_now(self, principal: Principal) -> CheckpointView:
        """Sign the current head on demand; the request itself is audited afterwards."""
        with self.deps.uow(principal.actor) as uow:
            self._require_platform(uow.conn, principal, "audit.checkpoint")
            stored = self.log.create_checkpoint(uow.conn)
            uow.audit(
                "audit.checkpoint",
                object_type="checkpoint",
                object_id=str(stored.size),
                details={"size": stored.size, "root": stored.root.hex()},
            )
            uow.commit()
        self.log.export(stored)
        return self._checkpoint_view(stored)

    def inclusion(self, principal: Principal, index: int, size: int | None) -> InclusionProofView:
        with self.deps.db.read() as conn:
            entry = self.log.entry(conn, index)
            if entry is None or entry.scope not in self._scopes(conn, principal):
                raise NotFound("not_found", params={"object": "audit_entry"})
            tree_size = size if size is not None else self.log.size(conn)
            if not 0 <= index < tree_size <= self.log.size(conn):
                raise Invalid("proof_range", extra={"field": "size"})
            proof = self.log.inclusion_proof(conn, index, tree_size)
            root = self.log.root_at(conn, tree_size)
            leaf = self.log.leaf_hash(conn, index) or b""
        return InclusionProofView(
            index=index,
            tree_size=tree_size,
            leaf_hash=leaf.hex(),
            root_hash=root.hex(),
            proof=[p.hex() for p in proof],
        )

    def consistency(self, first: int, second: int) -> ConsistencyProofView:
        with self.deps.db.read() as conn:
            size = self.log.size(conn)
            if not 0 < first <= second <= size:
                raise Invalid("proof_range", extra={"field": "second"})
            proof = self.log.consistency_proof(conn, first, second)
            first_root = self.log.root_at(conn, first)
            second_root = self.log.root_at(conn, second)
        return ConsistencyProofView(
            first=first,
            second=second,
            first_root=first_root.hex(),
            second_root=second_root.hex(),
            proof=[p.hex() for p in proof],
        )

    def verify(self, checkpoint_note: str | None = None) -> VerifyReport:
        return verify_log(
            self.deps.db,
            exported_notes=self.log.exported_notes(),
            verifier=self.log.verifier,
            mac=self._mac,
            mac_key=self._mac_key,
            checkpoint_note=checkpoint_note,
            workers=self.deps.settings.audit.verify_workers,
        )

    def verify_as(self, principal: Principal, checkpoint_note: str | None) -> VerifyResult:
        """Run a full verification for an auditor; the run itself goes on the record."""
        with self.deps.db.read() as conn:
            self._require_platform(conn, principal, "audit.verify")
        report = self.verify(checkpoint_note)
        with self.deps.uow(principal.actor) as uow:
            uow.audit(
                "audit.verify",
                object_type="audit_log",
                object_id="",
                outcome="success" if report.ok else "failure",
                details={
                    "ok": report.ok,
                    "code": report.code,
                    "first_bad_seq": report.first_bad_seq,
                    "entries": report.entries,
                },
            )
            uow.commit()
        data = report.as_dict()
        return VerifyResult(**data, message=describe(report))
