"""Stock coming in and corrected: packs put on sale from a lot (recorded as the lot's packing
event, never more than the lot holds) and adjustments with a reason (never below what orders
hold). Locks as services.py does; flushes, never commits.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from cooperatives.selling import sale_variants
from core.db import db
from core.errors import Invalid, NotFound
from core.i18n import local_today
from core.numbers import parse_int
from core.text import clean
from shop.inventory.models import MovementKind, StockLot, StockMovement
from shop.inventory.services import (
    MAX_UNITS,
    ensure_variant_row,
    lock_variants,
    notify_stock_changed,
)
from traceability.lots.selling import lock_lot, record_stock_receipt, sellable_lots


def _parse_units(raw, field: str = "units", *, minimum: int = 1) -> int:
    units = parse_int(raw if raw is not None else None, minimum=minimum, maximum=MAX_UNITS)
    if units is None:
        raise Invalid(
            _("Số lượng không hợp lệ."),
            fields={field: _("Nhập số nguyên từ %(a)s đến %(b)s.", a=minimum, b=MAX_UNITS)},
        )
    return units


def _parse_lot_quantity(raw) -> Decimal | None:
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = Decimal(str(raw).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        value = Decimal(-1)
    if not value.is_finite() or value <= 0 or value >= Decimal("1e11"):
        raise Invalid(
            _("Lượng lấy từ lô không hợp lệ."),
            fields={"lot_quantity": _("Nhập một số lớn hơn 0, ví dụ 250.")},
        )
    return value.quantize(Decimal("0.001"))


def receive_stock(
    producer_id: int,
    *,
    variant_id,
    batch_id,
    units,
    lot_quantity=None,
    actor_id: int | None = None,
    actor_role: str = "",
) -> StockMovement:
    """Put `units` packs of a variant on sale, packed from `lot_quantity` of one of the
    producer's lots (same unit: computed from the pack size). Recorded as a packing event of
    the lot; never more than the lot holds, never from a lot that may not be sold."""
    units = _parse_units(units)
    variant = sale_variants([variant_id] if isinstance(variant_id, int) else []).get(variant_id)
    if variant is None or variant.producer_id != producer_id:
        raise NotFound(_("Không tìm thấy quy cách sản phẩm."))
    if not isinstance(batch_id, int):
        raise Invalid(_("Chọn lô hàng."), fields={"batch_id": _("Chọn lô hàng.")})
    lot = lock_lot(batch_id, producer_id)
    if lot.product_id != variant.product_id:
        raise Invalid(
            _("Lô này thuộc sản phẩm khác."), fields={"batch_id": _("Chọn lô của sản phẩm này.")}
        )
    if batch_id not in sellable_lots([batch_id], local_today()):
        raise Invalid(
            _("Lô %(lot)s đã bị thu hồi hoặc quá hạn sử dụng, không bán được.", lot=lot.lot_code),
            fields={"batch_id": _("Chọn lô khác.")},
        )
    used = _parse_lot_quantity(lot_quantity)
    if used is None:
        if variant.unit != lot.unit:
            raise Invalid(
                _(
                    "Lô tính bằng %(lot)s, gói tính bằng %(pack)s: hãy ghi lượng lấy từ lô.",
                    lot=lot.unit,
                    pack=variant.unit,
                ),
                fields={"lot_quantity": _("Ghi lượng lấy từ lô (đơn vị %(u)s).", u=lot.unit)},
            )
        used = (Decimal(str(variant.pack_size)) * units).quantize(Decimal("0.001"))
    already = db.session.scalar(
        select(func.coalesce(func.sum(StockMovement.lot_quantity), 0))
        .join(StockLot, StockLot.id == StockMovement.stock_lot_id)
        .where(StockLot.batch_id == batch_id, StockMovement.kind == MovementKind.RECEIPT)
    )
    left = lot.quantity - Decimal(already or 0)
    if used > left:
        raise Invalid(
            _(
                "Lô %(lot)s chỉ còn %(left)s %(unit)s chưa đóng gói để bán.",
                lot=lot.lot_code,
                left=format(left.normalize(), "f"),
                unit=lot.unit,
            ),
            fields={"units": _("Giảm số lượng.")},
        )
    ensure_variant_row(variant.id, producer_id)
    lock_variants([variant.id])
    stock_lot = db.session.scalar(
        select(StockLot).where(StockLot.variant_id == variant.id, StockLot.batch_id == batch_id)
    )
    if stock_lot is None:
        stock_lot = StockLot(
            variant_id=variant.id,
            batch_id=batch_id,
            producer_id=producer_id,
            best_before=lot.best_before,
            on_hand=0,
            allocated=0,
        )
        db.session.add(stock_lot)
        db.session.flush()
    event_id = record_stock_receipt(
        batch_id,
        units=units,
        pack_label=variant.label,
        lot_quantity=used,
        unit=lot.unit,
        recorded_by_id=actor_id,
        actor_role=actor_role,
    )
    db.session.execute(
        update(StockLot)
        .where(StockLot.id == stock_lot.id)
        .values(on_hand=StockLot.on_hand + units)
        .execution_options(synchronize_session=False)
    )
    movement = StockMovement(
        stock_lot_id=stock_lot.id,
        variant_id=variant.id,
        kind=MovementKind.RECEIPT,
        on_hand_delta=units,
        lot_quantity=used,
        lot_unit=lot.unit,
        trace_event_id=event_id,
        actor_id=actor_id,
    )
    db.session.add(movement)
    db.session.flush()
    db.session.expire(stock_lot)
    notify_stock_changed([variant.id], MovementKind.RECEIPT)
    return movement


def adjust_stock(
    producer_id: int, *, stock_lot_id: int, delta, reason: str, actor_id: int | None = None
) -> StockMovement:
    """Correct a lot's count (broken, spoiled, recounted) with a reason; never below what
    orders already hold."""
    delta_value = parse_int(delta, minimum=-MAX_UNITS, maximum=MAX_UNITS)
    if delta_value is None or delta_value == 0:
        raise Invalid(
            _("Số lượng điều chỉnh không hợp lệ."), fields={"delta": _("Nhập số khác 0, ví dụ -2.")}
        )
    reason = clean(reason)[:300]
    if len(reason) < 3:
        raise Invalid(_("Vui lòng ghi lý do điều chỉnh."), fields={"reason": _("Ghi lý do.")})
    stock_lot = db.session.get(StockLot, stock_lot_id)
    if stock_lot is None or stock_lot.producer_id != producer_id:
        raise NotFound()
    lock_variants([stock_lot.variant_id])
    done = db.session.execute(
        update(StockLot)
        .where(StockLot.id == stock_lot_id, StockLot.on_hand + delta_value >= StockLot.allocated)
        .values(on_hand=StockLot.on_hand + delta_value)
        .execution_options(synchronize_session=False)
    ).rowcount
    if done != 1:
        raise Invalid(
            _("Không thể giảm dưới số đã bán cho các đơn hàng."),
            fields={"delta": _("Giảm ít hơn.")},
        )
    movement = StockMovement(
        stock_lot_id=stock_lot_id,
        variant_id=stock_lot.variant_id,
        kind=MovementKind.ADJUSTMENT,
        on_hand_delta=delta_value,
        reason=reason,
        actor_id=actor_id,
    )
    db.session.add(movement)
    db.session.flush()
    db.session.expire(stock_lot)
    notify_stock_changed([stock_lot.variant_id], MovementKind.ADJUSTMENT)
    return movement
