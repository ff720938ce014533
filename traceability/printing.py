"""Print-ready stamps: QR symbols, A4 label sheets (PDF), single stamps (PNG, SVG).

QR symbols are built here from the `qrcode` library's data encoding (modes, Reed–Solomon) and
a bit-packed placement and mask search of our own: the library's mask search walks the matrix
eight times in Python (≈2 ms a symbol); ours scores all eight masks with big-integer bit
operations (≈0.2 ms), which is what lets 10,000 stamps print in a few seconds. Tests check
that every symbol equals the library's for the same mask and that a real decoder reads it.

Sheets are drawn with reportlab: each QR is one vector path of merged rectangles (crisp at any
printer resolution), text in DejaVu Sans shipped in static/fonts (Vietnamese glyphs on every
machine), pages streamed from the database in serial order.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from qrcode import QRCode, util
from qrcode.base import rs_blocks as base_rs_blocks
from qrcode.constants import ERROR_CORRECT_M
from sqlalchemy import select

from cooperatives.ocop import valid_certificate
from core.db import db
from core.errors import Invalid
from traceability.models import Stamp, StampRun, StampState
from traceability.stamps import ALPHABET as ALPHABET_FOR_PRINT
from traceability.stamps import grouped_code, pin_key, stamp_pin, stamp_url

# --------------------------------------------------------------------------------------------
# QR symbols
# --------------------------------------------------------------------------------------------

ERROR_CORRECTION = ERROR_CORRECT_M  # 15 % recovery: survives a scuffed label, keeps version low
_PAD = 4  # light bits after every row in the packed layout: the quiet zone for penalty rule 3
_RUN = re.compile("1+")
_TO_BITS = bytes.maketrans(b"01", b"\x00\x01")


@dataclass(frozen=True)
class QrSymbol:
    """A QR code as rows of '1' (dark) and '0' (light), without the quiet zone."""

    text: str
    version: int
    mask: int
    rows: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.rows)

    def dark(self, row: int, col: int) -> bool:
        return self.rows[row][col] == "1"

    def rectangles(self) -> list[tuple[int, int, int, int]]:
        """Dark areas as (col, row, width, 1): each row's runs of dark modules merged."""
        stride = self.size + 1
        out = []
        for match in _RUN.finditer("0".join(self.rows)):  # the "0" keeps runs inside a row
            start, end = match.span()
            row, col = divmod(start, stride)
            out.append((col, row, end - start, 1))
        return out


@dataclass(frozen=True)
class _Grid:
    """Where data bits go in a symbol of one version/EC level, packed into big integers.

    Module (r, c) is bit `_PAD + r*width + c` of the row layout and `_PAD + c*width + r` of the
    column layout, so penalty rules become shifts and popcounts over whole symbols.
    """

    n: int
    width: int
    row_bits: tuple[int, ...]  # data bit i (placement order) -> bit in the row layout
    col_bits: tuple[int, ...]
    function_rows: tuple[int, ...]  # per mask: dark function modules (finders, timing, format)
    function_cols: tuple[int, ...]
    mask_rows: tuple[int, ...]  # per mask: data modules the mask inverts
    mask_cols: tuple[int, ...]
    valid: int  # every real module
    full: int  # modules and padding


