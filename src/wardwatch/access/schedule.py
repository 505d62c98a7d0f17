"""The procedure schedule: operations per operating room, from the API or an imported file.

Each operation has its room, planned and actual times, category, anaesthesia type, lead
surgeon and assigned anaesthetist (by licence number). Every change is audited with what
it changed from and to, and announced as ``access.schedule.changed`` with the operation and
the facility days it touches, so the rules evaluate those days again.

An import is validated whole like a register: any row error refuses the file. Rows are
matched on the facility's own ``ref``; nothing is ever deleted, since a past operation is
evidence: an operation that did not happen is marked ``cancelled``. What the rules will
flag (a surgeon not on the register, general anaesthesia with no anaesthetist) is not
refused but returned as warnings with the record.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update

from wardwatch.access import places, store
from wardwatch.access.model import (
    CODE,
    LICENCE,
    Anaesthesia,
    ProcedureRecord,
    ProcedureStatus,
    local_day,
    normalise_code,
    procedure_problems,
    schedule_warnings,
)
from wardwatch.access.register import PractitionerRegister
from wardwatch.access.rooms import OperatingRooms
from wardwatch.access.rows import SCHEDULE_COLUMNS, SCHEDULE_REQUIRED, schedule_records
from wardwatch.access.schemas import (
    ProcedureCreate,
    ProcedureUpdate,
    ProcedureView,
    RecordWarning,
    ScheduleImportResult,
)
from wardwatch.access.tables import FileFormat, data_rows, read_rows, refuse_rows
from wardwatch.authz.principal import Principal
from wardwatch.kernel.db import DbRow
from wardwatch.kernel.deps import Deps
from wardwatch.kernel.errors import Invalid, NotFound, Problem
from wardwatch.kernel.i18n import t
from wardwatch.kernel.ids import new_id
from wardwatch.kernel.uow import UnitOfWork
from wardwatch.registry import store as registry_store
from wardwatch.registry.service import RegistryService

log = logging.getLogger(__name__)

PR = store.procedures.c
N = registry_store.org_nodes.c


TIME_PROBLEMS = {
    "end_before_start": "procedure_end_before_start",
    "end_without_start": "procedure_end_without_start",
}
"""The problem code for each way an operation's times can be out of order."""


def _record(row: DbRow) -> ProcedureRecord:
    return ProcedureRecord(
        ref=row.ref,
        room_id=row.room_id,
        planned_start=row.planned_start,
        planned_end=row.planned_end,
        actual_start=row.actual_start,
        actual_end=row.actual_end,
        category=row.category,
        anaesthesia=Anaesthesia(row.anaesthesia),
        lead_surgeon=row.lead_surgeon,
        anaesthetist=row.anaesthetist,
        status=ProcedureStatus(row.status),
    )


def _columns(record: ProcedureRecord, timezone: str) -> dict[str, Any]:
    return {
        "ref": record.ref,
        "room_id": record.room_id,
        "planned_start": record.planned_start,
        "planned_end": record.planned_end,
        "actual_start": record.actual_start,
        "actual_end": record.actual_end,
        "local_date": local_day(record.planned_start, timezone),
        "category": record.category,
        "anaesthesia": record.anaesthesia.value,
        "lead_surgeon": record.lead_surgeon,
        "anaesthetist": record.anaesthetist,
        "status": record.status.value,
    }


def _warning(field: str, reason: str, row: int | None = None) -> RecordWarning:
    return RecordWarning(field=field, reason=reason, message=t(f"access.warning.{reason}"), row=row)


