"""Payment records. Cash on delivery: one pending payment per sub-order, paid when the producer
records the cash. Card and VietQR plug in by adding a method that opens one payment per order with
the provider's reference, and a webhook that marks it paid."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from core.db import db
from core.errors import Conflict
from shop.payments.ledger import mark_paid
from shop.payments.models import Payment, PaymentMethod, PaymentStatus


def open_payments(order) -> list[Payment]:
    payments: list[Payment] = []
    if order.payment_method == PaymentMethod.COD:
        for sub in order.sub_orders:
            payments.append(
                Payment(
                    order_id=order.id,
                    sub_order_id=sub.id,
                    method=PaymentMethod.COD,
                    amount_vnd=sub.subtotal_vnd + sub.shipping_vnd,
                    status=PaymentStatus.PENDING,
                )
            )
    else:
        payments.append(
            Payment(order_id=order.id, method=order.payment_method, amount_vnd=order.total_vnd)
        )
    db.session.add_all(payments)
    db.session.flush()
    return payments


def payments_of(order_id: int) -> list[Payment]:
    return list(
        db.session.scalars(select(Payment).where(Payment.order_id == order_id).order_by(Payment.id))
    )


def cod_payment(sub_order_id: int) -> Payment | None:
    return db.session.scalar(
        select(Payment).where(
            Payment.sub_order_id == sub_order_id, Payment.method == PaymentMethod.COD
        )
    )


def record_cash(sub_order_id: int, *, actor_id: int | None) -> Payment:
    """The producer collected the cash: the payment is paid and the ledger shows the sale and
    the cash the producer now holds."""
    payment = cod_payment(sub_order_id)
    if payment is None:
        raise Conflict(_("Phần đơn này không thu tiền mặt."))
    if payment.status == PaymentStatus.PAID:
        raise Conflict(_("Đã ghi nhận tiền mặt cho phần đơn này."))
    if payment.status != PaymentStatus.PENDING:
        raise Conflict(_("Khoản thanh toán này đã bị hủy."))
    result = mark_paid(
        payment,
        source="cod",
        external_id=f"cod-{payment.id}",
        amount_vnd=payment.amount_vnd,
        actor_id=actor_id,
    )
    if not result.paid:
        raise Conflict(_("Đã ghi nhận tiền mặt cho phần đơn này."))
    return payment


def cancel_pending(sub_order_id: int) -> None:
    payment = cod_payment(sub_order_id)
    if payment is not None and payment.status == PaymentStatus.PENDING:
        payment.status = PaymentStatus.CANCELLED
        db.session.flush()
