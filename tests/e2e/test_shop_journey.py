"""Issue 8, done when: on a 360×640 phone a shopper searches without accents, adds products of two
producers, checks out with cash on delivery and sees her order; each producer sees only its part,
packs and ships it; recalling a lot shows the notice on her order page and puts one message per
buyer in the outbox."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import _phone_page, sign_in

LAN = "0912000001"  # HTX Cam Cao Phong
HANH = "0912000004"  # HTX Khóm Cầu Đúc Hỏa Lựu


def _add_first_pack(page, query: str, product: str) -> None:
    page.goto("/search")
    page.get_by_label("Tìm sản phẩm, cơ sở hoặc tỉnh").fill(query)
    page.get_by_role("button", name="Tìm", exact=True).click()
    page.locator(".product-card a", has_text=product).first.click()
    expect(page.get_by_text("Lô bạn sẽ nhận").first).to_be_visible()
    page.get_by_role("button", name="Thêm vào giỏ").first.click()
    expect(page.get_by_text("Đã thêm vào giỏ hàng.")).to_be_visible()


def _sub_order_page(page, producer_phone: str, ref: str) -> int:
    sign_in(page, producer_phone)
    page.goto("/manage")
    page.locator("a.producer-link").first.click()
    producer_id = int(re.search(r"/manage/(\d+)", page.url).group(1))
    page.goto(f"/manage/{producer_id}/orders")
    page.get_by_role("link", name=ref).click()
    return producer_id


def test_a_shopper_buys_from_two_cooperatives_and_hears_of_a_recall(
    browser, live_server, page, live_db, results_dir
):
    _add_first_pack(page, "cam cao phong", "Cam Cao Phong loại 1")
    _add_first_pack(page, "khom cau duc", "Khóm Cầu Đúc")
    page.goto("/cart")
    expect(page.get_by_text("HTX Cam Cao Phong")).to_be_visible()
    page.get_by_role("link", name="Đặt hàng").click()
    page.get_by_label("Họ tên người nhận").fill("Chị Mai")
    page.get_by_label("Số điện thoại").fill("0983 111 222")
    page.get_by_label("Tỉnh, thành phố").select_option(label="Thành phố Hà Nội")
    ward = page.get_by_label("Xã, phường")
    expect(ward.locator("option", has_text="Phường Ba Đình")).to_have_count(1)
    ward.select_option(label="Phường Ba Đình")
    page.get_by_label("Số nhà, thôn, đường").fill("12 Hàng Bài")
    page.get_by_role("button", name="Đặt hàng").click()
    expect(page.get_by_text("Đặt hàng thành công")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"Đơn hàng CQ-"))).to_be_visible()
    page.screenshot(path=str(results_dir / "shop-order.png"), full_page=True)
    order_url = page.url
    ref = re.search(r"/orders/(CQ-[A-Z0-9]{8})", order_url).group(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # Bà Lan sees only her part, packs and ships it.
    lan_context, lan = _phone_page(browser, live_server)
    _sub_order_page(lan, LAN, ref)
    expect(lan.get_by_text("Cam Cao Phong loại 1").first).to_be_visible()
    expect(lan.get_by_text("Khóm Cầu Đúc")).to_have_count(0)
    lan.get_by_role("button", name="Chuyển sang: Đã đóng gói").click()
    expect(lan.get_by_text("Đã cập nhật: Đã đóng gói.")).to_be_visible()
    lan.get_by_label("Đơn vị vận chuyển").fill("Viettel Post")
    lan.get_by_label("Mã vận đơn").fill("VTP0001234")
    lan.get_by_role("button", name="Chuyển sang: Đang giao").click()
    expect(lan.get_by_text("Đã cập nhật: Đang giao.")).to_be_visible()
    lan_context.close()

    # Chị Hạnh sees only hers, then recalls the lot it was packed from.
    hanh_context, hanh = _phone_page(browser, live_server)
    producer_id = _sub_order_page(hanh, HANH, ref)
    expect(hanh.get_by_text("Cam Cao Phong")).to_have_count(0)
    hanh.get_by_role("button", name="Chuyển sang: Đã đóng gói").click()
    expect(hanh.get_by_text("Đã cập nhật: Đã đóng gói.")).to_be_visible()
    batch_id = live_db(
        "SELECT l.batch_id FROM shop_order_line_lot l "
        "JOIN shop_order_line o ON o.id = l.order_line_id "
        "JOIN shop_order r ON r.id = o.order_id JOIN shop_sub_order s ON s.id = o.sub_order_id "
        "WHERE r.ref = ? AND s.producer_id = ?",
        ref,
        producer_id,
    )[0][0]
    before = live_db("SELECT count(*) FROM outbox_message WHERE body LIKE ?", f"%THU HOI%{ref}%")[
        0
    ][0]
    hanh.goto(f"/manage/{producer_id}/batches/{batch_id}")
    hanh.get_by_label("Lý do thu hồi").fill("Kiểm nghiệm mẫu lưu không đạt")
    hanh.get_by_role("button", name="Thu hồi lô này").click()
    hanh.wait_for_load_state()
    hanh_context.close()

    page.goto(order_url)
    expect(page.get_by_text("Thu hồi sản phẩm")).to_be_visible()
    page.screenshot(path=str(results_dir / "shop-recall.png"), full_page=True)
    after = live_db("SELECT count(*) FROM outbox_message WHERE body LIKE ?", f"%THU HOI%{ref}%")[0][
        0
    ]
    assert after - before == 1
