"""Participation figures: producers by kind and place, products posted over time, and what
community digital-technology helpers entered for households.

Products posted per day come from the daily summaries (`products_published`, refreshed by
`flask stats refresh`): 100,000 products are not grouped by day on every page view. The rest is
counted live (producers and the helpers' audit entries are small tables, indexed by producer).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import distinct, func, select

from accounts.models import AuditEntry
from cooperatives.labels import KIND_LABELS
from cooperatives.models import MemberRole, Membership, Producer, ProducerKind, Product
from core import places
from core.db import db
from core.i18n import LOCAL_TZ
from core.statistics import (
    SectionResult,
    StatQuery,
    Table,
    daily_series,
    freshness,
    local_day,
    store_daily,
)

SOURCE = "cooperatives"
KINDS = (ProducerKind.HTX, ProducerKind.THT, ProducerKind.DN, ProducerKind.HKD)


def refresh(since: date | None) -> int:
    """Products published per local day and producer (the job calls this)."""
    day = local_day(Product.published_at)
    query = (
        select(day, Product.producer_id, Producer.province_code, func.count())
        .join(Producer, Producer.id == Product.producer_id)
        .where(Product.published_at.is_not(None))
        .group_by(day, Product.producer_id, Producer.province_code)
    )
    if since is not None:
        query = query.where(Product.published_at >= datetime.combine(since, time.min, LOCAL_TZ))
    return store_daily("products_published", db.session.execute(query).all(), since)


def _producers(q: StatQuery) -> Any:
    query = select(Producer.province_code, Producer.ward_code, Producer.kind, func.count())
    if q.province is not None:
        query = query.where(Producer.province_code == q.province)
    elif q.provinces is not None:
        query = query.where(Producer.province_code.in_(sorted(q.provinces)))
    if q.producer_ids is not None:
        query = query.where(Producer.id.in_(sorted(q.producer_ids)))
    return db.session.execute(
        query.group_by(Producer.province_code, Producer.ward_code, Producer.kind)
    ).all()


def _kind_row(label: str, counts: dict[str, int]) -> list[Any]:
    return [label, *(counts.get(k, 0) for k in KINDS), sum(counts.values())]


def _kind_columns(first: str) -> list[str]:
    return [first, *(str(KIND_LABELS[k]) for k in KINDS), _("Tổng")]


def producer_tables(q: StatQuery) -> list[Table]:
    rows = _producers(q)
    by_kind: dict[str, int] = defaultdict(int)
    by_place: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    one_province = q.province
    if one_province is None and q.provinces is not None and len(q.provinces) == 1:
        one_province = next(iter(q.provinces))
    for province_code, ward_code, kind, count in rows:
        by_kind[kind] += int(count)
        key = ward_code if one_province is not None else province_code
        by_place[int(key)][kind] += int(count)
    tables = [
        Table(
            key="producers_kind",
            title=_("Chủ thể theo loại hình"),
            columns=[_("Loại hình"), _("Chủ thể")],
            rows=[[str(KIND_LABELS[k]), by_kind.get(k, 0)] for k in KINDS],
            chart="bar",
        )
    ]
    if one_province is not None:
        ordered = sorted(by_place.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        tables.append(
            Table(
                key="producers_ward",
                title=_("Chủ thể theo xã, phường"),
                columns=_kind_columns(_("Xã, phường")),
                rows=[
                    _kind_row(w.name if (w := places.ward(code)) else str(code), counts)
                    for code, counts in ordered
                ],
            )
        )
    else:
        codes = [p.code for p in places.provinces() if q.provinces is None or p.code in q.provinces]
        tables.append(
            Table(
                key="producers_province",
                title=_("Chủ thể theo tỉnh, thành phố"),
                columns=_kind_columns(_("Tỉnh, thành phố")),
                rows=[
                    _kind_row(places.province(code).name, by_place.get(code, {}))  # type: ignore[union-attr]
                    for code in codes
                ],
                chart="map",
                series=(5,),
                codes=codes,
            )
        )
    return tables


def posted_table(q: StatQuery) -> Table:
    series = daily_series("products_published", q.narrowed())
    return Table(
        key="products_posted",
        title=_("Sản phẩm được đăng bán"),
        columns=[_("Thời gian"), _("Sản phẩm")],
        rows=[[q.period.bucket_label(b), n] for b, n in series.items()],
        chart="line",
    )


def helper_table(q: StatQuery) -> Table:
    """Households a helper works for, and what helpers entered for them in the period."""
    start = datetime.combine(q.period.start, time.min, LOCAL_TZ)
    end = datetime.combine(q.period.end + timedelta(days=1), time.min, LOCAL_TZ)
    helped = (
        select(func.count(distinct(Membership.producer_id)))
        .join(Producer, Producer.id == Membership.producer_id)
        .where(Membership.role == MemberRole.HELPER, Membership.ended_at.is_(None))
    )
    helpers = (
        select(func.count(distinct(Membership.user_id)))
        .join(Producer, Producer.id == Membership.producer_id)
        .where(Membership.role == MemberRole.HELPER, Membership.ended_at.is_(None))
    )
    entries = (
        select(func.count(), func.count(distinct(AuditEntry.producer_id)))
        .join(Producer, Producer.id == AuditEntry.producer_id)
        .where(
            AuditEntry.actor_role == MemberRole.HELPER,
            AuditEntry.at >= start,
            AuditEntry.at < end,
        )
    )
    households = helped.where(Producer.kind == ProducerKind.HKD)

    def narrow(query: Any) -> Any:
        if q.province is not None:
            query = query.where(Producer.province_code == q.province)
        elif q.provinces is not None:
            query = query.where(Producer.province_code.in_(sorted(q.provinces)))
        if q.producer_ids is not None:
            query = query.where(Producer.id.in_(sorted(q.producer_ids)))
        return query

    changes, producers_changed = db.session.execute(narrow(entries)).one()
    return Table(
        key="helpers",
        title=_("Đóng góp của tổ công nghệ số cộng đồng"),
        columns=[_("Chỉ số"), _("Số lượng")],
        rows=[
            [_("Người hỗ trợ đang làm việc"), int(db.session.scalar(narrow(helpers)) or 0)],
            [_("Chủ thể có người hỗ trợ"), int(db.session.scalar(narrow(helped)) or 0)],
            [_("Trong đó hộ sản xuất"), int(db.session.scalar(narrow(households)) or 0)],
            [_("Thay đổi do người hỗ trợ nhập trong kỳ"), int(changes or 0)],
            [_("Chủ thể được nhập thay trong kỳ"), int(producers_changed or 0)],
        ],
        chart="bar",
    )


def build(q: StatQuery) -> SectionResult:
    tables = producer_tables(q)
    tables += [posted_table(q), helper_table(q)]
    return SectionResult(tables, fresh_at=freshness(SOURCE), summarised=True)
