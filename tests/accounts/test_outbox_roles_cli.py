"""The outbox (viewer, CLI, gateways), roles, `flask users …`, `flask api-keys …`, demo accounts."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from accounts import roles
from accounts.demo import DEMO_PASSWORD, demo_logins, seed_demo
from accounts.models import ApiKey, CouncilSeat, OutboxMessage, User
from accounts.outbox import GatewayError, queue_message, send_pending
from core.db import db
from tests.accounts.helpers import signed_in
from tests.conftest import login
from tests.factories import make_council_member, make_user

# --- outbox ----------------------------------------------------------------------------------


def test_dev_outbox_lists_the_codes_in_testing(client, app):
    with app.app_context():
        make_user(name="Bà Lan", phone="+84912345678")
        db.session.commit()
    client.post("/login/code", data={"identifier": "0912345678"})

    response = client.get("/dev/outbox")

    assert response.status_code == 200
    assert re.search(r"Mã đăng nhập Chợ Quê: \d{6}", response.get_data(as_text=True))


@pytest.mark.parametrize("environment", ["development", "testing"])
def test_dev_outbox_is_served_only_to_this_machine(build_app, environment):
    dev = build_app(APP_ENV=environment)
    with dev.app_context():
        make_user(name="Bà Lan", phone="+84912345678")
        db.session.commit()
    client = dev.test_client()
    client.post("/login/code", data={"identifier": "0912345678"})

    local = client.get("/dev/outbox")
    local_v6 = client.get("/dev/outbox", environ_base={"REMOTE_ADDR": "::1"})
    remote = client.get("/dev/outbox", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    lan = client.get("/dev/outbox", environ_base={"REMOTE_ADDR": "10.0.0.7"})
    proxied = client.get("/dev/outbox", headers={"X-Forwarded-For": "203.0.113.9"})

    assert local.status_code == 200 and local_v6.status_code == 200
    assert "127.0.0.1" in local.get_data(as_text=True)  # the page says who may open it
    for refused in (remote, lan, proxied):
        assert refused.status_code == 404
        assert not re.search(r"\b\d{6}\b", refused.get_data(as_text=True))


def test_dev_outbox_is_404_in_production(build_app):
    production = build_app(APP_ENV="production", SECRET_KEY="p" * 48)

    response = production.test_client().get("/dev/outbox")

    assert response.status_code == 404


def test_outbox_send_marks_messages_sent_through_the_gateway(app):
    delivered = []

    class RecordingGateway:
        def send(self, message):
            delivered.append((message.channel, message.recipient))

    with app.app_context():
        queue_message("sms", "+84912345678", "Chợ Quê: mã 123456")
        queue_message("email", "lan@example.vn", "Xin chào", subject="Chợ Quê")
        db.session.commit()
        report = send_pending(lambda channel: RecordingGateway())
        db.session.commit()
        assert report.sent == 2
        assert (
            db.session.scalar(
                select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None))
            )
            == 0
        )
        assert send_pending(lambda channel: RecordingGateway()).sent == 0  # nothing twice
    assert sorted(delivered) == [("email", "lan@example.vn"), ("sms", "+84912345678")]


def test_failed_delivery_stays_pending_with_the_error(app):
    class BrokenGateway:
        def send(self, message):
            raise GatewayError("nhà mạng từ chối")

    with app.app_context():
        queue_message("sms", "+84912345678", "Chợ Quê: mã 123456")
        report = send_pending(lambda channel: BrokenGateway())
        message = db.session.scalar(select(OutboxMessage))
        assert report.failed == 1
        assert message.sent_at is None
        assert message.attempts == 1
        assert message.last_error == "nhà mạng từ chối"
        db.session.rollback()


def test_flask_outbox_list_and_send(app, runner):
    with app.app_context():
        queue_message("sms", "+84912345678", "Chợ Quê: mã đăng nhập 123456")
        db.session.commit()

    listed = runner.invoke(args=["outbox", "list"])
    sent = runner.invoke(args=["outbox", "send"])
    pending = runner.invoke(args=["outbox", "list", "--pending"])

    assert listed.exit_code == 0
    assert "+84912345678" in listed.output
    assert "Chợ Quê: mã đăng nhập 123456" in listed.output  # short: diacritics kept
    assert sent.exit_code == 0
    assert "Đã gửi 1 tin" in sent.output
    assert "+84912345678" not in pending.output


# --- roles -----------------------------------------------------------------------------------


def test_council_scope_follows_the_seat(app):
    with app.app_context():
        hung = make_council_member(level="province", province_code=25)
        minh = make_council_member(level="central")
        lan = make_user(name="Bà Lan", admin=True)
        hung.is_authenticated  # noqa: B018  (UserMixin: always True for a loaded user)

        assert roles.can_council(hung, 25, "province")
        assert not roles.can_council(hung, 38, "province")
        assert not roles.can_council(hung, None, "central")
        assert roles.can_council(minh, None, "central")
        assert not roles.can_council(minh, 25, "province")
        assert not roles.can_council(lan, 25, "province")  # admin is not a council member
        assert [s.province_code for s in roles.council_seats(hung)] == [25]
        assert roles.council_seats(None) == []
        db.session.rollback()


def test_add_council_seat_validates_the_province(app):
    from core.errors import Invalid

    with app.app_context():
        user = make_user()
        with pytest.raises(Invalid):
            roles.add_council_seat(user, "province", 999)
        with pytest.raises(Invalid):
            roles.add_council_seat(user, "district", 25)
        first = roles.add_council_seat(user, "province", 25)
        assert roles.add_council_seat(user, "province", 25).id == first.id  # idempotent
        db.session.rollback()


# --- CLI -------------------------------------------------------------------------------------


def test_flask_users_create_normalises_the_phone(app, runner):
    result = runner.invoke(
        args=["users", "create", "--name", "Chị Hạnh", "--phone", "0912 000 004", "--admin"]
    )

    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.phone == "+84912000004"))
        assert user.name == "Chị Hạnh"
        assert user.is_platform_admin
        assert user.password_hash is None


def test_flask_users_create_refuses_duplicates_and_short_passwords(app, runner):
    runner.invoke(args=["users", "create", "--name", "A", "--phone", "0912000004"])

    duplicate = runner.invoke(args=["users", "create", "--name", "B", "--phone", "+84912000004"])
    short = runner.invoke(
        args=["users", "create", "--name", "C", "--email", "c@example.vn", "--password", "ngan"]
    )

    assert duplicate.exit_code != 0
    assert "đã có tài khoản" in duplicate.output
    assert short.exit_code != 0
    assert "ít nhất 8" in short.output
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_flask_users_create_with_password_can_sign_in(app, runner, client):
    runner.invoke(
        args=[
            "users",
            "create",
            "--name",
            "Anh Dũng",
            "--email",
            "Dung@Example.vn",
            "--password",
            "mat-khau-dai",
        ]
    )

    response = client.post(
        "/login", data={"identifier": "dung@example.vn", "password": "mat-khau-dai"}
    )

    assert response.status_code == 303
    assert signed_in(client)


def test_flask_users_add_council_seat(app, runner):
    runner.invoke(args=["users", "create", "--name", "Ông Hùng", "--phone", "0912000007"])

    result = runner.invoke(
        args=[
            "users",
            "add-council-seat",
            "--phone",
            "+84912000007",
            "--level",
            "province",
            "--province-code",
            "25",
        ]
    )
    missing = runner.invoke(
        args=["users", "add-council-seat", "--phone", "0912000007", "--level", "province"]
    )
    unknown = runner.invoke(
        args=["users", "add-council-seat", "--phone", "0999999999", "--level", "central"]
    )

    assert result.exit_code == 0, result.output
    assert missing.exit_code != 0
    assert unknown.exit_code != 0
    with app.app_context():
        seat = db.session.scalar(select(CouncilSeat))
        assert (seat.level, seat.province_code) == ("province", 25)


def test_flask_api_keys_create_prints_the_key_once(app, runner):
    result = runner.invoke(
        args=[
            "api-keys",
            "create",
            "--name",
            "Postmart",
            "--scope",
            "catalog:read",
            "--scope",
            "orders:read",
        ]
    )

    assert result.exit_code == 0, result.output
    plain = re.search(r"cq_[a-z0-9]{8}_[A-Za-z0-9]{40}", result.output).group(0)
    listed = runner.invoke(args=["api-keys", "list"])
    assert plain not in listed.output
    assert "Postmart" in listed.output
    with app.app_context():
        assert db.session.scalar(select(ApiKey.scopes)) == ["catalog:read", "orders:read"]


# --- demo ------------------------------------------------------------------------------------


def test_seed_demo_is_idempotent_and_covers_every_role(app):
    with app.app_context():
        first = seed_demo()
        db.session.commit()
        second = seed_demo()
        db.session.commit()

        assert "9 mới" in first
        assert "0 mới" in second
        assert db.session.scalar(select(func.count(User.id))) == 9
        admin = db.session.scalar(select(User).where(User.phone == "+84900000001"))
        assert admin.is_platform_admin and admin.email == "admin@choque.local"
        seats = db.session.execute(
            select(User.phone, CouncilSeat.level, CouncilSeat.province_code).join(CouncilSeat.user)
        ).all()
        assert sorted(seats) == [
            ("+84912000007", "province", 25),
            ("+84912000008", "central", None),
        ]


def test_demo_users_sign_in_with_the_printed_password(app, client):
    with app.app_context():
        seed_demo()
        db.session.commit()

    response = client.post("/login", data={"identifier": "0912 000 001", "password": DEMO_PASSWORD})

    assert response.status_code == 303
    assert "Bà Lan (quản lý HTX) 0912 000 001 / choque-demo" in demo_logins()


def test_admin_demo_user_reaches_admin_pages(app, client):
    with app.app_context():
        seed_demo()
        db.session.commit()
        admin_id = db.session.scalar(select(User.id).where(User.phone == "+84900000001"))
    login(client, admin_id)

    assert client.get("/admin/api-keys").status_code == 200
