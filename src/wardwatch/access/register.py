"""The practitioner register: imports from the health authority's export, lookups, history.

A register belongs to an org node (the authority that licenses: a ministry, a province's
Department of Health). The practitioners a facility's doors know are those of every
register on the facility's chain, the nearest authority winning for a person on two.

Imports are all or nothing. The file is read and every row judged before anything is
written; a file with any error is refused whole, the refusal audited with its error
count. A **full** import is the node's whole register: a practitioner it leaves out is
no longer licensed by that authority, so they are revoked (reason
``absent_from_full_import``), never deleted, because what their licence said on a given
day stays evidence for events of that day. An **incremental** import adds and changes the
practitioners it names and leaves the others as they are.

Every state a practitioner is recorded in goes to the history with the time WardWatch
recorded it, which is how ``status_at`` answers for an event that arrives late: the
register carries no dates for status changes, so a suspension counts from its import.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, func, insert, or_, select, update

from wardwatch.access import store
from wardwatch.access.model import (
    ABSENT_FROM_FULL_IMPORT,
    ImportMode,
    LicenceStatus,
    PractitionerRecord,
)
from wardwatch.access.rows import REGISTER_COLUMNS, REGISTER_REQUIRED, register_records
from wardwatch.access.schemas import ImportResult, PractitionerView
from wardwatch.access.tables import FileFormat, RowError, data_rows, read_rows, refuse_rows
from wardwatch.authz.model import ancestors_in
from wardwatch.authz.principal import Principal
from wardwatch.kernel.actor import Actor
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound, Problem
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry import store as registry_store
from wardwatch.registry.service import NodeRef, RegistryService

log = logging.getLogger(__name__)

P = store.practitioners.c
H = store.practitioner_history.c
IMP = store.practitioner_imports.c
N = registry_store.org_nodes.c


@dataclass(frozen=True)
class Registered:
    """A practitioner as a facility's doors see them: the record and where it comes from."""

    id: str
    authority_node_id: str
    record: PractitionerRecord
    status_reason: str


@dataclass(frozen=True)
class ImportFile:
    data: bytes
    format: FileFormat
    mode: ImportMode
    filename: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def _record(row: DbRow) -> PractitionerRecord:
    return PractitionerRecord.from_dict(
        {
            "licence_number": row.licence_number,
            "person_id": row.person_id,
            "name": row.name,
            "profession": row.profession,
            "scopes": row.scopes or [],
            "lead_physician": row.lead_physician,
            "valid_from": row.valid_from.isoformat(),
            "valid_to": row.valid_to.isoformat() if row.valid_to else None,
            "status": row.status,
        }
    )


def _view(row: DbRow) -> PractitionerView:
    return PractitionerView(
        id=row.id,
        authority_node_id=row.authority_node_id,
        licence_number=row.licence_number,
        person_id=row.person_id,
        name=row.name,
        profession=row.profession,
        scopes=list(row.scopes or []),
        lead_physician=row.lead_physician,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        status=row.status,
        status_reason=row.status_reason,
        updated_at=row.updated_at,
    )


def _import_view(row: DbRow) -> ImportResult:
    return ImportResult(
        id=row.id,
        node_id=row.node_id,
        mode=row.mode,
        format=row.format,
        filename=row.filename,
        sha256=row.sha256,
        rows=row.rows,
        added=row.added,
        changed=row.changed,
        unchanged=row.unchanged,
        revoked=row.revoked,
        created_at=row.created_at,
    )


