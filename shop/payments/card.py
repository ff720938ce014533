"""Card payments through Stripe PaymentIntents.

One PaymentIntent per attempt, and the attempt (a Payment row, status `processing`) is stored
and committed BEFORE the call to Stripe, under a lock on the order: a double click, a second tab
or a retried request finds the attempt under way and never creates a second charge. A declined
attempt is closed (`failed`); the next card opens a new attempt. The order's stock stays
allocated to it until the unpaid order expires (`flask shop expire`).

The order is paid only by what Stripe says: a verified webhook or a server-side retrieve of the
PaymentIntent, both applied by `apply_intent`, a state machine that never goes backwards
(paid stays paid; a late "failed" for a paid attempt changes nothing).
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from core.db import db, lock_row, unit_of_work
from core.errors import Conflict, Invalid, NotFound
from core.numbers import parse_id
from shop.orders.models import Order, OrderStatus, SubOrder
from shop.payments import gateway, ledger
from shop.payments.models import Payment, PaymentMethod, PaymentStatus

P = PaymentStatus
OPEN = (P.PROCESSING, P.ACTION)
REASONS = {
    "card_declined": _l("Thẻ bị từ chối. Vui lòng dùng thẻ khác hoặc liên hệ ngân hàng."),
    "insufficient_funds": _l("Thẻ không đủ số dư. Vui lòng dùng thẻ khác."),
    "expired_card": _l("Thẻ đã hết hạn. Vui lòng dùng thẻ khác."),
    "incorrect_cvc": _l("Mã CVC không đúng. Vui lòng kiểm tra lại."),
    "payment_intent_authentication_failure": _l(
        "Xác thực 3-D Secure với ngân hàng không thành công. Vui lòng thử lại hoặc dùng thẻ khác."
    ),
    "gateway": _l("Cổng thanh toán thẻ đang bận. Vui lòng thử lại sau ít phút."),
}


def failure_message(reason: str | None) -> str:
    return str(REASONS.get(reason or "", REASONS["card_declined"]))


def attempts(order_id: int) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.order_id == order_id, Payment.method == PaymentMethod.CARD)
            .order_by(Payment.id)
        )
    )


def latest_attempt(order_id: int) -> Payment | None:
    found = attempts(order_id)
    return found[-1] if found else None


def _lock_order(order_id: int) -> Order:
    """The order row is the attempts' mutex."""
    order = lock_row(Order, order_id, touch=Order.ref)
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return order


def payable(order: Order) -> bool:
    return order.payment_method == PaymentMethod.CARD and any(
        s.status == OrderStatus.PLACED for s in order.sub_orders
    )


