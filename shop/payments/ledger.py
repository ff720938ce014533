"""The money ledger: every charge, fee, refund and payout is an immutable entry per order part
and per producer; a provider event or bank transaction is applied at most once.

Signs are the effect on what the platform owes the producer (see EntryKind). Cash on delivery:
the producer collects the cash itself, so a cash sale is written as the charge (+) and the cash
the producer already holds (−): it is owed nothing for it and owes the platform its fee.

Idempotency: each application starts by inserting its PaymentEvent (UNIQUE source+external_id)
with INSERT … ON CONFLICT DO NOTHING after locking the payment row; a conflict means the same
event was applied already, and nothing else is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.db import db, lock_row, upsert, utcnow
from core.errors import Invalid, NotFound
from shop.orders.models import Order, OrderEvent, OrderStatus, SubOrder
from shop.orders.notifications import notify
from shop.payments.ledger_reads import (  # noqa: F401  (part of the ledger's API)
    Balance,
    balance_of,
    charge_sums_by_part,
    entries,
    refunds_by_part,
)
from shop.payments.models import (
    EntryKind,
    LedgerEntry,
    Payment,
    PaymentEvent,
    PaymentMethod,
    PaymentStatus,
)
from shop.signals import order_status_changed

K = EntryKind

# outcomes of mark_paid
PAID = "paid"
DUPLICATE = "duplicate"  # this (source, external_id) was applied before: nothing done
MISMATCH = "mismatch"  # amount differs from what is due: not paid, flagged for a person
ALREADY_PAID = "already_paid"  # a second, different payment for a paid amount: flagged
PAID_AFTER_CANCEL = "paid_after_cancel"  # money came for a cancelled order: paid, flagged
UNASSIGNED_REFUND = "unassigned_refund"  # a provider refund we cannot place on a part
FLAGGED = frozenset({MISMATCH, ALREADY_PAID, PAID_AFTER_CANCEL, UNASSIGNED_REFUND})
SETTLED = (PaymentStatus.PAID, PaymentStatus.REFUNDED)


@dataclass(frozen=True)
class MarkResult:
    outcome: str
    payment_id: int
    event_id: int | None

    @property
    def paid(self) -> bool:
        return self.outcome in (PAID, PAID_AFTER_CANCEL)

    @property
    def flagged(self) -> bool:
        return self.outcome in FLAGGED


# --------------------------------------------------------------------------- events


def claim_event(
    source: str,
    external_id: str,
    *,
    amount_vnd: int,
    outcome: str,
    payment_id: int | None = None,
    order_id: int | None = None,
    detail: str = "",
    actor_id: int | None = None,
) -> int | None:
    """Insert the event; its id, or None when (source, external_id) is already there."""
    row = db.session.execute(
        upsert(PaymentEvent)
        .values(
            source=source[:32],
            external_id=external_id[:128],
            payment_id=payment_id,
            order_id=order_id,
            amount_vnd=amount_vnd,
            outcome=outcome,
            detail=detail,
            actor_id=actor_id,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(PaymentEvent.id)
    ).first()
    return row[0] if row else None


def event_applied(source: str, external_id: str) -> bool:
    return (
        db.session.scalar(
            select(PaymentEvent.id).where(
                PaymentEvent.source == source, PaymentEvent.external_id == external_id
            )
        )
        is not None
    )


def flagged_events(limit: int = 200) -> list[PaymentEvent]:
    return list(
        db.session.scalars(
            select(PaymentEvent)
            .where(PaymentEvent.outcome.in_(FLAGGED))
            .order_by(PaymentEvent.id.desc())
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- charges


def platform_fee(subtotal_vnd: int) -> int:
    """The platform's fee on the goods of one part (shipping carries none), rounded half up."""
    percent = Decimal(str(current_app.config.get("PLATFORM_FEE_PERCENT", 0) or 0))
    return int((Decimal(subtotal_vnd) * percent / 100).quantize(Decimal(1), ROUND_HALF_UP))


def lock_payment(payment: Payment | int) -> Payment:
    """The payment row, locked until the unit of work ends."""
    payment_id = payment if isinstance(payment, int) else payment.id
    locked = lock_row(Payment, payment_id, touch=Payment.status)
    if locked is None:
        raise NotFound(_("Không tìm thấy khoản thanh toán."))
    return locked


def _parts_of(payment: Payment) -> list[SubOrder]:
    query = select(SubOrder).order_by(SubOrder.id)
    if payment.sub_order_id is not None:
        return list(db.session.scalars(query.where(SubOrder.id == payment.sub_order_id)))
    return list(db.session.scalars(query.where(SubOrder.order_id == payment.order_id)))


