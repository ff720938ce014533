"""Statistics pages.

/stats, /stats.csv, /stats.xlsx      open data: certified OCOP products by province and stars,
                                     the province map; counts only, no personal data.
/statistics                          the sections a signed-in admin, council member or
                                     cooperative manager may see (404 for anyone else).
/statistics/<section>[.csv|.xlsx]    one section with its period, province and map filters;
                                     the exports hold exactly the tables the page shows.

Sections come from core.statistics (each package provides its own); this module only decides
who sees what (scope.py) and renders.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from cooperatives.ocop import statistics as ocop_statistics
from cooperatives.statistics.scope import Viewer, chosen_province, chosen_stars, viewer_for
from core import places, statistics
from core.charts import bar_chart, line_chart
from core.errors import Invalid
from core.exports import csv_response, xlsx_response
from core.i18n import current_locale, local_datetime, local_today
from core.periods import DEFAULT_PRESET, PRESETS, parse_period, preset_period
from core.stat_tables import table_html
from core.statistics import SectionResult, StatQuery, Table
from core.tilemap import legend, tile_map

bp = Blueprint("statistics", __name__)


# --------------------------------------------------------------------------- building blocks


def _period(args: Any) -> tuple[Any, dict[str, str]]:
    today = local_today()
    try:
        return parse_period(args, today), {}
    except Invalid as error:
        return preset_period(DEFAULT_PRESET, today), {k: str(v) for k, v in error.fields.items()}


def _query(viewer: Viewer | None, args: Any) -> tuple[StatQuery, dict[str, str]]:
    period, errors = _period(args)
    province = chosen_province(viewer, args)
    provinces = viewer.provinces if viewer is not None else None
    producer_ids = (
        frozenset({viewer.producer.id}) if viewer is not None and viewer.producer else None
    )
    query = StatQuery(
        period=period,
        today=local_today(),
        provinces=provinces,
        producer_ids=producer_ids,
        province=province,
        stars=chosen_stars(args),
        public=viewer is None,
    )
    return query, errors


def _filters(q: StatQuery, viewer: Viewer | None, **changes: Any) -> dict[str, Any]:
    """The query-string arguments of the page as shown, with `changes` applied."""
    args: dict[str, Any] = {}
    if viewer is not None:
        args.update(q.period.query_args())
        if viewer.producer is not None and len(viewer.producers) > 1:
            args["producer"] = viewer.producer.id
    if q.province is not None:
        args["province"] = q.province
    if q.stars is not None:
        args["map"] = q.stars
    args.update(changes)
    return {k: v for k, v in args.items() if v is not None}


def _chart(table: Table, link: Any, selected: int | None, shown: set[int] | None) -> Markup:
    if table.chart == "map" and table.codes:
        column = table.series[0]
        values = {code: int(row[column]) for code, row in zip(table.codes, table.rows, strict=True)}
        return tile_map(values, title=table.title, link=link, selected=selected, shown=shown)
    labels = [str(row[0]) for row in table.rows]
    if table.chart == "bar":
        rows = [r for r in table.rows if r[0] != _("Tổng")]
        return bar_chart(
            [str(r[0]) for r in rows],
            [r[table.series[0]] or 0 for r in rows],
            title=table.title,
            uid=f"chart-{table.key}",
        )
    if table.chart == "line":
        series = [(table.columns[i], [row[i] or 0 for row in table.rows]) for i in table.series]
        return line_chart(labels, series, title=table.title, uid=f"chart-{table.key}")
    return Markup("")


def _legends(result: SectionResult) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for table in result.tables:
        if table.chart == "map" and table.codes:
            column = table.series[0]
            out[table.key] = legend(
                {c: int(r[column]) for c, r in zip(table.codes, table.rows, strict=True)}
            )
    return out


def _preamble(
    title: str, q: StatQuery, viewer: Viewer | None, result: SectionResult
) -> list[list[Any]]:
    lines: list[list[Any]] = [["Chợ Quê", title], [_("Phạm vi"), _scope_label(viewer)]]
    if q.province is not None:
        lines.append([_("Tỉnh, thành phố"), places.province(q.province).name])  # type: ignore[union-attr]
    if viewer is not None:
        lines.append(
            [_("Thời gian"), q.period.label(), q.period.start.isoformat(), q.period.end.isoformat()]
        )
    lines.append([_("Số liệu"), _freshness(result)])
    return lines


def _scope_label(viewer: Viewer | None) -> str:
    if viewer is None:
        return _("Dữ liệu mở")
    if viewer.producer is not None:
        return viewer.producer.name
    if viewer.provinces is None:
        return _("Cả nước")
    return ", ".join(p.name for p in viewer.province_choices())


def _freshness(result: SectionResult) -> str:
    counted = _("tính lúc %(time)s", time=local_datetime(result.computed_at))
    if not result.summarised:
        return counted
    if result.fresh_at is None:
        return _("%(counted)s; số liệu theo ngày chưa được tổng hợp lần nào", counted=counted)
    return _(
        "%(counted)s; số liệu theo ngày tổng hợp lúc %(time)s",
        counted=counted,
        time=local_datetime(result.fresh_at),
    )


def _render(
    template: str,
    *,
    title: str,
    q: StatQuery,
    viewer: Viewer | None,
    result: SectionResult,
    endpoint: str,
    endpoint_args: dict[str, Any],
    errors: dict[str, str],
    **context: Any,
):
    page = url_for(endpoint, **endpoint_args)  # built once: a map has 34 links, a table too

    def here(**changes: Any) -> str:
        args = _filters(q, viewer, **changes)
        return f"{page}?{urlencode(args)}" if args else page

    links: dict[int, str] = {}

    def link(code: int) -> str:
        if code not in links:
            links[code] = here(province=code)
        return links[code]

    def export(fmt: str) -> str:
        target = url_for(f"{endpoint}_{fmt}", **endpoint_args)
        args = _filters(q, viewer)
        return f"{target}?{urlencode(args)}" if args else target

    def pieces() -> tuple[dict[str, Markup], dict[str, Markup], dict[str, Any]]:
        shown = {p.code for p in viewer.province_choices()} if viewer is not None else None
        charts = {t.key: _chart(t, link, q.province, shown) for t in result.tables}
        number = _number_format()
        empty = _("Chưa có số liệu.")
        row_link = link if viewer is None or viewer.producer is None else None
        tables = {
            t.key: table_html(
                t, [[number(v) for v in row[1:]] for row in t.rows], empty=empty, link=row_link
            )
            for t in result.tables
        }
        return charts, tables, _legends(result)

    # The charts, map and tables are the same for everyone asking the same question while the
    # figures are remembered: render them once.
    key = (
        "render",
        endpoint,
        tuple(sorted(endpoint_args.items())),
        tuple(sorted(_filters(q, viewer).items())),
        q,
        current_locale(),
        result.computed_at,
    )
    charts, tables, legends = statistics.remember(key, pieces)
    status = 422 if errors else 200
    return (
        render_template(
            template,
            title=title,
            q=q,
            viewer=viewer,
            result=result,
            charts=charts,
            tables=tables,
            legends=legends,
            freshness=_freshness(result),
            errors=errors,
            presets=PRESETS,
            places=places,
            link=link,
            here=here,
            export=export,
            **context,
        ),
        status,
    )


def _number_format() -> Any:
    """12345 → '12.345' in Vietnamese, '12,345' in English; text passes through."""
    vietnamese = current_locale() == "vi"

    def number(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "" if value is None else str(value)
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
        if vietnamese:
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    return number


# --------------------------------------------------------------------------- open data


def _public() -> tuple[StatQuery, SectionResult]:
    q, _errors = _query(None, request.args)
    return q, statistics.cached(("public", current_locale()), q, ocop_statistics.build_public)


@bp.get("/stats")
def public_stats():
    q, result = _public()
    response = _render(
        "cooperatives/statistics/public.html",
        title=_("Thống kê mở về sản phẩm OCOP"),
        q=q,
        viewer=None,
        result=result,
        endpoint="statistics.public_stats",
        endpoint_args={},
        errors={},
    )
    return response


@bp.get("/stats.csv")
def public_stats_csv():
    q, result = _public()
    return csv_response(
        result.tables,
        "choque-ocop-stats.csv",
        _preamble(_("Thống kê mở về sản phẩm OCOP"), q, None, result),
    )


@bp.get("/stats.xlsx")
def public_stats_xlsx():
    q, result = _public()
    return xlsx_response(
        result.tables,
        "choque-ocop-stats.xlsx",
        _preamble(_("Thống kê mở về sản phẩm OCOP"), q, None, result),
    )


# --------------------------------------------------------------------------- signed in


def _viewer() -> Viewer:
    return viewer_for(current_user._get_current_object(), request.args)


def _section(key: str) -> statistics.Section:
    section = statistics.section(key)
    if section is None:
        abort(404)
    return section


@bp.get("/statistics")
@login_required
def home():
    viewer = _viewer()
    extra = (
        {"producer": viewer.producer.id} if viewer.producer and len(viewer.producers) > 1 else {}
    )
    return render_template(
        "cooperatives/statistics/index.html",
        viewer=viewer,
        sections=statistics.sections(),
        extra=extra,
        scope_label=_scope_label(viewer),
    )


def _section_result(key: str) -> tuple[statistics.Section, Viewer, StatQuery, SectionResult, dict]:
    section = _section(key)
    viewer = _viewer()
    q, errors = _query(viewer, request.args)
    result = (
        statistics.cached((key, current_locale()), q, section.build)
        if section.build is not None
        else SectionResult([])
    )
    return section, viewer, q, result, errors


@bp.get("/statistics/<key>")
@login_required
def section_page(key: str):
    section, viewer, q, result, errors = _section_result(key)
    return _render(
        "cooperatives/statistics/section.html",
        title=str(section.title),
        q=q,
        viewer=viewer,
        result=result,
        endpoint="statistics.section_page",
        endpoint_args={"key": key},
        errors=errors,
        section=section,
        sections=statistics.sections(),
        scope_label=_scope_label(viewer),
    )


def _export(key: str, fmt: str):
    section, viewer, q, result, errors = _section_result(key)
    if errors:
        raise Invalid(fields=errors)
    if section.build is None:
        abort(404)
    filename = f"choque-{key}-{q.period.start:%Y%m%d}-{q.period.end:%Y%m%d}.{fmt}"
    preamble = _preamble(str(section.title), q, viewer, result)
    if fmt == "csv":
        return csv_response(result.tables, filename, preamble)
    return xlsx_response(result.tables, filename, preamble)


@bp.get("/statistics/<key>.csv")
@login_required
def section_page_csv(key: str):
    return _export(key, "csv")


@bp.get("/statistics/<key>.xlsx")
@login_required
def section_page_xlsx(key: str):
    return _export(key, "xlsx")
