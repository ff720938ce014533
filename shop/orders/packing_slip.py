"""A printable packing slip (A4 PDF) for one producer's part of an order, with lot codes."""

from __future__ import annotations

import io
from pathlib import Path

from flask_babel import gettext as _

from core.i18n import local_datetime
from core.money import format_vnd
from core.phones import display_phone
from core.places import address_line

FONT_DIR = Path(__file__).resolve().parents[2] / "static" / "fonts"
FONT, FONT_BOLD = "DejaVuSans", "DejaVuSans-Bold"
_ready = False


def _fonts() -> None:
    global _ready
    if _ready:
        return
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for name, file in ((FONT, "DejaVuSans.ttf"), (FONT_BOLD, "DejaVuSans-Bold.ttf")):
        try:
            pdfmetrics.getFont(name)
        except KeyError:
            pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    _ready = True


def packing_slip_pdf(sub, order) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    _fonts()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(f"{order.ref} · {sub.producer_name}")
    width, height = A4
    y = height - 20 * mm

    def line(text: str, size: int = 11, bold: bool = False, x: float = 20 * mm) -> None:
        nonlocal y
        pdf.setFont(FONT_BOLD if bold else FONT, size)
        pdf.drawString(x, y, text)
        y -= size * 0.5 * mm + 2 * mm

    line(_("Phiếu đóng gói"), 18, True)
    line(f"{_('Mã đơn')}: {order.ref}   ·   {local_datetime(order.created_at)}", 12, True)
    line(f"{_('Người bán')}: {sub.producer_name}")
    y -= 2 * mm
    line(_("Giao đến"), 12, True)
    line(f"{order.buyer_name} · {display_phone(order.buyer_phone)}")
    line(address_line(order.street, order.ward_code, order.province_code)[:95])
    if order.note:
        line(f"{_('Ghi chú')}: {order.note[:90]}")
    y -= 3 * mm
    line(_("Hàng cần đóng"), 12, True)
    for item in sub.lines:
        line(f"☐ {item.quantity} × {item.product_name} ({item.variant_label})", 11)
        for lot in item.lots:
            if not lot.released:
                line(f"{_('Lô')} {lot.lot_code}: {lot.quantity}", 10, x=30 * mm)
    y -= 3 * mm
    line(f"{_('Tiền hàng')}: {format_vnd(sub.subtotal_vnd)}")
    line(f"{_('Phí giao')}: {format_vnd(sub.shipping_vnd)}")
    line(f"{_('Thu tiền mặt khi giao')}: {format_vnd(sub.total_vnd)}", 12, True)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
