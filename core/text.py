"""Vietnamese text helpers: accent folding, slugs, whitespace."""

from __future__ import annotations

import re
import unicodedata

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_SPACES = re.compile(r"\s+")
# Control characters (NUL and friends) that PostgreSQL refuses and no person types on purpose.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fold(text: str) -> str:
    """'Mật ong Đồng Tháp' -> 'mat ong dong thap' (for search and slugs)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _SPACES.sub(" ", stripped).strip().lower()


def slugify(text: str, max_length: int = 80) -> str:
    slug = _NON_SLUG.sub("-", fold(text)).strip("-")
    return slug[:max_length].rstrip("-") or "x"


def clean(text: str | None) -> str:
    """Normalise to NFC and collapse runs of white space (phones type odd spaces)."""
    if not text:
        return ""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text))
    return _SPACES.sub(" ", text).strip()


def clean_multiline(text: str | None) -> str:
    if not text:
        return ""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text)).replace("\r\n", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()
