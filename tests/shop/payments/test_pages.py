"""The buyer's and the producer's pages: checkout by card leads to the card page (Stripe.js
allowed there only), paying marks the order paid, refunds and returned goods from the producer's
order page, the refund on the buyer's order page."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from core.security import CONTENT_SECURITY_POLICY
from shop.inventory.services import available_units
from shop.orders.models import Order, OrderStatus, SubOrder
from shop.payments import ledger
from shop.payments.models import LedgerEntry
from shop.payments.services import record_cash
from tests import localstripe as ls
from tests.conftest import login
from tests.factories import make_user
from tests.shop.helpers import order_of, stocked_product
from tests.shop.test_buying import _checkout_form, _fill_cart


def _producer_with_manager(app, units=10, price=100000):
    with app.app_context():
        manager = make_user(name="Bà Lan")
        producer, _product, variant, _b = stocked_product(units=units, price=price, manager=manager)
        db.session.commit()
        return manager.id, producer.id, variant.id


def test_card_checkout_goes_to_the_card_page_with_stripe_js_allowed_there_only(
    stripe_app, client, localstripe_server
):
    _m, _p, variant_id = _producer_with_manager(stripe_app)
    _fill_cart(client, (variant_id, 1))
    form_page = client.get("/checkout").get_data(as_text=True)
    assert "Thẻ ngân hàng / thẻ quốc tế" in form_page
    answer = client.post("/checkout", data=_checkout_form(payment_method="card"))
    assert answer.status_code == 303 and "/pay?k=" in answer.headers["Location"]
    page = client.get(answer.headers["Location"])
    html = page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    assert f"script-src 'self' {localstripe_server.base}" in policy
    assert f'<script src="{localstripe_server.base}/js.stripe.com/v3/"></script>' in html
    assert 'name="token"' in html and "card-element" in html
    assert 'name="number"' not in html  # no card field of ours: Stripe.js mounts its own
    order_page = client.get(answer.headers["Location"].replace("/pay?", "?"))
    assert order_page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "chưa thanh toán" in order_page.get_data(as_text=True)


def test_paying_on_the_card_page_shows_the_order_paid(stripe_app, client, localstripe_server):
    _m, _p, variant_id = _producer_with_manager(stripe_app)
    _fill_cart(client, (variant_id, 1))
    client.get("/checkout")
    pay_url = client.post("/checkout", data=_checkout_form(payment_method="card")).headers[
        "Location"
    ]
    key = pay_url.split("k=")[1]
    ref = pay_url.split("/orders/")[1].split("/")[0]
    declined = client.post(
        f"/orders/{ref}/pay",
        data={"k": key, "token": localstripe_server.card_token(ls.CARD_DECLINED)},
        follow_redirects=True,
    )
    assert "Thẻ bị từ chối" in declined.get_data(as_text=True)
    bad = client.post(f"/orders/{ref}/pay", data={"k": key, "token": "4242424242424242"})
    assert bad.status_code == 303  # a card number is never accepted: only a Stripe.js token
    paid = client.post(
        f"/orders/{ref}/pay",
        data={"k": key, "token": localstripe_server.card_token(ls.CARD_OK)},
        follow_redirects=True,
    )
    html = paid.get_data(as_text=True)
    assert "đã thanh toán" in html and "Đã thanh toán. Cảm ơn bạn!" in html
    assert (
        client.post(f"/orders/{ref}/pay", data={"k": "wrong", "token": "tok_x"}).status_code == 404
    )


def test_producer_refunds_a_card_part_and_the_buyer_sees_it(stripe_app, client, localstripe_server):
    manager_id, producer_id, variant_id = _producer_with_manager(stripe_app)
    with stripe_app.app_context():
        order = order_of((variant_id, 2), payment_method="card")
        db.session.commit()
        ref, key, sub_id = order.ref, order.secret, order.sub_orders[0].id
    client.post(
        f"/orders/{ref}/pay", data={"k": key, "token": localstripe_server.card_token(ls.CARD_OK)}
    )
    staff = stripe_app.test_client()
    login(staff, manager_id)
    page = staff.get(f"/manage/{producer_id}/orders/{sub_id}").get_data(as_text=True)
    assert "Hoàn tiền" in page
    too_much = staff.post(
        f"/manage/{producer_id}/orders/{sub_id}/refund",
        data={"amount_vnd": "999.999.999", "request_id": "a"},
    )
    assert too_much.status_code == 422
    assert "999.999.999" in too_much.get_data(as_text=True)  # the typed value is kept
    done = staff.post(
        f"/manage/{producer_id}/orders/{sub_id}/refund",
        data={"amount_vnd": "50.000", "request_id": "b"},
    )
    assert done.status_code == 303
    again = staff.post(
        f"/manage/{producer_id}/orders/{sub_id}/refund",
        data={"amount_vnd": "50.000", "request_id": "b"},
    )
    assert again.status_code == 303
    with stripe_app.app_context():
        assert ledger.refunded(sub_id) == 50000
    buyer_page = client.get(f"/orders/{ref}?k={key}").get_data(as_text=True)
    assert "Đã hoàn tiền: 50.000" in buyer_page


def test_another_producer_cannot_refund_my_part(stripe_app, localstripe_server):
    _m, _p, variant_id = _producer_with_manager(stripe_app)
    other_manager, other_producer, _v = _producer_with_manager(stripe_app)
    with stripe_app.app_context():
        order = order_of((variant_id, 1))
        sub_id = order.sub_orders[0].id
        record_cash(sub_id, actor_id=None)
        db.session.commit()
    staff = stripe_app.test_client()
    login(staff, other_manager)
    answer = staff.post(
        f"/manage/{other_producer}/orders/{sub_id}/refund",
        data={"amount_vnd": "1000", "method": "cash", "reference": "x1"},
    )
    assert answer.status_code == 404
    with stripe_app.app_context():
        assert (
            db.session.scalar(
                select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "refund")
            )
            == 0
        )


def test_cash_refund_needs_a_reference_and_goods_come_back_once(app):
    manager_id, producer_id, variant_id = _producer_with_manager(app, units=5)
    with app.app_context():
        order = order_of((variant_id, 2))
        sub = order.sub_orders[0]
        sub.status = OrderStatus.SHIPPED  # arranged: shipped and paid in cash
        db.session.flush()
        from shop.inventory.services import ship
        from shop.orders.services import _picks

        ship([(p.order_line_id, variant_id, p.stock_lot_id, p.quantity) for p in _picks(sub)])
        record_cash(sub.id, actor_id=None)
        db.session.commit()
        sub_id = sub.id
        before = available_units([variant_id])[variant_id]
    staff = app.test_client()
    login(staff, manager_id)
    missing = staff.post(
        f"/manage/{producer_id}/orders/{sub_id}/refund",
        data={"amount_vnd": "20000", "method": "cash", "reference": ""},
    )
    assert missing.status_code == 422
    ok = staff.post(
        f"/manage/{producer_id}/orders/{sub_id}/refund",
        data={"amount_vnd": "20000", "method": "cash", "reference": "Chị Mai nhận"},
    )
    assert ok.status_code == 303
    with app.app_context():
        assert ledger.refunded(sub_id) == 20000
        assert available_units([variant_id])[variant_id] == before  # money back, goods not yet
    assert staff.post(f"/manage/{producer_id}/orders/{sub_id}/goods-returned").status_code == 303
    staff.post(f"/manage/{producer_id}/orders/{sub_id}/goods-returned")  # a second tick
    with app.app_context():
        assert available_units([variant_id])[variant_id] == before + 2
        assert db.session.get(SubOrder, sub_id).goods_returned_at is not None
        assert db.session.get(Order, db.session.get(SubOrder, sub_id).order_id)
