"""One stamp on its own: PNG and SVG."""

from __future__ import annotations

import io

from traceability.stamps.codes import grouped_code
from traceability.stamps.printing.qr import QrSymbol, qr_symbol
from traceability.stamps.printing.sheet import FONT_DIR, StampLabel, serial_line

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
    for i, line in enumerate((grouped_code(label.code), serial_line(label.serial))):
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
    serial = escape(serial_line(label.serial))
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
