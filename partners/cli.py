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


webhooks_cli = AppGroup("webhooks", help="Webhook gửi tới đối tác.")


@webhooks_cli.command("add-endpoint")
@click.argument("partner_id", type=ID)
@click.argument("url")
@click.option("--events", default="", help="product.updated,stock.changed,… (trống: mọi sự kiện)")
def add_endpoint(partner_id: int, url: str, events: str):
    """Register a partner's endpoint and print its signing secret once."""
    from partners.webhooks import services as webhook_services

    try:
        with unit_of_work():
            endpoint, secret = webhook_services.add_endpoint(
                partner_id, url, [e.strip() for e in events.split(",") if e.strip()]
            )
            summary = f"Địa chỉ nhận #{endpoint.id} {endpoint.url}."
    except DomainError as error:
        raise _fail(error) from error
    click.echo(summary + " Khoá ký chỉ hiện một lần:")
    click.echo(secret)


@webhooks_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped (Ctrl-C).")
def deliver(loop: bool):
    """Send every delivery that is due now (cron it, or --loop)."""
    import time

    from partners.webhooks.delivery import deliver_batch, next_due_in

    while True:
        sent = 0
        while count := deliver_batch():
            sent += count
        if sent or not loop:
            click.echo(f"Đã xử lý {sent} lần gửi.")
        if not loop:
            return
        wait = next_due_in()
        time.sleep(min(wait if wait is not None else 5.0, 5.0) or 0.2)


def init_app(app: Flask) -> None:
    app.cli.add_command(partners_cli)
    app.cli.add_command(webhooks_cli)
