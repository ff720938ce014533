"""Stock held by lot: receipts from lots, adjustments, reservations, first-expiry-first-out
allocation, release and shipment. Never oversells:

- every operation that takes stock first locks the variants' lock rows in ascending id order
  (PostgreSQL: SELECT … FOR UPDATE; SQLite: the UPDATE that bumps their version takes the
  database's write lock), so two checkouts for the same variant run one after the other;
- each unit taken from a lot is a conditional UPDATE (`… WHERE on_hand - allocated >= n`) whose
  row count is checked, and the table refuses `allocated > on_hand` — a second guard;
- available = on hand − allocated − live reservations of other buyers, over sellable lots only.

Services flush, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, union_all, update

from cooperatives.selling import sale_variants
from core.db import db, utcnow
from core.errors import Invalid, NotFound, OutOfStock
from core.i18n import local_today
from core.numbers import parse_int
from core.text import clean
from shop.inventory.models import (
    MovementKind,
    Reservation,
    StockLot,
    StockMovement,
    VariantStock,
)
from shop.signals import stock_changed
from traceability.lots.selling import lock_lot, record_stock_receipt, sellable_lots

MAX_UNITS = 1_000_000
LOW_STOCK = 5
DEFAULT_RESERVATION_MINUTES = 15

STOCK_LABELS = {
    "in_stock": _l("Còn hàng"),
    "low": _l("Sắp hết"),
    "out": _l("Hết hàng"),
}


def stock_level(available: int) -> str:
    if available <= 0:
        return "out"
    return "low" if available <= LOW_STOCK else "in_stock"


def reservation_minutes() -> int:
    return int(current_app.config.get("RESERVATION_MINUTES", DEFAULT_RESERVATION_MINUTES))


def _changed(variant_ids: Iterable[int], reason: str) -> None:
    stock_changed.send("shop", variant_ids=sorted(set(variant_ids)), reason=reason)


# --------------------------------------------------------------------------- reading


def _sellable_lot_filter(today: date):
    return StockLot.blocked.is_(False) & (
        (StockLot.best_before.is_(None)) | (StockLot.best_before >= today)
    )


def available_units(
    variant_ids: Iterable[int],
    *,
    today: date | None = None,
    exclude_holder: str | None = None,
) -> dict[int, int]:
    """Units each variant can still sell now (0 for unknown variants). Two queries."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    today = today or local_today()
    free = select(
        StockLot.variant_id.label("variant_id"),
        (StockLot.on_hand - StockLot.allocated).label("units"),
    ).where(StockLot.variant_id.in_(ids), _sellable_lot_filter(today))
    held = select(
        Reservation.variant_id.label("variant_id"), (-Reservation.quantity).label("units")
    ).where(Reservation.variant_id.in_(ids), Reservation.expires_at > utcnow())
    if exclude_holder:
        held = held.where(Reservation.holder != exclude_holder)
    both = union_all(free, held).subquery()
    totals = dict(
        db.session.execute(
            select(both.c.variant_id, func.sum(both.c.units)).group_by(both.c.variant_id)
        ).all()
    )
    return {i: max(0, int(totals.get(i) or 0)) for i in ids}


@dataclass(frozen=True)
class LotStock:
    id: int
    variant_id: int
    batch_id: int
    best_before: date | None
    on_hand: int
    allocated: int
    blocked: bool

    @property
    def free(self) -> int:
        return self.on_hand - self.allocated


def stock_lots(variant_ids: Iterable[int]) -> list[LotStock]:
    """Every lot row of these variants, first expiry first."""
    ids = sorted(set(variant_ids))
    if not ids:
        return []
    rows = db.session.scalars(
        select(StockLot)
        .where(StockLot.variant_id.in_(ids))
        .order_by(StockLot.variant_id, *_fefo_order())
    )
    return [
        LotStock(r.id, r.variant_id, r.batch_id, r.best_before, r.on_hand, r.allocated, r.blocked)
        for r in rows
    ]


def _fefo_order():
    # lots without a best-before date go last; then oldest row first
    no_date = case((StockLot.best_before.is_(None), 1), else_=0)
    return (no_date, StockLot.best_before, StockLot.id)


