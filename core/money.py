"""Money is an int of đồng (VND has no minor unit)."""

from __future__ import annotations

import re

from babel.numbers import format_currency

from core.numbers import is_ascii_digits

_DIGITS = re.compile(r"[\s.,_₫đ]|vnd|vnđ|dong|đồng", re.IGNORECASE)


def format_vnd(amount: int) -> str:
    """150000 -> '150.000 ₫' in every language (the house rule): a price on a stamp, a bank
    transfer or a packing slip reads the same to a visitor who chose English."""
    return format_currency(int(amount), "VND", locale="vi")


def parse_vnd(text: str | int | None) -> int | None:
    """Forgiving input: '150.000', '150,000 đ', '150000' -> 150000. None when not a number."""
    if text is None:
        return None
    if isinstance(text, int):
        return text
    digits = _DIGITS.sub("", str(text).strip())
    if not is_ascii_digits(digits):
        return None
    return int(digits)
