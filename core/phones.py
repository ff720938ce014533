"""Vietnamese phone numbers: validate and normalise to E.164 (+84…)."""

from __future__ import annotations

import phonenumbers


def normalize_phone(text: str | None) -> str | None:
    """'0912 345 678', '+84912345678', '84912345678' -> '+84912345678'; None if not a VN number."""
    if not text:
        return None
    raw = "".join(ch for ch in str(text) if ch in "0123456789+")
    if raw.startswith("84") and len(raw) >= 11:
        raw = "+" + raw
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    number = phonenumbers.parse(e164, "VN")
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def display_phone(e164: str | None) -> str:
    if not e164:
        return ""
    number = phonenumbers.parse(e164, "VN")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
