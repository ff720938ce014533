"""The signed "transfer received" notification: a genuine one pays the order once however often it
is sent; a forged, stale or malformed one is refused with problem+json and changes nothing."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from core.db import db
from shop.orders.models import Order, OrderStatus
from shop.payments.models import LedgerEntry, PaymentEvent, PaymentStatus
from shop.payments.reconciliation_models import BankTransfer, TransferStatus
from shop.payments.reconciliation_webhook import sign
from shop.payments.services import payments_of
from tests.shop.helpers import order_of, stocked_product

SECRET = "whsec-test-bank-notifications"
URL = "/payments/bank-notifications"


@pytest.fixture
def signed_app(app):
    app.config["BANK_WEBHOOK_SECRET"] = SECRET
    yield app
    app.config["BANK_WEBHOOK_SECRET"] = ""


def _order(app):
    with app.app_context():
        _p, _product, variant, _b = stocked_product(price=150000)
        order = order_of((variant.id, 1), payment_method="vietqr")
        db.session.commit()
        return order.id, order.ref, order.total_vnd


def _body(ref: str, amount: int, **overrides) -> bytes:
    payload = {
        "id": 92704,
        "gateway": "Vietcombank",
        "transactionDate": "2026-11-30 10:00:00",
        "accountNumber": "1000123456",
        "transferType": "in",
        "transferAmount": amount,
        "content": f"MBVCB.88 {ref} chuyen khoan",
        "referenceCode": "FT26334999",
    }
    payload.update(overrides)
    return json.dumps(payload).encode()


def _post(client, body: bytes, *, secret=SECRET, at=None, signature=None):
    timestamp = str(int(at if at is not None else time.time()))
    headers = {
        "X-Bank-Timestamp": timestamp,
        "X-Bank-Signature": signature or sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }
    return client.post(URL, data=body, headers=headers)


def _state():
    return (
        db.session.scalar(select(func.count()).select_from(BankTransfer)),
        db.session.scalar(select(func.count()).select_from(PaymentEvent)),
        db.session.scalar(select(func.count()).select_from(LedgerEntry)),
    )


def test_a_signed_notification_pays_the_order_once_however_often_it_comes(signed_app, client):
    order_id, ref, total = _order(signed_app)
    body = _body(ref.lower().replace("-", ""), total)
    first = _post(client, body)
    assert first.status_code == 200 and first.get_json()["status"] == TransferStatus.MATCHED
    with signed_app.app_context():
        order = db.session.get(Order, order_id)
        assert payments_of(order_id)[0].status == PaymentStatus.PAID
        assert {s.status for s in order.sub_orders} == {OrderStatus.CONFIRMED}
        before = _state()
    for _n in range(3):  # the service retries, or a person replays it
        again = _post(client, body)
        assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    with signed_app.app_context():
        assert _state() == before == (1, 1, before[2])
    page = client.get(f"/orders/{ref}/transfer", query_string={"k": _secret(signed_app, order_id)})
    assert "Đã nhận tiền chuyển khoản" in page.get_data(as_text=True)


def _secret(app, order_id):
    with app.app_context():
        return db.session.get(Order, order_id).secret


@pytest.mark.parametrize(
    "attack",
    ["forged", "wrong_secret", "stale", "future", "missing", "tampered_amount"],
)
def test_forged_or_stale_notifications_are_refused_and_change_nothing(signed_app, client, attack):
    order_id, ref, total = _order(signed_app)
    body = _body(ref, total)
    if attack == "forged":
        response = _post(client, body, signature="sha256=" + "0" * 64)
    elif attack == "wrong_secret":
        response = _post(client, body, secret="not-the-secret")
    elif attack == "stale":
        response = _post(client, body, at=time.time() - 3600)
    elif attack == "future":
        response = _post(client, body, at=time.time() + 3600)
    elif attack == "missing":
        response = client.post(URL, data=body, headers={"Content-Type": "application/json"})
    else:
        timestamp = str(int(time.time()))
        signature = sign(SECRET, timestamp, body)
        response = client.post(
            URL,
            data=_body(ref, total + 1),
            headers={"X-Bank-Timestamp": timestamp, "X-Bank-Signature": signature},
        )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400
    with signed_app.app_context():
        assert _state() == (0, 0, 0)
        assert payments_of(order_id)[0].status == PaymentStatus.PENDING


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"id": 1, "transferAmount": "mot tram"}).encode(),
        json.dumps({"id": 1, "transferAmount": -5, "content": "x"}).encode(),
        json.dumps({"id": 1, "transferAmount": True, "content": "x"}).encode(),
        json.dumps({"transferAmount": 100, "content": "x"}).encode(),
        json.dumps({"id": {"a": 1}, "transferAmount": 100}).encode(),
        json.dumps({"id": 1, "transferAmount": 10**30}).encode(),
    ],
)
def test_malformed_but_signed_notifications_are_refused(signed_app, client, body):
    response = _post(client, body)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    with signed_app.app_context():
        assert _state() == (0, 0, 0)


def test_without_a_configured_secret_every_notification_is_refused(app, client):
    _order_id, ref, total = _order(app)
    response = _post(client, _body(ref, total), secret="")
    assert response.status_code == 400
    with app.app_context():
        assert _state() == (0, 0, 0)


def test_too_much_or_too_little_is_flagged_not_paid(signed_app, client):
    order_id, ref, total = _order(signed_app)
    short = _post(client, _body(ref, total - 1000, referenceCode="FT1"))
    assert short.get_json()["status"] == TransferStatus.PARTIAL
    over = _post(client, _body(ref, total + 1000, referenceCode="FT2"))
    assert over.get_json()["status"] == TransferStatus.OVER
    with signed_app.app_context():
        assert payments_of(order_id)[0].status == PaymentStatus.PENDING
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    exact = _post(client, _body(ref, total, referenceCode="FT3"))
    assert exact.get_json()["status"] == TransferStatus.MATCHED
    again = _post(client, _body(ref, total, referenceCode="FT4"))  # paid twice by the buyer
    assert again.get_json()["status"] == TransferStatus.OVER


def test_money_going_out_or_to_another_account_is_ignored(signed_app, client):
    _order_id, ref, total = _order(signed_app)
    out = _post(client, _body(ref, total, transferType="out"))
    other = _post(client, _body(ref, total, accountNumber="999999"))
    assert out.get_json() == {"status": "ignored"} == other.get_json()
    with signed_app.app_context():
        assert _state() == (0, 0, 0)


def test_a_notified_transfer_uploaded_later_in_a_statement_is_not_applied_again(signed_app, client):
    """The notification and the statement both carry the bank's reference (FT…)."""
    import io

    from tests.conftest import login
    from tests.factories import make_user

    order_id, ref, total = _order(signed_app)
    assert _post(client, _body(ref, total)).get_json()["status"] == TransferStatus.MATCHED
    with signed_app.app_context():
        admin = make_user(name="Quản trị", admin=True)
        db.session.commit()
        admin_id = admin.id
        before = _state()
    login(client, admin_id)
    amount = f"{total:,}".replace(",", ".")
    csv_text = f"Ngày;Số tham chiếu;Ghi có;Nội dung\n30/11/2026;FT26334999;{amount};{ref}\n"
    response = client.post(
        "/admin/transfers/statements",
        data={"bank": "vietcombank", "statement": (io.BytesIO(csv_text.encode()), "s.csv")},
        content_type="multipart/form-data",
    )
    location = response.headers["Location"]
    upload = location.split("upload=")[1]
    client.post(
        "/admin/transfers/statement",
        data={
            "upload": upload,
            "date": "Ngày",
            "reference": "Số tham chiếu",
            "credit": "Ghi có",
            "description": "Nội dung",
        },
    )
    with signed_app.app_context():
        assert _state() == before
        assert payments_of(order_id)[0].status == PaymentStatus.PAID
