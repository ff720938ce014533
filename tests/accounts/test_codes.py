"""One-time codes: sign-in and registration through the outbox, expiry, burning, rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from accounts.models import OneTimeCode, OutboxMessage, User
from core.db import db, utcnow
from tests.accounts.helpers import latest_code, outbox_count, signed_in
from tests.factories import make_user

PHONE = "+84912345678"


@pytest.fixture
def lan(app):
    with app.app_context():
        user = make_user(name="Bà Lan", phone=PHONE, password=None)
        db.session.commit()
        return user.id


def _request_code(client, identifier="0912 345 678", **extra):
    return client.post("/login/code", data={"identifier": identifier, **extra})


def test_code_from_the_outbox_signs_in(client, app, lan):
    response = _request_code(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login/verify"

    code = latest_code(app, PHONE)
    page = client.get("/login/verify").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page

    answer = client.post("/login/verify", data={"code": code})
    assert answer.status_code == 303
    assert signed_in(client)


def test_sms_code_is_plain_text_and_stored_only_as_a_hash(client, app, lan):
    _request_code(client)
    code = latest_code(app, PHONE)

    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        stored = db.session.scalar(select(OneTimeCode))
        assert message.channel == "sms"
        # with its diacritics, within one UCS-2 SMS: the same price as a plain GSM-7 one
        assert message.body.startswith("Mã đăng nhập Chợ Quê: ") and code in message.body
        assert len(message.body) <= 70
        assert code not in stored.code_hash
        assert len(stored.code_hash) == 64


def test_email_accounts_get_their_code_by_email(client, app):
    with app.app_context():
        make_user(name="Chị Mai", phone=None, email="mai@example.vn", password=None)
        db.session.commit()

    _request_code(client, "mai@example.vn")

    with app.app_context():
        message = db.session.scalar(select(OutboxMessage))
        assert message.channel == "email"
        assert message.recipient == "mai@example.vn"
        assert "Chợ Quê" in message.subject
    client.post("/login/verify", data={"code": latest_code(app, "mai@example.vn")})
    assert signed_in(client)


def test_unknown_number_gets_the_same_answer_and_no_message(client, app, lan):
    known = _request_code(client, "0912 345 678")
    known_page = client.get("/login/verify").get_data(as_text=True)
    other = app.test_client()
    unknown = _request_code(other, "0987 654 321")
    unknown_page = other.get("/login/verify").get_data(as_text=True)

    assert known.status_code == unknown.status_code == 303
    assert "Nếu số này đã đăng ký, mã đã được gửi" in known_page
    assert "Nếu số này đã đăng ký, mã đã được gửi" in unknown_page
    assert outbox_count(app, PHONE) == 1
    assert outbox_count(app, "+84987654321") == 0


def test_expired_code_is_refused(client, app, lan):
    _request_code(client)
    code = latest_code(app, PHONE)
    with app.app_context():
        db.session.execute(update(OneTimeCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()

    response = client.post("/login/verify", data={"code": code})

    assert response.status_code == 422
    assert "hết hạn" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_code_is_burned_after_five_wrong_attempts(client, app, lan):
    _request_code(client)
    code = latest_code(app, PHONE)
    wrong = "000000" if code != "000000" else "111111"

    messages = []
    for _ in range(5):
        response = client.post("/login/verify", data={"code": wrong})
        assert response.status_code == 422
        messages.append(response.get_data(as_text=True))
    assert "Bạn còn 4 lần thử" in messages[0]
    assert "bị khoá" in messages[4]

    response = client.post("/login/verify", data={"code": code})
    assert response.status_code == 422
    assert not signed_in(client)
    with app.app_context():
        assert db.session.scalar(select(OneTimeCode.attempts)) == 5


def test_a_code_works_only_once(client, app, lan):
    _request_code(client)
    code = latest_code(app, PHONE)
    with client.session_transaction() as session:
        pending = dict(session["pending_code"])
    assert client.post("/login/verify", data={"code": code}).status_code == 303
    client.post("/logout")
    assert not signed_in(client)

    with client.session_transaction() as session:
        session["pending_code"] = pending  # replay the same code in the same flow
    replay = client.post("/login/verify", data={"code": code})

    assert replay.status_code == 422
    assert not signed_in(client)


def test_logout_also_forgets_the_remembered_device(client, app, lan):
    _request_code(client)
    client.post("/login/verify", data={"code": latest_code(app, PHONE)})
    assert client.get_cookie("remember_token") is not None

    client.post("/logout")

    assert client.get_cookie("remember_token") is None
    assert not signed_in(client)


def test_a_new_code_replaces_the_old_one(client, app, lan):
    _request_code(client)
    first = latest_code(app, PHONE)
    _request_code(client, "+84912345678")
    second = latest_code(app, PHONE)

    with app.app_context():
        live = db.session.scalar(
            select(func.count(OneTimeCode.id)).where(OneTimeCode.used_at.is_(None))
        )
    assert live == 1
    if first != second:
        assert client.post("/login/verify", data={"code": first}).status_code == 422
    assert client.post("/login/verify", data={"code": second}).status_code == 303


def test_malformed_code_does_not_count_as_an_attempt(client, app, lan):
    _request_code(client)

    response = client.post("/login/verify", data={"code": "12ab"})

    assert response.status_code == 422
    assert "6 chữ số" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(OneTimeCode.attempts)) == 0


def test_verify_page_without_a_pending_code_goes_back_to_login(client):
    response = client.post("/login/verify", data={"code": "123456"})

    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


def test_code_request_keeps_a_local_next(client, app, lan):
    _request_code(client, next="/account")
    response = client.post("/login/verify", data={"code": latest_code(app, PHONE)})

    assert response.headers["Location"] == "/account"


def test_registration_creates_the_account_after_the_code(client, app):
    response = client.post(
        "/register", data={"name": "  Anh   Tuấn ", "identifier": "0912 000 999"}
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(User).where(User.phone == "+84912000999")) is None

    answer = client.post("/register/verify", data={"code": latest_code(app, "+84912000999")})

    assert answer.status_code == 303
    assert answer.headers["Location"] == "/account"
    assert signed_in(client)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "+84912000999"))
        assert user.name == "Anh Tuấn"
        assert user.password_hash is None  # optional, can be set later


def test_registering_an_existing_number_signs_its_owner_in(client, app, lan):
    response = client.post("/register", data={"name": "Người khác", "identifier": "0912345678"})
    assert response.status_code == 303  # the same answer as for a new number

    client.post("/register/verify", data={"code": latest_code(app, PHONE)})

    assert signed_in(client)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
        assert db.session.get(User, lan).name == "Bà Lan"


def test_registration_rejects_bad_input_and_keeps_what_was_typed(client, app):
    response = client.post("/register", data={"name": "Chị Hạnh", "identifier": "0912"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Số điện thoại chưa đúng" in html
    assert 'value="Chị Hạnh"' in html
    assert outbox_count(app) == 0


def test_registration_refuses_a_landline(client, app):
    response = client.post("/register", data={"name": "Chị Hạnh", "identifier": "024 3825 3536"})

    assert response.status_code == 422
    assert "số di động" in response.get_data(as_text=True)
    assert outbox_count(app) == 0


def test_code_sending_is_limited_per_destination_in_any_spelling(client, app, lan):
    for typed in ("0912 345 678", "+84912345678", "84912345678"):
        assert _request_code(client, typed).status_code == 303

    limited = _request_code(client, "0912.345.678")
    assert limited.status_code == 429
    assert "Bạn thử quá nhiều lần" in limited.get_data(as_text=True)
    assert outbox_count(app, PHONE) == 3
    # Another number is not affected.
    assert _request_code(client, "0987 654 321").status_code == 303


def test_destination_limit_is_shared_by_register_and_reset(client, app, lan):
    _request_code(client)
    client.post("/reset", data={"identifier": "0912345678"})
    client.post("/register", data={"name": "Bà Lan", "identifier": "+84912345678"})

    assert client.post("/reset", data={"identifier": "0912 345 678"}).status_code == 429


def test_code_verification_is_limited_per_address(client, app, lan):
    _request_code(client)
    statuses = [client.post("/login/verify", data={"code": "12ab"}).status_code for _ in range(11)]

    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


def test_csrf_enabled_app_refuses_code_requests_without_token(build_app, lan):
    csrf_app = build_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()

    for url, data in [
        ("/login/code", {"identifier": "0912345678"}),
        ("/register", {"name": "Bà Lan", "identifier": "0912345678"}),
        ("/reset", {"identifier": "0912345678"}),
    ]:
        assert client.post(url, data=data).status_code == 400, url

    assert outbox_count(csrf_app) == 0


def test_a_gateway_without_unicode_gets_plain_gsm_text(client, app, lan):
    app.config["SMS_UNICODE"] = False
    try:
        _request_code(client)
    finally:
        app.config["SMS_UNICODE"] = True
    with app.app_context():
        body = db.session.scalar(select(OutboxMessage.body))
    assert body.isascii() and body.startswith("Ma dang nhap Cho Que: ")


def test_a_long_sms_goes_without_diacritics_rather_than_in_paid_parts():
    from accounts.outbox import sms_text

    long = "Chợ Quê: " + "đơn hàng của bạn đã được giao " * 3
    assert sms_text(long).isascii()
    assert sms_text("Mã: 123456") == "Mã: 123456"
