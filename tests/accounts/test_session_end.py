"""Signing out, changing the password or "sign out everywhere" ends every copy of a session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from core.db import db
from tests.accounts.helpers import signed_in, user_state
from tests.factories import PASSWORD, make_user


@pytest.fixture
def lan(app):
    with app.app_context():
        user = make_user(name="Bà Lan", phone="+84912345678")
        db.session.commit()
        return user.id


def _sign_in(client, remember=True):
    data = {"identifier": "0912345678", "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 303


def _copy(app, source, *names):
    """A second browser holding copies of `source`'s cookies (a stolen cookie jar)."""
    thief = app.test_client()
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def test_a_copied_session_cookie_dies_at_logout(app, client, lan):
    _sign_in(client, remember=False)
    thief = _copy(app, client, "session")
    assert signed_in(thief)

    client.post("/logout")

    assert not signed_in(client)
    assert not signed_in(thief)


def test_a_copied_remember_token_dies_at_logout(app, client, lan):
    _sign_in(client)
    thief = _copy(app, client, "remember_token")  # no session: only the remember-me cookie
    assert signed_in(thief)

    client.post("/logout")

    fresh = app.test_client()
    fresh.set_cookie("remember_token", thief.get_cookie("remember_token").value)
    assert not signed_in(fresh)


def test_password_change_keeps_this_device_and_ends_every_copy(app, client, lan):
    _sign_in(client)
    thief = _copy(app, client, "session", "remember_token")
    other_device = app.test_client()
    _sign_in(other_device)

    response = client.post(
        "/account/password",
        data={
            "pw-current_password": PASSWORD,
            "pw-new_password": "mat-khau-moi-2026",
            "pw-confirm": "mat-khau-moi-2026",
        },
    )

    assert response.status_code == 303
    assert signed_in(client)
    assert not signed_in(thief)
    assert not signed_in(other_device)


def test_sign_out_everywhere_from_the_account_page(app, client, lan):
    _sign_in(client)
    other_device = app.test_client()
    _sign_in(other_device)
    before = user_state(app, lan)["session_version"]

    page = client.get("/account").get_data(as_text=True)
    assert 'action="/logout"' in page and "Đăng xuất ở mọi nơi" in page
    client.post("/logout")

    assert user_state(app, lan)["session_version"] == before + 1
    assert not signed_in(client)
    assert not signed_in(other_device)


def test_every_cookie_has_samesite_and_remember_me_lasts_a_month(client, lan):
    response = client.post(
        "/login", data={"identifier": "0912345678", "password": PASSWORD, "remember": "y"}
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"session", "remember_token"}
    for cookie in cookies:
        assert "SameSite=Lax" in cookie, cookie
        assert "HttpOnly" in cookie, cookie
    remember = next(c for c in cookies if c.startswith("remember_token="))
    expires = parsedate_to_datetime(remember.split("Expires=", 1)[1].split(";", 1)[0])
    assert expires - datetime.now(UTC) <= timedelta(days=31)
    language = client.post("/lang/en").headers.getlist("Set-Cookie")
    assert all("SameSite=Lax" in c for c in language)
