"""Card payments on localstripe: paid only by what Stripe says, one charge per order whatever
the buyer clicks, a declined card keeps the order's units until it expires."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select

from core.db import db, unit_of_work
from shop.inventory.services import available_units
from shop.orders.models import Order, OrderStatus
from shop.payments import card, gateway, ledger
from shop.payments.models import LedgerEntry, Payment, PaymentStatus
from shop.payments.verify import first_disagreement
from tests import localstripe as ls
from tests.shop.helpers import order_of, stocked_product


def _card_order(units=5, quantity=2):
    _p, _product, variant, _b = stocked_product(units=units, price=120000)
    order = order_of((variant.id, quantity), payment_method="card")
    db.session.commit()
    return order.id, variant.id


def _attempts(order_id):
    return [(p.status, p.provider_reference) for p in card.attempts(order_id)]


def _charged(order_id):
    return sum(
        e.amount_vnd
        for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.order_id == order_id))
        if e.kind == "charge"
    )


def test_a_good_card_pays_the_order_and_charges_it_once(stripe_app, localstripe_server):
    with stripe_app.app_context():
        order_id, _v = _card_order()
        state = card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_OK))
        assert state == "paid"
        order = db.session.get(Order, order_id)
        assert {s.status for s in order.sub_orders} == {OrderStatus.CONFIRMED}
        assert _charged(order_id) == order.total_vnd
        ((status, intent_id),) = _attempts(order_id)
        assert status == PaymentStatus.PAID and intent_id.startswith("pi_")
        intent = gateway.retrieve_intent(intent_id)
        assert (intent["amount"], intent["currency"], intent["status"]) == (
            order.total_vnd,
            "vnd",
            "succeeded",
        )
        # paying again (a second tab, the back button) makes no second charge
        assert card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_OK)) == "busy"
        assert len(_attempts(order_id)) == 1
        assert first_disagreement() is None


def test_a_declined_card_keeps_the_units_and_another_card_then_pays(stripe_app, localstripe_server):
    with stripe_app.app_context():
        order_id, variant_id = _card_order(units=5, quantity=2)
        left = available_units([variant_id])[variant_id]
        state = card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_DECLINED))
        assert state == "failed"
        attempt = card.latest_attempt(order_id)
        assert attempt.failure_reason == "card_declined"
        assert "từ chối" in card.failure_message(attempt.failure_reason)
        order = db.session.get(Order, order_id)
        assert {s.status for s in order.sub_orders} == {OrderStatus.PLACED}
        assert available_units([variant_id])[variant_id] == left  # still held for this order
        assert _charged(order_id) == 0
        assert card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_OK)) == "paid"
        assert [s for s, _ref in _attempts(order_id)] == [PaymentStatus.FAILED, PaymentStatus.PAID]
        assert _charged(order_id) == db.session.get(Order, order_id).total_vnd


def test_three_d_secure_is_paid_only_once_stripe_says_so(stripe_app, localstripe_server):
    with stripe_app.app_context():
        order_id, _v = _card_order()
        assert card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_3DS)) == "action"
        assert card.check_attempt(order_id) == "action"  # the browser has not finished yet
        secret = card.client_secret(order_id)
        intent_id = card.latest_attempt(order_id).provider_reference
        localstripe_server.authenticate(intent_id, secret, success=True)
        assert card.check_attempt(order_id) == "paid"
        assert _charged(order_id) == db.session.get(Order, order_id).total_vnd


def test_failed_three_d_secure_can_be_retried(stripe_app, localstripe_server):
    with stripe_app.app_context():
        order_id, _v = _card_order()
        assert card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_3DS)) == "action"
        intent_id = card.latest_attempt(order_id).provider_reference
        localstripe_server.authenticate(intent_id, card.client_secret(order_id), success=False)
        assert card.check_attempt(order_id) == "failed"
        reason = card.latest_attempt(order_id).failure_reason
        assert reason == "payment_intent_authentication_failure"
        assert "3-D Secure" in card.failure_message(reason)
        assert card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_OK)) == "paid"


def test_a_double_clicked_pay_creates_one_payment_intent(stripe_app, localstripe_server):
    with stripe_app.app_context():
        order_id, _v = _card_order()
        tokens = [localstripe_server.card_token(ls.CARD_OK) for _ in range(6)]
    barrier = threading.Barrier(len(tokens))
    states: list[str] = []

    def click(token):
        with stripe_app.app_context():
            barrier.wait()
            try:
                states.append(card.pay_by_card(order_id, token))
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails)
                states.append(f"error {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(states) == ["busy"] * 5 + ["paid"]
    with stripe_app.app_context():
        assert len(_attempts(order_id)) == 1
        assert _charged(order_id) == db.session.get(Order, order_id).total_vnd


def test_localstripe_webhook_pays_an_attempt_whose_intent_id_was_never_stored(
    stripe_app, localstripe_server, webhook_receiver
):
    """The process stopped right after Stripe charged: the signed webhook still pays it."""
    with stripe_app.app_context():
        order_id, _v = _card_order()
        with unit_of_work():
            payment_id = card.claim_attempt(order_id)
        ref = db.session.get(Order, order_id).ref
        amount = db.session.get(Payment, payment_id).amount_vnd
        token = localstripe_server.card_token(ls.CARD_OK)
        intent = gateway.create_intent(
            amount_vnd=amount,
            card_id=gateway.card_of_token(token),
            metadata={"payment_id": str(payment_id), "order_ref": ref},
        )
        db.session.remove()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with stripe_app.app_context():
            payment = db.session.get(Payment, payment_id)
            if payment.status == PaymentStatus.PAID:
                break
        time.sleep(0.2)
    with stripe_app.app_context():
        payment = db.session.get(Payment, payment_id)
        assert payment.status == PaymentStatus.PAID
        assert payment.provider_reference == intent["id"]
        assert _charged(order_id) == amount
        assert not ledger.flagged_events()
