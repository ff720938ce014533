"""Recalls: who may recall, the cascade to every lot made from the recalled one, the signal."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from accounts.models import AuditEntry
from core.db import db
from core.errors import Conflict, Invalid
from tests.conftest import login
from tests.factories import (
    add_member,
    make_batch,
    make_council_member,
    make_producer,
    make_product,
    make_user,
)
from traceability import signals
from traceability.lots.chain import verify_chain
from traceability.lots.events import events_of
from traceability.lots.recalls import recall_batch
from traceability.lots.summary import trace_summary
from traceability.models import Batch, TraceEvent

REASON = "Kết quả kiểm nghiệm dư lượng thuốc BVTV không đạt (phiếu 123/KN)"


def _family():
    """raw → packed → gift box, plus an unrelated lot of the same producer."""
    producer = make_producer()
    product = make_product(producer)
    raw = make_batch(product, "CP-2026-10B", produced_on=date(2026, 10, 20))
    packed = make_batch(product, "CP-2026-10B-P", parents=[raw])
    gift = make_batch(product, "QUA-01", parents=[packed])
    other = make_batch(product, "CP-2026-11A")
    return producer, raw, packed, gift, other


def test_a_recall_reaches_every_lot_made_from_the_recalled_one(ctx):
    producer, raw, packed, gift, other = _family()
    received = []

    def _listener(sender, **kwargs):
        received.append(kwargs)

    signals.batch_recalled.connect(_listener)
    try:
        result = recall_batch(raw.id, reason=REASON, actor_id=None, actor_role="manager")
    finally:
        signals.batch_recalled.disconnect(_listener)
    assert result.batch_ids == (raw.id, packed.id, gift.id)
    assert received == [
        {
            "batch_ids": [raw.id, packed.id, gift.id],
            "origin_id": raw.id,
            "reason": REASON,
            "recalled_by_id": None,
        }
    ]
    for lot in (raw, packed, gift):
        db.session.refresh(lot)
        assert lot.status == "recalled" and lot.recall_reason == REASON
        assert lot.recall_origin_id == raw.id and lot.recalled_at is not None
        last = events_of(lot.id)[-1]
        assert (last.kind, last.disposition) == ("recalling", "recalled")
        assert last.details["origin_lot_code"] == "CP-2026-10B"
        assert verify_chain(lot.id).ok
    db.session.refresh(other)
    assert other.status == "active"
    summary = trace_summary(gift.id)  # what the scan page reads
    assert summary.recalled and summary.recall_reason == REASON
    assert summary.recall_origin.lot_code == "CP-2026-10B" and summary.recalled_through_parent


def test_a_recall_needs_a_reason_and_happens_once(ctx):
    _producer, raw, packed, gift, _other = _family()
    with pytest.raises(Invalid) as caught:
        recall_batch(raw.id, reason="  ", actor_id=None, actor_role="manager")
    assert "reason" in caught.value.fields
    db.session.refresh(raw)
    assert raw.status == "active"
    recall_batch(packed.id, reason=REASON, actor_id=None, actor_role="manager")
    with pytest.raises(Conflict):
        recall_batch(packed.id, reason=REASON, actor_id=None, actor_role="manager")
    # Recalling the parent later leaves the earlier recall of the child as it was.
    result = recall_batch(
        raw.id, reason="Lý do khác của lô gốc", actor_id=None, actor_role="manager"
    )
    assert result.already_recalled == (packed.id, gift.id)
    db.session.refresh(packed)
    assert packed.recall_origin_id == packed.id


def test_a_recalled_lot_cannot_become_a_parent(ctx):
    _producer, raw, _packed, _gift, _other = _family()
    recall_batch(raw.id, reason=REASON, actor_id=None, actor_role="manager")
    with pytest.raises(Invalid) as caught:
        make_batch(raw.product, "NEW-1", parents=[raw])
    assert "thu hồi" in caught.value.fields["parents"]


def _arrange(app):
    with app.app_context():
        producer, raw, packed, gift, _other = _family()
        manager = make_user(name="Bà Lan")
        add_member(manager, producer, "manager")
        member = make_user(name="Xã viên")
        add_member(member, producer, "member")
        helper = make_user(name="Anh Tuấn")
        add_member(helper, producer, "helper")
        council = make_council_member(province_code=producer.province_code)
        far_council = make_council_member(province_code=38)
        central = make_council_member(level="central")
        admin = make_user(admin=True)
        db.session.commit()
        return {
            "producer": producer.id,
            "raw": raw.id,
            "gift": gift.id,
            "manager": manager.id,
            "member": member.id,
            "helper": helper.id,
            "council": council.id,
            "far_council": far_council.id,
            "central": central.id,
            "admin": admin.id,
        }


def test_a_manager_recalls_from_the_batch_page_and_the_status_shows_at_once(app, client):
    ids = _arrange(app)
    login(client, ids["manager"])
    url = f"/manage/{ids['producer']}/batches/{ids['raw']}/recall"
    refused = client.post(url, data={"reason": ""})
    assert refused.status_code == 422 and "Ghi lý do thu hồi" in refused.text
    response = client.post(url, data={"reason": REASON})
    assert response.status_code == 302
    page = client.get(f"/manage/{ids['producer']}/batches/{ids['gift']}")
    assert "Lô này đã bị thu hồi" in page.text and "CP-2026-10B" in page.text
    body = client.get(f"/api/v1/batches/{ids['gift']}").get_json()
    assert body["status"] == "recalled" and body["recall"]["origin_batch_id"] == ids["raw"]
    with app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "batch.recall")
        ).all()
        assert len(entries) == 3
        assert {(e.actor_id, e.actor_role) for e in entries} == {(ids["manager"], "manager")}


@pytest.mark.parametrize("who", ["member", "helper"])
def test_members_and_helpers_cannot_recall(app, client, who):
    ids = _arrange(app)
    login(client, ids[who])
    response = client.post(
        f"/manage/{ids['producer']}/batches/{ids['raw']}/recall", data={"reason": REASON}
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Batch, ids["raw"]).status == "active"


@pytest.mark.parametrize(("who", "allowed"), [("council", True), ("central", True),
                                              ("admin", True), ("far_council", False),
                                              ("member", False)])  # fmt: skip
def test_an_authority_of_the_province_recalls_a_lot(app, client, who, allowed):
    ids = _arrange(app)
    login(client, ids[who])
    url = f"/recalls/batches/{ids['raw']}"
    page = client.get(url)
    assert page.status_code == (200 if allowed else 404)
    response = client.post(url, data={"reason": REASON})
    with app.app_context():
        status = db.session.get(Batch, ids["gift"]).status
        recalls = db.session.scalar(
            select(func.count(TraceEvent.id)).where(TraceEvent.kind == "recalling")
        )
    if allowed:
        assert response.status_code == 302
        assert (status, recalls) == ("recalled", 3)
    else:
        assert response.status_code == 404
        assert (status, recalls) == ("active", 0)
