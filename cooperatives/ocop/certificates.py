"""OCOP certificates: recording one a producer already holds, expiry, and the read models
(valid today, expiring, revoked). Services flush; they never commit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import and_, select

from accounts import audit
from accounts.models import User
from cooperatives import signals
from cooperatives.access import MANAGERS, Acting
from cooperatives.models import (
    CertificateStatus,
    OcopCertificate,
    OcopEvaluation,
    Producer,
    Product,
)
from cooperatives.ocop.rules import (
    MAX_AUTHORITY,
    MAX_DECISION_NUMBER,
    Scores,
    check_category,
    check_decision_date,
    check_level,
    check_rule_set,
    check_scores,
    check_text,
    format_score,
    valid_until_for,
)
from core.db import among, db
from core.errors import Forbidden, Invalid
from core.i18n import local_today

# --------------------------------------------------------------------------- certificates


def valid_on(today: Any) -> Any:
    """The certificate-validity rule, defined once as SQL (the scan page's one statement uses it
    too): recorded as valid, signed on or before `today`, not lapsed. `today` is a date or a
    bind parameter; a certificate whose validity ended shows no stars from the next day on,
    whether or not `flask ocop expire` has marked it yet."""
    c = OcopCertificate.__table__.c
    return and_(
        c.status == CertificateStatus.VALID.value,
        c.valid_until >= today,
        c.decision_date <= today,  # not in force before it is signed
    )


def best_first() -> tuple[Any, ...]:
    """Which of several valid certificates a product shows: most stars, then the latest."""
    c = OcopCertificate.__table__.c
    return (c.stars.desc(), c.decision_date.desc(), c.id.desc())


def valid_certificates(
    product_ids: Iterable[int], today: date | None = None
) -> dict[int, OcopCertificate]:
    """The best certificate valid today for each product (absent when none)."""
    ids = list(set(product_ids))
    if not ids:
        return {}
    today = today or local_today()
    return _best_of_each(
        db.session.scalars(
            select(OcopCertificate)
            .where(OcopCertificate.product_id.in_(ids), valid_on(today))
            .order_by(*best_first())
        )
    )


def valid_certificate_rows(product_ids: list[int], today: date) -> dict[int, Any]:
    """valid_certificates as plain rows (product_id, stars, decision_number, valid_until), for
    readers that keep no ORM objects (a page of a 100,000-product feed); ids sorted."""
    if not product_ids:
        return {}
    c = OcopCertificate.__table__.c
    return _best_of_each(
        db.session.execute(
            select(c.product_id, c.stars, c.decision_number, c.valid_until)
            .where(among(c.product_id, product_ids), valid_on(today))
            .order_by(c.product_id, *best_first())
        )
    )


def _best_of_each(ordered: Iterable[Any]) -> dict[int, Any]:
    """The first of each product in best_first order: the certificate it shows."""
    best: dict[int, Any] = {}
    for certificate in ordered:
        best.setdefault(certificate.product_id, certificate)
    return best


def valid_certificate(product_id: int, today: date | None = None) -> OcopCertificate | None:
    return valid_certificates([product_id], today).get(product_id)


def product_of(producer_id: int, product_id: Any) -> Product:
    product = db.session.get(Product, product_id) if isinstance(product_id, int) else None
    if product is None or product.producer_id != producer_id:
        raise Invalid(fields={"product_id": _("Vui lòng chọn một sản phẩm của cơ sở.")})
    return product


# Long on purpose: fifteen keyword fields and one check each (all errors at once), then the row.
def issue_certificate(
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
        lambda: check_text(
            decision_number, "decision_number", _("số quyết định"), MAX_DECISION_NUMBER
        ),
    )
    attempt(
        "authority",
        lambda: check_text(
            issuing_authority, "issuing_authority", _("cơ quan ban hành"), MAX_AUTHORITY
        ),
    )
    attempt("date", lambda: check_decision_date(decision_date, today))
    attempt("category", lambda: check_category(category_code, product))
    if "date" in checks:
        attempt("rule_set", lambda: check_rule_set(rule_set, checks["date"]))
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
                    errors["stars"] = ngettext(
                        "%(total)s điểm là %(n)s sao: sản phẩm dưới 3 sao chưa phải sản phẩm "
                        "OCOP nên không có giấy chứng nhận.",
                        "%(total)s điểm là %(n)s sao: sản phẩm dưới 3 sao chưa phải sản phẩm "
                        "OCOP nên không có giấy chứng nhận.",
                        scores.stars,
                        total=format_score(scores.total),
                        n=scores.stars,
                    )
                else:
                    attempt(
                        "level", lambda: check_level(rating_level, scores.stars, checks["date"])
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


def certificate_details(certificate: OcopCertificate) -> dict[str, Any]:
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
    product = product_of(acting.producer.id, product_id)
    certificate = issue_certificate(
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
        details=certificate_details(certificate),
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
    for certificate in lapsed:
        signals.certificate_lapsed.send(
            signals.SENDER,
            certificate_id=certificate.id,
            product_id=certificate.product_id,
            producer_id=certificate.producer_id,
            valid_until=certificate.valid_until,
        )
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
