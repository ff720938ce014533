"""Issue 9, done when (VietQR half): on a 360×640 phone a buyer pays by VietQR — the QR and the
transfer details on one screen, no JavaScript needed — and the producer reconciles the transfer
from its bank's statement CSV; the order shows paid, and a refund shows in the producer's
settlement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.audit import Findings, audit_page
from tests.e2e.conftest import PHONE, _phone_page

LAN = "0912000001"  # HTX Cam Cao Phong


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + "\xa0₫"


def _fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.url


WORDS = {
    "vi": {
        "search": "Tìm sản phẩm, cơ sở hoặc tỉnh",
        "find": "Tìm",
        "add": "Thêm vào giỏ",
        "order": "Đặt hàng",
        "name": "Họ tên người nhận",
        "phone": "Số điện thoại",
        "province": "Tỉnh, thành phố",
        "ward": "Xã, phường",
        "street": "Số nhà, thôn, đường",
        "pay": "Thanh toán",
        "vietqr": "Chuyển khoản ngân hàng (quét mã VietQR)",
        "waiting": "Đang chờ chuyển khoản.",
        "who": "Số điện thoại hoặc e-mail",
        "password": "Mật khẩu",
        "sign_in": "Đăng nhập",
    },
    "en": {
        "search": "Search products, producers or provinces",
        "find": "Search",
        "add": "Add to cart",
        "order": "Place order",
        "name": "Recipient's full name",
        "phone": "Phone number",
        "province": "Province or city",
        "ward": "Commune or ward",
        "street": "House number, hamlet, street",
        "pay": "Payment",
        "vietqr": "Bank transfer (scan the VietQR code)",
        "waiting": "Waiting for your transfer.",
        "who": "Phone number or e-mail",
        "password": "Password",
        "sign_in": "Sign in",
    },
}


def sign_in(page, phone: str, lang: str = "vi") -> None:
    words = WORDS[lang]
    page.goto("/login")
    page.get_by_label(words["who"]).fill(phone)
    page.get_by_label(words["password"], exact=True).fill("choque-demo")
    page.get_by_role("button", name=words["sign_in"], exact=True).click()
    page.wait_for_load_state()


def _buy_by_vietqr(page, lang: str = "vi") -> str:
    words = WORDS[lang]
    page.goto("/search")
    page.get_by_label(words["search"]).fill("cam cao phong")
    page.get_by_role("button", name=words["find"], exact=True).click()
    page.locator(".product-card a", has_text="Cam Cao Phong").first.click()
    page.get_by_role("button", name=words["add"]).first.click()
    page.wait_for_load_state()
    page.goto("/cart")
    page.get_by_role("link", name=words["order"]).click()
    page.get_by_label(words["name"]).fill("Anh Long")
    page.get_by_label(words["phone"]).fill("0983 222 333")
    page.get_by_label(words["province"]).select_option(value="1")
    ward = page.get_by_label(words["ward"])
    expect(ward.locator("option")).not_to_have_count(1)
    ward.select_option(index=1)
    page.get_by_label(words["street"]).fill("5 Điện Biên Phủ")
    page.get_by_label(words["pay"]).select_option(label=words["vietqr"])
    page.get_by_role("button", name=words["order"]).click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(page.get_by_text(words["waiting"])).to_be_visible()
    return re.search(r"/orders/(CQ-[A-Z0-9]{8})/transfer", page.url).group(1)


def test_a_buyer_pays_by_vietqr_and_the_producer_reconciles_it_from_a_statement(
    browser, live_server, page, live_db, results_dir
):
    ref = _buy_by_vietqr(page)
    transfer_url = page.url
    total = live_db("SELECT total_vnd FROM shop_order WHERE ref = ?", ref)[0][0]
    qr = page.get_by_role("img", name=re.compile("Mã VietQR"))
    expect(qr).to_be_visible()
    page.wait_for_function("() => document.querySelector('.vietqr img').naturalWidth > 200")
    box = qr.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["width"] >= 200
    for text in ("Co-opBank", "1000123456", "CONG TY CHO QUE", _vnd(total), ref):
        expect(page.get_by_text(text, exact=False).first).to_be_visible()
    _fits_the_phone(page)
    page.screenshot(path=str(results_dir / "vietqr-transfer.png"), full_page=True)

    # Bà Lan downloads her bank's statement and uploads it as it is.
    lan_context, lan = _phone_page(browser, live_server)
    sign_in(lan, LAN)
    lan.goto("/manage")
    lan.locator("a.producer-link").first.click()
    producer_id = int(re.search(r"/manage/(\d+)", lan.url).group(1))
    owed_before = live_db(
        "SELECT coalesce(sum(amount_vnd), 0) FROM shop_ledger_entry WHERE producer_id = ?",
        producer_id,
    )[0][0]
    sales_before = live_db(  # the demo's own VietQR sale, paid today, is in the period too
        "SELECT coalesce(sum(amount_vnd), 0) FROM shop_ledger_entry"
        " WHERE producer_id = ? AND kind = 'charge'",
        producer_id,
    )[0][0]
    lan.get_by_role("link", name="Chuyển khoản", exact=True).click()
    amount = f"{total:,}".replace(",", ".")
    statement = (
        "\ufeffSAO KÊ TÀI KHOẢN;;;;\r\n"
        "Ngày giao dịch;Số tham chiếu;Số tiền ghi nợ;Số tiền ghi có;Nội dung giao dịch\r\n"
        f"30/11/2026 09:15:02;FT26334123;;{amount};MBVCB.55 {ref.replace('-', ' ')} chuyen\r\n"
        "30/11/2026 09:20:00;FT26334124;;250.000;tien hang cu\r\n"
        "ngay sai;FT26334125;;100.000;dong hong\r\n"
    ).encode()
    lan.get_by_label("Ngân hàng").select_option(label="Vietcombank")
    lan.get_by_label("Tệp sao kê (CSV)").set_input_files(
        files=[{"name": "saoke.csv", "mimeType": "text/csv", "buffer": statement}]
    )
    lan.get_by_role("button", name="Tải lên và đối soát").click()
    expect(lan.get_by_role("heading", name="Chọn các cột của sao kê")).to_be_visible()
    _fits_the_phone(lan)
    lan.get_by_role("button", name="Nhập sao kê").click()
    expect(lan.get_by_text("Đơn đã thanh toán: 1")).to_be_visible()
    expect(lan.get_by_text("Dòng 5: Ngày không hợp lệ.")).to_be_visible()
    lan.screenshot(path=str(results_dir / "vietqr-statement.png"), full_page=True)
    lan.get_by_role("link", name="Về trang đối soát").click()
    expect(lan.get_by_text("tien hang cu")).to_be_visible()  # unmatched, kept for a person
    _fits_the_phone(lan)

    # The buyer sees the money arrived.
    page.goto(transfer_url)
    expect(page.get_by_text("Đã nhận tiền chuyển khoản. Cảm ơn bạn!")).to_be_visible()

    # A part of it is refunded; the settlement shows the sale and the refund.
    lan.goto(f"/manage/{producer_id}/orders")
    lan.get_by_role("link", name=ref).click()
    lan.get_by_label(re.compile("Số tiền hoàn")).fill("50000")
    lan.get_by_label("Cách hoàn tiền").select_option(label="Chuyển khoản ngân hàng")
    lan.get_by_label("Mã giao dịch / người nhận").fill("HT-0001")
    lan.get_by_role("button", name="Hoàn tiền").click()
    lan.wait_for_load_state()
    lan.get_by_role("link", name="Đối soát, thanh toán").click()
    summary = lan.locator(".settlement-summary")
    expect(summary.get_by_text(_vnd(sales_before + total)).first).to_be_visible()
    expect(summary.get_by_text("-" + _vnd(50000))).to_be_visible()
    expect(lan.locator(".owed-now")).to_contain_text(_vnd(owed_before + total - 50000))
    _fits_the_phone(lan)
    lan.screenshot(path=str(results_dir / "vietqr-settlement.png"), full_page=True)
    with lan.expect_download() as download:
        lan.get_by_role("link", name="Tải bảng đối soát kỳ này (CSV)").click()
    body = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert ref in body and "-50000" in body
    lan_context.close()
    paid = live_db(
        "SELECT p.status FROM shop_payment p JOIN shop_order o ON o.id = p.order_id"
        " WHERE o.ref = ?",
        ref,
    )
    assert paid == [("paid",)]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_payment_pages_pass_axe_and_tap_targets_at_360(browser, live_server, lang):
    """The buyer's transfer page and the manager's reconciliation and settlement pages, in both
    languages: axe-core (0 critical, serious or moderate), tap targets ≥ 44 px, no sideways
    scrolling (tests/e2e/audit.py)."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        base_url=live_server,
        bypass_csp=True,  # only so axe.min.js can be injected
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    findings = Findings()
    if lang == "en":
        page.goto("/login")
        page.get_by_role("button", name="English").or_(
            page.get_by_role("link", name="English")
        ).click()
        page.wait_for_load_state()
    _buy_by_vietqr(page, lang)
    audit_page(page, findings, lang=lang)
    sign_in(page, LAN, lang=lang)
    page.goto("/manage")
    page.locator("a.producer-link").first.click()
    base = re.search(r"/manage/\d+", page.url)[0]
    for path in (f"{base}/transfers", f"{base}/settlement", f"{base}/settlement?from=x"):
        page.goto(path)
        audit_page(page, findings, lang=lang)
    page.goto(f"{base}/transfers")
    page.get_by_role("button", name=re.compile("Tải lên|Upload")).click()  # nothing chosen
    audit_page(page, findings, lang=lang)  # the form with its errors
    context.close()
    assert not findings.problems, findings.report()
