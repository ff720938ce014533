"""The tamper-evident hash chain: links, verification, the CLI and API, concurrent appends."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date

import pytest
from sqlalchemy import select, text

from core.db import db
from tests.factories import make_batch, make_producer, make_product
from traceability.lots import events
from traceability.lots.chain import canonical_content, verify_chain
from traceability.lots.events import record_event
from traceability.models import Batch, TraceEvent


def _lot_with_journey(app, status: str = "published") -> dict:
    with app.app_context():
        producer = make_producer()
        batch = make_batch(
            make_product(producer, status=status), "CP-2026-11A", produced_on=date(2026, 11, 10)
        )
        record_event(batch.id, "inspecting", details={"result": "pass", "inspector": "Trạm BVTV"})
        packed = record_event(batch.id, "packing", details={"packaging": "thùng 10 kg"})
        record_event(batch.id, "shipping", details={"destination": "Hà Nội"})
        db.session.commit()
        ids = [e.id for e in events.events_of(batch.id)]
        return {"batch": batch.id, "events": ids, "packed": packed.id}


def test_each_event_is_chained_to_the_one_before(app):
    ids = _lot_with_journey(app)
    with app.app_context():
        chain = events.events_of(ids["batch"])
        assert [e.seq for e in chain] == [1, 2, 3, 4]
        assert chain[0].prev_hash is None
        for before, after in zip(chain, chain[1:], strict=False):
            assert after.prev_hash == before.hash
        # The hash is SHA-256 over the sorted-key compact JSON, times in UTC.
        content = canonical_content(chain[2], chain[1].hash)
        assert content["event_time"].endswith("Z") and content["prev_hash"] == chain[1].hash
        encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(encoded.encode()).hexdigest() == chain[2].hash
        assert db.session.get(Batch, ids["batch"]).chain_head == chain[-1].hash
        report = verify_chain(ids["batch"])
        assert report.ok and report.events == 4


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        ("UPDATE trace_event SET location_text = 'Đà Lạt' WHERE id = :id", "content"),
        ("UPDATE trace_event SET details = '{}' WHERE id = :id", "content"),
        ("UPDATE trace_event SET event_time = '2026-01-01 00:00:00' WHERE id = :id", "content"),
        ("UPDATE trace_event SET disposition = 'recalled' WHERE id = :id", "content"),
        ("UPDATE trace_event SET hash = 'ab' WHERE id = :id", "content"),
        ("UPDATE trace_event SET prev_hash = NULL WHERE id = :id", "link"),
    ],
)  # fmt: skip
def test_an_edit_behind_the_apps_back_is_reported_at_that_event(app, sql, problem):
    ids = _lot_with_journey(app)
    with app.app_context():
        db.session.execute(text(sql), {"id": ids["packed"]})
        db.session.commit()
    with app.app_context():
        report = verify_chain(ids["batch"])
        assert not report.ok
        assert (report.broken_event_id, report.broken_seq, report.problem) == (
            ids["packed"],
            3,
            problem,
        )
        assert "số 3" in report.message


def test_a_forged_chain_head_is_reported(app):
    ids = _lot_with_journey(app)
    with app.app_context():
        db.session.execute(text("UPDATE batch SET chain_head = :h"), {"h": "0" * 64})
        db.session.commit()
        report = verify_chain(ids["batch"])
        assert (report.ok, report.problem, report.broken_seq) == (False, "head", 4)


def test_a_removed_event_breaks_the_sequence(app):
    ids = _lot_with_journey(app)
    with app.app_context():
        # A deleted middle event leaves a gap (deleting the newest one and rewinding the head
        # is only caught by comparing with a chain head published earlier).
        db.session.execute(text("DELETE FROM trace_event WHERE id = :id"), {"id": ids["events"][1]})
        db.session.commit()
        report = verify_chain(ids["batch"])
        assert (report.ok, report.problem, report.broken_seq) == (False, "sequence", 3)


def test_flask_trace_verify_prints_each_lot_and_fails_on_a_broken_chain(app, runner):
    ids = _lot_with_journey(app)
    other = _lot_with_journey(app)
    result = runner.invoke(args=["trace", "verify"])
    assert result.exit_code == 0, result.output
    assert f"OK      batch {ids['batch']} CP-2026-11A: 4 events" in result.output
    with app.app_context():
        db.session.execute(
            text("UPDATE trace_event SET location_text = 'X' WHERE id = :id"), {"id": ids["packed"]}
        )
        db.session.commit()
    result = runner.invoke(args=["trace", "verify"])
    assert result.exit_code == 1
    assert (
        f"BROKEN  batch {ids['batch']} CP-2026-11A: event {ids['packed']} (seq 3)" in result.output
    )
    assert f"OK      batch {other['batch']}" in result.output
    single = runner.invoke(args=["trace", "verify", "--batch", str(other["batch"])])
    assert single.exit_code == 0 and "1 batches checked, 0 broken" in single.output
    missing = runner.invoke(args=["trace", "verify", "--batch", "999999"])
    assert missing.exit_code != 0


def test_the_verify_endpoint_answers_json(app, client):
    ids = _lot_with_journey(app)
    body = client.get(f"/api/v1/batches/{ids['batch']}/verify").get_json()
    assert body["ok"] is True and body["events"] == 4
    with app.app_context():
        db.session.execute(
            text("UPDATE trace_event SET location_text = 'X' WHERE id = :id"), {"id": ids["packed"]}
        )
        db.session.commit()
    response = client.get(f"/api/v1/batches/{ids['batch']}/verify")
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is False
    assert body["broken"]["event_id"] == ids["packed"] and body["broken"]["seq"] == 3
    assert client.get("/api/v1/batches/999999/verify").status_code == 404


def test_the_batch_page_shows_a_broken_chain(app, client):
    from tests.conftest import login
    from tests.factories import add_member, make_user

    ids = _lot_with_journey(app)
    with app.app_context():
        batch = db.session.get(Batch, ids["batch"])
        user = make_user()
        add_member(user, batch.producer, "member")
        db.session.execute(
            text("UPDATE trace_event SET location_text = 'X' WHERE id = :id"), {"id": ids["packed"]}
        )
        db.session.commit()
        producer_id, user_id = batch.producer_id, user.id
    login(client, user_id)
    page = client.get(f"/manage/{producer_id}/batches/{ids['batch']}")
    assert "Nội dung sự kiện số 3 đã bị sửa ngoài ứng dụng." in page.text


@pytest.mark.postgres_only
def test_two_people_appending_to_one_lot_at_once_both_land_in_one_chain(app):
    with app.app_context():
        batch = make_batch(make_product(make_producer()), "CP-2026-11A")
        db.session.commit()
        batch_id = batch.id
    rounds = 15
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for i in range(rounds):
                with app.app_context():
                    barrier.wait(timeout=20)
                    record_event(batch_id, "storing", details={"note": f"{name} {i}"})
                    db.session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("Lan", "Tuấn")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    with app.app_context():
        seqs = db.session.scalars(
            select(TraceEvent.seq).where(TraceEvent.batch_id == batch_id).order_by(TraceEvent.seq)
        ).all()
        assert seqs == list(range(1, 2 * rounds + 2))
        assert verify_chain(batch_id).ok
