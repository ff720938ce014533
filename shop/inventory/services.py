"""Stock held by lot: reading it, reservations, first-expiry-first-out allocation, release and
shipment (receipts from lots and adjustments are in receiving.py). Never oversells:

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

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, union_all, update

from cooperatives.selling import sale_variants
from core.db import db, utcnow
from core.errors import OutOfStock
from core.i18n import local_today
from shop.inventory.models import (
    MovementKind,
    Reservation,
    StockLot,
    StockMovement,
    VariantStock,
)
from shop.signals import stock_changed
from traceability.lots.selling import sellable_lots

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


def notify_stock_changed(variant_ids: Iterable[int], reason: str) -> None:
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


def ensure_variant_row(variant_id: int, producer_id: int) -> None:
    if db.session.get(VariantStock, variant_id) is None:
        db.session.add(VariantStock(variant_id=variant_id, producer_id=producer_id))
        db.session.flush()


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
    notify_stock_changed(wanted, "reservation")
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
    notify_stock_changed(wanted, MovementKind.ALLOCATION)
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
    notify_stock_changed({p[1] for p in picks}, MovementKind.RELEASE)


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
    notify_stock_changed({p[1] for p in picks}, MovementKind.SHIPMENT)


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
        notify_stock_changed(variants, "recall")
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
