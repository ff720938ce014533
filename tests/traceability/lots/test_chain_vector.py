"""The hash chain pinned from outside the project's own helper.

1. A hand-written test vector: the canonical JSON documented in traceability/lots/events.py,
   written out here byte for byte, hashed with hashlib; the project must give the same digest.
2. Stored events re-hashed from their raw database row by this test's own code.
3. Every stored column of trace_event tampered with in turn: verification must break, except
   for the columns documented as outside the chain.

Leaving any field out of the hash (ward, kind, recorded_at, uuid, time-zone offset, corrects…)
fails here, while the older tamper test recomputed hashes with the project's helper.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from core.db import db
from tests.factories import make_batch, make_producer, make_product
from traceability.lots.chain import compute_hash, verify_chain
from traceability.lots.events import correct_event, record_event
from traceability.models import TraceEvent

PREV = "ab" * 32
# Sorted keys, no spaces, UTF-8 (not \u escapes), times in UTC with microseconds and Z.
VECTOR_JSON = (
    '{"action":"OBSERVE","batch_id":7,"biz_step":"https://ref.gs1.org/cbv/BizStep-packing",'
    '"corrects":3,"details":{"packaging":"thùng 10 kg"},'
    '"disposition":"https://ref.gs1.org/cbv/Disp-in_progress",'
    '"event_time":"2026-11-10T01:02:03.000004Z","kind":"packing","place":"Xóm Đồi",'
    f'"prev_hash":"{PREV}","recorded_at":"2026-11-10T02:00:00.000000Z","seq":2,'
    '"type":"ObjectEvent","tz":"+07:00","uuid":"00000000-0000-4000-8000-000000000001",'
    '"v":1,"ward":5089}'
)
VECTOR_HASH = "8ef587029dad4d2ab5d2c3df835840d65b84457f1ba5f5ca4ff6901f4f8d968b"

# Columns that are not in the hash, and why. Every other column must break the chain.
NOT_HASHED = {
    "id": "the row's address; the chain is per batch and sequence, checked through seq",
    "recorded_by_id": "deleting a user account sets it to NULL; the audit log keeps who",
}


def test_the_documented_canonical_form_gives_the_pinned_digest():
    assert hashlib.sha256(VECTOR_JSON.encode("utf-8")).hexdigest() == VECTOR_HASH
    event = TraceEvent(
        event_uuid="00000000-0000-4000-8000-000000000001",
        batch_id=7,
        seq=2,
        kind="packing",
        event_type="ObjectEvent",
        action="OBSERVE",
        biz_step="https://ref.gs1.org/cbv/BizStep-packing",
        disposition="https://ref.gs1.org/cbv/Disp-in_progress",
        event_time=datetime(2026, 11, 10, 1, 2, 3, 4, tzinfo=UTC),
        event_tz_offset="+07:00",
        location_ward_code=5089,
        location_text="Xóm Đồi",
        details={"packaging": "thùng 10 kg"},
        corrects_event_id=3,
        recorded_by_id=99,
        recorded_at=datetime(2026, 11, 10, 2, 0, 0, tzinfo=UTC),
    )
    assert compute_hash(event, PREV) == VECTOR_HASH


def _utc(value) -> str:
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _independent_hash(row) -> str:
    details = row.details if isinstance(row.details, dict) else json.loads(row.details or "{}")
    content = {
        "v": 1,
        "uuid": row.event_uuid,
        "batch_id": row.batch_id,
        "seq": row.seq,
        "kind": row.kind,
        "type": row.event_type,
        "action": row.action,
        "biz_step": row.biz_step,
        "disposition": row.disposition,
        "event_time": _utc(row.event_time),
        "tz": row.event_tz_offset,
        "ward": row.location_ward_code,
        "place": row.location_text or "",
        "details": details,
        "corrects": row.corrects_event_id,
        "recorded_at": _utc(row.recorded_at),
        "prev_hash": row.prev_hash or "",
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _lot(app) -> dict:
    with app.app_context():
        producer = make_producer()
        batch = make_batch(make_product(producer), "CP-VEC", produced_on=date(2026, 11, 10))
        first = db.session.scalar(db.select(TraceEvent.id).where(TraceEvent.batch_id == batch.id))
        record_event(batch.id, "inspecting", location_ward_code=5089, details={"result": "pass"})
        target = correct_event(
            batch.id, first, reason="ghi nhầm ngày", retract=True, location_ward_code=5089
        )
        record_event(batch.id, "shipping", details={"destination": "Hà Nội"})
        other = make_batch(make_product(producer), "CP-VEC-2", produced_on=date(2026, 11, 10))
        db.session.commit()
        return {"batch": batch.id, "target": target.id, "first": first, "other": other.id}


def test_every_stored_event_hashes_to_what_this_test_computes_on_its_own(app):
    ids = _lot(app)
    with app.app_context():
        rows = db.session.execute(
            text("SELECT * FROM trace_event WHERE batch_id = :b ORDER BY seq"), {"b": ids["batch"]}
        ).all()
        assert len(rows) == 4
        assert any(r.corrects_event_id for r in rows) and any(r.location_ward_code for r in rows)
        for row in rows:
            assert _independent_hash(row) == row.hash, row.seq


def _tampers(ids: dict) -> dict[str, str]:
    """One change per column, written in SQL behind the application's back."""
    return {
        "event_uuid": "event_uuid = '00000000-0000-4000-8000-0000000000ff'",
        "batch_id": f"batch_id = {ids['other']}",
        "seq": "seq = seq + 10",
        "event_type": "event_type = 'TransformationEvent'",
        "action": "action = 'DELETE'",
        "kind": "kind = 'packing'",
        "biz_step": "biz_step = 'https://ref.gs1.org/cbv/BizStep-shipping'",
        "disposition": "disposition = 'https://ref.gs1.org/cbv/Disp-recalled'",
        "event_time": "event_time = '2020-01-01 00:00:00'",
        "event_tz_offset": "event_tz_offset = '+08:00'",
        "location_ward_code": "location_ward_code = 4",
        "location_text": "location_text = 'Đà Lạt'",
        "details": """details = '{"reason": "khác"}'""",
        "corrects_event_id": "corrects_event_id = NULL",
        "recorded_at": "recorded_at = '2020-01-01 00:00:00'",
        "prev_hash": "prev_hash = NULL",
        "hash": f"hash = '{'0' * 64}'",
    }


def test_each_tampering_is_matched_to_a_column_and_every_column_is_covered(app):
    columns = {c.name for c in TraceEvent.__table__.columns}
    assert set(_tampers({"other": 0})) | set(NOT_HASHED) == columns


@pytest.mark.parametrize("column", sorted(_tampers({"other": 0})))
def test_tampering_with_any_stored_column_breaks_verification(app, column):
    ids = _lot(app)
    change = _tampers(ids)[column]
    with app.app_context():
        db.session.execute(
            text(f"UPDATE trace_event SET {change} WHERE id = :id"), {"id": ids["target"]}
        )  # noqa: E501
        db.session.commit()
    with app.app_context():
        broken = [verify_chain(ids["batch"])]
        if column == "batch_id":  # the event moved: its old lot has a gap, the new one a stranger
            broken.append(verify_chain(ids["other"]))
        assert all(not report.ok for report in broken), column
