"""A form never loses what was typed: when sending fails (no signal), the typed values come back
the next time the form is opened; once the server accepts the form, the draft is gone."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

RESTORED = "Đã khôi phục nội dung bạn gõ dở lần trước"


def _producer_id(page) -> int:
    page.goto("/manage")
    page.locator("a.producer-link").first.click()
    match = re.search(r"/manage/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


def test_typed_product_survives_a_failed_send_and_is_cleared_after_saving(page):
    sign_in(page)
    producer_id = _producer_id(page)
    form_url = f"/manage/{producer_id}/products/new"
    name = f"Mồng tơi {secrets.token_hex(2)}"
    description = "Rau sạch hái buổi sáng."

    page.goto(form_url)
    page.get_by_label("Tên sản phẩm", exact=True).fill(name)
    page.get_by_label("Mô tả", exact=True).fill(description)

    # The connection drops exactly when she presses save.
    def drop_posts(route):
        if route.request.method == "POST":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route(re.compile(r".*/products/new$"), drop_posts)
    page.get_by_role("button", name="Lưu sản phẩm").click()
    page.wait_for_timeout(500)
    page.unroute(re.compile(r".*/products/new$"))

    # She opens the form again later: what she typed is there, and she is told so.
    page.goto(form_url)
    expect(page.get_by_label("Tên sản phẩm", exact=True)).to_have_value(name)
    expect(page.get_by_label("Mô tả", exact=True)).to_have_value(description)
    expect(page.get_by_text(RESTORED)).to_be_visible()

    # This time it goes through; the next empty form starts clean.
    page.get_by_role("button", name="Lưu sản phẩm").click()
    expect(page.get_by_text("Đã tạo sản phẩm")).to_be_visible()
    page.goto(form_url)
    expect(page.get_by_label("Tên sản phẩm", exact=True)).to_have_value("")
    expect(page.get_by_text(RESTORED)).to_have_count(0)
