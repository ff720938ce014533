"""/search and the OCOP-group pages /g/<code>: server-rendered, filters in the address."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from cooperatives.selling import cards_for, category_groups
from core import places
from core.money import parse_vnd
from core.numbers import parse_int
from core.replica import replica_reads
from core.text import clean
from shop.search.services import Filters, search

bp = Blueprint("search", __name__)
MAX_PAGE = 200


def _filters() -> Filters:
    args = request.args
    groups = {code for code, _vi, _en in category_groups()}
    province = parse_int(args.get("province"), minimum=1, maximum=99)
    price_min = parse_vnd(args.get("min")) if args.get("min") else None
    price_max = parse_vnd(args.get("max")) if args.get("max") else None
    return Filters(
        province=province if places.province(province) else None,
        stars=parse_int(args.get("stars"), minimum=3, maximum=5),
        group=args.get("group") if args.get("group") in groups else None,
        price_min=price_min if price_min is not None and price_min < 10**12 else None,
        price_max=price_max if price_max is not None and price_max < 10**12 else None,
        in_stock=args.get("stock") == "1",
    )


def _render(q: str, filters: Filters, group_name: str | None = None):
    page = parse_int(request.args.get("page"), minimum=1, maximum=MAX_PAGE) or 1
    results = search(q, filters, page)
    groups = category_groups()
    return render_template(
        "shop/search.html",
        q=q,
        filters=filters,
        results=results,
        page=results,
        cards=cards_for(results.product_ids),
        groups=groups,
        group_names={code: (vi, en) for code, vi, en in groups},
        provinces=places.provinces(),
        province_name=lambda code: places.province(code).name if places.province(code) else "",
        group_name=group_name,
    )


@bp.get("/search")
@replica_reads
def search_page():
    q = clean(request.args.get("q"))[:100]
    return _render(q, _filters())


@bp.get("/g/<code>")
@replica_reads
def group_page(code: str):
    groups = {c: (vi, en) for c, vi, en in category_groups()}
    if code not in groups:
        abort(404)
    filters = _filters()
    filters = Filters(**{**filters.__dict__, "group": code})
    return _render(clean(request.args.get("q"))[:100], filters, groups[code][0])
