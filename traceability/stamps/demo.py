"""Demo stamps for `flask seed-demo` (called by traceability.demo at its end; idempotent):
Bà Lan's 2,000 stamps with PINs, serials 1–1,300 activated for lot CP-2026-11A and three torn
ones voided; twenty GS1 Digital Link stamps printed for that lot; stamps of the recalled packed
lot CP-2026-10B-T3; and one copied stamp, scanned 214 times across the country since 2025.

Flushes, never commits (the command does).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select, update

from accounts.models import User
from cooperatives.models import Producer, Product
from core.db import db, utcnow
from core.text import slugify
from traceability import stamps
from traceability.models import Batch, Scan, Stamp, StampRun, StampState

CAO_PHONG = "HTX Cam Cao Phong"
LAN_PHONE = "+84912000001"
RUN_SIZE = 2_000
ACTIVATED = (1, 1_300)
TORN = (57, 58, 911)
COPIED_SERIAL = 1_000
COPIED_SCANS = 214
COPIED_SINCE = datetime(2025, 12, 6, 1, 30, tzinfo=UTC)
# /24 networks of mobile carriers and ISPs in many provinces (documentation-style, coarse).
NETWORKS = tuple(
    f"{a}.{b}.{c}.0/24"
    for a, b in ((14, 160), (27, 72), (113, 185), (171, 224), (42, 112), (116, 96), (183, 80))
    for c in (3, 41, 88, 130, 201)
)


def _lot(producer_id: int, lot_code: str) -> Batch | None:
    return db.session.scalar(
        select(Batch).where(Batch.producer_id == producer_id, Batch.lot_code == lot_code)
    )


def _product(producer_id: int, name: str) -> Product | None:
    return db.session.scalar(
        select(Product).where(Product.producer_id == producer_id, Product.name_vi == name)
    )


def _copied_stamp(stamp_id: int) -> None:
    """The neighbour's box: a photocopied stamp, scanned from many networks for a year."""
    now = utcnow()
    span = (now - COPIED_SINCE).total_seconds()
    rows = []
    for i in range(COPIED_SCANS):
        at = COPIED_SINCE + timedelta(seconds=span * (i / COPIED_SCANS) ** 1.5)
        rows.append(
            {
                "stamp_id": stamp_id,
                "scanned_at": at,
                "network": NETWORKS[(i * 7) % len(NETWORKS)],
                "client": ("Zalo · Android", "Chrome · Android", "Safari · iOS")[i % 3],
                "via": "code",
            }
        )
    db.session.execute(insert(Scan), rows)
    db.session.execute(
        update(Stamp)
        .where(Stamp.id == stamp_id)
        .values(
            scan_count=COPIED_SCANS,
            first_scanned_at=rows[0]["scanned_at"],
            last_scanned_at=rows[-1]["scanned_at"],
            pin_verified_at=rows[3]["scanned_at"],
        )
    )


def seed_stamps() -> str:
    producer = db.session.scalar(select(Producer).where(Producer.slug == slugify(CAO_PHONG)))
    if producer is None:
        return "bỏ qua: chưa có HTX Cam Cao Phong"
    existing = db.session.scalar(
        select(func.count()).select_from(StampRun).where(StampRun.producer_id == producer.id)
    )
    if existing:
        return f"đã có {existing} đợt tem"
    grade1 = _product(producer.id, "Cam Cao Phong loại 1")
    bagged = _product(producer.id, "Cam Cao Phong túi 3 kg") or grade1
    harvest = _lot(producer.id, "CP-2026-11A")
    recalled = _lot(producer.id, "CP-2026-10B-T3") or _lot(producer.id, "CP-2026-10B")
    if grade1 is None or harvest is None:
        return "bỏ qua: chưa có sản phẩm hoặc lô CP-2026-11A"
    lan = db.session.scalar(select(User.id).where(User.phone == LAN_PHONE))
    parts = []

    # Printed before the harvest (QR: /S/<code>), activated when lot CP-2026-11A was packed.
    run = stamps.create_run(
        producer.id, RUN_SIZE, product_id=grade1.id, with_pin=True, created_by_id=lan
    )
    stamps.activate_range(producer.id, *ACTIVATED, harvest.id, lan)
    for serial in TORN:
        stamps.void_range(producer.id, serial, serial, "Tem bị rách khi dán lên thùng", lan)
    copied = stamps.get_stamp(producer.id, COPIED_SERIAL)
    _copied_stamp(copied.id)
    parts.append(
        f"{RUN_SIZE} tem có PIN (#{run.id}: {ACTIVATED[0]}–{ACTIVATED[1]} cho CP-2026-11A, "
        f"{len(TORN)} tem hủy, tem số {COPIED_SERIAL} bị sao chép)"
    )

    # Printed for the lot itself: GS1 Digital Link URLs (the product has a GTIN).
    linked = stamps.create_run(
        producer.id, 20, batch_id=harvest.id, with_pin=True, created_by_id=lan
    )
    stamps.activate_range(producer.id, linked.first_serial, linked.last_serial, harvest.id, lan)
    parts.append(f"20 tem GS1 Digital Link (#{linked.id})")

    if recalled is not None:
        # Activated before the lab result came back; the recall came after (the lot is now
        # recalled, so the service would refuse: write the history directly).
        box = stamps.create_run(producer.id, 100, product_id=bagged.id, created_by_id=lan)
        db.session.execute(
            update(Stamp)
            .where(Stamp.run_id == box.id)
            .values(
                state=StampState.ACTIVE.value,
                batch_id=recalled.id,
                activated_at=recalled.created_at,
                activated_by_id=lan,
            )
        )
        parts.append(f"100 tem của lô thu hồi {recalled.lot_code} (#{box.id})")
    db.session.flush()
    return "; ".join(parts)


def sample_stamps() -> dict[str, Stamp]:
    """One stamp per state for `flask stamps sample` (the demo producer's first)."""
    from traceability.models import BatchStatus

    producer_id = db.session.scalar(select(Producer.id).where(Producer.slug == slugify(CAO_PHONG)))

    def first(*conditions: object) -> Stamp | None:
        query = select(Stamp).outerjoin(Batch, Batch.id == Stamp.batch_id).where(*conditions)
        if producer_id is not None:
            query = query.order_by((Stamp.producer_id != producer_id), Stamp.id)
        else:
            query = query.order_by(Stamp.id)
        return db.session.scalars(query.limit(1)).first()

    found = {
        "active": first(
            Stamp.state == StampState.ACTIVE.value,
            Batch.status == BatchStatus.ACTIVE,
            Stamp.scan_count < 20,
        ),
        "not-activated": first(Stamp.state == StampState.NEW.value),
        "void": first(Stamp.state == StampState.VOID.value),
        "recalled": first(
            Stamp.state == StampState.ACTIVE.value, Batch.status == BatchStatus.RECALLED
        ),
    }
    return {state: stamp for state, stamp in found.items() if stamp is not None}
