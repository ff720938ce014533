"""Anonymous shoppers buy from product pages served by the page cache: a cached page never carries
one visitor's CSRF token (nor a session cookie) to the next, every visitor can add to the cart,
and a cross-site form still cannot put anything in anybody's cart."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.db import db, unit_of_work
from shop.cart.models import CartItem
from tests.cooperatives.test_page_cache import _cached_app
from tests.shop.helpers import stocked_product

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
VARIANT = re.compile(r'name="variant_id" value="([0-9]+)"')
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def shop(app, database_url, tmp_path):
    cached = _cached_app(database_url, tmp_path, WTF_CSRF_ENABLED=True)
    with cached.app_context(), unit_of_work():
        _producer, product, _variant, _lot = stocked_product(units=20, name="Cam Cao Phong")
        page = f"/p/{product.slug}"
    yield cached, page
    with cached.app_context():
        db.session.remove()
        db.engine.dispose()


def _items(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CartItem))


def test_every_anonymous_visitor_can_add_to_the_cart_from_the_cached_page(shop):
    app, page = shop
    for visitor in range(3):
        client = app.test_client()
        response = client.get(page)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert not TOKEN.search(html), "a cached page must not carry a visitor's token"
        if "public" in response.headers["Cache-Control"]:
            assert not response.headers.getlist("Set-Cookie")
        added = client.post(
            "/cart/add",
            data={"variant_id": VARIANT.search(html).group(1), "quantity": "1"},
            headers=SAME_ORIGIN,
        )
        assert added.status_code == 303, visitor
        assert "Cam Cao Phong" in client.get("/cart").get_data(as_text=True)
    assert _items(app) == 3


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
        {},
    ],
)
def test_a_cross_site_form_puts_nothing_in_a_cart(shop, headers):
    app, page = shop
    client = app.test_client()
    variant = VARIANT.search(client.get(page).get_data(as_text=True)).group(1)
    response = client.post(
        "/cart/add", data={"variant_id": variant, "quantity": "1"}, headers=headers
    )
    assert response.status_code == 400
    assert _items(app) == 0


def test_a_visitor_with_a_session_still_needs_its_token(shop):
    app, page = shop
    client = app.test_client()
    html = client.get(page).get_data(as_text=True)
    variant = VARIANT.search(html).group(1)
    assert (
        client.post(
            "/cart/add", data={"variant_id": variant, "quantity": "1"}, headers=SAME_ORIGIN
        ).status_code
        == 303
    )  # now the visitor has a cart, hence a session
    refused = client.post(
        "/cart/add", data={"variant_id": variant, "quantity": "1"}, headers=SAME_ORIGIN
    )
    assert refused.status_code == 400  # same origin is not enough once there is a session
    html = client.get(page).get_data(as_text=True)
    token = TOKEN.search(html)
    assert token, "a visitor with a session gets a fresh page with its own token"
    again = client.post(
        "/cart/add",
        data={"variant_id": variant, "quantity": "1", "csrf_token": token.group(1)},
        headers=SAME_ORIGIN,
    )
    assert again.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.sum(CartItem.quantity))) == 2
