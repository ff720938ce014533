"""The period filter of the statistics pages: `?period=30d|90d|12m|all` or `?from=…&to=…`.

Dates are days in Asia/Ho_Chi_Minh. `from`/`to` accept YYYY-MM-DD or YYYY-MM (a whole month).
Bad input is an `Invalid` with a message per field; the page falls back to the default period.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import Invalid
from core.numbers import parse_int

EARLIEST = date(2019, 1, 1)  # OCOP certificates under Decision 1048/2019 are the oldest records
MAX_DAYS = 366 * 8
PRESETS: dict[str, Any] = {
    "30d": _l("30 ngày qua"),
    "90d": _l("90 ngày qua"),
    "12m": _l("12 tháng qua"),
    "all": _l("Từ đầu"),
}
DEFAULT_PRESET = "12m"
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?", re.ASCII)


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive
    preset: str = ""  # the preset chosen, or "" for from/to

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def by_month(self) -> bool:
        """Series are shown per month past three months, per day within them."""
        return self.days > 92

    def buckets(self) -> list[date]:
        """The first day of every bucket (day or month) of the period, in order."""
        if not self.by_month:
            return [self.start + timedelta(days=i) for i in range(self.days)]
        out, day = [], self.start.replace(day=1)
        while day <= self.end:
            out.append(day)
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        return out

    def bucket_of(self, day: date) -> date:
        return day.replace(day=1) if self.by_month else day

    def bucket_label(self, day: date) -> str:
        return f"{day.month:02d}/{day.year}" if self.by_month else f"{day.day:02d}/{day.month:02d}"

    def query_args(self) -> dict[str, str]:
        if self.preset:
            return {"period": self.preset}
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def label(self) -> str:
        if self.preset:
            return str(PRESETS[self.preset])
        return f"{self.start:%d/%m/%Y} – {self.end:%d/%m/%Y}"


def preset_period(preset: str, today: date) -> Period:
    if preset == "30d":
        return Period(today - timedelta(days=29), today, preset)
    if preset == "90d":
        return Period(today - timedelta(days=89), today, preset)
    if preset == "all":
        return Period(EARLIEST, today, preset)
    start = (today.replace(day=1) - timedelta(days=334)).replace(day=1)  # 12 calendar months
    return Period(start, today, "12m")


def _parse_day(text: str, *, end: bool) -> date | None:
    match = _DAY.fullmatch(text.strip())
    if match is None:
        return None
    year = parse_int(match.group(1), minimum=2000, maximum=2100)
    month = parse_int(match.group(2), minimum=1, maximum=12)
    if year is None or month is None:
        return None
    if match.group(3) is None:
        day = calendar.monthrange(year, month)[1] if end else 1
    else:
        day = parse_int(match.group(3), minimum=1, maximum=31)
        if day is None or day > calendar.monthrange(year, month)[1]:
            return None
    return date(year, month, day)


def parse_period(args: Any, today: date) -> Period:
    """The period asked for in the query string (a MultiDict), or Invalid with field messages."""
    raw_from, raw_to = (args.get("from") or "").strip(), (args.get("to") or "").strip()
    preset = (args.get("period") or "").strip()
    if not raw_from and not raw_to:
        if preset and preset not in PRESETS:
            raise Invalid(fields={"period": _("Chọn một khoảng thời gian trong danh sách.")})
        return preset_period(preset or DEFAULT_PRESET, today)
    errors: dict[str, str] = {}
    start = _parse_day(raw_from, end=False) if raw_from else EARLIEST
    end = _parse_day(raw_to, end=True) if raw_to else today
    hint = _("Nhập ngày dạng 2025-07-01 hoặc tháng dạng 2025-07.")
    if start is None:
        errors["from"] = hint
    if end is None:
        errors["to"] = hint
    if start and end:
        if end < start:
            errors["to"] = _("Ngày kết thúc phải sau ngày bắt đầu.")
        elif (end - start).days > MAX_DAYS:
            errors["to"] = _("Khoảng thời gian dài nhất là 8 năm.")
    if errors:
        raise Invalid(fields=errors)
    assert start is not None and end is not None
    return Period(max(start, EARLIEST), end)
