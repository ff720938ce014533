"""Issue 3, done when: a manager prints a run of stamps, activates it for a lot, and a consumer
who scans a printed stamp at 360×640 sees the verdict; a stamp of a recalled lot shows the
recall banner. The QR is read from the printed PDF with a real decoder, as a phone would."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from pathlib import Path

import pypdfium2
import zxingcpp
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def _producer_id(page) -> int:
    page.goto("/manage")
    page.locator("a.producer-link").first.click()
    expect(page).to_have_url(re.compile(r"/manage/\d+"))
    return int(re.search(r"/manage/(\d+)", page.url).group(1))


def _new_lot(page, producer_id: int) -> tuple[int, str]:
    lot = f"E2E-{secrets.token_hex(3).upper()}"
    page.goto(f"/manage/{producer_id}/batches/new")
    page.get_by_label("Sản phẩm", exact=True).select_option(index=1)
    page.get_by_label("Mã lô").fill(lot)
    page.get_by_label("Ngày thu hoạch / sản xuất").fill(
        (date.today() - timedelta(days=3)).isoformat()
    )
    page.get_by_label("Số lượng", exact=True).fill("500")
    page.get_by_label("VietGAP").check()
    page.get_by_role("button", name="Lưu lô hàng").click()
    expect(page.get_by_text(f"Đã ghi lô {lot}")).to_be_visible()
    return int(re.search(r"/batches/(\d+)", page.url).group(1)), lot


def _order_run(page, producer_id: int, quantity: int) -> str:
    """Order a run; returns the run page's URL."""
    page.goto(f"/manage/{producer_id}/stamps/new")
    page.get_by_label("Số tem cần in").fill(str(quantity))
    page.get_by_label("Sản phẩm (không bắt buộc)").select_option(index=1)
    page.get_by_role("button", name="Tạo tem").click()
    expect(page.get_by_text(f"Đã tạo {quantity} tem")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/stamps/\d+$"))
    return page.url


def _activate_run(page, run_url: str, batch_id: int, lot: str, quantity: int) -> None:
    page.goto(run_url)
    section = page.locator("#activate")
    section.get_by_label("Cho lô hàng").select_option(str(batch_id))
    section.get_by_role("button", name="Kích hoạt").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"cho lô {lot}?")
    page.get_by_role("button", name=re.compile(r"^Kích hoạt [\d.]+ tem$")).click()
    expect(
        page.get_by_text(re.compile(rf"Đã kích hoạt {quantity} tem .* lô {lot}"))
    ).to_be_visible()


def _qr_urls(pdf: Path) -> list[str]:
    """Decode every QR code on the first page of the PDF rendered at 300 dpi."""
    document = pypdfium2.PdfDocument(str(pdf))
    try:
        image = document[0].render(scale=300 / 72).to_pil()
    finally:
        document.close()
    return [
        r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.BarcodeFormat.QRCode
    ]


def test_printed_and_activated_stamp_scans_as_genuine_at_phone_size(
    page, consumer_page, live_server, tmp_path, results_dir
):
    sign_in(page)
    producer_id = _producer_id(page)
    batch_id, lot = _new_lot(page, producer_id)
    run_url = _order_run(page, producer_id, 30)

    # Print: the PDF of the run, A4 sheets of 5×13 labels.
    with page.expect_download() as download_info:
        page.locator("#print").get_by_role("button", name="Tải PDF").click()
    pdf = tmp_path / "stamps.pdf"
    download_info.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    urls = _qr_urls(pdf)
    assert len(urls) == 30, urls
    host = live_server.removeprefix("http://")
    assert all(re.fullmatch(rf"(?i)http://{re.escape(host)}/s/[0-9A-Z]{{13}}", u) for u in urls)

    # Before activation the stamp proves nothing.
    consumer_page.goto(urls[0])
    expect(consumer_page.get_by_text("Tem chưa được kích hoạt").first).to_be_visible()

    _activate_run(page, run_url, batch_id, lot, 30)

    # The consumer scans a printed stamp on a phone.
    consumer_page.goto(urls[0])
    expect(consumer_page.get_by_text("Tem chính hãng, đã kích hoạt")).to_be_visible()
    expect(consumer_page.get_by_text(lot).first).to_be_visible()
    expect(consumer_page.locator(".scan-recall")).to_have_count(0)
    assert consumer_page.evaluate("document.documentElement.scrollWidth") <= 360
    consumer_page.screenshot(path=str(results_dir / "scan-page-360x640.png"), full_page=True)


def test_stamp_of_a_recalled_lot_shows_the_recall_banner(page, consumer_page, results_dir):
    sign_in(page)
    producer_id = _producer_id(page)
    batch_id, lot = _new_lot(page, producer_id)
    run_url = _order_run(page, producer_id, 5)
    _activate_run(page, run_url, batch_id, lot, 5)
    page.goto(run_url)
    stamp_url = page.locator("code").filter(has_text=re.compile(r"/S/|/s/")).first.inner_text()

    reason = "Mẫu kiểm nghiệm dư lượng thuốc bảo vệ thực vật không đạt"
    page.goto(f"/manage/{producer_id}/batches/{batch_id}")
    page.get_by_label("Lý do thu hồi").fill(reason)
    page.get_by_role("button", name="Thu hồi lô này").click()
    expect(page.get_by_text("Đã thu hồi lô").first).to_be_visible()

    consumer_page.goto(stamp_url)
    banner = consumer_page.locator(".scan-recall")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("LÔ HÀNG ĐÃ BỊ THU HỒI")
    expect(banner).to_contain_text(reason)
    expect(consumer_page.get_by_text("Tem chính hãng, đã kích hoạt")).to_have_count(0)
    consumer_page.screenshot(path=str(results_dir / "scan-recalled-360x640.png"), full_page=True)
