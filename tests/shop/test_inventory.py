"""Stock held by lot: receipts recorded against lots, FEFO allocation, reservations, movements."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import Invalid, NotFound, OutOfStock
from shop.inventory.models import StockMovement
from shop.inventory.receiving import adjust_stock, receive_stock
from shop.inventory.services import available_units, movement_mismatches, reserve, stock_lots
from tests.factories import make_batch, make_producer, make_product
from tests.shop.helpers import order_of, stocked_product


def test_receipt_puts_packs_on_sale_and_records_a_packing_event_on_the_lot(ctx):
    producer, product, variant, batch = stocked_product(units=0)
    receive_stock(producer.id, variant_id=variant.id, batch_id=batch.id, units=20)
    assert available_units([variant.id]) == {variant.id: 20}
    from traceability.lots.events import events_of

    kinds = [e.kind for e in events_of(batch.id)]
    assert kinds[-1] == "packing"
    assert events_of(batch.id)[-1].details["quantity"] == "100"  # 20 packs × 5 kg


def test_a_lot_never_gives_more_than_it_holds(ctx):
    producer, product, variant, batch = stocked_product(units=0, lot_quantity="100")
    receive_stock(producer.id, variant_id=variant.id, batch_id=batch.id, units=15)  # 75 kg
    with pytest.raises(Invalid) as error:
        receive_stock(producer.id, variant_id=variant.id, batch_id=batch.id, units=6)  # 30 kg
    assert "25" in str(error.value.message)
    assert available_units([variant.id])[variant.id] == 15


def test_another_producers_lot_or_a_recalled_lot_cannot_be_received(ctx):
    producer, product, variant, batch = stocked_product(units=0)
    other = make_producer()
    other_batch = make_batch(make_product(other))
    with pytest.raises((NotFound, Invalid)):
        receive_stock(producer.id, variant_id=variant.id, batch_id=other_batch.id, units=1)
    from traceability.lots.recalls import recall_batch

    recall_batch(batch.id, reason="Kiểm nghiệm không đạt", actor_id=None, actor_role="admin")
    with pytest.raises(Invalid):
        receive_stock(producer.id, variant_id=variant.id, batch_id=batch.id, units=1)


def test_orders_take_first_expiry_first_and_record_their_lots(ctx):
    producer, product, variant, late = stocked_product(
        units=3, best_before=date.today() + timedelta(days=60)
    )
    early = make_batch(product, best_before=date.today() + timedelta(days=5))
    receive_stock(producer.id, variant_id=variant.id, batch_id=early.id, units=2)
    order = order_of((variant.id, 4))
    taken = [(lot.batch_id, lot.quantity) for line in order.lines for lot in line.lots]
    assert taken == [(early.id, 2), (late.id, 2)]
    assert available_units([variant.id])[variant.id] == 1
    assert movement_mismatches() == 0


def test_lots_past_best_before_are_never_sold(ctx):
    producer, product, variant, batch = stocked_product(units=5)
    stale = make_batch(product, best_before=date.today() + timedelta(days=1))
    receive_stock(producer.id, variant_id=variant.id, batch_id=stale.id, units=5)
    assert available_units([variant.id], today=date.today() + timedelta(days=2))[variant.id] == 5


def test_a_live_reservation_holds_units_from_other_buyers_until_it_expires(ctx):
    producer, product, variant, batch = stocked_product(units=3)
    reserve("cart-a", {variant.id: 2})
    assert available_units([variant.id])[variant.id] == 1
    assert available_units([variant.id], exclude_holder="cart-a")[variant.id] == 3
    with pytest.raises(OutOfStock):
        reserve("cart-b", {variant.id: 2})
    with pytest.raises(OutOfStock):
        order_of((variant.id, 2))
    reserve("cart-a", {variant.id: 2}, minutes=-1)  # already expired
    assert available_units([variant.id])[variant.id] == 3


def test_quantities_of_one_variant_across_lines_are_summed(ctx):
    producer, product, variant, batch = stocked_product(units=3)
    with pytest.raises(OutOfStock):
        order_of((variant.id, 2), (variant.id, 2))
    assert available_units([variant.id])[variant.id] == 3


def test_adjustments_need_a_reason_and_never_go_below_what_orders_hold(ctx):
    producer, product, variant, batch = stocked_product(units=5)
    order_of((variant.id, 4))
    lot = stock_lots([variant.id])[0]
    with pytest.raises(Invalid):
        adjust_stock(producer.id, stock_lot_id=lot.id, delta="-1", reason="")
    with pytest.raises(Invalid):
        adjust_stock(producer.id, stock_lot_id=lot.id, delta="-2", reason="Dập hỏng")
    adjust_stock(producer.id, stock_lot_id=lot.id, delta="-1", reason="Dập hỏng")
    assert available_units([variant.id])[variant.id] == 0
    kinds = db.session.scalars(select(StockMovement.kind).order_by(StockMovement.id)).all()
    assert kinds == ["receipt", "allocation", "adjustment"]
    assert movement_mismatches() == 0


def test_another_producer_cannot_adjust_my_stock(ctx):
    producer, product, variant, batch = stocked_product(units=5)
    other = make_producer()
    lot = stock_lots([variant.id])[0]
    with pytest.raises(NotFound):
        adjust_stock(other.id, stock_lot_id=lot.id, delta="5", reason="Đếm lại")
    assert db.session.scalar(select(func.count()).select_from(StockMovement)) == 1
