"""OCOP figures for the statistics pages: certified products by stars, product group, province
and commune; certificates per month; the evaluation pipeline.

"Certified product" = a product with a certificate valid today (status valid, signed, not past
valid_until), counted once at its best stars: the same rule as province_statistics and the
product pages. Every query is one GROUP BY over the certificates in scope (indexed by status,
valid_until and producer), never a row per product in Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import cache
from statistics import median
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from cooperatives.models import (
    CertificateStatus,
    EvaluationStatus,
    OcopCategory,
    OcopCertificate,
    OcopEvaluation,
    Producer,
)
from core import places
from core.db import db
from core.i18n import LOCAL_TZ, current_locale
from core.statistics import SectionResult, StatQuery, Table, as_date

STARS = (5, 4, 3)
EXPIRING_DAYS = 90


def _valid_today(today: date) -> Any:
    return and_(
        OcopCertificate.status == CertificateStatus.VALID,
        OcopCertificate.valid_until >= today,
        OcopCertificate.decision_date <= today,
    )


def _best_stars(q: StatQuery) -> Any:
    """Per certified product: its producer, best stars today and certified product group."""
    query = (
        select(
            OcopCertificate.product_id.label("product_id"),
            OcopCertificate.producer_id.label("producer_id"),
            func.max(OcopCertificate.stars).label("stars"),
            func.max(OcopCertificate.category_code).label("category"),
        )
        .where(_valid_today(q.today))
        .group_by(OcopCertificate.product_id, OcopCertificate.producer_id)
    )
    if q.producer_ids is not None:
        query = query.where(OcopCertificate.producer_id.in_(sorted(q.producer_ids)))
    return query.subquery("best")


def _in_scope(query: Any, q: StatQuery, *, province: int | None) -> Any:
    if province is not None:
        return query.where(Producer.province_code == province)
    if q.provinces is not None:
        return query.where(Producer.province_code.in_(sorted(q.provinces)))
    return query


Certified = dict[tuple[int, str, int], int]  # (province, product group, stars) → products


def certified(q: StatQuery) -> Certified:
    """Certified products in scope (every province of it, not narrowed to the chosen one) by
    province, product group (as certified) and best stars: one query for the map, the stars
    and the groups."""
    best = _best_stars(q)
    query = (
        select(Producer.province_code, best.c.category, best.c.stars, func.count())
        .select_from(best)
        .join(Producer, Producer.id == best.c.producer_id)
        .group_by(Producer.province_code, best.c.category, best.c.stars)
    )
    parents = {code: parent for code, parent, _vi, _en in _categories()}
    out: Certified = defaultdict(int)
    for province_code, category, stars, count in db.session.execute(
        _in_scope(query, q, province=None)
    ):
        group = parents.get(category) or category or ""
        out[(int(province_code), group, int(stars))] += int(count)
    return dict(out)


def certified_by_province(counts: Certified) -> dict[int, dict[int, int]]:
    """{province: {stars: products}}."""
    out: dict[int, dict[int, int]] = defaultdict(lambda: dict.fromkeys(STARS, 0))
    for (province_code, _group, stars), n in counts.items():
        out[province_code][stars] += n
    return dict(out)


def _by_group(q: StatQuery, counts: Certified) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = defaultdict(lambda: dict.fromkeys(STARS, 0))
    for (province_code, group, stars), n in counts.items():
        if q.province is None or province_code == q.province:
            out[group][stars] += n
    return dict(out)


def _by_ward(q: StatQuery, province: int) -> dict[int, dict[int, int]]:
    best = _best_stars(q)
    query = (
        select(Producer.ward_code, best.c.stars, func.count())
        .select_from(best)
        .join(Producer, Producer.id == best.c.producer_id)
        .where(Producer.province_code == province)
        .group_by(Producer.ward_code, best.c.stars)
    )
    out: dict[int, dict[int, int]] = defaultdict(lambda: dict.fromkeys(STARS, 0))
    for ward_code, stars, count in db.session.execute(query):
        out[int(ward_code)][int(stars)] = int(count)
    return dict(out)


@cache
def _categories() -> tuple[tuple[str, str | None, str, str], ...]:
    """The OCOP groups and sub-groups: seeded reference data, read once per process."""
    rows = db.session.execute(
        select(
            OcopCategory.code, OcopCategory.parent_code, OcopCategory.name_vi, OcopCategory.name_en
        )
    )
    return tuple((code, parent, vi, en) for code, parent, vi, en in rows)


def _group_names() -> dict[str, str]:
    english = current_locale() == "en"
    return {
        code: (en if english and en else vi)
        for code, parent, vi, en in _categories()
        if parent is None
    }


def _star_columns(first: str) -> list[str]:
    return [first, "5★", "4★", "3★", _("Tổng")]


def _star_row(label: Any, counts: dict[int, int]) -> list[Any]:
    return [label, *(counts.get(s, 0) for s in STARS), sum(counts.get(s, 0) for s in STARS)]


def _province_name(code: int) -> str:
    place = places.province(code)
    return place.name if place else str(code)


def map_table(q: StatQuery, counts: dict[int, dict[int, int]]) -> Table:
    """Certified products per province (every province in scope), the map's figures."""
    codes = [p.code for p in places.provinces() if q.provinces is None or p.code in q.provinces]
    stars_label = f"{q.stars}★" if q.stars else _("mọi hạng sao")
    return Table(
        key="ocop_map",
        title=_("Sản phẩm OCOP còn hiệu lực theo tỉnh, thành (%(stars)s)", stars=stars_label),
        columns=_star_columns(_("Tỉnh, thành phố")),
        rows=[_star_row(_province_name(c), counts.get(c, {})) for c in codes],
        chart="map",
        series=(STARS.index(q.stars) + 1,) if q.stars else (4,),
        codes=codes,
        highlight=q.province,
    )


