"""Goods sent back by the buyer: a separate tick from the refund (money and goods travel
apart). Only then do the shipped units return to their lots' stock, once."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db, utcnow
from core.errors import Conflict
from shop.inventory.receiving import adjust_stock
from shop.orders.models import OrderLine, OrderLineLot, OrderStatus, SubOrder
from shop.orders.services import _lock, sub_order_of_producer


def goods_returned(producer_id: int, sub_order_id: int, *, actor_id: int | None) -> int:
    """Put the shipped units of this part back on their lots; the units returned."""
    sub_order_of_producer(producer_id, sub_order_id)
    sub: SubOrder = _lock(sub_order_id)
    if sub.status not in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise Conflict(_("Chỉ ghi nhận hàng trả lại cho phần đơn đã giao đi."), code="not_shipped")
    if sub.goods_returned_at is not None:
        raise Conflict(_("Đã ghi nhận hàng trả lại cho phần đơn này."), code="already_returned")
    lots = db.session.scalars(
        select(OrderLineLot)
        .join(OrderLine, OrderLine.id == OrderLineLot.order_line_id)
        .where(OrderLine.sub_order_id == sub.id)
        .order_by(OrderLineLot.id)
    )
    units = 0
    for lot in lots:
        adjust_stock(
            producer_id,
            stock_lot_id=lot.stock_lot_id,
            delta=lot.quantity,
            reason=_("Hàng trả lại, đơn %(ref)s", ref=sub.order.ref),
            actor_id=actor_id,
        )
        units += lot.quantity
    sub.goods_returned_at = utcnow()
    db.session.flush()
    return units
