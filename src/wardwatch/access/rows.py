"""Judging the rows of a register or schedule file: every error of every row, or the records.

Nothing here touches the database. A file with any error is refused whole by the caller,
so a register is never half-imported; the errors name the row, the field and the reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from wardwatch.access.model import (
    CODE,
    LICENCE,
    PERSON_ID,
    Anaesthesia,
    LicenceStatus,
    PractitionerRecord,
    ProcedureRecord,
    ProcedureStatus,
    Profession,
    normalise_code,
    procedure_problems,
)
from wardwatch.access.tables import Row, RowError

E = TypeVar("E", bound=StrEnum)

REGISTER_COLUMNS = (
    "licence_number",
    "person_id",
    "name",
    "profession",
    "scopes",
    "lead_physician",
    "valid_from",
    "valid_to",
    "status",
)
REGISTER_REQUIRED = ("licence_number", "name", "profession", "valid_from")

SCHEDULE_COLUMNS = (
    "ref",
    "room",
    "planned_start",
    "planned_end",
    "actual_start",
    "actual_end",
    "category",
    "anaesthesia",
    "lead_surgeon",
    "anaesthetist",
    "status",
)
SCHEDULE_REQUIRED = ("ref", "room", "planned_start", "planned_end", "category", "anaesthesia", "lead_surgeon")

ROW_REASONS = (
    "unknown_field",
    "required",
    "not_text",
    "too_long",
    "bad_format",
    "not_allowed",
    "not_boolean",
    "not_date",
    "not_datetime",
    "bad_code",
    "before_valid_from",
    "duplicate_in_file",
    "unknown_room",
    "end_before_start",
    "end_without_start",
    "person_id_taken",
)
"""Every reason a row is refused for; each has its ``access.row.<reason>`` message."""

_TRUE = {"true", "yes", "y", "1", "x"}
_FALSE = {"false", "no", "n", "0", ""}
_LIST_SPLIT = re.compile(r"[|;]")


class Fields:
    """Reads one row's fields, recording an error for each value that cannot be used."""

    def __init__(self, row: Row, errors: list[RowError], columns: tuple[str, ...]) -> None:
        self.row = row
        self.errors = errors
        self.failed = False
        for key in sorted(set(row.values) - set(columns)):
            self.fail(key, "unknown_field")

    def fail(self, name: str, reason: str, **params: Any) -> None:
        self.failed = True
        self.errors.append(RowError(self.row.number, name, reason, params))

    def raw(self, name: str) -> Any:
        value = self.row.values.get(name)
        if isinstance(value, str):
            value = value.strip()
        return None if value in (None, "") else value

    def text(self, name: str, *, required: bool = False, max_len: int = 200) -> str | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, "required")
            return None
        if not isinstance(value, str | int):
            self.fail(name, "not_text")
            return None
        text = str(value)
        if len(text) > max_len:
            self.fail(name, "too_long", max=max_len)
            return None
        return text

    def matching(self, name: str, pattern: re.Pattern[str], *, required: bool = False) -> str | None:
        text = self.text(name, required=required, max_len=128)
        if text is not None and not pattern.match(text):
            self.fail(name, "bad_format")
            return None
        return text

    def choice(self, name: str, enum: type[E], *, default: E | None = None) -> E | None:
        value = self.raw(name)
        if value is None:
            if default is None:
                self.fail(name, "required")
            return default
        try:
            return enum(str(value).strip().lower())
        except ValueError:
            self.fail(name, "not_allowed", allowed=", ".join(m.value for m in enum))
            return None

    def boolean(self, name: str) -> bool:
        value = self.row.values.get(name)
        if isinstance(value, bool):
            return value
        text = str(value if value is not None else "").strip().lower()
        if text in _TRUE:
            return True
        if text not in _FALSE:
            self.fail(name, "not_boolean")
        return False

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, "required")
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(name, "not_date")
            return None

    def moment(self, name: str, timezone: str, *, required: bool = False) -> datetime | None:
        """An ISO 8601 time; one without an offset is the facility's local time."""
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, "required")
            return None
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(name, "not_datetime")
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(timezone))
        return parsed.astimezone(UTC)

    def code(self, name: str, *, required: bool = False) -> str | None:
        text = self.text(name, required=required)
        if text is None:
            return None
        code = normalise_code(text)
        if not CODE.match(code):
            self.fail(name, "bad_code")
            return None
        return code

    def codes(self, name: str) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return ()
        items = value if isinstance(value, list) else _LIST_SPLIT.split(str(value))
        found = []
        for item in items:
            if not isinstance(item, str):
                self.fail(name, "not_text")
                return ()
            if not item.strip():
                continue
            code = normalise_code(item)
            if not CODE.match(code):
                self.fail(name, "bad_code")
                return ()
            found.append(code)
        return tuple(sorted(set(found)))


