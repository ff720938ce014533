"""OCOP pages of a producer, and what every OCOP page shares (labels, the score filter).

Producer side (/manage/<producer_id>/ocop…): every member (manager, member, invited helper) sees
the certificates and evaluations; managers record a certificate they already hold (an official
credential shown to buyers: the manager answers for it); managers and invited helpers send a
product for evaluation or withdraw a dossier (the helper's action is attributed in the audit log).
Outsiders get 404.

The council's pages (/council…) are in council_views.py, on the same blueprint.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from cooperatives import ocop
from cooperatives.access import MANAGERS
from cooperatives.access import current_acting as _acting
from cooperatives.models import (
    EvaluationStatus,
    MemberRole,
    OcopCategory,
    ProductStatus,
)
from cooperatives.ocop import lookups
from cooperatives.ocop.forms import (
    CertificateForm,
    ConfirmForm,
    EvaluationForm,
    choices,
)
from cooperatives.products import products_to_choose
from core.db import unit_of_work
from core.errors import Conflict, Invalid
from core.forms import show_errors
from core.i18n import current_locale, local_today
from core.numbers import parse_id

bp = Blueprint("ocop", __name__)

SUBMITTERS = frozenset({MemberRole.MANAGER, MemberRole.HELPER})
EXPIRING_DAYS = 90


LEVEL_LABELS: dict[str, Any] = {
    "district": _l("Cấp huyện"),
    "province": _l("Cấp tỉnh"),
    "central": _l("Cấp trung ương"),
}
EVALUATION_LABELS: dict[str, Any] = {
    EvaluationStatus.SUBMITTED: _l("Đã gửi, chờ chấm điểm"),
    EvaluationStatus.SCORED: _l("Đã chấm điểm, chờ quyết định"),
    EvaluationStatus.DECIDED: _l("Đã có quyết định"),
    EvaluationStatus.WITHDRAWN: _l("Đã rút hồ sơ"),
}


@bp.app_template_global()
def ocop_level_label(level: str | None) -> str:
    return str(LEVEL_LABELS.get(level or "", level or ""))


@bp.app_template_global()
def ocop_evaluation_label(status: str) -> str:
    return str(EVALUATION_LABELS.get(status, status))


@bp.app_template_global()
def ocop_category_label(code: str | None) -> str:
    category = lookups.category(code)
    return _category_label(category) if category else (code or "")


def plain_number(value: Any) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}"


@bp.app_template_filter()
def ocop_score(value: Any) -> str:
    """80 → '80', 89.50 → '89,5' (Vietnamese decimal comma)."""
    if value is None:
        return ""
    text = plain_number(value)
    return text.replace(".", ",") if current_locale() == "vi" else text


def _product_choices(producer_id: int) -> list[Any]:
    items = [("", _("— Chọn sản phẩm —"))]
    for product in products_to_choose(producer_id):
        label = product.name_vi
        if product.status == ProductStatus.DRAFT:
            label = _("%(name)s (bản nháp)", name=product.name_vi)
        items.append((str(product.id), label))
    return choices(*items)


def _category_label(category: OcopCategory) -> str:
    name = category.name_en if current_locale() == "en" and category.name_en else category.name_vi
    return f"{category.code} · {name}"


def _category_choices() -> list[Any]:
    items = [("", _("Theo nhóm đã chọn cho sản phẩm"))]
    items += [(row.code, _category_label(row)) for row in lookups.categories()]
    return choices(*items)


def badges(certificates: list[Any], today: date) -> dict[int, str]:
    return {c.id: ocop.certificate_state(c, today, EXPIRING_DAYS) for c in certificates}


# --------------------------------------------------------------------------- producer side


@bp.get("/manage/<int:producer_id>/ocop")
@login_required
def producer_certificates(producer_id: int):
    acting = _acting(producer_id)
    today = local_today()
    certificates = ocop.certificates_of(producer_id)
    evaluations = ocop.evaluations_of(producer_id)
    products = {p.id: p for p in acting.producer.products}
    states = badges(certificates, today)
    return render_template(
        "cooperatives/ocop/producer_certificates.html",
        acting=acting,
        producer=acting.producer,
        certificates=certificates,
        evaluations=evaluations,
        products=products,
        states=states,
        expiring_count=sum(1 for s in states.values() if s == "expiring"),
        can_record=acting.role in MANAGERS,
        can_submit=acting.role in SUBMITTERS,
        withdraw_form=ConfirmForm(),
        today=today,
    )


@bp.route("/manage/<int:producer_id>/ocop/certificates/new", methods=["GET", "POST"])
@login_required
def new_certificate(producer_id: int):
    acting = _acting(producer_id, MANAGERS)
    form = CertificateForm()
    form.product_id.choices = _product_choices(producer_id)
    form.category_code.choices = _category_choices()
    if request.method == "GET" and (wanted := parse_id(request.args.get("product"))):
        form.product_id.data = wanted
    if form.validate_on_submit():
        try:
            with unit_of_work():
                certificate = ocop.record_certificate(
                    acting,
                    form.product_id.data,
                    decision_number=form.decision_number.data,
                    decision_date=form.decision_date.day,
                    issuing_authority=form.issuing_authority.data,
                    rating_level=form.rating_level.data,
                    total_score=form.total_score.data,
                    stars=form.stars.data,
                    rule_set=form.rule_set.data or None,
                    score_a=form.score_a.data,
                    score_b=form.score_b.data,
                    score_c=form.score_c.data,
                    category_code=form.category_code.data or None,
                )
        except Invalid as error:
            show_errors(form, error)
        else:
            if certificate.status == "valid":
                flash(
                    _(
                        "Đã ghi nhận giấy chứng nhận OCOP %(stars)s sao, hiệu lực đến %(day)s.",
                        stars=certificate.stars,
                        day=certificate.valid_until.strftime("%d/%m/%Y"),
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "Đã lưu giấy chứng nhận; giấy này đã hết hiệu lực từ %(day)s nên sản "
                        "phẩm không hiển thị sao.",
                        day=certificate.valid_until.strftime("%d/%m/%Y"),
                    ),
                    "warning",
                )
            return redirect(url_for(".producer_certificates", producer_id=producer_id), 303)
    status = 422 if form.errors else 200
    return render_template(
        "cooperatives/ocop/certificate_form.html",
        acting=acting,
        producer=acting.producer,
        form=form,
        maxima=ocop.PART_MAXIMA,
    ), status


@bp.route("/manage/<int:producer_id>/ocop/evaluations/new", methods=["GET", "POST"])
@login_required
def new_evaluation(producer_id: int):
    acting = _acting(producer_id, SUBMITTERS)
    form = EvaluationForm()
    form.product_id.choices = _product_choices(producer_id)
    if request.method == "GET" and (wanted := parse_id(request.args.get("product"))):
        form.product_id.data = wanted
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                ocop.submit_for_evaluation(acting, form.product_id.data, form.note.data or "")
        except (Invalid, Conflict) as error:
            show_errors(form, error)
            status = error.status
        else:
            flash(_("Đã gửi sản phẩm đến Hội đồng OCOP cấp tỉnh."), "success")
            return redirect(url_for(".producer_certificates", producer_id=producer_id), 303)
    elif form.errors:
        status = 422
    return render_template(
        "cooperatives/ocop/evaluation_form.html",
        acting=acting,
        producer=acting.producer,
        form=form,
    ), status


@bp.post("/manage/<int:producer_id>/ocop/evaluations/<int:evaluation_id>/withdraw")
@login_required
def withdraw_evaluation(producer_id: int, evaluation_id: int):
    acting = _acting(producer_id, SUBMITTERS)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            ocop.withdraw_evaluation(acting, evaluation_id)
    except Conflict as error:
        flash(str(error.message), "error")
    else:
        flash(_("Đã rút hồ sơ đánh giá."), "success")
    return redirect(url_for(".producer_certificates", producer_id=producer_id), 303)
