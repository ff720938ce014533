"""OCOP evaluation: a producer submits, a council scores parts A/B/C, the council decides and
the certificate is issued (3–5★). Services flush; they never commit."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from accounts import audit
from accounts.models import User
from cooperatives.access import Acting
from cooperatives.models import (
    EvaluationStatus,
    OcopCertificate,
    OcopEvaluation,
    Product,
    RuleSet,
)
from cooperatives.ocop.certificates import certificate_details, issue_certificate, product_of
from cooperatives.ocop.council import evaluation_in_scope, require_scope
from cooperatives.ocop.rules import (
    MAX_AUTHORITY,
    MAX_DECISION_NUMBER,
    MAX_NOTE,
    OPEN_EVALUATION,
    check_decision_date,
    check_scores,
    check_text,
    format_score,
    stars_for_score,
)
from core.db import db, utcnow
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.i18n import LOCAL_TZ, local_today

# --------------------------------------------------------------------------- evaluation


def submit_for_evaluation(acting: Acting, product_id: Any, note: Any = "") -> OcopEvaluation:
    """The producer sends a product to its province's OCOP council."""
    product = product_of(acting.producer.id, product_id)
    text = check_text(note, "note", _("ghi chú"), MAX_NOTE, required=False)
    open_one = db.session.scalar(
        select(OcopEvaluation.id).where(
            OcopEvaluation.product_id == product.id,
            OcopEvaluation.status.in_(OPEN_EVALUATION),
        )
    )
    if open_one is not None:
        raise Conflict(
            _("Sản phẩm này đang chờ hội đồng đánh giá; không gửi thêm hồ sơ được."),
            fields={"product_id": _("Sản phẩm này đang chờ hội đồng đánh giá.")},
        )
    evaluation = OcopEvaluation(
        product_id=product.id,
        producer_id=acting.producer.id,
        province_code=acting.producer.province_code,
        rule_set=RuleSet.QD_148_2023,
        status=EvaluationStatus.SUBMITTED,
        note=text,
        submitted_by_id=acting.user.id,
    )
    db.session.add(evaluation)
    db.session.flush()
    audit.record(
        acting.user.id,
        "ocop.evaluation.submitted",
        producer_id=acting.producer.id,
        actor_role=acting.role,
        subject_type="ocop_evaluation",
        subject_id=evaluation.id,
        summary=_("Gửi %(product)s đi đánh giá OCOP", product=product.name_vi),
        details={"product_id": product.id, "province_code": evaluation.province_code},
    )
    return evaluation


def withdraw_evaluation(acting: Acting, evaluation_id: Any) -> OcopEvaluation:
    """The producer takes back a dossier the council has not scored yet."""
    evaluation = (
        db.session.get(OcopEvaluation, evaluation_id) if isinstance(evaluation_id, int) else None
    )
    if evaluation is None or evaluation.producer_id != acting.producer.id:
        raise NotFound()
    if evaluation.status != EvaluationStatus.SUBMITTED:
        raise Conflict(_("Hội đồng đã chấm điểm hồ sơ này; không rút lại được."))
    evaluation.status = EvaluationStatus.WITHDRAWN
    db.session.flush()
    audit.record(
        acting.user.id,
        "ocop.evaluation.withdrawn",
        producer_id=acting.producer.id,
        actor_role=acting.role,
        subject_type="ocop_evaluation",
        subject_id=evaluation.id,
        summary=_("Rút hồ sơ đánh giá OCOP"),
        details={"product_id": evaluation.product_id},
    )
    return evaluation


def score_evaluation(
    council_user: User | None, evaluation_id: int, a: Any, b: Any, c: Any
) -> OcopEvaluation:
    """A council member scores parts A/B/C; the system computes the total and proposes stars.
    Scores may be corrected until the decision is recorded."""
    scope = require_scope(council_user)
    evaluation = evaluation_in_scope(scope, evaluation_id)
    if not scope.seated_for(evaluation.province_code):
        raise Forbidden(_("Chỉ thành viên hội đồng OCOP mới chấm điểm được."))
    if evaluation.status not in OPEN_EVALUATION:
        raise Conflict(_("Hồ sơ này đã có quyết định hoặc đã rút; không chấm điểm được nữa."))
    scores = check_scores(evaluation.rule_set, None, a, b, c, parts_required=True)
    evaluation.score_a, evaluation.score_b, evaluation.score_c = scores.a, scores.b, scores.c
    evaluation.total_score = scores.total
    evaluation.proposed_stars = scores.stars
    evaluation.scored_by_id = scope.user.id
    evaluation.scored_at = utcnow()
    evaluation.council_level = scope.level_in(evaluation.province_code)
    evaluation.status = EvaluationStatus.SCORED
    db.session.flush()
    audit.record(
        scope.user.id,
        "ocop.evaluation.scored",
        producer_id=evaluation.producer_id,
        actor_role=scope.role_in(evaluation.province_code),
        subject_type="ocop_evaluation",
        subject_id=evaluation.id,
        summary=ngettext(
            "Chấm điểm OCOP: %(total)s điểm, đề xuất %(stars)s sao",
            "Chấm điểm OCOP: %(total)s điểm, đề xuất %(stars)s sao",
            scores.stars,
            total=format_score(scores.total),
            stars=scores.stars,
        ),
        details={
            "score_a": str(scores.a),
            "score_b": str(scores.b),
            "score_c": str(scores.c),
            "total_score": str(scores.total),
            "proposed_stars": scores.stars,
        },
    )
    return evaluation


