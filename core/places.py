"""Administrative units in force since 1 July 2025: 34 provinces, 3,321 communes/wards.

Older records keep the place names they were written with (free text); only new addresses use codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from vietnam_provinces import Province, Ward

from core.text import fold


@dataclass(frozen=True)
class Place:
    code: int
    name: str
    province_code: int | None = None

    @property
    def folded(self) -> str:
        return fold(self.name)


@cache
def provinces() -> tuple[Place, ...]:
    items = [Place(int(p.code), p.name) for p in Province.iter_all()]
    return tuple(sorted(items, key=lambda p: fold(p.name)))


@cache
def _wards() -> dict[int, Place]:
    return {int(w.code): Place(int(w.code), w.name, int(w.province_code)) for w in Ward.iter_all()}


@cache
def wards_of(province_code: int) -> tuple[Place, ...]:
    items = [w for w in _wards().values() if w.province_code == province_code]
    return tuple(sorted(items, key=lambda w: fold(w.name)))


@cache
def _provinces_by_code() -> dict[int, Place]:
    return {p.code: p for p in provinces()}


def province(code: int | None) -> Place | None:
    if code is None:
        return None
    return _provinces_by_code().get(code)


def ward(code: int | None) -> Place | None:
    if code is None:
        return None
    return _wards().get(code)


def find_ward(name: str, province_code: int | None = None) -> Place | None:
    """Find a commune by name, with or without accents or its 'Xã'/'Phường' prefix."""
    wanted = fold(name)
    for w in _wards().values():
        if province_code and w.province_code != province_code:
            continue
        folded = w.folded
        if folded == wanted or folded.split(" ", 1)[-1] == wanted:
            return w
    return None


def find_province(name: str) -> Place | None:
    wanted = fold(name).removeprefix("thanh pho ").removeprefix("tinh ")
    for p in provinces():
        if p.folded.removeprefix("thanh pho ") == wanted:
            return p
    return None


def address_line(street: str | None, ward_code: int | None, province_code: int | None) -> str:
    parts = [street or ""]
    w, p = ward(ward_code), province(province_code)
    parts += [w.name if w else "", p.name if p else ""]
    return ", ".join(part for part in parts if part)
