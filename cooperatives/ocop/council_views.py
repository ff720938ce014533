"""The OCOP council's desk (/council…): evaluations waiting, scoring and deciding, certificates
expiring, valid and revoked, revocation, statistics. Routes of the `ocop` blueprint (views.py).

Only users with a council seat (or platform admins); everyone else gets 404. A province seat
sees its province; the central seat and platform admins see every province.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from cooperatives import ocop
from cooperatives.models import EvaluationStatus, OcopEvaluation
from cooperatives.ocop import lookups
from cooperatives.ocop.forms import DecisionForm, RevokeForm, ScoreForm
from cooperatives.ocop.views import EXPIRING_DAYS, badges, bp, plain_number
from core import places
from core.db import unit_of_work
from core.errors import Conflict, Forbidden, Invalid
from core.forms import show_errors
from core.i18n import local_today
from core.numbers import parse_int


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
        producers=lookups.producers_by_id({e.producer_id for e in evaluations}),
        products=lookups.products_by_id({e.product_id for e in evaluations}),
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
                "score_a": plain_number(evaluation.score_a),
                "score_b": plain_number(evaluation.score_b),
                "score_c": plain_number(evaluation.score_c),
            }
        )
    if decision_form is None:
        decision_form = DecisionForm(
            data={
                "decision_date": local_today(),
                "issuing_authority": _default_authority(scope, evaluation),
            }
        )
    producer, product = lookups.producer_and_product(evaluation.producer_id, evaluation.product_id)
    stars = evaluation.proposed_stars
    certificate = lookups.certificate_of(evaluation)
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
        "producers": lookups.producers_by_id({c.producer_id for c in certificates}),
        "products": lookups.products_by_id({c.product_id for c in certificates}),
        "states": badges(certificates, local_today()),
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
            producer, _product = lookups.producer_and_product(
                certificate.producer_id, certificate.product_id
            )
            return redirect(
                url_for(".council_revoked", province=producer.province_code if producer else None),
                303,
            )
    elif form.errors:
        status = 422
    producer, product = lookups.producer_and_product(
        certificate.producer_id, certificate.product_id
    )
    return render_template(
        "cooperatives/ocop/council_revoke.html",
        certificate=certificate,
        product=product,
        producer=producer,
        state=ocop.certificate_state(certificate, local_today(), EXPIRING_DAYS),
        form=form,
        **_council_context(scope, producer.province_code if producer else None),
    ), status
