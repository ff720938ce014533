"""Settlement: each producer sees what it is owed (from the ledger), only the platform admin
records payouts, the CSV of a period adds up, and nobody sees another producer's figures."""

from __future__ import annotations

import csv
import io

from core.db import db
from shop.payments import ledger
from shop.payments.services import payments_of
from tests.conftest import login
from tests.factories import make_user
from tests.shop.helpers import order_of, stocked_product


def _paid_world(app, fee_percent=10):
    app.config["PLATFORM_FEE_PERCENT"] = fee_percent
    with app.app_context():
        manager = make_user(name="Quản lý A")
        producer, _product, variant, _b = stocked_product(price=200000, manager=manager)
        other_manager = make_user(name="Quản lý B")
        other, _p2, _v2, _b2 = stocked_product(price=50000, manager=other_manager)
        admin = make_user(name="Quản trị", admin=True)
        order = order_of((variant.id, 2), payment_method="vietqr")
        (payment,) = payments_of(order.id)
        ledger.mark_paid(
            payment, source="vietqr", external_id="vcb:FT1", amount_vnd=order.total_vnd
        )
        ledger.record_refund(
            order.sub_orders[0], 200000, method="vietqr", reference="HT-1", actor_id=admin.id
        )
        db.session.commit()
        return {
            "producer": producer.id,
            "other": other.id,
            "manager": manager.id,
            "other_manager": other_manager.id,
            "admin": admin.id,
            "total": order.total_vnd,
            "ref": order.ref,
        }


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + "\xa0₫"


def test_a_producer_sees_sales_minus_refunds_and_fee_and_the_admin_records_a_payout(app, client):
    w = _paid_world(app)
    try:
        owed = w["total"] - 200000 - 40000  # 10% fee on 400.000 of goods
        login(client, w["manager"])
        page = client.get(f"/manage/{w['producer']}/settlement").get_data(as_text=True)
        assert _vnd(owed) in page and _vnd(w["total"]) in page and "Hoàn tiền" in page
        assert "Ghi nhận khoản đã chuyển" not in page  # managers cannot record payouts
        refused = client.post(
            f"/manage/{w['producer']}/settlement/payouts",
            data={"amount_vnd": "1000", "reference": "CK-1"},
        )
        assert refused.status_code == 403

        login(client, w["admin"])
        too_much = client.post(
            f"/manage/{w['producer']}/settlement/payouts",
            data={"amount_vnd": str(owed + 1), "reference": "CK-1"},
        )
        assert too_much.status_code == 422
        assert f'value="{owed + 1}"' in too_much.get_data(as_text=True)  # typed value kept
        bad = client.post(
            f"/manage/{w['producer']}/settlement/payouts",
            data={"amount_vnd": "１０００", "reference": "CK-1"},
        )
        assert bad.status_code == 422
        for _n in range(2):  # a double click records it once
            done = client.post(
                f"/manage/{w['producer']}/settlement/payouts",
                data={"amount_vnd": f"{owed:,}".replace(",", "."), "reference": "CK-1"},
            )
            assert done.status_code == 303
        with app.app_context():
            assert ledger.balance_of(w["producer"]).owed == 0
            assert ledger.balance_of(w["producer"]).payouts == owed

        login(client, w["manager"])
        export = client.get(f"/manage/{w['producer']}/settlement.csv?period=30d")
        assert export.status_code == 200 and export.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
        amounts = [int(r[3]) for r in rows if len(r) == 6 and r[3].lstrip("-").isascii()
                   and r[3].lstrip("-").isdecimal()]  # fmt: skip
        assert sum(amounts) == 0  # sales − refund − fee − payout: nothing left owed
        assert any(w["ref"] in r for r in rows)
    finally:
        app.config["PLATFORM_FEE_PERCENT"] = 0


def test_another_producers_manager_sees_nothing(app, client):
    w = _paid_world(app, fee_percent=0)
    login(client, w["other_manager"])
    for url in (
        f"/manage/{w['producer']}/settlement",
        f"/manage/{w['producer']}/settlement.csv",
        f"/manage/{w['producer']}/transfers",
    ):
        assert client.get(url).status_code == 404, url
    own = client.get(f"/manage/{w['other']}/settlement").get_data(as_text=True)
    assert w["ref"] not in own and _vnd(0) in own


def test_a_bad_period_is_explained_and_the_page_still_answers(app, client):
    w = _paid_world(app, fee_percent=0)
    login(client, w["manager"])
    page = client.get(f"/manage/{w['producer']}/settlement?from=2026-13-01&to=x")
    assert page.status_code == 200
    assert "Nhập ngày dạng 2025-07-01" in page.get_data(as_text=True)
