"""What the shop may ask of lots: which are sellable, their facts, and the trace event of a
stock receipt. The shop (above) never reads traceability's tables directly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.errors import NotFound
from traceability.lots.batches import origin_line, standard_label
from traceability.lots.event_kinds import UNITS as LOT_UNITS  # noqa: F401  (units a lot may be counted in)
from traceability.lots.event_kinds import EventKind
from traceability.lots.events import lock_batch, record_event
from traceability.lots.lineage import descendant_ids
from traceability.models import Batch, BatchStatus


@dataclass(frozen=True)
class LotFacts:
    id: int
    producer_id: int
    product_id: int
    lot_code: str
    produced_on: date
    best_before: date | None
    quantity: Decimal
    unit: str
    recalled: bool
    origin: str
    standards: tuple[str, ...]


def _facts(batch: Batch) -> LotFacts:
    return LotFacts(
        id=batch.id,
        producer_id=batch.producer_id,
        product_id=batch.product_id,
        lot_code=batch.lot_code,
        produced_on=batch.produced_on,
        best_before=batch.best_before or batch.expires_on,
        quantity=batch.quantity,
        unit=batch.unit,
        recalled=batch.status == BatchStatus.RECALLED,
        origin=origin_line(batch),
        standards=tuple(standard_label(s) for s in batch.standards or ()),
    )


def _sellable_filter(today: date):
    return (
        (Batch.status == BatchStatus.ACTIVE)
        & ((Batch.best_before.is_(None)) | (Batch.best_before >= today))
        & ((Batch.expires_on.is_(None)) | (Batch.expires_on >= today))
    )


def sellable_lots(batch_ids: Iterable[int], today: date) -> set[int]:
    """The lots among these that may be sold today: recorded, not recalled, not past their
    best-before or expiry date."""
    ids = sorted(set(batch_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(select(Batch.id).where(Batch.id.in_(ids), _sellable_filter(today)))
    )


def sellable_lots_of_product(product_id: int, today: date) -> list[LotFacts]:
    """A product's lots a producer may put on sale today, earliest best-before first."""
    rows = db.session.scalars(
        select(Batch)
        .where(Batch.product_id == product_id, _sellable_filter(today))
        .order_by(Batch.best_before.is_(None), Batch.best_before, Batch.produced_on, Batch.id)
        .limit(200)
    )
    return [_facts(b) for b in rows]


def lot_facts(batch_ids: Iterable[int]) -> dict[int, LotFacts]:
    ids = sorted(set(batch_ids))
    if not ids:
        return {}
    return {b.id: _facts(b) for b in db.session.scalars(select(Batch).where(Batch.id.in_(ids)))}


def lock_lot(batch_id: int, producer_id: int) -> LotFacts:
    """Lock a producer's lot until the unit of work ends (two receipts from one lot run one
    after the other); NotFound for another producer's lot."""
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.producer_id != producer_id:
        raise NotFound(_("Không tìm thấy lô hàng."))
    return _facts(lock_batch(batch_id))


def record_stock_receipt(
    batch_id: int,
    *,
    units: int,
    pack_label: str,
    lot_quantity: Decimal,
    unit: str,
    recorded_by_id: int | None,
    actor_role: str = "",
) -> int:
    """The trace event of packing `units` packs from `lot_quantity` of the lot for sale."""
    event = record_event(
        batch_id,
        EventKind.PACKING,
        details={
            "packaging": f"{units} × {pack_label}"[:300],
            "quantity": str(lot_quantity),
            "unit": unit,
            "note": _("Đưa lên Chợ Quê để bán"),
        },
        recorded_by_id=recorded_by_id,
        actor_role=actor_role,
    )
    return event.id


def lots_with_descendants(batch_ids: Iterable[int]) -> set[int]:
    """These lots and every lot made from them."""
    found: set[int] = set()
    for batch_id in set(batch_ids):
        found.add(batch_id)
        found.update(descendant_ids(batch_id))
    return found


def record_lot_for_sale(
    producer_id: int,
    product_id: int,
    *,
    lot_code: str,
    produced_on: date,
    quantity: Decimal,
    unit: str,
    best_before: date | None,
    recorded_by_id: int | None = None,
) -> int:
    """A new lot (with its harvest event) to put on sale, or the existing one with this code:
    the shop's demo data and, later, a partner's stock intake."""
    from traceability.lots.batches import create_batch

    existing = db.session.scalar(
        select(Batch.id).where(Batch.producer_id == producer_id, Batch.lot_code == lot_code)
    )
    if existing is not None:
        return existing
    batch = create_batch(
        producer_id,
        product_id=product_id,
        lot_code=lot_code,
        produced_on=produced_on,
        quantity=str(quantity),
        unit=unit,
        best_before=best_before,
        created_by_id=recorded_by_id,
    )
    return batch.id
