"""The traceability demo: Bà Lan's lots, a recalled lot with its packed child, Tuấn's entry."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import select

from accounts.models import AuditEntry, User
from core.db import db
from traceability.demo import seed_demo
from traceability.lots.chain import verify_chain
from traceability.lots.epcis import epcis_document
from traceability.lots.summary import trace_summary
from traceability.models import Batch

SCHEMA = json.loads((Path(__file__).parent / "data" / "EPCIS-JSON-Schema.json").read_text())


def test_the_demo_skips_without_the_cooperatives_demo(ctx):
    assert seed_demo().startswith("skipped:")
    assert db.session.scalar(select(Batch.id)) is None


def test_the_demo_tells_the_journeys_and_is_idempotent(app):
    from accounts.demo import seed_demo as seed_accounts
    from cooperatives.demo import seed_demo as seed_cooperatives

    with app.app_context():
        seed_accounts()
        seed_cooperatives()
        first = seed_demo()
        db.session.commit()
        assert "CP-2026-11A" in first
        again = seed_demo()
        db.session.commit()
        assert again.startswith("0 lô mới")

        lots = {b.lot_code: b for b in db.session.scalars(select(Batch))}
        assert set(lots) >= {"CP-2026-11A", "CP-2026-10B", "CP-2026-10B-T3", "RC-2026-11-20"}

        main = trace_summary(lots["CP-2026-11A"].id)
        assert main.product.name_vi == "Cam Cao Phong loại 1"
        assert main.batch.quantity == 5000 and main.batch.unit == "kg"
        assert main.batch.produced_on.isoformat() == "2026-11-10"
        assert main.origin_text == "Xã Cao Phong, Phú Thọ" and main.standards == ("VietGAP",)
        assert [e.kind for e in main.journey] == ["harvesting", "inspecting", "packing", "shipping"]
        assert main.journey[-1].details["destination"] == "Hà Nội"

        recalled = trace_summary(lots["CP-2026-10B"].id)
        assert recalled.recalled and "kiểm nghiệm" in recalled.recall_reason
        child = trace_summary(lots["CP-2026-10B-T3"].id)
        assert child.recalled and child.recall_origin.lot_code == "CP-2026-10B"
        assert [p.lot_code for p in child.parents] == ["CP-2026-10B"]

        tuan = db.session.scalar(select(User).where(User.phone == "+84912000002"))
        greens = lots["RC-2026-11-20"]
        assert greens.producer.name == "Hộ Nguyễn Văn A" and greens.created_by_id == tuan.id
        entry = db.session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "batch.create", AuditEntry.subject_id == greens.id
            )
        )
        assert (entry.actor_id, entry.actor_role) == (tuan.id, "helper")

        validator = Draft7Validator(SCHEMA, format_checker=FormatChecker())
        for lot in lots.values():
            assert verify_chain(lot.id).ok
            assert not list(validator.iter_errors(epcis_document(lot.id))), lot.lot_code
