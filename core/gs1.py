"""GS1 identifiers: GTIN check digits and Digital Link URIs.

A platform never invents GTINs: a producer licenses its own prefix (Vietnam: 893) or sells without.
"""

from __future__ import annotations

from urllib.parse import quote

from core.numbers import is_ascii_digits

GTIN_LENGTHS = (8, 12, 13, 14)
# GS1 AI 10 (lot) and 21 (serial): up to 20 characters of GS1 AI encodable character set 82.
_CSET82 = set("!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")


def check_digit(body: str) -> int:
    """Weights 3,1,3,… from the right over the digits before the check digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    return (
        is_ascii_digits(code)
        and len(code) in GTIN_LENGTHS
        and check_digit(code[:-1]) == int(code[-1])
    )


def normalize_gtin(text: str | None) -> str | None:
    """Strip spaces/dashes and pad to GTIN-14; None when empty. Raises ValueError when invalid."""
    if text is None:
        return None
    code = "".join(ch for ch in str(text) if not ch.isspace() and ch != "-")
    if not code:
        return None
    if not is_valid_gtin(code):
        raise ValueError(code)
    return code.rjust(14, "0")


def is_valid_ai_value(value: str, max_length: int = 20) -> bool:
    return 0 < len(value) <= max_length and all(ch in _CSET82 for ch in value)


def digital_link(
    base_url: str, gtin14: str, lot: str | None = None, serial: str | None = None
) -> str:
    """https://host/01/{GTIN-14}[/10/{lot}][/21/{serial}] with values percent-encoded."""
    path = f"/01/{gtin14}"
    if lot:
        path += f"/10/{quote(lot, safe='')}"
    if serial:
        path += f"/21/{quote(serial, safe='')}"
    return base_url.rstrip("/") + path
