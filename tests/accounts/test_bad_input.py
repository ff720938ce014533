"""No input makes an accounts form answer 500 or save anything."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accounts.models import ApiKey, OneTimeCode, OutboxMessage, User
from core.db import db
from core.security import limiter
from tests.conftest import login
from tests.factories import make_user

NASTY = [
    "",
    " ",
    "\x00",
    "0912\x00345678",
    "a\x00@example.vn",
    "x" * 5000,
    "٠٩١٢٣٤٥٦٧٨",  # Arabic-Indic digits
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "+84 912 345 678 ext 9",
    "@",
    "ten@",
    "🙂",
]

ROUTES = {
    "/login": ("identifier", "password", "next"),
    "/login/code": ("identifier", "next"),
    "/login/verify": ("code",),
    "/register": ("name", "identifier", "next"),
    "/register/verify": ("code",),
    "/reset": ("identifier",),
    "/reset/verify": ("code", "password", "confirm"),
    "/account": ("profile-name", "profile-locale"),
    "/account/password": ("pw-current_password", "pw-new_password", "pw-confirm"),
    "/admin/api-keys": ("name", "scopes"),
}


@pytest.fixture
def admin_client(app):
    with app.app_context():
        admin = make_user(name="Quản trị", phone="+84900000001", admin=True)
        db.session.commit()
        admin_id = admin.id
    client = app.test_client()
    login(client, admin_id)
    return client


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_nasty_values_never_cause_a_server_error(app, admin_client, route):
    limiter.enabled = False  # this test is about input, not about limits
    try:
        for value in NASTY:
            with admin_client.session_transaction() as session:
                purpose = route.split("/")[1] if route.endswith("/verify") else "login"
                session["pending_code"] = {
                    "purpose": purpose,
                    "kind": "phone",
                    "value": "+84912345678",
                    "name": value,
                    "next": value,
                }
            data = {name: value for name in ROUTES[route]}
            response = admin_client.post(route, data=data)
            assert response.status_code < 500, (route, value, response.status_code)
    finally:
        limiter.enabled = True
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
        assert db.session.scalar(select(func.count(ApiKey.id))) == 0
        if route != "/register":  # "0912\x00345678" and Arabic-Indic digits are valid numbers
            assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0
            assert db.session.scalar(select(func.count(OneTimeCode.id))) == 0
        assert db.session.scalar(select(User.name)) == "Quản trị"
