"""Product cards come from one query with sub-queries (first photo, lowest active price); the
producer page shows a dozen cards a page."""

from __future__ import annotations

import re

from sqlalchemy import select

from cooperatives.catalog import PRODUCER_PAGE_SIZE
from cooperatives.models import ProductImage, Variant
from core.db import db
from tests.factories import make_producer, make_product


def test_a_card_shows_the_first_photo_and_the_lowest_price_on_sale(app, client):
    with app.app_context():
        producer = make_producer()
        product = make_product(producer, name="Mật ong rừng", price=90000, variants=3)
        cheapest = db.session.scalar(
            select(Variant).where(Variant.product_id == product.id, Variant.price_vnd == 90000)
        )
        cheapest.active = False  # not on sale: the card starts at the next price
        db.session.add(ProductImage(product_id=product.id, key="second", width=8, height=6))
        db.session.add(
            ProductImage(product_id=product.id, key="first", width=8, height=6, position=-1)
        )
        db.session.commit()
        slug = producer.slug
    html = client.get(f"/c/{slug}").get_data(as_text=True)
    card = re.search(r'<li class="product-card">.*?</li>', html, re.S).group(0)
    assert "/media/first/card.webp" in card and "/media/second/" not in card
    assert "từ 180.000" in card


def test_the_producer_page_lists_a_dozen_products_a_page(app, client):
    with app.app_context():
        producer = make_producer()
        for n in range(PRODUCER_PAGE_SIZE + 1):
            make_product(producer, name=f"Rau số {n:02d}")
        db.session.commit()
        slug = producer.slug
    first = client.get(f"/c/{slug}").get_data(as_text=True)
    assert first.count('class="product-card"') == PRODUCER_PAGE_SIZE
    assert "Rau số 00" not in first and 'rel="next"' in first
    second = client.get(f"/c/{slug}?page=2").get_data(as_text=True)
    assert second.count('class="product-card"') == 1 and "Rau số 00" in second