@lru_cache(maxsize=16)
def _grid(version: int, error_correction: int) -> _Grid:
    n = version * 4 + 17
    width = n + _PAD
    qr = QRCode(version=version, error_correction=error_correction, border=0)
    function_rows, function_cols, layouts = [], [], []
    for mask in range(8):
        qr.modules_count = n
        qr.modules = [[None] * n for _ in range(n)]
        qr.setup_position_probe_pattern(0, 0)
        qr.setup_position_probe_pattern(n - 7, 0)
        qr.setup_position_probe_pattern(0, n - 7)
        qr.setup_position_adjust_pattern()
        qr.setup_timing_pattern()
        qr.setup_type_info(False, mask)
        if version >= 7:
            qr.setup_type_number(False)
        layouts.append(qr.modules)
        fr = fc = 0
        for r in range(n):
            for c in range(n):
                if qr.modules[r][c]:
                    fr |= 1 << (_PAD + r * width + c)
                    fc |= 1 << (_PAD + c * width + r)
        function_rows.append(fr)
        function_cols.append(fc)

    # The placement order of ISO/IEC 18004 (two-column zigzag from the bottom right), as
    # qrcode's map_data walks it.
    free = layouts[0]
    positions: list[tuple[int, int]] = []
    step, row = -1, n - 1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if free[row][c] is None:
                    positions.append((row, c))
            row += step
            if row < 0 or row >= n:
                row -= step
                step = -step
                break

    mask_rows, mask_cols = [], []
    for mask in range(8):
        inverts = util.mask_func(mask)
        mr = mc = 0
        for r, c in positions:
            if inverts(r, c):
                mr |= 1 << (_PAD + r * width + c)
                mc |= 1 << (_PAD + c * width + r)
        mask_rows.append(mr)
        mask_cols.append(mc)

    valid = 0
    for r in range(n):
        valid |= ((1 << n) - 1) << (_PAD + r * width)
    return _Grid(
        n=n,
        width=width,
        row_bits=tuple(_PAD + r * width + c for r, c in positions),
        col_bits=tuple(_PAD + c * width + r for r, c in positions),
        function_rows=tuple(function_rows),
        function_cols=tuple(function_cols),
        mask_rows=tuple(mask_rows),
        mask_cols=tuple(mask_cols),
        valid=valid,
        full=(1 << (_PAD + n * width)) - 1,
    )


def _penalty(rows: int, cols: int, grid: _Grid) -> int:
    """ISO/IEC 18004 mask penalty (rules 1–4), the light quiet zone counting for rule 3."""
    valid, full, width = grid.valid, grid.full, grid.width
    score = 0
    for x in (rows, cols):
        for y in (x, valid ^ x):  # rule 1: runs of five or more of one colour
            e = y & (y >> 1) & (y >> 2) & (y >> 3) & (y >> 4)
            score += e.bit_count() + 2 * (e & ~(e << 1)).bit_count()
        light = full ^ x  # rule 3: 1:1:3:1:1 finder look-alikes with four light modules
        core = x & (light >> 1) & (x >> 2) & (x >> 3) & (x >> 4) & (light >> 5) & (x >> 6)
        after = core & (light >> 7) & (light >> 8) & (light >> 9) & (light >> 10)
        before = light & (light >> 1) & (light >> 2) & (light >> 3) & (core >> 4)
        score += 40 * (after.bit_count() + before.bit_count())
    for y in (rows, valid ^ rows):  # rule 2: 2×2 blocks of one colour
        block = y & (y >> 1) & (y >> width) & (y >> (width + 1))
        score += 3 * block.bit_count()
    total = grid.n * grid.n  # rule 4: balance of dark and light
    score += 10 * (abs(20 * rows.bit_count() - 10 * total) // total)
    return score


# Reed–Solomon over GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _i in range(255):
    _EXP[_i] = _value
    _LOG[_value] = _i
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]
_ALPHANUMERIC = {ch: i for i, ch in enumerate(util.ALPHA_NUM.decode("ascii"))}
_NUMBER_BITS = {1: 4, 2: 7, 0: 10}


@lru_cache(maxsize=64)
def _generator_logs(degree: int) -> tuple[int, ...]:
    """log of each coefficient (after the leading 1) of prod (x - a^i), i < degree."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coefficient in enumerate(poly):
            nxt[j] ^= coefficient
            if coefficient:
                nxt[j + 1] ^= _EXP[_LOG[coefficient] + i]
        poly = nxt
    return tuple(_LOG[c] for c in poly[1:])


def _ecc(data: list[int], degree: int) -> list[int]:
    generator = _generator_logs(degree)
    remainder = [0] * degree
    for byte in data:
        factor = byte ^ remainder[0]
        remainder = remainder[1:] + [0]
        if factor:
            log_factor = _LOG[factor]
            for i, log_g in enumerate(generator):
                remainder[i] ^= _EXP[log_factor + log_g]
    return remainder


def _segments(text: str) -> list[tuple[int, bytes]]:
    """Mode segments exactly as qrcode's add_data() splits them (same symbols in tests)."""
    return [(chunk.mode, chunk.data) for chunk in util.optimal_data_chunks(text, minimum=20)]


