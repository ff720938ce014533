"""Reading the CSV statements Vietnamese banks export: UTF-8 (with or without BOM), UTF-16 or
Windows-1258, `,` `;` or tab separated, a few lines about the account before the header,
Vietnamese headers, amounts written `1.500.000`, `1,500,000.00` or `+1 500 000`, and either one
amount column (money out negative) or separate credit/debit columns.

Nothing here touches the database: text in, lines and line-numbered errors out.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.numbers import is_ascii_digits
from core.text import clean, fold

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 20_000
FIELDS = ("date", "credit", "debit", "amount", "description", "reference")
FIELD_LABELS = {
    "date": _l("Ngày giao dịch"),
    "credit": _l("Số tiền ghi có (tiền vào)"),
    "debit": _l("Số tiền ghi nợ (tiền ra)"),
    "amount": _l("Số tiền (một cột, tiền ra là số âm)"),
    "description": _l("Nội dung, diễn giải"),
    "reference": _l("Số tham chiếu, mã giao dịch"),
}
# Folded header words each bank uses, most specific first.
SYNONYMS = {
    "date": ("ngay giao dich", "ngay gd", "ngay hach toan", "ngay hieu luc", "transaction date",
             "ngay", "date", "thoi gian"),
    "credit": ("so tien ghi co", "ghi co", "phat sinh co", "so tien vao", "tien vao", "credit"),
    "debit": ("so tien ghi no", "ghi no", "phat sinh no", "so tien ra", "tien ra", "debit"),
    "amount": ("so tien giao dich", "so tien", "amount"),
    "description": ("noi dung", "dien giai", "mo ta", "chi tiet", "description", "remark"),
    "reference": ("so tham chieu", "ma giao dich", "ma gd", "so but toan", "so ct",
                  "transaction id", "reference", "ref"),
}  # fmt: skip
_DATE_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})(?:[ T].*)?", re.ASCII)
_DATE_YMD = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T].*)?", re.ASCII)
_AMOUNT_NOISE = re.compile(r"[\s\u00a0₫]|vnd|vnđ|đ", re.IGNORECASE)


class StatementError(ValueError):
    """The file as a whole cannot be read as a statement."""


@dataclass(frozen=True)
class StatementLine:
    line_no: int  # as a spreadsheet numbers the file's lines (1 = first)
    booked_on: date
    amount_vnd: int
    description: str
    reference: str


@dataclass
class Parsed:
    lines: list[StatementLine]
    errors: list[tuple[int, str]]
    money_out: int  # debit lines, skipped: they are not payments
    total: int


def decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise StatementError(_("Tệp quá lớn (tối đa 2 MB)."))
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1258")
    except UnicodeDecodeError as exc:
        raise StatementError(_("Không đọc được tệp: hãy xuất lại dưới dạng CSV.")) from exc
    return text.replace("\x00", "")  # PostgreSQL stores no NUL; no bank writes one on purpose


def _delimiter(text: str) -> str:
    sample = text[:20_000]
    counts = {d: sample.count(d) for d in (";", "\t", ",")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def rows(text: str) -> list[tuple[int, list[str]]]:
    """Every non-empty row with its line number in the file."""
    reader = csv.reader(io.StringIO(text.replace("\x00", "")), delimiter=_delimiter(text))
    out: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            if len(out) > MAX_LINES:
                raise StatementError(_("Tệp có quá nhiều dòng (tối đa 20.000)."))
            cells = [clean(c) for c in cells]
            if any(cells):
                out.append((reader.line_num, cells))
    except csv.Error as exc:
        message = _("Tệp không phải CSV hợp lệ (dòng %(n)s).", n=reader.line_num)
        raise StatementError(message) from exc
    return out


def _role_of(header: str) -> str | None:
    folded = fold(header)
    for field in FIELDS:
        if any(folded == word or folded.startswith(word + " ") for word in SYNONYMS[field]):
            return field
    for field in FIELDS:
        if any(word in folded for word in SYNONYMS[field] if len(word) > 4):
            return field
    return None


def find_header(table: list[tuple[int, list[str]]], mapping: dict | None = None):
    """(index in table, headers) of the header row: the one holding the remembered columns, or
    the first within 30 rows where a date, an amount and a description column are recognised."""
    for index, (_line, cells) in enumerate(table[:30]):
        if mapping:
            if all(v in cells for v in mapping.values() if v):
                return index, cells
            continue
        roles = {_role_of(c) for c in cells if c}
        if "date" in roles and "description" in roles and roles & {"credit", "amount"}:
            return index, cells
    if mapping:
        return None
    return (0, table[0][1]) if table else None


def guess_mapping(headers: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for header in headers:
        role = _role_of(header)
        if role and role not in mapping and header:
            mapping[role] = header
    if "credit" in mapping:
        mapping.pop("amount", None)
    return mapping


def check_mapping(mapping: dict[str, str], headers: list[str]) -> dict[str, str]:
    """The mapping's errors by field (empty: usable)."""
    errors: dict[str, str] = {}
    for field, header in mapping.items():
        if field not in FIELDS or (header and header not in headers):
            errors[field] = _("Chọn một cột có trong tệp.")
    if not mapping.get("date"):
        errors["date"] = _("Chọn cột ngày giao dịch.")
    if not mapping.get("description"):
        errors["description"] = _("Chọn cột nội dung chuyển khoản.")
    if not (mapping.get("credit") or mapping.get("amount")):
        errors["credit"] = _("Chọn cột số tiền ghi có, hoặc cột số tiền.")
    chosen = [h for h in mapping.values() if h]
    if len(chosen) != len(set(chosen)):
        errors.setdefault("description", _("Mỗi cột chỉ dùng cho một ô."))
    return errors


