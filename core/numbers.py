"""The one way to read a number from the outside world: ASCII digits only, bounded.

`str.isdigit()`, `int()` and `\\d` accept "²", Arabic-Indic and other Unicode digits; database
integers overflow past 2**31 - 1. Every form field, query parameter and path part goes through here.
"""

from __future__ import annotations

import re

DB_INT_MAX = 2**31 - 1
_ASCII_INT = re.compile(r"[0-9]{1,18}", re.ASCII)


def is_ascii_digits(text: str | None, *, max_length: int = 18) -> bool:
    """True for a non-empty run of 0-9 only (no sign, no spaces, no Unicode digits)."""
    return bool(text) and len(text) <= max_length and _ASCII_INT.fullmatch(text) is not None


def parse_int(text: str | int | None, *, minimum: int = 0, maximum: int = DB_INT_MAX) -> int | None:
    """An int within [minimum, maximum] from ASCII digits (optionally a leading '-'), else None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        value = text
    else:
        if text is None:
            return None
        text = text.strip()
        negative = text.startswith("-")
        digits = text[1:] if negative else text
        if not is_ascii_digits(digits):
            return None
        value = -int(digits) if negative else int(digits)
    if value < minimum or value > maximum:
        return None
    return value


def parse_id(text: str | int | None) -> int | None:
    """A database id (1 … 2**31 - 1) or None."""
    return parse_int(text, minimum=1, maximum=DB_INT_MAX)
