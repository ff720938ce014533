"""A4 label sheets (PDF) drawn with reportlab's fonts and metrics: each QR is an inline image
mask, one bit a module (sampled, not smoothed: crisp at any printer resolution), text in DejaVu
Sans shipped in static/fonts (Vietnamese glyphs on every machine), pages streamed from the
database in serial order and written out one by one (pdf_stream: memory does not grow with the
run).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import lazy_gettext as _l

from core.errors import Invalid
from traceability.stamps.codes import ALPHABET as ALPHABET_FOR_PRINT
from traceability.stamps.codes import grouped_code
from traceability.stamps.printing.pdf_stream import EmbeddedFont, PdfStream
from traceability.stamps.printing.qr import QrSymbol, qr_symbol

# --------------------------------------------------------------------------------------------
# Label sheets
# --------------------------------------------------------------------------------------------

FONT_DIR = Path(__file__).resolve().parents[3] / "static" / "fonts"
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
    """PDF operators painting the symbol as an inline image mask, one bit a module (1 dark),
    scaled to `side` points with its top-left corner at (x, top). A mask is sampled, not
    smoothed (no /I), so every module prints as a sharp square; it is ~100 bytes where one
    rectangle per run of dark modules was ~2 KB of operators to format and compress."""
    n = symbol.size
    return (
        f"q 0 g {side:.3f} 0 0 {side:.3f} {x:.3f} {top - side:.3f} cm "
        f"BI /W {n} /H {n} /IM true /BPC 1 /D [1 0] /F /AHx ID "
        f"{symbol.packed_rows().hex()}> EI Q"
    )


def _serial_format() -> str:
    """The serial's line with a place-holder for the number, translated once per sheet."""
    return str(_l("Số %(serial)s", serial="\x00"))


def _serial_text(serial_format: str, serial: int) -> str:
    return serial_format.replace("\x00", f"{serial:,}".replace(",", "."))


def serial_line(serial: int) -> str:
    """'Số 1.234': the serial's line of a label, in the current locale."""
    return _serial_text(_serial_format(), serial)


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
    serial_format: str


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
        serial_format=_serial_format(),
    )


def _label_operators(
    layout: SheetLayout,
    plan: _LabelPlan,
    index: int,
    label: StampLabel,
    regular: EmbeddedFont,
    bold: EmbeddedFont,
) -> str:
    """PDF operators drawing one label: its symbol, then its text (and PIN box)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    left_mm, top_mm = layout.origin(index)
    left = left_mm * PT_PER_MM
    top = (PAGE_HEIGHT_MM - top_mm) * PT_PER_MM
    height = layout.label_height * PT_PER_MM
    qr_top = top - (height - plan.side) / 2  # centred vertically
    symbol = qr_symbol(label.url)
    ops = [_qr_operators(symbol, left + plan.inset_left, qr_top, plan.side)]

    def text(font: EmbeddedFont, size: float, x: float, y: float, value: str) -> None:
        ops.append(
            f"BT /{font.resource} {size:.3f} Tf {x:.3f} {y:.3f} Td "
            f"{font.encode(value).decode()} Tj ET"
        )

    x = left + plan.text_x
    y = top - plan.quiet * 0.8 - plan.base
    for part in plan.title_lines:
        text(bold, plan.base, x, y, part)
        y -= plan.line
    if plan.stars:
        text(regular, plan.base, x, y, plan.stars)
        y -= plan.line
    text(regular, plan.code_size, x, y, grouped_code(label.code))
    y -= plan.line
    text(regular, plan.base * 0.9, x, y, _serial_text(plan.serial_format, label.serial))

    if label.pin is not None:
        box_w, box_h = plan.pin_box
        box_y = top - height + plan.quiet * 0.6
        ops.append(f"0.4 w {x:.3f} {box_y:.3f} {box_w:.3f} {box_h:.3f} re S")
        size = plan.base * 1.15
        pin_x = x + box_w / 2 - stringWidth(label.pin, FONT_BOLD, size) / 2
        text(bold, size, pin_x, box_y + box_h * 0.28, label.pin)
        caption_y = box_y + box_h + plan.pin_caption_size * 0.35
        text(regular, plan.pin_caption_size, x, caption_y, plan.pin_caption)
    return "\n".join(ops)


def _characters(plan: _LabelPlan) -> str:
    """Every character a label of this plan can show; printable ASCII too while it fits."""
    needed = "".join(
        (
            *plan.title_lines,
            plan.stars,
            plan.pin_caption,
            _serial_text(plan.serial_format, 1234567890),
            ALPHABET_FOR_PRINT,
            "-0123456789…",
        )
    )
    chars = set(needed)
    for code in range(32, 127):
        if len(chars) >= 255:
            break
        chars.add(chr(code))
    return "".join(chars)


class SheetStream:
    """The label sheets as a PDF, made page by page while it is iterated (bytes in order);
    `pages` and `labels` count what was made so far. Iterating needs an application context
    (the labels may come from the database), not a request."""

    def __init__(
        self,
        labels: Iterable[StampLabel],
        text: LabelText,
        layout: SheetLayout,
        *,
        title: str = "Chợ Quê",
        progress: Any = None,
    ) -> None:
        self._labels = labels
        self.text = text
        self.layout = layout
        self.title = title
        self.progress = progress
        self.pages = 0
        self.labels = 0
        # everything translated is worked out now (in the request): pages may be made after it
        _register_fonts()
        self.plan = _plan(layout, text)

    def __iter__(self) -> Iterator[bytes]:
        layout, progress, plan = self.layout, self.progress, self.plan
        characters = _characters(plan)
        regular = EmbeddedFont(FONT_DIR / "DejaVuSans.ttf", "F1", "CQAAAA", characters)
        bold = EmbeddedFont(FONT_DIR / "DejaVuSans-Bold.ttf", "F2", "CQAAAB", characters)
        pdf = PdfStream([regular, bold], title=self.title, creator="Chợ Quê")
        yield pdf.start()
        page: list[str] = []
        for label in self._labels:
            page.append(_label_operators(layout, plan, len(page), label, regular, bold))
            self.labels += 1
            if len(page) == layout.per_page:
                self.pages += 1
                yield pdf.page("\n".join(page).encode("latin-1"))
                page = []
            if progress is not None and self.labels % 500 == 0:
                progress(500)
        if page or not self.labels:  # an empty range still gives one (blank) page
            self.pages += 1
            yield pdf.page("\n".join(page).encode("latin-1"))
        yield pdf.finish()
        if progress is not None and self.labels % 500:
            progress(self.labels % 500)


def render_sheets(
    labels: Iterable[StampLabel],
    text: LabelText,
    layout: SheetLayout,
    out: Any,
    *,
    title: str = "Chợ Quê",
    progress: Any = None,
) -> SheetResult:
    """Draw labels in order onto A4 pages written to the binary file `out`, page by page."""
    sheets = SheetStream(labels, text, layout, title=title, progress=progress)
    for chunk in sheets:
        out.write(chunk)
    return SheetResult(pages=sheets.pages, labels=sheets.labels)
