"""The statistics registry: which sections exist, who fills them, and the daily summaries.

Pages (cooperatives.statistics) list the sections declared here without importing the packages
that compute them: each package fills its section in its own init_app (`provide_section`), as
with core.openapi. A section nobody provides (the shop's "Selling" before the shop lands) shows
its placeholder.

Counts over millions of rows (scans, stamp activations) are not aggregated per request: a
scheduled job (`flask stats refresh`) folds them into `stat_daily` (one row per metric, local day
and producer) and records when it ran, so a page can say how fresh its numbers are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import BigInteger, Date, Index, String, cast, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import db, utcnow
from core.periods import Period

# --------------------------------------------------------------------------- what a page asks


@dataclass(frozen=True)
class StatQuery:
    """One page's question, already narrowed to what the viewer may see.

    `provinces` None means every province; `producer_ids` None means every producer in them.
    `public` pages must return counts only: no names of people, no producer-level rows."""

    period: Period
    today: date
    provinces: frozenset[int] | None = None
    producer_ids: frozenset[int] | None = None
    province: int | None = None  # the one province chosen (breakdowns by commune)
    stars: int | None = None  # the map's figure: 3, 4, 5 or None for every OCOP product
    public: bool = False

    def narrowed(self) -> StatQuery:
        """The same question limited to the chosen province, when one is chosen."""
        if self.province is None:
            return self
        return replace(self, provinces=frozenset({self.province}))


@dataclass
class Table:
    """A figure: the table shown beside its chart, and exactly what an export writes."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: str = ""  # "" (table only) | "bar" | "line" | "map"
    series: tuple[int, ...] = (1,)  # value columns drawn by the chart
    codes: list[int] | None = None  # province code of each row (map tables)
    note: str = ""
    highlight: int | None = None  # province code of the chosen province (map)


@dataclass
class SectionResult:
    tables: list[Table]
    fresh_at: datetime | None = None  # when the summaries used were rebuilt (None: never)
    summarised: bool = False  # some tables come from stat_daily
    computed_at: datetime = field(default_factory=utcnow)  # when the live counts were made


@dataclass
class Section:
    key: str
    title: Any
    order: int
    placeholder: Any  # shown while nobody provides the section
    build: Callable[[StatQuery], SectionResult] | None = None
    provider: str = ""

    @property
    def available(self) -> bool:
        return self.build is not None


@dataclass
class _Registry:
    sections: dict[str, Section] = field(default_factory=dict)
    refreshers: dict[str, Callable[[date | None], int]] = field(default_factory=dict)
    results: dict[tuple[Any, ...], tuple[float, Any]] = field(default_factory=dict)


CACHE_SECONDS = 60  # figures are counted at most once a minute per question and worker
CACHE_ENTRIES = 512


def cached(
    key: tuple[Any, ...], q: StatQuery, build: Callable[[StatQuery], SectionResult]
) -> SectionResult:
    """`build(q)`, remembered for STATS_CACHE_SECONDS (60; 0 in tests) per worker process.

    `key` must hold everything else the result depends on (section, language). The page shows
    `computed_at`, so a remembered result still says how fresh it is."""
    return remember((*key, q), lambda: build(q))


