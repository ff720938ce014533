"""HTML pages: the platform admin's partners (create, rotate, revoke keys) and a producer's
choice of partners that may list its products."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.api_keys import is_live
from accounts.roles import admin_required
from cooperatives.access import MANAGERS, current_acting
from core.db import unit_of_work
from core.errors import Invalid
from core.numbers import parse_id, parse_int
from partners import services

bp = Blueprint("partners", __name__)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _admin_page(values: dict | None = None, errors: dict | None = None, status: int = 200):
    html = render_template(
        "partners/admin_partners.html",
        partners=services.list_partners(),
        scopes=services.PARTNER_SCOPES,
        values=values or {"scopes": "feeds:read"},
        errors=errors or {},
        is_live=is_live,
    )
    return html, status


@bp.get("/admin/partners")
@admin_required
def admin_list():
    return _admin_page()


def _created(partner_name: str, plain: str):
    html = render_template("partners/admin_key_shown.html", name=partner_name, plain=plain)
    return html, 201, NO_STORE


@bp.post("/admin/partners")
@admin_required
def admin_create():
    values = {k: request.form.get(k, "")[:200] for k in ("name", "scopes", "rate_limit")}
    try:
        with unit_of_work():
            partner, _key, plain = services.create_partner(
                values["name"],
                values["scopes"],
                rate_limit=values["rate_limit"] or None,
                actor_id=current_user.id,
            )
            name = partner.name
    except Invalid as error:
        errors = {k: str(v) for k, v in error.fields.items()} or {"name": str(error.message)}
        return _admin_page(values, errors, 422)
    return _created(name, plain)


@bp.post("/admin/partners/<int:partner_id>/keys/<int:key_id>/rotate")
@admin_required
def admin_rotate(partner_id: int, key_id: int):
    days = parse_int(request.form.get("overlap_days", "7"), minimum=0, maximum=90)
    if days is None:
        flash(_("Thời gian chồng lấn cần là số ngày từ 0 đến 90."), "error")
        return redirect(url_for("partners.admin_list"), code=303)
    with unit_of_work():
        _new, plain = services.rotate_key(
            partner_id, key_id, overlap=timedelta(days=days), actor_id=current_user.id
        )
        name = services.get_partner(partner_id).name
    return _created(name, plain)


@bp.post("/admin/partners/<int:partner_id>/keys/<int:key_id>/revoke")
@admin_required
def admin_revoke(partner_id: int, key_id: int):
    with unit_of_work():
        key = services.revoke_key(partner_id, key_id, actor_id=current_user.id)
        prefix = key.prefix
    flash(_("Đã thu hồi khoá %(prefix)s.", prefix=prefix), "info")
    return redirect(url_for("partners.admin_list"), code=303)


@bp.route("/manage/<int:producer_id>/partners", methods=["GET", "POST"])
def producer_partners(producer_id: int):
    acting = current_acting(producer_id, MANAGERS)
    if request.method == "POST":
        chosen = set()
        for raw in request.form.getlist("partner_id")[:100]:
            value = parse_id(raw)
            if value is not None:
                chosen.add(value)
        try:
            with unit_of_work():
                services.set_opt_ins(acting.producer.id, chosen)
        except Invalid as error:
            flash(str(next(iter(error.fields.values()), error.message)), "error")
        else:
            flash(_("Đã lưu danh sách đối tác được bán sản phẩm của cơ sở."), "info")
            return redirect(url_for("partners.producer_partners", producer_id=producer_id), 303)
    return _producer_page(acting.producer)


def _producer_page(producer, open_partner: int | None = None, status: int = 200):
    html = render_template(
        "partners/producer_partners.html",
        producer=producer,
        partners=services.active_partners(),
        chosen=services.opted_in_partner_ids(producer.id),
        products=services.choosable_products(producer.id),
        excluded=services.excluded_product_ids(producer.id),
        open_partner=open_partner,
    )
    return html, status


@bp.post("/manage/<int:producer_id>/partners/<int:partner_id>/products")
def producer_partner_products(producer_id: int, partner_id: int):
    """Which of the producer's products one partner it opted in to may list."""
    acting = current_acting(producer_id, MANAGERS)
    listed = set()
    for raw in request.form.getlist("product_id")[:2000]:
        value = parse_id(raw)
        if value is not None:
            listed.add(value)
    try:
        with unit_of_work():
            services.set_listed_products(acting.producer.id, partner_id, listed)
    except Invalid as error:
        flash(str(next(iter(error.fields.values()), error.message)), "error")
        return _producer_page(acting.producer, partner_id, 422)
    flash(_("Đã lưu các sản phẩm được đăng trên đối tác này."), "info")
    target = url_for("partners.producer_partners", producer_id=producer_id)
    return redirect(target + "#products", 303)


@bp.get("/developers")
def developers():
    """The partner API for people: what it offers, keys, curl examples, signature checks."""
    from accounts.api_keys import DEFAULT_RATE_LIMIT
    from core.urls import public_url
    from partners.webhooks import EVENTS

    base = public_url().rstrip("/")
    return render_template(
        "partners/developers.html",
        base=base,
        openapi_url=f"{base}/api/v1/openapi.json",
        scopes=services.PARTNER_SCOPES,
        events=EVENTS,
        rate=DEFAULT_RATE_LIMIT,
    )


@bp.get("/manage/<int:producer_id>/partners/products.<any(xlsx, csv):kind>")
def producer_spreadsheet(producer_id: int, kind: str):
    from flask import Response, stream_with_context

    from partners import spreadsheet

    acting = current_acting(producer_id)
    name = f"san-pham-{acting.producer.slug}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE}
    if kind == "csv":
        body = stream_with_context(spreadsheet.as_csv(acting.producer.id))
        return Response(body, mimetype="text/csv", headers=headers)
    data = spreadsheet.as_xlsx(acting.producer.id)
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(data, mimetype=mimetype, headers=headers)
