"""OCOP rules (Decision 148/QĐ-TTg 2023; 1048/QĐ-TTg 2019 for older certificates): part maxima,
stars from scores, validity dates, and the checks every recorded score passes."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _

from cooperatives.models import (
    CertificateStatus,
    EvaluationStatus,
    OcopCategory,
    OcopCertificate,
    Product,
    RuleSet,
)
from core.db import db
from core.errors import Invalid
from core.i18n import local_today

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


def check_text(value: Any, field: str, label: str, max_length: int, required: bool = True) -> str:
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


def check_decision_date(value: Any, today: date, field: str = "decision_date") -> date:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise Invalid(fields={field: _("Vui lòng nhập ngày quyết định (ngày/tháng/năm).")})
    if value > today:
        raise Invalid(fields={field: _("Ngày quyết định không thể ở tương lai.")})
    if value < OCOP_START:
        raise Invalid(
            fields={field: _("Chương trình OCOP bắt đầu từ ngày 07/05/2018; ngày này quá sớm.")}
        )
    return value


def format_score(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


def _stars_message(total: Decimal, stars: int) -> str:
    return _(
        "%(total)s điểm là %(right)s sao, không phải %(wrong)s sao.",
        total=format_score(total),
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


def check_scores(  # noqa: C901 - one check per scoring rule of the decision, in its order
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
                        total=format_score(total_value),
                        sum=format_score(parts_sum),
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


def check_category(code: Any, product: Product) -> str | None:
    if code is None or code == "":
        return product.category_code
    if not isinstance(code, str) or db.session.get(OcopCategory, code) is None:
        raise Invalid(fields={"category_code": _("Nhóm sản phẩm không hợp lệ.")})
    return code


def check_level(level: Any, stars: int, decision_date: date) -> str:
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


def check_rule_set(rule_set: Any, decision_date: date) -> str:
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
