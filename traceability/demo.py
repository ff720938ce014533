"""Demo lots for `flask seed-demo` (idempotent by producer and lot code): Bà Lan's Cao Phong
oranges with their journey to Hà Nội, a recalled lot with the packed lot made from it, and a
Hoằng Hóa household's vegetables recorded by the community helper Anh Tuấn.

Runs after the cooperatives demo (it finds producers and products by slug and name); flushes,
never commits (the command does).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from accounts.models import User
from cooperatives.access import active_membership
from cooperatives.models import Producer, Product
from core.db import db
from core.text import slugify
from traceability.lots.batches import create_batch
from traceability.lots.event_kinds import time_from_form
from traceability.lots.events import record_event
from traceability.lots.recalls import recall_batch
from traceability.models import Batch
from traceability.stamps.demo import seed_stamps

CAO_PHONG = "HTX Cam Cao Phong"
HOUSEHOLD = "Hộ Nguyễn Văn A"
LAN_PHONE = "+84912000001"
TUAN_PHONE = "+84912000002"
RECALL_REASON = (
    "Kết quả kiểm nghiệm mẫu lưu không đạt: dư lượng thuốc bảo vệ thực vật vượt giới hạn "
    "cho phép. Đề nghị khách hàng ngừng sử dụng và liên hệ HTX để được hoàn tiền."
)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    role: str


def _producer(name: str) -> Producer | None:
    return db.session.scalar(select(Producer).where(Producer.slug == slugify(name)))


def _product(producer: Producer, name: str) -> Product | None:
    return db.session.scalar(
        select(Product).where(Product.producer_id == producer.id, Product.name_vi == name)
    )


def _actor(phone: str, producer: Producer) -> Actor:
    user = db.session.scalar(select(User).where(User.phone == phone))
    if user is None:
        return Actor(None, "")
    membership = active_membership(user.id, producer.id)
    return Actor(user.id, membership.role if membership else "")


def _exists(producer: Producer, lot_code: str) -> bool:
    found = db.session.scalar(
        select(Batch.id).where(Batch.producer_id == producer.id, Batch.lot_code == lot_code)
    )
    return found is not None


def _event(batch: Batch, actor: Actor, kind: str, day: str, clock: str, **details: Any) -> None:
    record_event(
        batch.id,
        kind,
        event_time=time_from_form(day, clock),
        location_ward_code=details.pop("ward", None),
        location_text=details.pop("place", ""),
        details=details,
        recorded_by_id=actor.user_id,
        actor_role=actor.role,
    )


# Long on purpose: a demo story (lots, events, a recall) told in order.
def _cao_phong(producer: Producer, created: list[str]) -> None:
    grade1 = _product(producer, "Cam Cao Phong loại 1")
    bagged = _product(producer, "Cam Cao Phong túi 3 kg") or grade1
    if grade1 is None or bagged is None:
        return
    lan = _actor(LAN_PHONE, producer)

    if not _exists(producer, "CP-2026-11A"):
        lot = create_batch(
            producer.id,
            product_id=grade1.id,
            lot_code="CP-2026-11A",
            produced_on=date(2026, 11, 10),
            produced_at=time_from_form("2026-11-10", "07:00"),
            quantity="5000",
            unit="kg",
            best_before=date(2026, 12, 10),
            standards=["VietGAP"],
            inputs_used=(
                "Phân hữu cơ vi sinh Sông Gianh 2 tấn/ha (tháng 3/2026); "
                "NPK 12-5-10 0,5 kg/gốc (tháng 6/2026); "
                "thuốc sinh học Abamectin, ngừng phun trước thu hoạch 21 ngày."
            ),
            notes="Đồi cam xóm Cải, 3,2 ha.",
            created_by_id=lan.user_id,
            actor_role=lan.role,
        )
        _event(
            lot,
            lan,
            "inspecting",
            "2026-11-11",
            "09:00",
            result="pass",
            inspector="Trạm Trồng trọt và Bảo vệ thực vật",
            note="Lấy mẫu kiểm nghiệm nhanh dư lượng: đạt.",
        )
        _event(
            lot,
            lan,
            "packing",
            "2026-11-12",
            "14:00",
            packaging="thùng 5 kg và 10 kg",
            quantity="4800",
            unit="kg",
            place="Nhà sơ chế HTX, xóm Cải",
        )
        _event(
            lot,
            lan,
            "shipping",
            "2026-11-13",
            "05:30",
            destination="Hà Nội",
            carrier="Xe lạnh của HTX",
            quantity="4800",
            unit="kg",
        )
        created.append("CP-2026-11A")

    if not _exists(producer, "CP-2026-10B"):
        raw = create_batch(
            producer.id,
            product_id=grade1.id,
            lot_code="CP-2026-10B",
            produced_on=date(2026, 10, 20),
            produced_at=time_from_form("2026-10-20", "06:30"),
            quantity="1200",
            unit="kg",
            standards=["VietGAP"],
            inputs_used="Phân hữu cơ vi sinh; NPK 12-5-10.",
            created_by_id=lan.user_id,
            actor_role=lan.role,
        )
        packed = create_batch(
            producer.id,
            product_id=bagged.id,
            lot_code="CP-2026-10B-T3",
            produced_on=date(2026, 10, 22),
            produced_at=time_from_form("2026-10-22", "15:00"),
            quantity="300",
            unit="túi",
            best_before=date(2026, 11, 20),
            standards=["VietGAP"],
            parent_ids=[raw.id],
            parent_quantities={raw.id: "900"},
            created_by_id=lan.user_id,
            actor_role=lan.role,
        )
        _event(
            packed,
            lan,
            "shipping",
            "2026-10-23",
            "05:00",
            destination="Hà Nội",
            quantity="300",
            unit="túi",
        )
        _event(
            raw,
            lan,
            "inspecting",
            "2026-10-28",
            "10:00",
            result="fail",
            inspector="Trung tâm Kiểm nghiệm tỉnh",
            note="Mẫu lưu: dư lượng vượt giới hạn.",
        )
        recall_batch(
            raw.id, reason=RECALL_REASON, actor_id=lan.user_id, actor_role=lan.role or "manager"
        )
        created.extend(["CP-2026-10B", "CP-2026-10B-T3"])


def _hoang_hoa(producer: Producer, created: list[str]) -> None:
    greens = _product(producer, "Rau cải ngọt")
    if greens is None or _exists(producer, "RC-2026-11-20"):
        return
    tuan = _actor(TUAN_PHONE, producer)  # the helper types it in for the household
    lot = create_batch(
        producer.id,
        product_id=greens.id,
        lot_code="RC-2026-11-20",
        produced_on=date(2026, 11, 20),
        produced_at=time_from_form("2026-11-20", "05:30"),
        quantity="120",
        unit="kg",
        best_before=date(2026, 11, 24),
        standards=["VietGAP"],
        inputs_used="Phân chuồng ủ hoai; không dùng thuốc hoá học trong 30 ngày trước thu hoạch.",
        created_by_id=tuan.user_id,
        actor_role=tuan.role,
    )
    _event(
        lot, tuan, "packing", "2026-11-20", "08:00", packaging="bó 500 g", quantity="240", unit="bó"
    )
    _event(
        lot,
        tuan,
        "shipping",
        "2026-11-20",
        "10:00",
        destination="Chợ đầu mối Thanh Hóa",
        quantity="240",
        unit="bó",
    )
    created.append("RC-2026-11-20")


def seed_demo() -> str:
    cao_phong = _producer(CAO_PHONG)
    household = _producer(HOUSEHOLD)
    if cao_phong is None and household is None:
        return "skipped: the cooperatives demo (HTX Cam Cao Phong) is not loaded"
    created: list[str] = []
    if cao_phong is not None:
        _cao_phong(cao_phong, created)
    if household is not None:
        _hoang_hoa(household, created)
    db.session.flush()
    summary = f"{len(created)} lô mới ({', '.join(created) or 'đã có đủ'})"
    stamps = seed_stamps()
    return f"{summary}; tem: {stamps}"
