"""Refunds of one producer's part, full or partial: a card goes back through Stripe (its
charge.refunded webhook then finds the refund already in the ledger); cash and bank transfers
are recorded by a person with their reference."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.errors import Conflict, Invalid
from core.money import parse_vnd
from core.text import clean
from shop.orders.models import SubOrder
from shop.payments import card, ledger
from shop.payments.models import PaymentMethod

# how a person gave the money back (a card always goes back through Stripe)
MANUAL_METHODS = {"cash": _l("Tiền mặt"), "bank": _l("Chuyển khoản ngân hàng")}


@dataclass(frozen=True)
class RefundView:
    paid_by: str | None  # card, vietqr, cod, or None when nothing was paid
    charged: int
    refunded: int
    refundable: int


def refund_view(sub: SubOrder) -> RefundView:
    payment = ledger.settled_payment(sub)
    refunded = ledger.refunded(sub.id)
    left = ledger.refundable(sub.id)
    return RefundView(
        paid_by=payment.method if payment else None,
        charged=left + refunded,
        refunded=refunded,
        refundable=left,
    )


def refund_part(
    sub_order_id: int,
    *,
    amount,
    method: str,
    reference: str,
    actor_id: int | None,
    request_id: str,
) -> int:
    """Give back `amount` đồng of this part; the amount refunded. Call inside a unit of work."""
    part = ledger.lock_part(sub_order_id)
    payment = ledger.settled_payment(part)
    if payment is None:
        raise Conflict(_("Phần đơn này chưa được thanh toán, không có gì để hoàn."), code="unpaid")
    value = parse_vnd(amount)
    if value is None or value <= 0:
        raise Invalid(fields={"amount_vnd": _("Nhập số tiền hoàn, ví dụ 50.000.")})
    if value > ledger.refundable(part.id):
        raise Invalid(
            fields={"amount_vnd": _("Số tiền hoàn vượt quá số tiền còn lại có thể hoàn.")}
        )
    if payment.method == PaymentMethod.CARD:
        return card.refund_card(part.id, value, actor_id=actor_id, request_id=request_id)
    if method not in MANUAL_METHODS:
        raise Invalid(fields={"method": _("Chọn cách hoàn tiền.")})
    reference = clean(reference or "")[:128]
    if len(reference) < 2:
        raise Invalid(
            fields={"reference": _("Ghi mã giao dịch hoặc người nhận tiền mặt (ít nhất 2 ký tự).")}
        )
    done = ledger.record_refund(part, value, method=method, reference=reference, actor_id=actor_id)
    return value if done else 0
