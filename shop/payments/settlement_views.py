"""A producer's settlement page: what it is owed, the ledger's entries of a period, the CSV of
that period; the platform admin records payouts there. Members of other producers get 404."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from cooperatives.access import MANAGERS, current_acting
from core.db import unit_of_work
from core.errors import Forbidden, Invalid
from core.exports import csv_response
from core.i18n import local_today
from core.periods import PRESETS, parse_period, preset_period
from shop.payments import settlement

bp = Blueprint("settlement", __name__, url_prefix="/manage/<int:producer_id>")


@bp.before_request
@login_required
def _signed_in():
    return None


def _period():
    try:
        return parse_period(request.args, local_today()), {}
    except Invalid as error:
        return preset_period("30d", local_today()), {k: str(v) for k, v in error.fields.items()}


def _render(producer_id: int, *, status: int = 200, errors=None, values=None):
    acting = current_acting(producer_id, MANAGERS)
    period, period_errors = _period()
    st = settlement.statement(producer_id, period)
    html = render_template(
        "shop/payments/settlement.html",
        producer=acting.producer,
        st=st,
        period=period,
        presets=PRESETS,
        period_errors=period_errors,
        kind_label=settlement.kind_label,
        is_admin=current_user.is_platform_admin,
        errors=errors or {},
        values=values or {},
    )
    return html, status


@bp.get("/settlement")
def overview(producer_id: int):
    return _render(producer_id)


@bp.get("/settlement.csv")
def export(producer_id: int):
    acting = current_acting(producer_id, MANAGERS)
    period, _errors = _period()
    st = settlement.statement(producer_id, period)
    tables, preamble = settlement.csv_tables(st, acting.producer.name)
    name = f"doi-soat-{acting.producer.slug}-{period.start}-{period.end}.csv"
    return csv_response(tables, name, preamble)


@bp.post("/settlement/payouts")
def payout(producer_id: int):
    current_acting(producer_id, MANAGERS)
    if not current_user.is_platform_admin:
        raise Forbidden(_("Chỉ quản trị nền tảng ghi nhận khoản đã chuyển cho cơ sở."))
    values = {k: request.form.get(k, "")[:128] for k in ("amount_vnd", "reference")}
    try:
        with unit_of_work():
            done = settlement.record_payout(
                producer_id, values["amount_vnd"], values["reference"], current_user.id
            )
    except Invalid as error:
        errors = {k: str(v) for k, v in error.fields.items()} or {"amount_vnd": str(error.message)}
        return _render(producer_id, status=422, errors=errors, values=values)
    if done is None:
        flash(_("Khoản chuyển với mã này đã được ghi trước đó."), "error")
    else:
        flash(_("Đã ghi nhận khoản chuyển cho cơ sở."), "success")
    return redirect(url_for("settlement.overview", producer_id=producer_id), 303)
