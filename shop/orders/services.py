"""Order status flow and the reads around it.

placed → confirmed → packed → shipped → delivered; cancelled by the buyer before packing, by the
producer (with a reason) before shipping, by the system when an unpaid order expires. Each
producer moves only its own sub-order; a cancelled part gives its stock back.
"""

from __future__ import annotations

import csv
import hmac
import io
from collections import defaultdict
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core.db import db, lock_row, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.i18n import local_datetime
from core.places import address_line
from core.text import clean, clean_multiline
from shop.inventory.services import block_lots, release, ship
from shop.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderLineLot,
    OrderStatus,
    RecallNotice,
    SubOrder,
)
from shop.orders.notifications import notify
from shop.payments.services import cancel_pending
from shop.signals import order_status_changed
from traceability.lots.selling import lots_with_descendants

S = OrderStatus
FLOW = (S.PLACED, S.CONFIRMED, S.PACKED, S.SHIPPED, S.DELIVERED)
# by whom each move may be made
PRODUCER_MOVES = {
    S.PLACED: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.PACKED, S.CANCELLED},
    S.PACKED: {S.SHIPPED, S.CANCELLED},
    S.SHIPPED: {S.DELIVERED},
}
BUYER_MOVES = {S.PLACED: {S.CANCELLED}, S.CONFIRMED: {S.CANCELLED}}

STATUS_LABELS = {
    S.PLACED: _l("Đã đặt"),
    S.CONFIRMED: _l("Đã xác nhận"),
    S.PACKED: _l("Đã đóng gói"),
    S.SHIPPED: _l("Đang giao"),
    S.DELIVERED: _l("Đã giao"),
    S.CANCELLED: _l("Đã hủy"),
}


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def order_status(order: Order) -> str:
    """The order as a whole: cancelled when every part is, else its least advanced part."""
    live = [s.status for s in order.sub_orders if s.status != S.CANCELLED]
    if not live:
        return S.CANCELLED
    return min(live, key=FLOW.index)


# --------------------------------------------------------------------------- reads


def _with_parts():
    return (
        selectinload(Order.sub_orders),
        selectinload(Order.lines).selectinload(OrderLine.lots),
    )


def order_for_link(ref: str, key: str | None, user_id: int | None = None) -> Order:
    """The order behind a follow link; NotFound for a wrong ref or key (never says which)."""
    if not ref or len(ref) > 16 or not ref.isascii() or not ref.isprintable():
        raise NotFound(_("Không tìm thấy đơn hàng."))  # NUL and friends never reach PostgreSQL
    order = db.session.scalar(select(Order).where(Order.ref == ref).options(*_with_parts()))
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    owner = user_id is not None and order.buyer_id == user_id
    if not owner and not (key and hmac.compare_digest(key.encode(), order.secret.encode())):
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return order


def orders_of_buyer(user_id: int, limit: int = 50) -> list[Order]:
    return list(
        db.session.scalars(
            select(Order)
            .where(Order.buyer_id == user_id)
            .order_by(Order.id.desc())
            .limit(limit)
            .options(selectinload(Order.sub_orders))
        )
    )


def sub_orders_of_producer(
    producer_id: int, status: str | None = None, limit: int = 100
) -> list[SubOrder]:
    query = (
        select(SubOrder)
        .where(SubOrder.producer_id == producer_id)
        .order_by(SubOrder.id.desc())
        .limit(limit)
        .options(
            selectinload(SubOrder.order), selectinload(SubOrder.lines).selectinload(OrderLine.lots)
        )
    )
    if status:
        query = query.where(SubOrder.status == status)
    return list(db.session.scalars(query))


def sub_order_of_producer(producer_id: int, sub_order_id: int) -> SubOrder:
    """A producer's own sub-order; NotFound for another producer's."""
    sub = db.session.get(SubOrder, sub_order_id)
    if sub is None or sub.producer_id != producer_id:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return sub


def orders_of_lot(batch_id: int) -> list[tuple[Order, int]]:
    """The orders that received units of this lot, with how many (a lot's page lists them)."""
    rows = db.session.execute(
        select(Order, OrderLineLot.quantity)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(OrderLineLot, OrderLineLot.order_line_id == OrderLine.id)
        .where(OrderLineLot.batch_id == batch_id, OrderLineLot.released.is_(False))
        .order_by(Order.id)
    )
    totals: dict[int, list] = {}
    for order, quantity in rows:
        entry = totals.setdefault(order.id, [order, 0])
        entry[1] += quantity
    return [(o, n) for o, n in totals.values()]


def recall_notices(order_id: int) -> list[RecallNotice]:
    return list(
        db.session.scalars(
            select(RecallNotice).where(RecallNotice.order_id == order_id).order_by(RecallNotice.id)
        )
    )


