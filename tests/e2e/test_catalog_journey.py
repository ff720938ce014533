"""Issue 2, done when: a producer manager signs in, creates a product with a photo and a variant,
records its OCOP certificate, publishes it, and sees the public page with its stars."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in


def _orange_photo(folder: Path) -> Path:
    """A small JPEG as a phone would send it (with EXIF), made locally."""
    image = Image.new("RGB", (640, 480), (240, 150, 30))
    for x in range(200, 440):
        for y in range(120, 360):
            if (x - 320) ** 2 + (y - 240) ** 2 < 110**2:
                image.putpixel((x, y), (250, 120, 0))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    path = folder / "cam.jpg"
    image.save(path, "JPEG", quality=85, exif=exif)
    return path


def _producer_id(page) -> int:
    page.goto("/manage")
    page.locator("a.producer-link").first.click()
    match = re.search(r"/manage/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


def test_manager_lists_a_certified_product_and_the_public_page_shows_four_stars(
    page, tmp_path, results_dir
):
    name = f"Cam Cao Phong loại 1 {secrets.token_hex(2)}"
    sign_in(page)
    producer_id = _producer_id(page)

    # The product, as a draft.
    page.goto(f"/manage/{producer_id}/products/new")
    page.get_by_label("Tên sản phẩm", exact=True).fill(name)
    page.get_by_label("Nhóm sản phẩm OCOP").select_option(label="Nông, thủy sản tươi sống")
    page.get_by_label("Mô tả", exact=True).fill("Cam trồng trên đồi Cao Phong, thu hoạch tháng 11.")
    page.get_by_role("button", name="Lưu sản phẩm").click()
    expect(page.get_by_text("Đã tạo sản phẩm")).to_be_visible()

    # A variant with its price in đồng.
    page.get_by_label("Tên quy cách").fill("thùng 5 kg")
    page.get_by_label("Số lượng mỗi gói").fill("5")
    page.get_by_label("Giá bán (đồng)").fill("250.000")
    page.get_by_label("Khối lượng để gửi hàng (gam)").fill("5200")
    page.get_by_role("button", name="Lưu quy cách").click()
    expect(page.get_by_text("Đã thêm quy cách.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/products/\d+$"))
    product_id = int(re.search(r"/products/(\d+)", page.url).group(1))

    # A photo.
    page.get_by_role("link", name="Thêm, sắp xếp ảnh").click()
    page.get_by_label("Chọn ảnh").set_input_files(str(_orange_photo(tmp_path)))
    page.get_by_label("Mô tả ngắn cho ảnh").fill("Cam Cao Phong trên cành")
    page.get_by_role("button", name="Tải ảnh lên").click()
    expect(page.get_by_text("Đã thêm 1 ảnh.")).to_be_visible()

    # The OCOP certificate she already has: 4★, 80 points (A 32, B 20, C 28).
    decided = date.today() - timedelta(days=120)
    page.goto(f"/manage/{producer_id}/ocop/certificates/new?product={product_id}")
    page.get_by_label("Sản phẩm", exact=True).select_option(str(product_id))
    page.get_by_label("Số quyết định").fill("1234/QĐ-UBND")
    page.get_by_label("Ngày quyết định").fill(decided.isoformat())
    page.get_by_label("Cơ quan ban hành").fill("UBND tỉnh Hòa Bình")
    page.get_by_label("Cấp đánh giá").select_option("province")
    page.get_by_label("Số sao trên giấy chứng nhận").select_option("4")
    page.get_by_label("Tổng điểm").fill("80")
    page.get_by_label("Điểm phần A").fill("32")
    page.get_by_label("Điểm phần B").fill("20")
    page.get_by_label("Điểm phần C").fill("28")
    page.get_by_role("button", name="Lưu giấy chứng nhận").click()
    expect(page.get_by_text("Đã ghi nhận giấy chứng nhận OCOP 4 sao")).to_be_visible()

    # Publish, then open the public page.
    page.goto(f"/manage/{producer_id}/products/{product_id}")
    page.get_by_role("button", name="Đăng bán").click()
    expect(page.get_by_text("Sản phẩm đã được đăng bán.")).to_be_visible()
    page.get_by_role("link", name="Xem trang sản phẩm").click()
    expect(page).to_have_url(re.compile(r"/p/[a-z0-9-]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    stars = page.get_by_label("OCOP 4 sao")
    expect(stars).to_be_visible()
    expect(stars).to_have_text("★★★★")
    expect(page.get_by_text("250.000 ₫").first).to_be_visible()
    photo = page.get_by_alt_text("Cam Cao Phong trên cành").first
    expect(photo).to_be_visible()
    page.wait_for_load_state("load")
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
    page.screenshot(path=str(results_dir / "product-page-360x640.png"), full_page=True)


def test_public_page_hides_the_stars_of_an_expired_or_revoked_certificate(page, live_db):
    """The demo catalog has published products whose only certificate expired or was revoked."""
    rows = live_db(
        "SELECT p.slug FROM product p WHERE p.status = 'published' "
        "AND EXISTS (SELECT 1 FROM ocop_certificate c WHERE c.product_id = p.id "
        "            AND (c.status <> 'valid' OR c.valid_until < date('now'))) "
        "AND NOT EXISTS (SELECT 1 FROM ocop_certificate c WHERE c.product_id = p.id "
        "                AND c.status = 'valid' AND c.valid_until >= date('now'))"
    )
    assert rows, "the demo data should hold a product whose certificate lapsed"
    for (slug,) in rows:
        page.goto(f"/p/{slug}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert page.locator(".stars").count() == 0, slug
        assert page.locator(".ocop").count() == 0, slug
        assert page.get_by_label(re.compile(r"OCOP \d sao")).count() == 0, slug
