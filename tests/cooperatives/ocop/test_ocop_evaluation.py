"""OCOP evaluation: a producer submits, a council of the right level scores and decides."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from accounts.models import AuditEntry, User
from cooperatives import ocop
from cooperatives.access import require_member
from cooperatives.models import OcopCertificate
from core.db import db
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.i18n import local_today
from tests.factories import (
    add_member,
    make_council_member,
    make_producer,
    make_product,
    make_user,
)

PHU_THO, THANH_HOA = 25, 38


def _submitted(province_code=PHU_THO, ward_code=5089, role="manager"):
    user = make_user()
    producer = make_producer(province_code=province_code, ward_code=ward_code)
    add_member(user, producer, role)
    product = make_product(producer, name="Cam Cao Phong loại 1")
    evaluation = ocop.submit_for_evaluation(
        require_member(user, producer.id), product.id, "Hồ sơ đầy đủ."
    )
    evaluation.acting_user_id = user.id  # for tests that act again as the submitter
    return evaluation, product


def _decide(user, evaluation, number="2345/QĐ-UBND", authority="UBND tỉnh Phú Thọ"):
    return ocop.decide_evaluation(user, evaluation.id, number, local_today(), authority)


def _certificate_count() -> int:
    return db.session.scalar(select(func.count()).select_from(OcopCertificate))


def test_submission_goes_to_the_producers_province_and_is_audited(ctx):
    evaluation, product = _submitted(province_code=THANH_HOA, ward_code=15865, role="helper")
    assert evaluation.province_code == THANH_HOA
    assert evaluation.status == "submitted" and evaluation.rule_set == "148/2023"
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "ocop.evaluation.submitted")
    )
    assert entry.actor_role == "helper" and entry.producer_id == product.producer_id


def test_a_second_submission_while_one_is_open_is_refused(ctx):
    evaluation, product = _submitted()
    acting = require_member(db.session.get(User, evaluation.acting_user_id), product.producer_id)
    with pytest.raises(Conflict):
        ocop.submit_for_evaluation(acting, product.id, "")
    ocop.withdraw_evaluation(acting, evaluation.id)
    again = ocop.submit_for_evaluation(acting, product.id, "")
    assert again.id != evaluation.id


def test_ong_hung_scores_and_decides_four_stars_which_issues_the_certificate(ctx):
    evaluation, product = _submitted()
    hung = make_council_member("province", PHU_THO)
    ocop.score_evaluation(hung, evaluation.id, "32", "20,5", "28")
    assert evaluation.status == "scored"
    assert evaluation.total_score == Decimal("80.50") and evaluation.proposed_stars == 4
    certificate = _decide(hung, evaluation)
    assert evaluation.status == "decided"
    assert certificate.stars == 4 and certificate.rating_level == "province"
    assert certificate.evaluation_id == evaluation.id
    assert certificate.valid_until == ocop.valid_until_for(local_today())
    assert (certificate.score_a, certificate.score_b, certificate.score_c) == (
        Decimal("32"),
        Decimal("20.5"),
        Decimal("28"),
    )
    assert ocop.valid_certificate(product.id).id == certificate.id
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {
        "ocop.evaluation.scored",
        "ocop.evaluation.decided",
        "ocop.certificate.issued",
    } <= actions


def test_parts_over_the_148_maxima_are_refused_when_scoring(ctx):
    evaluation, _product = _submitted()
    hung = make_council_member("province", PHU_THO)
    with pytest.raises(Invalid) as caught:
        ocop.score_evaluation(hung, evaluation.id, "41", "20", "38")
    assert {"score_a", "score_c"} <= set(caught.value.fields)
    with pytest.raises(Invalid):
        ocop.score_evaluation(hung, evaluation.id, "30", "", "20")
    assert evaluation.status == "submitted"


def test_a_phu_tho_seat_cannot_see_or_score_a_thanh_hoa_evaluation(ctx):
    evaluation, _product = _submitted(province_code=THANH_HOA, ward_code=15865)
    phu_tho = make_council_member("province", PHU_THO)
    with pytest.raises(NotFound):
        ocop.evaluation_for_council(phu_tho, evaluation.id)
    with pytest.raises(NotFound):
        ocop.score_evaluation(phu_tho, evaluation.id, "30", "20", "25")
    assert ocop.pending_evaluations(ocop.council_scope(phu_tho)) == []


def test_a_user_without_a_seat_is_not_a_council_member(ctx):
    evaluation, _product = _submitted()
    stranger = make_user()
    assert ocop.council_scope(stranger) is None
    with pytest.raises(NotFound):
        ocop.score_evaluation(stranger, evaluation.id, "30", "20", "25")


def test_five_stars_need_the_central_council(ctx):
    evaluation, product = _submitted()
    province = make_council_member("province", PHU_THO)
    ocop.score_evaluation(province, evaluation.id, "38", "23", "31")
    assert evaluation.proposed_stars == 5
    with pytest.raises(Forbidden) as caught:
        _decide(province, evaluation)
    assert "Trung ương" in str(caught.value.message)
    assert evaluation.status == "scored" and _certificate_count() == 0

    central = make_council_member("central")
    assert evaluation in ocop.pending_evaluations(ocop.council_scope(central))
    certificate = _decide(central, evaluation, authority="Bộ Nông nghiệp và Môi trường")
    assert certificate.stars == 5 and certificate.rating_level == "central"
    assert ocop.valid_certificate(product.id).stars == 5


def test_three_or_four_stars_are_decided_by_the_province_not_the_central_council(ctx):
    evaluation, _product = _submitted()
    central = make_council_member("central")
    ocop.score_evaluation(central, evaluation.id, "30", "20", "25")
    with pytest.raises(Forbidden):
        _decide(central, evaluation)
    province = make_council_member("province", PHU_THO)
    assert _decide(province, evaluation).stars == 4


def test_one_or_two_stars_are_decided_but_issue_no_certificate(ctx):
    evaluation, product = _submitted()
    hung = make_council_member("province", PHU_THO)
    ocop.score_evaluation(hung, evaluation.id, "20", "10", "15")
    assert evaluation.proposed_stars == 2
    assert _decide(hung, evaluation) is None
    assert evaluation.status == "decided" and evaluation.decision_number == "2345/QĐ-UBND"
    assert _certificate_count() == 0
    assert ocop.valid_certificate(product.id) is None


def test_deciding_needs_a_score_first_and_happens_once(ctx):
    evaluation, _product = _submitted()
    hung = make_council_member("province", PHU_THO)
    with pytest.raises(Conflict):
        _decide(hung, evaluation)
    ocop.score_evaluation(hung, evaluation.id, "30", "20", "25")
    _decide(hung, evaluation)
    with pytest.raises(Conflict):
        _decide(hung, evaluation, number="2346/QĐ-UBND")
    with pytest.raises(Conflict):
        ocop.score_evaluation(hung, evaluation.id, "35", "20", "25")
    assert _certificate_count() == 1


def test_decision_fields_are_checked_and_nothing_is_issued_on_error(ctx):
    evaluation, _product = _submitted()
    hung = make_council_member("province", PHU_THO)
    ocop.score_evaluation(hung, evaluation.id, "30", "20", "25")
    with pytest.raises(Invalid) as caught:
        ocop.decide_evaluation(hung, evaluation.id, "", local_today() + timedelta(days=1), "  ")
    assert set(caught.value.fields) == {"decision_number", "decision_date", "issuing_authority"}
    with pytest.raises(Invalid) as caught:
        ocop.decide_evaluation(
            hung, evaluation.id, "1/QĐ", local_today() - timedelta(days=3), "UBND tỉnh Phú Thọ"
        )
    assert "decision_date" in caught.value.fields  # before the dossier was sent
    assert evaluation.status == "scored" and _certificate_count() == 0


def test_platform_admin_sees_every_evaluation_but_scores_nothing(ctx):
    evaluation, _product = _submitted(province_code=THANH_HOA, ward_code=15865)
    admin = make_user(admin=True)
    assert ocop.evaluation_for_council(admin, evaluation.id).id == evaluation.id
    with pytest.raises(Forbidden):
        ocop.score_evaluation(admin, evaluation.id, "30", "20", "25")


def test_revocation_needs_a_reason_and_scope(ctx):
    evaluation, product = _submitted()
    hung = make_council_member("province", PHU_THO)
    ocop.score_evaluation(hung, evaluation.id, "30", "20", "25")
    certificate = _decide(hung, evaluation)
    thanh_hoa = make_council_member("province", THANH_HOA)
    with pytest.raises(NotFound):
        ocop.revoke_certificate(thanh_hoa, certificate.id, "Không đánh giá lại.")
    with pytest.raises(Invalid):
        ocop.revoke_certificate(hung, certificate.id, "   ")
    ocop.revoke_certificate(hung, certificate.id, "Không đánh giá lại sau 36 tháng.")
    assert certificate.status == "revoked" and certificate.revoked_at is not None
    assert ocop.valid_certificate(product.id) is None
    with pytest.raises(Conflict):
        ocop.revoke_certificate(hung, certificate.id, "Lần nữa cho chắc.")
    assert ocop.revoked(province_code=PHU_THO) == [certificate]
    assert ocop.revoked(province_code=THANH_HOA) == []


def test_statistics_count_products_by_best_stars_and_commune(ctx):
    from tests.factories import make_certificate

    cao_phong = make_producer(province_code=PHU_THO, ward_code=5089)
    other_commune = make_producer(province_code=PHU_THO, ward_code=4795)
    elsewhere = make_producer(province_code=THANH_HOA, ward_code=15865)
    orange = make_product(cao_phong)
    make_certificate(orange, total="60", parts=None)
    make_certificate(orange, total="80")  # the same product counts once, at its best
    make_certificate(make_product(cao_phong), total="75", parts=None)
    make_certificate(make_product(other_commune), total="92", parts=None)
    make_certificate(make_product(other_commune), total="60", parts=None, status="revoked")
    make_certificate(make_product(elsewhere), total="80")
    stats = ocop.province_statistics(PHU_THO)
    assert stats.total == 3
    assert stats.by_stars == {5: 1, 4: 2, 3: 0}
    assert stats.by_ward == [(5089, {5: 0, 4: 2, 3: 0}, 2), (4795, {5: 1, 4: 0, 3: 0}, 1)]
