"""Trace events: EPCIS meaning of each kind, append-only storage, corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import AuditEntry
from core.db import db
from core.errors import Conflict, Invalid
from tests.conftest import login
from tests.factories import add_member, make_batch, make_producer, make_product, make_user
from traceability.lots import event_kinds, events
from traceability.lots.events import AppendOnlyViolation, correct_event, record_event
from traceability.lots.timeline import timeline
from traceability.models import TraceEvent


def _batch():
    producer = make_producer()
    return make_batch(
        make_product(producer), "CP-2026-11A", quantity="5000", produced_on=date(2026, 11, 10)
    )


@pytest.mark.parametrize(
    ("kind", "details", "expected"),
    [
        ("planting", {"crop": "Cam Xã Đoài"}, ("OBSERVE", "choque:planting", "in_progress")),
        (
            "inputs",
            {"inputs": "NPK, 2 kg/gốc"},
            ("OBSERVE", "choque:applying_inputs", "in_progress"),
        ),
        ("harvesting", {"quantity": "50", "unit": "kg"}, ("ADD", "commissioning", "active")),
        ("inspecting", {"result": "pass"}, ("OBSERVE", "inspecting", "conformant")),
        ("inspecting", {"result": "fail"}, ("OBSERVE", "inspecting", "non_conformant")),
        ("packing", {"packaging": "thùng 10 kg"}, ("OBSERVE", "packing", "in_progress")),
        ("storing", {}, ("OBSERVE", "storing", "sellable_not_accessible")),
        ("shipping", {"destination": "Hà Nội"}, ("OBSERVE", "shipping", "in_transit")),
        ("receiving", {"source": "Siêu thị"}, ("OBSERVE", "receiving", "in_progress")),
    ],
)
def test_each_kind_carries_its_epcis_meaning(ctx, kind, details, expected):
    batch = _batch()
    event = record_event(batch.id, kind, details=details)
    assert event.event_type == "ObjectEvent"
    assert (event.action, event.biz_step, event.disposition) == expected
    assert event.seq == 2 and event.event_tz_offset == "+07:00"


def test_event_time_keeps_its_offset_and_is_stored_in_utc(ctx):
    batch = _batch()
    when = event_kinds.time_from_form("2026-11-12", "07:30")
    event = record_event(batch.id, "packing", event_time=when)
    db.session.expire(event)
    assert event.event_time == datetime(2026, 11, 12, 0, 30, tzinfo=UTC)
    assert event_kinds.local_event_time(event).strftime("%H:%M %z") == "07:30 +0700"


@pytest.mark.parametrize(
    ("kind", "details", "extra", "field"),
    [
        ("shipping", {}, {}, "destination"),
        ("inspecting", {"result": "maybe"}, {}, "result"),
        ("packing", {"quantity": "-1", "unit": "kg"}, {}, "quantity"),
        ("packing", {"quantity": "10"}, {}, "unit"),
        ("storing", {"note": "x" * 1001}, {}, "note"),
        ("storing", {}, {"tz_offset": "+7"}, "tz_offset"),
        ("storing", {}, {"location_ward_code": "abc"}, "location_ward_code"),
        ("storing", {}, {"event_time": datetime.now(UTC) + timedelta(days=1)}, "event_time"),
        ("storing", {}, {"event_time": datetime(1999, 1, 1, tzinfo=UTC)}, "event_time"),
        ("recalling", {"reason": "tự ý thu hồi"}, {}, "kind"),
        ("correction", {"reason": "x"}, {}, "kind"),
        ("dancing", {}, {}, "kind"),
    ],
)
def test_bad_event_input_is_refused_and_nothing_is_appended(ctx, kind, details, extra, field):
    batch = _batch()
    head = batch.chain_head
    with pytest.raises(Invalid) as caught:
        record_event(batch.id, kind, details=details, **extra)
    assert field in caught.value.fields
    assert db.session.scalar(select(func.count(TraceEvent.id))) == 1
    assert batch.chain_head == head


def test_unknown_detail_keys_are_refused(ctx):
    batch = _batch()
    with pytest.raises(Invalid):
        record_event(batch.id, "storing", details={"hash": "0" * 64})


def test_a_typed_date_and_time_are_checked(ctx):
    with pytest.raises(Invalid) as caught:
        event_kinds.time_from_form("10/11/2026", "25:99")
    assert set(caught.value.fields) == {"day", "clock"}


def test_events_cannot_be_updated_or_deleted_through_the_orm(app):
    with app.app_context():
        batch = _batch()
        event = record_event(batch.id, "shipping", details={"destination": "Hà Nội"})
        db.session.commit()
        event_id = event.id
    with app.app_context():
        event = db.session.get(TraceEvent, event_id)
        event.location_text = "Đà Nẵng"
        with pytest.raises(AppendOnlyViolation):
            db.session.flush()
        db.session.rollback()
        event = db.session.get(TraceEvent, event_id)
        db.session.delete(event)
        with pytest.raises(AppendOnlyViolation):
            db.session.flush()
        db.session.rollback()
    with app.app_context():
        event = db.session.get(TraceEvent, event_id)
        assert event.location_text == "" and event.details == {"destination": "Hà Nội"}


def test_a_correction_is_a_new_event_and_the_original_stays(ctx):
    batch = _batch()
    wrong = record_event(
        batch.id,
        "shipping",
        event_time=event_kinds.time_from_form("2026-11-12", "08:00"),
        details={"destination": "Hà Nam"},
    )
    original_hash = wrong.hash
    fixed = correct_event(
        batch.id,
        wrong.id,
        reason="Gõ nhầm tỉnh",
        event_time=event_kinds.time_from_form("2026-11-12", "08:00"),
        details={"destination": "Hà Nội"},
        recorded_by_id=None,
    )
    assert fixed.kind == "shipping" and fixed.corrects_event_id == wrong.id and fixed.seq == 3
    assert fixed.details == {"destination": "Hà Nội", "reason": "Gõ nhầm tỉnh"}
    db.session.expire_all()
    assert db.session.get(TraceEvent, wrong.id).hash == original_hash
    assert db.session.get(TraceEvent, wrong.id).details == {"destination": "Hà Nam"}
    entries = timeline(events.events_of(batch.id))
    by_id = {e.id: e for e in entries}
    assert by_id[wrong.id].state == "corrected" and by_id[wrong.id].superseded_by_id == fixed.id
    assert by_id[fixed.id].state == "current"
    # The replacement sits where the original happened, not where it was typed.
    assert [e.id for e in entries if e.is_current][-1] == fixed.id
    with pytest.raises(Conflict):
        correct_event(batch.id, wrong.id, reason="lần nữa", details={"destination": "Huế"})


def test_a_retraction_marks_an_event_that_did_not_happen(ctx):
    batch = _batch()
    mistake = record_event(batch.id, "storing", details={"note": "nhầm lô"})
    retraction = correct_event(batch.id, mistake.id, reason="Ghi nhầm lô", retract=True)
    assert retraction.kind == "correction" and retraction.corrects_event_id == mistake.id
    entries = timeline(events.events_of(batch.id))
    assert [(e.kind, e.state) for e in entries] == [
        ("harvesting", "current"),
        ("storing", "retracted"),
    ]


def test_corrections_need_a_reason_and_an_event_of_the_same_lot(ctx):
    batch = _batch()
    other = make_batch(make_product(make_producer()), "OTHER")
    theirs = record_event(other.id, "storing")
    mine = record_event(batch.id, "storing")
    with pytest.raises(Invalid):
        correct_event(batch.id, mine.id, reason="  ", details={})
    with pytest.raises(Exception) as caught:
        correct_event(batch.id, theirs.id, reason="không phải của tôi", details={})
    assert caught.value.status == 404


# ---- pages ------------------------------------------------------------------------------------


def _member_and_batch(app, role="member"):
    with app.app_context():
        producer = make_producer()
        user = make_user(name="Anh Tuấn")
        add_member(user, producer, role)
        batch = make_batch(make_product(producer), "CP-2026-11A")
        db.session.commit()
        return producer.id, user.id, batch.id


def test_a_member_records_a_shipping_event_from_its_short_form(app, client):
    producer_id, user_id, batch_id = _member_and_batch(app, role="helper")
    login(client, user_id)
    url = f"/manage/{producer_id}/batches/{batch_id}/events/new?kind=shipping"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="destination"' in page.text and 'name="result"' not in page.text
    response = client.post(
        url, data={"day": "2026-11-14", "clock": "06:00", "destination": "Chợ Long Biên, Hà Nội"}
    )
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(select(TraceEvent).where(TraceEvent.kind == "shipping"))
        assert event.details == {"destination": "Chợ Long Biên, Hà Nội"}
        assert event.recorded_by_id == user_id
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "trace_event.record")
        )
        assert entry.actor_role == "helper" and entry.producer_id == producer_id
    page = client.get(f"/manage/{producer_id}/batches/{batch_id}")
    assert "Chợ Long Biên, Hà Nội" in page.text


def test_an_event_form_with_a_missing_destination_saves_nothing(app, client):
    producer_id, user_id, batch_id = _member_and_batch(app)
    login(client, user_id)
    url = f"/manage/{producer_id}/batches/{batch_id}/events/new?kind=shipping"
    response = client.post(
        url, data={"day": "2026-11-14", "clock": "06:00", "carrier": "Viettel Post"}
    )
    assert response.status_code == 422
    assert "Vui lòng nhập thông tin này." in response.text
    assert 'value="Viettel Post"' in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(TraceEvent.id))) == 1
    assert (
        client.get(
            f"/manage/{producer_id}/batches/{batch_id}/events/new?kind=recalling"
        ).status_code
        == 404
    )
    assert client.get(f"/manage/{producer_id}/batches/{batch_id}/events/new").status_code == 404


def test_correcting_from_the_page_keeps_the_original_marked(app, client):
    producer_id, user_id, batch_id = _member_and_batch(app)
    with app.app_context():
        wrong = record_event(batch_id, "shipping", details={"destination": "Hà Nam"})
        db.session.commit()
        wrong_id = wrong.id
    login(client, user_id)
    url = f"/manage/{producer_id}/batches/{batch_id}/events/{wrong_id}/correct"
    page = client.get(url)
    assert page.status_code == 200 and 'value="Hà Nam"' in page.text
    missing_reason = client.post(url, data={"day": "2026-11-14", "destination": "Hà Nội"})
    assert missing_reason.status_code == 422
    response = client.post(
        url,
        data={
            "day": "2026-11-14",
            "clock": "06:00",
            "destination": "Hà Nội",
            "reason": "Nhầm tỉnh",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/manage/{producer_id}/batches/{batch_id}")
    assert "Đã sửa" in page.text and "Bản sửa" in page.text
    with app.app_context():
        assert db.session.scalar(select(func.count(TraceEvent.id))) == 3