def _other_settled(payment: Payment) -> bool:
    """Another payment already covers the same amount (a second card attempt, a COD part)."""
    query = select(Payment.id).where(
        Payment.order_id == payment.order_id,
        Payment.id != payment.id,
        Payment.status.in_(SETTLED),
    )
    if payment.sub_order_id is not None:
        query = query.where(Payment.sub_order_id == payment.sub_order_id)
    return db.session.scalar(query.limit(1)) is not None


def _outcome(payment: Payment, amount_vnd: int, parts: list[SubOrder]) -> str:
    if payment.status in SETTLED or _other_settled(payment):
        return ALREADY_PAID
    if amount_vnd != payment.amount_vnd or amount_vnd != sum(p.total_vnd for p in parts):
        return MISMATCH
    if payment.status == PaymentStatus.CANCELLED or all(
        p.status == OrderStatus.CANCELLED for p in parts
    ):
        return PAID_AFTER_CANCEL
    return PAID


def _entry(event_id: int, part: SubOrder | None, kind: str, amount: int, **fields) -> None:
    db.session.add(
        LedgerEntry(
            event_id=event_id,
            order_id=part.order_id if part else None,
            sub_order_id=part.id if part else None,
            producer_id=part.producer_id if part else fields.pop("producer_id"),
            kind=kind,
            amount_vnd=amount,
            **fields,
        )
    )


def _write_charges(event_id: int, payment: Payment, parts: list[SubOrder], actor_id, ref) -> None:
    for part in parts:
        common = dict(payment_id=payment.id, method=payment.method, reference=ref)
        _entry(event_id, part, K.CHARGE, part.total_vnd, actor_id=actor_id, **common)
        fee = platform_fee(part.subtotal_vnd)
        if fee:
            _entry(event_id, part, K.FEE, -fee, actor_id=None, **common)
        if payment.method == PaymentMethod.COD:
            _entry(event_id, part, K.CASH_COLLECTED, -part.total_vnd, actor_id=actor_id, **common)


def _confirm_placed(parts: list[SubOrder], actor_id: int | None) -> None:
    """Paid online: the parts waiting for the money are confirmed, as cash orders are at once."""
    moved = [p for p in parts if p.status == OrderStatus.PLACED]
    for part in moved:
        part.status = OrderStatus.CONFIRMED
        db.session.add(
            OrderEvent(
                order_id=part.order_id,
                sub_order_id=part.id,
                from_status=OrderStatus.PLACED,
                to_status=OrderStatus.CONFIRMED,
                actor_id=actor_id,
                actor_role="system",
                note="paid",
            )
        )
    db.session.flush()
    for part in moved:
        order_status_changed.send(
            "shop",
            order_id=part.order_id,
            sub_order_id=part.id,
            old=OrderStatus.PLACED,
            new=OrderStatus.CONFIRMED,
        )
    if moved:
        notify(db.session.get(Order, moved[0].order_id), "paid")


def mark_paid(
    payment: Payment | int,
    *,
    source: str,
    external_id: str,
    amount_vnd: int,
    actor_id: int | None = None,
    reference: str = "",
) -> MarkResult:
    """Money arrived for this payment. Exactly the amount due → paid, a charge (and the fee) per
    producer's part, waiting parts confirmed. Anything else is recorded and flagged, not paid.
    Applying the same (source, external_id) again does nothing (outcome "duplicate")."""
    payment = lock_payment(payment)
    parts = _parts_of(payment)
    outcome = _outcome(payment, amount_vnd, parts)
    event_id = claim_event(
        source,
        external_id,
        amount_vnd=amount_vnd,
        outcome=outcome,
        payment_id=payment.id,
        order_id=payment.order_id,
        detail=f"due {payment.amount_vnd}" if outcome == MISMATCH else "",
        actor_id=actor_id,
    )
    if event_id is None:
        return MarkResult(DUPLICATE, payment.id, None)
    if outcome in (PAID, PAID_AFTER_CANCEL):
        payment.status = PaymentStatus.PAID
        payment.paid_at = utcnow()
        payment.recorded_by_id = actor_id
        if reference and not payment.provider_reference:
            payment.provider_reference = reference[:128]
        _write_charges(event_id, payment, parts, actor_id, reference or external_id)
        if outcome == PAID:
            _confirm_placed(parts, actor_id)
    db.session.flush()
    return MarkResult(outcome, payment.id, event_id)


# --------------------------------------------------------------------------- refunds, payouts