class Schedule:
    def __init__(
        self, deps: Deps, registry: RegistryService, register: PractitionerRegister, rooms: OperatingRooms
    ) -> None:
        self.deps = deps
        self.registry = registry
        self.register = register
        self.rooms = rooms

    # ---------------------------------------------------------------- one operation

    def create(self, principal: Principal, facility_id: str, cmd: ProcedureCreate) -> ProcedureView:
        record = self._record_of(cmd.model_dump())
        with self.deps.uow(principal.actor) as uow:
            facility = self._facility(uow.conn, principal, facility_id, "schedule.edit")
            self._check_room(uow.conn, facility.id, record.room_id)
            if self._by_ref(uow.conn, facility.id, record.ref) is not None:
                raise Invalid("procedure_ref_taken", params={"ref": record.ref}, extra={"field": "ref"})
            procedure_id = self._write(uow, facility, None, record, "procedure.create")
            uow.commit()
        return self.get(principal, procedure_id)

    def update(self, principal: Principal, procedure_id: str, cmd: ProcedureUpdate) -> ProcedureView:
        changes = cmd.model_dump(exclude_unset=True)
        if not changes:
            raise Invalid("nothing_to_change")
        with self.deps.uow(principal.actor) as uow:
            row = self._require(uow.conn, principal, procedure_id, "schedule.edit")
            facility = places.facility(uow.conn, row.facility_id)
            assert facility is not None
            merged = {**_record(row).__dict__, **changes}
            record = self._record_of(merged)
            if record.room_id != row.room_id:
                self._check_room(uow.conn, facility.id, record.room_id)
            if record == _record(row):
                raise Invalid("nothing_to_change")
            self._write(uow, facility, row, record, "procedure.update")
            uow.commit()
        return self.get(principal, procedure_id)

    def _record_of(self, data: dict[str, Any]) -> ProcedureRecord:
        category = normalise_code(str(data["category"]))
        if not CODE.match(category):
            raise Invalid("procedure_category", extra={"field": "category"})
        for name in ("lead_surgeon", "anaesthetist"):
            value = data.get(name)
            if value is not None and not LICENCE.match(value):
                raise Invalid("licence_format", params={"field": name}, extra={"field": name})
        record = ProcedureRecord(**{**data, "category": category})
        problems = procedure_problems(record)
        if problems:
            field, reason = problems[0]
            raise Invalid(TIME_PROBLEMS[reason], params={"field": field}, extra={"field": field})
        return record

    def _write(
        self,
        uow: UnitOfWork,
        facility: places.Facility,
        before: DbRow | None,
        record: ProcedureRecord,
        action: str,
    ) -> str:
        conn = uow.conn
        now = self.deps.clock.now()
        values = _columns(record, facility.timezone)
        if before is None:
            procedure_id = new_id()
            conn.execute(
                insert(store.procedures).values(
                    id=procedure_id,
                    facility_id=facility.id,
                    version=1,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
            )
            previous = None
        else:
            procedure_id = before.id
            conn.execute(
                update(store.procedures)
                .where(PR.id == before.id)
                .values(**values, version=before.version + 1, updated_at=now)
            )
            previous = _record(before).as_dict()
        current = record.as_dict()
        changed = sorted(k for k in current if previous is None or previous[k] != current[k])
        uow.audit(
            action,
            object_type="procedure",
            object_id=procedure_id,
            scope=facility.id,
            details={
                "ref": record.ref,
                "fields": changed,
                "from": {k: previous[k] for k in changed} if previous else None,
                "to": {k: current[k] for k in changed},
            },
        )
        days = {values["local_date"].isoformat()}
        if before is not None:
            days.add(before.local_date.isoformat())
        uow.emit(
            "access.schedule.changed",
            {
                "procedure_id": procedure_id,
                "facility_id": facility.id,
                "room_id": record.room_id,
                "change": "created" if before is None else "updated",
                "local_dates": sorted(days),
                "procedure": current,
                "previous": previous,
            },
            key=facility.id,
        )
        return procedure_id

    # ---------------------------------------------------------------- imports

    def import_file(
        self, principal: Principal, facility_id: str, data: bytes, fmt: FileFormat, filename: str
    ) -> ScheduleImportResult:
        settings = self.deps.settings.access
        sha = hashlib.sha256(data).hexdigest()
        with self.deps.db.read() as conn:
            facility = self._facility(conn, principal, facility_id, "schedule.edit")
            rooms = self.rooms.names(conn, facility.id)
        try:
            if len(data) > settings.import_max_bytes:
                raise Invalid("import_too_large", params={"max": settings.import_max_bytes}, status=413)
            rows = read_rows(
                data,
                fmt,
                columns=SCHEDULE_COLUMNS,
                required=SCHEDULE_REQUIRED,
                list_key="procedures",
                max_rows=settings.import_max_rows,
            )
            records, errors = schedule_records(data_rows(rows, fmt), rooms, facility.timezone)
            if errors:
                raise refuse_rows(errors)
            with self.deps.uow(principal.actor) as uow:
                result = self._apply(uow, facility, records, sha, fmt, filename)
                uow.commit()
        except Problem as problem:
            self._record_refusal(principal, facility.id, sha, filename, problem)
            raise
        return result

    def _apply(
        self,
        uow: UnitOfWork,
        facility: places.Facility,
        records: list[tuple[int, ProcedureRecord]],
        sha: str,
        fmt: FileFormat,
        filename: str,
    ) -> ScheduleImportResult:
        added = changed = unchanged = 0
        known = self.register.by_licence(
            uow.conn,
            facility.path,
            {r.lead_surgeon for _, r in records} | {r.anaesthetist for _, r in records if r.anaesthetist},
        )
        warnings = []
        for number, record in records:
            before = self._by_ref(uow.conn, facility.id, record.ref)
            if before is None:
                added += 1
            elif _record(before) == record:
                unchanged += 1
                continue
            else:
                changed += 1
            self._write(uow, facility, before, record, "procedure.import")
            records_known = {k: v.record for k, v in known.items()}
            warnings += [
                _warning(f, reason, number) for f, reason in schedule_warnings(_upper(record), records_known)
            ]
        counts = {"rows": len(records), "added": added, "changed": changed, "unchanged": unchanged}
        uow.audit(
            "schedule.import",
            object_type="facility",
            object_id=facility.id,
            scope=facility.id,
            details={"format": fmt.value, "filename": filename, "sha256": sha, **counts},
        )
        return ScheduleImportResult(facility_id=facility.id, sha256=sha, warnings=warnings, **counts)

    def _record_refusal(
        self, principal: Principal, facility_id: str, sha: str, filename: str, problem: Problem
    ) -> None:
        try:
            with self.deps.uow(principal.actor) as uow:
                uow.audit(
                    "schedule.import",
                    object_type="facility",
                    object_id=facility_id,
                    scope=facility_id,
                    outcome="failure",
                    details={
                        "filename": filename,
                        "sha256": sha,
                        "reason": problem.code,
                        "error_count": problem.extra.get("error_count", 1),
                    },
                )
                uow.commit()
        except Exception:
            log.exception("could not record a refused schedule import in the audit log")

    # ---------------------------------------------------------------- reading

    def get(self, principal: Principal, procedure_id: str) -> ProcedureView:
        with self.deps.db.read() as conn:
            row = self._row(conn, procedure_id)
            if row is None:
                raise NotFound("not_found", params={"object": "procedure"})
            principal.require_visible("schedule.read", row.facility_path, object_type="procedure")
            return self._views(conn, [row])[0]

    def list_procedures(
        self,
        principal: Principal,
        *,
        facility_id: str | None = None,
        room_id: str | None = None,
        day: date | None = None,
        limit: int = 500,
    ) -> list[ProcedureView]:
        with self.deps.db.read() as conn:
            query = select(store.procedures, N.path.label("facility_path")).select_from(
                store.procedures.join(registry_store.org_nodes, N.id == PR.facility_id)
            )
            if facility_id is not None:
                facility = self._facility(conn, principal, facility_id, "schedule.read")
                query = query.where(PR.facility_id == facility.id)
            else:
                query = query.where(principal.scope_clause("schedule.read", N.path))
            if room_id is not None:
                query = query.where(PR.room_id == room_id)
            if day is not None:
                query = query.where(PR.local_date == day)
            rows = conn.execute(query.order_by(PR.planned_start, PR.id).limit(limit)).all()
            return self._views(conn, rows)

    def on_day(
        self, conn: Connection, facility_id: str, day: date, room_id: str | None = None
    ) -> list[ProcedureRecord]:
        """The operations planned on a facility's local day (cancelled ones included), for the rules."""
        query = select(store.procedures).where(PR.facility_id == facility_id, PR.local_date == day)
        if room_id is not None:
            query = query.where(PR.room_id == room_id)
        return [_record(r) for r in conn.execute(query.order_by(PR.planned_start, PR.id))]

    def on_day_with_ids(
        self, conn: Connection, facility_id: str, day: date
    ) -> list[tuple[str, ProcedureRecord]]:
        """``on_day`` with each operation's id, for the rule engine's evidence and labels."""
        query = select(store.procedures).where(PR.facility_id == facility_id, PR.local_date == day)
        return [(r.id, _record(r)) for r in conn.execute(query.order_by(PR.planned_start, PR.id))]

    def of_days_with_ids(
        self, conn: Connection, facility_id: str, days: list[date]
    ) -> list[tuple[str, ProcedureRecord]]:
        """``on_day_with_ids`` for several local days at once."""
        query = select(store.procedures).where(PR.facility_id == facility_id, PR.local_date.in_(days))
        return [(r.id, _record(r)) for r in conn.execute(query.order_by(PR.planned_start, PR.id))]

    def facilities_since(self, conn: Connection, day: date) -> list[str]:
        """Facilities with operations planned on or after ``day`` (whose rule windows may close)."""
        query = select(PR.facility_id).where(PR.local_date >= day).distinct()
        return sorted(r.facility_id for r in conn.execute(query))

    def _views(self, conn: Connection, rows: Sequence[DbRow]) -> list[ProcedureView]:
        paths = {r.facility_id: r.facility_path for r in rows}
        known: dict[str, dict[str, Any]] = {}
        for facility_id, path in paths.items():
            licences = {r.lead_surgeon for r in rows if r.facility_id == facility_id}
            licences |= {r.anaesthetist for r in rows if r.facility_id == facility_id and r.anaesthetist}
            known[facility_id] = {
                k: v.record for k, v in self.register.by_licence(conn, path, licences).items()
            }
        views = []
        for row in rows:
            record = _record(row)
            warnings = [_warning(f, r) for f, r in schedule_warnings(_upper(record), known[row.facility_id])]
            views.append(
                ProcedureView(
                    id=row.id,
                    facility_id=row.facility_id,
                    ref=row.ref,
                    room_id=row.room_id,
                    planned_start=row.planned_start,
                    planned_end=row.planned_end,
                    actual_start=row.actual_start,
                    actual_end=row.actual_end,
                    local_date=row.local_date,
                    category=row.category,
                    anaesthesia=row.anaesthesia,
                    lead_surgeon=row.lead_surgeon,
                    anaesthetist=row.anaesthetist,
                    status=row.status,
                    version=row.version,
                    warnings=warnings,
                )
            )
        return views

    # ---------------------------------------------------------------- helpers

    def _facility(
        self, conn: Connection, principal: Principal, facility_id: str, permission: str
    ) -> places.Facility:
        node = self.registry.require_node(conn, principal, facility_id, permission, "facility")
        facility = places.facility(conn, node.id)
        if facility is None:
            raise NotFound("not_found", params={"object": "facility"})
        return facility

    def _check_room(self, conn: Connection, facility_id: str, room_id: str) -> None:
        room = self.rooms.row(conn, room_id)
        if room is None or room.facility_id != facility_id:
            raise Invalid("procedure_room_unknown", extra={"field": "room_id"})

    def _by_ref(self, conn: Connection, facility_id: str, ref: str) -> DbRow | None:
        return conn.execute(
            select(store.procedures).where(PR.facility_id == facility_id, PR.ref == ref).with_for_update()
        ).first()

    def _row(self, conn: Connection, procedure_id: str) -> DbRow | None:
        return conn.execute(
            select(store.procedures, N.path.label("facility_path"))
            .select_from(store.procedures.join(registry_store.org_nodes, N.id == PR.facility_id))
            .where(PR.id == procedure_id)
        ).first()

    def _require(self, conn: Connection, principal: Principal, procedure_id: str, permission: str) -> DbRow:
        row = self._row(conn, procedure_id)
        if row is None:
            raise NotFound("not_found", params={"object": "procedure"})
        principal.require(
            permission, row.facility_path, object_type="procedure", object_id=row.id, node_id=row.facility_id
        )
        return row


def _upper(record: ProcedureRecord) -> ProcedureRecord:
    """Licence numbers are compared case-insensitively against the register."""
    return ProcedureRecord(
        **{
            **record.__dict__,
            "lead_surgeon": record.lead_surgeon.upper(),
            "anaesthetist": record.anaesthetist.upper() if record.anaesthetist else None,
        }
    )
