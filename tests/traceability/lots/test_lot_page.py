"""The lot page as a farmer or a helper uses it: no second harvest offered, who entered the
lot named on it, and only addresses that answer."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from core.db import db
from tests.conftest import login
from tests.factories import add_member, make_producer, make_product, make_user
from traceability.models import Batch

LOT = {
    "lot_code": "HH-2026-01",
    "produced_on": "2026-11-10",
    "quantity": "120",
    "unit": "kg",
    "origin_ward_code": "5089",
}


def _helper_records_a_lot(app, client, gtin: str | None = None) -> tuple[int, int, str]:
    with app.app_context():
        producer = make_producer(name="Hộ Nguyễn Văn A", kind="ho")
        helper = make_user(name="Anh Tuấn")
        add_member(helper, producer, "helper")
        product = make_product(producer, name="Rau cải", gtin=gtin)
        db.session.commit()
        ids = producer.id, helper.id, product.id
    login(client, ids[1])
    response = client.post(f"/manage/{ids[0]}/batches/new", data={**LOT, "product_id": str(ids[2])})
    assert response.status_code == 302
    with app.app_context():
        batch_id = db.session.scalar(select(Batch.id))
    return ids[0], batch_id, client.get(response.headers["Location"]).text


def test_a_lot_page_names_the_helper_who_entered_it(app, client):
    _producer, _batch, page = _helper_records_a_lot(app, client)
    assert "Ghi bởi Anh Tuấn (người hỗ trợ) thay cho Hộ Nguyễn Văn A" in page


def test_saving_a_lot_records_its_harvest_so_a_second_one_is_not_offered(app, client):
    producer_id, batch_id, page = _helper_records_a_lot(app, client)
    assert "kind=harvesting" not in page
    assert "kind=packing" in page  # the other steps still are
    again = client.get(f"/manage/{producer_id}/batches/{batch_id}/events/new?kind=harvesting")
    assert again.status_code == 303
    assert "đã có sự kiện thu hoạch" in client.get(again.headers["Location"]).text


def test_a_lot_without_gtin_shows_no_address_that_would_answer_404(app, client):
    _producer, _batch, page = _helper_records_a_lot(app, client)
    assert "/id/producer/" not in page
    assert "chưa có mã GTIN" in page


def test_a_lot_with_gtin_shows_its_digital_link_and_it_answers(app, client):
    _producer, _batch, page = _helper_records_a_lot(app, client, gtin="08931234567897")
    link = "/01/08931234567897/10/HH-2026-01"
    assert link in page
    answer = client.get(link)
    if answer.status_code == 303:  # the resolver sends phones on to the link's default page
        target = urlsplit(answer.headers["Location"])
        answer = client.get(target.path, query_string=target.query)
    assert answer.status_code == 200
