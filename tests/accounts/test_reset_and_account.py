"""Password reset and the account page: new passwords end every other session."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import AuditEntry, OneTimeCode
from core.db import db
from tests.accounts.helpers import latest_code, outbox_count, signed_in, user_state
from tests.conftest import login
from tests.factories import PASSWORD, make_council_member, make_user

PHONE = "+84912345678"
NEW_PASSWORD = "cam-cao-phong-2026"


@pytest.fixture
def lan(app):
    with app.app_context():
        user = make_user(name="Bà Lan", phone=PHONE)
        db.session.commit()
        return user.id


def test_reset_sets_a_new_password_and_signs_out_other_devices(app, lan):
    other_device = app.test_client()
    login(other_device, lan)
    assert signed_in(other_device)
    before = user_state(app, lan)

    phone = app.test_client()
    assert phone.post("/reset", data={"identifier": "0912 345 678"}).status_code == 303
    response = phone.post(
        "/reset/verify",
        data={"code": latest_code(app, PHONE), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 303
    after = user_state(app, lan)
    assert after["session_version"] == before["session_version"] + 1
    assert after["password_hash"] != before["password_hash"]
    assert not signed_in(other_device)
    assert signed_in(phone)
    fresh = app.test_client()
    ok = fresh.post("/login", data={"identifier": PHONE, "password": NEW_PASSWORD})
    assert ok.status_code == 303
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action)).all()
    assert "password_reset" in actions


def test_reset_of_an_unknown_number_answers_the_same_and_sends_nothing(client, app, lan):
    known = client.post("/reset", data={"identifier": "0912345678"})
    unknown = app.test_client().post("/reset", data={"identifier": "0987654321"})

    assert known.status_code == unknown.status_code == 303
    assert outbox_count(app) == 1


def test_reset_with_a_short_password_keeps_the_code_usable(client, app, lan):
    client.post("/reset", data={"identifier": "0912345678"})
    code = latest_code(app, PHONE)

    short = client.post("/reset/verify", data={"code": code, "password": "ngan", "confirm": "ngan"})
    assert short.status_code == 422
    assert "Mật khẩu cần từ 8" in short.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(OneTimeCode.attempts)) == 0

    good = client.post(
        "/reset/verify", data={"code": code, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert good.status_code == 303


def test_reset_with_a_wrong_code_changes_nothing(client, app, lan):
    client.post("/reset", data={"identifier": "0912345678"})
    code = latest_code(app, PHONE)
    before = user_state(app, lan)

    response = client.post(
        "/reset/verify",
        data={
            "code": "000000" if code != "000000" else "111111",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )

    assert response.status_code == 422
    assert NEW_PASSWORD not in response.get_data(as_text=True)
    after = user_state(app, lan)
    assert after["password_hash"] == before["password_hash"]
    assert after["session_version"] == before["session_version"]


def test_account_page_shows_name_and_contact(client, lan):
    login(client, lan)

    html = client.get("/account").get_data(as_text=True)

    assert "Bà Lan" in html
    assert "0912 345 678" in html


def test_account_update_saves_name_and_language(client, app, lan):
    login(client, lan)

    response = client.post(
        "/account", data={"profile-name": "Bà Lan Cao Phong", "profile-locale": "en"}
    )

    assert response.status_code == 303
    state = user_state(app, lan)
    assert state["name"] == "Bà Lan Cao Phong"
    assert state["locale"] == "en"
    with client.session_transaction() as session:
        assert session["lang"] == "en"


def test_account_update_rejects_bad_input_and_saves_nothing(client, app, lan):
    login(client, lan)

    response = client.post("/account", data={"profile-name": "", "profile-locale": "fr"})

    assert response.status_code == 422
    state = user_state(app, lan)
    assert state["name"] == "Bà Lan"
    assert state["locale"] == "vi"


def test_change_password_needs_the_current_one(client, app, lan):
    login(client, lan)
    before = user_state(app, lan)

    response = client.post(
        "/account/password",
        data={
            "pw-current_password": "khong-dung-123",
            "pw-new_password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
        },
    )

    assert response.status_code == 422
    assert "Mật khẩu hiện tại không đúng" in response.get_data(as_text=True)
    assert user_state(app, lan)["password_hash"] == before["password_hash"]


def test_change_password_keeps_this_device_and_ends_the_others(app, lan):
    this_device, other_device = app.test_client(), app.test_client()
    login(this_device, lan)
    login(other_device, lan)

    response = this_device.post(
        "/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-new_password": NEW_PASSWORD,
            "pw-confirm": NEW_PASSWORD,
        },
    )

    assert response.status_code == 303
    assert signed_in(this_device)
    assert not signed_in(other_device)
    with app.app_context():
        assert "password_changed" in db.session.scalars(select(AuditEntry.action)).all()


def test_code_only_account_can_set_a_first_password(client, app):
    with app.app_context():
        user_id = make_user(name="Anh Tuấn", phone="+84912000002", password=None).id
        db.session.commit()
    login(client, user_id)

    response = client.post(
        "/account/password", data={"pw-new_password": NEW_PASSWORD, "pw-confirm": NEW_PASSWORD}
    )

    assert response.status_code == 303
    assert user_state(app, user_id)["password_hash"]


def test_sign_out_everywhere_keeps_only_this_device(app, lan):
    this_device, other_device = app.test_client(), app.test_client()
    login(this_device, lan)
    login(other_device, lan)

    assert this_device.post("/account/sessions").status_code == 303

    assert signed_in(this_device)
    assert not signed_in(other_device)


def test_account_page_names_council_and_admin_roles(client, app):
    with app.app_context():
        hung = make_council_member(level="province", province_code=25)
        hung.is_platform_admin = True
        db.session.commit()
        hung_id = hung.id
    login(client, hung_id)

    html = client.get("/account").get_data(as_text=True)

    assert "Hội đồng OCOP tỉnh Phú Thọ" in html
    assert "Quản trị nền tảng" in html
    assert "/admin/api-keys" in html


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/account"),
        ("POST", "/account"),
        ("POST", "/account/password"),
        ("POST", "/account/sessions"),
    ],
)
def test_account_routes_need_a_signed_in_user(client, method, url):
    response = client.open(url, method=method, data={"profile-name": "X"})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