def remember(key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    """`make()`, remembered under `key` for STATS_CACHE_SECONDS in this worker (bounded)."""
    seconds = current_app.config.get(
        "STATS_CACHE_SECONDS", 0 if current_app.config.get("TESTING") else CACHE_SECONDS
    )
    if seconds <= 0:
        return make()
    results = _registry().results
    now = time.monotonic()
    found = results.get(key)
    if found is not None and found[0] > now:
        return found[1]
    value = make()
    if len(results) >= CACHE_ENTRIES:
        for stale in [k for k, (until, _v) in results.items() if until <= now] or list(results):
            del results[stale]
            if len(results) < CACHE_ENTRIES:
                break
    results[key] = (now + seconds, value)
    return value


def _registry(app: Flask | None = None) -> _Registry:
    app = app or current_app
    return app.extensions.setdefault("statistics", _Registry())


def declare_section(app: Flask, key: str, title: Any, order: int, placeholder: Any) -> None:
    """The page owner declares a section slot (its place and what it says while empty)."""
    registry = _registry(app)
    existing = registry.sections.get(key)
    registry.sections[key] = Section(key, title, order, placeholder)
    if existing is not None and existing.build is not None:
        registry.sections[key].build = existing.build
        registry.sections[key].provider = existing.provider


def provide_section(
    app: Flask, key: str, build: Callable[[StatQuery], SectionResult], provider: str
) -> None:
    """A package fills a declared section (order of init_app calls does not matter)."""
    registry = _registry(app)
    section = registry.sections.get(key)
    if section is None:
        section = registry.sections[key] = Section(key, key, 99, "")
    section.build = build
    section.provider = provider


def sections() -> list[Section]:
    return sorted(_registry().sections.values(), key=lambda s: s.order)


def section(key: str) -> Section | None:
    return _registry().sections.get(key)


def register_refresher(app: Flask, source: str, refresh: Callable[[date | None], int]) -> None:
    """`refresh(since)` rewrites the source's stat_daily rows from `since` (None: all of them)
    and returns how many it wrote. It flushes; the job commits."""
    _registry(app).refreshers[source] = refresh


# --------------------------------------------------------------------------- daily summaries


class DailyFigure(db.Model):
    """A count per metric, local day (Asia/Ho_Chi_Minh) and producer, refreshed by a job.

    producer_id and province_code are plain integers: core knows no producer table."""

    __tablename__ = "stat_daily"
    __table_args__ = (Index("ix_stat_daily_metric_province_day", "metric", "province_code", "day"),)

    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    producer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    province_code: Mapped[int]
    value: Mapped[int] = mapped_column(BigInteger)


class SummaryRefresh(db.Model):
    """When each source's summaries were last rebuilt (the page's "numbers as of …")."""

    __tablename__ = "stat_refresh"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    refreshed_at: Mapped[datetime]
    rows: Mapped[int] = mapped_column(default=0)
    seconds: Mapped[int] = mapped_column(default=0)  # how long the rebuild took


def local_day(column: Any) -> Any:
    """SQL for the local calendar day (Asia/Ho_Chi_Minh, UTC+7 all year) of a UTC timestamp."""
    if db.engine.dialect.name == "postgresql":
        return cast(func.timezone("Asia/Ho_Chi_Minh", column), Date)
    return func.date(column, "+7 hours")


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def store_daily(metric: str, rows: Iterable[tuple[Any, int, int, int]], since: date | None) -> int:
    """Replace `metric`'s rows from `since` (all when None) with (day, producer, province, n)."""
    condition = [DailyFigure.metric == metric]
    if since is not None:
        condition.append(DailyFigure.day >= since)
    db.session.execute(delete(DailyFigure).where(*condition))
    values = [
        {
            "metric": metric,
            "day": as_date(day),
            "producer_id": producer_id,
            "province_code": province_code,
            "value": int(value),
        }
        for day, producer_id, province_code, value in rows
        if value
    ]
    for start in range(0, len(values), 5000):
        db.session.execute(insert(DailyFigure), values[start : start + 5000])
    return len(values)


def _narrow(query: Any, q: StatQuery) -> Any:
    if q.provinces is not None:
        query = query.where(DailyFigure.province_code.in_(sorted(q.provinces)))
    if q.producer_ids is not None:
        query = query.where(DailyFigure.producer_id.in_(sorted(q.producer_ids)))
    return query


def daily_series(metric: str, q: StatQuery) -> dict[date, int]:
    """The metric per bucket (day or month) of the period, every bucket present."""
    return daily_series_many((metric,), q)[metric]


def daily_series_many(metrics: Iterable[str], q: StatQuery) -> dict[str, dict[date, int]]:
    """Several metrics per bucket in one query (one GROUP BY metric, day)."""
    metrics = tuple(metrics)
    query = (
        select(DailyFigure.metric, DailyFigure.day, func.sum(DailyFigure.value))
        .where(
            DailyFigure.metric.in_(metrics),
            DailyFigure.day >= q.period.start,
            DailyFigure.day <= q.period.end,
        )
        .group_by(DailyFigure.metric, DailyFigure.day)
    )
    buckets = q.period.buckets()
    out = {metric: dict.fromkeys(buckets, 0) for metric in metrics}
    for metric, day, value in db.session.execute(_narrow(query, q)):
        series = out[metric]
        bucket = q.period.bucket_of(as_date(day))
        series[bucket] = series.get(bucket, 0) + int(value or 0)
    return out


def daily_by_province(metric: str, q: StatQuery, *, whole_time: bool = False) -> dict[int, int]:
    if whole_time:
        return daily_by_province_many((), q, whole_time=(metric,))[metric]
    return daily_by_province_many((metric,), q)[metric]


def daily_by_province_many(
    metrics: Iterable[str], q: StatQuery, *, whole_time: Iterable[str] = ()
) -> dict[str, dict[int, int]]:
    """Per province: `metrics` summed over the period, `whole_time` ones over every day kept
    (snapshots), in one query."""
    metrics, whole_time = tuple(metrics), tuple(whole_time)
    in_period = (
        DailyFigure.metric.in_(metrics)
        & (DailyFigure.day >= q.period.start)
        & (DailyFigure.day <= q.period.end)
    )
    condition = in_period | DailyFigure.metric.in_(whole_time) if whole_time else in_period
    query = (
        select(DailyFigure.metric, DailyFigure.province_code, func.sum(DailyFigure.value))
        .where(condition)
        .group_by(DailyFigure.metric, DailyFigure.province_code)
    )
    out: dict[str, dict[int, int]] = {metric: {} for metric in (*metrics, *whole_time)}
    for metric, code, value in db.session.execute(_narrow(query, q)):
        out[metric][int(code)] = int(value or 0)
    return out


def freshness(*sources: str) -> datetime | None:
    """The oldest last refresh among the sources (None when one never ran)."""
    rows = dict(
        db.session.execute(
            select(SummaryRefresh.source, SummaryRefresh.refreshed_at).where(
                SummaryRefresh.source.in_(sources)
            )
        ).all()
    )
    if any(source not in rows for source in sources):
        return None
    return min(rows.values())


def refresh(sources: Iterable[str] | None = None, *, full: bool = False) -> dict[str, int]:
    """Rebuild summaries (recent days only, unless `full` or never done). Flushes; the caller
    commits (the CLI command is the unit of work)."""
    registry = _registry()
    wanted = list(sources) if sources else sorted(registry.refreshers)
    done: dict[str, int] = {}
    for source in wanted:
        refresher = registry.refreshers[source]
        last = db.session.get(SummaryRefresh, source)
        since = None
        if last is not None and not full:
            # Two days back: rows stamped just before midnight land after the previous run.
            since = last.refreshed_at.date() - timedelta(days=2)
        started = time.perf_counter()
        rows = refresher(since)
        elapsed = int(time.perf_counter() - started)
        if last is None:
            last = SummaryRefresh(source=source, refreshed_at=utcnow())
            db.session.add(last)
        last.refreshed_at = utcnow()
        last.rows = rows
        last.seconds = elapsed
        db.session.flush()
        done[source] = rows
    return done


def init_app(app: Flask) -> None:
    _registry(app)

    @app.cli.group("stats")
    def stats_cli() -> None:
        """Statistics summaries (run `flask stats refresh` every 15 minutes)."""

    @stats_cli.command("refresh")
    @click.option("--full", is_flag=True, help="rebuild every day, not only the last ones")
    @click.argument("sources", nargs=-1)
    def refresh_command(full: bool, sources: tuple[str, ...]) -> None:
        """Fold scans, stamp activations and postings into the daily summaries."""
        from core.db import unit_of_work

        unknown = [s for s in sources if s not in _registry().refreshers]
        if unknown:
            raise click.BadParameter(
                f"unknown source(s) {', '.join(unknown)}; known: "
                + ", ".join(sorted(_registry().refreshers))
            )
        with unit_of_work():
            done = refresh(sources or None, full=full)
        for source, rows in done.items():
            click.echo(f"{source}: {rows} rows")
