"""OCOP rules (Decision 148/QĐ-TTg 2023, and 1048/QĐ-TTg 2019 for older certificates).

Truth on every page: a product shows stars only while a certificate is valid today.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from cooperatives.models import CertificateStatus, OcopCertificate, RuleSet
from core.db import db
from core.i18n import local_today

# Maximum points of parts A, B, C under each rule set.
PART_MAXIMA: dict[str, tuple[int, int, int]] = {
    RuleSet.QD_1048_2019: (35, 25, 40),
    RuleSet.QD_148_2023: (40, 25, 35),
}
VALIDITY_MONTHS = 36


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


def is_valid_on(certificate: OcopCertificate, day: date) -> bool:
    return certificate.status == CertificateStatus.VALID and certificate.valid_until >= day


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
        )
        .order_by(OcopCertificate.stars.desc(), OcopCertificate.decision_date.desc())
    )
    best: dict[int, OcopCertificate] = {}
    for certificate in rows:
        best.setdefault(certificate.product_id, certificate)
    return best


def valid_certificate(product_id: int, today: date | None = None) -> OcopCertificate | None:
    return valid_certificates([product_id], today).get(product_id)
