"""Selling figures for the statistics pages (issue 13): orders, units and revenue per period,
by the producer's and the buyer's province, by OCOP product group and stars, top products,
payment methods, days to ship, and buyers told of recalls.

Counted live from the shop's own records, narrowed to the sellers in the viewer's scope
(`q.provinces` / `q.producer_ids` are the producer's). An order is counted once per producer
it buys from (its sub-order: each producer fulfils its own part); cancelled parts are left out.
Revenue is the goods sold (lines), in integer đồng, shipping excluded.
"""

from __future__ import annotations

import statistics as pystats
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from cooperatives.models import Producer
from cooperatives.selling import category_groups, group_of, ocop_stars, search_facts
from core import places
from core.db import db
from core.i18n import LOCAL_TZ
from core.statistics import SectionResult, StatQuery, Table, as_date, local_day
from shop.orders.models import (
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    RecallNotice,
    SubOrder,
)
from shop.payments.models import Payment, PaymentMethod, PaymentStatus

TOP = 10
LIVE_PAYMENTS = (PaymentStatus.PENDING, PaymentStatus.AUTHORISED, PaymentStatus.PAID)


def _bounds(q: StatQuery) -> tuple[datetime, datetime]:
    start = datetime.combine(q.period.start, time.min, LOCAL_TZ)
    end = datetime.combine(q.period.end + timedelta(days=1), time.min, LOCAL_TZ)
    return start, end


def _scoped(query: Any, q: StatQuery, created: Any) -> Any:
    """Sub-orders placed in the period, not cancelled, of producers in scope."""
    start, end = _bounds(q)
    narrowed = q.narrowed()
    query = query.where(
        created >= start, created < end, SubOrder.status != OrderStatus.CANCELLED.value
    )
    if narrowed.provinces is not None:
        query = query.where(Producer.province_code.in_(sorted(narrowed.provinces)))
    if q.producer_ids is not None:
        query = query.where(SubOrder.producer_id.in_(sorted(q.producer_ids)))
    return query


def _lines(q: StatQuery) -> list[Any]:
    """One row per order line in scope: everything the breakdowns need (one query)."""
    query = (
        select(
            SubOrder.id,
            SubOrder.producer_id,
            SubOrder.producer_name,
            Producer.province_code,
            Order.province_code,
            local_day(Order.created_at),
            OrderLine.product_id,
            OrderLine.product_name,
            OrderLine.quantity,
            OrderLine.line_total_vnd,
            OrderLine.ocop_stars,
        )
        .select_from(OrderLine)
        .join(SubOrder, SubOrder.id == OrderLine.sub_order_id)
        .join(Order, Order.id == SubOrder.order_id)
        .join(Producer, Producer.id == SubOrder.producer_id)
    )
    return list(db.session.execute(_scoped(query, q, Order.created_at)).all())


class _Tally:
    """Orders (distinct sub-orders), units and revenue per key."""

    def __init__(self) -> None:
        self.orders: dict[Any, set[int]] = defaultdict(set)
        self.units: dict[Any, int] = defaultdict(int)
        self.revenue: dict[Any, int] = defaultdict(int)

    def add(self, key: Any, sub_id: int, units: int, revenue: int) -> None:
        self.orders[key].add(sub_id)
        self.units[key] += int(units)
        self.revenue[key] += int(revenue)

    def row(self, key: Any) -> list[int]:
        return [len(self.orders.get(key, ())), self.units.get(key, 0), self.revenue.get(key, 0)]


def _figures() -> list[str]:
    return [_("Đơn hàng"), _("Sản phẩm bán ra"), _("Doanh thu (đồng)")]


def _province_table(key: str, title: str, q: StatQuery, tally: _Tally) -> Table:
    codes = [p.code for p in places.provinces() if q.provinces is None or p.code in q.provinces]
    if key == "selling_buyer_provinces":  # buyers live anywhere in the country
        codes = [p.code for p in places.provinces()]
    return Table(
        key=key,
        title=title,
        columns=[_("Tỉnh, thành phố"), *_figures()],
        rows=[[places.province(code).name, *tally.row(code)] for code in codes],  # type: ignore[union-attr]
        chart="map",
        series=(1,),
        codes=codes,
        highlight=q.province,
    )


