"""OCOP rules (Decision 148/QĐ-TTg 2023, and 1048/QĐ-TTg 2019 for older certificates).

Truth on every page: a product shows stars only while a certificate is valid today.

Services here change the session and flush; they never commit (the view or command does).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from accounts import audit
from accounts.models import CouncilLevel, CouncilSeat, User
from cooperatives.access import MANAGERS, Acting
from cooperatives.models import (
    CertificateStatus,
    EvaluationStatus,
    OcopCategory,
    OcopCertificate,
    OcopEvaluation,
    Producer,
    Product,
    RuleSet,
)
from core.db import db, utcnow
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.i18n import LOCAL_TZ, local_today

# Maximum points of parts A, B, C under each rule set.
PART_MAXIMA: dict[str, tuple[int, int, int]] = {
    RuleSet.QD_1048_2019: (35, 25, 40),
    RuleSet.QD_148_2023: (40, 25, 35),
}
VALIDITY_MONTHS = 36

# Decision 490/QĐ-TTg approved the OCOP programme on 7 May 2018: no certificate is older.
OCOP_START = date(2018, 5, 7)
# Decision 148/QĐ-TTg replaced 1048/QĐ-TTg on 24 February 2023.
QD_148_SINCE = date(2023, 2, 24)
# Two-level local government since 1 July 2025: districts no longer rate products.
TWO_LEVEL_SINCE = date(2025, 7, 1)


class RatingLevel:
    DISTRICT = "district"
    PROVINCE = "province"
    CENTRAL = "central"
    ALL = ("district", "province", "central")


OPEN_EVALUATION = (EvaluationStatus.SUBMITTED, EvaluationStatus.SCORED)
MAX_DECISION_NUMBER = 64
MAX_AUTHORITY = 200
MAX_NOTE = 2000
MAX_REASON = 1000


# --------------------------------------------------------------------------- stars and dates


def stars_for_score(total: Decimal | float | int) -> int:
    """5★ 90–100, 4★ 70–<90, 3★ 50–<70, 2★ 30–<50, 1★ <30."""
    total = Decimal(str(total))
    if total >= 90:
        return 5
    if total >= 70:
        return 4
    if total >= 50:
        return 3
    if total >= 30:
        return 2
    return 1


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the last day of the month when it has no such day
    (29 Feb 2024 + 36 months = 28 Feb 2027)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


def valid_until_for(decision_date: date) -> date:
    """A certificate is valid 36 months from the day its decision is signed."""
    return add_months(decision_date, VALIDITY_MONTHS)


def default_rule_set(decision_date: date) -> str:
    return RuleSet.QD_148_2023 if decision_date >= QD_148_SINCE else RuleSet.QD_1048_2019


def is_valid_on(certificate: OcopCertificate, day: date) -> bool:
    return (
        certificate.status == CertificateStatus.VALID
        and certificate.decision_date <= day <= certificate.valid_until
    )


def certificate_state(
    certificate: OcopCertificate, today: date | None = None, within_days: int = 90
) -> str:
    """What a badge says: valid, expiring (within `within_days`), expired or revoked.

    A certificate whose date has passed reads as expired even before `flask ocop expire` ran."""
    today = today or local_today()
    if certificate.status == CertificateStatus.REVOKED:
        return "revoked"
    if certificate.status == CertificateStatus.EXPIRED or certificate.valid_until < today:
        return "expired"
    if certificate.valid_until <= today + timedelta(days=within_days):
        return "expiring"
    return "valid"


def valid_certificates(
    product_ids: Iterable[int], today: date | None = None
) -> dict[int, OcopCertificate]:
    """The best certificate valid today for each product (absent when none)."""
    ids = list(set(product_ids))
    if not ids:
        return {}
    today = today or local_today()
    rows = db.session.scalars(
        select(OcopCertificate)
        .where(
            OcopCertificate.product_id.in_(ids),
            OcopCertificate.status == CertificateStatus.VALID,
            OcopCertificate.valid_until >= today,
            OcopCertificate.decision_date <= today,  # not in force before it is signed
        )
        .order_by(OcopCertificate.stars.desc(), OcopCertificate.decision_date.desc())
    )
    best: dict[int, OcopCertificate] = {}
    for certificate in rows:
        best.setdefault(certificate.product_id, certificate)
    return best


def valid_certificate(product_id: int, today: date | None = None) -> OcopCertificate | None:
    return valid_certificates([product_id], today).get(product_id)


# --------------------------------------------------------------------------- input checks


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _score(value: Any, field: str, label: str) -> Decimal | None:
    """A score as Decimal with at most two decimals; accepts '89,5' as typed on a phone."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise Invalid(fields={field: _("%(label)s phải là một số.", label=label)})
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise Invalid(fields={field: _("%(label)s phải là một số.", label=label)}) from None
    if not number.is_finite():
        raise Invalid(fields={field: _("%(label)s phải là một số.", label=label)})
    if number < 0:
        raise Invalid(fields={field: _("%(label)s không được âm.", label=label)})
    if number != number.quantize(Decimal("0.01")):
        raise Invalid(
            fields={field: _("%(label)s chỉ được có tối đa 2 chữ số thập phân.", label=label)}
        )
    return number.quantize(Decimal("0.01"))


