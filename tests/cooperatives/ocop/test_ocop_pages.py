"""OCOP pages: the producer's certificates and evaluations, the council desk, the CLI."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import AuditEntry
from cooperatives import ocop
from cooperatives.access import require_member
from cooperatives.models import OcopCertificate, OcopEvaluation, Producer, Product
from core.db import db
from core.i18n import local_today
from tests.conftest import login
from tests.factories import (
    add_member,
    make_certificate,
    make_council_member,
    make_producer,
    make_product,
    make_user,
)

PHU_THO, THANH_HOA = 25, 38
HOANG_HOA = 15865  # Xã Hoằng Hóa, Thanh Hóa


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def lan(app):
    """Bà Lan, manager of a citrus cooperative in Cao Phong, with one product."""
    with app.app_context():
        manager = make_user(name="Bà Lan")
        producer = make_producer(name="HTX Cam Cao Phong", manager=manager)
        product = make_product(producer, name="Cam Cao Phong loại 1")
        db.session.commit()
        return {"user": manager.id, "producer": producer.id, "product": product.id}


def _certificate_form(product: int, **overrides) -> dict[str, str]:
    data = {
        "product_id": str(product),
        "decision_number": "1234/QĐ-UBND",
        "decision_date": "15/03/2024",
        "issuing_authority": "UBND tỉnh Hòa Bình",
        "rating_level": "province",
        "stars": "4",
        "total_score": "80",
        "score_a": "32",
        "score_b": "20",
        "score_c": "28",
        "rule_set": "",
        "category_code": "",
    }
    data.update(overrides)
    return data


# --------------------------------------------------------------------------- producer side


def test_ba_lan_records_her_certificate_and_sees_it_valid_with_stars(client, app, lan):
    login(client, lan["user"])
    form_page = client.get(f"/manage/{lan['producer']}/ocop/certificates/new")
    assert form_page.status_code == 200
    response = client.post(
        f"/manage/{lan['producer']}/ocop/certificates/new", data=_certificate_form(lan["product"])
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/manage/{lan['producer']}/ocop")
    with app.app_context():
        certificate = db.session.scalar(select(OcopCertificate))
        assert certificate.issuing_authority == "UBND tỉnh Hòa Bình"
        assert certificate.decision_date == date(2024, 3, 15)
        assert certificate.valid_until == date(2027, 3, 15)
        assert certificate.stars == 4
    page = client.get(f"/manage/{lan['producer']}/ocop").get_data(as_text=True)
    assert "1234/QĐ-UBND" in page and "UBND tỉnh Hòa Bình" in page
    assert 'aria-label="OCOP 4 sao"' in page
    assert "15/03/2027" in page


def test_the_date_picker_format_is_accepted_too(client, app, lan):
    login(client, lan["user"])
    response = client.post(
        f"/manage/{lan['producer']}/ocop/certificates/new",
        data=_certificate_form(lan["product"], decision_date="2024-03-15"),
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(OcopCertificate.decision_date)) == date(2024, 3, 15)


def test_mismatched_stars_keep_typed_values_explain_and_save_nothing(client, app, lan):
    login(client, lan["user"])
    response = client.post(
        f"/manage/{lan['producer']}/ocop/certificates/new",
        data=_certificate_form(lan["product"], stars="5", decision_number="77/QĐ-UBND"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "80 điểm là 4 sao, không phải 5 sao." in page
    assert 'value="77/QĐ-UBND"' in page
    assert 'value="UBND tỉnh Hòa Bình"' in page
    assert 'value="2024-03-15"' in page  # the date stays filled in
    assert re.search(r'<option selected value="5">|<option value="5" selected>', page)
    with app.app_context():
        assert _count(OcopCertificate) == 0
        assert _count(AuditEntry) == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"decision_date": "31/02/2024"}, "ngày/tháng/năm"),
        ({"decision_date": "", "decision_number": ""}, "Vui lòng nhập số quyết định"),
        ({"total_score": "abc"}, "Tổng điểm phải là một số"),
        ({"total_score": "101", "score_a": "", "score_b": "", "score_c": ""}, "từ 0 đến 100"),
        ({"score_c": "38", "score_a": "30", "total_score": "88"}, "tối đa 35"),
        ({"product_id": "999999"}, "Vui lòng chọn"),
        ({"product_id": "abc"}, "Vui lòng chọn"),
        ({"rating_level": "commune"}, "Vui lòng chọn"),
        ({"category_code": "9.9"}, "Vui lòng chọn"),
        ({"decision_number": "x" * 65}, "Tối đa 64 ký tự"),
        ({"decision_date": "01/01/2099"}, "tương lai"),
        ({"rating_level": "district", "decision_date": "01/08/2025"}, "01/07/2025"),
    ],
)
def test_bad_certificate_input_is_explained_and_nothing_is_saved(
    client, app, lan, overrides, message
):
    login(client, lan["user"])
    data = _certificate_form(lan["product"], **overrides)
    response = client.post(f"/manage/{lan['producer']}/ocop/certificates/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert 'class="error"' in page
    if overrides.get("decision_date") == "31/02/2024":
        assert 'value="31/02/2024"' in page and 'type="text"' in page
    with app.app_context():
        assert _count(OcopCertificate) == 0


def test_a_member_sees_certificates_but_cannot_record_one(client, app, lan):
    with app.app_context():
        member = make_user()
        add_member(member, db.session.get(Producer, lan["producer"]), "member")
        db.session.commit()
        member_id = member.id
    login(client, member_id)
    assert client.get(f"/manage/{lan['producer']}/ocop").status_code == 200
    url = f"/manage/{lan['producer']}/ocop/certificates/new"
    assert client.get(url).status_code == 403
    assert client.post(url, data=_certificate_form(lan["product"])).status_code == 403
    assert client.get(f"/manage/{lan['producer']}/ocop/evaluations/new").status_code == 403
    with app.app_context():
        assert _count(OcopCertificate) == 0


def test_expired_and_revoked_certificates_show_no_stars_and_expiring_is_highlighted(
    client, app, lan
):
    with app.app_context():
        product = db.session.get(Product, lan["product"])
        expired = make_certificate(product, total="80")
        expired.valid_until = local_today() - timedelta(days=1)
        make_certificate(product, total="60", parts=None, status="revoked")
        db.session.commit()
    login(client, lan["user"])
    page = client.get(f"/manage/{lan['producer']}/ocop").get_data(as_text=True)
    assert "Hết hạn" in page and "Chứng nhận đã thu hồi" in page
    assert 'class="stars"' not in page
    with app.app_context():
        product = db.session.get(Product, lan["product"])
        soon = make_certificate(product, total="92", parts=None)
        soon.valid_until = local_today() + timedelta(days=30)
        db.session.commit()
    page = client.get(f"/manage/{lan['producer']}/ocop").get_data(as_text=True)
    assert "ocop-expiring" in page and "Sắp hết hạn" in page
    assert "hết hạn trong 90 ngày tới" in page
    assert page.count('class="stars"') == 1


def test_expire_command_marks_a_certificate_that_ended_yesterday(runner, app, lan, client):
    with app.app_context():
        product = db.session.get(Product, lan["product"])
        certificate = make_certificate(product)
        certificate.valid_until = local_today() - timedelta(days=1)
        still_valid = make_certificate(product)
        db.session.commit()
        lapsed_id, valid_id = certificate.id, still_valid.id
        assert ocop.valid_certificate(lan["product"]).id == valid_id
    result = runner.invoke(args=["ocop", "expire"])
    assert result.exit_code == 0, result.output
    assert "1 giấy chứng nhận" in result.output
    with app.app_context():
        assert db.session.get(OcopCertificate, lapsed_id).status == "expired"
        assert db.session.get(OcopCertificate, valid_id).status == "valid"
    again = runner.invoke(args=["ocop", "expire"])
    assert "0 giấy chứng nhận" in again.output
    bad = runner.invoke(args=["ocop", "expire", "--today", "not-a-date"])
    assert bad.exit_code != 0


def test_submitting_for_evaluation_twice_is_refused_on_the_page(client, app, lan):
    login(client, lan["user"])
    url = f"/manage/{lan['producer']}/ocop/evaluations/new"
    assert client.get(url).status_code == 200
    first = client.post(url, data={"product_id": str(lan["product"]), "note": "Lần đầu"})
    assert first.status_code == 303
    second = client.post(url, data={"product_id": str(lan["product"]), "note": "Lần hai"})
    assert second.status_code == 409
    assert "đang chờ hội đồng" in second.get_data(as_text=True)
    assert "Lần hai" in second.get_data(as_text=True)
    with app.app_context():
        assert _count(OcopEvaluation) == 1
        evaluation_id = db.session.scalar(select(OcopEvaluation.id))
    page = client.get(f"/manage/{lan['producer']}/ocop").get_data(as_text=True)
    assert "Đã gửi, chờ chấm điểm" in page
    withdraw = client.post(f"/manage/{lan['producer']}/ocop/evaluations/{evaluation_id}/withdraw")
    assert withdraw.status_code == 303
    with app.app_context():
        assert db.session.get(OcopEvaluation, evaluation_id).status == "withdrawn"


def test_anonymous_visitors_are_sent_to_sign_in(client, lan):
    for url in (f"/manage/{lan['producer']}/ocop", "/council"):
        response = client.get(url)
        assert response.status_code in (302, 401)


# --------------------------------------------------------------------------- council side


def _evaluation_in(app, province_code: int, ward_code: int) -> int:
    with app.app_context():
        manager = make_user()
        producer = make_producer(province_code=province_code, ward_code=ward_code, manager=manager)
        product = make_product(producer, name="Rau cải Hoằng Hóa")
        evaluation = ocop.submit_for_evaluation(require_member(manager, producer.id), product.id)
        db.session.commit()
        return evaluation.id


def _council_member(app, level="province", province_code=PHU_THO) -> int:
    with app.app_context():
        user = make_council_member(level, province_code)
        db.session.commit()
        return user.id


def test_council_pages_are_404_without_a_seat(client, app, lan):
    evaluation_id = _evaluation_in(app, PHU_THO, 5089)
    login(client, lan["user"])
    for url in (
        "/council",
        "/council/expiring",
        "/council/revoked",
        "/council/certificates",
        "/council/stats",
        f"/council/evaluations/{evaluation_id}",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        f"/council/evaluations/{evaluation_id}/score",
        data={"score_a": "30", "score_b": "20", "score_c": "25"},
    )
    assert response.status_code == 404


def test_a_phu_tho_seat_cannot_see_or_score_a_thanh_hoa_evaluation(client, app):
    evaluation_id = _evaluation_in(app, THANH_HOA, HOANG_HOA)
    hung = _council_member(app, "province", PHU_THO)
    login(client, hung)
    assert client.get(f"/council/evaluations/{evaluation_id}").status_code == 404
    score = client.post(
        f"/council/evaluations/{evaluation_id}/score",
        data={"score_a": "30", "score_b": "20", "score_c": "25"},
    )
    assert score.status_code == 404
    decide = client.post(
        f"/council/evaluations/{evaluation_id}/decide",
        data={"decision_number": "1/QĐ", "decision_date": "01/01/2026", "issuing_authority": "X"},
    )
    assert decide.status_code == 404
    assert "Rau cải Hoằng Hóa" not in client.get("/council").get_data(as_text=True)
    assert client.get(f"/council?province={THANH_HOA}").status_code == 404
    assert client.get(f"/council/stats?province={THANH_HOA}").status_code == 404
    with app.app_context():
        assert db.session.get(OcopEvaluation, evaluation_id).status == "submitted"


def test_ong_hung_scores_decides_and_the_certificate_is_issued(client, app):
    evaluation_id = _evaluation_in(app, PHU_THO, 5089)
    hung = _council_member(app, "province", PHU_THO)
    login(client, hung)
    home = client.get("/council").get_data(as_text=True)
    assert "Rau cải Hoằng Hóa" in home
    page = client.get(f"/council/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "tối đa 40 điểm" in page and "tối đa 25 điểm" in page and "tối đa 35 điểm" in page

    bad = client.post(
        f"/council/evaluations/{evaluation_id}/score",
        data={"score_a": "41", "score_b": "20", "score_c": "25"},
    )
    assert bad.status_code == 422
    assert 'value="41"' in bad.get_data(as_text=True)

    scored = client.post(
        f"/council/evaluations/{evaluation_id}/score",
        data={"score_a": "32", "score_b": "20", "score_c": "28"},
    )
    assert scored.status_code == 303
    page = client.get(f"/council/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "<strong>80</strong>" in page and "4 sao" in page
    assert "UBND tỉnh Phú Thọ" in page  # the authority is suggested

    today = local_today()
    decided = client.post(
        f"/council/evaluations/{evaluation_id}/decide",
        data={
            "decision_number": "2345/QĐ-UBND",
            "decision_date": today.strftime("%d/%m/%Y"),
            "issuing_authority": "UBND tỉnh Phú Thọ",
        },
    )
    assert decided.status_code == 303
    with app.app_context():
        certificate = db.session.scalar(select(OcopCertificate))
        assert certificate.stars == 4 and certificate.evaluation_id == evaluation_id
        assert certificate.valid_until == ocop.valid_until_for(today)
    page = client.get(f"/council/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Đã cấp giấy chứng nhận OCOP 4 sao" in page


def test_a_province_seat_deciding_five_stars_is_told_it_goes_to_the_central_council(client, app):
    evaluation_id = _evaluation_in(app, PHU_THO, 5089)
    hung = _council_member(app, "province", PHU_THO)
    login(client, hung)
    client.post(
        f"/council/evaluations/{evaluation_id}/score",
        data={"score_a": "38", "score_b": "23", "score_c": "31"},
    )
    page = client.get(f"/council/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "Hội đồng OCOP Trung ương" in page
    response = client.post(
        f"/council/evaluations/{evaluation_id}/decide",
        data={
            "decision_number": "9/QĐ-UBND",
            "decision_date": local_today().strftime("%d/%m/%Y"),
            "issuing_authority": "UBND tỉnh Phú Thọ",
        },
    )
    assert response.status_code == 403
    assert "chuyển lên Hội đồng Trung ương" in response.get_data(as_text=True)
    with app.app_context():
        assert _count(OcopCertificate) == 0

    central = _council_member(app, "central")
    login(client, central)
    assert "Rau cải Hoằng Hóa" in client.get("/council").get_data(as_text=True)
    response = client.post(
        f"/council/evaluations/{evaluation_id}/decide",
        data={
            "decision_number": "10/QĐ-BNNMT",
            "decision_date": local_today().strftime("%d/%m/%Y"),
            "issuing_authority": "Bộ Nông nghiệp và Môi trường",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        certificate = db.session.scalar(select(OcopCertificate))
        assert (certificate.stars, certificate.rating_level) == (5, "central")


def test_a_two_star_result_is_decided_without_a_certificate(client, app):
    evaluation_id = _evaluation_in(app, PHU_THO, 5089)
    login(client, _council_member(app))
    client.post(
        f"/council/evaluations/{evaluation_id}/score",
        data={"score_a": "20", "score_b": "10", "score_c": "15"},
    )
    response = client.post(
        f"/council/evaluations/{evaluation_id}/decide",
        data={
            "decision_number": "11/QĐ-UBND",
            "decision_date": local_today().strftime("%d/%m/%Y"),
            "issuing_authority": "UBND tỉnh Phú Thọ",
        },
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(OcopEvaluation, evaluation_id).status == "decided"
        assert _count(OcopCertificate) == 0
    page = client.get(f"/council/evaluations/{evaluation_id}").get_data(as_text=True)
    assert "chưa đạt OCOP" in page


def test_council_lists_expiring_revoked_and_statistics_for_its_province(client, app):
    with app.app_context():
        cao_phong = make_producer(name="HTX Cam Cao Phong", province_code=PHU_THO, ward_code=5089)
        hoang_hoa = make_producer(
            name="HTX Rau Hoằng Hóa", province_code=THANH_HOA, ward_code=HOANG_HOA
        )
        soon = make_certificate(make_product(cao_phong, name="Cam Cao Phong"), total="80")
        soon.valid_until = local_today() + timedelta(days=20)
        make_certificate(make_product(cao_phong, name="Bưởi Cao Phong"), total="92", parts=None)
        make_certificate(
            make_product(cao_phong, name="Mật ong Cao Phong"),
            total="60",
            parts=None,
            status="revoked",
        ).revoked_reason = "Không đánh giá lại"
        far = make_certificate(
            make_product(hoang_hoa, name="Dưa lê Hoằng Hóa"), total="75", parts=None
        )
        far.valid_until = local_today() + timedelta(days=10)
        db.session.commit()
    login(client, _council_member(app, "province", PHU_THO))
    expiring = client.get("/council/expiring").get_data(as_text=True)
    assert "Cam Cao Phong" in expiring and "Dưa lê Hoằng Hóa" not in expiring
    revoked = client.get("/council/revoked").get_data(as_text=True)
    assert "Mật ong Cao Phong" in revoked and "Không đánh giá lại" in revoked
    assert 'class="stars"' not in revoked
    stats = client.get("/council/stats").get_data(as_text=True)
    assert re.search(r'id="count-total">2<', stats)
    assert re.search(r'id="count-5">1<', stats) and re.search(r'id="count-4">1<', stats)
    assert "Xã Cao Phong" in stats


def test_council_revokes_a_certificate_with_a_reason(client, app):
    with app.app_context():
        producer = make_producer(province_code=PHU_THO, ward_code=5089)
        product = make_product(producer, name="Cam Cao Phong")
        certificate = make_certificate(product, total="80")
        db.session.commit()
        certificate_id, product_id = certificate.id, product.id
    login(client, _council_member(app, "province", THANH_HOA))
    assert client.get(f"/council/certificates/{certificate_id}/revoke").status_code == 404
    login(client, _council_member(app, "province", PHU_THO))
    url = f"/council/certificates/{certificate_id}/revoke"
    assert client.get(url).status_code == 200
    empty = client.post(url, data={"reason": ""})
    assert empty.status_code == 422
    with app.app_context():
        assert db.session.get(OcopCertificate, certificate_id).status == "valid"
    done = client.post(url, data={"reason": "Không đánh giá lại sau 36 tháng"})
    assert done.status_code == 303
    with app.app_context():
        assert db.session.get(OcopCertificate, certificate_id).status == "revoked"
        assert ocop.valid_certificate(product_id) is None
        assert (
            db.session.scalar(
                select(AuditEntry.actor_role).where(AuditEntry.action == "ocop.certificate.revoked")
            )
            == "council_province"
        )


def test_central_and_admin_may_pick_any_province_but_not_an_unknown_one(client, app):
    _evaluation_in(app, THANH_HOA, HOANG_HOA)
    with app.app_context():
        admin = make_user(admin=True)
        db.session.commit()
        admin_id = admin.id
    for user_id in (_council_member(app, "central"), admin_id):
        login(client, user_id)
        assert "Rau cải Hoằng Hóa" in client.get("/council").get_data(as_text=True)
        assert client.get(f"/council/stats?province={THANH_HOA}").status_code == 200
        assert client.get("/council/stats?province=9999").status_code == 404
        assert client.get("/council/stats?province=abc").status_code == 404


# --------------------------------------------------------------------------- security


def test_post_without_csrf_token_is_refused_and_saves_nothing(client, app, lan):
    with app.app_context():
        product = db.session.get(Product, lan["product"])
        certificate_id = make_certificate(product).id
        db.session.commit()
    council = _council_member(app, "province", PHU_THO)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        login(client, council)
        revoke = client.post(
            f"/council/certificates/{certificate_id}/revoke", data={"reason": "Giả mạo yêu cầu"}
        )
        assert revoke.status_code == 400
        login(client, lan["user"])
        response = client.post(
            f"/manage/{lan['producer']}/ocop/certificates/new",
            data=_certificate_form(lan["product"]),
        )
        assert response.status_code == 400
        evaluation = client.post(
            f"/manage/{lan['producer']}/ocop/evaluations/new",
            data={"product_id": str(lan["product"])},
        )
        assert evaluation.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        assert _count(OcopCertificate) == 1
        assert db.session.get(OcopCertificate, certificate_id).status == "valid"
        assert _count(OcopEvaluation) == 0


def test_a_member_of_producer_a_gets_404_on_every_ocop_route_of_producer_b(client, app):
    with app.app_context():
        a_manager = make_user()
        make_producer(manager=a_manager)
        b_manager = make_user()
        producer_b = make_producer(manager=b_manager)
        product_b = make_product(producer_b)
        evaluation_b = ocop.submit_for_evaluation(
            require_member(b_manager, producer_b.id), product_b.id
        )
        make_certificate(product_b)
        db.session.commit()
        ids = {"producer_id": producer_b.id, "evaluation_id": evaluation_b.id}
        product_b_id = product_b.id
        a_id = a_manager.id
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("ocop.") and rule.rule.startswith("/manage/")
    ]
    assert len(rules) >= 4
    login(client, a_id)
    for rule in rules:
        url = rule.build({name: ids[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            data = {"product_id": str(product_b_id), "note": "x", "reason": "x"}
            response = client.open(url, method=method, data=data)
            assert response.status_code == 404, (method, url, response.status_code)
    with app.app_context():
        assert db.session.get(OcopEvaluation, ids["evaluation_id"]).status == "submitted"
        assert _count(OcopCertificate) == 1


def test_platform_admin_sees_an_evaluation_but_cannot_score_it(client, app):
    evaluation_id = _evaluation_in(app, THANH_HOA, HOANG_HOA)
    with app.app_context():
        admin = make_user(admin=True)
        db.session.commit()
        admin_id = admin.id
    login(client, admin_id)
    page = client.get(f"/council/evaluations/{evaluation_id}")
    assert page.status_code == 200
    assert "council_score" not in page.get_data(as_text=True)
    assert f"/council/evaluations/{evaluation_id}/score" not in page.get_data(as_text=True)
    response = client.post(
        f"/council/evaluations/{evaluation_id}/score",
        data={"score_a": "30", "score_b": "20", "score_c": "25"},
    )
    assert response.status_code == 403
    assert "Chỉ thành viên hội đồng" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(OcopEvaluation, evaluation_id).status == "submitted"


def test_only_council_members_get_the_council_link(client, app, lan):
    hung = _council_member(app, "province", PHU_THO)
    login(client, hung)
    assert 'href="/council"' in client.get("/council").get_data(as_text=True)
    login(client, lan["user"])
    page = client.get(f"/manage/{lan['producer']}/ocop").get_data(as_text=True)
    assert 'href="/council"' not in page
