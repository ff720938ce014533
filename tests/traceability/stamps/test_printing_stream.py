"""Label sheets streamed page by page (printing.pdf_stream): the download is a valid PDF sent as
it is made, every code on it decodes to its stamp's URL as before, the first bytes leave before
the labels are all read, and memory does not grow with the run."""

from __future__ import annotations

import io
import random
import tracemalloc

import pypdfium2 as pdfium
from sqlalchemy import func, select

from accounts.models import AuditEntry
from core.db import db
from tests.conftest import login
from tests.traceability.stamps.test_printing import _expected, _label_urls, _pages
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.models import StampRun
from traceability.stamps import printing

URL = "HTTPS://CHOQUE.TEST/S/ABCDEFGHJKMNP"


def test_the_download_is_streamed_and_every_code_decodes_to_its_url(app, client):
    layout = printing.PRESETS["5x13"]
    quantity = 2 * layout.per_page + 7  # three pages, the last one partly filled
    with app.app_context():
        farm = make_farm(quantity, pin=True)
        stamps.void_range(farm.producer_id, 5, 5, "Tem bị rách khi in")
        db.session.commit()
        expected = _expected(farm.run_id, range(1, quantity + 1))  # void ones left out
        pin = stamps.stamp_pin(farm.run_id, 2)
    login(client, farm.manager_id)
    response = client.post(
        f"/manage/{farm.producer_id}/stamps/{farm.run_id}/sheets.pdf", data={"layout": "5x13"}
    )
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "private, no-store"
    body = response.get_data()
    assert body.startswith(b"%PDF-1.4") and body.rstrip().endswith(b"%%EOF")
    document = pdfium.PdfDocument(body)
    assert len(document) == 3
    assert len(expected) == quantity - 1
    assert _label_urls(_pages(body), layout, len(expected)) == expected
    text = " ".join(document[0].get_textpage().get_text_range().split())
    assert "Cam Cao Phong loại 1" in text and "OCOP ★★★★" in text  # Vietnamese, searchable
    assert "Cào để lấy mã PIN" in text and pin in text
    with app.app_context():  # the audit entry was committed before the pages were sent
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "stamps.run.print")
            )
            == 1
        )


def test_the_cli_file_and_the_stream_are_the_same_pdf(app):
    with app.app_context():
        farm = make_farm(70)
        run = db.session.get(StampRun, farm.run_id)
        out = io.BytesIO()
        result = printing.print_run(run, out, printing.PRESETS["4x10"])
        streamed = b"".join(printing.stream_run(run, printing.PRESETS["4x10"]))
    assert (result.pages, result.labels) == (2, 70)
    assert out.getvalue() == streamed


def _labels(count: int, consumed: list[int]):
    for serial in range(1, count + 1):
        consumed[0] = serial
        yield printing.StampLabel(serial, "ABCDEFGHJKMNP", URL, pin="123456")


def test_the_first_page_leaves_before_the_labels_are_all_read(app):
    layout = printing.PRESETS["5x13"]
    consumed = [0]
    with app.app_context():
        sheets = iter(
            printing.SheetStream(_labels(1000, consumed), printing.LabelText("Cam"), layout)
        )
        head = next(sheets)  # fonts and document information
        assert head.startswith(b"%PDF-") and consumed[0] == 0
        first_page = next(sheets)
        assert b"/Type /Page " in first_page
        assert consumed[0] <= layout.per_page + 1  # one page of labels read, not the run


def _peak(app, count: int) -> int:
    class Sink:
        size = 0

        def write(self, chunk: bytes) -> None:
            self.size += len(chunk)

    with app.app_context():
        tracemalloc.start()
        try:
            printing.render_sheets(
                _labels(count, [0]), printing.LabelText("Cam"), printing.PRESETS["5x13"], Sink()
            )
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_memory_does_not_grow_with_the_run(app):
    small, large = _peak(app, 130), _peak(app, 1300)  # 2 pages, then 20
    assert large < small * 1.25 + 256 * 1024, (small, large)


def _pdf_size(app, count: int) -> int:
    """A run's PDF with a distinct random code a label, as a real run has (identical symbols
    would deflate to nothing)."""
    rng = random.Random(count)
    labels = (
        printing.StampLabel(
            serial, code := "".join(rng.choices(stamps.ALPHABET, k=13)), URL[:-13] + code, "123456"
        )
        for serial in range(1, count + 1)
    )
    out = io.BytesIO()
    with app.app_context():
        printing.render_sheets(labels, printing.LabelText("Cam"), printing.PRESETS["5x13"], out)
    return len(out.getvalue())


def test_a_page_of_65_labels_weighs_little_on_a_slow_line(app):
    """Cooperatives download sheets over 3G: each full page (65 QR symbols with code, serial and
    PIN) adds at most 12 KB; a symbol as one rectangle per run of dark modules made it ≈ 19 KB."""
    one, eleven = _pdf_size(app, 65), _pdf_size(app, 65 * 11)
    assert (eleven - one) / 10 <= 12 * 1024, (one, eleven)
