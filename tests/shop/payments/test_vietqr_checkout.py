"""A buyer chooses VietQR at checkout: the order waits for the transfer (its units held as the
shop holds unpaid orders), the transfer page shows the QR and the same as text, the QR scans to
exactly the order's amount and reference, and an unpaid order expires and gives its stock back."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import zxingcpp
from PIL import Image
from qr_pay import decode as napas_decode
from sqlalchemy import update

from core.db import db, unit_of_work, utcnow
from shop.inventory.services import available_units
from shop.orders.models import Order, OrderStatus, SubOrder
from shop.orders.services import expire_unconfirmed
from shop.payments.models import PaymentStatus
from shop.payments.services import payments_of
from tests.shop.helpers import HANOI, hanoi_ward, stocked_product


def _product(app, units=5):
    with app.app_context():
        _p, _product, variant, _b = stocked_product(units=units, price=150000)
        db.session.commit()
        return variant.id


def _buy(client, variant_id, quantity=1, method="vietqr"):
    client.post("/cart/add", data={"variant_id": variant_id, "quantity": quantity})
    client.get("/checkout")
    return client.post(
        "/checkout",
        data={
            "name": "Chị Mai",
            "phone": "0912 345 678",
            "province_code": str(HANOI),
            "ward_code": str(hanoi_ward()),
            "street": "12 Hàng Bài",
            "payment_method": method,
        },
    )


def test_a_buyer_paying_by_vietqr_sees_the_qr_and_the_transfer_details(app, client):
    variant_id = _product(app)
    response = _buy(client, variant_id, quantity=2)
    assert response.status_code == 303
    location = response.headers["Location"]
    ref, key = re.search(r"/orders/([A-Z0-9-]+)/transfer\?k=([^&]+)", location).groups()
    page = client.get(location)
    assert page.headers["Cache-Control"] == "private, no-store"
    html = page.get_data(as_text=True)
    with app.app_context():
        order = db.session.scalar(db.select(Order).where(Order.ref == ref))
        total, order_id = order.total_vnd, order.id
        assert order.payment_method == "vietqr"
        assert {s.status for s in order.sub_orders} == {OrderStatus.PLACED}
        assert payments_of(order.id)[0].status == PaymentStatus.PENDING
        assert available_units([variant_id])[variant_id] == 3  # held for this order
    amount_text = f"{total:,}".replace(",", ".") + "\xa0₫"
    for shown in ("Co-opBank", "1000123456", "CONG TY CHO QUE", amount_text, ref):
        assert shown in html, shown
    assert "Đang chờ chuyển khoản" in html
    assert "<script" not in html.split("<main", 1)[1]  # nothing on the page needs JavaScript
    png = client.get(f"/orders/{ref}/transfer.png?k={key}")
    assert png.status_code == 200 and png.mimetype == "image/png"
    (scanned,) = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))]
    fields = napas_decode(scanned)
    assert fields["transaction_amount"] == str(total)
    assert fields["purpose_of_transaction"] == ref
    assert fields["bin_id"] == "970446" and fields["consumer_id"] == "1000123456"
    order_page = client.get(f"/orders/{ref}?k={key}").get_data(as_text=True)
    assert "Đang chờ chuyển khoản" in order_page and "Trả tiền mặt" not in order_page
    # Someone without the key sees nothing.
    other = app.test_client()
    assert other.get(f"/orders/{ref}/transfer?k=wrong").status_code == 404
    assert other.get(f"/orders/{ref}/transfer.png").status_code == 404
    assert order_id


def test_an_unpaid_transfer_order_expires_and_its_units_come_back(app, client):
    variant_id = _product(app, units=2)
    location = _buy(client, variant_id, quantity=2).headers["Location"]
    with app.app_context():
        assert available_units([variant_id])[variant_id] == 0
        db.session.execute(update(SubOrder).values(created_at=utcnow() - timedelta(minutes=61)))
        db.session.commit()
        with unit_of_work():
            assert expire_unconfirmed(app.config["VIETQR_PAY_MINUTES"]) == 1
        assert available_units([variant_id])[variant_id] == 2
    page = client.get(location).get_data(as_text=True)
    assert "Đơn này không còn chờ chuyển khoản" in page
    ref_key = location.split("/orders/")[1].split("/transfer?k=")
    assert client.get(f"/orders/{ref_key[0]}/transfer.png?k={ref_key[1]}").status_code == 404


def test_a_cash_order_has_no_transfer_page(app, client):
    variant_id = _product(app)
    location = _buy(client, variant_id, method="cod").headers["Location"]
    ref, key = re.search(r"/orders/([A-Z0-9-]+)\?k=([^&]+)", location).groups()
    html = client.get(f"/orders/{ref}/transfer?k={key}").get_data(as_text=True)
    assert "không còn chờ chuyển khoản" in html
    assert client.get(f"/orders/{ref}/transfer.png?k={key}").status_code == 404


def test_flask_shop_expire_gives_buyers_the_time_the_transfer_page_promised(
    app, client, monkeypatch
):
    """The transfer page promises VIETQR_PAY_MINUTES; the scheduled `flask shop expire` (no
    --minutes) must not cancel an order before then, and does cancel it after."""
    minutes = 90  # not the command's old fixed 60
    monkeypatch.setitem(app.config, "VIETQR_PAY_MINUTES", minutes)
    variant_id = _product(app, units=1)
    _buy(client, variant_id)
    runner = app.test_cli_runner()

    def age(by_minutes):
        with app.app_context():
            db.session.execute(
                update(SubOrder).values(created_at=utcnow() - timedelta(minutes=by_minutes))
            )
            db.session.commit()

    age(minutes - 2)
    result = runner.invoke(args=["shop", "expire"])
    assert result.exit_code == 0 and "expired 0 order parts" in result.output
    age(minutes + 1)
    result = runner.invoke(args=["shop", "expire"])
    assert "expired 1 order parts" in result.output
    with app.app_context():
        assert available_units([variant_id])[variant_id] == 1
    bad = runner.invoke(args=["shop", "expire", "--minutes", "-5"])
    assert bad.exit_code != 0
