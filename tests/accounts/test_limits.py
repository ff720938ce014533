"""Limits that hold as stated: per account, per destination, a platform-wide cap on codes with
an alert, progressive back-off, and limit storage shared by every worker."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from accounts import throttle
from accounts.models import AuditEntry, OneTimeCode, OutboxMessage
from core.config import ConfigError, load_config
from core.db import db
from tests.accounts.helpers import signed_in
from tests.factories import PASSWORD, make_user

PHONE = "+84912345678"


@pytest.fixture
def lan(app):
    with app.app_context():
        user = make_user(name="Bà Lan", phone=PHONE)
        db.session.commit()
        return user.id


def _try(client, password, address="192.0.2.1"):
    return client.post(
        "/login",
        data={"identifier": "0912 345 678", "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


# --- progressive back-off and the per-account limit ----------------------------------------------


def test_back_off_doubles_and_is_capped():
    delays = [throttle.delay_for(n) for n in range(1, 12)]
    assert delays[:4] == [0, 0, 0, 0]
    assert delays[4:8] == [30, 60, 120, 240]
    assert max(delays) == throttle.MAX_DELAY


def test_after_five_wrong_passwords_even_the_right_one_waits(app, client, lan):
    for n in range(throttle.FREE_FAILURES):
        assert _try(client, "sai-mat-khau", address=f"192.0.2.{n + 1}").status_code == 422

    refused = _try(client, PASSWORD, address="198.51.100.7")  # another address, right password

    assert refused.status_code == 422
    assert "Vui lòng thử lại sau 1 phút" in refused.get_data(as_text=True)
    assert 'value="0912 345 678"' in refused.get_data(as_text=True)  # typed value kept
    assert not signed_in(client)


def test_the_wait_ends_and_a_right_password_clears_the_count(app, client, lan, monkeypatch):
    monkeypatch.setattr(throttle, "BASE_DELAY", 1)
    for _ in range(throttle.FREE_FAILURES):
        _try(client, "sai-mat-khau")
    assert _try(client, PASSWORD).status_code == 422
    time.sleep(1.1)

    assert _try(client, PASSWORD).status_code == 303
    client.post("/logout")
    for _ in range(throttle.FREE_FAILURES - 1):  # the count started again from zero
        _try(client, "sai-mat-khau", address="192.0.2.99")
    assert _try(client, PASSWORD, address="192.0.2.99").status_code == 303


def test_many_addresses_cannot_guess_one_account(app, client, lan):
    """96 wrong passwords from 12 addresses, then the right one: not accepted."""
    statuses = [
        _try(client, f"doan-{n}", address=f"203.0.113.{n % 12 + 1}").status_code for n in range(96)
    ]
    assert 429 in statuses  # the per-account limit, whatever the address
    assert _try(client, PASSWORD, address="203.0.113.200").status_code in (422, 429)
    assert not signed_in(client)


# --- codes: per destination, and the platform-wide hourly cap with an alert -------------------


def test_a_number_gets_three_codes_in_ten_minutes_from_any_number_of_addresses(app, client, lan):
    statuses = [
        client.post(
            "/login/code",
            data={"identifier": spelling},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n}"},
        ).status_code
        for n, spelling in enumerate(["0912345678", "+84912345678", "84 912 345 678"] * 3)
    ]
    assert statuses.count(303) == 3
    with app.app_context():
        sent = db.session.scalar(
            select(func.count(OneTimeCode.id)).where(OneTimeCode.destination == PHONE)
        )
    assert sent == 3


def test_codes_pause_past_the_hourly_cap_and_admins_are_alerted_once(build_app):
    capped = build_app(OTP_HOURLY_CAP=3)
    with capped.app_context():
        make_user(name="Quản trị", phone="+84900000001", email="admin@choque.test", admin=True)
        db.session.commit()
    client = capped.test_client()

    statuses = []
    for n in range(6):  # six numbers, six addresses: only the platform cap stops them
        response = client.post(
            "/register",
            data={"name": "Khách", "identifier": f"09123450{n:02d}"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{n + 1}"},
        )
        statuses.append(response.status_code)

    assert statuses[:3] == [303, 303, 303]
    assert statuses[3:] == [422, 422, 422]
    assert "tạm ngừng gửi mã" in response.get_data(as_text=True)
    with capped.app_context():
        assert db.session.scalar(select(func.count(OneTimeCode.id))) == 3
        alerts = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == throttle.CAP_ALERT)
        ).all()
        assert len(alerts) == 1 and alerts[0].details == {"sent": 3, "cap": 3}
        to_admin = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == "admin@choque.test")
        ).all()
        assert len(to_admin) == 1 and "3" in to_admin[0].body


def test_the_cap_does_not_reveal_whether_an_account_exists(build_app):
    capped = build_app(OTP_HOURLY_CAP=1)
    with capped.app_context():
        make_user(name="Bà Lan", phone=PHONE)
        db.session.commit()
    client = capped.test_client()
    client.post("/login/code", data={"identifier": "0912345678"})

    known = client.post("/login/code", data={"identifier": "0912345678"})
    unknown = client.post("/login/code", data={"identifier": "0987654321"})

    assert known.status_code == unknown.status_code == 422


# --- storage: shared by every worker -------------------------------------------------------


def test_the_embedded_default_shares_limits_in_a_sqlite_file(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    config = load_config(tmp_path, {"APP_ENV": "development"})
    assert config["RATELIMIT_STORAGE_URI"] == f"sqlite:///{tmp_path / 'ratelimits.sqlite'}"


def test_redis_is_used_when_set(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    config = load_config(tmp_path, {"APP_ENV": "production", "SECRET_KEY": "p" * 48})
    assert config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"


def test_production_refuses_per_process_limit_storage(tmp_path, monkeypatch):
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    with pytest.raises(ConfigError, match="per process"):
        load_config(tmp_path, {"APP_ENV": "production", "SECRET_KEY": "p" * 48})
