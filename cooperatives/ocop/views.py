"""OCOP pages: a producer's certificates and evaluations, and the council's desk.

Producer side (/manage/<producer_id>/ocop…): every member (manager, member, invited helper) sees
the certificates and evaluations; managers record a certificate they already hold (an official
credential shown to buyers: the manager answers for it); managers and invited helpers send a
product for evaluation or withdraw a dossier (the helper's action is attributed in the audit log).
Outsiders get 404.

Council side (/council…): only users with a council seat (or platform admins); everyone else gets
404. A province seat sees its province; the central seat and platform admins see every province.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from cooperatives import ocop
from cooperatives.access import MANAGERS
from cooperatives.access import current_acting as _acting
from cooperatives.models import (
    EvaluationStatus,
    MemberRole,
    OcopCategory,
    OcopCertificate,
    OcopEvaluation,
    Producer,
    Product,
    ProductStatus,
)
from cooperatives.ocop.forms import (
    CertificateForm,
    ConfirmForm,
    DecisionForm,
    EvaluationForm,
    RevokeForm,
    ScoreForm,
    choices,
)
from core import places
from core.db import db, unit_of_work
from core.errors import Conflict, Forbidden, Invalid
from core.forms import show_errors
from core.i18n import current_locale, local_today
from core.numbers import parse_id, parse_int

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
    category = db.session.get(OcopCategory, code) if code else None
    return _category_label(category) if category else (code or "")


@bp.app_template_filter()
def ocop_score(value: Any) -> str:
    """80 → '80', 89.50 → '89,5' (Vietnamese decimal comma)."""
    if value is None:
        return ""
    text = _plain(value)
    return text.replace(".", ",") if current_locale() == "vi" else text


def _products_for_choice(producer_id: int) -> list[Product]:
    return list(
        db.session.scalars(
            select(Product)
            .where(Product.producer_id == producer_id, Product.status != ProductStatus.ARCHIVED)
            .order_by(Product.name_vi, Product.id)
        )
    )


def _product_choices(producer_id: int) -> list[Any]:
    items = [("", _("— Chọn sản phẩm —"))]
    for product in _products_for_choice(producer_id):
        label = product.name_vi
        if product.status == ProductStatus.DRAFT:
            label = _("%(name)s (bản nháp)", name=product.name_vi)
        items.append((str(product.id), label))
    return choices(*items)


def _category_label(category: OcopCategory) -> str:
    name = category.name_en if current_locale() == "en" and category.name_en else category.name_vi
    return f"{category.code} · {name}"


def _category_choices() -> list[Any]:
    rows = db.session.scalars(select(OcopCategory).order_by(OcopCategory.position))
    items = [("", _("Theo nhóm đã chọn cho sản phẩm"))]
    items += [(row.code, _category_label(row)) for row in rows]
    return choices(*items)


def _badges(certificates: list[Any], today: date) -> dict[int, str]:
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
    states = _badges(certificates, today)
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


# --------------------------------------------------------------------------- council side


def _scope() -> ocop.CouncilScope:
    scope = ocop.council_scope(current_user._get_current_object())
    if scope is None:
        abort(404)
    return scope


def _scope_provinces(scope: ocop.CouncilScope) -> list[places.Place]:
    if scope.everywhere:
        return list(places.provinces())
    return [p for p in places.provinces() if p.code in scope.province_codes]


def _chosen_province(scope: ocop.CouncilScope, required: bool = False) -> int | None:
    """The province picked in ?province=; unknown or out-of-scope codes answer 404.

    Province seats default to their (first) province; the central council sees all when
    nothing is picked, unless the page needs one province (statistics by commune)."""
    raw = request.args.get("province", "")
    if raw:
        code = parse_int(raw)
        if code is None or places.province(code) is None:
            abort(404)
        if not scope.covers(code):
            abort(404)
        return code
    if scope.province_codes and (required or not scope.everywhere):
        return min(scope.province_codes)
    if required:
        return _scope_provinces(scope)[0].code
    return None


def _producers_by_id(ids: set[int]) -> dict[int, Producer]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Producer).where(Producer.id.in_(ids)))}


def _products_by_id(ids: set[int]) -> dict[int, Product]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids)))}


def _council_context(scope: ocop.CouncilScope, province_code: int | None) -> dict[str, Any]:
    return {
        "scope": scope,
        "province_code": province_code,
        "province": places.province(province_code),
        "provinces": _scope_provinces(scope),
        "places": places,
    }


@bp.get("/council")
@login_required
def council_home():
    scope = _scope()
    province_code = _chosen_province(scope)
    evaluations = ocop.pending_evaluations(scope, province_code)
    return render_template(
        "cooperatives/ocop/council_home.html",
        evaluations=evaluations,
        producers=_producers_by_id({e.producer_id for e in evaluations}),
        products=_products_by_id({e.product_id for e in evaluations}),
        expiring_count=len(ocop.expiring(province_code=province_code, within_days=EXPIRING_DAYS)),
        **_council_context(scope, province_code),
    )


def _default_authority(scope: ocop.CouncilScope, evaluation: OcopEvaluation) -> str:
    if evaluation.proposed_stars == 5:
        return "Bộ Nông nghiệp và Môi trường"
    province = places.province(evaluation.province_code)
    if province is None:
        return ""
    if province.name.startswith("Thành phố "):
        return "UBND thành phố " + province.name.removeprefix("Thành phố ")
    return "UBND tỉnh " + province.name


def _render_evaluation(
    scope: ocop.CouncilScope,
    evaluation: OcopEvaluation,
    score_form: ScoreForm | None = None,
    decision_form: DecisionForm | None = None,
    decision_error: str | None = None,
    page_error: str | None = None,
    status: int = 200,
):
    if score_form is None:
        score_form = ScoreForm(
            data={
                "score_a": _plain(evaluation.score_a),
                "score_b": _plain(evaluation.score_b),
                "score_c": _plain(evaluation.score_c),
            }
        )
    if decision_form is None:
        decision_form = DecisionForm(
            data={
                "decision_date": local_today(),
                "issuing_authority": _default_authority(scope, evaluation),
            }
        )
    product = db.session.get(Product, evaluation.product_id)
    producer = db.session.get(Producer, evaluation.producer_id)
    stars = evaluation.proposed_stars
    certificate = None
    if evaluation.status == EvaluationStatus.DECIDED:
        certificate = db.session.scalar(
            select(OcopCertificate).where(OcopCertificate.evaluation_id == evaluation.id)
        )
    return render_template(
        "cooperatives/ocop/council_evaluation.html",
        evaluation=evaluation,
        product=product,
        producer=producer,
        certificate=certificate,
        score_form=score_form,
        decision_form=decision_form,
        decision_error=decision_error,
        page_error=page_error,
        maxima=ocop.PART_MAXIMA[evaluation.rule_set],
        can_score=(
            evaluation.status in ocop.OPEN_EVALUATION and scope.seated_for(evaluation.province_code)
        ),
        can_decide=(
            evaluation.status == EvaluationStatus.SCORED
            and stars is not None
            and scope.can_decide(stars, evaluation.province_code)
        ),
        **_council_context(scope, evaluation.province_code),
    ), status


def _plain(value: Any) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}"


@bp.get("/council/evaluations/<int:evaluation_id>")
@login_required
def council_evaluation(evaluation_id: int):
    scope = _scope()
    evaluation = ocop.evaluation_for_council(scope.user, evaluation_id)
    return _render_evaluation(scope, evaluation)


@bp.post("/council/evaluations/<int:evaluation_id>/score")
@login_required
def council_score(evaluation_id: int):
    scope = _scope()
    evaluation = ocop.evaluation_for_council(scope.user, evaluation_id)
    form = ScoreForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                ocop.score_evaluation(
                    scope.user,
                    evaluation_id,
                    form.score_a.data,
                    form.score_b.data,
                    form.score_c.data,
                )
        except (Invalid, Conflict) as error:
            show_errors(form, error)
            evaluation = ocop.evaluation_for_council(scope.user, evaluation_id)
            return _render_evaluation(scope, evaluation, score_form=form, status=error.status)
        except Forbidden as error:
            evaluation = ocop.evaluation_for_council(scope.user, evaluation_id)
            return _render_evaluation(
                scope, evaluation, page_error=str(error.message), status=error.status
            )
        flash(_("Đã lưu điểm; hệ thống đã đề xuất số sao."), "success")
        return redirect(url_for(".council_evaluation", evaluation_id=evaluation_id), 303)
    return _render_evaluation(scope, evaluation, score_form=form, status=422)


@bp.post("/council/evaluations/<int:evaluation_id>/decide")
@login_required
def council_decide(evaluation_id: int):
    scope = _scope()
    evaluation = ocop.evaluation_for_council(scope.user, evaluation_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                certificate = ocop.decide_evaluation(
                    scope.user,
                    evaluation_id,
                    form.decision_number.data,
                    form.decision_date.day,
                    form.issuing_authority.data,
                )
        except Invalid as error:
            show_errors(form, error)
            evaluation = ocop.evaluation_for_council(scope.user, evaluation_id)
            return _render_evaluation(scope, evaluation, decision_form=form, status=422)
        except (Forbidden, Conflict) as error:
            evaluation = ocop.evaluation_for_council(scope.user, evaluation_id)
            return _render_evaluation(
                scope,
                evaluation,
                decision_form=form,
                decision_error=str(error.message),
                status=error.status,
            )
        if certificate is not None:
            flash(
                _(
                    "Đã ghi quyết định và cấp giấy chứng nhận OCOP %(stars)s sao.",
                    stars=certificate.stars,
                ),
                "success",
            )
        else:
            flash(
                _("Đã ghi quyết định. Sản phẩm dưới 3 sao nên không được cấp giấy chứng nhận."),
                "warning",
            )
        return redirect(url_for(".council_evaluation", evaluation_id=evaluation_id), 303)
    return _render_evaluation(scope, evaluation, decision_form=form, status=422)


def _certificate_rows(certificates: list[Any]) -> dict[str, Any]:
    return {
        "certificates": certificates,
        "producers": _producers_by_id({c.producer_id for c in certificates}),
        "products": _products_by_id({c.product_id for c in certificates}),
        "states": _badges(certificates, local_today()),
    }


@bp.get("/council/expiring")
@login_required
def council_expiring():
    scope = _scope()
    province_code = _chosen_province(scope)
    certificates = ocop.expiring(province_code=province_code, within_days=EXPIRING_DAYS)
    return render_template(
        "cooperatives/ocop/council_certificates.html",
        title=_("Giấy chứng nhận hết hạn trong %(n)s ngày tới", n=EXPIRING_DAYS),
        view="expiring",
        **_certificate_rows(certificates),
        **_council_context(scope, province_code),
    )


@bp.get("/council/revoked")
@login_required
def council_revoked():
    scope = _scope()
    province_code = _chosen_province(scope)
    return render_template(
        "cooperatives/ocop/council_certificates.html",
        title=_("Giấy chứng nhận đã thu hồi"),
        view="revoked",
        **_certificate_rows(ocop.revoked(province_code=province_code)),
        **_council_context(scope, province_code),
    )


@bp.get("/council/certificates")
@login_required
def council_certificates():
    scope = _scope()
    province_code = _chosen_province(scope, required=True)
    assert province_code is not None
    return render_template(
        "cooperatives/ocop/council_certificates.html",
        title=_("Giấy chứng nhận còn hiệu lực"),
        view="valid",
        **_certificate_rows(
            [
                c
                for c in ocop.certificates_in_province(province_code)
                if ocop.is_valid_on(c, local_today())
            ]
        ),
        **_council_context(scope, province_code),
    )


@bp.get("/council/stats")
@login_required
def council_stats():
    scope = _scope()
    province_code = _chosen_province(scope, required=True)
    assert province_code is not None
    return render_template(
        "cooperatives/ocop/council_stats.html",
        stats=ocop.province_statistics(province_code),
        **_council_context(scope, province_code),
    )


@bp.route("/council/certificates/<int:certificate_id>/revoke", methods=["GET", "POST"])
@login_required
def council_revoke(certificate_id: int):
    scope = _scope()
    certificate = ocop.certificate_for_council(scope.user, certificate_id)
    form = RevokeForm()
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                ocop.revoke_certificate(scope.user, certificate_id, form.reason.data)
        except (Invalid, Conflict) as error:
            show_errors(form, error)
            status = error.status
            certificate = ocop.certificate_for_council(scope.user, certificate_id)
        else:
            flash(_("Đã thu hồi giấy chứng nhận. Sản phẩm không còn hiển thị sao OCOP."), "success")
            producer = db.session.get(Producer, certificate.producer_id)
            return redirect(
                url_for(".council_revoked", province=producer.province_code if producer else None),
                303,
            )
    elif form.errors:
        status = 422
    producer = db.session.get(Producer, certificate.producer_id)
    return render_template(
        "cooperatives/ocop/council_revoke.html",
        certificate=certificate,
        product=db.session.get(Product, certificate.product_id),
        producer=producer,
        state=ocop.certificate_state(certificate, local_today(), EXPIRING_DAYS),
        form=form,
        **_council_context(scope, producer.province_code if producer else None),
    ), status
