"""`flask partners …`: create a partner (prints its key once), list, rotate and revoke keys."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

from core.cli_types import ID
from core.db import unit_of_work
from core.errors import DomainError
from partners import services

partners_cli = AppGroup("partners", help="Đối tác lấy nguồn cấp sản phẩm và đặt hàng.")


def _fail(error: DomainError) -> click.ClickException:
    messages = [str(m) for m in error.fields.values()] or [str(error.message)]
    return click.ClickException(" ".join(messages))


@partners_cli.command("create")
@click.argument("name")
@click.option("--scopes", default="feeds:read", show_default=True, help="feeds:read,orders:write")
@click.option("--rate-limit", default=None, help="Ví dụ 600/minute.")
def create(name: str, scopes: str, rate_limit: str | None):
    """Create a partner and print its new key once."""
    try:
        with unit_of_work():
            partner, key, plain = services.create_partner(name, scopes, rate_limit=rate_limit)
            summary = f"Đối tác #{partner.id} {partner.name} ({', '.join(key.scopes)})."
    except DomainError as error:
        raise _fail(error) from error
    click.echo(summary + " Khoá chỉ hiện một lần:")
    click.echo(plain)


@partners_cli.command("list")
def list_partners():
    """Partners and their keys (never the keys themselves)."""
    from accounts.api_keys import is_live

    for partner in services.list_partners():
        click.echo(f"#{partner.id}\t{partner.name}")
        for link in partner.keys:
            key = link.api_key
            state = "đang dùng" if is_live(key) else "không dùng được"
            click.echo(f"\tkhoá #{key.id} cq_{key.prefix}_…\t{' '.join(key.scopes)}\t{state}")


@partners_cli.command("rotate")
@click.argument("partner_id", type=ID)
@click.argument("key_id", type=ID)
@click.option("--overlap-days", type=click.IntRange(0, 90), default=7, show_default=True)
def rotate(partner_id: int, key_id: int, overlap_days: int):
    """A new key; the old one keeps working for --overlap-days."""
    try:
        with unit_of_work():
            _new, plain = services.rotate_key(
                partner_id, key_id, overlap=timedelta(days=overlap_days)
            )
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"Khoá mới (khoá cũ còn dùng {overlap_days} ngày). Chỉ hiện một lần:")
    click.echo(plain)


@partners_cli.command("revoke")
@click.argument("partner_id", type=ID)
@click.argument("key_id", type=ID)
def revoke(partner_id: int, key_id: int):
    try:
        with unit_of_work():
            services.revoke_key(partner_id, key_id)
    except DomainError as error:
        raise _fail(error) from error
    click.echo(f"Đã thu hồi khoá #{key_id}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(partners_cli)
