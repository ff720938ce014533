"""Reads of the ledger: a producer's balance, entries for settlement, refunds per part, and the
sums `flask payments verify` compares (re-exported by shop.payments.ledger)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from core.db import db
from shop.payments.models import EntryKind, LedgerEntry

K = EntryKind


@dataclass(frozen=True)
class Balance:
    """What the platform owes one producer: owed = sales − refunds − fees − payouts − cash_held."""

    sales: int
    refunds: int
    fees: int
    payouts: int
    cash_held: int  # cash the producer collected itself, net of refunds it paid out of it
    owed: int


def _in_period(query, period: tuple[datetime, datetime] | None):
    if period is None:
        return query
    start, end = period
    return query.where(LedgerEntry.created_at >= start, LedgerEntry.created_at < end)


def balance_of(producer_id: int, period: tuple[datetime, datetime] | None = None) -> Balance:
    """Sums of the producer's entries (within [start, end) when a period is given)."""
    query = _in_period(
        select(LedgerEntry.kind, func.sum(LedgerEntry.amount_vnd))
        .where(LedgerEntry.producer_id == producer_id)
        .group_by(LedgerEntry.kind),
        period,
    )
    sums = {kind: int(total or 0) for kind, total in db.session.execute(query)}
    return Balance(
        sales=sums.get(K.CHARGE, 0),
        refunds=-sums.get(K.REFUND, 0),
        fees=-sums.get(K.FEE, 0),
        payouts=-sums.get(K.PAYOUT, 0),
        cash_held=-(sums.get(K.CASH_COLLECTED, 0) + sums.get(K.CASH_REFUNDED, 0)),
        owed=sum(sums.values()),
    )


def entries(
    *,
    producer_id: int | None = None,
    order_id: int | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> list[LedgerEntry]:
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if producer_id is not None:
        query = query.where(LedgerEntry.producer_id == producer_id)
    if order_id is not None:
        query = query.where(LedgerEntry.order_id == order_id)
    return list(db.session.scalars(_in_period(query, period)))


def refunds_by_part(order_id: int) -> dict[int, int]:
    """Đồng given back per sub-order of one order (for the buyer's order page)."""
    rows = db.session.execute(
        select(LedgerEntry.sub_order_id, func.sum(LedgerEntry.amount_vnd))
        .where(LedgerEntry.order_id == order_id, LedgerEntry.kind == K.REFUND)
        .group_by(LedgerEntry.sub_order_id)
    )
    return {sub_id: -int(total) for sub_id, total in rows}


def charge_sums_by_part():
    """(sub_order_id, order_id, producer_id, charged, refunded) for every part with entries."""
    charged = func.sum(case((LedgerEntry.kind == K.CHARGE, LedgerEntry.amount_vnd), else_=0))
    refunded_ = -func.sum(case((LedgerEntry.kind == K.REFUND, LedgerEntry.amount_vnd), else_=0))
    return db.session.execute(
        select(
            LedgerEntry.sub_order_id,
            LedgerEntry.order_id,
            LedgerEntry.producer_id,
            charged,
            refunded_,
        )
        .where(LedgerEntry.sub_order_id.is_not(None))
        .group_by(LedgerEntry.sub_order_id, LedgerEntry.order_id, LedgerEntry.producer_id)
        .order_by(LedgerEntry.sub_order_id)
    ).all()