class PractitionerRegister:
    def __init__(self, deps: Deps, registry: RegistryService) -> None:
        self.deps = deps
        self.registry = registry

    # ---------------------------------------------------------------- who may read a register

    @staticmethod
    def readable_clause(principal: Principal, path_column: ColumnElement[str]) -> ColumnElement[bool]:
        """SQL: registers the caller may read.

        Those of nodes where they hold ``practitioner.read``, and those of the authorities
        above such a node: a facility supervisor reads the province's register because it
        is the one their facility's doors apply, not because they supervise the province.
        """
        allowed, _ = principal.grants.scope_of("practitioner.read")
        above = {
            node_id
            for path in allowed
            if principal.can("practitioner.read", path)
            for node_id in ancestors_in(path)
        }
        clause = principal.scope_clause("practitioner.read", path_column)
        if not above:
            return clause
        return or_(clause, N.id.in_(sorted(above)))

    def _readable(self, conn: Connection, principal: Principal, node_id: str) -> bool:
        row = conn.execute(
            select(N.id).where(and_(N.id == node_id, self.readable_clause(principal, N.path)))
        ).first()
        return row is not None

    # ---------------------------------------------------------------- imports

    def import_file(self, principal: Principal, node_id: str, upload: ImportFile) -> ImportResult:
        """Check scope, judge every row, then write the whole register change or nothing."""
        with self.deps.db.read() as conn:
            node = self.registry.require_node(conn, principal, node_id, "practitioner.import", "org_node")
        return self._import(principal.actor, node, upload)

    def import_as(self, actor: Actor, node_id: str, upload: ImportFile) -> ImportResult:
        """The same import for the command line, which acts with the data directory's authority."""
        with self.deps.db.read() as conn:
            node = self.registry.node(conn, node_id)
        if node is None:
            raise NotFound("not_found", params={"object": "org_node"})
        return self._import(actor, node, upload)

    def _import(self, actor: Actor, node: NodeRef, upload: ImportFile) -> ImportResult:
        settings = self.deps.settings.access
        try:
            if len(upload.data) > settings.import_max_bytes:
                raise Invalid("import_too_large", params={"max": settings.import_max_bytes}, status=413)
            rows = read_rows(
                upload.data,
                upload.format,
                columns=REGISTER_COLUMNS,
                required=REGISTER_REQUIRED,
                list_key="practitioners",
                max_rows=settings.import_max_rows,
            )
            records, errors = register_records(data_rows(rows, upload.format))
            if errors:
                raise refuse_rows(errors)
            with self.deps.uow(actor) as uow:
                result = self._apply(uow, node, records, upload)
                uow.commit()
        except Problem as problem:
            self._record_refusal(actor, node, upload, problem)
            raise
        log.info(
            "practitioner register imported",
            extra={"node_id": node.id, "mode": upload.mode.value, "added": result.added},
        )
        return result

    def _record_refusal(self, actor: Actor, node: NodeRef, upload: ImportFile, problem: Problem) -> None:
        """A refused import is on the record too: who sent which file, and why nothing changed."""
        try:
            with self.deps.uow(actor) as uow:
                uow.audit(
                    "practitioner.import",
                    object_type="org_node",
                    object_id=node.id,
                    scope=node.id,
                    outcome="failure",
                    details={
                        "mode": upload.mode.value,
                        "format": upload.format.value,
                        "filename": upload.filename,
                        "sha256": upload.sha256,
                        "reason": problem.code,
                        "error_count": problem.extra.get("error_count", 1),
                    },
                )
                uow.commit()
        except Exception:
            log.exception("could not record a refused register import in the audit log")

    def _apply(
        self,
        uow: UnitOfWork,
        node: NodeRef,
        records: list[tuple[int, PractitionerRecord]],
        upload: ImportFile,
    ) -> ImportResult:
        conn = uow.conn
        now = self.deps.clock.now()
        import_id = new_id()
        existing = {
            r.licence_number.upper(): r
            for r in conn.execute(select(store.practitioners).where(P.authority_node_id == node.id))
        }
        self._check_person_ids(records, existing)
        self._free_moved_person_ids(conn, records, existing)
        added = changed = unchanged = revoked = 0
        history: list[dict[str, Any]] = []
        in_file = set()
        for _, record in records:
            key = record.licence_number.upper()
            in_file.add(key)
            row = existing.get(key)
            if row is None:
                practitioner_id = new_id()
                conn.execute(
                    insert(store.practitioners).values(
                        id=practitioner_id,
                        authority_node_id=node.id,
                        **self._columns(record),
                        status_reason="",
                        last_import_id=import_id,
                        created_at=now,
                        updated_at=now,
                    )
                )
                added += 1
                history.append(self._history(practitioner_id, record, "", import_id, "added", now))
            elif _record(row) != record or row.status_reason:
                conn.execute(
                    update(store.practitioners)
                    .where(P.id == row.id)
                    .values(
                        **self._columns(record), status_reason="", last_import_id=import_id, updated_at=now
                    )
                )
                changed += 1
                history.append(self._history(row.id, record, "", import_id, "changed", now))
            else:
                unchanged += 1
        if upload.mode == ImportMode.FULL:
            for key, row in existing.items():
                if key in in_file or row.status == LicenceStatus.REVOKED.value:
                    continue
                record = _record(row)
                gone = PractitionerRecord(**{**record.__dict__, "status": LicenceStatus.REVOKED})
                conn.execute(
                    update(store.practitioners)
                    .where(P.id == row.id)
                    .values(
                        status=LicenceStatus.REVOKED.value,
                        status_reason=ABSENT_FROM_FULL_IMPORT,
                        last_import_id=import_id,
                        updated_at=now,
                    )
                )
                revoked += 1
                history.append(
                    self._history(row.id, gone, ABSENT_FROM_FULL_IMPORT, import_id, "revoked_absent", now)
                )
        if history:
            conn.execute(insert(store.practitioner_history), history)
        values = {
            "id": import_id,
            "node_id": node.id,
            "mode": upload.mode.value,
            "format": upload.format.value,
            "filename": upload.filename[:200],
            "sha256": upload.sha256,
            "rows": len(records),
            "added": added,
            "changed": changed,
            "unchanged": unchanged,
            "revoked": revoked,
            "actor": uow.actor.ref,
            "created_at": now,
        }
        conn.execute(insert(store.practitioner_imports).values(**values))
        counts = {k: values[k] for k in ("rows", "added", "changed", "unchanged", "revoked")}
        uow.audit(
            "practitioner.import",
            object_type="practitioner_import",
            object_id=import_id,
            scope=node.id,
            details={
                "mode": upload.mode.value,
                "format": upload.format.value,
                "filename": upload.filename,
                "sha256": upload.sha256,
                **counts,
            },
        )
        uow.emit(
            "access.register.changed",
            {"node_id": node.id, "import_id": import_id, "mode": upload.mode.value, **counts},
            key=node.id,
        )
        row = conn.execute(select(store.practitioner_imports).where(IMP.id == import_id)).one()
        return _import_view(row)

    @staticmethod
    def _check_person_ids(records: list[tuple[int, PractitionerRecord]], existing: dict[str, DbRow]) -> None:
        """A person id names one practitioner of a register, after the import as before it."""
        final = {key: row.person_id for key, row in existing.items()}
        for _, record in records:
            final[record.licence_number.upper()] = record.person_id
        holders: dict[str, set[str]] = {}
        for key, person in final.items():
            holders.setdefault(person, set()).add(key)
        errors = []
        for number, record in records:
            others = sorted(holders[record.person_id] - {record.licence_number.upper()})
            if others:
                licence = existing[others[0]].licence_number
                errors.append(RowError(number, "person_id", "person_id_taken", {"licence": licence}))
        if errors:
            raise refuse_rows(errors)

    @staticmethod
    def _free_moved_person_ids(
        conn: Connection, records: list[tuple[int, PractitionerRecord]], existing: dict[str, DbRow]
    ) -> None:
        """Park the person ids this import moves, so two licences can swap ids in one file."""
        for _, record in records:
            row = existing.get(record.licence_number.upper())
            if row is not None and row.person_id != record.person_id:
                conn.execute(update(store.practitioners).where(P.id == row.id).values(person_id=f"~{row.id}"))

    @staticmethod
    def _columns(record: PractitionerRecord) -> dict[str, Any]:
        return {
            "licence_number": record.licence_number,
            "person_id": record.person_id,
            "name": record.name,
            "profession": record.profession.value,
            "scopes": list(record.scopes),
            "lead_physician": record.lead_physician,
            "valid_from": record.valid_from,
            "valid_to": record.valid_to,
            "status": record.status.value,
        }

    @staticmethod
    def _history(
        practitioner_id: str,
        record: PractitionerRecord,
        reason: str,
        import_id: str,
        change: str,
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "id": new_id(),
            "practitioner_id": practitioner_id,
            "recorded_at": now,
            "import_id": import_id,
            "change": change,
            "record": {**record.as_dict(), "status_reason": reason},
        }

    # ---------------------------------------------------------------- reading (API)

    def list_practitioners(
        self,
        principal: Principal,
        *,
        node_id: str | None = None,
        facility_id: str | None = None,
        status: LicenceStatus | None = None,
        search: str | None = None,
        limit: int = 500,
    ) -> list[PractitionerView]:
        with self.deps.db.read() as conn:
            query = select(store.practitioners).select_from(
                store.practitioners.join(registry_store.org_nodes, N.id == P.authority_node_id)
            )
            if facility_id is not None:
                facility = self.registry.require_node(
                    conn, principal, facility_id, "practitioner.read", "facility"
                )
                query = query.where(P.authority_node_id.in_(ancestors_in(facility.path)))
            else:
                query = query.where(self.readable_clause(principal, N.path))
                if node_id is not None:
                    query = query.where(P.authority_node_id == node_id)
            if status is not None:
                query = query.where(P.status == status.value)
            if search:
                pattern = f"%{search.strip().lower()}%"
                query = query.where(
                    or_(
                        P.licence_number.ilike(pattern),
                        P.person_id.ilike(pattern),
                        P.name.ilike(pattern),
                    )
                )
            rows = conn.execute(query.order_by(P.name, P.licence_number).limit(limit)).all()
        return [_view(r) for r in rows]

    def get(self, principal: Principal, practitioner_id: str) -> PractitionerView:
        with self.deps.db.read() as conn:
            row = conn.execute(select(store.practitioners).where(P.id == practitioner_id)).first()
            if row is None or not self._readable(conn, principal, row.authority_node_id):
                raise NotFound("not_found", params={"object": "practitioner"})
            return _view(row)

    def history(self, principal: Principal, practitioner_id: str) -> list[dict[str, Any]]:
        self.get(principal, practitioner_id)
        with self.deps.db.read() as conn:
            rows = conn.execute(
                select(store.practitioner_history)
                .where(H.practitioner_id == practitioner_id)
                .order_by(H.recorded_at, H.id)
            ).all()
        return [
            {"recorded_at": r.recorded_at, "import_id": r.import_id, "change": r.change, "record": r.record}
            for r in rows
        ]

    def list_imports(self, principal: Principal, node_id: str | None = None) -> list[ImportResult]:
        with self.deps.db.read() as conn:
            query = (
                select(store.practitioner_imports)
                .select_from(store.practitioner_imports.join(registry_store.org_nodes, N.id == IMP.node_id))
                .where(self.readable_clause(principal, N.path))
            )
            if node_id is not None:
                query = query.where(IMP.node_id == node_id)
            rows = conn.execute(query.order_by(IMP.created_at.desc(), IMP.id.desc()).limit(200)).all()
        return [_import_view(r) for r in rows]

    # ---------------------------------------------------------------- for the doors and the rules

    def applicable(self, conn: Connection, facility_path: str) -> dict[str, Registered]:
        """Every practitioner a facility's doors know, by person id (nearest authority wins)."""
        chain = ancestors_in(facility_path)
        if not chain:
            return {}
        rows = conn.execute(select(store.practitioners).where(P.authority_node_id.in_(chain))).all()
        depth = {node_id: index for index, node_id in enumerate(chain)}
        found: dict[str, Registered] = {}
        for row in sorted(rows, key=lambda r: depth[r.authority_node_id]):
            found[row.person_id] = Registered(row.id, row.authority_node_id, _record(row), row.status_reason)
        return found

    def by_licence(
        self, conn: Connection, facility_path: str, licences: Iterable[str]
    ) -> dict[str, Registered]:
        """The practitioners with these licence numbers a facility's register chain knows."""
        wanted = {licence.upper() for licence in licences}
        chain = ancestors_in(facility_path)
        if not wanted or not chain:
            return {}
        # Only the rows of the people holding these licences (a register has thousands; every
        # schedule read asks for two), then the nearest authority for each, as ``applicable``.
        people = select(P.person_id).where(
            and_(P.authority_node_id.in_(chain), func.upper(P.licence_number).in_(sorted(wanted)))
        )
        rows = conn.execute(
            select(store.practitioners).where(
                and_(P.authority_node_id.in_(chain), P.person_id.in_(people.scalar_subquery()))
            )
        ).all()
        depth = {node_id: index for index, node_id in enumerate(chain)}
        nearest: dict[str, DbRow] = {}
        for row in sorted(rows, key=lambda r: depth[r.authority_node_id]):
            nearest[row.person_id] = row
        return {
            row.licence_number.upper(): Registered(
                row.id, row.authority_node_id, _record(row), row.status_reason
            )
            for row in nearest.values()
            if row.licence_number.upper() in wanted
        }

    def node_timeline(self, conn: Connection, node_id: str) -> list[tuple[datetime, Registered]]:
        """Every recorded state of one authority's register, oldest first (the rules share it)."""
        rows = conn.execute(
            select(P.id, P.authority_node_id, H.recorded_at, H.record)
            .select_from(store.practitioner_history.join(store.practitioners, P.id == H.practitioner_id))
            .where(P.authority_node_id == node_id)
            .order_by(H.recorded_at, H.id)
        ).all()
        return [
            (
                r.recorded_at,
                Registered(
                    r.id,
                    r.authority_node_id,
                    PractitionerRecord.from_dict(r.record),
                    r.record.get("status_reason", ""),
                ),
            )
            for r in rows
        ]

    def status_at(
        self, conn: Connection, facility_path: str, person_id: str, at: datetime
    ) -> Registered | None:
        """The practitioner ``person_id`` as the register stood at ``at``; None if not on it then.

        The nearest authority with a recorded state at ``at`` wins. Before a practitioner's
        first import WardWatch knew nothing of them, but the register itself says since when
        the licence holds: a moment on or after that first state's ``valid_from`` is answered
        with it, so a day replayed or arriving late after a first import is not a day of
        strangers. The rule engine's ``RegisterBook`` answers exactly the same way, so the
        entry ledger and the alerts never disagree about who was licensed.
        """
        chain = ancestors_in(facility_path)
        rows = conn.execute(
            select(P.id, P.authority_node_id).where(
                and_(P.authority_node_id.in_(chain) if chain else false(), P.person_id == person_id)
            )
        ).all()
        depth = {node_id: index for index, node_id in enumerate(chain)}
        nearest_first = sorted(rows, key=lambda r: -depth[r.authority_node_id])
        for row in nearest_first:
            state = conn.execute(
                select(H.record)
                .where(and_(H.practitioner_id == row.id, H.recorded_at <= at))
                .order_by(H.recorded_at.desc(), H.id.desc())
                .limit(1)
            ).scalar()
            if state is not None:
                return _registered(row, state)
        for row in nearest_first:
            first = conn.execute(
                select(H.record).where(H.practitioner_id == row.id).order_by(H.recorded_at, H.id).limit(1)
            ).scalar()
            if first is not None and PractitionerRecord.from_dict(first).valid_from <= at.date():
                return _registered(row, first)
        return None


def _registered(row: DbRow, state: dict[str, Any]) -> Registered:
    return Registered(
        row.id, row.authority_node_id, PractitionerRecord.from_dict(state), state.get("status_reason", "")
    )
