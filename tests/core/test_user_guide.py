"""The user guide names every button and menu in the words the screens use."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENS = [
    *(ROOT / "templates").rglob("*.html"),
    *(ROOT / "accounts").glob("*.py"),
    *(ROOT / "cooperatives").rglob("*.py"),
    *(ROOT / "traceability").rglob("*.py"),
]


def test_every_bold_name_in_the_guide_is_on_a_screen():
    guide = (ROOT / "docs" / "user-guide.md").read_text()
    screens = "\n".join(path.read_text() for path in SCREENS)
    names = [
        part.strip()
        for bold in re.findall(r"\*\*(.+?)\*\*", guide, re.S)
        for part in bold.replace("\n  ", " ").replace("\n", " ").split("→")
    ]
    missing = [
        n
        for n in names
        if f"'{n}'" not in screens and f'"{n}"' not in screens and n not in ("English",)
    ]
    allowed = {"Số điện thoại + mật khẩu", "mã dùng một lần"}  # descriptions, not buttons
    assert not [n for n in missing if n not in allowed], missing
