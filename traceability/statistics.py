"""Traceability figures: lots recorded, stamps printed and activated, scans per day and per
province of the producer, stamps with copy warnings, recalls.

Scans and stamp activations run into the millions: a scheduled job (`flask stats refresh`)
folds them into core's daily summaries (per local day and producer) and the pages read those.
Recalls are few and counted live.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from cooperatives.models import Producer
from core import places
from core.db import db
from core.i18n import LOCAL_TZ, local_today
from core.statistics import (
    SectionResult,
    StatQuery,
    Table,
    daily_by_province_many,
    daily_series_many,
    freshness,
    local_day,
    store_daily,
)
from traceability.models import Batch, Scan, Stamp, StampRun

SOURCE = "traceability"
SERIES = ("lots", "stamps_printed", "stamps_activated")


def _since(column: Any, since: date | None) -> list[Any]:
    if since is None:
        return []
    return [column >= datetime.combine(since, time.min, LOCAL_TZ)]


def _per_day(column: Any, producer: Any, since: date | None, value: Any = None) -> Any:
    day = local_day(column)
    return (
        select(day, producer, Producer.province_code, value if value is not None else func.count())
        .join(Producer, Producer.id == producer)
        .where(column.is_not(None), *_since(column, since))
        .group_by(day, producer, Producer.province_code)
    )


def refresh(since: date | None) -> int:
    """Rebuild the traceability summaries from `since` (None: from the beginning)."""
    written = 0
    run = lambda query: db.session.execute(query).all()  # noqa: E731
    written += store_daily("lots", run(_per_day(Batch.created_at, Batch.producer_id, since)), since)
    written += store_daily(
        "stamps_printed",
        run(
            _per_day(StampRun.created_at, StampRun.producer_id, since, func.sum(StampRun.quantity))
        ),
        since,
    )
    written += store_daily(
        "stamps_activated",
        run(_per_day(Stamp.activated_at, Stamp.producer_id, since)),
        since,
    )
    day = local_day(Scan.scanned_at)
    scans = (
        select(day, Stamp.producer_id, Producer.province_code, func.count())
        .select_from(Scan)
        .join(Stamp, Stamp.id == Scan.stamp_id)
        .join(Producer, Producer.id == Stamp.producer_id)
        .where(*_since(Scan.scanned_at, since))
        .group_by(day, Stamp.producer_id, Producer.province_code)
    )
    written += store_daily("scans", run(scans), since)
    # A state, not an event: today's count of stamps past the copy-warning threshold.
    threshold = int(current_app.config["SCAN_COPY_WARNING_THRESHOLD"])
    today = local_today()
    warned = (
        select(Stamp.producer_id, Producer.province_code, func.count())
        .join(Producer, Producer.id == Stamp.producer_id)
        .where(Stamp.scan_count > threshold)
        .group_by(Stamp.producer_id, Producer.province_code)
    )
    written += store_daily(
        "stamps_copy_warned",
        [(today, producer, province, n) for producer, province, n in run(warned)],
        None,
    )
    return written


def _province_rows(q: StatQuery) -> tuple[list[int], dict[str, dict[int, int]]]:
    codes = [p.code for p in places.provinces() if q.provinces is None or p.code in q.provinces]
    figures = daily_by_province_many((*SERIES, "scans"), q, whole_time=("stamps_copy_warned",))
    return codes, figures


def _recalls(q: StatQuery) -> tuple[int, int]:
    start = datetime.combine(q.period.start, time.min, LOCAL_TZ)
    end = datetime.combine(q.period.end + timedelta(days=1), time.min, LOCAL_TZ)
    recalled = (
        select(Batch.id)
        .join(Producer, Producer.id == Batch.producer_id)
        .where(Batch.recalled_at >= start, Batch.recalled_at < end)
    )
    narrowed = q.narrowed()
    if narrowed.provinces is not None:
        recalled = recalled.where(Producer.province_code.in_(sorted(narrowed.provinces)))
    if q.producer_ids is not None:
        recalled = recalled.where(Batch.producer_id.in_(sorted(q.producer_ids)))
    lots = db.session.scalar(select(func.count()).select_from(recalled.subquery())) or 0
    stamps = (
        db.session.scalar(
            select(func.count()).select_from(Stamp).where(Stamp.batch_id.in_(recalled))
        )
        or 0
    )
    return int(lots), int(stamps)


def build(q: StatQuery) -> SectionResult:
    narrowed = q.narrowed()
    series = daily_series_many((*SERIES, "scans"), narrowed)
    buckets = q.period.buckets()
    tables = [
        Table(
            key="trace_series",
            title=_("Lô hàng và tem theo thời gian"),
            columns=[_("Thời gian"), _("Lô mới ghi"), _("Tem đã in"), _("Tem đã kích hoạt")],
            rows=[
                [q.period.bucket_label(b), *(series[m].get(b, 0) for m in SERIES)] for b in buckets
            ],
            chart="line",
            series=(1, 2, 3),
        ),
        Table(
            key="scans_series",
            title=_("Lượt quét tem theo thời gian"),
            columns=[_("Thời gian"), _("Lượt quét")],
            rows=[[q.period.bucket_label(b), series["scans"].get(b, 0)] for b in buckets],
            chart="line",
        ),
    ]
    codes, figures = _province_rows(q)
    metrics = (*SERIES, "scans", "stamps_copy_warned")
    tables.append(
        Table(
            key="trace_provinces",
            title=_("Theo tỉnh, thành phố của cơ sở sản xuất"),
            columns=[
                _("Tỉnh, thành phố"),
                _("Lô mới ghi"),
                _("Tem đã in"),
                _("Tem đã kích hoạt"),
                _("Lượt quét"),
                _("Tem nghi bị sao chép"),
            ],
            rows=[
                [places.province(code).name, *(figures[m].get(code, 0) for m in metrics)]  # type: ignore[union-attr]
                for code in codes
            ],
            chart="map",
            series=(4,),
            codes=codes,
            highlight=q.province,
            note=_("Tem nghi bị sao chép: số tem hiện đã bị quét quá nhiều lần (không theo kỳ)."),
        )
    )
    lots, stamps = _recalls(q)
    tables.append(
        Table(
            key="recalls",
            title=_("Thu hồi trong kỳ"),
            columns=[_("Chỉ số"), _("Số lượng")],
            rows=[[_("Lô bị thu hồi"), lots], [_("Tem thuộc các lô bị thu hồi"), stamps]],
            note=_("Số người mua được báo: xem mục Bán hàng."),
        )
    )
    return SectionResult(tables, fresh_at=freshness(SOURCE), summarised=True)
