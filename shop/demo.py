"""Demo shop for `flask seed-demo` (idempotent): stock on the demo lots that may be sold today,
and a few orders from Chị Mai in Hà Nội in every state — cash on delivery, and VietQR waiting,
paid and paid short — so the shopper's and the cooperatives' journeys can be shown at once.
Flushes; the command commits."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from cooperatives.selling import all_product_ids, sale_variants, variant_ids_of_product
from core import places
from core.db import db
from core.i18n import local_today
from shop.checkout.services import LineIn, clean_contact, place_order
from shop.inventory.models import StockLot
from shop.inventory.receiving import receive_stock
from shop.inventory.services import available_units
from shop.orders.models import Order
from shop.orders.services import buyer_cancel, producer_move
from shop.payments.reconciliation import Received, receive
from shop.payments.services import record_cash
from shop.search.services import reindex_all
from traceability.lots.selling import LOT_UNITS, record_lot_for_sale, sellable_lots_of_product

DEMO_SOURCE = "demo"
DEMO_VIETQR = "demo-vietqr"
MAX_PACKS = 120


def _stock() -> int:
    received = 0
    today = local_today()
    for product_id in all_product_ids(0, 10_000):
        variant_ids = variant_ids_of_product(product_id)
        if not variant_ids:
            continue
        variants = sale_variants(variant_ids)
        if not any(v.on_sale for v in variants.values()):
            continue
        lots = sellable_lots_of_product(product_id, today)[:1]
        if not lots:
            first = variants[variant_ids[0]]
            unit = first.unit if first.unit in LOT_UNITS else "kg"
            record_lot_for_sale(
                first.producer_id,
                product_id,
                lot_code=f"DEMO-{product_id}",
                produced_on=today - timedelta(days=2),
                quantity=Decimal(2000),
                unit=unit,
                best_before=today + timedelta(days=60),
            )
            lots = sellable_lots_of_product(product_id, today)[:1]
        for lot in lots:
            for variant_id in variant_ids[:2]:
                variant = variants[variant_id]
                already = db.session.scalar(
                    select(func.count())
                    .select_from(StockLot)
                    .where(StockLot.batch_id == lot.id, StockLot.variant_id == variant_id)
                )
                if already:
                    continue
                same_unit = variant.unit == lot.unit
                per_pack = variant.pack_size if same_unit else Decimal(1)
                packs = int(min(MAX_PACKS, (lot.quantity / 4) / per_pack)) if per_pack > 0 else 0
                if packs < 1:
                    continue
                receive_stock(
                    lot.producer_id,
                    variant_id=variant_id,
                    batch_id=lot.id,
                    units=packs,
                    lot_quantity=None if same_unit else str(packs),
                )
                received += 1
    return received


def _already(source: str) -> bool:
    return bool(
        db.session.scalar(select(func.count()).select_from(Order).where(Order.source == source))
    )


def _on_sale(at_least: int) -> list[int]:
    """Variants with at least this many units free to sell."""
    stocked = list(db.session.scalars(select(StockLot.variant_id).distinct()))
    available = available_units(stocked)
    return [v for v in stocked if available.get(v, 0) >= at_least]


def _mai(note: str = ""):
    """Chị Mai's delivery contact in Hà Nội (the shopper of JOURNEYS.md)."""
    hanoi = places.find_province("Hà Nội")
    return clean_contact(
        name="Chị Mai",
        phone="0912 345 679",
        province_code=hanoi.code,
        ward_code=places.wards_of(hanoi.code)[0].code,
        street="12 Hàng Bài",
        note=note,
    )


def _orders() -> int:
    on_sale = _on_sale(8)
    if _already(DEMO_SOURCE) or not on_sale:
        return 0
    contact = _mai(note="Gọi trước khi giao")
    made = 0
    plans = ["placed", "confirmed", "packed", "shipped", "delivered", "cancelled"]
    for index, target in enumerate(plans):
        variant_id = on_sale[index % len(on_sale)]
        order = place_order(
            [LineIn(variant_id, 1 + index % 2)],
            contact,
            source=DEMO_SOURCE,
            auto_confirm=target != "placed",
        )
        for sub in order.sub_orders:
            steps = {
                "packed": ["packed"],
                "shipped": ["packed", "shipped"],
                "delivered": ["packed", "shipped", "delivered"],
            }
            for step in steps.get(target, []):
                producer_move(
                    sub.producer_id,
                    sub.id,
                    step,
                    actor_id=None,
                    carrier="Viettel Post",
                    tracking_number=f"VTP{order.id:08d}",
                )
            if target == "delivered":
                record_cash(sub.id, actor_id=None)
        if target == "cancelled":
            buyer_cancel(order, None, actor_id=None, reason="Đặt nhầm số lượng")
        made += 1
    return made


def _vietqr_orders() -> int:
    """Three orders paid by VietQR: one waiting for the transfer (its QR page), one paid by a
    bank notification, one paid short (flagged for the producer on its transfers page)."""
    on_sale = _on_sale(4)
    if _already(DEMO_VIETQR) or not on_sale:
        return 0
    contact = _mai()
    today = local_today()
    for index, paid in enumerate((None, 1.0, 0.5)):
        order = place_order(
            [LineIn(on_sale[index % len(on_sale)], 1)],
            contact,
            payment_method="vietqr",
            source=DEMO_VIETQR,
        )
        if paid is None:
            continue
        receive(
            Received(
                bank="coopbank",
                txn_key=f"DEMO-FT{order.id:08d}",
                source="webhook",
                booked_on=today,
                amount_vnd=int(order.total_vnd * paid),
                description=f"MBVCB.{order.id} {order.ref} chuyen tien",
            )
        )
    return 3


def seed_demo() -> str:
    received = _stock()
    orders = _orders() + _vietqr_orders()
    indexed = reindex_all()
    return (
        f"{received} lô đưa lên bán, {orders} đơn hàng mẫu, "
        f"{indexed} sản phẩm trong chỉ mục tìm kiếm"
    )