def _text(value: Any, field: str, label: str, max_length: int, required: bool = True) -> str:
    """Text as written: only the surrounding spaces go (an authority's name is never rewritten)."""
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise Invalid(fields={field: _("Vui lòng nhập %(label)s.", label=label)})
    if len(text) > max_length:
        raise Invalid(
            fields={field: _("%(label)s dài tối đa %(n)s ký tự.", label=label, n=max_length)}
        )
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise Invalid(fields={field: _("%(label)s có ký tự không hợp lệ.", label=label)})
    return text


def _decision_date(value: Any, today: date, field: str = "decision_date") -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise Invalid(fields={field: _("Vui lòng nhập ngày quyết định (ngày/tháng/năm).")})
    if value > today:
        raise Invalid(fields={field: _("Ngày quyết định không thể ở tương lai.")})
    if value < OCOP_START:
        raise Invalid(
            fields={field: _("Chương trình OCOP bắt đầu từ ngày 07/05/2018; ngày này quá sớm.")}
        )
    return value


def _format_score(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


def _stars_message(total: Decimal, stars: int) -> str:
    return _(
        "%(total)s điểm là %(right)s sao, không phải %(wrong)s sao.",
        total=_format_score(total),
        right=stars_for_score(total),
        wrong=stars,
    )


@dataclass(frozen=True)
class Scores:
    total: Decimal
    stars: int
    a: Decimal | None
    b: Decimal | None
    c: Decimal | None


def check_scores(
    rule_set: str,
    total: Any = None,
    a: Any = None,
    b: Any = None,
    c: Any = None,
    stars: Any = None,
    *,
    parts_required: bool = False,
) -> Scores:
    """Validate parts against the rule set's maxima, their sum against the total, and the stars
    against the total. Raises Invalid with errors keyed by field name."""
    if rule_set not in PART_MAXIMA:
        raise Invalid(fields={"rule_set": _("Bộ tiêu chí không hợp lệ.")})
    maxima = PART_MAXIMA[rule_set]
    labels = (_("Điểm phần A"), _("Điểm phần B"), _("Điểm phần C"))
    names = ("score_a", "score_b", "score_c")
    errors: dict[str, str] = {}
    parts: list[Decimal | None] = []
    for value, name, label in zip((a, b, c), names, labels, strict=True):
        try:
            parts.append(_score(value, name, label))
        except Invalid as error:
            errors.update({k: str(v) for k, v in error.fields.items()})
            parts.append(None)
            continue
        if parts[-1] is None and (parts_required or not all(map(_blank, (a, b, c)))):
            errors[name] = (
                _("Vui lòng nhập %(label)s.", label=label)
                if parts_required
                else _("Vui lòng nhập %(label)s (hoặc bỏ trống cả ba phần).", label=label)
            )
    given = [p is not None for p in parts]
    for part, name, label, maximum in zip(parts, names, labels, maxima, strict=True):
        if part is not None and part > maximum:
            errors[name] = _(
                "%(label)s tối đa %(max)s điểm theo bộ tiêu chí %(rules)s.",
                label=label,
                max=maximum,
                rules=rule_set,
            )
    if errors:
        raise Invalid(fields=errors)

    total_value = _score(total, "total_score", _("Tổng điểm"))
    if all(given):
        parts_sum = sum(parts, Decimal("0"))  # type: ignore[arg-type]
        if total_value is None:
            total_value = parts_sum
        elif total_value != parts_sum:
            raise Invalid(
                fields={
                    "total_score": _(
                        "Tổng điểm %(total)s không bằng A + B + C = %(sum)s.",
                        total=_format_score(total_value),
                        sum=_format_score(parts_sum),
                    )
                }
            )
    if total_value is None:
        raise Invalid(fields={"total_score": _("Vui lòng nhập tổng điểm.")})
    if total_value > 100:
        raise Invalid(fields={"total_score": _("Tổng điểm từ 0 đến 100.")})

    computed = stars_for_score(total_value)
    if stars is not None and stars != "":
        try:
            given_stars = int(stars)
        except (TypeError, ValueError):
            raise Invalid(fields={"stars": _("Số sao không hợp lệ.")}) from None
        if given_stars != computed:
            raise Invalid(fields={"stars": _stars_message(total_value, given_stars)})
    return Scores(total_value, computed, parts[0], parts[1], parts[2])


def _category_code(code: Any, product: Product) -> str | None:
    if code is None or code == "":
        return product.category_code
    if not isinstance(code, str) or db.session.get(OcopCategory, code) is None:
        raise Invalid(fields={"category_code": _("Nhóm sản phẩm không hợp lệ.")})
    return code


def _check_level(level: Any, stars: int, decision_date: date) -> str:
    if level not in RatingLevel.ALL:
        raise Invalid(fields={"rating_level": _("Vui lòng chọn cấp đánh giá.")})
    if level == RatingLevel.DISTRICT and decision_date >= TWO_LEVEL_SINCE:
        raise Invalid(
            fields={
                "rating_level": _(
                    "Từ 01/07/2025 không còn cấp huyện; quyết định sau ngày này do tỉnh "
                    "hoặc trung ương đánh giá."
                )
            }
        )
    if stars == 5 and level != RatingLevel.CENTRAL:
        raise Invalid(
            fields={"rating_level": _("Sản phẩm 5 sao do Hội đồng OCOP Trung ương đánh giá.")}
        )
    if level == RatingLevel.DISTRICT and stars != 3:
        raise Invalid(fields={"rating_level": _("Cấp huyện chỉ đánh giá sản phẩm 3 sao.")})
    return level


def _check_rule_set(rule_set: Any, decision_date: date) -> str:
    if rule_set is None or rule_set == "":
        return default_rule_set(decision_date)
    if rule_set not in PART_MAXIMA:
        raise Invalid(fields={"rule_set": _("Bộ tiêu chí không hợp lệ.")})
    if rule_set == RuleSet.QD_148_2023 and decision_date < QD_148_SINCE:
        raise Invalid(
            fields={
                "rule_set": _(
                    "Quyết định 148/QĐ-TTg áp dụng từ 24/02/2023; quyết định trước ngày này "
                    "theo bộ tiêu chí 1048/2019."
                )
            }
        )
    return rule_set


# --------------------------------------------------------------------------- certificates


def _product_of(producer_id: int, product_id: Any) -> Product:
    product = db.session.get(Product, product_id) if isinstance(product_id, int) else None
    if product is None or product.producer_id != producer_id:
        raise Invalid(fields={"product_id": _("Vui lòng chọn một sản phẩm của cơ sở.")})
    return product


def _issue(
    *,
    product: Product,
    decision_number: Any,
    decision_date: Any,
    issuing_authority: Any,
    rating_level: Any,
    rule_set: Any,
    total_score: Any,
    stars: Any,
    score_a: Any,
    score_b: Any,
    score_c: Any,
    category_code: Any,
    created_by: User,
    evaluation_id: int | None,
    today: date,
) -> OcopCertificate:
    errors: dict[str, str] = {}
    checks: dict[str, Any] = {}

    def attempt(name: str, check) -> None:
        try:
            checks[name] = check()
        except Invalid as error:
            errors.update({k: str(v) for k, v in error.fields.items()})

    attempt(
        "number",
        lambda: _text(decision_number, "decision_number", _("số quyết định"), MAX_DECISION_NUMBER),
    )
    attempt(
        "authority",
        lambda: _text(issuing_authority, "issuing_authority", _("cơ quan ban hành"), MAX_AUTHORITY),
    )
    attempt("date", lambda: _decision_date(decision_date, today))
    attempt("category", lambda: _category_code(category_code, product))
    if "date" in checks:
        attempt("rule_set", lambda: _check_rule_set(rule_set, checks["date"]))
        if "rule_set" in checks:
            attempt(
                "scores",
                lambda: check_scores(
                    checks["rule_set"], total_score, score_a, score_b, score_c, stars
                ),
            )
            if "scores" in checks:
                scores: Scores = checks["scores"]
                if scores.stars < 3:
                    errors["stars"] = _(
                        "%(total)s điểm là %(n)s sao: sản phẩm dưới 3 sao chưa phải sản phẩm "
                        "OCOP nên không có giấy chứng nhận.",
                        total=_format_score(scores.total),
                        n=scores.stars,
                    )
                else:
                    attempt(
                        "level", lambda: _check_level(rating_level, scores.stars, checks["date"])
                    )
    if errors:
        raise Invalid(fields=errors)

    number = checks["number"]
    duplicate = db.session.scalar(
        select(OcopCertificate.id).where(
            OcopCertificate.product_id == product.id,
            OcopCertificate.decision_number == number,
        )
    )
    if duplicate is not None:
        raise Invalid(
            fields={
                "decision_number": _(
                    "Sản phẩm này đã có giấy chứng nhận theo quyết định %(number)s.",
                    number=number,
                )
            }
        )

    scores = checks["scores"]
    valid_until = valid_until_for(checks["date"])
    certificate = OcopCertificate(
        product_id=product.id,
        producer_id=product.producer_id,
        decision_number=number,
        decision_date=checks["date"],
        issuing_authority=checks["authority"],
        rating_level=checks["level"],
        rule_set=checks["rule_set"],
        stars=scores.stars,
        total_score=scores.total,
        score_a=scores.a,
        score_b=scores.b,
        score_c=scores.c,
        category_code=checks["category"],
        valid_until=valid_until,
        # An old paper certificate that has already lapsed is history, not a current claim.
        status=CertificateStatus.VALID if valid_until >= today else CertificateStatus.EXPIRED,
        evaluation_id=evaluation_id,
        created_by_id=created_by.id,
    )
    db.session.add(certificate)
    db.session.flush()
    return certificate


def _certificate_details(certificate: OcopCertificate) -> dict[str, Any]:
    def num(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "product_id": certificate.product_id,
        "decision_number": certificate.decision_number,
        "decision_date": certificate.decision_date.isoformat(),
        "issuing_authority": certificate.issuing_authority,
        "rating_level": certificate.rating_level,
        "rule_set": certificate.rule_set,
        "stars": certificate.stars,
        "total_score": num(certificate.total_score),
        "score_a": num(certificate.score_a),
        "score_b": num(certificate.score_b),
        "score_c": num(certificate.score_c),
        "category_code": certificate.category_code,
        "valid_until": certificate.valid_until.isoformat(),
        "status": certificate.status,
    }


def record_certificate(
    acting: Acting,
    product_id: int,
    *,
    decision_number: str,
    decision_date: date,
    issuing_authority: str,
    rating_level: str,
    total_score: Any = None,
    stars: Any = None,
    rule_set: str | None = None,
    score_a: Any = None,
    score_b: Any = None,
    score_c: Any = None,
    category_code: str | None = None,
    today: date | None = None,
) -> OcopCertificate:
    """Record a certificate the producer already holds (from its paper decision).

    The stars must match the total under the certificate's rule set, or nothing is saved."""
    if acting.role not in MANAGERS:
        raise Forbidden(_("Chỉ người quản lý của cơ sở mới ghi nhận giấy chứng nhận OCOP."))
    product = _product_of(acting.producer.id, product_id)
    certificate = _issue(
        product=product,
        decision_number=decision_number,
        decision_date=decision_date,
        issuing_authority=issuing_authority,
        rating_level=rating_level,
        rule_set=rule_set,
        total_score=total_score,
        stars=stars,
        score_a=score_a,
        score_b=score_b,
        score_c=score_c,
        category_code=category_code,
        created_by=acting.user,
        evaluation_id=None,
        today=today or local_today(),
    )
    audit.record(
        acting.user.id,
        "ocop.certificate.recorded",
        producer_id=acting.producer.id,
        actor_role=acting.role,
        subject_type="ocop_certificate",
        subject_id=certificate.id,
        summary=_(
            "Ghi nhận giấy chứng nhận OCOP %(stars)s sao cho %(product)s (QĐ %(number)s)",
            stars=certificate.stars,
            product=product.name_vi,
            number=certificate.decision_number,
        ),
        details=_certificate_details(certificate),
    )
    return certificate


def expire_lapsed(today: date | None = None) -> int:
    """Mark valid certificates whose valid_until has passed as expired; returns how many."""
    today = today or local_today()
    lapsed = list(
        db.session.scalars(
            select(OcopCertificate)
            .where(
                OcopCertificate.status == CertificateStatus.VALID,
                OcopCertificate.valid_until < today,
            )
            .order_by(OcopCertificate.id)
        )
    )
    for certificate in lapsed:
        certificate.status = CertificateStatus.EXPIRED
        audit.record(
            None,
            "ocop.certificate.expired",
            producer_id=certificate.producer_id,
            actor_role="system",
            subject_type="ocop_certificate",
            subject_id=certificate.id,
            summary=_(
                "Giấy chứng nhận OCOP (QĐ %(number)s) hết hiệu lực ngày %(day)s",
                number=certificate.decision_number,
                day=certificate.valid_until.strftime("%d/%m/%Y"),
            ),
            details={"valid_until": certificate.valid_until.isoformat()},
        )
    db.session.flush()
    return len(lapsed)


def expiring(
    producer_id: int | None = None,
    province_code: int | None = None,
    within_days: int = 90,
    today: date | None = None,
) -> list[OcopCertificate]:
    """Valid certificates whose last valid day falls within the next `within_days` days,
    soonest first."""
    today = today or local_today()
    query = (
        select(OcopCertificate)
        .where(
            OcopCertificate.status == CertificateStatus.VALID,
            OcopCertificate.valid_until >= today,
            OcopCertificate.valid_until <= today + timedelta(days=within_days),
        )
        .order_by(OcopCertificate.valid_until, OcopCertificate.id)
    )
    if producer_id is not None:
        query = query.where(OcopCertificate.producer_id == producer_id)
    if province_code is not None:
        query = query.join(Producer, Producer.id == OcopCertificate.producer_id).where(
            Producer.province_code == province_code
        )
    return list(db.session.scalars(query))


def revoked(province_code: int | None = None, limit: int = 200) -> list[OcopCertificate]:
    """Revoked certificates, most recent first."""
    query = (
        select(OcopCertificate)
        .where(OcopCertificate.status == CertificateStatus.REVOKED)
        .order_by(OcopCertificate.revoked_at.desc(), OcopCertificate.id.desc())
        .limit(limit)
    )
    if province_code is not None:
        query = query.join(Producer, Producer.id == OcopCertificate.producer_id).where(
            Producer.province_code == province_code
        )
    return list(db.session.scalars(query))


def certificates_of(producer_id: int) -> list[OcopCertificate]:
    return list(
        db.session.scalars(
            select(OcopCertificate)
            .where(OcopCertificate.producer_id == producer_id)
            .order_by(OcopCertificate.decision_date.desc(), OcopCertificate.id.desc())
        )
    )


def evaluations_of(producer_id: int) -> list[OcopEvaluation]:
    return list(
        db.session.scalars(
            select(OcopEvaluation)
            .where(OcopEvaluation.producer_id == producer_id)
            .order_by(OcopEvaluation.submitted_at.desc(), OcopEvaluation.id.desc())
        )
    )


# --------------------------------------------------------------------------- council scope


@dataclass(frozen=True)
class CouncilScope:
    """Where a user may look at and act on OCOP evaluations.

    A province seat covers its province; the central seat covers every province. Platform admins
    see everything but score and decide nothing: those are council acts. Admins may record a
    revocation the authority has published."""

    user: User
    central: bool
    province_codes: frozenset[int]
    admin: bool = False

    @property
    def everywhere(self) -> bool:
        return self.admin or self.central

    def covers(self, province_code: int | None) -> bool:
        """May see (and revoke in) this province."""
        return self.everywhere or (province_code in self.province_codes)

    def seated_for(self, province_code: int | None) -> bool:
        """Holds a seat that may score this province's products."""
        return self.central or (province_code in self.province_codes)

    def can_decide(self, stars: int, province_code: int) -> bool:
        """Province councils recognise 3–4★ (and record 1–2★); only the central council 5★."""
        if stars == 5:
            return self.central
        if stars in (3, 4):
            return province_code in self.province_codes
        return self.seated_for(province_code)

    def level_in(self, province_code: int | None) -> str:
        """The council level this user acts at in a province (their own province seat first)."""
        if province_code in self.province_codes:
            return RatingLevel.PROVINCE
        return RatingLevel.CENTRAL

    def level_for(self, stars: int, province_code: int) -> str:
        return RatingLevel.CENTRAL if stars == 5 else self.level_in(province_code)

    def role_in(self, province_code: int | None) -> str:
        if self.seated_for(province_code):
            return f"council_{self.level_in(province_code)}"
        return "admin" if self.admin else ""


def council_scope(user: User | None) -> CouncilScope | None:
    """The user's council scope, or None when they hold no seat (and are not a platform admin)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    seats = list(db.session.scalars(select(CouncilSeat).where(CouncilSeat.user_id == user.id)))
    central = any(seat.level == CouncilLevel.CENTRAL for seat in seats)
    provinces = frozenset(
        seat.province_code
        for seat in seats
        if seat.level == CouncilLevel.PROVINCE and seat.province_code is not None
    )
    if user.is_platform_admin:
        return CouncilScope(user, central, provinces, admin=True)
    if not central and not provinces:
        return None
    return CouncilScope(user, central, provinces)


def _require_scope(user: User | None) -> CouncilScope:
    scope = council_scope(user)
    if scope is None:
        raise NotFound()
    return scope


def _evaluation_in_scope(scope: CouncilScope, evaluation_id: Any) -> OcopEvaluation:
    evaluation = (
        db.session.get(OcopEvaluation, evaluation_id) if isinstance(evaluation_id, int) else None
    )
    if evaluation is None or not scope.covers(evaluation.province_code):
        raise NotFound()
    return evaluation


def evaluation_for_council(user: User | None, evaluation_id: int) -> OcopEvaluation:
    return _evaluation_in_scope(_require_scope(user), evaluation_id)


def certificate_for_council(user: User | None, certificate_id: int) -> OcopCertificate:
    scope = _require_scope(user)
    certificate = db.session.get(OcopCertificate, certificate_id)
    if certificate is None:
        raise NotFound()
    producer = db.session.get(Producer, certificate.producer_id)
    if producer is None or not scope.covers(producer.province_code):
        raise NotFound()
    return certificate


def pending_evaluations(
    scope: CouncilScope, province_code: int | None = None
) -> list[OcopEvaluation]:
    """Evaluations waiting for scoring or decision in the scope, oldest first."""
    query = (
        select(OcopEvaluation)
        .where(OcopEvaluation.status.in_(OPEN_EVALUATION))
        .order_by(OcopEvaluation.submitted_at, OcopEvaluation.id)
    )
    if province_code is not None:
        query = query.where(OcopEvaluation.province_code == province_code)
    if not scope.everywhere:
        query = query.where(OcopEvaluation.province_code.in_(sorted(scope.province_codes)))
    return list(db.session.scalars(query))


def certificates_in_province(
    province_code: int, status: str | None = CertificateStatus.VALID, limit: int = 500
) -> list[OcopCertificate]:
    query = (
        select(OcopCertificate)
        .join(Producer, Producer.id == OcopCertificate.producer_id)
        .where(Producer.province_code == province_code)
        .order_by(OcopCertificate.decision_date.desc(), OcopCertificate.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(OcopCertificate.status == status)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class ProvinceStatistics:
    by_stars: dict[int, int]  # products with a valid certificate, by their best stars
    by_ward: list[tuple[int, dict[int, int], int]]  # (ward_code, {stars: n}, total)
    total: int


def province_statistics(province_code: int, today: date | None = None) -> ProvinceStatistics:
    """OCOP products valid today in a province, counted by their best stars and by commune."""
    today = today or local_today()
    rows = db.session.execute(
        select(OcopCertificate.product_id, OcopCertificate.stars, Producer.ward_code)
        .join(Producer, Producer.id == OcopCertificate.producer_id)
        .where(
            Producer.province_code == province_code,
            OcopCertificate.status == CertificateStatus.VALID,
            OcopCertificate.valid_until >= today,
            OcopCertificate.decision_date <= today,  # not in force before it is signed
        )
    )
    best: dict[int, tuple[int, int]] = {}
    for product_id, stars, ward_code in rows:
        if product_id not in best or stars > best[product_id][0]:
            best[product_id] = (stars, ward_code)
    by_stars = {5: 0, 4: 0, 3: 0}
    wards: dict[int, dict[int, int]] = {}
    for stars, ward_code in best.values():
        by_stars[stars] = by_stars.get(stars, 0) + 1
        counts = wards.setdefault(ward_code, {5: 0, 4: 0, 3: 0})
        counts[stars] = counts.get(stars, 0) + 1
    by_ward = sorted(
        ((code, counts, sum(counts.values())) for code, counts in wards.items()),
        key=lambda item: (-item[2], item[0]),
    )
    return ProvinceStatistics(by_stars=by_stars, by_ward=by_ward, total=len(best))


# --------------------------------------------------------------------------- revocation


def revoke_certificate(user: User | None, certificate_id: int, reason: Any) -> OcopCertificate:
    """A council member (in scope) or a platform admin revokes a certificate with a reason."""
    scope = _require_scope(user)
    certificate = certificate_for_council(user, certificate_id)
    text = _text(reason, "reason", _("lý do thu hồi"), MAX_REASON)
    if len(text) < 5:
        raise Invalid(fields={"reason": _("Vui lòng ghi rõ lý do thu hồi.")})
    if certificate.status == CertificateStatus.REVOKED:
        raise Conflict(_("Giấy chứng nhận này đã bị thu hồi."))
    previous = certificate.status
    producer = db.session.get(Producer, certificate.producer_id)
    producer_province = producer.province_code if producer else None
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = text
    db.session.flush()
    audit.record(
        scope.user.id,
        "ocop.certificate.revoked",
        producer_id=certificate.producer_id,
        actor_role=scope.role_in(producer_province),
        subject_type="ocop_certificate",
        subject_id=certificate.id,
        summary=_(
            "Thu hồi giấy chứng nhận OCOP (QĐ %(number)s): %(reason)s",
            number=certificate.decision_number,
            reason=text,
        ),
        details={"reason": text, "previous_status": previous},
    )
    return certificate


# --------------------------------------------------------------------------- evaluation


def submit_for_evaluation(acting: Acting, product_id: Any, note: Any = "") -> OcopEvaluation:
    """The producer sends a product to its province's OCOP council."""
    product = _product_of(acting.producer.id, product_id)
    text = _text(note, "note", _("ghi chú"), MAX_NOTE, required=False)
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
    scope = _require_scope(council_user)
    evaluation = _evaluation_in_scope(scope, evaluation_id)
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
        summary=_(
            "Chấm điểm OCOP: %(total)s điểm, đề xuất %(stars)s sao",
            total=_format_score(scores.total),
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
    scope = _require_scope(council_user)
    evaluation = _evaluation_in_scope(scope, evaluation_id)
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
            lambda: _text(
                decision_number, "decision_number", _("số quyết định"), MAX_DECISION_NUMBER
            ),
        ),
        ("decision_date", lambda: _decision_date(decision_date, today)),
        (
            "issuing_authority",
            lambda: _text(
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
        certificate = _issue(
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
            else _(
                "Quyết định %(number)s: %(product)s đạt %(stars)s sao, chưa phải sản phẩm OCOP",
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
            details=_certificate_details(certificate),
        )
    return certificate
