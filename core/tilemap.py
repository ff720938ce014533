"""A tile map of the 34 provinces (2025 units): one square per province, placed by hand roughly
where it lies, north at the top. No boundary data: the grid below is the whole map.

Each tile is an SVG link carrying `data-province="<code>"` (the code of core.places), coloured
by the chosen figure in five steps, with a <title> naming the province and its value. The page
shows the same numbers in a table beside the map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from markupsafe import Markup, escape

from core.places import province

# code: (column, row, short label). Columns 0–4 west to east, rows 0–14 north to south.
TILES: dict[int, tuple[int, int, str]] = {
    12: (0, 0, "LCh"),  # Lai Châu
    15: (1, 0, "LCa"),  # Lào Cai
    8: (2, 0, "TQ"),  # Tuyên Quang
    4: (3, 0, "CB"),  # Cao Bằng
    11: (0, 1, "ĐB"),  # Điện Biên
    14: (1, 1, "SL"),  # Sơn La
    25: (2, 1, "PT"),  # Phú Thọ
    19: (3, 1, "TN"),  # Thái Nguyên
    20: (4, 1, "LS"),  # Lạng Sơn
    1: (2, 2, "HN"),  # Hà Nội
    24: (3, 2, "BN"),  # Bắc Ninh
    22: (4, 2, "QN"),  # Quảng Ninh
    37: (2, 3, "NB"),  # Ninh Bình
    33: (3, 3, "HY"),  # Hưng Yên
    31: (4, 3, "HP"),  # Hải Phòng
    38: (2, 4, "TH"),  # Thanh Hóa
    40: (2, 5, "NA"),  # Nghệ An
    42: (3, 5, "HT"),  # Hà Tĩnh
    44: (3, 6, "QT"),  # Quảng Trị
    46: (3, 7, "Huế"),  # Huế
    48: (4, 7, "ĐNg"),  # Đà Nẵng
    51: (4, 8, "QNg"),  # Quảng Ngãi
    52: (4, 9, "GL"),  # Gia Lai
    66: (4, 10, "ĐL"),  # Đắk Lắk
    68: (3, 11, "LĐ"),  # Lâm Đồng
    56: (4, 11, "KH"),  # Khánh Hòa
    80: (1, 12, "TNi"),  # Tây Ninh
    79: (2, 12, "HCM"),  # Hồ Chí Minh
    75: (3, 12, "ĐNa"),  # Đồng Nai
    91: (0, 13, "AG"),  # An Giang
    82: (1, 13, "ĐT"),  # Đồng Tháp
    86: (2, 13, "VL"),  # Vĩnh Long
    96: (0, 14, "CM"),  # Cà Mau
    92: (1, 14, "CT"),  # Cần Thơ
}
TILE, GAP = 40, 4
COLUMNS, ROWS = 5, 15
# Light to dark green; the first step is "none". Labels switch to white on the dark steps.
STEPS = ("#eef1ec", "#cfe5c8", "#9fcb92", "#5fa65a", "#2c7a3a", "#0f4f24")
WHITE_FROM = 4


def steps(values: Mapping[int, int]) -> list[tuple[int, int]]:
    """Five value ranges (lower, upper) from 1 to the largest value, equal width."""
    biggest = max(values.values(), default=0)
    if biggest <= 0:
        return []
    width = max(1, -(-biggest // 5))  # ceil
    out, low = [], 1
    while low <= biggest and len(out) < 5:
        high = biggest if len(out) == 4 else min(biggest, low + width - 1)
        out.append((low, high))
        low = high + 1
    return out


def step_of(value: int, ranges: list[tuple[int, int]]) -> int:
    if value <= 0:
        return 0
    for index, (_low, high) in enumerate(ranges, start=1):
        if value <= high:
            return index
    return len(ranges)


def tile_map(
    values: Mapping[int, int],
    *,
    title: str,
    link: Callable[[int], str] | None = None,
    selected: int | None = None,
    shown: set[int] | None = None,
) -> Markup:
    """The SVG map. `link(code)` gives each tile's address (clicking filters the page);
    `shown` greys out provinces outside the viewer's scope."""
    ranges = steps(values)
    width, height = COLUMNS * (TILE + GAP), ROWS * (TILE + GAP)
    parts = [
        f'<svg class="tilemap" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for code, (column, row, short) in TILES.items():
        place = province(code)
        name = place.name if place else str(code)
        value = int(values.get(code, 0))
        outside = shown is not None and code not in shown
        step = 0 if outside else step_of(value, ranges)
        x, y = column * (TILE + GAP), row * (TILE + GAP)
        classes = "tile" + (" tile-selected" if code == selected else "")
        classes += " tile-outside" if outside else ""
        label_class = "tile-label tile-label-light" if step >= WHITE_FROM else "tile-label"
        caption = f"{name}: {value:,}".replace(",", ".")
        body = (
            f'<rect x="{x}" y="{y}" width="{TILE}" height="{TILE}" rx="4" '
            f'fill="{STEPS[step]}" data-value="{value}"/>'
            f'<text x="{x + TILE / 2}" y="{y + 17}" text-anchor="middle" class="{label_class}">'
            f"{escape(short)}</text>"
            f'<text x="{x + TILE / 2}" y="{y + 32}" text-anchor="middle" class="{label_class}">'
            f"{value if not outside else ''}</text>"
        )
        if link is not None and not outside:
            parts.append(
                f'<a href="{escape(link(code))}" class="{classes}" data-province="{code}" '
                f'aria-label="{escape(caption)}"><title>{escape(caption)}</title>{body}</a>'
            )
        else:
            parts.append(
                f'<g class="{classes}" data-province="{code}"><title>{escape(caption)}</title>'
                f"{body}</g>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped


def legend(values: Mapping[int, int]) -> list[tuple[str, str]]:
    """(colour, "from–to") per step for the legend beside the map; "0" first."""
    out = [(STEPS[0], "0")]
    for index, (low, high) in enumerate(steps(values), start=1):
        out.append((STEPS[index], f"{low}" if low == high else f"{low}–{high}"))
    return out
