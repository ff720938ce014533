"""Order intake: the shop's stock and guarantees behind an Idempotency-Key; a partner sees only
its own orders; bad input is problem+json with nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.db import db
from partners import services
from shop.inventory.services import available_units
from shop.orders.models import Order
from tests.partners.conftest import bearer, order_body
from tests.shop.helpers import stocked_product

ORDERS = "/api/v1/orders"


@pytest.fixture
def listed(app, partner, ctx):
    producer, product, variant, _batch = stocked_product(units=3)
    services.set_opt_ins(producer.id, {partner[0]})
    db.session.commit()
    return variant.id


def _post(client, plain, body, key="order-0001"):
    headers = {**bearer(plain), "Idempotency-Key": key} if key else bearer(plain)
    return client.post(ORDERS, json=body, headers=headers)


def _orders() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


def test_same_key_and_body_give_the_same_order(client, partner, listed):
    first = _post(client, partner[1], order_body(listed, 2))
    again = _post(client, partner[1], order_body(listed, 2))

    assert first.status_code == 201, first.get_json()
    assert again.status_code == 200
    assert first.get_json()["ref"] == again.get_json()["ref"]
    assert _orders() == 1
    assert available_units([listed])[listed] == 1


def test_same_key_with_another_body_is_409_and_changes_nothing(client, partner, listed):
    _post(client, partner[1], order_body(listed, 1))
    replay = _post(client, partner[1], order_body(listed, 2))

    assert replay.status_code == 409
    assert replay.mimetype == "application/problem+json"
    assert _orders() == 1
    assert available_units([listed])[listed] == 2


def test_no_oversell(client, partner, listed):
    response = _post(client, partner[1], order_body(listed, 4))
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert _orders() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"lines": [], "contact": {}},
        {"lines": [{"variant_id": "1", "quantity": 1}], "contact": {}},
        "not an object",
    ],
)
def test_bad_bodies_are_422(client, partner, listed, body):
    response = _post(client, partner[1], body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert _orders() == 0


def test_unknown_fields_and_missing_key_are_refused(client, partner, listed):
    unknown = _post(client, partner[1], order_body(listed, 1, coupon="FREE"))
    assert unknown.status_code == 422
    no_key = _post(client, partner[1], order_body(listed, 1), key=None)
    assert no_key.status_code == 422 and no_key.mimetype == "application/problem+json"
    assert _orders() == 0


def test_products_outside_the_feed_cannot_be_ordered(client, partner, listed):
    _producer, _product, other_variant, _batch = stocked_product(units=3)
    db.session.commit()
    response = _post(client, partner[1], order_body(other_variant.id, 1))
    assert response.status_code == 422
    # the ids as a developer reads them, not a Python list
    assert response.get_json()["errors"]["lines"].endswith(f": {other_variant.id}")
    assert _orders() == 0


def test_a_partner_sees_only_its_own_orders(client, partner, listed):
    ref = _post(client, partner[1], order_body(listed, 1)).get_json()["ref"]
    _p, _k, other = services.create_partner("Voso", "orders:write")
    db.session.commit()

    mine = client.get(f"{ORDERS}/{ref}", headers=bearer(partner[1]))
    theirs = client.get(f"{ORDERS}/{ref}", headers=bearer(other))

    assert mine.status_code == 200
    assert mine.get_json()["parts"][0]["status"]
    assert theirs.status_code == 404
    assert theirs.mimetype == "application/problem+json"


def test_feed_only_key_cannot_order(client, listed):
    _p, _k, plain = services.create_partner("Chỉ đọc", "feeds:read")
    db.session.commit()
    response = _post(client, plain, order_body(listed, 1))
    assert response.status_code == 403
    assert _orders() == 0


def test_a_partner_paid_order_keeps_the_partner_method_and_is_confirmed(client, partner, listed):
    answer = _post(client, partner[1], order_body(listed, payment_method="partner"))
    assert answer.status_code == 201
    assert answer.json["payment_method"] == "partner"
    assert {part["status"] for part in answer.json["parts"]} == {"confirmed"}


def test_the_web_checkout_refuses_the_partner_method(app, partner, listed):
    from core.errors import Invalid
    from shop.checkout.services import LineIn, place_order
    from tests.shop.helpers import contact

    with app.app_context():
        before = _orders()
        with pytest.raises(Invalid) as refused:
            place_order([LineIn(listed, 1)], contact(), payment_method="partner")
        assert "payment_method" in refused.value.fields
        db.session.rollback()
        assert _orders() == before
