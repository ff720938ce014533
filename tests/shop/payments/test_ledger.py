"""The ledger: money is applied once, exactly, per producer; entries never change."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, text, update

from core.db import db, unit_of_work
from core.errors import Invalid
from shop.orders.models import OrderStatus, SubOrder
from shop.payments import ledger
from shop.payments.models import (
    EntryKind,
    ImmutableRow,
    LedgerEntry,
    Payment,
    PaymentEvent,
    PaymentStatus,
)
from shop.payments.services import payments_of, record_cash
from shop.payments.verify import first_disagreement
from tests.shop.helpers import order_of, stocked_product


def _two_producer_card_order():
    _p1, _product1, v1, _b1 = stocked_product(price=100000)
    _p2, _product2, v2, _b2 = stocked_product(price=45000)
    order = order_of((v1.id, 2), (v2.id, 1), payment_method="card")
    (payment,) = payments_of(order.id)
    return order, payment


def _entries(order_id=None):
    query = select(LedgerEntry).order_by(LedgerEntry.id)
    if order_id is not None:
        query = query.where(LedgerEntry.order_id == order_id)
    return list(db.session.scalars(query))


def test_exact_amount_marks_paid_and_charges_each_producer_its_part(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        result = ledger.mark_paid(
            payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd
        )
        db.session.commit()
        assert result.outcome == ledger.PAID and result.paid and not result.flagged
        assert payment.status == PaymentStatus.PAID
        charges = {e.producer_id: e.amount_vnd for e in _entries(order.id) if e.kind == "charge"}
        assert charges == {s.producer_id: s.total_vnd for s in order.sub_orders}
        assert sum(charges.values()) == order.total_vnd
        assert {s.status for s in order.sub_orders} == {OrderStatus.CONFIRMED}
        assert first_disagreement() is None


def test_the_same_event_twice_is_applied_once(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        first = ledger.mark_paid(
            payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd
        )
        again = ledger.mark_paid(
            payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd
        )
        db.session.commit()
        assert (first.outcome, again.outcome) == (ledger.PAID, ledger.DUPLICATE)
        assert len([e for e in _entries() if e.kind == "charge"]) == 2
        assert db.session.scalar(select(func.count(PaymentEvent.id))) == 1


def test_a_wrong_amount_is_flagged_and_not_paid(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        result = ledger.mark_paid(
            payment, source="bank", external_id="tx-9", amount_vnd=order.total_vnd - 1000
        )
        db.session.commit()
        assert result.outcome == ledger.MISMATCH and result.flagged and not result.paid
        assert payment.status == PaymentStatus.PENDING
        assert _entries() == []
        assert {s.status for s in order.sub_orders} == {OrderStatus.PLACED}
        assert [e.id for e in ledger.flagged_events()] == [result.event_id]
        assert first_disagreement() is None


def test_a_second_payment_for_a_paid_order_is_flagged_not_charged_twice(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        ledger.mark_paid(payment, source="bank", external_id="tx-1", amount_vnd=order.total_vnd)
        second = ledger.mark_paid(
            payment, source="bank", external_id="tx-2", amount_vnd=order.total_vnd
        )
        db.session.commit()
        assert second.outcome == ledger.ALREADY_PAID and second.flagged
        assert sum(e.amount_vnd for e in _entries() if e.kind == "charge") == order.total_vnd


def test_entries_cannot_be_changed_or_deleted_through_the_orm(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        ledger.mark_paid(payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd)
        db.session.commit()
        entry = _entries()[0]
        entry.amount_vnd = 1
        with pytest.raises(ImmutableRow):
            db.session.flush()
        db.session.rollback()
        db.session.delete(_entries()[0])
        with pytest.raises(ImmutableRow):
            db.session.flush()
        db.session.rollback()


@pytest.mark.postgres_only
def test_postgresql_refuses_update_and_delete_of_entries_itself(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        ledger.mark_paid(payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd)
        db.session.commit()
        for statement in (
            update(LedgerEntry).values(amount_vnd=0),
            text("DELETE FROM shop_ledger_entry"),
            text("UPDATE shop_payment_event SET amount_vnd = 0"),
        ):
            with pytest.raises(Exception, match="insert-only"):
                db.session.execute(statement)
            db.session.rollback()
        assert sum(e.amount_vnd for e in _entries() if e.kind == "charge") == order.total_vnd


def test_refunds_partial_then_full_never_more_than_charged(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        ledger.mark_paid(payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd)
        part = order.sub_orders[0]
        ledger.record_refund(part, 50000, method="card", reference="re_1", actor_id=None)
        assert (
            ledger.record_refund(part, 50000, method="card", reference="re_1", actor_id=None)
            is None
        )
        with pytest.raises(Invalid):
            ledger.record_refund(
                part, part.total_vnd, method="card", reference="re_2", actor_id=None
            )
        ledger.record_refund(
            part, part.total_vnd - 50000, method="card", reference="re_3", actor_id=None
        )
        db.session.commit()
        assert ledger.refunded(part.id) == part.total_vnd
        assert ledger.refunds_by_part(order.id) == {part.id: part.total_vnd}
        assert payment.status == PaymentStatus.PAID  # the other producer's part is still paid
        assert first_disagreement() is None


def test_balance_is_sales_minus_refunds_fee_and_payouts(app):
    app.config["PLATFORM_FEE_PERCENT"] = 10
    try:
        with app.app_context():
            _p, _product, variant, _b = stocked_product(price=100000)
            order = order_of((variant.id, 3), payment_method="card")
            (payment,) = payments_of(order.id)
            ledger.mark_paid(
                payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd
            )
            part = order.sub_orders[0]
            ledger.record_refund(part, 100000, method="card", reference="re_1", actor_id=None)
            balance = ledger.balance_of(part.producer_id)
            assert balance.sales == order.total_vnd
            assert balance.fees == 30000  # 10% of the goods, not of shipping
            assert balance.owed == order.total_vnd - 100000 - 30000
            with pytest.raises(Invalid):
                ledger.record_payout(part.producer_id, balance.owed + 1, "CK-1", None)
            ledger.record_payout(part.producer_id, balance.owed, "CK-1", None)
            assert ledger.record_payout(part.producer_id, 5, "CK-1", None) is None  # same reference
            db.session.commit()
            after = ledger.balance_of(part.producer_id)
            assert (after.owed, after.payouts) == (0, balance.owed)
    finally:
        app.config["PLATFORM_FEE_PERCENT"] = 0


def test_cash_on_delivery_the_producer_holds_the_cash_and_owes_the_fee(app):
    app.config["PLATFORM_FEE_PERCENT"] = 5
    try:
        with app.app_context():
            _p, _product, variant, _b = stocked_product(price=200000)
            order = order_of((variant.id, 1))
            part = order.sub_orders[0]
            record_cash(part.id, actor_id=None)
            db.session.commit()
            balance = ledger.balance_of(part.producer_id)
            assert balance.sales == part.total_vnd
            assert balance.cash_held == part.total_vnd
            assert balance.owed == -10000  # the producer owes the platform its fee
            ledger.record_refund(part, 200000, method="cash", reference="TM-1", actor_id=None)
            db.session.commit()
            assert ledger.balance_of(part.producer_id).owed == -10000
            assert first_disagreement() is None
    finally:
        app.config["PLATFORM_FEE_PERCENT"] = 0


def test_verify_command_reports_the_first_disagreement(app, runner):
    with app.app_context():
        order, payment = _two_producer_card_order()
        ledger.mark_paid(payment, source="stripe", external_id="pi_1", amount_vnd=order.total_vnd)
        db.session.commit()
        order_id = order.id
    ok = runner.invoke(args=["payments", "verify"])
    assert ok.exit_code == 0, ok.output
    with app.app_context():
        part = db.session.scalar(select(SubOrder).where(SubOrder.order_id == order_id))
        event_id = ledger.claim_event("test", "forged", amount_vnd=1, outcome="applied")
        db.session.add(
            LedgerEntry(
                event_id=event_id,
                order_id=order_id,
                sub_order_id=part.id,
                producer_id=part.producer_id,
                kind=EntryKind.CHARGE,
                amount_vnd=1,
                method="card",
            )
        )
        db.session.commit()
        part_id = part.id
    bad = runner.invoke(args=["payments", "verify"])
    assert bad.exit_code == 1
    assert f"sub-order {part_id}: charged" in bad.output


def test_the_same_event_from_many_threads_is_applied_exactly_once(app):
    with app.app_context():
        order, payment = _two_producer_card_order()
        db.session.commit()
        payment_id, total = payment.id, order.total_vnd
    outcomes: list[str] = []
    barrier = threading.Barrier(12)

    def deliver():
        with app.app_context():
            barrier.wait()
            try:
                with unit_of_work():
                    outcomes.append(
                        ledger.mark_paid(
                            payment_id, source="stripe", external_id="evt_1", amount_vnd=total
                        ).outcome
                    )
            except Exception as exc:  # noqa: BLE001  (reported, and the test fails)
                outcomes.append(f"error {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == sorted([ledger.PAID] + [ledger.DUPLICATE] * 11)
    with app.app_context():
        assert sum(e.amount_vnd for e in _entries() if e.kind == "charge") == total
        assert db.session.get(Payment, payment_id).status == PaymentStatus.PAID
        assert first_disagreement() is None
