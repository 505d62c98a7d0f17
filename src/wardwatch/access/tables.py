"""Reading an uploaded CSV or JSON export into numbered rows, before any row is judged.

A file that cannot be read as a table at all (wrong encoding, broken JSON, unknown
columns) is refused with one problem; a readable file goes on to row validation, where
every row's errors are collected so the sender can fix them all in one go.

Row numbers are what the sender sees: in a CSV, the spreadsheet row (the header is row 1,
the first practitioner row 2); in JSON, the 1-based position in the list.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from wardwatch.kernel.errors import Invalid
from wardwatch.kernel.i18n import t


class FileFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def format_of(content_type: str | None, filename: str | None = None) -> FileFormat:
    """The format named by a media type (``text/csv``, ``application/json``) or file name."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv", "application/vnd.ms-excel"):
        return FileFormat.CSV
    if kind in ("application/json", "text/json"):
        return FileFormat.JSON
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return FileFormat.CSV
    if name.endswith(".json"):
        return FileFormat.JSON
    raise Invalid("import_format_unknown", extra={"field": "content-type"})


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self, locale: str | None = None) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "reason": self.reason,
            "message": t(f"access.row.{self.reason}", locale, **self.params),
        }

    def line(self, locale: str | None = None) -> str:
        return t(
            "access.row_line", locale, row=self.row, field=self.field, message=self.as_dict(locale)["message"]
        )


@dataclass(frozen=True)
class Row:
    number: int
    values: dict[str, Any]


def refuse_rows(errors: list[RowError], *, shown: int = 5) -> Invalid:
    """The whole file is refused; the problem lists every row error, the detail the first few."""
    first = "; ".join(e.line() for e in errors[:shown])
    more = len(errors) - shown
    summary = first + (t("access.row_more", count=more) if more > 0 else "")
    return Invalid(
        "import_rows_invalid",
        params={"count": len(errors), "errors": summary},
        extra={"error_count": len(errors), "errors": [e.as_dict() for e in errors]},
    )


def read_rows(
    data: bytes,
    fmt: FileFormat,
    *,
    columns: Collection[str],
    required: Collection[str],
    list_key: str,
    max_rows: int,
) -> list[Row]:
    """Rows with their sender-visible numbers; refuses a file that is not a table of ``columns``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("import_not_utf8") from None
    rows = _csv_rows(text) if fmt == FileFormat.CSV else _json_rows(text, list_key)
    if not rows:
        raise Invalid("import_empty")
    if len(rows) > max_rows:
        raise Invalid("import_too_many_rows", params={"max": max_rows}, extra={"max_rows": max_rows})
    if fmt == FileFormat.CSV:
        header = set(rows[0].values)
        unknown = sorted(header - set(columns))
        missing = sorted(set(required) - header)
        if unknown or missing:
            raise Invalid(
                "import_columns",
                params={"unknown": ", ".join(unknown) or "-", "missing": ", ".join(missing) or "-"},
                extra={"unknown_columns": unknown, "missing_columns": missing},
            )
    return rows


def _csv_rows(text: str) -> list[Row]:
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        return []
    header_line = lines[0]
    # Spreadsheets set to Vietnamese or most European locales save with semicolons.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
        records = list(reader)
    except csv.Error:
        raise Invalid("import_not_csv") from None
    header = [h.strip().lower() for h in records[0]]
    if len(set(header)) != len(header) or any(not h for h in header):
        raise Invalid("import_not_csv")
    rows: list[Row] = []
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank lines between rows are common in hand-edited sheets
        if len(record) != len(header):
            raise Invalid(
                "import_row_width", params={"row": index}, extra={"row": index, "columns": len(header)}
            )
        rows.append(Row(index, dict(zip(header, record, strict=True))))
    if not rows:
        return []
    # Row 1 carries the header so the caller can check the columns even of a one-row file.
    return [Row(1, {h: h for h in header}), *rows]


def _json_rows(text: str, list_key: str) -> list[Row]:
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError:
        raise Invalid("import_not_json") from None
    if isinstance(loaded, dict) and list_key in loaded and len(loaded) == 1:
        loaded = loaded[list_key]
    if not isinstance(loaded, list):
        raise Invalid("import_not_a_list", params={"name": list_key})
    rows = []
    for index, item in enumerate(loaded, start=1):
        if not isinstance(item, dict):
            raise Invalid("import_row_not_object", params={"row": index}, extra={"row": index})
        rows.append(Row(index, {str(k).strip().lower(): v for k, v in item.items()}))
    return rows


def data_rows(rows: list[Row], fmt: FileFormat) -> list[Row]:
    """The rows to validate (a CSV's header row left out)."""
    return rows[1:] if fmt == FileFormat.CSV else rows
