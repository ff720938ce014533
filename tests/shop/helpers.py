"""Shop test helpers: products with stock on a lot, a buyer's contact, an order."""

from __future__ import annotations

from datetime import date, timedelta

from core.db import db
from shop.checkout.services import LineIn, clean_contact, place_order
from shop.inventory.receiving import receive_stock
from tests.factories import make_batch, make_producer, make_product, make_user

# Hà Nội (province 1) and one of its wards
HANOI = 1


def hanoi_ward() -> int:
    from core import places

    return places.wards_of(HANOI)[0].code


def stocked_product(
    producer=None,
    *,
    units: int = 10,
    price: int = 150000,
    best_before=None,
    lot_quantity: str = "1000",
    name: str | None = None,
    manager=None,
):
    """A published product with one variant (5 kg packs) and `units` packs from one lot."""
    producer = producer or make_producer(manager=manager or make_user(name="Quản lý"))
    product = make_product(producer, name=name, price=price)
    variant = product.variants[0]
    batch = make_batch(
        product,
        quantity=lot_quantity,
        unit="kg",
        best_before=best_before or date.today() + timedelta(days=30),
    )
    if units:
        receive_stock(producer.id, variant_id=variant.id, batch_id=batch.id, units=units)
    db.session.flush()
    return producer, product, variant, batch


def contact(**overrides):
    fields = dict(
        name="Chị Mai",
        phone="0912 345 678",
        province_code=HANOI,
        ward_code=hanoi_ward(),
        street="12 Hàng Bài",
        note="",
        email=None,
    )
    fields.update(overrides)
    return clean_contact(**fields)


def order_of(*pairs, **kwargs):
    """place_order for (variant_id, quantity) pairs with a valid Hà Nội contact."""
    return place_order([LineIn(v, q) for v, q in pairs], contact(), **kwargs)