def recall_notices_of(
    producer_id: int | None = None, province_code: int | None = None, limit: int = 200
):
    query = select(RecallNotice, Order).join(Order, Order.id == RecallNotice.order_id)
    if producer_id is not None:
        query = query.where(RecallNotice.producer_id == producer_id)
    if province_code is not None:
        from cooperatives.selling import producers_in_province

        query = query.where(RecallNotice.producer_id.in_(producers_in_province(province_code)))
    return list(db.session.execute(query.order_by(RecallNotice.id.desc()).limit(limit)))


# --------------------------------------------------------------------------- moves


def _move(sub: SubOrder, new: str, *, actor_id: int | None, role: str, note: str = "") -> None:
    old = sub.status
    sub.status = new
    db.session.add(
        OrderEvent(
            order_id=sub.order_id,
            sub_order_id=sub.id,
            from_status=old,
            to_status=new,
            actor_id=actor_id,
            actor_role=role,
            note=note,
        )
    )
    db.session.flush()
    order_status_changed.send("shop", order_id=sub.order_id, sub_order_id=sub.id, old=old, new=new)


def _refuse(sub: SubOrder, new: str) -> Conflict:
    return Conflict(
        _(
            "Không thể chuyển đơn từ “%(old)s” sang “%(new)s”.",
            old=status_label(sub.status),
            new=status_label(new),
        ),
        code="transition_not_allowed",
    )


def _lock(sub_order_id: int) -> SubOrder:
    sub = lock_row(SubOrder, sub_order_id)
    if sub is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return sub


def _picks(sub: SubOrder, *, unreleased_only: bool = True) -> list[OrderLineLot]:
    return list(
        db.session.scalars(
            select(OrderLineLot)
            .join(OrderLine, OrderLine.id == OrderLineLot.order_line_id)
            .where(OrderLine.sub_order_id == sub.id, OrderLineLot.released.is_(False))
            .order_by(OrderLineLot.id)
        )
    )


def _release_stock(sub: SubOrder, actor_id: int | None) -> None:
    lots = _picks(sub)
    variant_of = {
        line.id: line.variant_id
        for line in db.session.scalars(select(OrderLine).where(OrderLine.sub_order_id == sub.id))
    }
    release(
        [(p.order_line_id, variant_of[p.order_line_id], p.stock_lot_id, p.quantity) for p in lots],
        actor_id=actor_id,
    )
    for p in lots:
        p.released = True
    cancel_pending(sub.id)


def producer_move(
    producer_id: int,
    sub_order_id: int,
    new: str,
    *,
    actor_id: int | None,
    reason: str = "",
    carrier: str = "",
    tracking_number: str = "",
) -> SubOrder:
    """A producer moves its own sub-order along the flow."""
    sub_order_of_producer(producer_id, sub_order_id)
    sub = _lock(sub_order_id)
    if new not in PRODUCER_MOVES.get(sub.status, set()):
        raise _refuse(sub, new)
    order = sub.order
    if new == S.CANCELLED:
        reason = clean_multiline(reason)[:1000]
        if len(reason) < 5:
            raise Invalid(
                _("Vui lòng ghi lý do hủy cho người mua."),
                fields={"reason": _("Ghi lý do (ít nhất 5 ký tự).")},
            )
        _release_stock(sub, actor_id)
        sub.cancel_reason, sub.cancelled_by = reason, "producer"
        _move(sub, new, actor_id=actor_id, role="producer", note=reason)
        notify(order, "cancelled", producer=sub.producer_name, reason=reason)
        return sub
    if new == S.SHIPPED:
        carrier, tracking_number = clean(carrier)[:80], clean(tracking_number)[:80]
        errors = {}
        if len(carrier) < 2:
            errors["carrier"] = _("Ghi đơn vị vận chuyển.")
        if len(tracking_number) < 3:
            errors["tracking_number"] = _("Ghi mã vận đơn.")
        if errors:
            raise Invalid(_("Vui lòng ghi đơn vị vận chuyển và mã vận đơn."), fields=errors)
        variant_of = {line.id: line.variant_id for line in sub.lines}
        ship(
            [
                (p.order_line_id, variant_of[p.order_line_id], p.stock_lot_id, p.quantity)
                for p in _picks(sub)
            ],
            actor_id=actor_id,
        )
        sub.carrier, sub.tracking_number = carrier, tracking_number
        _move(sub, new, actor_id=actor_id, role="producer")
        notify(
            order, "shipped", producer=sub.producer_name, carrier=carrier, tracking=tracking_number
        )
        return sub
    _move(sub, new, actor_id=actor_id, role="producer")
    if new == S.CONFIRMED:
        notify(order, "confirmed")
    return sub