def lock_part(sub_order_id: int) -> SubOrder:
    part = lock_row(SubOrder, sub_order_id)
    if part is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return part


def _sum(kind: str, **where) -> int:
    query = select(func.coalesce(func.sum(LedgerEntry.amount_vnd), 0)).where(
        LedgerEntry.kind == kind
    )
    for name, value in where.items():
        query = query.where(getattr(LedgerEntry, name) == value)
    return int(db.session.scalar(query) or 0)


def refundable(sub_order_id: int) -> int:
    """What may still be given back for this part: charged − refunded."""
    return _sum(K.CHARGE, sub_order_id=sub_order_id) + _sum(K.REFUND, sub_order_id=sub_order_id)


def refunded(sub_order_id: int) -> int:
    return -_sum(K.REFUND, sub_order_id=sub_order_id)


def settled_payment(sub_order: SubOrder) -> Payment | None:
    return db.session.scalar(
        select(Payment)
        .where(
            Payment.order_id == sub_order.order_id,
            Payment.status.in_(SETTLED),
            (Payment.sub_order_id == sub_order.id) | Payment.sub_order_id.is_(None),
        )
        .order_by(Payment.id)
        .limit(1)
    )


def record_refund(
    sub_order: SubOrder | int,
    amount_vnd: int,
    *,
    method: str,
    reference: str,
    actor_id: int | None,
    source: str | None = None,
    external_id: str | None = None,
) -> int | None:
    """Money given back for one part: full or partial, never more than was charged for it.
    `method` "cash" means the producer paid it out of the cash it collected. Returns the event
    id, or None when this refund (source, external_id; by default the reference) was recorded
    before."""
    part = lock_part(sub_order if isinstance(sub_order, int) else sub_order.id)
    reference = (reference or "").strip()[:128]
    if not reference:
        raise Invalid(fields={"reference": _("Ghi mã tham chiếu của khoản hoàn tiền.")})
    if amount_vnd is None or amount_vnd <= 0:
        raise Invalid(fields={"amount_vnd": _("Số tiền hoàn phải lớn hơn 0.")})
    source = source or f"refund-{method}"
    external_id = external_id or f"{part.id}:{reference}"
    if event_applied(source, external_id):
        return None
    if amount_vnd > refundable(part.id):
        raise Invalid(
            fields={"amount_vnd": _("Số tiền hoàn vượt quá số tiền còn lại có thể hoàn.")}
        )
    payment = settled_payment(part)
    event_id = claim_event(
        source,
        external_id,
        amount_vnd=-amount_vnd,
        outcome="refunded",
        payment_id=payment.id if payment else None,
        order_id=part.order_id,
        actor_id=actor_id,
    )
    if event_id is None:
        return None
    common = dict(payment_id=payment.id if payment else None, method=method, reference=reference)
    _entry(event_id, part, K.REFUND, -amount_vnd, actor_id=actor_id, **common)
    if method == "cash":
        _entry(event_id, part, K.CASH_REFUNDED, amount_vnd, actor_id=actor_id, **common)
    if payment is not None and _order_fully_refunded(part.order_id):
        lock_payment(payment).status = PaymentStatus.REFUNDED
    db.session.flush()
    return event_id


def _order_fully_refunded(order_id: int) -> bool:
    charged = _sum(K.CHARGE, order_id=order_id)
    return charged > 0 and charged + _sum(K.REFUND, order_id=order_id) == 0


def record_payout(
    producer_id: int, amount_vnd: int, reference: str, actor_id: int | None
) -> int | None:
    """The platform transferred money to the producer (never more than it is owed). The event
    id, or None when a payout with this reference was recorded before."""
    reference = (reference or "").strip()[:128]
    if not reference:
        raise Invalid(fields={"reference": _("Ghi mã giao dịch chuyển khoản.")})
    if amount_vnd is None or amount_vnd <= 0:
        raise Invalid(fields={"amount_vnd": _("Số tiền phải lớn hơn 0.")})
    external_id = f"{producer_id}:{reference}"
    if event_applied("payout", external_id):
        return None
    if amount_vnd > balance_of(producer_id).owed:
        raise Invalid(fields={"amount_vnd": _("Số tiền vượt quá số nền tảng đang nợ nhà bán.")})
    event_id = claim_event(
        "payout", external_id, amount_vnd=-amount_vnd, outcome="paid_out", actor_id=actor_id
    )
    if event_id is None:
        return None
    _entry(
        event_id,
        None,
        K.PAYOUT,
        -amount_vnd,
        producer_id=producer_id,
        method="bank",
        reference=reference,
        actor_id=actor_id,
    )
    db.session.flush()
    return event_id
