"""CSV and XLSX downloads of exactly the tables a statistics page shows.

CSV: UTF-8 with a byte-order mark (spreadsheet programs then read Vietnamese correctly), one
block per table (its title, its header, its rows), a blank line between blocks. XLSX: one sheet
per table, named by its key, the full title in its first row (openpyxl, write-only). Text that a
spreadsheet would run as a formula is prefixed with an apostrophe (CSV injection).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from flask import Response

from core.statistics import Table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(tables: Sequence[Table], preamble: Sequence[Sequence[Any]] = ()) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in preamble:
        writer.writerow([safe_cell(v) for v in line])
    if preamble:
        writer.writerow([])
    for index, table in enumerate(tables):
        if index:
            writer.writerow([])
        writer.writerow([safe_cell(table.title)])
        writer.writerow([safe_cell(c) for c in table.columns])
        for row in table.rows:
            writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def _filename_header(filename: str) -> str:
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "-", filename)
    return f'attachment; filename="{ascii_name}"'


def csv_response(
    tables: Sequence[Table], filename: str, preamble: Sequence[Sequence[Any]] = ()
) -> Response:
    body = "\ufeff" + csv_text(tables, preamble)
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = _filename_header(filename)
    return response


def _sheet_title(title: str, used: set[str]) -> str:
    base = _SHEET_FORBIDDEN.sub(" ", title).strip().strip("'")[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name = f"{base[:25]} {n}"
        n += 1
    used.add(name.lower())
    return name


def xlsx_bytes(tables: Sequence[Table], preamble: Sequence[Sequence[Any]] = ()) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    used: set[str] = set()
    if preamble:
        sheet = book.create_sheet(_sheet_title("info", used))
        for line in preamble:
            sheet.append([safe_cell(v) for v in line])
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table.key or table.title, used))
        sheet.append([safe_cell(table.title)])
        sheet.append([safe_cell(c) for c in table.columns])
        for row in table.rows:
            sheet.append([safe_cell(v) for v in row])
    if not tables and not preamble:
        book.create_sheet("Sheet")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_response(
    tables: Sequence[Table], filename: str, preamble: Sequence[Sequence[Any]] = ()
) -> Response:
    response = Response(
        xlsx_bytes(tables, preamble),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response.headers["Content-Disposition"] = _filename_header(filename)
    return response