def buyer_cancel(
    order: Order, sub_order_id: int | None, *, actor_id: int | None, reason: str = ""
) -> list[SubOrder]:
    """The buyer cancels the parts not packed yet (one part, or every part when None)."""
    targets = [s for s in order.sub_orders if sub_order_id is None or s.id == sub_order_id]
    if not targets:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    reason = clean_multiline(reason)[:1000] or _("Người mua hủy đơn")
    done = []
    for target in sorted(targets, key=lambda s: s.id):
        sub = _lock(target.id)
        if S.CANCELLED not in BUYER_MOVES.get(sub.status, set()):
            if sub_order_id is None and sub.status == S.CANCELLED:
                continue
            raise Conflict(
                _(
                    "Phần đơn của %(producer)s đã đóng gói, không thể hủy nữa.",
                    producer=sub.producer_name,
                )
                if sub.status != S.CANCELLED
                else _("Phần đơn này đã hủy."),
                code="transition_not_allowed",
            )
        _release_stock(sub, actor_id)
        sub.cancel_reason, sub.cancelled_by = reason, "buyer"
        _move(sub, S.CANCELLED, actor_id=actor_id, role="buyer", note=reason)
        done.append(sub)
    if done:
        notify(order, "cancelled", producer=", ".join(s.producer_name for s in done), reason=reason)
    return done


def expire_unconfirmed(older_than_minutes: int = 60) -> int:
    """Parts still only `placed` (unpaid card/VietQR orders) after the limit give their stock
    back. Cash on delivery is confirmed at once, so it never expires."""
    cutoff = utcnow() - timedelta(minutes=older_than_minutes)
    ids = list(
        db.session.scalars(
            select(SubOrder.id).where(SubOrder.status == S.PLACED, SubOrder.created_at < cutoff)
        )
    )
    for sub_id in ids:
        sub = _lock(sub_id)
        if sub.status != S.PLACED:
            continue
        _release_stock(sub, None)
        sub.cancel_reason, sub.cancelled_by = str(_("Hết hạn thanh toán")), "system"
        _move(sub, S.CANCELLED, actor_id=None, role="system")
    return len(ids)


# --------------------------------------------------------------------------- recalls


def handle_recall(batch_ids: list[int], origin_id: int, reason: str) -> int:
    """Stop selling the recalled lots, flag every order that received them (or a lot made from
    them) and tell each buyer once. Returns the number of orders newly flagged."""
    affected = lots_with_descendants(batch_ids)
    block_lots(affected)
    rows = db.session.execute(
        select(OrderLine.order_id, OrderLineLot.lot_code, SubOrder.producer_id)
        .join(OrderLine, OrderLine.id == OrderLineLot.order_line_id)
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .where(OrderLineLot.batch_id.in_(sorted(affected)), OrderLineLot.released.is_(False))
    )
    codes: dict[int, set[str]] = defaultdict(set)
    producer_of: dict[int, int] = {}
    for order_id, lot_code, producer_id in rows:
        codes[order_id].add(lot_code)
        producer_of.setdefault(order_id, producer_id)
    if not codes:
        return 0
    existing = set(
        db.session.scalars(
            select(RecallNotice.order_id).where(
                RecallNotice.order_id.in_(sorted(codes)), RecallNotice.origin_batch_id == origin_id
            )
        )
    )
    flagged = 0
    now = utcnow()
    for order in db.session.scalars(
        select(Order).where(Order.id.in_(sorted(set(codes) - existing)))
    ):
        lots = ", ".join(sorted(codes[order.id]))
        db.session.add(
            RecallNotice(
                order_id=order.id,
                origin_batch_id=origin_id,
                producer_id=producer_of[order.id],
                lot_codes=lots[:300],
                reason=reason,
                notified_at=now,
            )
        )
        order.recall_flagged_at = order.recall_flagged_at or now
        notify(order, "recalled", lots=lots, reason=reason)
        flagged += 1
    db.session.flush()
    return flagged


# --------------------------------------------------------------------------- export


def orders_csv(producer_id: int) -> str:
    """The producer's sub-orders as CSV (Excel opens UTF-8 with the BOM)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            _("Mã đơn"),
            _("Ngày đặt"),
            _("Trạng thái"),
            _("Người nhận"),
            _("Điện thoại"),
            _("Địa chỉ"),
            _("Sản phẩm"),
            _("Số lượng"),
            _("Lô"),
            _("Tiền hàng"),
            _("Phí giao"),
            _("Tổng"),
            _("Đơn vị vận chuyển"),
            _("Mã vận đơn"),
        ]
    )
    for sub in sub_orders_of_producer(producer_id, limit=10_000):
        order = sub.order
        items = "; ".join(
            f"{line.product_name} ({line.variant_label}) × {line.quantity}" for line in sub.lines
        )
        lots = "; ".join(sorted({lot.lot_code for line in sub.lines for lot in line.lots}))
        writer.writerow(
            [
                order.ref,
                local_datetime(order.created_at),
                status_label(sub.status),
                order.buyer_name,
                order.buyer_phone,
                address_line(order.street, order.ward_code, order.province_code),
                items,
                sum(line.quantity for line in sub.lines),
                lots,
                sub.subtotal_vnd,
                sub.shipping_vnd,
                sub.total_vnd,
                sub.carrier or "",
                sub.tracking_number or "",
            ]
        )
    return out.getvalue()