def _first_seen(seen: dict[str, int], key: str, row: int) -> int | None:
    """The row where ``key`` already appeared, else remember this one."""
    if key in seen:
        return seen[key]
    seen[key] = row
    return None


def register_records(rows: list[Row]) -> tuple[list[tuple[int, PractitionerRecord]], list[RowError]]:
    """Every practitioner of a register file with its row number, or every error in it."""
    errors: list[RowError] = []
    records: list[tuple[int, PractitionerRecord]] = []
    licences: dict[str, int] = {}
    persons: dict[str, int] = {}
    for row in rows:
        f = Fields(row, errors, REGISTER_COLUMNS)
        licence = f.matching("licence_number", LICENCE, required=True)
        person = f.matching("person_id", PERSON_ID) or licence
        name = f.text("name", required=True)
        profession = f.choice("profession", Profession)
        scopes = f.codes("scopes")
        lead = f.boolean("lead_physician")
        valid_from = f.day("valid_from", required=True)
        valid_to = f.day("valid_to")
        status = f.choice("status", LicenceStatus, default=LicenceStatus.ACTIVE)
        if valid_from and valid_to and valid_to < valid_from:
            f.fail("valid_to", "before_valid_from")
        if licence is not None:
            other = _first_seen(licences, licence.upper(), row.number)
            if other is not None:
                f.fail("licence_number", "duplicate_in_file", other=other)
        if person is not None:
            other = _first_seen(persons, person, row.number)
            if other is not None and person != licence:
                f.fail("person_id", "duplicate_in_file", other=other)
        if f.failed:
            continue
        assert licence and person and name and profession and valid_from and status
        records.append(
            (
                row.number,
                PractitionerRecord(
                    licence_number=licence,
                    person_id=person,
                    name=name,
                    profession=profession,
                    scopes=scopes,
                    lead_physician=lead,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    status=status,
                ),
            )
        )
    return records, errors


def schedule_records(
    rows: list[Row], rooms: Mapping[str, str], timezone: str
) -> tuple[list[tuple[int, ProcedureRecord]], list[RowError]]:
    """Every operation of a schedule file, or every error in it.

    ``rooms`` maps each operating room's id and lower-cased name to its id, so a file from
    the facility's theatre system can name rooms the way the staff do.
    """
    errors: list[RowError] = []
    records: list[tuple[int, ProcedureRecord]] = []
    refs: dict[str, int] = {}
    for row in rows:
        f = Fields(row, errors, SCHEDULE_COLUMNS)
        ref = f.matching("ref", PERSON_ID, required=True)
        room_name = f.text("room", required=True)
        room_id = None
        if room_name is not None:
            room_id = rooms.get(room_name) or rooms.get(room_name.lower())
            if room_id is None:
                f.fail("room", "unknown_room")
        planned_start = f.moment("planned_start", timezone, required=True)
        planned_end = f.moment("planned_end", timezone, required=True)
        actual_start = f.moment("actual_start", timezone)
        actual_end = f.moment("actual_end", timezone)
        category = f.code("category", required=True)
        anaesthesia = f.choice("anaesthesia", Anaesthesia)
        surgeon = f.matching("lead_surgeon", LICENCE, required=True)
        anaesthetist = f.matching("anaesthetist", LICENCE)
        status = f.choice("status", ProcedureStatus, default=ProcedureStatus.SCHEDULED)
        if ref is not None:
            other = _first_seen(refs, ref, row.number)
            if other is not None:
                f.fail("ref", "duplicate_in_file", other=other)
        if f.failed:
            continue
        assert ref and room_id and planned_start and planned_end and category and anaesthesia
        assert surgeon and status
        record = ProcedureRecord(
            ref=ref,
            room_id=room_id,
            planned_start=planned_start,
            planned_end=planned_end,
            actual_start=actual_start,
            actual_end=actual_end,
            category=category,
            anaesthesia=anaesthesia,
            lead_surgeon=surgeon,
            anaesthetist=anaesthetist,
            status=status,
        )
        problems = procedure_problems(record)
        for name, reason in problems:
            f.fail(name, reason)
        if not problems:
            records.append((row.number, record))
    return records, errors
