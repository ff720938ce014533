"""Print-ready stamps: every QR decodes back to its exact URL at the size it is printed."""

from __future__ import annotations

import io
import random
import re
import string

import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp
from PIL import Image, ImageDraw

from core.db import db
from core.errors import Invalid
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.models import Stamp, StampRun
from traceability.stamps import printing

DPI = 300
PX_PER_MM = DPI / 25.4


def _decode(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def _pages(pdf_bytes: bytes) -> list[Image.Image]:
    document = pdfium.PdfDocument(pdf_bytes)
    return [page.render(scale=DPI / 72).to_pil().convert("L") for page in document]


def _label_urls(pages: list[Image.Image], layout: printing.SheetLayout, count: int) -> list[str]:
    """Decode each label's crop, in order, from 300 dpi renderings of the sheets."""
    found: list[str] = []
    for index in range(count):
        page = pages[index // layout.per_page]
        left, top = layout.origin(index % layout.per_page)
        box = (
            round(left * PX_PER_MM),
            round(top * PX_PER_MM),
            round((left + layout.label_width) * PX_PER_MM),
            round((top + layout.label_height) * PX_PER_MM),
        )
        decoded = _decode(page.crop(box))
        found.append(decoded[0] if len(decoded) == 1 else f"<{len(decoded)} codes>")
    return found


def _expected(run_id: int, serials: range) -> list[str]:
    run = db.session.get(StampRun, run_id)
    labels = printing.run_labels(run, serials.start, serials.stop - 1)
    return [label.url for label in labels]


# ---------------------------------------------------------------------------- QR symbols


def test_our_symbols_equal_the_qrcode_librarys_for_the_same_mask():
    rng = random.Random(7)
    texts = [f"HTTPS://CHOQUE.VN/S/{''.join(rng.choices(stamps.ALPHABET, k=13))}"]
    texts += ["".join(rng.choices(string.printable[:94], k=rng.randint(1, 400))) for _ in range(25)]
    texts += ["".join(rng.choices(string.digits, k=rng.randint(1, 300))) for _ in range(5)]
    texts += ["Cam Cao Phong — cam sành Hòa Bình " * 3]
    for text in texts:
        mask = rng.randrange(8)
        reference = qrcode.QRCode(
            error_correction=qrcode.ERROR_CORRECT_M, border=0, mask_pattern=mask
        )
        reference.add_data(text)
        reference.make()
        rows = tuple("".join("1" if m else "0" for m in row) for row in reference.get_matrix())
        assert printing.qr_symbol(text, mask=mask).rows == rows, text


def test_a_stamp_url_is_a_version_2_symbol_in_alphanumeric_mode():
    symbol = printing.qr_symbol("HTTPS://CHOQUE.VN/S/ABCDEFGHJKMNP")
    assert (symbol.version, symbol.size) == (2, 25)
    lower = printing.qr_symbol("https://choque.vn/s/ABCDEFGHJKMNP")
    assert lower.version == 3  # the same URL in byte mode needs a bigger symbol
    link = printing.qr_symbol("HTTPS://CHOQUE.VN/01/08931234567897/10/CP-2026-11A/21/1300")
    assert link.version == 3


def test_merged_rectangles_cover_exactly_the_dark_modules():
    symbol = printing.qr_symbol("HTTPS://CHOQUE.VN/S/ABCDEFGHJKMNP")
    covered = {
        (c + dx, r + dy) for c, r, w, h in symbol.rectangles() for dx in range(w) for dy in range(h)
    }
    dark = {(c, r) for r in range(symbol.size) for c in range(symbol.size) if symbol.dark(r, c)}
    assert covered == dark
    assert len(symbol.rectangles()) < len(dark) * 0.6  # runs, not one rectangle per module


# ---------------------------------------------------------------------------- sheets


@pytest.mark.parametrize("key", ["5x13", "4x10", "3x8"])
def test_every_label_of_a_sheet_decodes_to_its_url_at_print_size(app, key):
    layout = printing.PRESETS[key]
    quantity = layout.per_page + 3  # a second, partly filled page
    with app.app_context():
        farm = make_farm(quantity, pin=True)
        run = db.session.get(StampRun, farm.run_id)
        out = io.BytesIO()
        result = printing.print_run(run, out, layout)
        expected = _expected(farm.run_id, range(1, quantity + 1))
    assert (result.pages, result.labels) == (2, quantity)
    pages = _pages(out.getvalue())
    assert len(pages) == 2
    width, height = pages[0].size  # A4 at 300 dpi
    assert abs(width - 210 * PX_PER_MM) <= 1 and abs(height - 297 * PX_PER_MM) <= 1
    assert _label_urls(pages, layout, quantity) == expected
    assert all(re.fullmatch(r"HTTPS://CHOQUE\.TEST/S/[2-9A-HJKMNP-Z]{13}", u) for u in expected)
    # Nothing is printed beyond the last label.
    assert len(_decode(pages[1])) == 3


def test_the_printed_symbol_is_at_least_15_mm(app):
    for layout in printing.PRESETS.values():
        assert layout.qr_mm >= printing.MIN_QR_MM
    layout = printing.PRESETS["5x13"]
    with app.app_context():
        farm = make_farm(1)
        out = io.BytesIO()
        printing.print_run(db.session.get(StampRun, farm.run_id), out, layout)
    page = _pages(out.getvalue())[0]
    (result,) = zxingcpp.read_barcodes(page)
    width_mm = (result.position.top_right.x - result.position.top_left.x) / PX_PER_MM
    assert 15 <= width_mm <= 17.5


def test_labels_carry_product_ocop_stars_code_serial_and_the_pin_under_its_caption(app):
    with app.app_context():
        farm = make_farm(3, pin=True)
        run = db.session.get(StampRun, farm.run_id)
        out = io.BytesIO()
        printing.print_run(run, out, printing.PRESETS["4x10"])
        pin = stamps.stamp_pin(farm.run_id, 2)
        code = stamps.grouped_code(farm.codes[2])
    document = pdfium.PdfDocument(out.getvalue())
    text = " ".join(document[0].get_textpage().get_text_range().split())
    assert "Cam Cao Phong loại 1" in text  # Vietnamese glyphs from the bundled font
    assert "OCOP ★★★★" in text
    assert code in text
    assert "Số 2" in text
    assert "Cào để lấy mã PIN" in text
    assert pin in text


def test_stars_are_left_off_without_a_valid_certificate_and_pins_without_pins(app):
    with app.app_context():
        farm = make_farm(2, certificate=False)
        out = io.BytesIO()
        printing.print_run(db.session.get(StampRun, farm.run_id), out, printing.PRESETS["3x8"])
    text = pdfium.PdfDocument(out.getvalue())[0].get_textpage().get_text_range()
    assert "OCOP" not in text and "★" not in text
    assert "PIN" not in text


def test_digital_link_stamps_print_their_gs1_urls_with_random_serials(app):
    with app.app_context():
        farm = make_farm(5, gtin="8931234567897", bind_lot=True)
        run = db.session.get(StampRun, farm.run_id)
        out = io.BytesIO()
        printing.print_run(run, out, printing.PRESETS["5x13"])
        dl_serials = list(
            db.session.scalars(
                db.select(Stamp.dl_serial).where(Stamp.run_id == run.id).order_by(Stamp.serial)
            )
        )
    urls = _label_urls(_pages(out.getvalue()), printing.PRESETS["5x13"], 5)
    assert urls == [
        f"HTTPS://CHOQUE.TEST/01/08931234567897/10/CP-2026-11A/21/{s}" for s in dl_serials
    ]
    # GS1 recommends non-sequential serials against counterfeiting: 12 random characters.
    assert len(set(dl_serials)) == 5
    assert all(re.fullmatch(r"[2-9A-HJKMNP-Z]{12}", s) for s in dl_serials)


def test_part_of_a_run_can_be_printed_and_void_stamps_are_never_reprinted(app):
    with app.app_context():
        farm = make_farm(20)
        stamps.void_range(farm.producer_id, 12, 13, "tem bị rách")
        db.session.commit()
        run = db.session.get(StampRun, farm.run_id)
        out = io.BytesIO()
        result = printing.print_run(run, out, printing.PRESETS["5x13"], first=10, last=15)
        expected = [stamps.stamp_url(run, s, farm.codes[s]) for s in (10, 11, 14, 15)]
        with pytest.raises(Invalid):
            printing.print_run(run, io.BytesIO(), printing.PRESETS["5x13"], first=15, last=21)
    assert result.labels == 4
    assert _label_urls(_pages(out.getvalue()), printing.PRESETS["5x13"], 4) == expected


def test_custom_layouts_must_fit_the_page_and_a_15_mm_code():
    layout = printing.custom_layout(
        columns="2",
        rows="5",
        label_width="90",
        label_height="50,5",
        margin_left="10",
        margin_top="15",
        gap_x="10",
        gap_y="2",
    )
    assert (layout.per_page, layout.label_height) == (10, 50.5)
    with pytest.raises(Invalid) as error:
        printing.custom_layout(
            columns=3,
            rows=5,
            label_width=70,
            label_height=40,
            margin_left=5,
            margin_top=5,
            gap_x=2,
            gap_y=0,
        )
    assert "columns" in error.value.fields  # 5 + 3×70 + 2×2 > 210 mm
    with pytest.raises(Invalid) as error:
        printing.custom_layout(
            columns=1,
            rows=8,
            label_width=60,
            label_height=40,
            margin_left=5,
            margin_top=5,
            gap_x=0,
            gap_y=0,
        )
    assert "rows" in error.value.fields
    with pytest.raises(Invalid) as error:
        printing.custom_layout(
            columns=8,
            rows=20,
            label_width=25,
            label_height=14,
            margin_left=0,
            margin_top=0,
            gap_x=0,
            gap_y=0,
        )
    assert "label_height" in error.value.fields
    with pytest.raises(Invalid) as error:
        printing.custom_layout(columns="x", rows=None, label_width="nan")
    assert {"columns", "rows", "label_width"} <= set(error.value.fields)


def test_a_custom_sheet_decodes_like_the_presets(app):
    layout = printing.custom_layout(
        columns=2,
        rows=6,
        label_width=95,
        label_height=45,
        margin_left=8,
        margin_top=10,
        gap_x=4,
        gap_y=2,
    )
    with app.app_context():
        farm = make_farm(12, pin=True)
        out = io.BytesIO()
        printing.print_run(db.session.get(StampRun, farm.run_id), out, layout)
        expected = _expected(farm.run_id, range(1, 13))
    assert _label_urls(_pages(out.getvalue()), layout, 12) == expected


def test_10000_stamps_print_to_pdf_every_label_readable(app):
    with app.app_context():
        farm = make_farm(10_000, pin=True)
        run = db.session.get(StampRun, farm.run_id)
        out = io.BytesIO()
        result = printing.print_run(run, out, printing.PRESETS["5x13"])
    assert (result.pages, result.labels) == (154, 10_000)
    # speed is measured by bench/bench_stamp_printing.py, not here
    last_page = pdfium.PdfDocument(out.getvalue())[153]
    image = last_page.render(scale=DPI / 72).to_pil().convert("L")
    assert len(_decode(image)) == 10_000 - 153 * 65


# ---------------------------------------------------------------------------- one stamp


def test_a_single_stamp_png_decodes_to_its_url(app):
    with app.app_context():
        farm = make_farm(2, gtin="8931234567897", bind_lot=True)
        run = db.session.get(StampRun, farm.run_id)
        (label,) = list(printing.run_labels(run, 2, 2))
    png = printing.render_png(label)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert _decode(image.convert("L")) == [label.url]


def _rasterise_svg(svg: str, scale: int = 8) -> Image.Image:
    """Our SVG is one path of `M x y h w v h h -w z` rectangles in module units."""
    width, height = (float(v) for v in re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
    image = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    path = re.search(r'<path fill="#000" d="([^"]+)"', svg).group(1)
    for x, y, w, h in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)h-\d+z", path):
        x, y, w, h = int(x), int(y), int(w), int(h)
        draw.rectangle([x * scale, y * scale, (x + w) * scale - 1, (y + h) * scale - 1], fill=0)
    return image


def test_a_single_stamp_svg_decodes_to_its_url(app):
    with app.app_context():
        farm = make_farm(1)
        run = db.session.get(StampRun, farm.run_id)
        (label,) = list(printing.run_labels(run, 1, 1))
    svg = printing.render_svg(label)
    assert svg.startswith("<svg") and 'width="20mm"' in svg
    assert stamps.grouped_code(label.code) in svg
    assert _decode(_rasterise_svg(svg)) == [label.url]


def test_the_font_ships_with_the_application():
    assert (printing.FONT_DIR / "DejaVuSans.ttf").stat().st_size > 500_000
    assert (printing.FONT_DIR / "DejaVuSans-Bold.ttf").exists()
    assert "Bitstream" in (printing.FONT_DIR / "LICENSE.txt").read_text()