def _segment_bits(mode: int, data: bytes) -> tuple[int, int]:
    """(value, bit count) of a segment's payload."""
    value = bits = 0
    if mode == util.MODE_NUMBER:
        for i in range(0, len(data), 3):
            chunk = data[i : i + 3]
            width = _NUMBER_BITS[len(chunk) % 3]
            value, bits = (value << width) | int(chunk), bits + width
    elif mode == util.MODE_ALPHA_NUM:
        chars = data.decode("ascii")
        for i in range(0, len(chars) - 1, 2):
            pair = _ALPHANUMERIC[chars[i]] * 45 + _ALPHANUMERIC[chars[i + 1]]
            value, bits = (value << 11) | pair, bits + 11
        if len(chars) % 2:
            value, bits = (value << 6) | _ALPHANUMERIC[chars[-1]], bits + 6
    else:
        value, bits = int.from_bytes(data, "big"), 8 * len(data)
    return value, bits


def _codewords(text: str, error_correction: int) -> tuple[int, list[int]]:
    """(version, final codewords: data and error correction, interleaved by block)."""
    payloads = [(mode, len(data), *_segment_bits(mode, data)) for mode, data in _segments(text)]
    limits = util.BIT_LIMIT_TABLE[error_correction]
    version = 1
    while True:
        needed = sum(4 + util.length_in_bits(m, version) + b for m, _n, _v, b in payloads)
        while version <= 40 and limits[version] < needed:
            version += 1
        if version > 40:
            raise Invalid(_l("Nội dung quá dài cho một mã QR."))
        # The length fields grow at versions 10 and 27: re-check with this version's widths.
        if (
            sum(4 + util.length_in_bits(m, version) + b for m, _n, _v, b in payloads)
            <= limits[version]
        ):
            break
    value = bits = 0
    for mode, length, payload, width in payloads:
        count_bits = util.length_in_bits(mode, version)
        value = (((value << 4 | mode) << count_bits | length) << width) | payload
        bits += 4 + count_bits + width
    capacity = limits[version]
    terminator = min(4, capacity - bits)
    value, bits = value << terminator, bits + terminator
    if bits % 8:
        value, bits = value << (8 - bits % 8), bits + 8 - bits % 8
    data = list(value.to_bytes(bits // 8, "big")) if bits else []
    data += [0xEC, 0x11] * ((capacity // 8 - len(data)) // 2 + 1)
    data = data[: capacity // 8]

    blocks, ecc_blocks, offset = [], [], 0
    for block in base_rs_blocks(version, error_correction):
        chunk = data[offset : offset + block.data_count]
        offset += block.data_count
        blocks.append(chunk)
        ecc_blocks.append(_ecc(chunk, block.total_count - block.data_count))
    out = [b[i] for i in range(max(map(len, blocks))) for b in blocks if i < len(b)]
    out += [e[i] for i in range(max(map(len, ecc_blocks))) for e in ecc_blocks if i < len(e)]
    return version, out


def qr_symbol(text: str, mask: int | None = None) -> QrSymbol:
    """Encode `text` at error correction M in the smallest version that holds it.

    Upper-case letters, digits and ` $%*+-./:` use the alphanumeric mode (5.5 bits a
    character instead of 8): stamp URLs are written that way to keep the symbol small.
    """
    version, codewords = _codewords(text, ERROR_CORRECTION)
    grid = _grid(version, ERROR_CORRECTION)
    bit_count = len(codewords) * 8
    flags = format(int.from_bytes(bytes(codewords), "big"), f"0{bit_count}b")
    flags_bytes = flags.encode("ascii").translate(_TO_BITS)
    data_rows = sum(map((1).__lshift__, compress(grid.row_bits, flags_bytes)))
    data_cols = sum(map((1).__lshift__, compress(grid.col_bits, flags_bytes)))

    best_mask, best_rows, best_score = -1, 0, -1
    for candidate in range(8) if mask is None else (mask,):
        rows = grid.function_rows[candidate] | (data_rows ^ grid.mask_rows[candidate])
        if mask is None:
            cols = grid.function_cols[candidate] | (data_cols ^ grid.mask_cols[candidate])
            score = _penalty(rows, cols, grid)
            if best_score >= 0 and score >= best_score:
                continue
            best_score = score
        best_mask, best_rows = candidate, rows

    n, width = grid.n, grid.width
    bits = format(best_rows, f"0{_PAD + n * width}b")[::-1]
    return QrSymbol(
        text=text,
        version=version,
        mask=best_mask,
        rows=tuple(bits[_PAD + r * width : _PAD + r * width + n] for r in range(n)),
    )


# --------------------------------------------------------------------------------------------
# Label sheets
# --------------------------------------------------------------------------------------------

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
FONT = "ChoQueSans"
FONT_BOLD = "ChoQueSans-Bold"
PAGE_WIDTH_MM = 210.0  # A4
PAGE_HEIGHT_MM = 297.0
MIN_QR_MM = 15.0  # smallest printed symbol: still reads on a mid-range phone
MAX_QR_MM = 30.0
PRINTER_MARGIN_MM = 4.0  # what office printers cannot print at the page edges
QUIET_MM = 2.0  # light margin around the symbol inside the label (≥ 2.5 modules at 15 mm)
PT_PER_MM = 72 / 25.4
PIN_CAPTION = _l("Cào để lấy mã PIN")


@dataclass(frozen=True)
class SheetLayout:
    """Labels on an A4 sheet, in millimetres from the top-left corner of the page."""

    key: str
    columns: int
    rows: int
    label_width: float
    label_height: float
    margin_left: float
    margin_top: float
    gap_x: float = 0.0
    gap_y: float = 0.0
    stock: str = ""  # label products sold in this size

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def qr_mm(self) -> float:
        return min(self.label_height - 2 * QUIET_MM, self.label_width * 0.42, MAX_QR_MM)

    @property
    def title(self) -> str:
        text = str(
            _l(
                "%(columns)s×%(rows)s — %(count)s tem %(width)s × %(height)s mm",
                columns=self.columns,
                rows=self.rows,
                count=self.per_page,
                width=f"{self.label_width:g}".replace(".", ","),
                height=f"{self.label_height:g}".replace(".", ","),
            )
        )
        return text + (f" ({self.stock})" if self.stock else "")

    def origin(self, index: int) -> tuple[float, float]:
        """Top-left corner (mm from the page's top-left) of the label at `index` on a page."""
        row, col = divmod(index, self.columns)
        return (
            self.margin_left + col * (self.label_width + self.gap_x),
            self.margin_top + row * (self.label_height + self.gap_y),
        )


PRESETS: dict[str, SheetLayout] = {
    layout.key: layout
    for layout in (
        SheetLayout("5x13", 5, 13, 38.1, 21.2, 4.75, 10.7, 2.5, 0.0, "Avery L7651, Tomy A4 65"),
        SheetLayout("4x10", 4, 10, 45.7, 25.4, 9.7, 21.5, 2.6, 0.0, "Avery L7654"),
        SheetLayout("3x8", 3, 8, 70.0, 37.0, 0.0, 0.5, 0.0, 0.0, "Avery 3474"),
    )
}
DEFAULT_LAYOUT = "5x13"

# Bounds of the custom layout fields: (minimum, maximum).
CUSTOM_LIMITS: dict[str, tuple[float, float]] = {
    "columns": (1, 10),
    "rows": (1, 30),
    "label_width": (25.0, 210.0),
    "label_height": (19.0, 297.0),
    "margin_left": (0.0, 100.0),
    "margin_top": (0.0, 150.0),
    "gap_x": (0.0, 50.0),
    "gap_y": (0.0, 50.0),
}


def custom_layout(**values: Any) -> SheetLayout:
    """A layout from millimetre fields, refused (Invalid, per field) unless labels fit A4 and
    the QR code can be at least 15 mm."""
    errors: dict[str, str] = {}
    parsed: dict[str, float] = {}
    for name, (low, high) in CUSTOM_LIMITS.items():
        raw = values.get(name)
        try:
            number = float(str(raw).replace(",", "."))
        except (TypeError, ValueError):
            errors[name] = str(_l("Nhập một số."))
            continue
        if number != number or not low <= number <= high:  # NaN or out of range
            errors[name] = str(_l("Từ %(low)s đến %(high)s.", low=f"{low:g}", high=f"{high:g}"))
            continue
        if name in ("columns", "rows") and number != int(number):
            errors[name] = str(_l("Nhập số nguyên."))
            continue
        parsed[name] = number
    if not errors:
        width = parsed["margin_left"] + parsed["columns"] * parsed["label_width"]
        width += (parsed["columns"] - 1) * parsed["gap_x"]
        height = parsed["margin_top"] + parsed["rows"] * parsed["label_height"]
        height += (parsed["rows"] - 1) * parsed["gap_y"]
        if width > PAGE_WIDTH_MM + 0.01:
            errors["columns"] = str(
                _l("Các cột rộng %(w)s mm, quá khổ A4 (210 mm).", w=f"{width:.1f}")
            )
        if height > PAGE_HEIGHT_MM + 0.01:
            errors["rows"] = str(
                _l("Các hàng cao %(h)s mm, quá khổ A4 (297 mm).", h=f"{height:.1f}")
            )
    if errors:
        raise Invalid(_l("Kích thước nhãn chưa hợp lệ."), fields=errors)
    layout = SheetLayout(
        key="custom",
        columns=int(parsed["columns"]),
        rows=int(parsed["rows"]),
        label_width=parsed["label_width"],
        label_height=parsed["label_height"],
        margin_left=parsed["margin_left"],
        margin_top=parsed["margin_top"],
        gap_x=parsed["gap_x"],
        gap_y=parsed["gap_y"],
    )
    if layout.qr_mm < MIN_QR_MM:
        raise Invalid(
            _l("Nhãn quá nhỏ: mã QR cần ít nhất 15 mm."),
            fields={"label_width": str(_l("Nhãn rộng ít nhất 36 mm, cao ít nhất 19 mm."))},
        )
    return layout


def layout_for(key: str | None, **custom: Any) -> SheetLayout:
    if key == "custom":
        return custom_layout(**custom)
    layout = PRESETS.get(key or DEFAULT_LAYOUT)
    if layout is None:
        raise Invalid(_l("Chọn một khổ nhãn."), fields={"layout": str(_l("Chọn khổ nhãn"))})
    return layout


@dataclass(frozen=True)
class StampLabel:
    serial: int
    code: str
    url: str
    pin: str | None = None


@dataclass(frozen=True)
class LabelText:
    """What every label of a run shares."""

    title: str  # product name (or the producer's when the run has no product)
    stars: int | None = None  # OCOP stars, only while a certificate is valid


@dataclass(frozen=True)
class SheetResult:
    pages: int
    labels: int


_fonts_ready = False


def _register_fonts() -> None:
    global _fonts_ready
    if _fonts_ready:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    _fonts_ready = True


def _fit(text: str, font: str, size: float, width: float, minimum: float) -> tuple[str, float]:
    """Shrink the font (not below `minimum`) and then cut the text so it fits `width` (pt)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    measured = stringWidth(text, font, size)
    if measured <= width:
        return text, size
    size = max(minimum, size * width / measured)
    if stringWidth(text, font, size) <= width:
        return text, size
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "…", size


def _wrap(text: str, font: str, size: float, width: float, lines: int) -> list[str]:
    """Greedy word wrap into at most `lines` lines; the last one cut with an ellipsis."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    words, out, current = text.split(), [], ""
    for i, word in enumerate(words):
        candidate = f"{current} {word}".strip()
        if stringWidth(candidate, font, size) <= width or not current:
            current = candidate
            continue
        out.append(current)
        current = word
        if len(out) == lines - 1:
            current = " ".join(words[i:])
            break
    if current:
        out.append(current)
    if len(out) > lines:
        out = out[:lines]
    if out and stringWidth(out[-1], font, size) > width:
        out[-1] = _fit(out[-1], font, size, width, size)[0]
    return out


def _qr_operators(symbol: QrSymbol, x: float, top: float, side: float) -> str:
    """PDF operators filling the symbol's dark areas: a module-unit coordinate system (y down
    from the symbol's top-left corner) and one rectangle per merged run, filled at once."""
    m = side / symbol.size
    rects = " re ".join(f"{c} {r} {w} {h}" for c, r, w, h in symbol.rectangles())
    return f"q 0 g {m:.5f} 0 0 {-m:.5f} {x:.3f} {top:.3f} cm {rects} re f Q"


def _serial_text(serial: int) -> str:
    return str(_l("Số %(serial)s", serial=f"{serial:,}".replace(",", ".")))


@dataclass(frozen=True)
class _LabelPlan:
    """Geometry and text shared by every label of a sheet, worked out once (points)."""

    side: float  # QR symbol
    quiet: float
    inset_left: float  # from the label's left edge to the symbol
    text_x: float  # from the label's left edge
    text_width: float
    base: float  # font size
    line: float
    title_lines: tuple[str, ...]
    stars: str
    code_size: float
    pin_caption: str
    pin_caption_size: float
    pin_box: tuple[float, float]  # width, height


def _plan(layout: SheetLayout, text: LabelText) -> _LabelPlan:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    quiet = QUIET_MM * PT_PER_MM
    # Office printers leave ~4 mm at the page edges blank: on edge-to-edge stock keep the
    # symbol and text inside the printable area.
    right_margin = PAGE_WIDTH_MM - layout.margin_left - layout.columns * layout.label_width
    right_margin -= (layout.columns - 1) * layout.gap_x
    inset_left = max(QUIET_MM, PRINTER_MARGIN_MM - layout.margin_left) * PT_PER_MM
    inset_right = max(QUIET_MM * 0.6, PRINTER_MARGIN_MM - right_margin) * PT_PER_MM
    side = layout.qr_mm * PT_PER_MM
    text_x = inset_left + side + quiet * 0.75
    text_width = layout.label_width * PT_PER_MM - inset_right - text_x
    base = max(5.0, min(9.0, layout.label_height * 0.26))
    lines = 2 if layout.label_height < 30 else 3
    widest = max(ALPHABET_FOR_PRINT, key=lambda ch: stringWidth(ch, FONT, base))
    sample = grouped_code(widest * 13)  # the widest code any stamp can have
    code_size = min(base, base * text_width / stringWidth(sample, FONT, base))
    caption, caption_size = _fit(str(PIN_CAPTION), FONT, base * 0.85, text_width, 3.5)
    return _LabelPlan(
        side=side,
        quiet=quiet,
        inset_left=inset_left,
        text_x=text_x,
        text_width=text_width,
        base=base,
        line=base * 1.18,
        title_lines=tuple(_wrap(text.title, FONT_BOLD, base, text_width, lines)),
        stars="OCOP " + "★" * text.stars if text.stars else "",
        code_size=max(3.5, code_size),
        pin_caption=caption,
        pin_caption_size=caption_size,
        pin_box=(min(text_width, max(base * 6.2, text_width * 0.8)), base * 1.7),
    )


def _draw_label(
    canvas: Any, layout: SheetLayout, plan: _LabelPlan, index: int, label: StampLabel
) -> None:
    left_mm, top_mm = layout.origin(index)
    left = left_mm * PT_PER_MM
    top = (PAGE_HEIGHT_MM - top_mm) * PT_PER_MM
    height = layout.label_height * PT_PER_MM
    qr_top = top - (height - plan.side) / 2  # centred vertically
    symbol = qr_symbol(label.url)
    canvas.addLiteral(_qr_operators(symbol, left + plan.inset_left, qr_top, plan.side))

    x = left + plan.text_x
    y = top - plan.quiet * 0.8 - plan.base
    canvas.setFont(FONT_BOLD, plan.base)
    for part in plan.title_lines:
        canvas.drawString(x, y, part)
        y -= plan.line
    canvas.setFont(FONT, plan.base)
    if plan.stars:
        canvas.drawString(x, y, plan.stars)
        y -= plan.line
    canvas.setFont(FONT, plan.code_size)
    canvas.drawString(x, y, grouped_code(label.code))
    y -= plan.line
    canvas.setFont(FONT, plan.base * 0.9)
    canvas.drawString(x, y, _serial_text(label.serial))

    if label.pin is not None:
        box_w, box_h = plan.pin_box
        box_y = top - height + plan.quiet * 0.6
        canvas.setLineWidth(0.4)
        canvas.rect(x, box_y, box_w, box_h, stroke=1, fill=0)
        canvas.setFont(FONT_BOLD, plan.base * 1.15)
        canvas.drawCentredString(x + box_w / 2, box_y + box_h * 0.28, label.pin)
        canvas.setFont(FONT, plan.pin_caption_size)
        canvas.drawString(x, box_y + box_h + plan.pin_caption_size * 0.35, plan.pin_caption)


def render_sheets(
    labels: Iterable[StampLabel],
    text: LabelText,
    layout: SheetLayout,
    out: Any,
    *,
    title: str = "Chợ Quê",
    progress: Any = None,
) -> SheetResult:
    """Draw labels in order onto A4 pages written to the binary file `out`."""
    from reportlab import rl_config
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    # ASCII85 around compressed streams only makes files 25 % bigger, and reportlab's
    # pure-Python encoder is the slowest step of a big run: write binary streams.
    rl_config.useA85 = 0
    _register_fonts()
    canvas = Canvas(out, pagesize=A4, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("Chợ Quê")
    plan = _plan(layout, text)
    count = index = pages = 0
    for label in labels:
        if index == 0:
            pages += 1
        _draw_label(canvas, layout, plan, index, label)
        count += 1
        index += 1
        if index == layout.per_page:
            canvas.showPage()
            index = 0
        if progress is not None and count % 500 == 0:
            progress(500)
    if index or not count:
        canvas.showPage()
        pages += 0 if count else 1
    canvas.save()
    if progress is not None and count % 500:
        progress(count % 500)
    return SheetResult(pages=pages, labels=count)


# --------------------------------------------------------------------------------------------
# One stamp: PNG and SVG
# --------------------------------------------------------------------------------------------

QUIET_MODULES = 4  # the standard quiet zone around a stand-alone symbol


def render_png(label: StampLabel, scale: int = 8) -> bytes:
    """The QR (with its quiet zone) and the grouped code and serial under it."""
    from PIL import Image, ImageDraw, ImageFont

    symbol = qr_symbol(label.url)
    scale = max(2, min(int(scale), 40))
    side = (symbol.size + 2 * QUIET_MODULES) * scale
    text_size = max(12, side // 14)
    image = Image.new("L", (side, side + 2 * text_size + text_size // 2), 255)
    draw = ImageDraw.Draw(image)
    q = QUIET_MODULES
    for c, r, w, h in symbol.rectangles():
        draw.rectangle(
            [(c + q) * scale, (r + q) * scale, (c + q + w) * scale - 1, (r + q + h) * scale - 1],
            fill=0,
        )
    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), text_size)
    for i, line in enumerate((grouped_code(label.code), _serial_text(label.serial))):
        draw.text((side / 2, side + i * text_size * 1.15), line, font=font, fill=0, anchor="ma")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def svg_path(symbol: QrSymbol, offset: int = QUIET_MODULES) -> str:
    """The symbol's dark areas as one SVG path in module units (`M x y h w v h h -w z`)."""
    return "".join(
        f"M{c + offset} {r + offset}h{w}v{h}h-{w}z" for c, r, w, h in symbol.rectangles()
    )


def render_svg(label: StampLabel, size_mm: float = 20.0) -> str:
    """A vector stamp: white background, the symbol as one path, the code underneath."""
    from xml.sax.saxutils import escape

    symbol = qr_symbol(label.url)
    units = symbol.size + 2 * QUIET_MODULES
    text_units = 5
    height_mm = size_mm * (units + text_units) / units
    code = escape(grouped_code(label.code))
    serial = escape(_serial_text(label.serial))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{size_mm:g}mm" height="{height_mm:.2f}mm" '
        f'viewBox="0 0 {units} {units + text_units}" shape-rendering="crispEdges">'
        f"<title>{code}</title>"
        f'<rect width="{units}" height="{units + text_units}" fill="#fff"/>'
        f'<path fill="#000" d="{svg_path(symbol)}"/>'
        f'<text x="{units / 2:g}" y="{units + 1.5:g}" font-family="DejaVu Sans, sans-serif" '
        f'font-size="2" text-anchor="middle">{code}</text>'
        f'<text x="{units / 2:g}" y="{units + 4:g}" font-family="DejaVu Sans, sans-serif" '
        f'font-size="1.6" text-anchor="middle">{serial}</text>'
        "</svg>"
    )


# --------------------------------------------------------------------------------------------
# A run
# --------------------------------------------------------------------------------------------


def label_text(run: StampRun) -> LabelText:
    if run.product is None:
        return LabelText(title=run.producer.name)
    certificate = valid_certificate(run.product.id)
    return LabelText(title=run.product.name_vi, stars=certificate.stars if certificate else None)


def print_range(run: StampRun, first: Any = None, last: Any = None) -> tuple[int, int]:
    """The serials to print: the whole run unless a part of it is asked for."""
    try:
        a = run.first_serial if first in (None, "") else int(first)
        b = run.last_serial if last in (None, "") else int(last)
    except (TypeError, ValueError):
        raise Invalid(
            _l("Số sê-ri phải là số nguyên."), fields={"first": str(_l("Nhập số"))}
        ) from None
    if not run.first_serial <= a <= b <= run.last_serial:
        raise Invalid(
            _l(
                "Đợt in này gồm tem số %(first)s đến %(last)s.",
                first=run.first_serial,
                last=run.last_serial,
            ),
            fields={"first": str(_l("Ngoài đợt in"))},
        )
    return a, b


def run_labels(run: StampRun, first: int, last: int) -> Iterator[StampLabel]:
    """Labels of serials first..last in order, streamed from the database (void ones left
    out: a voided stamp is never printed again). PINs are derived, never read."""
    base = current_app.config["PUBLIC_BASE_URL"]
    key = pin_key() if run.with_pin else b""
    rows = db.session.execute(
        select(Stamp.serial, Stamp.code)
        .where(
            Stamp.run_id == run.id,
            Stamp.serial.between(first, last),
            Stamp.state != StampState.VOID.value,
        )
        .order_by(Stamp.serial)
        .execution_options(yield_per=2_000)
    )
    for serial, code in rows:
        yield StampLabel(
            serial=serial,
            code=code,
            url=stamp_url(run, serial, code, base),
            pin=stamp_pin(run.id, serial, key) if run.with_pin else None,
        )


def print_run(
    run: StampRun,
    out: Any,
    layout: SheetLayout,
    *,
    first: Any = None,
    last: Any = None,
    progress: Any = None,
) -> SheetResult:
    a, b = print_range(run, first, last)
    title = f"Chợ Quê — tem {run.first_serial}–{run.last_serial} (#{run.id})"
    return render_sheets(
        run_labels(run, a, b), label_text(run), layout, out, title=title, progress=progress
    )
