"""Signing in with a password: phone in any spelling, e-mail, no enumeration, safe redirects."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from accounts.login import landing_url, load_user, login_manager, safe_next
from accounts.models import User
from core.db import db
from tests.accounts.helpers import signed_in, user_state
from tests.conftest import login
from tests.factories import PASSWORD, make_user


@pytest.fixture
def lan(app):
    with app.app_context():
        user = make_user(name="Bà Lan", phone="+84912345678")
        db.session.commit()
        return user.id


@pytest.mark.parametrize(
    "typed", ["0912 345 678", "+84912345678", "84 912 345 678", "0912.345.678"]
)
def test_phone_in_any_spelling_signs_in_the_same_user(client, app, lan, typed):
    response = client.post("/login", data={"identifier": typed, "password": PASSWORD})

    assert response.status_code == 303
    assert signed_in(client)
    assert user_state(app, lan)["last_login_at"] is not None


def test_email_signs_in_case_insensitively(client, app):
    with app.app_context():
        make_user(name="Chị Mai", phone=None, email="mai@example.vn")
        db.session.commit()

    response = client.post("/login", data={"identifier": " Mai@Example.VN ", "password": PASSWORD})

    assert response.status_code == 303
    assert signed_in(client)


def test_wrong_password_and_unknown_number_answer_the_same(client, lan):
    wrong = client.post("/login", data={"identifier": "0912345678", "password": "sai-mat-khau"})
    unknown = client.post("/login", data={"identifier": "0987654321", "password": "sai-mat-khau"})

    assert wrong.status_code == unknown.status_code == 422
    message = "Số điện thoại/e-mail hoặc mật khẩu không đúng."
    assert message in wrong.get_data(as_text=True)
    assert message in unknown.get_data(as_text=True)
    assert not signed_in(client)


def test_failed_sign_in_keeps_the_number_but_never_the_password(client, lan):
    response = client.post("/login", data={"identifier": "0912 345 678", "password": "bi-mat-123"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="0912 345 678"' in html
    assert "bi-mat-123" not in html


def test_malformed_number_gets_a_plain_message(client, lan):
    response = client.post("/login", data={"identifier": "12ab", "password": PASSWORD})

    assert response.status_code == 422
    assert "Số điện thoại chưa đúng" in response.get_data(as_text=True)


def test_inactive_account_cannot_sign_in(client, app, lan):
    with app.app_context():
        db.session.get(User, lan).active = False
        db.session.commit()

    response = client.post("/login", data={"identifier": "0912345678", "password": PASSWORD})

    assert response.status_code == 422
    assert not signed_in(client)


def test_sign_in_upgrades_a_hash_made_with_old_parameters(client, app, lan):
    old_hash = user_state(app, lan)["password_hash"]
    assert PasswordHasher().check_needs_rehash(old_hash)  # the factory uses cheap parameters

    client.post("/login", data={"identifier": "0912345678", "password": PASSWORD})

    new_hash = user_state(app, lan)["password_hash"]
    assert new_hash != old_hash
    assert not PasswordHasher().check_needs_rehash(new_hash)
    PasswordHasher().verify(new_hash, PASSWORD)


def test_sign_in_returns_to_a_local_next_page(client, lan):
    response = client.post(
        "/login",
        data={"identifier": "0912345678", "password": PASSWORD, "next": "/account?tab=1"},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/account?tab=1"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/\nhttps://evil.example",
        "http:/evil.example",
    ],
)
def test_sign_in_refuses_to_redirect_off_site(client, app, lan, target):
    response = client.post(
        "/login", data={"identifier": "0912345678", "password": PASSWORD, "next": target}
    )

    assert response.status_code == 303
    location = response.headers["Location"]
    with app.test_request_context():
        assert location == landing_url()  # the dashboard (or "/"), never the other site
    assert "evil" not in location


def test_safe_next_accepts_only_paths_on_this_site():
    assert safe_next("/p/cam-cao-phong?x=1") == "/p/cam-cao-phong?x=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil", "evil", "", None, "/a\tb"):
        assert safe_next(bad) is None


def test_private_page_sends_anonymous_visitor_to_login_with_next(client):
    response = client.get("/account")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/account")


def test_login_page_carries_next_and_uses_the_phone_keypad(client):
    html = client.get("/login?next=/account").get_data(as_text=True)

    assert 'name="next" type="hidden" value="/account"' in html
    assert 'inputmode="tel"' in html
    assert 'autocomplete="current-password"' in html


def test_login_page_drops_an_off_site_next(client):
    html = client.get("/login?next=https://evil.example/").get_data(as_text=True)

    assert 'id="next" name="next" type="hidden" value=""' in html


def test_api_requests_get_401_problem_json_instead_of_a_redirect(app):
    with app.test_request_context("/api/v1/private"):
        response = login_manager.unauthorized()

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401


def test_session_identity_with_a_stale_version_is_refused(app, lan):
    with app.app_context():
        user = db.session.get(User, lan)
        current = user.get_id()
        assert load_user(current) is not None
        user.session_version += 1
        db.session.flush()
        assert load_user(current) is None
        assert load_user(str(lan)) is None  # the old plain-id format
        assert load_user("abc:1") is None
        db.session.rollback()


def test_logout_is_a_post_and_ends_the_session(client, app, lan):
    login(client, lan)
    assert signed_in(client)

    assert client.get("/logout").status_code == 405
    response = client.post("/logout")

    assert response.status_code == 303
    assert not signed_in(client)


def test_csrf_enabled_app_refuses_login_without_token(build_app, lan):
    csrf_app = build_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()

    refused = client.post("/login", data={"identifier": "0912345678", "password": PASSWORD})

    assert refused.status_code == 400
    assert not signed_in(client)
    assert user_state(csrf_app, lan)["last_login_at"] is None

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post(
        "/login", data={"identifier": "0912345678", "password": PASSWORD, "csrf_token": token}
    )
    assert accepted.status_code == 303
    assert signed_in(client)


def test_csrf_enabled_app_refuses_logout_without_token(build_app, lan):
    csrf_app = build_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    login(client, lan)

    assert client.post("/logout").status_code == 400
    assert signed_in(client)


def test_password_sign_in_is_limited_per_address(client, lan):
    data = {"identifier": "0912345678", "password": "sai-mat-khau"}
    statuses = [client.post("/login", data=data).status_code for _ in range(11)]

    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    # Even the right password waits now: guessing cannot continue from this address.
    right = client.post("/login", data={"identifier": "0912345678", "password": PASSWORD})
    assert right.status_code == 429
    assert "Bạn thử quá nhiều lần" in right.get_data(as_text=True)
    assert not signed_in(client)


@pytest.mark.parametrize(
    ("url", "keyboard"),
    [
        ("/login", 'inputmode="tel"'),
        ("/login?by=email", 'inputmode="email"'),
        ("/register", 'inputmode="tel"'),
        ("/register?by=email", 'inputmode="email"'),
        ("/reset", 'inputmode="tel"'),
        ("/reset?by=email", 'inputmode="email"'),
    ],
)
def test_sign_in_pages_open_the_right_keyboard(client, url, keyboard):
    response = client.get(url)

    assert response.status_code == 200
    assert keyboard in response.get_data(as_text=True)
