"""`flask seed-demo` puts stock on the demo lots and leaves orders in every state, VietQR
waiting, paid and paid short among them."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from shop.inventory.models import StockLot
from shop.inventory.services import movement_mismatches
from shop.orders.models import Order, SubOrder
from shop.payments.models import PaymentStatus
from shop.payments.reconciliation_models import BankTransfer, TransferStatus
from shop.payments.services import payments_of
from shop.payments.verify import first_disagreement


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
        # VietQR: one waiting for its transfer, one paid by the bank, one paid short (flagged)
        vietqr = [
            payments_of(order_id)[0].status
            for order_id in db.session.scalars(
                select(Order.id).where(Order.source == "demo-vietqr").order_by(Order.id)
            )
        ]
        assert vietqr == [PaymentStatus.PENDING, PaymentStatus.PAID, PaymentStatus.PENDING]
        transfers = db.session.scalars(select(BankTransfer.status).order_by(BankTransfer.id))
        assert list(transfers) == [TransferStatus.MATCHED, TransferStatus.PARTIAL]
        assert first_disagreement() is None
        assert seed_shop().startswith("0 lô đưa lên bán, 0 đơn hàng mẫu")
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(StockLot)) == lots
