"""Issue 13, done when: on a phone (360×640) a council member opens the OCOP statistics, switches
the map to 5★ products, taps a province and downloads the CSV; the CSV's numbers equal the
page's and a direct SQL count."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in

CENTRAL_COUNCIL_PHONE = "0912000008"  # Bà Minh, central OCOP council (seed-demo)
PHU_THO = 25

FIVE_STARS_SQL = """
SELECT count(*) FROM (
  SELECT c.product_id, max(c.stars) AS stars
  FROM ocop_certificate c JOIN producer p ON p.id = c.producer_id
  WHERE p.province_code = ? AND c.status = 'valid'
    AND c.valid_until >= ? AND c.decision_date <= ?
  GROUP BY c.product_id
) WHERE stars = 5
"""


def _add_five_star_certificates(live_env) -> None:
    """Two 5★ products in Phú Thọ and one elsewhere, as the central council would record them."""
    path = live_env["DATABASE_URL"].removeprefix("sqlite:///")
    signed = date.today() - timedelta(days=20)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT pr.id, pr.producer_id, pr.category_code, p.province_code FROM product pr "
            "JOIN producer p ON p.id = pr.producer_id ORDER BY p.province_code = ? DESC, pr.id",
            (PHU_THO,),
        ).fetchall()
        chosen = [r for r in rows if r[3] == PHU_THO][:2] + [r for r in rows if r[3] != PHU_THO][:1]
        for index, (product_id, producer_id, category, _province) in enumerate(chosen):
            conn.execute(
                "INSERT INTO ocop_certificate (product_id, producer_id, decision_number, "
                "decision_date, issuing_authority, rating_level, rule_set, stars, total_score, "
                "category_code, valid_until, status, created_at) VALUES "
                "(?, ?, ?, ?, 'Bộ Nông nghiệp và Môi trường', 'central', '148/2023', 5, 92, ?, ?, "
                "'valid', ?)",
                (
                    product_id,
                    producer_id,
                    f"E2E-{index}/QĐ-BNNMT",
                    signed.isoformat(),
                    category,
                    signed.replace(year=signed.year + 3).isoformat(),
                    now,
                ),
            )


def _csv_rows(text: str) -> dict[str, list[list[str]]]:
    blocks: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        if not row:
            current = None
        elif current is None:
            current = row[0]
            blocks[current] = []
        else:
            blocks[current].append(row)
    return blocks


def test_council_member_maps_five_star_products_and_downloads_the_same_numbers(
    page, live_env, live_db, results_dir
):
    _add_five_star_certificates(live_env)
    sign_in(page, CENTRAL_COUNCIL_PHONE)
    page.goto("/statistics/ocop")
    expect(page.get_by_role("heading", name=re.compile("Thống kê · OCOP"))).to_be_visible()

    page.get_by_role("link", name="5★", exact=True).first.click()
    expect(page).to_have_url(re.compile(r"map=5"))
    page.locator('svg.tilemap [data-province="25"]').click()
    expect(page).to_have_url(re.compile(r"province=25"))
    expect(page.get_by_text("Đang xem: Phú Thọ")).to_be_visible()
    page.screenshot(path=str(results_dir / "statistics-ocop-5-stars-phu-tho.png"), full_page=True)

    on_map = int(page.locator("#row-ocop_map-25 td").nth(0).get_attribute("data-value"))
    tile = int(page.locator('svg.tilemap [data-province="25"] rect').get_attribute("data-value"))
    by_stars = page.locator("#table-ocop_stars tr", has_text="5★").locator("td")
    on_page = int(by_stars.get_attribute("data-value"))

    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    download = download_info.value
    with open(download.path(), encoding="utf-8") as file:
        text = file.read()
    blocks = _csv_rows(text)
    stars_block = next(
        v for k, v in blocks.items() if k.startswith("Sản phẩm OCOP còn hiệu lực theo số sao")
    )
    in_csv = int(next(r[1] for r in stars_block if r[0] == "5★"))
    map_block = next(
        v for k, v in blocks.items() if k.startswith("Sản phẩm OCOP còn hiệu lực theo tỉnh")
    )
    in_csv_map = int(next(r[1] for r in map_block if r[0] == "Phú Thọ"))

    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    (in_sql,) = live_db(FIVE_STARS_SQL, PHU_THO, today, today)[0]
    assert in_sql >= 2
    assert on_page == on_map == tile == in_csv == in_csv_map == in_sql
