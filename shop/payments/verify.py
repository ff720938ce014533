"""Order totals and ledger sums agree: every paid part is charged exactly its total, nothing
unpaid is charged, refunds never exceed charges, each producer's charges are its paid parts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import select

from core.db import db
from shop.orders.models import SubOrder
from shop.payments.ledger import SETTLED, charge_sums_by_part
from shop.payments.models import EntryKind, LedgerEntry, Payment, PaymentEvent


def _paid_parts() -> dict[int, SubOrder]:
    """Parts covered by a settled payment (a COD part's own, or its order's)."""
    settled = db.session.execute(
        select(Payment.order_id, Payment.sub_order_id).where(Payment.status.in_(SETTLED))
    ).all()
    whole_orders = {order_id for order_id, sub_id in settled if sub_id is None}
    parts = {sub_id for _order_id, sub_id in settled if sub_id is not None}
    if not whole_orders and not parts:
        return {}
    rows = db.session.scalars(
        select(SubOrder).where(SubOrder.order_id.in_(whole_orders) | SubOrder.id.in_(parts))
    )
    return {sub.id: sub for sub in rows}


def _part_disagreements(paid: dict[int, SubOrder]) -> Iterator[str]:
    seen: set[int] = set()
    for sub_id, order_id, producer_id, charged, refunded in charge_sums_by_part():
        seen.add(sub_id)
        part = paid.get(sub_id) or db.session.get(SubOrder, sub_id)
        if part is None:
            yield f"entries for sub-order {sub_id}, which does not exist"
            continue
        if (order_id, producer_id) != (part.order_id, part.producer_id):
            yield (
                f"sub-order {sub_id}: entries say order {order_id} producer {producer_id},"
                f" the order says order {part.order_id} producer {part.producer_id}"
            )
        due = part.total_vnd if sub_id in paid else 0
        if charged != due:
            yield f"order {part.order_id} sub-order {sub_id}: charged {charged}, total due {due}"
        if refunded > charged:
            yield f"order {part.order_id} sub-order {sub_id}: refunded {refunded} > {charged}"
    for sub_id, part in sorted(paid.items()):
        if sub_id not in seen:
            yield f"order {part.order_id} sub-order {sub_id}: paid, but no charge in the ledger"


def _producer_disagreements(paid: dict[int, SubOrder]) -> Iterator[str]:
    due: dict[int, int] = defaultdict(int)
    for part in paid.values():
        due[part.producer_id] += part.total_vnd
    charged = dict(
        db.session.execute(
            select(LedgerEntry.producer_id, db.func.sum(LedgerEntry.amount_vnd))
            .where(LedgerEntry.kind == EntryKind.CHARGE)
            .group_by(LedgerEntry.producer_id)
        ).all()
    )
    for producer_id in sorted(set(due) | set(charged)):
        if int(charged.get(producer_id) or 0) != due.get(producer_id, 0):
            yield (
                f"producer {producer_id}: charged {charged.get(producer_id) or 0},"
                f" paid parts total {due.get(producer_id, 0)}"
            )


def _event_disagreements() -> Iterator[str]:
    """Each applied payment event wrote charges summing to the amount it brought."""
    rows = db.session.execute(
        select(PaymentEvent.id, PaymentEvent.amount_vnd, db.func.sum(LedgerEntry.amount_vnd))
        .join(LedgerEntry, LedgerEntry.event_id == PaymentEvent.id)
        .where(LedgerEntry.kind == EntryKind.CHARGE)
        .group_by(PaymentEvent.id, PaymentEvent.amount_vnd)
        .order_by(PaymentEvent.id)
    )
    for event_id, amount, charged in rows:
        if int(charged) != amount:
            yield f"payment event {event_id}: brought {amount}, charged {charged}"


def disagreements() -> Iterator[str]:
    paid = _paid_parts()
    yield from _part_disagreements(paid)
    yield from _producer_disagreements(paid)
    yield from _event_disagreements()


def first_disagreement() -> str | None:
    return next(disagreements(), None)
