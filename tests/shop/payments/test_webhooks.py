"""The Stripe webhook: only signed, fresh events count; replayed, duplicated or out-of-order
events change nothing; unknown PaymentIntents and wrong amounts never pay an order."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from core.db import db, unit_of_work
from shop.orders.models import Order
from shop.payments import card, ledger
from shop.payments.models import LedgerEntry, Payment, PaymentEvent, PaymentStatus
from shop.payments.verify import first_disagreement
from tests import localstripe as ls
from tests.shop.helpers import order_of, stocked_product

URL = "/payments/stripe/webhook"


def _claimed_order(intent_id="pi_test_1"):
    """A card order whose attempt went to Stripe as `intent_id` (no answer recorded yet)."""
    _p, _product, variant, _b = stocked_product(price=90000)
    order = order_of((variant.id, 1), payment_method="card")
    with unit_of_work():
        payment_id = card.claim_attempt(order.id)
        db.session.get(Payment, payment_id).provider_reference = intent_id
    return order.id, payment_id, order.total_vnd


def _intent_event(kind, intent_id, amount, *, event_id="evt_1", status=None, **extra):
    status = status or ("succeeded" if kind.endswith("succeeded") else "requires_payment_method")
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "currency": "vnd",
        "status": status,
        "metadata": {},
        **extra,
    }
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": intent}}


def _post(client, event, **kwargs):
    body, signature = ls.signed(event, **kwargs)
    return client.post(
        URL, data=body, headers={"Stripe-Signature": signature, "Content-Type": "application/json"}
    )


def _counts():
    return (
        db.session.scalar(select(func.count(LedgerEntry.id))),
        db.session.scalar(select(func.count(PaymentEvent.id))),
    )


def test_forged_or_stale_signatures_are_refused_and_change_nothing(stripe_app, client):
    with stripe_app.app_context():
        _order_id, payment_id, total = _claimed_order()
    event = _intent_event("payment_intent.succeeded", "pi_test_1", total)
    for kwargs in ({"secret": "whsec_someone_else"}, {"at": int(time.time()) - 3600}):
        answer = _post(client, event, **kwargs)
        assert answer.status_code == 400
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["type"].endswith("bad_signature")
    answer = client.post(URL, data=b"{not json", headers={"Stripe-Signature": "t=1,v1=00"})
    assert answer.status_code == 400
    with stripe_app.app_context():
        assert db.session.get(Payment, payment_id).status == PaymentStatus.PROCESSING
        assert _counts() == (0, 0)


def test_an_unknown_payment_intent_is_acknowledged_and_ignored(stripe_app, client):
    answer = _post(client, _intent_event("payment_intent.succeeded", "pi_not_ours", 5000))
    assert answer.status_code == 200
    assert answer.get_json()["outcome"] == "unknown"
    with stripe_app.app_context():
        assert _counts() == (0, 0)


def test_a_succeeded_event_with_the_wrong_amount_is_flagged_not_paid(stripe_app, client):
    with stripe_app.app_context():
        order_id, payment_id, total = _claimed_order()
    answer = _post(client, _intent_event("payment_intent.succeeded", "pi_test_1", total - 1))
    assert answer.get_json()["outcome"] == ledger.MISMATCH
    with stripe_app.app_context():
        assert db.session.get(Payment, payment_id).status != PaymentStatus.PAID
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0
        assert len(ledger.flagged_events()) == 1


def test_replayed_duplicated_and_late_events_change_nothing(stripe_app, client):
    with stripe_app.app_context():
        order_id, payment_id, total = _claimed_order()
    paid = _intent_event("payment_intent.succeeded", "pi_test_1", total)
    failed = _intent_event(
        "payment_intent.payment_failed",
        "pi_test_1",
        total,
        event_id="evt_0",
        last_payment_error={"code": "card_declined"},
    )
    assert _post(client, paid).get_json()["outcome"] == ledger.PAID
    with stripe_app.app_context():
        after_first = _counts()
    assert _post(client, paid).get_json()["outcome"] == ledger.DUPLICATE  # replay
    duplicate = dict(paid, id="evt_1_again")  # Stripe may deliver the same change twice
    assert _post(client, duplicate).get_json()["outcome"] == ledger.DUPLICATE
    _post(client, failed)  # an older failure arriving last
    with stripe_app.app_context():
        assert db.session.get(Payment, payment_id).status == PaymentStatus.PAID
        assert _counts() == after_first
        assert first_disagreement() is None


def test_a_refund_event_before_the_payment_event_still_lands_once(stripe_app, client):
    with stripe_app.app_context():
        order_id, payment_id, total = _claimed_order()
        sub_id = db.session.get(Order, order_id).sub_orders[0].id
    charge = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_test_1",
        "amount": total,
        "currency": "vnd",
        "status": "succeeded",
        "refunded": False,
        "refunds": {
            "data": [{"id": "re_1", "amount": 30000, "metadata": {"sub_order_id": str(sub_id)}}]
        },
    }
    refunded = {"id": "evt_r", "type": "charge.refunded", "data": {"object": charge}}
    for _ in range(2):
        assert _post(client, refunded).status_code == 200
    assert (
        _post(client, _intent_event("payment_intent.succeeded", "pi_test_1", total)).get_json()[
            "outcome"
        ]
        == ledger.DUPLICATE
    )
    with stripe_app.app_context():
        assert db.session.get(Payment, payment_id).status == PaymentStatus.PAID
        assert ledger.refunded(sub_id) == 30000
        assert first_disagreement() is None


def test_a_card_refund_goes_through_stripe_once_per_request(stripe_app, localstripe_server):
    with stripe_app.app_context():
        _p, _product, variant, _b = stocked_product(price=100000)
        order = order_of((variant.id, 2), payment_method="card")
        db.session.commit()
        order_id = order.id
        assert card.pay_by_card(order_id, localstripe_server.card_token(ls.CARD_OK)) == "paid"
        sub_id = db.session.get(Order, order_id).sub_orders[0].id
        with unit_of_work():
            assert card.refund_card(sub_id, 50000, actor_id=None, request_id="r1") == 50000
        with unit_of_work():  # the same form sent twice
            assert card.refund_card(sub_id, 50000, actor_id=None, request_id="r1") == 0
        assert ledger.refunded(sub_id) == 50000
        intent_id = card.latest_attempt(order_id).provider_reference
        from shop.payments.gateway import client as stripe_client

        refunds = stripe_client().v1.refunds.list(params={"payment_intent": intent_id})
        assert [r.amount for r in refunds.data] == [50000]
        assert first_disagreement() is None
