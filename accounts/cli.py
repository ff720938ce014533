"""`flask users …`, `flask outbox …` and `flask api-keys …` commands (one unit of work each)."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

from accounts import api_keys, otp, outbox, roles, services
from accounts.identifiers import find_user, parse_identifier
from accounts.models import ApiKey, User
from core.cli_types import ID
from core.db import db, unit_of_work
from core.errors import DomainError
from core.phones import display_phone

users_cli = AppGroup("users", help="Tài khoản người dùng.")
outbox_cli = AppGroup("outbox", help="Tin nhắn SMS và e-mail chờ gửi.")
api_keys_cli = AppGroup("api-keys", help="Khoá API của đối tác.")


def _fail(error: DomainError) -> click.ClickException:
    details = "; ".join(f"{k}: {v}" for k, v in error.fields.items())
    return click.ClickException(f"{error.message}{' (' + details + ')' if details else ''}")


def _user_by_contact(phone: str | None, email: str | None) -> User:
    text = phone or email
    if not text:
        raise click.UsageError("--phone hoặc --email là bắt buộc.")
    try:
        user = find_user(parse_identifier(text))
    except DomainError as error:
        raise _fail(error) from error
    if user is None:
        raise click.ClickException(f"Không có tài khoản với {text}.")
    return user


@users_cli.command("create")
@click.option("--name", required=True, help="Họ tên.")
@click.option("--phone", help="Số di động, ví dụ 0912 345 678.")
@click.option("--email", help="E-mail.")
@click.option("--password", help="Mật khẩu (ít nhất 8 ký tự); bỏ trống để đăng nhập bằng mã.")
@click.option("--admin", is_flag=True, help="Quản trị nền tảng.")
def create_user(name: str, phone: str | None, email: str | None, password: str | None, admin: bool):
    """Create an account."""
    try:
        with unit_of_work():
            user = services.create_user(
                name, phone=phone, email=email, password=password, admin=admin
            )
    except DomainError as error:
        raise _fail(error) from error
    role = " (quản trị)" if admin else ""
    click.echo(
        f"Đã tạo tài khoản #{user.id} {user.name}{role} {display_phone(user.phone) or user.email}"
    )


@users_cli.command("add-council-seat")
@click.option("--phone", help="Số điện thoại của thành viên.")
@click.option("--email", help="E-mail của thành viên.")
@click.option("--level", type=click.Choice(["province", "central"]), required=True)
@click.option("--province-code", type=ID, help="Mã tỉnh (bắt buộc với --level province).")
def add_council_seat(phone: str | None, email: str | None, level: str, province_code: int | None):
    """Seat a user on an OCOP council (a province's, or the central one)."""
    user = _user_by_contact(phone, email)
    if level == "province" and province_code is None:
        raise click.UsageError("--province-code là bắt buộc với --level province.")
    try:
        with unit_of_work():
            seat = roles.add_council_seat(user, level, province_code)
    except DomainError as error:
        raise _fail(error) from error
    where = f"tỉnh mã {seat.province_code}" if seat.province_code else "trung ương"
    click.echo(f"{user.name}: thành viên hội đồng OCOP {where}.")


@users_cli.command("list")
def list_users():
    """List accounts."""
    for user in db.session.scalars(db.select(User).order_by(User.id)):
        flags = []
        if user.is_platform_admin:
            flags.append("quản trị")
        for seat in roles.council_seats(user):
            flags.append(f"hội đồng {seat.level} {seat.province_code or ''}".strip())
        if not user.active:
            flags.append("đã khoá")
        contact = display_phone(user.phone) or user.email
        click.echo(f"#{user.id}\t{user.name}\t{contact}\t{', '.join(flags)}")


@outbox_cli.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
@click.option("--pending", is_flag=True, help="Chỉ tin chưa gửi.")
def outbox_list(limit: int, pending: bool):
    """Show the latest outbox messages."""
    messages = outbox.latest_messages(limit)
    if pending:
        messages = [m for m in messages if m.sent_at is None]
    for message in messages:
        state = "đã gửi" if message.sent_at else f"chờ gửi (lần thử {message.attempts})"
        click.echo(
            f"#{message.id}\t{message.channel}\t{message.recipient}\t{state}\t{message.body}"
        )
    if not messages:
        click.echo("Hộp thư đi trống.")


@outbox_cli.command("send")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10000))
def outbox_send(limit: int):
    """Hand pending messages to the configured gateways and mark them sent."""
    with unit_of_work():
        report = outbox.send_pending(limit=limit)
    click.echo(f"Đã gửi {report.sent} tin, lỗi {report.failed} tin.")


@outbox_cli.command("purge")
@click.option(
    "--sent-days",
    default=7,
    show_default=True,
    type=click.IntRange(0, 3650),
    help="Xoá tin đã gửi quá số ngày này.",
)
@click.option(
    "--code-days",
    default=1,
    show_default=True,
    type=click.IntRange(0, 365),
    help="Xoá mã dùng một lần đã hết hạn hoặc đã dùng quá số ngày này.",
)
def outbox_purge(sent_days: int, code_days: int):
    """Delete delivered messages and dead one-time codes (run daily)."""
    with unit_of_work():
        messages = outbox.purge_delivered(timedelta(days=sent_days))
        codes = otp.purge_codes(timedelta(days=code_days))
    click.echo(f"Đã xoá {messages} tin đã gửi và {codes} mã dùng một lần hết hạn.")


@api_keys_cli.command("create")
@click.option("--name", required=True, help="Tên đối tác, ví dụ Postmart.")
@click.option(
    "--scope", "scopes", multiple=True, required=True, help="Quyền; lặp lại cho nhiều quyền."
)
def api_key_create(name: str, scopes: tuple[str, ...]):
    """Create a partner key and print it once."""
    try:
        with unit_of_work():
            key, plain = api_keys.create_api_key(name, list(scopes))
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"Khoá #{key.id} cho {key.name} ({', '.join(key.scopes)}). Chỉ hiện một lần:")
    click.echo(plain)


@api_keys_cli.command("list")
def api_key_list():
    """List partner keys (never the keys themselves)."""
    for key in db.session.scalars(db.select(ApiKey).order_by(ApiKey.id)):
        state = "đã thu hồi" if key.revoked_at else "đang dùng"
        click.echo(f"#{key.id}\tcq_{key.prefix}_…\t{key.name}\t{' '.join(key.scopes)}\t{state}")


@api_keys_cli.command("revoke")
@click.argument("key_id", type=ID)
def api_key_revoke(key_id: int):
    """Revoke a partner key."""
    try:
        with unit_of_work():
            key = api_keys.revoke_api_key(key_id)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"Đã thu hồi khoá #{key.id} ({key.name}).")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(api_keys_cli)