def _payments(q: StatQuery) -> dict[str, int]:
    """Parts of orders in scope per payment method, from the payment records (a card or VietQR
    payment covers the whole order, a cash-on-delivery one its producer's part)."""
    query = (
        select(Payment.method, func.count(func.distinct(SubOrder.id)))
        .select_from(Payment)
        .join(
            SubOrder,
            (SubOrder.order_id == Payment.order_id)
            & ((Payment.sub_order_id.is_(None)) | (Payment.sub_order_id == SubOrder.id)),
        )
        .join(Order, Order.id == SubOrder.order_id)
        .join(Producer, Producer.id == SubOrder.producer_id)
        .where(Payment.status.in_([s.value for s in LIVE_PAYMENTS]))
        .group_by(Payment.method)
    )
    return {m: int(n) for m, n in db.session.execute(_scoped(query, q, Order.created_at))}


def _shipping_days(q: StatQuery) -> list[float]:
    """Days from payment (cashless) or placing (cash on delivery) to shipping, per part."""
    shipped = (
        select(OrderEvent.sub_order_id, func.min(OrderEvent.at).label("at"))
        .where(OrderEvent.to_status == OrderStatus.SHIPPED.value)
        .group_by(OrderEvent.sub_order_id)
        .subquery()
    )
    paid = (
        select(Payment.order_id, func.min(Payment.paid_at).label("at"))
        .where(
            Payment.method != PaymentMethod.COD.value,
            Payment.paid_at.is_not(None),
        )
        .group_by(Payment.order_id)
        .subquery()
    )
    query = (
        select(Order.created_at, paid.c.at, shipped.c.at)
        .select_from(SubOrder)
        .join(shipped, shipped.c.sub_order_id == SubOrder.id)
        .join(Order, Order.id == SubOrder.order_id)
        .join(Producer, Producer.id == SubOrder.producer_id)
        .outerjoin(paid, paid.c.order_id == Order.id)
    )
    days = []
    for placed, paid_at, shipped_at in db.session.execute(_scoped(query, q, Order.created_at)):
        start, end = _aware(paid_at or placed), _aware(shipped_at)
        days.append(max(0.0, (end - start).total_seconds() / 86400))
    return days


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def recall_counts(q: StatQuery) -> tuple[int, int, int]:
    """Recalled lots that reached buyers, orders flagged and buyers told in the period, from the
    shop's recall notices (one message per order and recalled lot; a buyer is their phone)."""
    start, end = _bounds(q)
    narrowed = q.narrowed()
    query = (
        select(
            func.count(func.distinct(RecallNotice.origin_batch_id)),
            func.count(func.distinct(RecallNotice.order_id)),
            func.count(func.distinct(Order.buyer_phone)),
        )
        .select_from(RecallNotice)
        .join(Order, Order.id == RecallNotice.order_id)
        .join(Producer, Producer.id == RecallNotice.producer_id)
        .where(
            RecallNotice.notified_at.is_not(None),
            RecallNotice.created_at >= start,
            RecallNotice.created_at < end,
        )
    )
    if narrowed.provinces is not None:
        query = query.where(Producer.province_code.in_(sorted(narrowed.provinces)))
    if q.producer_ids is not None:
        query = query.where(RecallNotice.producer_id.in_(sorted(q.producer_ids)))
    lots, orders, buyers = db.session.execute(query).one()
    return int(lots or 0), int(orders or 0), int(buyers or 0)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def build(q: StatQuery) -> SectionResult:
    rows = _lines(q)
    series, producer_prov, buyer_prov = _Tally(), _Tally(), _Tally()
    groups, stars, products = _Tally(), _Tally(), _Tally()
    product_ids = {r[6] for r in rows if r[6] is not None}
    facts = search_facts(product_ids)
    # lines sold before the stars were recorded on them fall back to today's stars
    stars_now = ocop_stars({r[6] for r in rows if r[6] is not None and r[10] is None}, q.today)
    names: dict[Any, tuple[str, str]] = {}
    for sub_id, _producer, producer_name, prov, buyer, day, pid, pname, qty, total, sold in rows:
        bucket = q.period.bucket_of(as_date(day))
        series.add(bucket, sub_id, qty, total)
        producer_prov.add(int(prov), sub_id, qty, total)
        buyer_prov.add(int(buyer), sub_id, qty, total)
        fact = facts.get(pid) if pid is not None else None
        groups.add(group_of(fact.category_code if fact else None) or "", sub_id, qty, total)
        shown = sold if sold is not None else stars_now.get(pid, 0) if pid is not None else 0
        stars.add(shown, sub_id, qty, total)
        key = pid if pid is not None else f"{producer_name}|{pname}"
        products.add(key, sub_id, qty, total)
        names.setdefault(key, (pname, producer_name))

    tables = [
        Table(
            key="selling_series",
            title=_("Bán hàng theo thời gian"),
            columns=[_("Thời gian"), *_figures()],
            rows=[[q.period.bucket_label(b), *series.row(b)] for b in q.period.buckets()],
            chart="line",
            series=(1, 2),
        ),
        _province_table(
            "selling_producer_provinces",
            _("Bán hàng theo tỉnh, thành phố của cơ sở sản xuất"),
            q,
            producer_prov,
        ),
        _province_table(
            "selling_buyer_provinces",
            _("Bán hàng theo tỉnh, thành phố của người mua"),
            q,
            buyer_prov,
        ),
    ]
    group_rows = [[name, *groups.row(code)] for code, name, _en in category_groups()]
    group_rows.append([_("Chưa phân nhóm"), *groups.row("")])
    tables.append(
        Table(
            key="selling_groups",
            title=_("Bán hàng theo nhóm sản phẩm OCOP"),
            columns=[_("Nhóm sản phẩm"), *_figures()],
            rows=group_rows,
            chart="bar",
            series=(3,),
        )
    )
    tables.append(
        Table(
            key="selling_stars",
            title=_("Bán hàng theo hạng sao OCOP"),
            columns=[_("Hạng sao"), *_figures()],
            rows=[[f"{s}★", *stars.row(s)] for s in (3, 4, 5)]
            + [[_("Chưa có chứng nhận còn hiệu lực"), *stars.row(0)]],
            chart="bar",
            series=(3,),
            note=_("Hạng sao sản phẩm có lúc bán."),
        )
    )
    top = sorted(products.revenue, key=lambda k: (-products.revenue[k], str(k)))[:TOP]
    tables.append(
        Table(
            key="selling_top_products",
            title=_("Sản phẩm có doanh thu cao nhất"),
            columns=[
                _("Sản phẩm"),
                _("Cơ sở sản xuất"),
                _("Sản phẩm bán ra"),
                _("Doanh thu (đồng)"),
            ],
            rows=[[*names[k], products.units[k], products.revenue[k]] for k in top],
        )
    )
    paid = _payments(q)
    card, qr, cod = (
        paid.get(m.value, 0) for m in (PaymentMethod.CARD, PaymentMethod.VIETQR, PaymentMethod.COD)
    )
    whole = sum(paid.values())
    tables.append(
        Table(
            key="selling_payments",
            title=_("Đơn hàng theo cách thanh toán"),
            columns=[_("Cách thanh toán"), _("Đơn hàng"), _("Tỉ lệ")],
            rows=[
                [_("Thẻ"), card, _pct(card, whole)],
                [_("VietQR"), qr, _pct(qr, whole)],
                [_("Thanh toán khi nhận hàng"), cod, _pct(cod, whole)],
                [_("Không dùng tiền mặt (thẻ + VietQR)"), card + qr, _pct(card + qr, whole)],
            ],
            note=_("Đếm từ các bản ghi thanh toán (chưa tính thanh toán thất bại hoặc đã huỷ)."),
        )
    )
    days = _shipping_days(q)
    median = f"{pystats.median(days):.1f}" if days else "–"
    p90 = f"{pystats.quantiles(days, n=10)[-1]:.1f}" if len(days) >= 2 else median
    tables.append(
        Table(
            key="selling_shipping",
            title=_("Thời gian giao cho đơn vị vận chuyển"),
            columns=[_("Chỉ số"), _("Giá trị")],
            rows=[
                [_("Đơn đã gửi đi"), len(days)],
                [_("Số ngày (trung vị)"), median],
                [_("Số ngày (90% đơn trong vòng)"), p90],
            ],
            note=_(
                "Tính từ lúc thanh toán (thẻ, VietQR) hoặc lúc đặt (khi nhận hàng) đến lúc gửi."
            ),
        )
    )
    lots, orders, buyers = recall_counts(q)
    tables.append(
        Table(
            key="recall_buyers",
            title=_("Thu hồi: người mua được báo"),
            columns=[_("Chỉ số"), _("Số lượng")],
            rows=[
                [_("Lô bị thu hồi đã đến tay người mua"), lots],
                [_("Đơn hàng được đánh dấu"), orders],
                [_("Người mua được báo"), buyers],
            ],
        )
    )
    return SectionResult(tables)