def parse_amount(text: str) -> int | None:
    """'1.500.000' / '1,500,000.00' / '+1 500 000 VND' / '-250.000' -> int đồng; None if not."""
    text = _AMOUNT_NOISE.sub("", text or "")
    negative = text.startswith("-") or (text.startswith("(") and text.endswith(")"))
    text = text.strip("+-()")
    if not text:
        return None
    last_dot, last_comma = text.rfind("."), text.rfind(",")
    decimal_at = max(last_dot, last_comma)
    if decimal_at >= 0:
        tail = text[decimal_at + 1 :]
        separator = text[decimal_at]
        grouped = text.count(separator) > 1 or len(tail) == 3
        if (last_dot >= 0 and last_comma >= 0) or not grouped:
            if not is_ascii_digits(tail) or int(tail) != 0 or len(tail) > 2:
                return None  # đồng have no cents: 1.500,50 is not an amount we can receive
            text = text[:decimal_at]
    digits = text.replace(".", "").replace(",", "")
    if not is_ascii_digits(digits, max_length=15):
        return None
    value = int(digits)
    return -value if negative else value


def parse_date(text: str) -> date | None:
    text = (text or "").strip()
    match = _DATE_YMD.fullmatch(text)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _DATE_DMY.fullmatch(text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _cell(cells: list[str], columns: dict[str, int], field: str) -> str:
    index = columns.get(field)
    return cells[index] if index is not None and index < len(cells) else ""


def _amount_of(cells, columns) -> tuple[int | None, bool]:
    """(amount received, is money out)."""
    if "credit" in columns:
        credit_text = _cell(cells, columns, "credit")
        debit = parse_amount(_cell(cells, columns, "debit")) if "debit" in columns else None
        if not credit_text.strip(" -0.,") and debit:
            return None, True
        credit = parse_amount(credit_text)
        return credit, False
    amount = parse_amount(_cell(cells, columns, "amount"))
    if amount is not None and amount < 0:
        return None, True
    return amount, False


def parse(text: str, mapping: dict[str, str]) -> Parsed:
    """Every line after the header: good ones as StatementLine, bad ones with their line number
    and what is wrong. Money going out is counted and skipped."""
    table = rows(text)
    found = find_header(table, mapping)
    if found is None:
        raise StatementError(_("Không thấy các cột đã chọn trong tệp này."))
    header_index, headers = found
    columns = {field: headers.index(name) for field, name in mapping.items() if name}
    parsed = Parsed([], [], 0, 0)
    for line_no, cells in table[header_index + 1 :]:
        parsed.total += 1
        amount, money_out = _amount_of(cells, columns)
        if money_out:
            parsed.money_out += 1
            continue
        booked_on = parse_date(_cell(cells, columns, "date"))
        description = _cell(cells, columns, "description")[:500]
        if booked_on is None:
            parsed.errors.append((line_no, _("Ngày không hợp lệ.")))
        elif amount is None or amount <= 0:
            parsed.errors.append((line_no, _("Số tiền không hợp lệ.")))
        elif not description:
            parsed.errors.append((line_no, _("Thiếu nội dung chuyển khoản.")))
        else:
            reference = _cell(cells, columns, "reference")[:100]
            parsed.lines.append(StatementLine(line_no, booked_on, amount, description, reference))
    return parsed
