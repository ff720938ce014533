"""No overselling, ever: many buyers race for fewer units; exactly the units that exist are sold.

Runs on both databases; the PostgreSQL pass (make test, or --db=postgresql) is the one that
matters (real row locks, real parallel transactions).
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from core.db import db, unit_of_work
from core.errors import OutOfStock
from shop.inventory.models import StockLot, StockMovement
from shop.inventory.services import available_units, movement_mismatches
from shop.orders.models import OrderLine, OrderLineLot
from tests.factories import make_batch
from tests.shop.helpers import order_of, stocked_product

BUYERS = 60
UNITS = 17


def _race(app, variant_id: int, buyers: int, quantity: int = 1):
    barrier = threading.Barrier(buyers)
    results: list[str] = []
    lock = threading.Lock()

    def buyer():
        with app.app_context():
            barrier.wait()
            try:
                with unit_of_work():
                    order_of((variant_id, quantity))
                outcome = "sold"
            except OutOfStock:
                outcome = "out"
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails)
                outcome = f"error: {type(exc).__name__}: {exc}"
            finally:
                db.session.remove()
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=buyer) for _ in range(buyers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_the_last_units_go_to_exactly_as_many_buyers_as_there_are_units(app):
    with app.app_context():
        producer, product, variant, batch = stocked_product(units=10)
        # a second lot, expiring later: the race also crosses lots
        from datetime import date, timedelta

        from shop.inventory.receiving import receive_stock

        later = make_batch(product, best_before=date.today() + timedelta(days=90))
        receive_stock(producer.id, variant_id=variant.id, batch_id=later.id, units=UNITS - 10)
        db.session.commit()
        variant_id = variant.id

    results = _race(app, variant_id, BUYERS)

    errors = [r for r in results if r.startswith("error")]
    assert errors == []
    assert results.count("sold") == UNITS
    assert results.count("out") == BUYERS - UNITS
    with app.app_context():
        assert available_units([variant_id])[variant_id] == 0
        allocated = db.session.scalar(select(func.sum(StockLot.allocated)))
        on_hand = db.session.scalar(select(func.sum(StockLot.on_hand)))
        assert (allocated, on_hand) == (UNITS, UNITS)
        sold = db.session.scalar(select(func.sum(OrderLine.quantity)))
        from_lots = db.session.scalar(select(func.sum(OrderLineLot.quantity)))
        assert sold == from_lots == UNITS
        moved = db.session.scalar(
            select(func.sum(StockMovement.allocated_delta)).where(
                StockMovement.kind == "allocation"
            )
        )
        assert moved == UNITS
        assert movement_mismatches() == 0
        db.session.remove()
