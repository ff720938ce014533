"""A GS1 company prefix belongs to one producer, and so do the GTINs under it (no squatting)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cooperatives.models import Producer, Product
from core.db import db
from tests.conftest import login
from tests.factories import make_producer, make_product, make_user

HOLDER_PREFIX = "89312345"
UNDER_HOLDER = "8931234567897"  # valid check digit, under 89312345


@pytest.fixture
def two(app, client):
    """HTX Cam holds prefix 89312345; Hộ Bình (no prefix) is the signed-in squatter."""
    with app.app_context():
        holder = make_producer(name="HTX Cam", manager=make_user(), gs1_prefix=HOLDER_PREFIX)
        squatter_user = make_user(name="Anh Bình")
        squatter = make_producer(name="Hộ Bình", kind="hkd", manager=squatter_user)
        db.session.commit()
        ids = {"holder": holder.id, "squatter": squatter.id, "user": squatter_user.id}
    login(client, ids["user"])
    return ids


def _products_of(app, producer_id: int) -> int:
    with app.app_context():
        query = select(func.count(Product.id)).where(Product.producer_id == producer_id)
        return db.session.scalar(query)


def test_a_gtin_under_another_producers_prefix_is_refused(app, client, two):
    response = client.post(
        f"/manage/{two['squatter']}/products/new", data={"name_vi": "Cam", "gtin": UNDER_HOLDER}
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "thuộc mã doanh nghiệp GS1 của một cơ sở khác" in html
    assert f'value="{UNDER_HOLDER}"' in html  # typed value kept
    assert _products_of(app, two["squatter"]) == 0


def test_an_existing_product_cannot_move_under_another_prefix(app, client, two):
    with app.app_context():
        product_id = make_product(producer=db.session.get(Producer, two["squatter"])).id
        db.session.commit()

    response = client.post(
        f"/manage/{two['squatter']}/products/{product_id}",
        data={"name_vi": "Cam", "gtin": "0" + UNDER_HOLDER},
    )

    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Product, product_id).gtin is None


def test_a_gtin_outside_every_held_prefix_is_accepted(app, client, two):
    response = client.post(
        f"/manage/{two['squatter']}/products/new", data={"name_vi": "Cam", "gtin": "4006381333931"}
    )
    assert response.status_code == 302
    assert _products_of(app, two["squatter"]) == 1


@pytest.mark.parametrize("prefix", [HOLDER_PREFIX, "8931234", "893123456"])
def test_a_producer_cannot_claim_a_prefix_overlapping_anothers(app, client, two, prefix):
    response = client.post(
        f"/manage/{two['squatter']}/profile",
        data={
            "name": "Hộ Bình",
            "kind": "hkd",
            "province_code": "25",
            "ward_code": "5089",
            "gs1_prefix": prefix,
        },
    )

    assert response.status_code == 422
    assert "đã thuộc một cơ sở khác" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Producer, two["squatter"]).gs1_prefix is None


def test_a_prefix_cannot_be_claimed_over_another_producers_gtins(app, client):
    with app.app_context():
        first = make_producer(name="Hộ Đầu", manager=make_user())
        make_product(producer=first, gtin="0" + UNDER_HOLDER)
        late_user = make_user()
        db.session.commit()
        late_id = late_user.id
    login(client, late_id)
    data = {
        "name": "HTX Đến Sau",
        "kind": "htx",
        "province_code": "25",
        "ward_code": "5089",
        "gs1_prefix": HOLDER_PREFIX,
    }

    response = client.post("/manage/new", data=data)

    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Producer).where(Producer.name == "HTX Đến Sau")) is None