def next_lots(variant_ids: Iterable[int], today: date | None = None) -> dict[int, int]:
    """The lot (batch id) a buyer of each variant gets next, first expiry first."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    today = today or local_today()
    rows = db.session.execute(
        select(StockLot.variant_id, StockLot.batch_id)
        .where(
            StockLot.variant_id.in_(ids),
            _sellable_lot_filter(today),
            StockLot.on_hand > StockLot.allocated,
        )
        .order_by(StockLot.variant_id, *_fefo_order())
    )
    found: dict[int, int] = {}
    for variant_id, batch_id in rows:
        found.setdefault(variant_id, batch_id)
    return found


# --------------------------------------------------------------------------- locking


def lock_variants(variant_ids: Iterable[int]) -> None:
    """Lock the variants' stock rows in ascending id order until the unit of work ends."""
    ids = sorted(set(variant_ids))
    if not ids:
        return
    # SQLite: this UPDATE is the transaction's first write and takes the database write lock;
    # PostgreSQL: the ordered SELECT … FOR UPDATE before it locks rows without deadlocks.
    list(
        db.session.scalars(
            select(VariantStock.variant_id)
            .where(VariantStock.variant_id.in_(ids))
            .order_by(VariantStock.variant_id)
            .with_for_update()
        )
    )
    db.session.execute(
        update(VariantStock)
        .where(VariantStock.variant_id.in_(ids))
        .values(version=VariantStock.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _ensure_variant_row(variant_id: int, producer_id: int) -> None:
    if db.session.get(VariantStock, variant_id) is None:
        db.session.add(VariantStock(variant_id=variant_id, producer_id=producer_id))
        db.session.flush()


# --------------------------------------------------------------------------- receipts


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
    _ensure_variant_row(variant.id, producer_id)
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
    _changed([variant.id], MovementKind.RECEIPT)
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
    _changed([stock_lot.variant_id], MovementKind.ADJUSTMENT)
    return movement


# --------------------------------------------------------------------------- reservations


def _summed(quantities: Mapping[int, int] | Iterable[tuple[int, int]]) -> dict[int, int]:
    pairs = quantities.items() if isinstance(quantities, Mapping) else quantities
    total: dict[int, int] = defaultdict(int)
    for variant_id, quantity in pairs:
        total[variant_id] += quantity
    return dict(total)


def _short_error(short: dict[int, int]) -> OutOfStock:
    names = sale_variants(short)
    parts = [
        _(
            "%(name)s (%(label)s): còn %(n)s",
            name=names[v].product_name_vi,
            label=names[v].label,
            n=n,
        )
        if v in names
        else str(v)
        for v, n in short.items()
    ]
    error = OutOfStock(_("Không đủ hàng: %(items)s.", items="; ".join(parts)))
    error.fields = {f"variant-{v}": n for v, n in short.items()}
    error.short = short  # type: ignore[attr-defined]
    return error


def reserve(holder: str, quantities: Mapping[int, int], *, minutes: int | None = None) -> datetime:
    """Hold these units for a checkout (replacing the holder's earlier hold). Quantities of the
    same variant are summed by the caller's mapping. OutOfStock names what is short."""
    wanted = {v: q for v, q in _summed(quantities).items() if q > 0}
    lock_variants(wanted)
    expires = utcnow() + timedelta(minutes=minutes or reservation_minutes())
    db.session.execute(Reservation.__table__.delete().where(Reservation.holder == holder))
    available = available_units(wanted, exclude_holder=holder)
    short = {v: available.get(v, 0) for v, q in wanted.items() if q > available.get(v, 0)}
    if short:
        raise _short_error(short)
    for variant_id, quantity in sorted(wanted.items()):
        db.session.add(
            Reservation(holder=holder, variant_id=variant_id, quantity=quantity, expires_at=expires)
        )
    db.session.flush()
    _changed(wanted, "reservation")
    return expires


def reservation_of(holder: str) -> dict[int, tuple[int, datetime]]:
    rows = db.session.scalars(select(Reservation).where(Reservation.holder == holder))
    return {r.variant_id: (r.quantity, r.expires_at) for r in rows}


def drop_reservation(holder: str) -> None:
    db.session.execute(Reservation.__table__.delete().where(Reservation.holder == holder))


def purge_expired_reservations() -> int:
    return db.session.execute(
        Reservation.__table__.delete().where(Reservation.expires_at <= utcnow())
    ).rowcount


# --------------------------------------------------------------------------- allocation


@dataclass(frozen=True)
class Pick:
    """Units of one order line taken from one lot."""

    order_line_id: int
    variant_id: int
    stock_lot_id: int
    batch_id: int
    quantity: int


def allocate(
    lines: Iterable[tuple[int, int, int]],
    *,
    holder: str | None = None,
    actor_id: int | None = None,
) -> list[Pick]:
    """Take stock for order lines (order_line_id, variant_id, quantity), first expiry first out
    across sellable lots. The holder's own reservation counts as available to it and is
    consumed. All or nothing: OutOfStock if any variant is short (the caller rolls back)."""
    lines = list(lines)
    wanted = _summed((v, q) for _line, v, q in lines)
    lock_variants(wanted)
    available = available_units(wanted, exclude_holder=holder)
    short = {v: available.get(v, 0) for v, q in wanted.items() if q > available.get(v, 0)}
    if short:
        raise _short_error(short)
    today = local_today()
    lots_by_variant: dict[int, list[StockLot]] = defaultdict(list)
    candidates = list(
        db.session.scalars(
            select(StockLot)
            .where(
                StockLot.variant_id.in_(sorted(wanted)),
                _sellable_lot_filter(today),
                StockLot.on_hand > StockLot.allocated,
            )
            .order_by(StockLot.variant_id, *_fefo_order())
            .execution_options(populate_existing=True)
        )
    )
    # traceability has the last word on a lot (recalled or past date since the receipt)
    allowed = sellable_lots({lot.batch_id for lot in candidates}, today)
    for lot in candidates:
        if lot.batch_id in allowed:
            lots_by_variant[lot.variant_id].append(lot)
    picks: list[Pick] = []
    free = {
        lot.id: lot.on_hand - lot.allocated for lots in lots_by_variant.values() for lot in lots
    }
    for line_id, variant_id, quantity in lines:
        need = quantity
        for lot in lots_by_variant.get(variant_id, []):
            if need == 0:
                break
            take = min(need, free[lot.id])
            if take <= 0:
                continue
            done = db.session.execute(
                update(StockLot)
                .where(StockLot.id == lot.id, StockLot.on_hand - StockLot.allocated >= take)
                .values(allocated=StockLot.allocated + take)
                .execution_options(synchronize_session=False)
            ).rowcount
            if done != 1:
                raise _short_error({variant_id: 0})
            free[lot.id] -= take
            need -= take
            picks.append(Pick(line_id, variant_id, lot.id, lot.batch_id, take))
            db.session.add(
                StockMovement(
                    stock_lot_id=lot.id,
                    variant_id=variant_id,
                    kind=MovementKind.ALLOCATION,
                    allocated_delta=take,
                    order_line_id=line_id,
                    actor_id=actor_id,
                )
            )
        if need:
            raise _short_error({variant_id: quantity - need})
    if holder:
        drop_reservation(holder)
    db.session.flush()
    _changed(wanted, MovementKind.ALLOCATION)
    return picks


def release(picks: Iterable[tuple[int, int, int, int]], *, actor_id: int | None = None) -> None:
    """Give back allocated units (order_line_id, variant_id, stock_lot_id, quantity)."""
    picks = list(picks)
    lock_variants({p[1] for p in picks})
    for line_id, variant_id, stock_lot_id, quantity in picks:
        db.session.execute(
            update(StockLot)
            .where(StockLot.id == stock_lot_id)
            .values(allocated=StockLot.allocated - quantity)
            .execution_options(synchronize_session=False)
        )
        db.session.add(
            StockMovement(
                stock_lot_id=stock_lot_id,
                variant_id=variant_id,
                kind=MovementKind.RELEASE,
                allocated_delta=-quantity,
                order_line_id=line_id,
                actor_id=actor_id,
            )
        )
    db.session.flush()
    _changed({p[1] for p in picks}, MovementKind.RELEASE)


def ship(picks: Iterable[tuple[int, int, int, int]], *, actor_id: int | None = None) -> None:
    """Allocated units left the farm: on hand and allocated both go down."""
    picks = list(picks)
    lock_variants({p[1] for p in picks})
    for line_id, variant_id, stock_lot_id, quantity in picks:
        db.session.execute(
            update(StockLot)
            .where(StockLot.id == stock_lot_id)
            .values(allocated=StockLot.allocated - quantity, on_hand=StockLot.on_hand - quantity)
            .execution_options(synchronize_session=False)
        )
        db.session.add(
            StockMovement(
                stock_lot_id=stock_lot_id,
                variant_id=variant_id,
                kind=MovementKind.SHIPMENT,
                on_hand_delta=-quantity,
                allocated_delta=-quantity,
                order_line_id=line_id,
                actor_id=actor_id,
            )
        )
    db.session.flush()
    _changed({p[1] for p in picks}, MovementKind.SHIPMENT)


def block_lots(batch_ids: Iterable[int]) -> list[int]:
    """Stop selling from recalled lots; returns the variants whose stock changed."""
    ids = sorted(set(batch_ids))
    if not ids:
        return []
    variants = sorted(
        set(db.session.scalars(select(StockLot.variant_id).where(StockLot.batch_id.in_(ids))))
    )
    db.session.execute(
        update(StockLot)
        .where(StockLot.batch_id.in_(ids))
        .values(blocked=True)
        .execution_options(synchronize_session=False)
    )
    if variants:
        _changed(variants, "recall")
    return variants


def movement_mismatches(variant_ids: Iterable[int] | None = None) -> int:
    """Stock lots whose counts differ from the sum of their movements (should be 0)."""
    sums = (
        select(
            StockMovement.stock_lot_id,
            func.sum(StockMovement.on_hand_delta).label("on_hand"),
            func.sum(StockMovement.allocated_delta).label("allocated"),
        )
        .group_by(StockMovement.stock_lot_id)
        .subquery()
    )
    query = (
        select(func.count())
        .select_from(StockLot)
        .outerjoin(sums, sums.c.stock_lot_id == StockLot.id)
        .where(
            (func.coalesce(sums.c.on_hand, 0) != StockLot.on_hand)
            | (func.coalesce(sums.c.allocated, 0) != StockLot.allocated)
        )
    )
    if variant_ids is not None:
        query = query.where(StockLot.variant_id.in_(sorted(set(variant_ids))))
    return int(db.session.scalar(query) or 0)
