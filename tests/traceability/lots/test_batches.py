"""Batches (lots): validation, lineage one step back / one step forward, the scan read model."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select

from accounts.models import AuditEntry
from cooperatives.models import Product
from core.db import db
from core.errors import Invalid
from core.i18n import local_today
from tests.conftest import login
from tests.factories import add_member, make_batch, make_producer, make_product, make_user
from traceability.lots import events
from traceability.lots.batches import create_batch
from traceability.lots.lineage import add_parents, children, parents
from traceability.lots.summary import trace_summary
from traceability.models import Batch, BatchImage, BatchInput, TraceEvent


def _lot(producer_id: int, product: int, **overrides):
    fields = {
        "product_id": product,
        "lot_code": "CP-2026-11A",
        "produced_on": date(2026, 11, 10),
        "quantity": "5000",
        "unit": "kg",
    }
    fields.update(overrides)
    return create_batch(producer_id, **fields)


def test_a_harvest_is_recorded_with_its_first_trace_event(ctx):
    producer = make_producer()
    product = make_product(producer, name="Cam Cao Phong loại 1")
    batch = _lot(
        producer.id,
        product.id,
        standards=["VietGAP"],
        other_standards="TCCS 01:2024/HTX",
        inputs_used="Phân hữu cơ vi sinh 2 tấn/ha",
        best_before=date(2026, 12, 10),
        latitude="20.7234",
        longitude="105.3311",
    )
    assert batch.quantity == Decimal("5000")
    assert batch.origin_ward_code == producer.ward_code  # the producer's commune by default
    assert batch.origin_province_code == producer.province_code
    assert batch.standards == ["VietGAP", "TCCS 01:2024/HTX"]
    assert batch.latitude == Decimal("20.723400")
    (first,) = events.events_of(batch.id)
    assert (first.kind, first.event_type, first.action, first.biz_step, first.disposition) == (
        "harvesting",
        "ObjectEvent",
        "ADD",
        "commissioning",
        "active",
    )
    assert first.details == {"quantity": "5000", "unit": "kg", "time_known": False}
    assert batch.chain_head == first.hash


def test_the_same_lot_code_is_refused_for_one_producer_but_free_for_another(ctx):
    producer = make_producer()
    other = make_producer()
    product = make_product(producer)
    other_product = make_product(other)
    _lot(producer.id, product.id)
    with pytest.raises(Invalid) as caught:
        _lot(producer.id, product.id, quantity="10")
    assert "CP-2026-11A" in str(caught.value.fields["lot_code"])
    assert "đã có" in str(caught.value.fields["lot_code"])
    reused = _lot(other.id, other_product.id)
    assert reused.lot_code == "CP-2026-11A"
    assert db.session.scalar(select(func.count(Batch.id))) == 2


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"lot_code": "CP 2026"}, "lot_code"),
        ({"lot_code": "X" * 21}, "lot_code"),
        ({"lot_code": "Lô-1"}, "lot_code"),
        ({"lot_code": ""}, "lot_code"),
        ({"produced_on": "2026-13-40"}, "produced_on"),
        ({"produced_on": ""}, "produced_on"),
        ({"produced_on": local_today() + timedelta(days=2)}, "produced_on"),
        ({"best_before": date(2026, 11, 1)}, "best_before"),
        ({"expires_on": "yesterday"}, "expires_on"),
        ({"quantity": "-5"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "năm tấn"}, "quantity"),
        ({"quantity": "1.2345"}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"unit": "thúng to"}, "unit"),
        ({"origin_ward_code": "999999"}, "origin_ward_code"),
        ({"latitude": "105.33", "longitude": "20.72"}, "latitude"),
        ({"latitude": "20.72"}, "longitude"),
        ({"standards": ["ISO 9999"]}, "standards"),
        ({"other_standards": "A" * 81}, "other_standards"),
        ({"product_id": "abc"}, "product_id"),
    ],
)
def test_bad_lot_input_is_refused_next_to_its_field_and_nothing_is_saved(ctx, overrides, field):
    producer = make_producer()
    product = make_product(producer)
    with pytest.raises(Invalid) as caught:
        _lot(producer.id, product.id, **overrides)
    assert field in caught.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count(Batch.id))) == 0


def test_a_product_of_another_producer_cannot_get_a_lot(ctx):
    producer = make_producer()
    other_product = make_product(make_producer())
    with pytest.raises(Invalid) as caught:
        _lot(producer.id, other_product.id)
    assert "product_id" in caught.value.fields


def test_a_packed_lot_names_its_raw_lot_one_step_back_and_one_step_forward(ctx):
    producer = make_producer()
    product = make_product(producer)
    raw = make_batch(product, "RAW-1")
    other_raw = make_batch(product, "RAW-2")
    blend = make_batch(
        product,
        "BLEND-1",
        parents=[raw, other_raw],
        parent_quantities={raw.id: "300", other_raw.id: "200"},
    )
    assert [b.lot_code for b in parents(blend)] == ["RAW-1", "RAW-2"]
    assert [b.lot_code for b in children(raw)] == ["BLEND-1"]
    assert parents(raw) == []
    (first,) = events.events_of(blend.id)
    assert first.kind == "transforming" and first.event_type == "TransformationEvent"
    assert {p["lot_code"]: p.get("quantity") for p in first.details["parents"]} == {
        "RAW-1": "300",
        "RAW-2": "200",
    }


def test_a_parent_lot_of_another_producer_is_refused_without_revealing_it(ctx):
    producer = make_producer()
    product = make_product(producer)
    foreign = make_batch(make_product(make_producer()), "THEIRS")
    with pytest.raises(Invalid) as unknown:
        make_batch(product, "MINE", parents=[foreign])
    fake = Batch(id=foreign.id + 1000)  # an id that does not exist answers the same
    with pytest.raises(Invalid) as missing:
        make_batch(product, "MINE", parents=[fake])
    assert unknown.value.fields["parents"] == missing.value.fields["parents"]


def test_lineage_cannot_loop(ctx):
    producer = make_producer()
    product = make_product(producer)
    a = make_batch(product, "A")
    b = make_batch(product, "B", parents=[a])
    c = make_batch(product, "C", parents=[b])
    db.session.commit()
    for child, parent in ((a, c), (a, b), (a, a)):
        with pytest.raises(Invalid) as caught:
            add_parents(child.id, [parent.id])
        assert "parents" in caught.value.fields
    db.session.rollback()
    assert db.session.scalar(select(func.count(BatchInput.id))) == 2


def test_a_later_blend_is_recorded_as_a_transformation(ctx):
    producer = make_producer()
    product = make_product(producer)
    a = make_batch(product, "A")
    b = make_batch(product, "B")
    event_ = add_parents(b.id, [a.id], parent_quantities={a.id: "20"})
    assert event_.kind == "transforming" and event_.seq == 2
    assert [p.lot_code for p in parents(b)] == ["A"]
    with pytest.raises(Invalid):
        add_parents(b.id, [a.id])  # already recorded


def test_trace_summary_applies_corrections_and_reads_in_a_handful_of_queries(app):
    with app.app_context():
        producer = make_producer()
        product = make_product(producer, name="Cam Cao Phong loại 1")
        raw = make_batch(product, "RAW", standards=["VietGAP", "hữu cơ"])
        batch = make_batch(product, "PACK", parents=[raw])
        make_batch(product, "GIFT", parents=[batch])
        shipped = events.record_event(batch.id, "shipping", details={"destination": "Hà Nộii"})
        events.correct_event(
            batch.id, shipped.id, reason="Sai chính tả", details={"destination": "Hà Nội"}
        )
        events.record_event(batch.id, "storing")
        db.session.commit()
        batch_id, raw_id = batch.id, raw.id

    counter = [0]
    with app.app_context():

        def _count(*_a, **_k):
            counter[0] += 1

        event.listen(db.engine, "before_cursor_execute", _count)
        try:
            summary = trace_summary(batch_id)
        finally:
            event.remove(db.engine, "before_cursor_execute", _count)
        assert counter[0] <= 6
        assert summary.product.name_vi == "Cam Cao Phong loại 1"
        assert summary.origin_text == "Xã Cao Phong, Phú Thọ"
        assert [p.lot_code for p in summary.parents] == ["RAW"]
        assert [c.lot_code for c in summary.children] == ["GIFT"]
        states = [(e.kind, e.state, e.details.get("destination")) for e in summary.events]
        assert ("shipping", "corrected", "Hà Nộii") in states
        assert ("shipping", "current", "Hà Nội") in states
        assert [e.kind for e in summary.journey] == ["transforming", "shipping", "storing"]
        assert summary.chain_head == db.session.get(Batch, batch_id).chain_head
        assert summary.recalled is False and summary.recall_origin is None
        raw_summary = trace_summary(raw_id)
        assert raw_summary.standards == ("VietGAP", "Hữu cơ (TCVN 11041)")


# ---- pages ------------------------------------------------------------------------------------


def _manager_with_product(app, role: str = "manager"):
    with app.app_context():
        producer = make_producer()
        user = make_user(name="Bà Lan")
        add_member(user, producer, role)
        product = make_product(producer, name="Cam Cao Phong loại 1")
        db.session.commit()
        return {"producer": producer.id, "user": user.id, "product": product.id}


def test_a_member_records_a_lot_from_the_short_form(app, client):
    ids = _manager_with_product(app, role="helper")
    login(client, ids["user"])
    page = client.get(f"/manage/{ids['producer']}/batches/new")
    assert page.status_code == 200
    assert '<option selected value="5089">' in page.text  # the producer's commune is preselected
    response = client.post(
        f"/manage/{ids['producer']}/batches/new",
        data={
            "product_id": str(ids["product"]),
            "lot_code": "CP-2026-11A",
            "produced_on": "2026-11-10",
            "quantity": "5000",
            "unit": "kg",
            "origin_ward_code": "5089",
            "standards": ["VietGAP"],
            "inputs_used": "Phân bón hữu cơ",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        batch = db.session.scalar(select(Batch))
        assert batch.lot_code == "CP-2026-11A" and batch.standards == ["VietGAP"]
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "batch.create"))
        assert (entry.actor_id, entry.actor_role, entry.producer_id) == (
            ids["user"],
            "helper",
            ids["producer"],
        )
        batch_id = batch.id
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "CP-2026-11A" in page.text and "VietGAP" in page.text
    assert f"/api/v1/batches/{batch_id}/epcis" in page.text


def test_a_bad_lot_form_keeps_what_was_typed_and_saves_nothing(app, client):
    ids = _manager_with_product(app)
    login(client, ids["user"])
    response = client.post(
        f"/manage/{ids['producer']}/batches/new",
        data={
            "product_id": str(ids["product"]),
            "lot_code": "CP 2026",
            "produced_on": "2026-11-10",
            "quantity": "-3",
            "unit": "kg",
            "inputs_used": "Phân chuồng ủ hoai",
        },
    )
    assert response.status_code == 422
    assert "không có khoảng trắng" in response.text
    assert "Phải lớn hơn 0." in response.text
    assert 'value="CP 2026"' in response.text
    assert "Phân chuồng ủ hoai" in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Batch.id))) == 0
        assert db.session.scalar(select(func.count(TraceEvent.id))) == 0


def test_a_post_without_csrf_token_is_refused_and_saves_nothing(app, client):
    ids = _manager_with_product(app)
    login(client, ids["user"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(
            f"/manage/{ids['producer']}/batches/new",
            data={
                "product_id": str(ids["product"]),
                "lot_code": "CP-2026-11A",
                "produced_on": "2026-11-10",
                "quantity": "5000",
                "unit": "kg",
            },
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(Batch.id))) == 0


def test_a_member_of_one_producer_gets_404_on_every_batch_route_of_another(app, client):
    with app.app_context():
        mine = make_producer()
        me = make_user()
        add_member(me, mine, "manager")
        make_batch(make_product(mine), "MINE-1")
        theirs = make_producer()
        draft = make_product(theirs, status="draft")
        batch = make_batch(draft, "THEIRS-1")
        shipped = events.record_event(batch.id, "shipping", details={"destination": "Huế"})
        db.session.commit()
        b, lot, ev, my_id, me_id = theirs.id, batch.id, shipped.id, mine.id, me.id
    login(client, me_id)
    routes = [
        ("get", f"/manage/{b}/batches"),
        ("get", f"/manage/{b}/batches/new"),
        ("post", f"/manage/{b}/batches/new"),
        ("get", f"/manage/{b}/batches/{lot}"),
        ("get", f"/manage/{b}/batches/{lot}/events/new?kind=shipping"),
        ("post", f"/manage/{b}/batches/{lot}/events/new?kind=shipping"),
        ("get", f"/manage/{b}/batches/{lot}/events/{ev}/correct"),
        ("post", f"/manage/{b}/batches/{lot}/events/{ev}/correct"),
        ("post", f"/manage/{b}/batches/{lot}/parents"),
        ("post", f"/manage/{b}/batches/{lot}/photos"),
        ("post", f"/manage/{b}/batches/{lot}/recall"),
        # their lot through my producer's address
        ("get", f"/manage/{my_id}/batches/{lot}"),
        ("get", f"/manage/{my_id}/batches/{lot}/events/new?kind=shipping"),
        ("get", f"/manage/{my_id}/batches/{lot}/events/{ev}/correct"),
        ("post", f"/manage/{my_id}/batches/{lot}/recall"),
        ("get", f"/recalls/batches/{lot}"),
        ("post", f"/recalls/batches/{lot}"),
        ("get", f"/api/v1/batches/{lot}"),
        ("get", f"/api/v1/batches/{lot}/epcis"),
        ("get", f"/api/v1/batches/{lot}/verify"),
    ]
    for method, url in routes:
        response = getattr(client, method)(url, data={"reason": "Thử thu hồi lô của người khác"})
        assert response.status_code == 404, (method, url, response.status_code)
    response = client.get(f"/api/v1/batches/{lot}/epcis")
    assert response.mimetype == "application/problem+json"
    with app.app_context():
        assert db.session.get(Batch, lot).status == "active"
        assert (
            db.session.scalar(select(func.count(TraceEvent.id)).where(TraceEvent.batch_id == lot))
            == 2
        )


def test_ids_too_large_for_the_database_answer_404_or_a_field_error(app, client):
    ids = _manager_with_product(app)
    login(client, ids["user"])
    huge = "99999999999999999999"
    for url in (
        f"/api/v1/batches/{huge}",
        f"/api/v1/batches/{huge}/epcis",
        f"/api/v1/batches/{huge}/verify",
        f"/manage/{ids['producer']}/batches/{huge}",
        f"/manage/{huge}/batches",
        f"/recalls/batches/{huge}",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        f"/manage/{ids['producer']}/batches/new",
        data={
            "product_id": huge,
            "lot_code": "CP-1",
            "produced_on": "2026-11-10",
            "quantity": "5",
            "unit": "kg",
            "parents": [huge],
        },
    )
    assert response.status_code == 422


def test_a_photo_is_added_to_a_lot_and_a_non_image_is_refused(app, client):
    import io

    from PIL import Image

    ids = _manager_with_product(app)
    with app.app_context():
        batch_id = make_batch(db.session.get(Product, ids["product"]), "CP-1").id
        db.session.commit()
    login(client, ids["user"])
    url = f"/manage/{ids['producer']}/batches/{batch_id}/photos"
    refused = client.post(url, data={"photo": (io.BytesIO(b"not an image"), "a.jpg")})
    assert refused.status_code == 422 and "không phải ảnh" in refused.text
    picture = io.BytesIO()
    Image.new("RGB", (800, 600), (240, 140, 20)).save(picture, "JPEG")
    picture.seek(0)
    response = client.post(url, data={"photo": (picture, "cam.jpg")})
    assert response.status_code == 302
    with app.app_context():
        (image,) = db.session.scalars(select(BatchImage)).all()
        assert (image.batch_id, image.width, image.height) == (batch_id, 800, 600)
        key = image.key
    page = client.get(f"/manage/{ids['producer']}/batches/{batch_id}")
    assert f"/media/{key}/thumb.webp" in page.text
    media = client.get(f"/media/{key}/thumb.webp")
    media.close()
    assert media.status_code == 200
