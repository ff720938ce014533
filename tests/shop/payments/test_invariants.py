"""Bounded versions of the benchmark's invariants (not timed; both databases):
many buyers paying by card for fewer units, and a webhook storm."""

from __future__ import annotations

import random
import threading

from sqlalchemy import func, select

from core.db import db, unit_of_work
from core.errors import OutOfStock
from shop.orders.models import OrderLine
from shop.payments import card, gateway
from shop.payments.models import LedgerEntry, Payment, PaymentStatus
from shop.payments.verify import first_disagreement
from tests import localstripe as ls
from tests.shop.helpers import order_of, stocked_product
from tests.shop.payments import storm
from tests.shop.payments.test_webhooks import URL

BUYERS, UNITS = 16, 6


def test_card_buyers_racing_for_fewer_units_oversell_nothing_and_pay_once(
    stripe_app, localstripe_server
):
    with stripe_app.app_context():
        _p, _product, variant, _b = stocked_product(units=UNITS, price=80000)
        db.session.commit()
        variant_id = variant.id
        tokens = [localstripe_server.card_token(ls.CARD_OK) for _ in range(BUYERS * 2)]
    barrier = threading.Barrier(BUYERS)
    outcomes: list[str] = []

    def buyer(index):
        with stripe_app.app_context():
            barrier.wait()
            try:
                with unit_of_work():
                    order_id = order_of((variant_id, 1), payment_method="card").id
            except OutOfStock:
                outcomes.append("out")
                return
            finally:
                db.session.remove()
            try:  # a double click: the same buyer pays twice at once
                states = []
                clicks = [
                    threading.Thread(target=lambda t=t: states.append(_pay(order_id, t)))
                    for t in tokens[index * 2 : index * 2 + 2]
                ]
                for click in clicks:
                    click.start()
                for click in clicks:
                    click.join(60)
                outcomes.append("paid" if "paid" in states else f"unpaid {states}")
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails)
                outcomes.append(f"error {exc}")

    def _pay(order_id, token):
        with stripe_app.app_context():
            try:
                return card.pay_by_card(order_id, token)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(outcomes) == sorted(["paid"] * UNITS + ["out"] * (BUYERS - UNITS))
    with stripe_app.app_context():
        assert db.session.scalar(select(func.sum(OrderLine.quantity))) == UNITS  # 0 oversold
        paid = db.session.scalars(select(Payment).where(Payment.status == PaymentStatus.PAID)).all()
        assert len(paid) == len({p.order_id for p in paid}) == UNITS  # 0 double charges
        intents = db.session.scalars(
            select(Payment.provider_reference).where(Payment.provider_reference.is_not(None))
        ).all()
        assert len(intents) == UNITS  # one PaymentIntent per order: the second click made none
        for payment in paid:  # 0 orders paid without a succeeded PaymentIntent
            intent = gateway.retrieve_intent(payment.provider_reference)
            assert (intent["status"], intent["amount"]) == ("succeeded", payment.amount_vnd)
        assert first_disagreement() is None


def test_a_webhook_storm_ends_as_one_in_order_delivery(stripe_app, client):
    with stripe_app.app_context():
        _p, _product, variant, _b = stocked_product(units=200, price=70000)
        db.session.commit()
        calm_ids = storm.make_orders("calm", 15, variant.id)
        storm_ids = storm.make_orders("storm", 15, variant.id)
        calm_events = storm.events("calm", calm_ids, 30)
        storm_events = storm.events("storm", storm_ids, 30)
        db.session.remove()
    for event in calm_events:
        body, signature = ls.signed(event)
        assert (
            client.post(URL, data=body, headers={"Stripe-Signature": signature}).status_code == 200
        )
    deliveries = storm_events * 2
    random.Random(9).shuffle(deliveries)
    statuses: list[int] = []

    def deliver(batch):
        local = stripe_app.test_client()
        for event in batch:
            body, signature = ls.signed(event)
            statuses.append(
                local.post(URL, data=body, headers={"Stripe-Signature": signature}).status_code
            )

    threads = [threading.Thread(target=deliver, args=(deliveries[i::6],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses.count(200) == len(deliveries)
    with stripe_app.app_context():
        assert storm.snapshot(storm_ids) == storm.snapshot(calm_ids)
        charged = db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "charge")
        )
        assert charged == 2 * 12  # 12 of 15 orders paid in each set, charged once
        assert first_disagreement() is None
