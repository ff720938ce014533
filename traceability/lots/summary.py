"""The read model of a lot: what its pages, the scan page and the API show (TraceSummary)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from cooperatives.models import Producer, Product
from core.db import db
from core.errors import NotFound
from traceability.lots.batches import origin_line, standard_label
from traceability.lots.timeline import TimelineEntry, timeline
from traceability.models import Batch, BatchImage, BatchInput, BatchStatus, TraceEvent


@dataclass(frozen=True)
class LotRef:
    """A neighbouring lot, as the scan page names it."""

    id: int
    lot_code: str
    product_name: str
    produced_on: date
    status: str
    quantity: Decimal | None = None  # how much of the parent went into the child
    unit: str | None = None

    @property
    def recalled(self) -> bool:
        return self.status == BatchStatus.RECALLED


@dataclass(frozen=True)
class TraceSummary:
    """Everything the consumer scan page shows about a lot, read in a handful of queries."""

    batch: Batch
    product: Product
    producer: Producer
    origin_text: str
    standards: tuple[str, ...]  # display labels
    events: tuple[TimelineEntry, ...]  # time order, corrections applied (see TimelineEntry.state)
    parents: tuple[LotRef, ...]
    children: tuple[LotRef, ...]
    images: tuple[BatchImage, ...]
    chain_head: str | None
    recalled: bool
    recall_reason: str | None
    recalled_at: datetime | None
    recall_origin: LotRef | None  # the lot whose recall reached this one (may be itself)

    @property
    def journey(self) -> tuple[TimelineEntry, ...]:
        """The events as they stand now (corrected and retracted ones left out)."""
        return tuple(e for e in self.events if e.is_current)

    @property
    def recalled_through_parent(self) -> bool:
        return self.recall_origin is not None and self.recall_origin.id != self.batch.id


def _lineage(batch_id: int, *, up: bool) -> tuple[LotRef, ...]:
    other = BatchInput.parent_id if up else BatchInput.child_id
    mine = BatchInput.child_id if up else BatchInput.parent_id
    rows = db.session.execute(
        select(
            Batch.id,
            Batch.lot_code,
            Product.name_vi,
            Batch.produced_on,
            Batch.status,
            BatchInput.quantity,
            BatchInput.unit,
        )
        .join(BatchInput, other == Batch.id)
        .join(Product, Product.id == Batch.product_id)
        .where(mine == batch_id)
        .order_by(Batch.produced_on, Batch.id)
    )
    return tuple(LotRef(*row) for row in rows)


def trace_summary(batch_id: int) -> TraceSummary:
    """The read model of one lot for the scan page: 5–6 queries whatever the lot's size."""
    row = db.session.execute(
        select(Batch, Product, Producer)
        .join(Product, Product.id == Batch.product_id)
        .join(Producer, Producer.id == Batch.producer_id)
        .where(Batch.id == batch_id)
    ).first()
    if row is None:
        raise NotFound(_("Không tìm thấy lô hàng."))
    batch, product, producer = row
    events = list(
        db.session.scalars(
            select(TraceEvent).where(TraceEvent.batch_id == batch.id).order_by(TraceEvent.seq)
        )
    )
    images = tuple(
        db.session.scalars(
            select(BatchImage)
            .where(BatchImage.batch_id == batch.id)
            .order_by(BatchImage.position, BatchImage.id)
        )
    )
    recalled = batch.status == BatchStatus.RECALLED
    origin: LotRef | None = None
    if recalled:
        origin_id = batch.recall_origin_id or batch.id
        if origin_id == batch.id:
            origin = LotRef(
                batch.id, batch.lot_code, product.name_vi, batch.produced_on, batch.status
            )
        else:
            found = db.session.execute(
                select(Batch.id, Batch.lot_code, Product.name_vi, Batch.produced_on, Batch.status)
                .join(Product, Product.id == Batch.product_id)
                .where(Batch.id == origin_id)
            ).first()
            origin = LotRef(*found) if found else None
    return TraceSummary(
        batch=batch,
        product=product,
        producer=producer,
        origin_text=origin_line(batch),
        standards=tuple(standard_label(s) for s in batch.standards or ()),
        events=tuple(timeline(events)),
        parents=_lineage(batch.id, up=True),
        children=_lineage(batch.id, up=False),
        images=images,
        chain_head=batch.chain_head,
        recalled=recalled,
        recall_reason=batch.recall_reason,
        recalled_at=batch.recalled_at,
        recall_origin=origin,
    )
