"""The OCOP council's scope (province or central seat), what it sees, its statistics, and
revocation. Services flush; they never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from accounts import audit
from accounts.models import CouncilLevel, CouncilSeat, User
from cooperatives import signals
from cooperatives.models import (
    CertificateStatus,
    OcopCertificate,
    OcopEvaluation,
    Producer,
)
from cooperatives.ocop.certificates import valid_on
from cooperatives.ocop.rules import MAX_REASON, OPEN_EVALUATION, RatingLevel, check_text
from core.db import db, utcnow
from core.errors import Conflict, Invalid, NotFound
from core.i18n import local_today

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


def require_scope(user: User | None) -> CouncilScope:
    scope = council_scope(user)
    if scope is None:
        raise NotFound()
    return scope


def evaluation_in_scope(scope: CouncilScope, evaluation_id: Any) -> OcopEvaluation:
    evaluation = (
        db.session.get(OcopEvaluation, evaluation_id) if isinstance(evaluation_id, int) else None
    )
    if evaluation is None or not scope.covers(evaluation.province_code):
        raise NotFound()
    return evaluation


def evaluation_for_council(user: User | None, evaluation_id: int) -> OcopEvaluation:
    return evaluation_in_scope(require_scope(user), evaluation_id)


def certificate_for_council(user: User | None, certificate_id: int) -> OcopCertificate:
    scope = require_scope(user)
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
        .where(Producer.province_code == province_code, valid_on(today))
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
    scope = require_scope(user)
    certificate = certificate_for_council(user, certificate_id)
    text = check_text(reason, "reason", _("lý do thu hồi"), MAX_REASON)
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
    signals.certificate_revoked.send(
        signals.SENDER,
        certificate_id=certificate.id,
        product_id=certificate.product_id,
        producer_id=certificate.producer_id,
        reason=text,
        revoked_by_id=scope.user.id,
    )
    return certificate
