"""Every user-facing string goes through Babel, and the English catalog is complete."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHODS = [
    ("**/.venv/**", "ignore"),
    ("tests/**", "ignore"),
    ("bench/**", "ignore"),
    ("migrations/**", "ignore"),
    ("**.py", "python"),
    ("templates/**.html", "jinja2"),
]


def _source_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(locale: str):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=locale)


def test_english_catalog_translates_every_message_in_the_source():
    catalog = _catalog("en")
    missing = []
    for message in sorted(_source_messages()):
        entry = catalog.get(message)
        forms = entry.string if entry is not None and isinstance(entry.string, tuple) else None
        if entry is None or entry.fuzzy or not all(forms or (entry.string,)):
            missing.append(message)
    assert missing == [], f"{len(missing)} messages lack an English translation: {missing[:10]}"


def test_vietnamese_is_the_source_language():
    messages = _source_messages()
    assert "Không tìm thấy trang này." in messages


def test_english_counts_go_through_ngettext_not_a_plural_in_brackets():
    """'minute(s)' reads badly: counted words use ngettext, which picks "minute" or "minutes"."""
    placeholder = re.compile(r"%\(\w+\)[sd]")
    plural_in_brackets = re.compile(r"[a-z]\(s\)")  # "minute(s)"; not "http(s)", a scheme
    bracketed = []
    for entry in _catalog("en"):
        forms = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        texts = (placeholder.sub("", form or "").replace("http(s)", "") for form in forms)
        if any(plural_in_brackets.search(text) for text in texts):
            bracketed.append(entry.id)
    assert bracketed == [], f"use ngettext for: {bracketed}"
