"""The page cache never shows stock that is gone or hides stock that arrived: a receipt and a
purchase change the product page in every worker at once."""

from __future__ import annotations

from datetime import date, timedelta

from core.db import db, unit_of_work
from shop.inventory.receiving import receive_stock
from tests.cooperatives.test_page_cache import _html, workers  # noqa: F401  (the fixture)
from tests.factories import make_batch
from tests.shop.helpers import order_of, stocked_product


def test_a_cached_product_page_shows_a_receipt_and_a_sell_out_at_once(workers):  # noqa: F811
    first, second = workers
    with first.app_context(), unit_of_work():
        producer, product, variant, _batch = stocked_product(units=0, name="Cam Cao Phong")
        ids = {"producer": producer.id, "variant": variant.id, "product": product.id}
        page = f"/p/{product.slug}"
    for app in workers:  # both workers now hold the page, out of stock
        assert "Hết hàng" in _html(app, page)

    with first.app_context(), unit_of_work():
        product = db.session.get(type(product), ids["product"])
        lot = make_batch(
            product, quantity="100", unit="kg", best_before=date.today() + timedelta(days=20)
        )
        receive_stock(ids["producer"], variant_id=ids["variant"], batch_id=lot.id, units=2)
    for app in workers:
        html = _html(app, page)
        assert "Hết hàng" not in html and ("Còn hàng" in html or "Sắp hết" in html)

    with second.app_context(), unit_of_work():
        order_of((ids["variant"], 2))
    for app in workers:
        assert "Hết hàng" in _html(app, page)
