"""`flask stamps …` commands and the demo stamps."""

from __future__ import annotations

import re

import pypdfium2 as pdfium
import zxingcpp
from sqlalchemy import func, select

from core.db import db
from tests.factories import make_producer
from tests.traceability.stamps.test_stamps_support import make_farm
from traceability import stamps
from traceability.lots.recalls import recall_batch
from traceability.models import Scan, Stamp, StampRun

LINE = re.compile(r"^(active|not-activated|void|recalled) (\d+) (HTTPS?://\S+)$")


def test_create_print_activate_and_void_from_the_command_line(app, runner, tmp_path):
    with app.app_context():
        farm = make_farm(1)
    created = runner.invoke(
        args=[
            "stamps",
            "create",
            "--producer",
            str(farm.producer_id),
            "--quantity",
            "130",
            "--product",
            str(farm.product_id),
            "--pin",
        ]
    )
    assert created.exit_code == 0, created.output
    assert "serials 2–131 with PINs" in created.output
    with app.app_context():
        run_id = db.session.scalar(select(func.max(StampRun.id)))
    out = tmp_path / "tem.pdf"
    printed = runner.invoke(args=["stamps", "print", str(run_id), "--out", str(out)])
    assert printed.exit_code == 0, printed.output
    assert "130 labels on 2 pages" in printed.output
    document = pdfium.PdfDocument(out.read_bytes())
    assert len(document) == 2
    page = document[0].render(scale=300 / 72).to_pil().convert("L")
    assert len(zxingcpp.read_barcodes(page)) == 65

    activated = runner.invoke(
        args=[
            "stamps",
            "activate",
            "--producer",
            str(farm.producer_id),
            "--from",
            "2",
            "--to",
            "100",
            "--batch",
            str(farm.batch_id),
        ]
    )
    assert activated.exit_code == 0 and "activated 99 stamps" in activated.output
    overlap = runner.invoke(
        args=[
            "stamps",
            "activate",
            "--producer",
            str(farm.producer_id),
            "--from",
            "90",
            "--to",
            "120",
            "--batch",
            str(farm.batch_id),
        ]
    )
    assert overlap.exit_code != 0 and "90–100" in overlap.output
    voided = runner.invoke(
        args=[
            "stamps",
            "void",
            "--producer",
            str(farm.producer_id),
            "--serial",
            "7",
            "--reason",
            "tem bị rách",
        ]
    )
    assert voided.exit_code == 0 and "voided 1 stamps" in voided.output
    with app.app_context():
        states = dict(
            db.session.execute(
                select(Stamp.state, func.count())
                .where(Stamp.producer_id == farm.producer_id)
                .group_by(Stamp.state)
            ).all()
        )
    assert states == {"active": 98, "void": 1, "new": 32}


def test_an_oversized_run_is_refused_with_a_message_and_creates_nothing(app, runner):
    with app.app_context():
        producer_id = make_producer().id
        db.session.commit()
    result = runner.invoke(
        args=["stamps", "create", "--producer", str(producer_id), "--quantity", "100001"]
    )
    assert result.exit_code != 0
    assert "100.000" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StampRun)) == 0


def test_sample_prints_one_stamp_per_state(app, runner, client):
    with app.app_context():
        farm = make_farm(10)
        stamps.activate_range(farm.producer_id, 1, 6, farm.batch_id)
        stamps.void_range(farm.producer_id, 6, 6, "rách")
        other = make_farm(3, lot_code="CP-2026-10B")
        stamps.activate_range(other.producer_id, 1, 3, other.batch_id)
        recall_batch(
            other.batch_id, reason="Kiểm nghiệm không đạt", actor_id=None, actor_role="manager"
        )
        db.session.commit()
    result = runner.invoke(args=["stamps", "sample"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [LINE.match(line).group(1) for line in lines] == [
        "active",
        "not-activated",
        "void",
        "recalled",
    ]
    expected = {
        "active": "Tem chính hãng",
        "not-activated": "Tem chưa được kích hoạt",
        "void": "Tem đã bị hủy",
        "recalled": "LÔ HÀNG ĐÃ BỊ THU HỒI",
    }
    for line in lines:
        state, _run, url = LINE.match(line).groups()
        path = "/" + url.split("/", 3)[3]
        assert expected[state] in client.get(path).get_data(as_text=True)


def test_the_demo_has_stamps_in_every_state_and_is_idempotent(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "2000 tem có PIN" in first.output
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "đã có 3 đợt tem" in again.output
    with app.app_context():
        from cooperatives.models import Producer

        producer_id = db.session.scalar(
            select(Producer.id).where(Producer.slug == "htx-cam-cao-phong")
        )
        run = db.session.scalars(
            select(StampRun).where(StampRun.producer_id == producer_id).order_by(StampRun.id)
        ).first()
        assert (run.quantity, run.with_pin, run.first_serial) == (2000, True, 1)
        counts = stamps.state_counts([run.id])[run.id]
        assert counts == {"active": 1297, "void": 3, "new": 700}
        copied = stamps.get_stamp(producer_id, 1000)
        assert copied.scan_count == 214 and copied.first_scanned_at.year == 2025
        networks = db.session.scalar(
            select(func.count(func.distinct(Scan.network))).where(Scan.stamp_id == copied.id)
        )
        assert networks >= 5
    sample = runner.invoke(args=["stamps", "sample"])
    assert [LINE.match(x).group(1) for x in sample.output.strip().splitlines()] == [
        "active",
        "not-activated",
        "void",
        "recalled",
    ]


def test_print_takes_a_custom_millimetre_layout_as_the_web_form_does(app, runner, tmp_path):
    with app.app_context():
        farm = make_farm(12)
    out = tmp_path / "tem.pdf"
    custom = ["--layout", "custom", "--columns", "3", "--rows", "4"]
    size = ["--label-width", "60", "--label-height", "50", "--margin-left", "10"]
    printed = runner.invoke(
        args=["stamps", "print", str(farm.run_id), "--out", str(out), *custom, *size]
    )
    assert printed.exit_code == 0, printed.output
    assert "12 labels on 1 pages" in printed.output or "12 labels on 1 page" in printed.output
    page = pdfium.PdfDocument(out.read_bytes())[0].render(scale=300 / 72).to_pil().convert("L")
    assert len(zxingcpp.read_barcodes(page)) == 12
    too_wide = runner.invoke(
        args=["stamps", "print", str(farm.run_id), "--out", str(out), *custom]
        + ["--label-width", "80", "--label-height", "50"]
    )
    assert too_wide.exit_code != 0
    assert "--columns: Các cột rộng 240.0 mm, quá khổ A4 (210 mm)." in too_wide.output
    missing = runner.invoke(
        args=["stamps", "print", str(farm.run_id), "--out", str(out), "--layout", "custom"]
    )
    assert missing.exit_code != 0 and "--columns: Nhập một số." in missing.output
