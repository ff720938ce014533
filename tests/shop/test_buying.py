"""The shopper's path through the pages: cart, checkout with cash on delivery, the order page;
and every kind of bad input answered clearly with the database unchanged."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from accounts.models import OutboxMessage
from core.db import db
from shop.cart.models import CartItem
from shop.inventory.services import available_units
from shop.orders.models import Order, SubOrder
from shop.payments.models import Payment
from tests.conftest import login
from tests.factories import make_user
from tests.shop.helpers import HANOI, hanoi_ward, stocked_product


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _two_producers(app):
    with app.app_context():
        _p1, product1, v1, _b1 = stocked_product(units=10, price=250000, name="Cam Cao Phong")
        _p2, product2, v2, _b2 = stocked_product(units=5, price=120000, name="Mật ong bạc hà")
        db.session.commit()
        return product1.slug, v1.id, product2.slug, v2.id


def _checkout_form(**overrides):
    form = {
        "name": "Chị Mai",
        "phone": "0912.345.678",
        "province_code": str(HANOI),
        "ward_code": str(hanoi_ward()),
        "street": "12 Hàng Bài",
        "note": "Gọi trước khi giao",
        "payment_method": "cod",
    }
    form.update(overrides)
    return form


def _fill_cart(client, *pairs):
    for variant_id, quantity in pairs:
        response = client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity})
        assert response.status_code == 303


def test_a_guest_buys_from_two_producers_with_cash_on_delivery(app, client):
    slug1, v1, slug2, v2 = _two_producers(app)
    page = client.get(f"/p/{slug1}").get_data(as_text=True)
    assert "Còn hàng" in page and "Thêm vào giỏ" in page and "Lô bạn sẽ nhận" in page
    _fill_cart(client, (v1, 2), (v2, 1))
    cart = client.get("/cart").get_data(as_text=True)
    assert "Cam Cao Phong" in cart and "Mật ong bạc hà" in cart
    assert client.get("/checkout").status_code == 200
    response = client.post("/checkout", data=_checkout_form())
    assert response.status_code == 303
    link = response.headers["Location"]
    assert re.search(r"/orders/CQ-[A-Z0-9]{8}\?k=", link)
    page = client.get(link).get_data(as_text=True)
    assert "Đã xác nhận" in page and "Trả tiền mặt khi nhận hàng" in page
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.buyer_phone == "+84912345678"
        assert [s.status for s in order.sub_orders] == ["confirmed", "confirmed"]
        # prices and fees from the server: 2 × 250.000 + 120.000 + two flat fees of 30.000
        assert order.total_vnd == 2 * 250000 + 120000 + 2 * 30000
        assert _count(Payment) == 2  # cash on delivery: each producer collects its own part
        assert available_units([v1, v2]) == {v1: 8, v2: 4}
        assert _count(CartItem) == 0
        messages = db.session.scalars(select(OutboxMessage)).all()
        assert len(messages) == 1 and order.ref in messages[0].body


def test_another_key_or_ref_shows_nothing(app, client):
    slug1, v1, _slug2, _v2 = _two_producers(app)
    _fill_cart(client, (v1, 1))
    client.get("/checkout")
    link = client.post("/checkout", data=_checkout_form()).headers["Location"]
    ref = link.split("/orders/")[1].split("?")[0]
    assert client.get(f"/orders/{ref}").status_code == 404
    assert client.get(f"/orders/{ref}?k=guess").status_code == 404
    assert client.get("/orders/CQ-AAAAAAAA?k=x").status_code == 404


def test_invalid_phone_or_unknown_commune_re_renders_with_values_kept(app, client):
    slug1, v1, _s, _v = _two_producers(app)
    _fill_cart(client, (v1, 1))
    client.get("/checkout")
    response = client.post("/checkout", data=_checkout_form(phone="12345"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Số điện thoại Việt Nam không hợp lệ" in page and "12 Hàng Bài" in page
    response = client.post("/checkout", data=_checkout_form(ward_code="999999"))
    assert response.status_code == 422
    assert "Chọn xã, phường trong danh sách" in response.get_data(as_text=True)
    # a commune of another province
    from core import places

    other = places.wards_of(25)[0].code
    assert client.post("/checkout", data=_checkout_form(ward_code=str(other))).status_code == 422
    with app.app_context():
        from shop.inventory.services import stock_lots

        assert _count(Order) == 0
        assert stock_lots([v1])[0].allocated == 0  # only the checkout's own hold remains


def test_tampered_price_quantity_or_fee_changes_nothing(app, client):
    slug1, v1, _s, _v = _two_producers(app)
    _fill_cart(client, (v1, 1))
    client.get("/checkout")
    form = _checkout_form(price="1", unit_price_vnd="1", quantity="40", shipping_vnd="0", total="1")
    assert client.post("/checkout", data=form).status_code == 303
    with app.app_context():
        order = db.session.scalar(select(Order))
        assert order.total_vnd == 250000 + 30000
        assert sum(line.quantity for line in order.lines) == 1


def test_quantity_above_stock_or_the_limit_is_refused_at_the_cart(app, client):
    slug1, v1, _s, _v = _two_producers(app)
    response = client.post(
        "/cart/add", data={"variant_id": v1, "quantity": "11"}, follow_redirects=True
    )
    assert "Chỉ còn 10 gói" in response.get_data(as_text=True)
    for bad in ("0", "-1", "٣", "99999999999999999999", "abc"):
        client.post("/cart/add", data={"variant_id": v1, "quantity": bad})
    client.post("/cart/add", data={"variant_id": "999999", "quantity": "1"})
    with app.app_context():
        assert _count(CartItem) == 0


def test_a_changed_price_sends_the_buyer_back_to_the_cart(app, client):
    slug1, v1, _s, _v = _two_producers(app)
    _fill_cart(client, (v1, 1))
    with app.app_context():
        from cooperatives.models import Variant

        db.session.get(Variant, v1).price_vnd = 260000
        db.session.commit()
    response = client.post("/checkout", data=_checkout_form())
    assert response.status_code == 303 and response.headers["Location"].endswith("/cart")
    cart = client.get("/cart").get_data(as_text=True)
    assert "Giá đã đổi" in cart and "260.000" in cart
    client.post("/cart/accept")
    client.get("/checkout")
    assert client.post("/checkout", data=_checkout_form()).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Order.total_vnd)) == 260000 + 30000


def test_a_product_taken_off_sale_is_explained_not_bought(app, client):
    slug1, v1, _s, _v = _two_producers(app)
    _fill_cart(client, (v1, 1))
    with app.app_context():
        from cooperatives.models import Variant

        db.session.get(Variant, v1).active = False
        db.session.commit()
    assert client.post("/checkout", data=_checkout_form()).status_code == 303
    assert "không còn bán" in client.get("/cart").get_data(as_text=True)
    with app.app_context():
        assert _count(Order) == 0


def test_an_expired_reservation_is_explained_and_nothing_is_sold(app, client):
    slug1, v1, _s, _v = _two_producers(app)
    _fill_cart(client, (v1, 1))
    client.get("/checkout")
    with app.app_context():
        from datetime import timedelta

        from shop.inventory.models import Reservation

        for r in db.session.scalars(select(Reservation)):
            r.expires_at = r.expires_at - timedelta(hours=1)
        db.session.commit()
    response = client.post("/checkout", data=_checkout_form(), follow_redirects=True)
    assert "Thời gian giữ hàng cho bạn đã hết" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(Order) == 0 and available_units([v1])[v1] == 10


def test_guest_cart_joins_the_buyers_cart_at_sign_in(app, client):
    slug1, v1, _s, v2 = _two_producers(app)
    with app.app_context():
        from tests.factories import PASSWORD

        user = make_user(name="Chị Mai", phone="+84912345678")
        db.session.commit()
        phone = user.phone
    _fill_cart(client, (v1, 1))
    response = client.post("/login", data={"identifier": phone, "password": PASSWORD})
    assert response.status_code in (302, 303)
    assert "Cam Cao Phong" in client.get("/cart").get_data(as_text=True)


def test_the_producer_fulfils_only_its_own_part(app, client):
    slug1, v1, slug2, v2 = _two_producers(app)
    _fill_cart(client, (v1, 1), (v2, 1))
    client.get("/checkout")
    link = client.post("/checkout", data=_checkout_form()).headers["Location"]
    with app.app_context():
        subs = db.session.scalars(select(SubOrder).order_by(SubOrder.id)).all()
        mine, theirs = subs[0], subs[1]
        manager = make_user(name="Bà Lan")
        from tests.factories import add_member

        add_member(
            manager,
            mine.producer
            if hasattr(mine, "producer")
            else db.session.get(
                __import__("cooperatives.models", fromlist=["Producer"]).Producer, mine.producer_id
            ),
            "manager",
        )
        db.session.commit()
        ids = (manager.id, mine.producer_id, mine.id, theirs.id, theirs.producer_id)
    manager_id, producer_id, mine_id, theirs_id, their_producer = ids
    staff = app.test_client()
    login(staff, manager_id)
    listing = staff.get(f"/manage/{producer_id}/orders").get_data(as_text=True)
    assert "Chị Mai" in listing
    assert staff.get(f"/manage/{producer_id}/orders/{theirs_id}").status_code == 404
    assert staff.get(f"/manage/{their_producer}/orders").status_code == 404
    assert (
        staff.post(
            f"/manage/{producer_id}/orders/{theirs_id}/move", data={"to": "packed"}
        ).status_code
        == 404
    )
    # a move the flow does not allow
    response = staff.post(f"/manage/{producer_id}/orders/{mine_id}/move", data={"to": "delivered"})
    assert response.status_code == 409
    assert (
        staff.post(
            f"/manage/{producer_id}/orders/{mine_id}/move", data={"to": "packed"}
        ).status_code
        == 303
    )
    slip = staff.get(f"/manage/{producer_id}/orders/{mine_id}/packing-slip.pdf")
    assert slip.status_code == 200 and slip.data.startswith(b"%PDF")
    bad = staff.post(
        f"/manage/{producer_id}/orders/{mine_id}/move", data={"to": "shipped", "carrier": ""}
    )
    assert bad.status_code == 422 and "Ghi đơn vị vận chuyển" in bad.get_data(as_text=True)
    shipped = staff.post(
        f"/manage/{producer_id}/orders/{mine_id}/move",
        data={"to": "shipped", "carrier": "Viettel Post", "tracking_number": "VTP123456"},
    )
    assert shipped.status_code == 303
    assert (
        staff.post(
            f"/manage/{producer_id}/orders/{mine_id}/move", data={"to": "delivered"}
        ).status_code
        == 303
    )
    assert staff.post(f"/manage/{producer_id}/orders/{mine_id}/cash").status_code == 303
    csv = staff.get(f"/manage/{producer_id}/orders.csv").get_data(as_text=True)
    assert "VTP123456" in csv and "Chị Mai" in csv
    page = client.get(link).get_data(as_text=True)
    assert "Viettel Post" in page and "Đã giao" in page
    with app.app_context():
        from shop.inventory.services import movement_mismatches

        assert db.session.get(SubOrder, theirs_id).status == "confirmed"
        assert movement_mismatches() == 0
        paid = db.session.scalar(select(Payment).where(Payment.sub_order_id == mine_id))
        assert paid.status == "paid"


def test_the_buyer_cancels_before_packing_and_the_stock_comes_back(app, client):
    slug1, v1, _s, _v = _two_producers(app)
    _fill_cart(client, (v1, 3))
    client.get("/checkout")
    link = client.post("/checkout", data=_checkout_form()).headers["Location"]
    ref, key = link.split("/orders/")[1].split("?k=")
    with app.app_context():
        sub_id = db.session.scalar(select(SubOrder.id))
        assert available_units([v1])[v1] == 7
    # another buyer's reference (wrong key) changes nothing
    assert (
        client.post(f"/orders/{ref}/cancel", data={"k": "nope", "sub_order_id": sub_id}).status_code
        == 404
    )
    response = client.post(f"/orders/{ref}/cancel", data={"k": key, "sub_order_id": sub_id})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(SubOrder, sub_id).status == "cancelled"
        assert available_units([v1])[v1] == 10
    assert "Đã hủy" in client.get(link).get_data(as_text=True)


def test_recalling_a_lot_reaches_its_buyers_once(app, client):
    with app.app_context():
        producer, product, variant, batch = stocked_product(units=10, name="Cam Cao Phong")
        from tests.factories import make_batch

        packed = make_batch(product, parents=[batch], quantity="50")

        other_variant = product.variants[0].id
        db.session.commit()
        v1, batch_id, packed_id = variant.id, batch.id, packed.id
    links = []
    for phone in ("0912345678", "0987654321"):
        buyer = app.test_client()
        _fill_cart(buyer, (v1, 1))
        buyer.get("/checkout")
        links.append(
            (buyer, buyer.post("/checkout", data=_checkout_form(phone=phone)).headers["Location"])
        )
    with app.app_context():
        before = _count(OutboxMessage)
        from traceability.lots.recalls import recall_batch

        recall_batch(batch_id, reason="Kiểm nghiệm không đạt", actor_id=None, actor_role="admin")
        db.session.commit()
        assert _count(OutboxMessage) - before == 2  # one per buyer
        assert available_units([v1])[v1] == 0  # the recalled lot is no longer sold
        assert (
            db.session.scalar(
                select(func.count()).select_from(Order).where(Order.recall_flagged_at.is_not(None))
            )
            == 2
        )
    for buyer, link in links:
        assert "Thu hồi sản phẩm" in buyer.get(link).get_data(as_text=True)
    assert other_variant and packed_id
