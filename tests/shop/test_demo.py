"""`flask seed-demo` puts stock on the demo lots and leaves orders in every state."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from shop.inventory.models import StockLot
from shop.inventory.services import movement_mismatches
from shop.orders.models import SubOrder


def test_the_demo_sells_and_is_idempotent(app):
    from accounts.demo import seed_demo as seed_accounts
    from cooperatives.demo import seed_demo as seed_cooperatives
    from shop.demo import seed_demo as seed_shop
    from traceability.demo import seed_demo as seed_traceability

    with app.app_context():
        for seed in (seed_accounts, seed_cooperatives, seed_traceability, seed_shop):
            seed()
        db.session.commit()
        states = dict(
            db.session.execute(
                select(SubOrder.status, func.count()).group_by(SubOrder.status)
            ).all()
        )
        assert set(states) == {"placed", "confirmed", "packed", "shipped", "delivered", "cancelled"}
        lots = db.session.scalar(select(func.count()).select_from(StockLot))
        assert lots >= 2
        assert movement_mismatches() == 0
        assert seed_shop().startswith("0 lô đưa lên bán, 0 đơn hàng mẫu")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(StockLot)) == lots