def stars_table(q: StatQuery, counts: dict[int, dict[int, int]]) -> Table:
    totals = dict.fromkeys(STARS, 0)
    for province_code, by_stars in counts.items():
        if q.province is not None and province_code != q.province:
            continue
        for stars, n in by_stars.items():
            totals[stars] += n
    place = (
        _province_name(q.province) if q.province else _("Cả nước") if q.provinces is None else ""
    )
    rows: list[list[Any]] = [[f"{s}★", totals[s]] for s in STARS]
    rows.append([_("Tổng"), sum(totals.values())])
    title = _("Sản phẩm OCOP còn hiệu lực theo số sao")
    return Table(
        key="ocop_stars",
        title=f"{title} · {place}" if place else title,
        columns=[_("Số sao"), _("Sản phẩm")],
        rows=rows,
        chart="bar",
    )


def groups_table(q: StatQuery, certified_counts: Certified) -> Table:
    names = _group_names()
    counts = _by_group(q, certified_counts)
    rows = [
        _star_row(f"{code} · {names.get(code, code)}", counts[code])
        for code in sorted(counts, key=lambda c: (c == "", c))
    ]
    return Table(
        key="ocop_groups",
        title=_("Sản phẩm OCOP còn hiệu lực theo nhóm sản phẩm"),
        columns=_star_columns(_("Nhóm sản phẩm")),
        rows=rows,
        chart="bar",
        series=(4,),
    )