def claim_attempt(order_id: int) -> int | None:
    """The id of the attempt this request must send to Stripe, or None when the order is paid
    or an attempt is already under way. Commit before calling Stripe."""
    order = _lock_order(order_id)
    latest = latest_attempt(order_id)
    if latest is not None and (latest.status in ledger.SETTLED or latest.status in OPEN):
        return None
    if not payable(order):
        raise Conflict(_("Đơn này không còn chờ thanh toán thẻ."), code="not_payable")
    if latest is not None and latest.status == P.PENDING and not latest.provider_reference:
        latest.status = P.PROCESSING
        latest.provider = "stripe"
        db.session.flush()
        return latest.id
    attempt = Payment(
        order_id=order.id,
        method=PaymentMethod.CARD,
        amount_vnd=order.total_vnd,
        status=P.PROCESSING,
        provider="stripe",
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt.id


def _fail(payment: Payment, reason: str) -> None:
    if payment.status in (P.PENDING, *OPEN):
        payment.status = P.FAILED
        payment.failure_reason = reason[:200]


def pay_by_card(order_id: int, token: str) -> str:
    """Pay an order with a Stripe.js card token: `paid`, `action` (3-D Secure to complete in
    the browser), `failed`, or `busy` (an attempt is already under way or done). Runs its own
    units of work, the call to Stripe between two commits: call it outside one."""
    token = (token or "").strip()
    if not token.startswith("tok_") or len(token) > 64:
        raise Invalid(fields={"token": _("Vui lòng nhập thông tin thẻ.")})
    with unit_of_work():
        payment_id = claim_attempt(order_id)
        amount = db.session.get(Payment, payment_id).amount_vnd if payment_id else 0
        ref = db.session.get(Order, order_id).ref
    if payment_id is None:
        return "busy"
    try:
        card = gateway.card_of_token(token)
        result = gateway.create_intent(
            amount_vnd=amount,
            card_id=card,
            metadata={"payment_id": str(payment_id), "order_ref": ref},
        )
    except gateway.GatewayUnavailable:
        with unit_of_work():
            _fail(ledger.lock_payment(payment_id), "gateway")
        raise
    with unit_of_work():
        return _record_result(payment_id, result)


def _record_result(payment_id: int, result) -> str:
    payment = ledger.lock_payment(payment_id)
    if isinstance(result, gateway.Declined):
        if result.intent_id and not payment.provider_reference:
            payment.provider_reference = result.intent_id
        _fail(payment, result.code)
        return "failed" if payment.status == P.FAILED else _state(payment)
    if not payment.provider_reference:
        payment.provider_reference = result["id"]
    apply_intent(result)
    return _state(ledger.lock_payment(payment_id))


def _state(payment: Payment) -> str:
    if payment.status in ledger.SETTLED:
        return "paid"
    if payment.status == P.ACTION:
        return "action"
    if payment.status == P.PENDING:
        return "ready"
    return "failed" if payment.status == P.FAILED else "busy"


def payment_for_intent(intent: dict) -> Payment | None:
    """Our attempt behind a PaymentIntent: by its id, else by the metadata we gave it (an
    attempt whose id was never stored, the process having stopped right after the call)."""
    found = db.session.scalar(
        select(Payment).where(
            Payment.provider == "stripe", Payment.provider_reference == intent["id"]
        )
    )
    if found is not None:
        return found
    metadata = intent.get("metadata") or {}
    payment = db.session.get(Payment, parse_id(metadata.get("payment_id")) or 0)
    if payment is None or payment.method != PaymentMethod.CARD or payment.provider_reference:
        return None
    order = db.session.get(Order, payment.order_id)
    return payment if order is not None and order.ref == metadata.get("order_ref") else None


def apply_intent(intent: dict) -> str:
    """Bring our attempt in line with Stripe's PaymentIntent; never backwards."""
    payment = payment_for_intent(intent)
    if payment is None:
        current_app.logger.warning("stripe: unknown PaymentIntent %s ignored", intent.get("id"))
        return "unknown"
    payment = ledger.lock_payment(payment)
    if not payment.provider_reference:
        payment.provider_reference = intent["id"]
    status = intent.get("status")
    if status == "succeeded":
        amount = intent.get("amount_received") or intent.get("amount")
        if (intent.get("currency") or "").lower() != "vnd":
            amount = -1  # never equal to what is due: flagged
        return ledger.mark_paid(
            payment,
            source="stripe",
            external_id=intent["id"],
            amount_vnd=int(amount or 0),
            reference=intent["id"],
        ).outcome
    if status == "requires_action" and payment.status in (P.PENDING, P.PROCESSING):
        payment.status = P.ACTION
    elif status in ("requires_payment_method", "canceled"):
        error = intent.get("last_payment_error") or {}
        _fail(
            payment, error.get("code") or ("canceled" if status == "canceled" else "card_declined")
        )
    db.session.flush()
    return payment.status


def check_attempt(order_id: int) -> str | None:
    """Ask Stripe about the latest attempt (after 3-D Secure, or an attempt left open) and
    apply what it says. Runs its own units of work; the state, or None without an attempt."""
    attempt = latest_attempt(order_id)
    if attempt is None:
        return None
    if attempt.status not in OPEN or not attempt.provider_reference:
        return _state(attempt)
    intent_id, payment_id = attempt.provider_reference, attempt.id
    db.session.rollback()  # no transaction held open across the call
    intent = gateway.retrieve_intent(intent_id)
    with unit_of_work():
        if intent is not None:
            apply_intent(intent)
        return _state(ledger.lock_payment(payment_id))


def client_secret(order_id: int) -> str | None:
    """For the browser to finish 3-D Secure: read from Stripe, never stored."""
    attempt = latest_attempt(order_id)
    if attempt is None or attempt.status != P.ACTION or not attempt.provider_reference:
        return None
    intent = gateway.retrieve_intent(attempt.provider_reference)
    return intent.get("client_secret") if intent else None


# --------------------------------------------------------------------------- refunds


def refund_card(
    sub_order_id: int, amount_vnd: int, *, actor_id: int | None, request_id: str
) -> int:
    """Give back part or all of a card-paid part through Stripe. `request_id` (from the form)
    makes a repeated click a no-op. Call inside a unit of work; the part stays locked across
    the call to Stripe."""
    part = ledger.lock_part(sub_order_id)
    payment = ledger.settled_payment(part)
    if payment is None or payment.method != PaymentMethod.CARD or not payment.provider_reference:
        raise Conflict(_("Phần đơn này không được trả bằng thẻ."), code="not_card")
    if amount_vnd is None or amount_vnd <= 0 or amount_vnd > ledger.refundable(part.id):
        raise Invalid(
            fields={"amount_vnd": _("Số tiền hoàn vượt quá số tiền còn lại có thể hoàn.")}
        )
    claimed = ledger.claim_event(
        "refund-request",
        f"{part.id}:{request_id}"[:128],
        amount_vnd=-amount_vnd,
        outcome="requested",
        payment_id=payment.id,
        order_id=part.order_id,
        actor_id=actor_id,
    )
    if claimed is None:
        return 0  # this very request was made before
    refund = gateway.refund(payment.provider_reference, amount_vnd, {"sub_order_id": str(part.id)})
    ledger.record_refund(
        part,
        int(refund["amount"]),
        method="card",
        reference=refund["id"],
        actor_id=actor_id,
        source="stripe-refund",
        external_id=refund["id"],
    )
    return int(refund["amount"])


def apply_charge_refunded(charge: dict) -> str:
    """charge.refunded: each refund of the charge is in the ledger once, on the part named in
    its metadata; a refund made elsewhere (no part named) is flagged for a person."""
    intent_id = charge.get("payment_intent")
    payment = (
        db.session.scalar(
            select(Payment).where(
                Payment.provider == "stripe", Payment.provider_reference == intent_id
            )
        )
        if intent_id
        else None
    )
    if payment is None:
        current_app.logger.warning("stripe: refund of unknown charge %s ignored", charge.get("id"))
        return "unknown"
    if payment.status not in ledger.SETTLED and charge.get("status") == "succeeded":
        # the refund arrived before the payment's own event: the charge says it was paid
        apply_intent(
            {
                "id": intent_id,
                "status": "succeeded",
                "amount": charge.get("amount"),
                "currency": charge.get("currency"),
                "metadata": {},
            }
        )
    for refund in (charge.get("refunds") or {}).get("data") or []:
        _apply_refund(payment, refund)
    return "refunds"


def _apply_refund(payment: Payment, refund: dict) -> None:
    if ledger.event_applied("stripe-refund", refund["id"]):
        return
    sub_id = parse_id((refund.get("metadata") or {}).get("sub_order_id"))
    part = db.session.get(SubOrder, sub_id or 0)
    if part is None or part.order_id != payment.order_id:
        _unassigned_refund(payment, refund, "refund without a part named in its metadata")
        return
    try:
        ledger.record_refund(
            part,
            int(refund.get("amount") or 0),
            method="card",
            reference=refund["id"],
            actor_id=None,
            source="stripe-refund",
            external_id=refund["id"],
        )
    except Invalid:
        _unassigned_refund(payment, refund, "refund larger than what is left to refund on the part")


def _unassigned_refund(payment: Payment, refund: dict, detail: str) -> None:
    """Money went back that no part can carry: kept once, flagged for a person."""
    ledger.claim_event(
        "stripe-refund",
        refund["id"],
        amount_vnd=-int(refund.get("amount") or 0),
        outcome=ledger.UNASSIGNED_REFUND,
        payment_id=payment.id,
        order_id=payment.order_id,
        detail=detail,
    )


def handle_event(event: dict) -> str:
    """A verified Stripe event; the outcome, for the log. Call inside a unit of work."""
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object") or {}
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return "ignored"
    if kind in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        return apply_intent(obj)
    if kind == "charge.refunded":
        return apply_charge_refunded(obj)
    return "ignored"
