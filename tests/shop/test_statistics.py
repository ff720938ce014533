"""The shop's "Selling" statistics section: scoped like the other sections, figures equal a
direct count of the shop's records, exports hold what the page shows."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.db import db
from shop.orders.models import Order, OrderLine, RecallNotice, SubOrder
from shop.orders.services import producer_move
from shop.payments.models import Payment
from tests.conftest import login
from tests.factories import make_producer, make_user
from tests.shop.helpers import order_of, stocked_product
from traceability.models import Batch

THANH_HOA = 38


def _table(html: str, key: str) -> dict[str, list[str]]:
    match = re.search(rf'<table id="table-{key}">(.*?)</table>', html, re.S)
    assert match, f"no table {key}"
    rows = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", match.group(1), re.S):
        head = re.search(r'<th scope="row">(.*?)</th>', row, re.S)
        if head:
            rows[re.sub(r"<[^>]+>", "", head.group(1)).strip()] = re.findall(
                r'data-value="([^"]*)"', row
            )
    return rows


def _world(app):
    from core.places import wards_of

    with app.app_context():
        lan, tuan = make_user(name="Bà Lan"), make_user(name="Anh Tuấn")
        cam = make_producer(name="HTX Cam Cao Phong", manager=lan)
        rau = make_producer(
            name="HTX Rau Hoằng Hóa",
            province_code=THANH_HOA,
            ward_code=wards_of(THANH_HOA)[0].code,
            manager=tuan,
        )
        _p, _prod, v_cam, b_cam = stocked_product(cam, units=20, price=100000, name="Cam")
        _p, _prod, v_rau, _b = stocked_product(rau, units=20, price=30000, name="Rau")
        first = order_of((v_cam.id, 2), (v_rau.id, 3))
        order_of((v_cam.id, 1))
        sub = next(s for s in first.sub_orders if s.producer_id == cam.id)
        for step in ("packed", "shipped"):
            producer_move(
                cam.id, sub.id, step, actor_id=lan.id, carrier="VNPost", tracking_number="VN123"
            )
        admin = make_user(name="Quản trị", admin=True)
        db.session.commit()
        return {
            "lan": lan.id,
            "tuan": tuan.id,
            "cam": cam.id,
            "rau": rau.id,
            "admin": admin.id,
            "batch": b_cam.id,
        }


def _direct(producer_id: int | None) -> tuple[int, int, int]:
    query = (
        select(
            func.count(func.distinct(SubOrder.id)),
            func.coalesce(func.sum(OrderLine.quantity), 0),
            func.coalesce(func.sum(OrderLine.line_total_vnd), 0),
        )
        .select_from(OrderLine)
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .where(SubOrder.status != "cancelled")
    )
    if producer_id is not None:
        query = query.where(SubOrder.producer_id == producer_id)
    return tuple(int(v) for v in db.session.execute(query).one())


def test_a_manager_sees_only_their_own_selling_figures(app, client):
    w = _world(app)
    login(client, w["tuan"])
    assert client.get(f"/statistics/selling?producer={w['cam']}").status_code == 404
    assert client.get(f"/statistics/selling.csv?producer={w['cam']}").status_code == 404
    html = client.get("/statistics/selling").get_data(as_text=True)
    assert "Cam Cao Phong" not in html
    provinces = _table(html, "selling_producer_provinces")
    assert list(provinces) == ["Thanh Hóa"]
    with app.app_context():
        assert provinces["Thanh Hóa"] == [str(v) for v in _direct(w["rau"])]
    buyers = _table(html, "selling_buyer_provinces")
    assert buyers["Thành phố Hà Nội"] == provinces["Thanh Hóa"]
    csv_body = client.get("/statistics/selling.csv").get_data(as_text=True)
    assert "Cam Cao Phong" not in csv_body and "Rau" in csv_body


def test_country_figures_equal_a_direct_count(app, client):
    w = _world(app)
    login(client, w["admin"])
    html = client.get("/statistics/selling").get_data(as_text=True)
    with app.app_context():
        orders, units, revenue = _direct(None)
        cam = _direct(w["cam"])
        cod = db.session.scalar(
            select(func.count(func.distinct(Payment.sub_order_id))).where(Payment.method == "cod")
        )
    rows = _table(html, "selling_producer_provinces")
    assert sum(int(r[0]) for r in rows.values()) == orders == 3
    assert sum(int(r[2]) for r in rows.values()) == revenue == 3 * 100000 + 3 * 30000
    assert rows["Phú Thọ"] == [str(v) for v in cam]
    assert _table(html, "selling_buyer_provinces")["Thành phố Hà Nội"] == [
        str(orders),
        str(units),
        str(revenue),
    ]
    payments = _table(html, "selling_payments")
    assert payments["Thanh toán khi nhận hàng"][0] == str(cod) == "3"
    assert payments["Không dùng tiền mặt (thẻ + VietQR)"][0] == "0"
    shipping = _table(html, "selling_shipping")
    assert shipping["Đơn đã gửi đi"] == ["1"]
    top = _table(html, "selling_top_products")
    assert list(top)[0] == "Cam"
    assert client.get("/statistics/selling.xlsx").status_code == 200


def test_recall_buyers_come_from_the_shops_notices(app, client):
    w = _world(app)
    with app.app_context():
        from shop.orders.services import handle_recall

        handle_recall([w["batch"]], w["batch"], "Nhiễm khuẩn")
        db.session.commit()
        told = db.session.scalar(
            select(func.count(func.distinct(Order.buyer_phone))).join(
                RecallNotice, RecallNotice.order_id == Order.id
            )
        )
        assert db.session.get(Batch, w["batch"]) is not None
    login(client, w["admin"])
    rows = _table(client.get("/statistics/selling").get_data(as_text=True), "recall_buyers")
    assert rows["Đơn hàng được đánh dấu"] == ["2"]
    assert rows["Người mua được báo"] == [str(told)] == ["1"]
    login(client, w["tuan"])
    rows = _table(client.get("/statistics/selling").get_data(as_text=True), "recall_buyers")
    assert rows["Đơn hàng được đánh dấu"] == ["0"]


def test_stars_are_those_shown_when_sold(app, client):
    from tests.factories import make_certificate

    with app.app_context():
        _p, product, variant, _b = stocked_product(units=5, price=50000)
        certificate = make_certificate(product, total="92")  # 5★
        order = order_of((variant.id, 2))
        assert [line.ocop_stars for line in order.lines] == [5]
        certificate.status = "revoked"  # no longer certified today: the sale stays a 5★ sale
        admin = make_user(name="Quản trị", admin=True)
        db.session.commit()
        admin_id = admin.id
    login(client, admin_id)
    rows = _table(client.get("/statistics/selling").get_data(as_text=True), "selling_stars")
    assert rows["5★"] == ["1", "2", "100000"]
    assert rows["Chưa có chứng nhận còn hiệu lực"] == ["0", "0", "0"]


def test_a_provincial_council_member_sees_their_province_only(app, client):
    from tests.factories import make_council_member

    w = _world(app)
    with app.app_context():
        council = make_council_member("province", THANH_HOA)
        db.session.commit()
        council_id = council.id
        rau = [str(v) for v in _direct(w["rau"])]
    login(client, council_id)
    html = client.get("/statistics/selling").get_data(as_text=True)
    assert _table(html, "selling_producer_provinces") == {"Thanh Hóa": rau}
    assert client.get("/statistics/selling?province=25").status_code == 404
    assert client.get("/statistics/selling.xlsx?province=25").status_code == 404