def wards_table(q: StatQuery, province: int) -> Table:
    counts = _by_ward(q, province)
    ordered = sorted(counts.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    rows = []
    for code, by_stars in ordered:
        ward = places.ward(code)
        rows.append(_star_row(ward.name if ward else str(code), by_stars))
    return Table(
        key="ocop_wards",
        title=_(
            "Sản phẩm OCOP còn hiệu lực theo xã, phường · %(province)s",
            province=_province_name(province),
        ),
        columns=_star_columns(_("Xã, phường")),
        rows=rows,
    )


def _certificate_scope(query: Any, q: StatQuery) -> Any:
    query = query.join(Producer, Producer.id == OcopCertificate.producer_id)
    query = _in_scope(query, q, province=q.province)
    if q.producer_ids is not None:
        query = query.where(OcopCertificate.producer_id.in_(sorted(q.producer_ids)))
    return query


def _month_counts(q: StatQuery, column: Any, *conditions: Any) -> dict[date, int]:
    query = (
        select(column, func.count())
        .select_from(OcopCertificate)
        .where(column >= q.period.start, column <= q.period.end, *conditions)
        .group_by(column)
    )
    out: dict[date, int] = {}
    for day, count in db.session.execute(_certificate_scope(query, q)):
        bucket = q.period.bucket_of(as_date(day))
        out[bucket] = out.get(bucket, 0) + int(count)
    return out


def certificates_table(q: StatQuery) -> Table:
    """Per month (or day): certificates signed, lapsed (validity ended) and revoked."""
    issued = _month_counts(q, OcopCertificate.decision_date)
    lapsed = _month_counts(
        q,
        OcopCertificate.valid_until,
        OcopCertificate.status != CertificateStatus.REVOKED,
        OcopCertificate.valid_until < q.today,
    )
    revoked = _revoked_counts(q)
    rows = [
        [q.period.bucket_label(b), issued.get(b, 0), lapsed.get(b, 0), revoked.get(b, 0)]
        for b in q.period.buckets()
    ]
    return Table(
        key="ocop_certificates",
        title=_("Giấy chứng nhận theo thời gian"),
        columns=[_("Thời gian"), _("Được cấp"), _("Hết hiệu lực"), _("Bị thu hồi")],
        rows=rows,
        chart="line",
        series=(1, 2, 3),
    )


def _revoked_counts(q: StatQuery) -> dict[date, int]:
    start, end = _start_of(q.period.start), _start_of(q.period.end + timedelta(days=1))
    query = (
        select(OcopCertificate.revoked_at)
        .select_from(OcopCertificate)
        .where(
            OcopCertificate.status == CertificateStatus.REVOKED,
            OcopCertificate.revoked_at >= start,
            OcopCertificate.revoked_at < end,
        )
    )
    out: dict[date, int] = {}
    for (at,) in db.session.execute(_certificate_scope(query, q)):
        bucket = q.period.bucket_of(at.astimezone(LOCAL_TZ).date())
        out[bucket] = out.get(bucket, 0) + 1
    return out


def status_table(q: StatQuery) -> Table:
    """Today: valid, expiring within 90 days, lapsed, revoked certificates."""
    soon = q.today + timedelta(days=EXPIRING_DAYS)
    valid = _valid_today(q.today)
    lapsed = or_(
        OcopCertificate.status == CertificateStatus.EXPIRED,
        and_(
            OcopCertificate.status == CertificateStatus.VALID,
            OcopCertificate.valid_until < q.today,
        ),
    )
    query = select(
        func.count().filter(valid),
        func.count().filter(and_(valid, OcopCertificate.valid_until <= soon)),
        func.count().filter(lapsed),
        func.count().filter(OcopCertificate.status == CertificateStatus.REVOKED),
    ).select_from(OcopCertificate)
    counts = db.session.execute(_certificate_scope(query, q)).one()
    labels = (
        _("Còn hiệu lực"),
        _("Hết hạn trong %(n)s ngày tới", n=EXPIRING_DAYS),
        _("Đã hết hạn"),
        _("Đã thu hồi"),
    )
    return Table(
        key="ocop_status",
        title=_("Giấy chứng nhận hôm nay"),
        columns=[_("Tình trạng"), _("Giấy chứng nhận")],
        rows=[[label, int(n or 0)] for label, n in zip(labels, counts, strict=True)],
        chart="bar",
    )


def pipeline_table(q: StatQuery) -> Table:
    """Dossiers submitted in the period: how far they went and the median days per step."""
    query = select(
        OcopEvaluation.status,
        OcopEvaluation.submitted_at,
        OcopEvaluation.scored_at,
        OcopEvaluation.decided_at,
    ).where(
        OcopEvaluation.submitted_at >= _start_of(q.period.start),
        OcopEvaluation.submitted_at < _start_of(q.period.end + timedelta(days=1)),
    )
    if q.province is not None:
        query = query.where(OcopEvaluation.province_code == q.province)
    elif q.provinces is not None:
        query = query.where(OcopEvaluation.province_code.in_(sorted(q.provinces)))
    if q.producer_ids is not None:
        query = query.where(OcopEvaluation.producer_id.in_(sorted(q.producer_ids)))
    submitted = scored = decided = withdrawn = 0
    to_score: list[float] = []
    to_decide: list[float] = []
    overall: list[float] = []
    for status, sent, scored_at, decided_at in db.session.execute(query):
        submitted += 1
        withdrawn += status == EvaluationStatus.WITHDRAWN
        if scored_at is not None:
            scored += 1
            to_score.append((scored_at - sent).total_seconds() / 86400)
        if decided_at is not None and status == EvaluationStatus.DECIDED:
            decided += 1
            overall.append((decided_at - sent).total_seconds() / 86400)
            if scored_at is not None:
                to_decide.append((decided_at - scored_at).total_seconds() / 86400)

    def days(values: list[float]) -> Any:
        return round(median(values), 1) if values else ""

    return Table(
        key="ocop_pipeline",
        title=_("Hồ sơ đánh giá gửi trong kỳ"),
        columns=[_("Bước"), _("Hồ sơ"), _("Số ngày (trung vị)")],
        rows=[
            [_("Đã gửi"), submitted, ""],
            [_("Đã chấm điểm"), scored, days(to_score)],
            [_("Đã có quyết định"), decided, days(to_decide)],
            [_("Từ khi gửi đến quyết định"), decided, days(overall)],
            [_("Đã rút hồ sơ"), withdrawn, ""],
        ],
        chart="bar",
    )


def _start_of(day: date) -> datetime:
    """Midnight in Vietnam at the start of `day`, as an aware datetime."""
    return datetime.combine(day, time.min, LOCAL_TZ)


def build(q: StatQuery) -> SectionResult:
    everything = certified(q)
    counts = certified_by_province(everything)
    tables = [stars_table(q, counts), map_table(q, counts), groups_table(q, everything)]
    ward_province = q.province
    if ward_province is None and q.provinces is not None and len(q.provinces) == 1:
        ward_province = next(iter(q.provinces))
    if ward_province is not None:
        tables.append(wards_table(q, ward_province))
    tables += [status_table(q), certificates_table(q), pipeline_table(q)]
    return SectionResult(tables)


def build_public(q: StatQuery) -> SectionResult:
    """The open-data page: counts of certified products only (no names, no producers)."""
    everything = certified(q)
    counts = certified_by_province(everything)
    tables = [stars_table(q, counts), map_table(q, counts), groups_table(q, everything)]
    if q.province is not None:
        tables.append(wards_table(q, q.province))
    return SectionResult(tables)