# Long on purpose: the council decision's checks in the order of the rules (scope, stars,
# dates, number), then the certificate; split it when a second decision path appears.
def decide_evaluation(
    council_user: User | None,
    evaluation_id: int,
    decision_number: Any,
    decision_date: Any,
    issuing_authority: Any,
    today: date | None = None,
) -> OcopCertificate | None:
    """Record the council's decision. 3–5★ issues a certificate (5★ only by the central council);
    1–2★ is recorded as decided, not OCOP, and issues nothing (returns None)."""
    today = today or local_today()
    scope = require_scope(council_user)
    evaluation = evaluation_in_scope(scope, evaluation_id)
    if evaluation.status == EvaluationStatus.SUBMITTED:
        raise Conflict(_("Hồ sơ chưa được chấm điểm; vui lòng chấm điểm trước khi quyết định."))
    if evaluation.status != EvaluationStatus.SCORED:
        raise Conflict(_("Hồ sơ này đã có quyết định hoặc đã rút."))
    stars = stars_for_score(evaluation.total_score or 0)
    if not scope.can_decide(stars, evaluation.province_code):
        if stars == 5:
            raise Forbidden(
                _(
                    "Sản phẩm đạt 5 sao do Hội đồng OCOP Trung ương xét công nhận; hồ sơ được "
                    "chuyển lên Hội đồng Trung ương."
                ),
                code="needs_central",
            )
        if stars in (3, 4):
            raise Forbidden(
                _("Sản phẩm 3–4 sao do Hội đồng OCOP cấp tỉnh xét công nhận."),
                code="needs_province",
            )
        raise Forbidden(_("Chỉ thành viên hội đồng OCOP mới ghi được quyết định."))
    level = scope.level_for(stars, evaluation.province_code)
    product = db.session.get(Product, evaluation.product_id)
    assert product is not None  # RESTRICT foreign key

    errors: dict[str, str] = {}
    checked: dict[str, Any] = {}
    for name, check in (
        (
            "decision_number",
            lambda: check_text(
                decision_number, "decision_number", _("số quyết định"), MAX_DECISION_NUMBER
            ),
        ),
        ("decision_date", lambda: check_decision_date(decision_date, today)),
        (
            "issuing_authority",
            lambda: check_text(
                issuing_authority, "issuing_authority", _("cơ quan ban hành"), MAX_AUTHORITY
            ),
        ),
    ):
        try:
            checked[name] = check()
        except Invalid as error:
            errors.update({k: str(v) for k, v in error.fields.items()})
    submitted_day = evaluation.submitted_at.astimezone(LOCAL_TZ).date()
    if "decision_date" in checked and checked["decision_date"] < submitted_day:
        errors["decision_date"] = _("Ngày quyết định không thể trước ngày gửi hồ sơ.")
    if errors:
        raise Invalid(fields=errors)
    number = checked["decision_number"]
    day = checked["decision_date"]
    authority = checked["issuing_authority"]

    certificate: OcopCertificate | None = None
    if stars >= 3:
        certificate = issue_certificate(
            product=product,
            decision_number=number,
            decision_date=day,
            issuing_authority=authority,
            rating_level=level,
            rule_set=evaluation.rule_set,
            total_score=evaluation.total_score,
            stars=stars,
            score_a=evaluation.score_a,
            score_b=evaluation.score_b,
            score_c=evaluation.score_c,
            category_code=None,
            created_by=scope.user,
            evaluation_id=evaluation.id,
            today=today,
        )

    evaluation.status = EvaluationStatus.DECIDED
    evaluation.decision_number = number
    evaluation.decision_date = day
    evaluation.decided_by_id = scope.user.id
    evaluation.decided_at = utcnow()
    evaluation.council_level = level
    db.session.flush()
    audit.record(
        scope.user.id,
        "ocop.evaluation.decided",
        producer_id=evaluation.producer_id,
        actor_role=scope.role_in(evaluation.province_code),
        subject_type="ocop_evaluation",
        subject_id=evaluation.id,
        summary=(
            _(
                "Quyết định %(number)s: %(product)s đạt OCOP %(stars)s sao",
                number=number,
                product=product.name_vi,
                stars=stars,
            )
            if certificate
            else ngettext(
                "Quyết định %(number)s: %(product)s đạt %(stars)s sao, chưa phải sản phẩm OCOP",
                "Quyết định %(number)s: %(product)s đạt %(stars)s sao, chưa phải sản phẩm OCOP",
                stars,
                number=number,
                product=product.name_vi,
                stars=stars,
            )
        ),
        details={
            "decision_number": number,
            "decision_date": day.isoformat(),
            "issuing_authority": authority,
            "stars": stars,
            "certificate_id": certificate.id if certificate else None,
        },
    )
    if certificate is not None:
        audit.record(
            scope.user.id,
            "ocop.certificate.issued",
            producer_id=certificate.producer_id,
            actor_role=scope.role_in(evaluation.province_code),
            subject_type="ocop_certificate",
            subject_id=certificate.id,
            summary=_(
                "Cấp giấy chứng nhận OCOP %(stars)s sao (QĐ %(number)s)",
                stars=certificate.stars,
                number=certificate.decision_number,
            ),
            details=certificate_details(certificate),
        )
    return certificate
