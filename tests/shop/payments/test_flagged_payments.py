"""Money the system could not apply by itself reaches a person: the platform admin sees every
flagged payment event once, records how it was handled, and nobody else sees the list."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from shop.payments import flagged, ledger
from shop.payments.models import LedgerEntry
from shop.payments.services import payments_of
from shop.payments.verify import first_disagreement
from tests.conftest import login
from tests.factories import make_user
from tests.shop.helpers import order_of, stocked_product


def _wrong_card_amount(app) -> tuple[str, int]:
    """A card that paid 1.000 ₫ less than the order: flagged, not paid."""
    with app.app_context():
        _producer, _product, variant, _batch = stocked_product(price=100000)
        order = order_of((variant.id, 1), payment_method="card")
        (payment,) = payments_of(order.id)
        result = ledger.mark_paid(
            payment, source="stripe", external_id="pi_short", amount_vnd=order.total_vnd - 1000
        )
        db.session.commit()
        assert result.flagged
        return order.ref, result.event_id


def _user(app, **kwargs) -> int:
    with app.app_context():
        user = make_user(**kwargs)
        db.session.commit()
        return user.id


def test_the_admin_sees_a_flagged_card_payment_and_resolves_it_once(app, client):
    ref, event_id = _wrong_card_amount(app)
    login(client, _user(app, name="Quản trị", admin=True))
    page = client.get("/admin/payments/flagged").get_data(as_text=True)
    assert ref in page and "Số tiền không khớp" in page and "pi_short" in page

    # Too short a note: refused with the typed text kept, nothing recorded.
    refused = client.post(
        "/admin/payments/flagged/resolve", data={"event_id": event_id, "note": "ok"}
    )
    assert refused.status_code == 422
    assert 'value="ok"' in refused.get_data(as_text=True)
    assert ref in client.get("/admin/payments/flagged").get_data(as_text=True)

    done = client.post(
        "/admin/payments/flagged/resolve",
        data={"event_id": event_id, "note": "Đã hoàn 99.000 ₫ qua Stripe, khách đặt lại"},
    )
    assert done.status_code == 303
    assert ref not in client.get("/admin/payments/flagged").get_data(as_text=True)
    again = client.post(
        "/admin/payments/flagged/resolve", data={"event_id": event_id, "note": "lần nữa"}
    )
    assert again.status_code == 303
    assert "đã được xử lý" in client.get("/admin/payments/flagged").get_data(as_text=True)
    with app.app_context():
        # A resolution moves no money: no ledger entry, totals still agree.
        assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0
        assert first_disagreement() is None


def test_only_the_platform_admin_sees_or_resolves_flags(app, client):
    _ref, event_id = _wrong_card_amount(app)
    login(client, _user(app, name="Người bán"))
    assert client.get("/admin/payments/flagged").status_code == 403
    post = client.post(
        "/admin/payments/flagged/resolve", data={"event_id": event_id, "note": "tự xử lý"}
    )
    assert post.status_code == 403
    with app.app_context():
        from shop.payments.flagged import open_flags

        assert [f.event.id for f in open_flags()] == [event_id]


def test_an_unknown_or_unflagged_event_is_not_found(app, client):
    login(client, _user(app, name="Quản trị", admin=True))
    for event_id in ("999999", "abc", ""):
        response = client.post(
            "/admin/payments/flagged/resolve", data={"event_id": event_id, "note": "ghi chú"}
        )
        assert response.status_code == 404


def test_a_short_bank_transfer_is_handled_on_the_transfers_page_only(app, client):
    """One flag, one place: a transfer paid short is resolved on the transfers page; listing it
    here too would have a person handle it twice."""
    from shop.payments.reconciliation import Received, receive

    with app.app_context():
        _producer, _product, variant, _batch = stocked_product(price=100000)
        order = order_of((variant.id, 1), payment_method="vietqr")
        receive(
            Received(
                bank="coopbank",
                txn_key="FT-SHORT",
                source="webhook",
                booked_on=order.created_at.date(),
                amount_vnd=order.total_vnd - 5000,
                description=order.ref,
            )
        )
        db.session.commit()
        ref = order.ref
        assert [f.event.source for f in flagged.open_flags()] == []
    login(client, _user(app, name="Quản trị", admin=True))
    assert ref not in client.get("/admin/payments/flagged").get_data(as_text=True)
    assert ref in client.get("/admin/transfers").get_data(as_text=True)
