"""Print-ready stamps: QR symbols (`qr`), A4 label sheets (`sheet`, PDF), single stamps
(`single`, PNG and SVG) and a run's labels (`labels`)."""

from traceability.stamps.printing.labels import label_text, print_range, print_run, run_labels
from traceability.stamps.printing.qr import ERROR_CORRECTION, QrSymbol, qr_symbol
from traceability.stamps.printing.sheet import (
    CUSTOM_LIMITS,
    DEFAULT_LAYOUT,
    FONT,
    FONT_BOLD,
    FONT_DIR,
    MAX_QR_MM,
    MIN_QR_MM,
    PAGE_HEIGHT_MM,
    PAGE_WIDTH_MM,
    PRESETS,
    PRINTER_MARGIN_MM,
    LabelText,
    SheetLayout,
    SheetResult,
    StampLabel,
    custom_layout,
    layout_for,
    render_sheets,
)
from traceability.stamps.printing.single import QUIET_MODULES, render_png, render_svg, svg_path

__all__ = [
    "CUSTOM_LIMITS",
    "DEFAULT_LAYOUT",
    "ERROR_CORRECTION",
    "FONT",
    "FONT_BOLD",
    "FONT_DIR",
    "MAX_QR_MM",
    "MIN_QR_MM",
    "PAGE_HEIGHT_MM",
    "PAGE_WIDTH_MM",
    "PRESETS",
    "PRINTER_MARGIN_MM",
    "QUIET_MODULES",
    "LabelText",
    "QrSymbol",
    "SheetLayout",
    "SheetResult",
    "StampLabel",
    "custom_layout",
    "label_text",
    "layout_for",
    "print_range",
    "print_run",
    "qr_symbol",
    "render_png",
    "render_sheets",
    "render_svg",
    "run_labels",
    "svg_path",
]
