"""OCOP certificate rules: stars from the score, part maxima per rule set, validity, truth."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from accounts.models import AuditEntry
from cooperatives import ocop
from cooperatives.access import require_member
from cooperatives.models import OcopCertificate
from core.db import db
from core.errors import Forbidden, Invalid
from core.i18n import local_today
from tests.factories import add_member, make_certificate, make_producer, make_product, make_user

TODAY = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("total", "stars"),
    [
        ("100", 5),
        ("90", 5),
        ("89.99", 4),
        ("70", 4),
        ("69.99", 3),
        ("69.5", 3),
        ("50", 3),
        ("49.9", 2),
        ("30", 2),
        ("29.99", 1),
        ("0", 1),
    ],
)
def test_stars_follow_the_score_boundaries(total, stars):
    assert ocop.stars_for_score(Decimal(total)) == stars


@pytest.mark.parametrize(
    ("signed", "until"),
    [
        (date(2024, 3, 15), date(2027, 3, 15)),  # Bà Lan's certificate
        (date(2024, 2, 29), date(2027, 2, 28)),  # leap day: no 29 Feb in 2027
        (date(2025, 2, 28), date(2028, 2, 28)),
        (date(2024, 1, 31), date(2027, 1, 31)),
        (date(2023, 8, 31), date(2026, 8, 31)),
        (date(2022, 12, 31), date(2025, 12, 31)),
    ],
)
def test_certificate_is_valid_for_36_months_from_the_decision(signed, until):
    assert ocop.valid_until_for(signed) == until


def test_add_months_keeps_the_last_day_of_shorter_months():
    assert ocop.add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert ocop.add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert ocop.add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


def test_check_scores_refuses_stars_that_do_not_match_the_total():
    with pytest.raises(Invalid) as caught:
        ocop.check_scores("148/2023", total="80", stars=5)
    assert caught.value.fields["stars"] == "80 điểm là 4 sao, không phải 5 sao."


def test_part_c_of_38_is_fine_under_1048_but_refused_under_148():
    old = ocop.check_scores("1048/2019", None, "30", "20", "38")
    assert old.total == Decimal("88.00") and old.stars == 4
    with pytest.raises(Invalid) as caught:
        ocop.check_scores("148/2023", None, "30", "20", "38")
    assert "35" in caught.value.fields["score_c"]


@pytest.mark.parametrize(
    ("rule_set", "parts", "bad"),
    [
        ("148/2023", ("40.5", "20", "30"), "score_a"),
        ("1048/2019", ("36", "20", "30"), "score_a"),
        ("148/2023", ("30", "25.01", "30"), "score_b"),
        ("1048/2019", ("30", "20", "40.5"), "score_c"),
    ],
)
def test_each_part_stays_within_its_maximum(rule_set, parts, bad):
    with pytest.raises(Invalid) as caught:
        ocop.check_scores(rule_set, None, *parts)
    assert bad in caught.value.fields


def test_parts_must_add_up_to_the_total():
    with pytest.raises(Invalid) as caught:
        ocop.check_scores("148/2023", "81", "32", "20", "28")
    assert "80" in caught.value.fields["total_score"]
    assert ocop.check_scores("148/2023", "80", "32", "20", "28").stars == 4


def test_an_old_paper_certificate_may_give_the_total_without_parts():
    scores = ocop.check_scores("1048/2019", "72,5", stars="4")
    assert scores.total == Decimal("72.50")
    assert scores.a is None and scores.b is None and scores.c is None


@pytest.mark.parametrize("total", ["101", "-1", "abc", "NaN", "Infinity", "80.123", "", "1e3"])
def test_a_total_outside_0_to_100_or_not_a_number_is_refused(total):
    with pytest.raises(Invalid) as caught:
        ocop.check_scores("148/2023", total)
    assert "total_score" in caught.value.fields


def test_some_parts_without_the_others_are_refused():
    with pytest.raises(Invalid) as caught:
        ocop.check_scores("148/2023", "80", "32", "", "")
    assert set(caught.value.fields) == {"score_b", "score_c"}


# --------------------------------------------------------------------------- record_certificate


def _manager_of_new_producer(**producer_fields):
    manager = make_user(name="Bà Lan")
    producer = make_producer(manager=manager, **producer_fields)
    product = make_product(producer, name="Cam Cao Phong loại 1", category_code="1.1")
    return require_member(manager, producer.id), product


def _record(acting, product, **overrides):
    fields = {
        "decision_number": "1234/QĐ-UBND",
        "decision_date": date(2024, 3, 15),
        "issuing_authority": "UBND tỉnh Hòa Bình",
        "rating_level": "province",
        "total_score": "80",
        "stars": 4,
        "score_a": "32",
        "score_b": "20",
        "score_c": "28",
        "today": TODAY,
    }
    fields.update(overrides)
    return ocop.record_certificate(acting, product.id, **fields)


def test_ba_lan_records_her_certificate_with_the_old_province_name(ctx):
    acting, product = _manager_of_new_producer()
    certificate = _record(acting, product)
    assert certificate.stars == 4
    assert certificate.issuing_authority == "UBND tỉnh Hòa Bình"
    assert certificate.rule_set == "148/2023"
    assert certificate.valid_until == date(2027, 3, 15)
    assert certificate.status == "valid"
    assert certificate.category_code == "1.1"
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "ocop.certificate.recorded")
    )
    assert entry.producer_id == product.producer_id and entry.subject_id == certificate.id
    assert entry.actor_role == "manager"


def test_mismatched_stars_are_refused_with_a_clear_message_and_nothing_saved(ctx):
    acting, product = _manager_of_new_producer()
    with pytest.raises(Invalid) as caught:
        _record(acting, product, stars=5)
    assert caught.value.fields["stars"] == "80 điểm là 4 sao, không phải 5 sao."
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(OcopCertificate)) == 0


def test_rule_set_defaults_by_decision_date(ctx):
    acting, product = _manager_of_new_producer()
    old = _record(
        acting,
        product,
        decision_number="55/QĐ-UBND",
        decision_date=date(2023, 2, 23),
        score_a="30",
        score_b="20",
        score_c="38",
        total_score="88",
        stars=4,
    )
    assert old.rule_set == "1048/2019"
    assert old.valid_until == date(2026, 2, 23)
    new = _record(acting, product, decision_number="56/QĐ-UBND", decision_date=date(2023, 2, 24))
    assert new.rule_set == "148/2023"


def test_c_38_under_148_2023_is_refused_when_recording(ctx):
    acting, product = _manager_of_new_producer()
    with pytest.raises(Invalid) as caught:
        _record(acting, product, score_a="30", score_b="20", score_c="38", total_score="88")
    assert "score_c" in caught.value.fields


def test_148_2023_cannot_apply_to_a_decision_before_it_existed(ctx):
    acting, product = _manager_of_new_producer()
    with pytest.raises(Invalid) as caught:
        _record(acting, product, decision_date=date(2022, 5, 1), rule_set="148/2023")
    assert "rule_set" in caught.value.fields


def test_decision_date_cannot_be_in_the_future(ctx):
    acting, product = _manager_of_new_producer()
    with pytest.raises(Invalid) as caught:
        _record(acting, product, decision_date=TODAY + timedelta(days=1))
    assert "decision_date" in caught.value.fields


def test_district_level_only_for_decisions_before_july_2025(ctx):
    acting, product = _manager_of_new_producer()
    three_stars = {
        "total_score": "60",
        "stars": 3,
        "score_a": "25",
        "score_b": "15",
        "score_c": "20",
    }
    before = _record(
        acting,
        product,
        rating_level="district",
        decision_date=date(2025, 6, 30),
        issuing_authority="UBND huyện Cao Phong",
        **three_stars,
    )
    assert before.rating_level == "district"
    with pytest.raises(Invalid) as caught:
        _record(
            acting,
            product,
            decision_number="9/QĐ-UBND",
            rating_level="district",
            decision_date=date(2025, 7, 1),
            **three_stars,
        )
    assert "rating_level" in caught.value.fields


def test_five_stars_must_be_rated_by_the_central_level(ctx):
    acting, product = _manager_of_new_producer()
    five = {"total_score": "92", "stars": 5, "score_a": "38", "score_b": "23", "score_c": "31"}
    with pytest.raises(Invalid) as caught:
        _record(acting, product, rating_level="province", **five)
    assert "rating_level" in caught.value.fields
    certificate = _record(
        acting,
        product,
        rating_level="central",
        issuing_authority="Bộ Nông nghiệp và Phát triển nông thôn",
        **five,
    )
    assert certificate.stars == 5 and certificate.rating_level == "central"


def test_one_or_two_stars_cannot_be_a_certificate(ctx):
    acting, product = _manager_of_new_producer()
    with pytest.raises(Invalid) as caught:
        _record(
            acting, product, total_score="45", stars=None, score_a=None, score_b=None, score_c=None
        )
    assert "OCOP" in caught.value.fields["stars"]


def test_required_texts_are_refused_when_blank(ctx):
    acting, product = _manager_of_new_producer()
    with pytest.raises(Invalid) as caught:
        _record(acting, product, decision_number="  ", issuing_authority="")
    assert {"decision_number", "issuing_authority"} <= set(caught.value.fields)


def test_a_product_of_another_producer_is_refused(ctx):
    acting, _product = _manager_of_new_producer()
    other = make_product(make_producer())
    with pytest.raises(Invalid) as caught:
        _record(acting, other)
    assert "product_id" in caught.value.fields


def test_unknown_product_group_is_refused(ctx):
    acting, product = _manager_of_new_producer()
    with pytest.raises(Invalid) as caught:
        _record(acting, product, category_code="9.9")
    assert "category_code" in caught.value.fields


def test_one_product_may_hold_several_certificates_over_time(ctx):
    acting, product = _manager_of_new_producer()
    _record(
        acting,
        product,
        decision_number="1/QĐ-UBND",
        decision_date=date(2021, 3, 1),
        total_score="60",
        stars=3,
        score_a=None,
        score_b=None,
        score_c=None,
    )
    _record(acting, product, decision_number="2/QĐ-UBND", decision_date=date(2024, 3, 1))
    assert len(ocop.certificates_of(product.producer_id)) == 2
    with pytest.raises(Invalid):  # the same decision twice is a typing slip
        _record(acting, product, decision_number="2/QĐ-UBND", decision_date=date(2024, 3, 1))


def test_a_lapsed_paper_certificate_is_recorded_as_expired(ctx):
    acting, product = _manager_of_new_producer()
    certificate = _record(
        acting,
        product,
        decision_date=date(2020, 1, 10),
        rule_set=None,
        score_a="30",
        score_b="20",
        score_c="30",
    )
    assert certificate.rule_set == "1048/2019"
    assert certificate.status == "expired"
    assert ocop.valid_certificate(product.id, TODAY) is None


def test_members_and_helpers_cannot_record_a_certificate(ctx):
    manager = make_user()
    producer = make_producer(manager=manager)
    product = make_product(producer)
    member = make_user()
    add_member(member, producer, "member")
    helper = make_user()
    add_member(helper, producer, "helper")
    for user in (member, helper):
        with pytest.raises(Forbidden):
            _record(require_member(user, producer.id), product)


# --------------------------------------------------------------------------- truth and expiry


def test_a_certificate_valid_until_yesterday_gives_no_stars(ctx):
    product = make_product(make_producer())
    certificate = make_certificate(product, decision_date=date(2023, 1, 1))
    certificate.valid_until = local_today() - timedelta(days=1)
    db.session.flush()
    assert ocop.valid_certificate(product.id) is None
    assert ocop.certificate_state(certificate) == "expired"
    certificate.valid_until = local_today()
    db.session.flush()
    assert ocop.valid_certificate(product.id).id == certificate.id


def test_a_revoked_certificate_gives_no_stars(ctx):
    product = make_product(make_producer())
    make_certificate(product, status="revoked")
    assert ocop.valid_certificate(product.id) is None


def test_the_best_valid_certificate_wins(ctx):
    product = make_product(make_producer())
    make_certificate(product, total="60", parts=None)
    best = make_certificate(product, total="80")
    make_certificate(product, total="95", parts=None, status="revoked")
    assert ocop.valid_certificate(product.id).id == best.id


def test_expire_lapsed_marks_only_lapsed_valid_certificates(ctx):
    product = make_product(make_producer())
    lapsed = make_certificate(product)
    lapsed.valid_until = TODAY - timedelta(days=1)
    last_day = make_certificate(product)
    last_day.valid_until = TODAY
    revoked = make_certificate(product, status="revoked")
    revoked.valid_until = TODAY - timedelta(days=10)
    db.session.flush()
    assert ocop.expire_lapsed(TODAY) == 1
    assert (lapsed.status, last_day.status, revoked.status) == ("expired", "valid", "revoked")
    assert ocop.expire_lapsed(TODAY) == 0
    assert (
        db.session.scalar(
            select(func.count()).where(AuditEntry.action == "ocop.certificate.expired")
        )
        == 1
    )


def test_expiring_lists_certificates_ending_within_the_window(ctx):
    phu_tho = make_producer(province_code=25)
    thanh_hoa = make_producer(province_code=38, ward_code=15865)
    soon = make_certificate(make_product(phu_tho))
    soon.valid_until = TODAY + timedelta(days=90)
    later = make_certificate(make_product(phu_tho))
    later.valid_until = TODAY + timedelta(days=91)
    gone = make_certificate(make_product(phu_tho))
    gone.valid_until = TODAY - timedelta(days=1)
    elsewhere = make_certificate(make_product(thanh_hoa))
    elsewhere.valid_until = TODAY + timedelta(days=5)
    db.session.flush()
    ids = [c.id for c in ocop.expiring(today=TODAY)]
    assert ids == [elsewhere.id, soon.id]
    assert [c.id for c in ocop.expiring(province_code=25, today=TODAY)] == [soon.id]
    assert [c.id for c in ocop.expiring(producer_id=thanh_hoa.id, today=TODAY)] == [elsewhere.id]
    assert ocop.expiring(producer_id=phu_tho.id, within_days=30, today=TODAY) == []
