"""Changing one's phone number or e-mail: a code to the new address, the change only when it
comes back, the old address told, another account's address refused without saying whose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from accounts.models import AuditEntry, OneTimeCode, OutboxMessage, User
from core.db import db
from tests.accounts.helpers import latest_code, outbox_count, signed_in, user_state
from tests.conftest import login
from tests.factories import make_user

OLD_PHONE = "+84912345678"
NEW_PHONE = "+84987654321"
OLD_EMAIL = "lan@example.vn"
NEW_EMAIL = "lan.moi@example.vn"


@pytest.fixture
def lan(app):
    with app.app_context():
        user = make_user(name="Bà Lan", phone=OLD_PHONE, email=OLD_EMAIL)
        db.session.commit()
        return user.id


@pytest.fixture
def lan_client(app, lan):
    client = app.test_client()
    login(client, lan)
    return client


def _contact(app, user_id: int) -> tuple[str | None, str | None]:
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.phone, user.email


def _messages_to(app, recipient: str) -> list[str]:
    with app.app_context():
        query = select(OutboxMessage.body).where(OutboxMessage.recipient == recipient)
        return list(db.session.scalars(query.order_by(OutboxMessage.id)))


def _audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action)))


def test_the_account_page_links_to_both_changes(lan_client):
    page = lan_client.get("/account").get_data(as_text=True)

    assert 'href="/account/phone"' in page
    assert 'href="/account/email"' in page


def test_a_new_phone_number_takes_effect_only_with_its_code(app, lan, lan_client):
    other_device = app.test_client()
    login(other_device, lan)
    before = user_state(app, lan)

    sent = lan_client.post("/account/phone", data={"identifier": "0987 654 321"})
    assert sent.status_code == 303
    assert sent.headers["Location"].endswith("/account/phone/verify")
    assert _contact(app, lan) == (OLD_PHONE, OLD_EMAIL)  # nothing changed yet
    assert outbox_count(app, NEW_PHONE) == 1
    assert "Mã xác nhận" in lan_client.get("/account/phone/verify").get_data(as_text=True)

    done = lan_client.post("/account/phone/verify", data={"code": latest_code(app, NEW_PHONE)})

    assert done.status_code == 303
    assert _contact(app, lan) == (NEW_PHONE, OLD_EMAIL)
    assert user_state(app, lan)["session_version"] == before["session_version"] + 1
    assert signed_in(lan_client)  # this device stays signed in
    assert not signed_in(other_device)  # the others end
    told = _messages_to(app, OLD_PHONE)
    assert len(told) == 1 and "0987 654 321" in told[0]
    assert "phone_changed" in _audit_actions(app)


def test_a_new_email_takes_effect_with_its_code_and_the_old_one_is_told(app, lan, lan_client):
    assert (
        lan_client.post("/account/email", data={"identifier": " Lan.Moi@Example.VN "}).status_code
        == 303
    )
    code = latest_code(app, NEW_EMAIL)
    assert _contact(app, lan) == (OLD_PHONE, OLD_EMAIL)

    assert lan_client.post("/account/email/verify", data={"code": code}).status_code == 303

    assert _contact(app, lan) == (OLD_PHONE, NEW_EMAIL)
    told = _messages_to(app, OLD_EMAIL)
    assert len(told) == 1 and NEW_EMAIL in told[0]
    assert "email_changed" in _audit_actions(app)
    fresh = app.test_client()  # the new address signs in; the old one no longer does
    assert fresh.post("/login/code", data={"identifier": NEW_EMAIL}).status_code == 303
    assert outbox_count(app, NEW_EMAIL) == 2


def test_adding_an_email_tells_the_phone(app):
    with app.app_context():
        user_id = make_user(name="Anh Tư", phone=OLD_PHONE).id
        db.session.commit()
    client = app.test_client()
    login(client, user_id)
    assert "Thêm e-mail" in client.get("/account").get_data(as_text=True)

    client.post("/account/email", data={"identifier": NEW_EMAIL})
    client.post("/account/email/verify", data={"code": latest_code(app, NEW_EMAIL)})

    assert _contact(app, user_id) == (OLD_PHONE, NEW_EMAIL)
    assert len(_messages_to(app, OLD_PHONE)) == 1


def test_a_wrong_code_changes_nothing_and_counts_the_attempt(app, lan, lan_client):
    lan_client.post("/account/phone", data={"identifier": "0987654321"})
    code = latest_code(app, NEW_PHONE)
    wrong = "000000" if code != "000000" else "111111"
    before = user_state(app, lan)

    response = lan_client.post("/account/phone/verify", data={"code": wrong})

    assert response.status_code == 422
    assert "Mã không đúng" in response.get_data(as_text=True)
    assert _contact(app, lan) == (OLD_PHONE, OLD_EMAIL)
    assert user_state(app, lan) == before
    assert _messages_to(app, OLD_PHONE) == []
    with app.app_context():
        assert db.session.scalar(select(OneTimeCode.attempts)) == 1
    assert lan_client.post("/account/phone/verify", data={"code": code}).status_code == 303


def test_an_expired_code_changes_nothing(app, lan, lan_client):
    lan_client.post("/account/email", data={"identifier": NEW_EMAIL})
    code = latest_code(app, NEW_EMAIL)
    with app.app_context():
        record = db.session.scalar(select(OneTimeCode))
        db.session.execute(
            update(OneTimeCode)
            .where(OneTimeCode.id == record.id)
            .values(expires_at=record.created_at - timedelta(seconds=1))
        )
        db.session.commit()

    response = lan_client.post("/account/email/verify", data={"code": code})

    assert response.status_code == 422
    assert "hết hạn" in response.get_data(as_text=True)
    assert _contact(app, lan) == (OLD_PHONE, OLD_EMAIL)
    assert _messages_to(app, OLD_EMAIL) == []


def test_an_address_of_another_account_is_refused_without_naming_it(app, lan, lan_client):
    with app.app_context():
        make_user(name="Ông Ba Bí Mật", phone=NEW_PHONE, email=NEW_EMAIL)
        db.session.commit()

    phone = lan_client.post("/account/phone", data={"identifier": "0987 654 321"})
    email = lan_client.post("/account/email", data={"identifier": NEW_EMAIL})

    for response in (phone, email):
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "đã thuộc một tài khoản khác" in page
        assert "Ông Ba Bí Mật" not in page
    assert 'value="0987 654 321"' in phone.get_data(as_text=True)  # typed value kept
    assert outbox_count(app, NEW_PHONE) == outbox_count(app, NEW_EMAIL) == 0
    assert _contact(app, lan) == (OLD_PHONE, OLD_EMAIL)


def test_an_address_taken_between_code_and_confirmation_is_refused(app, lan, lan_client):
    lan_client.post("/account/phone", data={"identifier": "0987654321"})
    code = latest_code(app, NEW_PHONE)
    with app.app_context():
        make_user(name="Ông Ba", phone=NEW_PHONE)
        db.session.commit()

    response = lan_client.post("/account/phone/verify", data={"code": code})

    assert response.status_code == 422
    assert "đã thuộc một tài khoản khác" in response.get_data(as_text=True)
    assert _contact(app, lan) == (OLD_PHONE, OLD_EMAIL)
    assert _messages_to(app, OLD_PHONE) == []


@pytest.mark.parametrize(
    ("kind", "typed", "message"),
    [
        ("phone", "0912 34", "Số điện thoại chưa đúng"),
        ("phone", "024 3825 3536", "số di động"),
        ("phone", NEW_EMAIL, "Số điện thoại chưa đúng"),
        ("phone", "0912.345.678", "Đây đã là số điện thoại của bạn"),
        ("email", "lan@", "E-mail chưa đúng"),
        ("email", "0987654321", "E-mail chưa đúng"),
        ("email", OLD_EMAIL.upper(), "Đây đã là e-mail của bạn"),
        ("email", "", "Vui lòng nhập"),
    ],
)
def test_bad_input_changes_nothing_and_keeps_what_was_typed(
    app, lan, lan_client, kind, typed, message
):
    response = lan_client.post(f"/account/{kind}", data={"identifier": typed})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    if typed:
        assert f'value="{typed}"' in page
    assert outbox_count(app) == 0
    assert _contact(app, lan) == (OLD_PHONE, OLD_EMAIL)


def test_codes_to_a_new_address_are_limited_per_destination(app, lan, lan_client):
    for typed in ("0987 654 321", "+84987654321", "84987654321"):
        assert lan_client.post("/account/phone", data={"identifier": typed}).status_code == 303

    limited = lan_client.post("/account/phone", data={"identifier": "0987.654.321"})

    assert limited.status_code == 429
    assert outbox_count(app, NEW_PHONE) == 3
    # The limit is the one every form that sends codes shares.
    assert app.test_client().post("/login/code", data={"identifier": NEW_PHONE}).status_code == 429


def test_the_pages_need_a_signed_in_person_and_a_known_kind(app, client, lan_client):
    assert client.get("/account/phone").status_code == 302
    assert client.post("/account/email", data={"identifier": NEW_EMAIL}).status_code == 302
    assert lan_client.get("/account/fax").status_code == 404
    # Without a code requested, the code page sends back to the first step.
    assert lan_client.get("/account/phone/verify").status_code == 303
    assert outbox_count(app) == 0


def test_the_new_number_sms_fits_one_message_with_diacritics(app, lan, lan_client):
    lan_client.post("/account/phone", data={"identifier": "0987654321"})

    (body,) = _messages_to(app, NEW_PHONE)
    assert len(body) <= 70
    assert "Mã xác nhận số mới" in body
