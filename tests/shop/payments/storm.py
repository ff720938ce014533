"""A webhook storm scenario shared by the bounded test and the benchmark: two identical sets of
card orders; one set receives its Stripe events once, in order; the other the same events
twice, shuffled, concurrently. Both sets must end in the same state."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db, unit_of_work
from shop.orders.models import Order, SubOrder
from shop.payments import card
from shop.payments.models import LedgerEntry, Payment, PaymentEvent
from tests.shop.helpers import order_of


def make_orders(prefix: str, count: int, variant_id: int) -> list[int]:
    """Card orders whose attempts went to Stripe as pi_<prefix>_<i>, no answer recorded."""
    ids = []
    for i in range(count):
        with unit_of_work():
            order = order_of((variant_id, 1), payment_method="card")
            payment_id = card.claim_attempt(order.id)
            db.session.get(Payment, payment_id).provider_reference = f"pi_{prefix}_{i}"
            ids.append(order.id)
    return ids


def _intent(kind: str, intent_id: str, amount: int, event_id: str, status: str) -> dict:
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "currency": "vnd",
        "status": status,
        "metadata": {},
    }
    if status != "succeeded":
        intent["last_payment_error"] = {"code": "card_declined"}
    return {"id": event_id, "type": kind, "data": {"object": intent}}


def events(prefix: str, order_ids: list[int], total_events: int) -> list[dict]:
    """In delivery order: for each order a failure or a success; a partial refund of some
    successes; Stripe's own redeliveries of some successes (new event ids) — `total_events`."""
    orders = {o.id: o for o in db.session.scalars(select(Order).where(Order.id.in_(order_ids)))}
    subs = {
        s.order_id: s.id
        for s in db.session.scalars(select(SubOrder).where(SubOrder.order_id.in_(order_ids)))
    }
    out: list[dict] = []
    paid = []
    for i, order_id in enumerate(order_ids):
        pi, total = f"pi_{prefix}_{i}", orders[order_id].total_vnd
        if i % 5 == 4:
            out.append(
                _intent(
                    "payment_intent.payment_failed",
                    pi,
                    total,
                    f"evt_{prefix}_f{i}",
                    "requires_payment_method",
                )
            )
        else:
            out.append(
                _intent("payment_intent.succeeded", pi, total, f"evt_{prefix}_s{i}", "succeeded")
            )
            paid.append((i, order_id, pi, total))
    for i, order_id, pi, total in paid:
        if len(out) >= total_events:
            break
        if i % 2 == 0:
            charge = {
                "id": f"ch_{prefix}_{i}",
                "payment_intent": pi,
                "amount": total,
                "currency": "vnd",
                "status": "succeeded",
                "refunds": {
                    "data": [
                        {
                            "id": f"re_{prefix}_{i}",
                            "amount": 10000,
                            "metadata": {"sub_order_id": str(subs[order_id])},
                        }
                    ]
                },
            }
            out.append(
                {"id": f"evt_{prefix}_r{i}", "type": "charge.refunded", "data": {"object": charge}}
            )
    k = 0
    while len(out) < total_events and paid:
        i, _order_id, pi, total = paid[k % len(paid)]
        out.append(
            _intent("payment_intent.succeeded", pi, total, f"evt_{prefix}_d{k}", "succeeded")
        )
        k += 1
    return out[:total_events]


def snapshot(order_ids: list[int]) -> list[tuple]:
    """Everything a delivery can change, per order in creation order, ids left out."""
    state = []
    for order_id in order_ids:
        payments = db.session.scalars(
            select(Payment).where(Payment.order_id == order_id).order_by(Payment.id)
        ).all()
        parts = db.session.scalars(
            select(SubOrder.status).where(SubOrder.order_id == order_id).order_by(SubOrder.id)
        ).all()
        entries = sorted(
            (e.kind, e.amount_vnd)
            for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.order_id == order_id))
        )
        outcomes = sorted(
            e.outcome
            for e in db.session.scalars(
                select(PaymentEvent).where(PaymentEvent.order_id == order_id)
            )
        )
        state.append(
            (
                tuple((p.status, p.failure_reason) for p in payments),
                tuple(parts),
                tuple(entries),
                tuple(outcomes),
            )
        )
    return state
